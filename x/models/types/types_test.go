package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"

	"github.com/protolearn/protolearn/x/models"
	"github.com/protolearn/protolearn/x/models/types"
)

func TestDefaults(t *testing.T) {
	require.NoError(t, types.DefaultGenesis().Validate())
	require.Equal(t, types.Params{MaxStages: 64, MaxReplicasLimit: 64, MaxNameLength: 64}, types.DefaultParams())
	for name, p := range map[string]types.Params{
		"max_stages":         {MaxReplicasLimit: 1, MaxNameLength: 1},
		"max_replicas_limit": {MaxStages: 1, MaxNameLength: 1},
		"max_name_length":    {MaxStages: 1, MaxReplicasLimit: 1},
	} {
		require.ErrorContains(t, p.Validate(), name)
	}
}

// Every message names its signer through the cosmos.msg.v1.signer option, as the SDK signs it.
func TestMessageSigners(t *testing.T) {
	cdc := moduletestutil.MakeTestEncodingConfig(models.AppModule{}).Codec
	signer := sdk.AccAddress("signer______________")
	for _, msg := range []sdk.Msg{
		&types.MsgCreateModel{Designer: signer.String()},
		&types.MsgCancelModel{Designer: signer.String()},
		&types.MsgJoinStage{Operator: signer.String()},
		&types.MsgLeaveStage{Operator: signer.String()},
		&types.MsgCommitCheckpoint{Operator: signer.String()},
		&types.MsgUpdateParams{Authority: signer.String()},
	} {
		signers, _, err := cdc.GetMsgV1Signers(msg)
		require.NoError(t, err, "%T", msg)
		require.Equal(t, [][]byte{signer}, signers, "%T", msg)
	}
}
