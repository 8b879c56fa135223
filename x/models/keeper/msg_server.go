package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/models/types"
)

type msgServer struct{ k *Keeper }

// NewMsgServerImpl returns the Msg service of x/models.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) CreateModel(ctx context.Context, msg *types.MsgCreateModel) (*types.MsgCreateModelResponse, error) {
	return s.k.CreateModel(ctx, msg)
}

func (s msgServer) CancelModel(ctx context.Context, msg *types.MsgCancelModel) (*types.MsgCancelModelResponse, error) {
	return s.k.CancelModel(ctx, msg)
}

func (s msgServer) JoinStage(ctx context.Context, msg *types.MsgJoinStage) (*types.MsgJoinStageResponse, error) {
	return s.k.JoinStage(ctx, msg)
}

func (s msgServer) LeaveStage(ctx context.Context, msg *types.MsgLeaveStage) (*types.MsgLeaveStageResponse, error) {
	return s.k.LeaveStage(ctx, msg)
}

func (s msgServer) CommitCheckpoint(ctx context.Context, msg *types.MsgCommitCheckpoint) (*types.MsgCommitCheckpointResponse, error) {
	return s.k.CommitCheckpoint(ctx, msg)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	k := s.k
	if msg.Authority != k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	if err := k.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{Params: msg.Params})
}
