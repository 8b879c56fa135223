package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// holderState returns holder's record in model, or a fresh one at the model's current index
// (a holder without a record holds no shares, so nothing accrued before now is its).
func (k *Keeper) holderState(ctx context.Context, holder sdk.AccAddress, rev types.ModelRevenue) (types.HolderState, error) {
	st, err := k.Holders.Get(ctx, collections.Join(holder, rev.ModelId))
	if errors.Is(err, collections.ErrNotFound) {
		return types.HolderState{ModelId: rev.ModelId, Holder: k.addrString(holder), Index: rev.Index, AccruedScaled: sdkmath.ZeroInt()}, nil
	}
	return st, err
}

// accrue brings st up to rev's index for a holder with balance shares: exact, no rounding.
func accrue(st types.HolderState, rev types.ModelRevenue, balance sdkmath.Int) (types.HolderState, sdkmath.Int) {
	delta := balance.Mul(rev.Index.Sub(st.Index))
	st.AccruedScaled = st.AccruedScaled.Add(delta)
	st.Index = rev.Index
	return st, delta
}

// position is holder's record brought up to rev's index with its current balance, not stored,
// and what that added.
func (k *Keeper) position(ctx context.Context, holder sdk.AccAddress, rev types.ModelRevenue) (types.HolderState, sdkmath.Int, error) {
	st, err := k.holderState(ctx, holder, rev)
	if err != nil {
		return st, sdkmath.Int{}, err
	}
	st, delta := accrue(st, rev, k.bk.GetBalance(ctx, holder, types.ShareDenom(rev.ModelId)).Amount)
	return st, delta, nil
}

// settle credits holder with what its current balance earned since its last settlement. It must
// run before every change of the holder's share/N balance; the bank send restriction sees to it.
func (k *Keeper) settle(ctx context.Context, modelID uint64, holder sdk.AccAddress) error {
	for _, h := range k.moveHooks {
		if err := h.BeforeShareBalanceChange(ctx, modelID, holder); err != nil {
			return err
		}
	}
	rev, err := k.ensureRevenue(ctx, modelID)
	if err != nil {
		return err
	}
	st, delta, err := k.position(ctx, holder, rev)
	if err != nil {
		return err
	}
	if err := k.Holders.Set(ctx, collections.Join(holder, modelID), st); err != nil {
		return err
	}
	if err := k.Dirty.Set(ctx, collections.Join(modelID, holder)); err != nil {
		return err
	}
	if !delta.IsPositive() {
		return nil
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventHolderSettled{
		ModelId: modelID, Holder: st.Holder, AccruedScaled: delta.String(), Index: rev.Index.String(),
	})
}

// SendRestriction settles sender and receiver before any movement of share/N through the bank
// keeper: MsgSend, MsgMultiSend, module sends, IBC escrow, and the mint path all go through it.
// Register it with the bank keeper's AppendSendRestriction.
func (k *Keeper) SendRestriction(ctx context.Context, from, to sdk.AccAddress, amt sdk.Coins) (sdk.AccAddress, error) {
	for _, c := range amt {
		modelID, ok := types.ParseShareDenom(c.Denom)
		if !ok {
			continue
		}
		for _, addr := range []sdk.AccAddress{from, to} {
			if addr.Equals(k.moduleAddr) {
				continue
			}
			if err := k.settle(ctx, modelID, addr); err != nil {
				return to, err
			}
		}
	}
	return to, nil
}

// balanceKey encodes a share balance so that byte order is numeric order.
func balanceKey(b sdkmath.Int) []byte {
	out := make([]byte, 32)
	b.BigIntMut().FillBytes(out)
	return out
}

// ReindexDirty refreshes the balance index of every holder whose balance moved, and drops
// records left with neither shares nor revenue. Called in EndBlock: O(holders moved this block).
func (k *Keeper) ReindexDirty(ctx context.Context) error {
	var dirty []collections.Pair[uint64, sdk.AccAddress]
	if err := k.Dirty.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress]) (bool, error) {
		dirty = append(dirty, key)
		return false, nil
	}); err != nil {
		return err
	}
	for _, key := range dirty {
		if err := k.Dirty.Remove(ctx, key); err != nil {
			return err
		}
		if err := k.reindex(ctx, key.K1(), key.K2()); err != nil {
			return err
		}
		for _, h := range k.hooks {
			if err := h.AfterShareBalanceMoved(ctx, key.K1(), key.K2()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *Keeper) reindex(ctx context.Context, modelID uint64, holder sdk.AccAddress) error {
	idx := collections.Join(modelID, holder)
	old, err := k.Indexed.Get(ctx, idx)
	switch {
	case err == nil:
		if err := k.ByBalance.Remove(ctx, collections.Join3(modelID, old, holder)); err != nil {
			return err
		}
		if err := k.Indexed.Remove(ctx, idx); err != nil {
			return err
		}
	case !errors.Is(err, collections.ErrNotFound):
		return err
	}
	bal := k.bk.GetBalance(ctx, holder, types.ShareDenom(modelID)).Amount
	if bal.IsPositive() {
		bk := balanceKey(bal)
		if err := k.ByBalance.Set(ctx, collections.Join3(modelID, bk, holder)); err != nil {
			return err
		}
		return k.Indexed.Set(ctx, idx, bk)
	}
	// No shares left: the record only matters while revenue is still owed.
	st, err := k.Holders.Get(ctx, collections.Join(holder, modelID))
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.AccruedScaled.IsZero() {
		return k.Holders.Remove(ctx, collections.Join(holder, modelID))
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }
