package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// InitGenesis loads revenue accounts and holder records, gives every share/N balance in bank
// genesis a record (starting at the model's current index, so it earns from now on), rebuilds
// the balance index, and checks the module account holds what holders are owed.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return fmt.Errorf("x/shares genesis: %w", err)
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	owed := sdkmath.ZeroInt()
	for _, r := range gs.Revenues {
		if r.Royalties.IsNil() {
			r.Royalties = sdkmath.ZeroInt() // a record from before forks
		}
		if err := k.Revenues.Set(ctx, r.ModelId, r); err != nil {
			return err
		}
		owed = owed.Add(outstanding(r))
	}
	for _, h := range gs.Holders {
		addr, err := k.parseAddr("holder", h.Holder)
		if err != nil {
			return err
		}
		if err := k.Holders.Set(ctx, collections.Join(addr, h.ModelId), h); err != nil {
			return err
		}
	}

	type position struct {
		model  uint64
		holder sdk.AccAddress
	}
	var positions []position
	k.bk.IterateAllBalances(ctx, func(addr sdk.AccAddress, c sdk.Coin) bool {
		if id, ok := types.ParseShareDenom(c.Denom); ok && c.IsPositive() {
			positions = append(positions, position{id, addr})
		}
		return false
	})
	named := map[uint64]bool{}
	for _, pos := range positions {
		if pos.holder.Equals(k.moduleAddr) {
			return fmt.Errorf("x/shares genesis: the shares module account holds %s; it must hold none", types.ShareDenom(pos.model))
		}
		if !named[pos.model] {
			// Shares of a model that does not exist could never earn or be explained: refuse them.
			if err := k.RegisterShareDenom(ctx, pos.model); err != nil {
				return fmt.Errorf("x/shares genesis: %s is held: %w", types.ShareDenom(pos.model), err)
			}
			named[pos.model] = true
		}
		rev, err := k.ensureRevenue(ctx, pos.model)
		if err != nil {
			return err
		}
		if has, err := k.Holders.Has(ctx, collections.Join(pos.holder, pos.model)); err != nil {
			return err
		} else if !has {
			st, err := k.holderState(ctx, pos.holder, rev)
			if err != nil {
				return err
			}
			if err := k.Holders.Set(ctx, collections.Join(pos.holder, pos.model), st); err != nil {
				return err
			}
		}
		if err := k.reindex(ctx, pos.model, pos.holder); err != nil {
			return err
		}
	}

	p := gs.Params
	macc := k.ak.GetModuleAccount(ctx, types.ModuleName)
	if held := k.bk.GetBalance(ctx, macc.GetAddress(), p.RevenueDenom); held.Amount.LT(owed) {
		return fmt.Errorf("x/shares genesis: module account holds %s but holders are owed %s%s", held, owed, p.RevenueDenom)
	}
	return nil
}

// ExportGenesis dumps params, revenue accounts and holder records; the balance index is rebuilt
// on import.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	revs, err := k.Revenues.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Revenues, err = revs.Values(); err != nil {
		return nil, err
	}
	holders, err := k.Holders.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Holders, err = holders.Values(); err != nil {
		return nil, err
	}
	return gs, nil
}
