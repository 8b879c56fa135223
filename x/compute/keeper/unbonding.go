package keeper

import (
	"context"
	"errors"
	"time"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

// setUnbonding stores an entry and its place in the maturity queue.
func (k *Keeper) setUnbonding(ctx context.Context, operator sdk.AccAddress, e types.UnbondingEntry) error {
	if err := k.Unbonding.Set(ctx, collections.Join(operator, e.Id), e); err != nil {
		return err
	}
	return k.UnbondingQueue.Set(ctx, collections.Join3(e.CompletionTime, operator, e.Id))
}

// removeUnbonding deletes an entry and its queue slot.
func (k *Keeper) removeUnbonding(ctx context.Context, operator sdk.AccAddress, e types.UnbondingEntry) error {
	if err := k.Unbonding.Remove(ctx, collections.Join(operator, e.Id)); err != nil {
		return err
	}
	return k.UnbondingQueue.Remove(ctx, collections.Join3(e.CompletionTime, operator, e.Id))
}

// UnbondingEntries returns operator's pending entries, oldest first.
func (k *Keeper) UnbondingEntries(ctx context.Context, operator sdk.AccAddress) ([]types.UnbondingEntry, error) {
	var out []types.UnbondingEntry
	rng := collections.NewPrefixedPairRange[sdk.AccAddress, uint64](operator)
	err := k.Unbonding.Walk(ctx, rng, func(_ collections.Pair[sdk.AccAddress, uint64], e types.UnbondingEntry) (bool, error) {
		out = append(out, e)
		return false, nil
	})
	return out, err
}

func (k *Keeper) countUnbonding(ctx context.Context, operator sdk.AccAddress) (uint64, error) {
	entries, err := k.UnbondingEntries(ctx, operator)
	return uint64(len(entries)), err
}

// CompleteMatureUnbondings pays out every entry whose completion time has passed. Called in EndBlock.
func (k *Keeper) CompleteMatureUnbondings(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	now := sdkCtx.BlockTime()
	// Collect first: the queue must not change while it is walked. It is ordered by time, so
	// the walk stops at the first entry that is not yet due.
	var due []collections.Pair[sdk.AccAddress, uint64]
	err := k.UnbondingQueue.Walk(ctx, nil, func(key collections.Triple[time.Time, sdk.AccAddress, uint64]) (bool, error) {
		if key.K1().After(now) {
			return true, nil
		}
		due = append(due, collections.Join(key.K2(), key.K3()))
		return false, nil
	})
	if err != nil {
		return err
	}
	for _, d := range due {
		operator := d.K1()
		e, err := k.Unbonding.Get(ctx, d)
		if err != nil {
			return err
		}
		if err := k.removeUnbonding(ctx, operator, e); err != nil {
			return err
		}
		if e.Balance.IsPositive() {
			if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, sdk.NewCoins(e.Balance)); err != nil {
				return err
			}
		}
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventUnbondingCompleted{
			Operator: e.Operator, EntryId: e.Id, Amount: e.Balance,
		}); err != nil {
			return err
		}
	}
	return nil
}
