package types

import (
	"fmt"
	"time"

	"cosmossdk.io/x/feegrant"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// TrainerMsgs are the messages a trainer's hot key sends for its operator through authz.
func TrainerMsgs() []sdk.Msg {
	return []sdk.Msg{&MsgSubmitAttestation{}, &MsgRespondChallenge{}, &modelstypes.MsgCommitCheckpoint{}, &modelstypes.MsgJoinStage{}}
}

// AuthorizeTrainerMsgs are the messages of one transaction by which an operator sets up a
// trainer's hot key: an authz grant for each of TrainerMsgs (until expiry), a fee allowance of
// at most spendLimit usable only for authz MsgExec, and 1 unit of feeDenom so that the hot key
// has an account and can sign.
func AuthorizeTrainerMsgs(operator, hot sdk.AccAddress, spendLimit sdk.Coins, feeDenom string, expiry time.Time) ([]sdk.Msg, error) {
	var msgs []sdk.Msg
	for _, m := range TrainerMsgs() {
		g, err := authz.NewMsgGrant(operator, hot, authz.NewGenericAuthorization(sdk.MsgTypeURL(m)), &expiry)
		if err != nil {
			return nil, fmt.Errorf("grant for %s: %w", sdk.MsgTypeURL(m), err)
		}
		msgs = append(msgs, g)
	}
	allowance, err := feegrant.NewAllowedMsgAllowance(
		&feegrant.BasicAllowance{SpendLimit: spendLimit, Expiration: &expiry},
		[]string{sdk.MsgTypeURL(&authz.MsgExec{})},
	)
	if err != nil {
		return nil, err
	}
	fee, err := feegrant.NewMsgGrantAllowance(allowance, operator, hot)
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, fee, banktypes.NewMsgSend(operator, hot, sdk.NewCoins(sdk.NewInt64Coin(feeDenom, 1))))
	return msgs, nil
}
