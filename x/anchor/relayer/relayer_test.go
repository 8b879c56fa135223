package relayer_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/x/anchor/relayer"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// Next submits only checkpoints signed for the relayer's own contract: one signed for another
// deployment, or for none, would revert there, and the newest of its own is picked.
func TestNextPicksTheContractsOwn(t *testing.T) {
	set := []types.Signer{{EthAddress: "0x00000000000000000000000000000000000000b1", Power: 3}}
	current, err := types.SetHash(set, 3)
	require.NoError(t, err)
	ours := types.NewDeployment(1, common.HexToAddress("0x00000000000000000000000000000000000000a1"))
	theirs := types.NewDeployment(1, common.HexToAddress("0x00000000000000000000000000000000000000a2"))
	cp := func(height uint64, d types.Deployment) types.Checkpoint {
		return types.Checkpoint{Height: height, SigningSet: set, SigningTotal: 3, SignedPower: 3, NextSet: set, NextTotal: 3, Deployment: d}
	}
	cps := []types.Checkpoint{cp(2, types.Deployment{}), cp(4, ours), cp(6, ours), cp(8, theirs), cp(10, types.Deployment{})}
	got, err := relayer.Next(cps, ours, 0, current)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, uint64(6), got.Height, "the newest signed for this contract")
	got, err = relayer.Next(cps, ours, 6, current)
	require.NoError(t, err)
	require.Nil(t, got, "nothing newer signed for this contract")
	got, err = relayer.Next(cps, theirs, 0, current)
	require.NoError(t, err)
	require.Equal(t, uint64(8), got.Height)
}
