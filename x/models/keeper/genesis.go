package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/models/types"
)

// InitGenesis loads the state. It reads x/compute, so x/compute's genesis must be loaded first:
// every model's min_stake must be in the stake denom, and every seated operator an active worker.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return fmt.Errorf("x/models genesis: %w", err)
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	cp, err := k.ck.GetParams(ctx)
	if err != nil {
		return fmt.Errorf("x/models genesis: reading x/compute params (is x/compute's genesis loaded first?): %w", err)
	}
	for _, m := range gs.Models {
		if m.MinStake.Denom != cp.StakeDenom() {
			return fmt.Errorf("x/models genesis: model %d: min_stake %s is not in x/compute's stake denom %q", m.Id, m.MinStake, cp.StakeDenom())
		}
		if err := k.Models.Set(ctx, m.Id, m); err != nil {
			return err
		}
	}
	for _, s := range gs.Seats {
		op, err := k.parseAddr("operator", s.Operator)
		if err != nil {
			return err
		}
		w, err := k.ck.GetWorker(ctx, op)
		if err != nil {
			return fmt.Errorf("x/models genesis: seat of %s in stage %d of model %d: %w", s.Operator, s.Stage, s.ModelId, err)
		}
		if w.Status != computetypes.WORKER_STATUS_ACTIVE {
			return fmt.Errorf("x/models genesis: seat of %s in stage %d of model %d: worker is %s, only active workers hold seats",
				s.Operator, s.Stage, s.ModelId, w.Status)
		}
		if err := k.setSeat(ctx, op, s); err != nil {
			return err
		}
	}
	for _, h := range gs.HeldStages {
		op, err := k.parseAddr("operator", h.Operator)
		if err != nil {
			return err
		}
		if err := k.HeldStages.Set(ctx, collections.Join(h.ModelId, op), h); err != nil {
			return err
		}
	}
	// A genesis from before the record (or one that leaves seats out of it): a seat is a stage
	// held since it was taken.
	for _, s := range gs.Seats {
		op, _ := k.parseAddr("operator", s.Operator) // parsed above
		key := collections.Join(s.ModelId, op)
		if has, err := k.HeldStages.Has(ctx, key); err != nil || has {
			if err != nil {
				return err
			}
			continue
		}
		if err := k.HeldStages.Set(ctx, key, types.HeldStage{Operator: s.Operator, ModelId: s.ModelId, Stage: s.Stage, FirstHeight: s.JoinedHeight}); err != nil {
			return err
		}
	}
	// The family record follows from the models' records (validated to agree).
	if err := k.HeldStages.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], h types.HeldStage) (bool, error) {
		m, err := k.GetModel(ctx, key.K1())
		if err != nil {
			return true, err
		}
		return false, k.FamilyStages.Set(ctx, collections.Join(m.Family(), key.K2()), h.Stage)
	}); err != nil {
		return err
	}
	for _, c := range gs.Checkpoints {
		op, err := k.parseAddr("operator", c.Operator)
		if err != nil {
			return err
		}
		if err := k.Checkpoints.Set(ctx, collections.Join3(c.ModelId, c.Stage, op), c); err != nil {
			return err
		}
	}
	if err := k.ModelSeq.Set(ctx, gs.NextModelId); err != nil {
		return err
	}
	// Whatever Validate could not see (it reads no store): the same rules as every block.
	if err := k.CheckInvariants(ctx); err != nil {
		return fmt.Errorf("x/models genesis: %w", err)
	}
	return nil
}

// ExportGenesis dumps the whole state.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	miter, err := k.Models.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Models, err = miter.Values(); err != nil {
		return nil, err
	}
	siter, err := k.Seats.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Seats, err = siter.Values(); err != nil {
		return nil, err
	}
	citer, err := k.Checkpoints.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Checkpoints, err = citer.Values(); err != nil {
		return nil, err
	}
	hiter, err := k.HeldStages.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.HeldStages, err = hiter.Values(); err != nil {
		return nil, err
	}
	if gs.NextModelId, err = k.ModelSeq.Peek(ctx); err != nil {
		return nil, err
	}
	return gs, nil
}
