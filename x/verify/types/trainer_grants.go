package types

import (
	"fmt"
	"time"

	"cosmossdk.io/x/feegrant"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// TrainerMsgs are the messages a trainer's hot key sends for its operator through authz.
func TrainerMsgs() []sdk.Msg {
	return append(SeatMsgs(), AnswerMsgs()...)
}

// AnswerMsgs are the worker's answers its hot key sends on any model: to challenges, to
// disputes and to log requests (an answer can only help the operator: one not sent loses at
// the deadline), and its reports of a neighbour's equivocation over payloads it received (a
// report posts nothing: it is refused or paid).
func AnswerMsgs() []sdk.Msg {
	return []sdk.Msg{&MsgRespondChallenge{}, &MsgDisputeClaim{}, &MsgAnswerLogRequest{}, &MsgReportEquivocation{}}
}

// RefereeMsgs are what a trainer's hot key sends to dispute other replicas' work on the
// operator's behalf: granted only when the operator opts in (AuthorizeTrainerMsgs' dispute
// budget), since every dispute posts the operator's bond; the opening is scoped to the seat's
// model and stage and to the budget (DisputeAuthorization), the moves are not (they post
// nothing).
// A log request posts nothing, so its grant is not budgeted: the chain takes it only from a
// replica of the attestation's stage.
func RefereeMsgs() []sdk.Msg {
	return []sdk.Msg{&MsgOpenDispute{}, &MsgDisputeRespond{}, &MsgRequestLog{}}
}

// AuthorizeTrainerMsgs are the messages of one transaction by which an operator sets up a
// trainer's hot key for its seat in stage of model: an authz grant (until expiry) for each of
// SeatMsgs scoped to that model and stage (SeatAuthorization) and one for each of AnswerMsgs
// (an answer can only help the operator), with a positive disputeBudget the RefereeMsgs too
// (the opening scoped to that model, stage and budget: DisputeAuthorization), a fee allowance of at most spendLimit that pays only
// for those executions sent for the operator (TrainerAllowance), and 1 unit of feeDenom so that
// the hot key has an account and can sign.
func AuthorizeTrainerMsgs(operator, hot sdk.AccAddress, model uint64, stage uint32, spendLimit sdk.Coins, feeDenom string, expiry time.Time, disputeBudget sdk.Coin) ([]sdk.Msg, error) {
	var msgs []sdk.Msg
	for _, m := range SeatMsgs() {
		g, err := authz.NewMsgGrant(operator, hot, &SeatAuthorization{MsgTypeUrl: sdk.MsgTypeURL(m), ModelId: model, Stage: stage}, &expiry)
		if err != nil {
			return nil, fmt.Errorf("grant for %s: %w", sdk.MsgTypeURL(m), err)
		}
		msgs = append(msgs, g)
	}
	answers := AnswerMsgs()
	if disputeBudget.IsValid() && disputeBudget.IsPositive() {
		g, err := authz.NewMsgGrant(operator, hot, &DisputeAuthorization{ModelId: model, Stage: stage, BondLimit: disputeBudget}, &expiry)
		if err != nil {
			return nil, fmt.Errorf("grant for %s: %w", sdk.MsgTypeURL(&MsgOpenDispute{}), err)
		}
		msgs = append(msgs, g)
		answers = append(answers, &MsgDisputeRespond{}, &MsgRequestLog{})
	}
	for _, m := range answers {
		g, err := authz.NewMsgGrant(operator, hot, authz.NewGenericAuthorization(sdk.MsgTypeURL(m)), &expiry)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, g)
	}
	fee, err := feegrant.NewMsgGrantAllowance(&TrainerAllowance{Operator: operator.String(), SpendLimit: spendLimit, Expiration: &expiry}, operator, hot)
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, fee, banktypes.NewMsgSend(operator, hot, sdk.NewCoins(sdk.NewInt64Coin(feeDenom, 1))))
	return msgs, nil
}
