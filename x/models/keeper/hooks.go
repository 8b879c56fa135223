package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
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
