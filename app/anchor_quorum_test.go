package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/x/anchor/relayer"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
)

// latestCheckpoint is the chain's latest checkpoint, if any.
func latestCheckpoint(t *testing.T, c *chain) (anchortypes.Checkpoint, bool) {
	t.Helper()
	ctx := c.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: c.app.LastBlockHeight()})
	cp, ok, err := c.app.AnchorKeeper.Latest(ctx)
	require.NoError(t, err)
	return cp, ok
}

// No checkpoint is taken while validators with keys hold 2/3 of the bonded power or less: the
// first validator to register a key (here 4 of 10) cannot sign share roots alone. Once keys
// hold 7 of 10, checkpoints resume, and one is ready only with signatures of more than 2/3 of
// all 10, not of the 7 keyed.
func TestAnchorQuorumOfBondedPower(t *testing.T) {
	alice := newAccount(0)
	c, vals := startAnchorChain(t, []int64{4, 3, 2, 1}, 1, map[string]int64{alice.addr.String(): 5}, alice)
	for c.app.LastBlockHeight() < 8 {
		c.consensusBlock(vals[:1])
	}
	_, ok := latestCheckpoint(t, c)
	require.False(t, ok, "a checkpoint with keys on 4 of 10 bonded power")
	var set anchortypes.QueryValsetResponse
	require.NoError(t, c.query("/protolearn.anchor.v1.Query/Valset", &anchortypes.QueryValsetRequest{}, &set))
	require.Equal(t, uint64(10), set.TotalPower)
	require.Len(t, set.Signers, 1)

	v := vals[1] // power 3: keys on 7 of 10
	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v.valoper(), v.op.addr, v.eth)
	require.NoError(t, err)
	res := c.consensusBlock(vals[:1], c.signedTx(v.op, msg))
	require.Zero(t, res[0].Code, res[0].Log)
	for {
		if _, ok := latestCheckpoint(t, c); ok {
			break
		}
		c.consensusBlock(vals[:1])
	}
	cp, _ := latestCheckpoint(t, c)
	require.Equal(t, uint64(10), cp.SigningTotal)
	require.Equal(t, uint64(10), cp.NextTotal)
	require.Len(t, cp.SigningSet, 2)
	c.consensusBlock(vals[:1]) // 4 of 10 sign
	c.consensusBlock(vals[:1])
	cp, _ = latestCheckpoint(t, c)
	require.Equal(t, uint64(4), cp.SignedPower)
	require.False(t, cp.Ready(), "4 of 10 bonded power (4 of the 7 keyed) signed")
	c.consensusBlock(vals[:2])
	c.consensusBlock(vals[:2])
	cp, _ = latestCheckpoint(t, c)
	require.True(t, cp.Ready(), "7 of 10 signed: %d", cp.SignedPower)
}

// A validator that rotates its key keeps its precommits: its node, still signing with the old
// key, signs the checkpoints whose signing set holds the old key, and those vote extensions are
// accepted (consensusBlock requires every extension accepted); the old key can be registered
// by no other validator; once the hand-over to the new key is in, the node signs with the new
// one.
func TestAnchorKeyRotation(t *testing.T) {
	alice, bob := newAccount(0), newAccount(1)
	c, vals := startAnchorChain(t, []int64{4, 3, 2, 1}, 3, map[string]int64{alice.addr.String(): 5}, alice, bob)
	for c.app.LastBlockHeight() < 4 {
		c.consensusBlock(vals[:3])
	}
	v := vals[0]
	old := v.eth
	fresh, err := crypto.GenerateKey()
	require.NoError(t, err)
	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v.valoper(), v.op.addr, fresh)
	require.NoError(t, err)
	res := c.consensusBlock(vals[:3], c.signedTx(v.op, msg))
	require.Zero(t, res[0].Code, res[0].Log)
	// The node has not switched yet: it signs with the old key, and is not refused.
	res = c.consensusBlock(vals[:3], c.signedTx(alice, banktypes.NewMsgSend(alice.addr, bob.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1)))))
	require.Zero(t, res[0].Code, res[0].Log)
	for range 4 {
		c.consensusBlock(vals[:3])
	}
	handover, _ := latestCheckpoint(t, c)
	require.GreaterOrEqual(t, anchortypes.SignerIndex(handover.SigningSet, crypto.PubkeyToAddress(old.PublicKey)), 0)
	require.Equal(t, -1, anchortypes.SignerIndex(handover.SigningSet, crypto.PubkeyToAddress(fresh.PublicKey)))
	require.GreaterOrEqual(t, anchortypes.SignerIndex(handover.NextSet, crypto.PubkeyToAddress(fresh.PublicKey)), 0)
	require.True(t, handover.Ready(), "the old key's signature counts for the set that holds it")

	// Nobody else may take the old key.
	taken, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, vals[3].valoper(), vals[3].op.addr, old)
	require.NoError(t, err)
	res = c.consensusBlock(vals[:3], c.signedTx(vals[3].op, taken))
	require.Equal(t, anchortypes.ErrKeyTaken.ABCICode(), res[0].Code, res[0].Log)

	// The node switches to the new key and signs the checkpoints the new set signs.
	v.eth = fresh
	res = c.consensusBlock(vals[:3], c.signedTx(alice, banktypes.NewMsgSend(alice.addr, bob.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1)))))
	require.Zero(t, res[0].Code, res[0].Log)
	for range 4 {
		c.consensusBlock(vals[:3])
	}
	latest, _ := latestCheckpoint(t, c)
	require.GreaterOrEqual(t, anchortypes.SignerIndex(latest.SigningSet, crypto.PubkeyToAddress(fresh.PublicKey)), 0)
	require.True(t, latest.Ready())

	// Export and import keep the retired key as the validator's.
	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	var gs anchortypes.GenesisState
	c.app.AppCodec().MustUnmarshalJSON(state[anchortypes.ModuleName], &gs)
	require.Equal(t, []anchortypes.AnchorKey{{ValidatorAddress: v.valoper(), EthAddress: crypto.PubkeyToAddress(old.PublicKey).Hex()}}, gs.RetiredKeys)
}

// After a zero-height export the restarted chain's checkpoints go on above the heights the
// contract has seen (x/anchor height_offset), so the same contract accepts them and holders'
// proofs verify; the chain id the checkpoints carry is the first genesis's (anchor_chain_id).
func TestAnchorZeroHeightRestart(t *testing.T) {
	alice, bob := newAccount(0), newAccount(1)
	e := newEth(t)
	c, vals := startAnchorChainFor(t, e, []int64{2, 1}, 2, map[string]int64{alice.addr.String(): 7, bob.addr.String(): 9}, alice, bob)
	for c.app.LastBlockHeight() < 12 {
		c.consensusBlock(vals)
	}
	first := c.checkpoint(0)
	require.True(t, first.Ready)
	ctx := context.Background()
	contract, err := relayer.Deploy(ctx, e.auth, e.sim.Client(), app.DefaultChainID, first.Checkpoint, e.mine)
	require.NoError(t, err)
	r := &relayer.Relayer{Source: c.source(), Backend: e.sim.Client(), Address: contract, Auth: e.auth, Wait: e.mine}
	sent, err := r.Step(ctx)
	require.NoError(t, err)
	require.NotNil(t, sent)
	before := sent.Height

	exported, err := c.app.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	var gs anchortypes.GenesisState
	c.app.AppCodec().MustUnmarshalJSON(state[anchortypes.ModuleName], &gs)
	require.Equal(t, app.DefaultChainID, gs.AnchorChainId)
	require.Equal(t, uint64(c.app.LastBlockHeight()), gs.HeightOffset)

	restarted := &chain{t: t, app: newApp(t), time: c.time, valSet: c.valSet}
	restarted.initChain(exported.AppState)
	res := restarted.consensusBlock(vals, restarted.signedTx(alice, banktypes.NewMsgSend(alice.addr, bob.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 3)))))
	require.Zero(t, res[0].Code, res[0].Log)
	for range 6 {
		restarted.consensusBlock(vals)
	}
	latest := restarted.checkpoint(0)
	require.True(t, latest.Ready)
	require.Greater(t, latest.Checkpoint.Height, before, "checkpoint heights go on above the exported ones")
	r.Source = restarted.source()
	sent, err = r.Step(ctx)
	require.NoError(t, err)
	require.NotNil(t, sent, "the contract accepts the restarted chain's checkpoint")
	out, ok := verifyOnEthereum(t, restarted, e, contract, bob.addr)
	require.True(t, ok)
	require.Equal(t, "12", out.Balance)
}
