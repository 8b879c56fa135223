package types_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"

	"github.com/protolearn/protolearn/x/verify/types"
)

// TestDisputeAuthorization: a hot key's grant to open disputes accepts its seat's model and
// stage only, takes each bond off its limit, and ends when the limit is spent.
func TestDisputeAuthorization(t *testing.T) {
	a := &types.DisputeAuthorization{ModelId: 3, Stage: 1, BondLimit: sdk.NewInt64Coin("ulearn", 100)}
	require.NoError(t, a.ValidateBasic())
	open := func(model uint64, stage uint32, bond sdk.Coin) *types.MsgOpenDispute {
		return &types.MsgOpenDispute{Referee: "op", AttestationId: 7, Bond: bond, ModelId: model, Stage: stage}
	}
	ctx := context.Background()
	for name, m := range map[string]sdk.Msg{
		"another stage":       open(3, 2, sdk.NewInt64Coin("ulearn", 10)),
		"another model":       open(4, 1, sdk.NewInt64Coin("ulearn", 10)),
		"no model said":       open(0, 0, sdk.NewInt64Coin("ulearn", 10)),
		"beyond the limit":    open(3, 1, sdk.NewInt64Coin("ulearn", 101)),
		"another denom":       open(3, 1, sdk.NewInt64Coin("uother", 10)),
		"another message":     &types.MsgDisputeRespond{Referee: "op"},
		"a bond of no amount": open(3, 1, sdk.Coin{Denom: "ulearn"}),
	} {
		res, err := a.Accept(ctx, m)
		require.Error(t, err, name)
		require.False(t, res.Accept, name)
	}
	res, err := a.Accept(ctx, open(3, 1, sdk.NewInt64Coin("ulearn", 60)))
	require.NoError(t, err)
	require.True(t, res.Accept)
	require.False(t, res.Delete)
	left := res.Updated.(*types.DisputeAuthorization)
	require.Equal(t, sdk.NewInt64Coin("ulearn", 40), left.BondLimit)
	res, err = left.Accept(ctx, open(3, 1, sdk.NewInt64Coin("ulearn", 40)))
	require.NoError(t, err)
	require.True(t, res.Accept)
	require.True(t, res.Delete, "a spent limit ends the grant")

	for name, bad := range map[string]*types.DisputeAuthorization{
		"model 0":      {ModelId: 0, Stage: 1, BondLimit: sdk.NewInt64Coin("ulearn", 1)},
		"no limit":     {ModelId: 1},
		"a zero limit": {ModelId: 1, BondLimit: sdk.NewInt64Coin("ulearn", 0)},
		"a bad denom":  {ModelId: 1, BondLimit: sdk.Coin{Denom: "!", Amount: sdk.NewInt64Coin("ulearn", 1).Amount}},
	} {
		require.Error(t, bad.ValidateBasic(), name)
	}
}

// The trainer's fee allowance pays for every message a trainer's hot key is granted (sent for
// the operator): a message added to the grants but not to the allowance would be granted and
// then refused for its fee, as a report of equivocation once was.
func TestTrainerAllowanceCoversEveryGrantedMessage(t *testing.T) {
	grantee := sdk.AccAddress(bytes.Repeat([]byte{2}, 20))
	allowance := &types.TrainerAllowance{Operator: sdk.AccAddress(bytes.Repeat([]byte{1}, 20)).String()}
	for _, m := range append(types.TrainerMsgs(), types.RefereeMsgs()...) {
		exec := authz.NewMsgExec(grantee, []sdk.Msg{m})
		_, err := allowance.Accept(sdk.Context{}, nil, []sdk.Msg{&exec})
		if err == nil || strings.Contains(err.Error(), "does not pay for") {
			t.Errorf("%s: %v, want only its sender refused (a zero message is sent for nobody)", sdk.MsgTypeURL(m), err)
		}
	}
}
