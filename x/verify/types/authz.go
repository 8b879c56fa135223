package types

import (
	"context"
	"fmt"
	"time"

	"cosmossdk.io/x/feegrant"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/cosmos/cosmos-sdk/x/authz"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

var (
	_ authz.Authorization    = &SeatAuthorization{}
	_ authz.Authorization    = &DisputeAuthorization{}
	_ feegrant.FeeAllowanceI = &TrainerAllowance{}
)

// seatOf is the model, stage and sender of a message a SeatAuthorization can grant.
func seatOf(msg sdk.Msg) (model uint64, stage uint32, sender string, ok bool) {
	switch m := msg.(type) {
	case *MsgSubmitAttestation:
		return m.ModelId, m.Stage, m.Worker, true
	case *modelstypes.MsgCommitCheckpoint:
		return m.ModelId, m.Stage, m.Operator, true
	case *modelstypes.MsgJoinStage:
		return m.ModelId, m.Stage, m.Operator, true
	}
	return 0, 0, "", false
}

// MsgTypeURL implements authz.Authorization.
func (a *SeatAuthorization) MsgTypeURL() string { return a.MsgTypeUrl }

// Accept implements authz.Authorization: a message of the granted type for the granted model and
// stage; the grant stays.
func (a *SeatAuthorization) Accept(_ context.Context, msg sdk.Msg) (authz.AcceptResponse, error) {
	if sdk.MsgTypeURL(msg) != a.MsgTypeUrl {
		return authz.AcceptResponse{}, sdkerrors.ErrInvalidType.Wrapf("the grant is for %s, not %s", a.MsgTypeUrl, sdk.MsgTypeURL(msg))
	}
	model, stage, _, ok := seatOf(msg)
	if !ok {
		return authz.AcceptResponse{}, sdkerrors.ErrInvalidType.Wrapf("%s has no model and stage", sdk.MsgTypeURL(msg))
	}
	if model != a.ModelId || stage != a.Stage {
		return authz.AcceptResponse{}, sdkerrors.ErrUnauthorized.Wrapf("the hot key acts for stage %d of model %d only, not stage %d of model %d", a.Stage, a.ModelId, stage, model)
	}
	return authz.AcceptResponse{Accept: true}, nil
}

// ValidateBasic implements authz.Authorization.
func (a *SeatAuthorization) ValidateBasic() error {
	if a.ModelId == 0 {
		return sdkerrors.ErrInvalidRequest.Wrap("seat authorization: model_id is 0; ids start at 1")
	}
	for _, m := range SeatMsgs() {
		if sdk.MsgTypeURL(m) == a.MsgTypeUrl {
			return nil
		}
	}
	return sdkerrors.ErrInvalidType.Wrapf("seat authorization: %s is not a seat's message (attestation, checkpoint, join)", a.MsgTypeUrl)
}

// SeatMsgs are the trainer's messages a SeatAuthorization scopes to one model and stage.
func SeatMsgs() []sdk.Msg {
	return []sdk.Msg{&MsgSubmitAttestation{}, &modelstypes.MsgCommitCheckpoint{}, &modelstypes.MsgJoinStage{}}
}

// MsgTypeURL implements authz.Authorization: MsgOpenDispute.
func (a *DisputeAuthorization) MsgTypeURL() string { return sdk.MsgTypeURL(&MsgOpenDispute{}) }

// Accept implements authz.Authorization: a dispute over an attestation of the granted model and
// stage (the message says which; the chain checks it is the attestation's), posting a bond the
// grant's limit still covers, which it takes off the limit; a spent limit ends the grant.
func (a *DisputeAuthorization) Accept(_ context.Context, msg sdk.Msg) (authz.AcceptResponse, error) {
	m, ok := msg.(*MsgOpenDispute)
	if !ok {
		return authz.AcceptResponse{}, sdkerrors.ErrInvalidType.Wrapf("the grant is for %s, not %s", a.MsgTypeURL(), sdk.MsgTypeURL(msg))
	}
	if m.ModelId != a.ModelId || m.Stage != a.Stage {
		return authz.AcceptResponse{}, sdkerrors.ErrUnauthorized.Wrapf("the hot key disputes attestations of stage %d of model %d only, not stage %d of model %d (model_id 0: not said)", a.Stage, a.ModelId, m.Stage, m.ModelId)
	}
	if m.Bond.Denom != a.BondLimit.Denom || m.Bond.Amount.IsNil() || a.BondLimit.Amount.LT(m.Bond.Amount) {
		return authz.AcceptResponse{}, sdkerrors.ErrInsufficientFunds.Wrapf("the hot key may post %s more in dispute bonds, not %s", a.BondLimit, m.Bond)
	}
	left := a.BondLimit.Sub(m.Bond)
	if left.IsZero() {
		return authz.AcceptResponse{Accept: true, Delete: true}, nil
	}
	return authz.AcceptResponse{Accept: true, Updated: &DisputeAuthorization{ModelId: a.ModelId, Stage: a.Stage, BondLimit: left}}, nil
}

// ValidateBasic implements authz.Authorization.
func (a *DisputeAuthorization) ValidateBasic() error {
	if a.ModelId == 0 {
		return sdkerrors.ErrInvalidRequest.Wrap("dispute authorization: model_id is 0; ids start at 1")
	}
	if err := a.BondLimit.Validate(); err != nil || !a.BondLimit.IsPositive() {
		return sdkerrors.ErrInvalidCoins.Wrapf("dispute authorization: bond_limit %s must be a positive amount (%v)", a.BondLimit, err)
	}
	return nil
}

// Accept implements feegrant.FeeAllowanceI: every message is a MsgExec of the trainer's
// messages sent for the operator; then spend_limit and expiration work as a basic allowance's.
func (a *TrainerAllowance) Accept(ctx context.Context, fee sdk.Coins, msgs []sdk.Msg) (bool, error) {
	for _, msg := range msgs {
		if err := a.allows(msg); err != nil {
			return false, err
		}
	}
	if a.Expiration != nil && sdk.UnwrapSDKContext(ctx).BlockTime().After(*a.Expiration) {
		return true, sdkerrors.ErrUnauthorized.Wrapf("the trainer's fee allowance expired at %s", a.Expiration.Format(time.RFC3339))
	}
	if a.SpendLimit != nil {
		left, neg := a.SpendLimit.SafeSub(fee...)
		if neg {
			return false, sdkerrors.ErrInsufficientFee.Wrapf("the trainer's fee allowance has %s left, the fee is %s", a.SpendLimit, fee)
		}
		a.SpendLimit = left
		return left.IsZero(), nil
	}
	return false, nil
}

// allows: msg is a MsgExec whose messages are the trainer's, each sent for the operator.
func (a *TrainerAllowance) allows(msg sdk.Msg) error {
	exec, ok := msg.(*authz.MsgExec)
	if !ok {
		return sdkerrors.ErrUnauthorized.Wrapf("the trainer's fee allowance pays for authz executions only, not %s", sdk.MsgTypeURL(msg))
	}
	inner, err := exec.GetMessages()
	if err != nil {
		return err
	}
	for _, m := range inner {
		var sender string
		if _, _, s, ok := seatOf(m); ok {
			sender = s
		} else if r, ok := m.(*MsgRespondChallenge); ok {
			sender = r.Worker
		} else if c, ok := m.(*MsgDisputeClaim); ok {
			sender = c.Worker
		} else if o, ok := m.(*MsgOpenDispute); ok {
			sender = o.Referee
		} else if r, ok := m.(*MsgDisputeRespond); ok {
			sender = r.Referee
		} else if r, ok := m.(*MsgRequestLog); ok {
			sender = r.Referee
		} else if r, ok := m.(*MsgAnswerLogRequest); ok {
			sender = r.Submitter
		} else if r, ok := m.(*MsgReportEquivocation); ok {
			sender = r.Reporter
		} else {
			return sdkerrors.ErrUnauthorized.Wrapf("the trainer's fee allowance does not pay for %s", sdk.MsgTypeURL(m))
		}
		if sender != a.Operator {
			return sdkerrors.ErrUnauthorized.Wrapf("the trainer's fee allowance pays for messages sent for %s, not for %s", a.Operator, sender)
		}
	}
	return nil
}

// ValidateBasic implements feegrant.FeeAllowanceI.
func (a *TrainerAllowance) ValidateBasic() error {
	if _, err := sdk.AccAddressFromBech32(a.Operator); err != nil {
		return fmt.Errorf("trainer allowance: operator: %w", err)
	}
	if a.SpendLimit != nil && !a.SpendLimit.IsValid() {
		return sdkerrors.ErrInvalidCoins.Wrapf("trainer allowance: spend_limit %s", a.SpendLimit)
	}
	return nil
}

// ExpiresAt implements feegrant.FeeAllowanceI.
func (a *TrainerAllowance) ExpiresAt() (*time.Time, error) { return a.Expiration, nil }
