package keeper

import (
	"context"
	"fmt"
	"time"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
)

// CheckInvariants verifies what every state transition must preserve: the module account
// holds exactly the bonded and unbonding stake, no balance is negative, each status agrees with
// its stake, and the peer-id index and the maturity queue match their records. Tests and
// simulations call it after every step; it walks the whole state, so it is not for block hooks.
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	owed := sdkmath.ZeroInt()
	peers := 0
	err = k.Workers.Walk(ctx, nil, func(op sdk.AccAddress, w types.Worker) (bool, error) {
		if w.Bonded.IsNegative() || w.Slashed.IsNegative() {
			return true, fmt.Errorf("worker %s: negative bonded %s or slashed %s", w.Operator, w.Bonded, w.Slashed)
		}
		if want := statusFor(w, p); w.Status != want {
			return true, fmt.Errorf("worker %s: status %s, stake says %s", w.Operator, w.Status, want)
		}
		owner, err := k.Workers.Indexes.PeerID.MatchExact(ctx, w.PeerId)
		if err != nil || !owner.Equals(op) {
			return true, fmt.Errorf("worker %s: peer id %s not indexed to it (%v)", w.Operator, w.PeerId, err)
		}
		peers++
		owed = owed.Add(w.Bonded.Amount)
		return false, nil
	})
	if err != nil {
		return err
	}
	indexed := 0
	if err := k.Workers.Indexes.PeerID.Walk(ctx, nil, func(string, sdk.AccAddress) (bool, error) {
		indexed++
		return false, nil
	}); err != nil {
		return err
	}
	if indexed != peers {
		return fmt.Errorf("peer-id index has %d entries for %d workers", indexed, peers)
	}

	entries := 0
	err = k.Unbonding.Walk(ctx, nil, func(key collections.Pair[sdk.AccAddress, uint64], e types.UnbondingEntry) (bool, error) {
		if e.Balance.IsNegative() || e.Balance.Amount.GT(e.Initial.Amount) {
			return true, fmt.Errorf("unbonding entry %d: balance %s outside [0, %s]", e.Id, e.Balance, e.Initial)
		}
		if has, err := k.Workers.Has(ctx, key.K1()); err != nil || !has {
			return true, fmt.Errorf("unbonding entry %d: operator %s has no worker", e.Id, e.Operator)
		}
		if has, err := k.UnbondingQueue.Has(ctx, collections.Join3(e.CompletionTime, key.K1(), key.K2())); err != nil || !has {
			return true, fmt.Errorf("unbonding entry %d is missing from the maturity queue", e.Id)
		}
		entries++
		owed = owed.Add(e.Balance.Amount)
		return false, nil
	})
	if err != nil {
		return err
	}
	queued := 0
	if err := k.UnbondingQueue.Walk(ctx, nil, func(collections.Triple[time.Time, sdk.AccAddress, uint64]) (bool, error) {
		queued++
		return false, nil
	}); err != nil {
		return err
	}
	if queued != entries {
		return fmt.Errorf("maturity queue has %d entries for %d unbonding entries", queued, entries)
	}

	held := k.bk.GetBalance(ctx, k.ak.GetModuleAddress(types.ModuleName), p.StakeDenom())
	if !held.Amount.Equal(owed) {
		return fmt.Errorf("module account holds %s, workers are owed %s%s", held, owed, p.StakeDenom())
	}
	return nil
}
