package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
)

type msgServer struct{ k *Keeper }

// NewMsgServerImpl returns the Msg service of x/compute.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) RegisterWorker(ctx context.Context, msg *types.MsgRegisterWorker) (*types.MsgRegisterWorkerResponse, error) {
	return s.k.RegisterWorker(ctx, msg)
}

func (s msgServer) UpdateWorker(ctx context.Context, msg *types.MsgUpdateWorker) (*types.MsgUpdateWorkerResponse, error) {
	return s.k.UpdateWorker(ctx, msg)
}

func (s msgServer) AddStake(ctx context.Context, msg *types.MsgAddStake) (*types.MsgAddStakeResponse, error) {
	return s.k.AddStake(ctx, msg)
}

func (s msgServer) BeginUnbonding(ctx context.Context, msg *types.MsgBeginUnbonding) (*types.MsgBeginUnbondingResponse, error) {
	return s.k.BeginUnbonding(ctx, msg)
}

func (s msgServer) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	return s.k.Unjail(ctx, msg)
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	k := s.k
	if msg.Authority != k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	old, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	if old.StakeDenom() != msg.Params.StakeDenom() {
		// Bonded coins are held in the old denom; switching would strand them.
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "stake denom cannot change (%q to %q)", old.StakeDenom(), msg.Params.StakeDenom())
	}
	if err := k.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	if !old.MinWorkerStake.Equal(msg.Params.MinWorkerStake) {
		if err := k.refreshAllStatuses(ctx, msg.Params); err != nil {
			return nil, err
		}
	}
	return &types.MsgUpdateParamsResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{Params: msg.Params})
}

// refreshAllStatuses re-derives every worker's status after min_worker_stake changed.
func (k *Keeper) refreshAllStatuses(ctx context.Context, p types.Params) error {
	type change struct {
		op   sdk.AccAddress
		from types.WorkerStatus
		w    types.Worker
	}
	var changes []change
	err := k.Workers.Walk(ctx, nil, func(op sdk.AccAddress, w types.Worker) (bool, error) {
		if to := statusFor(w, p); to != w.Status {
			from := w.Status
			w.Status = to
			changes = append(changes, change{op, from, w})
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := k.saveWorker(ctx, c.op, c.from, c.w); err != nil {
			return err
		}
	}
	return nil
}
