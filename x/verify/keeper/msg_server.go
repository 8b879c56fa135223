package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/verify/types"
)

type msgServer struct{ k *Keeper }

// NewMsgServerImpl returns the Msg service of x/verify.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) SubmitAttestation(ctx context.Context, msg *types.MsgSubmitAttestation) (*types.MsgSubmitAttestationResponse, error) {
	id, err := s.k.SubmitAttestation(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitAttestationResponse{AttestationId: id}, nil
}

func (s msgServer) OpenChallenge(ctx context.Context, msg *types.MsgOpenChallenge) (*types.MsgOpenChallengeResponse, error) {
	c, err := s.k.OpenChallenge(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenChallengeResponse{ChallengeId: c.Id, DeadlineHeight: c.DeadlineHeight}, nil
}

func (s msgServer) RespondChallenge(ctx context.Context, msg *types.MsgRespondChallenge) (*types.MsgRespondChallengeResponse, error) {
	if err := s.k.RespondChallenge(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgRespondChallengeResponse{}, nil
}

func (s msgServer) OpenDispute(ctx context.Context, msg *types.MsgOpenDispute) (*types.MsgOpenDisputeResponse, error) {
	d, err := s.k.OpenDispute(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgOpenDisputeResponse{DisputeId: d.Id, DeadlineHeight: d.DeadlineHeight}, nil
}

func (s msgServer) DisputeClaim(ctx context.Context, msg *types.MsgDisputeClaim) (*types.MsgDisputeMoveResponse, error) {
	d, err := s.k.DisputeClaim(ctx, msg)
	if err != nil {
		return nil, err
	}
	return moveResponse(d), nil
}

func (s msgServer) DisputeRespond(ctx context.Context, msg *types.MsgDisputeRespond) (*types.MsgDisputeMoveResponse, error) {
	d, err := s.k.DisputeRespond(ctx, msg)
	if err != nil {
		return nil, err
	}
	return moveResponse(d), nil
}

func (s msgServer) RequestLog(ctx context.Context, msg *types.MsgRequestLog) (*types.MsgRequestLogResponse, error) {
	r, err := s.k.RequestLog(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgRequestLogResponse{RequestId: r.Id, DeadlineHeight: r.DeadlineHeight}, nil
}

func (s msgServer) AnswerLogRequest(ctx context.Context, msg *types.MsgAnswerLogRequest) (*types.MsgAnswerLogRequestResponse, error) {
	if err := s.k.AnswerLogRequest(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgAnswerLogRequestResponse{}, nil
}

func (s msgServer) ReportEquivocation(ctx context.Context, msg *types.MsgReportEquivocation) (*types.MsgReportEquivocationResponse, error) {
	slashed, err := s.k.ReportEquivocation(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgReportEquivocationResponse{Slashed: slashed}, nil
}

func moveResponse(d types.Dispute) *types.MsgDisputeMoveResponse {
	return &types.MsgDisputeMoveResponse{Phase: d.Phase, WorkerToMove: d.WorkerToMove, DeadlineHeight: d.DeadlineHeight, Outcome: d.Outcome}
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	p := msg.Params
	p.SortVerifyingKeys()
	if err := s.k.Params.Set(ctx, p); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{Params: p})
}
