package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/models/types"
)

// ComputeHooks returns the hooks x/compute calls on worker changes; the app installs them with
// ComputeKeeper.SetHooks(ModelsKeeper.ComputeHooks()).
func (k *Keeper) ComputeHooks() computetypes.ComputeHooks { return computeHooks{k} }

type computeHooks struct{ k *Keeper }

var _ computetypes.ComputeHooks = computeHooks{}

// AfterWorkerStatusChanged drops every seat of a worker that is jailed or falls inactive (bonded
// stake below min_worker_stake), in every model, with an EventSeatDropped per seat. The worker
// joins again once it is active.
func (h computeHooks) AfterWorkerStatusChanged(ctx context.Context, operator sdk.AccAddress, _, to computetypes.WorkerStatus) error {
	switch to {
	case computetypes.WORKER_STATUS_JAILED:
		return h.k.dropOperatorSeats(ctx, operator, "worker jailed")
	case computetypes.WORKER_STATUS_INACTIVE:
		return h.k.dropOperatorSeats(ctx, operator, "worker inactive: bonded stake below min_worker_stake")
	}
	return nil
}

// AfterBondedDecreased drops the operator's seats in the models whose min_stake its bonded stake
// no longer reaches (it may still be active in x/compute and keep seats in other models).
func (h computeHooks) AfterBondedDecreased(ctx context.Context, operator sdk.AccAddress, bonded sdk.Coin) error {
	return h.k.dropOperatorSeatsIf(ctx, operator, "bonded stake below the model's min_stake", func(s types.Seat) (bool, error) {
		m, err := h.k.GetModel(ctx, s.ModelId)
		if err != nil {
			return false, err
		}
		return bonded.Amount.LT(m.MinStake.Amount), nil
	})
}
