package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// CheckInvariants verifies, exactly, for every model: what holders can claim (scaled) plus the
// unswept dust equals (paid − fees − claimed − dust swept) × IndexScale; every share holder has a
// record; the module account holds exactly the outstanding revenue and no shares; and, when no
// balance moved since the last EndBlock, the balance index matches bank. It walks every balance,
// so it is for tests and simulations.
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	owedScaled := map[uint64]sdkmath.Int{}
	revs := map[uint64]types.ModelRevenue{}
	if err := k.Revenues.Walk(ctx, nil, func(id uint64, r types.ModelRevenue) (bool, error) {
		revs[id] = r
		owedScaled[id] = r.DustScaled
		return false, nil
	}); err != nil {
		return err
	}

	var failure error
	k.bk.IterateAllBalances(ctx, func(addr sdk.AccAddress, c sdk.Coin) bool {
		id, ok := types.ParseShareDenom(c.Denom)
		if !ok || !c.IsPositive() {
			return false
		}
		if addr.Equals(k.moduleAddr) {
			failure = fmt.Errorf("the shares module account holds %s", c)
			return true
		}
		if _, ok := revs[id]; !ok {
			failure = fmt.Errorf("%s exists but model %d has no revenue record", c.Denom, id)
			return true
		}
		if has, err := k.Holders.Has(ctx, collections.Join(addr, id)); err != nil || !has {
			failure = fmt.Errorf("%s holds %s but has no holder record", addr, c)
			return true
		}
		return false
	})
	if failure != nil {
		return failure
	}

	err = k.Holders.Walk(ctx, nil, func(key collections.Pair[sdk.AccAddress, uint64], st types.HolderState) (bool, error) {
		rev, ok := revs[key.K2()]
		if !ok {
			return true, fmt.Errorf("holder %s has a record in model %d, which has no revenue record", st.Holder, key.K2())
		}
		if st.Index.GT(rev.Index) || st.AccruedScaled.IsNegative() {
			return true, fmt.Errorf("holder %s model %d: index %s beyond model's %s or negative accrual", st.Holder, key.K2(), st.Index, rev.Index)
		}
		st, _ = accrue(st, rev, k.bk.GetBalance(ctx, key.K1(), types.ShareDenom(key.K2())).Amount)
		owedScaled[key.K2()] = owedScaled[key.K2()].Add(st.AccruedScaled)
		return false, nil
	})
	if err != nil {
		return err
	}

	held := sdkmath.ZeroInt()
	for id, rev := range revs {
		out := outstanding(rev)
		if want := out.Mul(types.IndexScale); !owedScaled[id].Equal(want) {
			return fmt.Errorf("model %d: claimable + dust = %s (scaled), paid − fees − claimed − swept = %s", id, owedScaled[id], want)
		}
		held = held.Add(out)
	}
	if bal := k.bk.GetBalance(ctx, k.moduleAddr, p.RevenueDenom).Amount; !bal.Equal(held) {
		return fmt.Errorf("module account holds %s%s, models' outstanding revenue is %s", bal, p.RevenueDenom, held)
	}

	dirty := false
	if err := k.Dirty.Walk(ctx, nil, func(collections.Pair[uint64, sdk.AccAddress]) (bool, error) {
		dirty = true
		return true, nil
	}); err != nil || dirty {
		return err
	}
	return k.ByBalance.Walk(ctx, nil, func(key collections.Triple[uint64, []byte, sdk.AccAddress]) (bool, error) {
		bal := k.bk.GetBalance(ctx, key.K3(), types.ShareDenom(key.K1())).Amount
		if string(balanceKey(bal)) != string(key.K2()) {
			return true, fmt.Errorf("model %d holder %s indexed at a stale balance", key.K1(), key.K3())
		}
		return false, nil
	})
}
