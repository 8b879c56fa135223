package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/inference/types"
)

// InitGenesis loads gs (validated).
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	// Every amount is in x/shares' revenue denom (x/shares initializes first, and its denom
	// never changes): settlement pays revenue in it.
	denom, err := k.shares.RevenueDenom(ctx)
	if err != nil {
		return err
	}
	if d := gs.Denom(); d != "" && d != denom {
		return fmt.Errorf("x/inference genesis is in %s; x/shares' revenue denom is %s", d, denom)
	}
	for _, p := range gs.Prices {
		if err := k.Prices.Set(ctx, p.ModelId, p); err != nil {
			return err
		}
	}
	for _, d := range gs.Deposits {
		customer, err := k.parseAddr("customer", d.Customer)
		if err != nil {
			return fmt.Errorf("deposit %d: %w", d.Id, err)
		}
		if err := k.Deposits.Set(ctx, d.Id, d); err != nil {
			return err
		}
		if err := k.ByCustomer.Set(ctx, collections.Join(customer, d.Id)); err != nil {
			return err
		}
	}
	if err := k.DepositSeq.Set(ctx, gs.NextDepositId); err != nil {
		return err
	}
	for _, s := range gs.Settled {
		if err := k.Settled.Set(ctx, collections.Join(s.DepositId, s.RequestId), s.Tokens); err != nil {
			return err
		}
	}
	for _, u := range gs.Usage {
		if err := k.Usage.Set(ctx, u.ModelId, u); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis dumps the state.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	next, err := k.DepositSeq.Peek(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p, NextDepositId: next}
	if err := k.Prices.Walk(ctx, nil, func(_ uint64, v types.Price) (bool, error) {
		gs.Prices = append(gs.Prices, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Deposits.Walk(ctx, nil, func(_ uint64, v types.Deposit) (bool, error) {
		gs.Deposits = append(gs.Deposits, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Settled.Walk(ctx, nil, func(key collections.Pair[uint64, string], n uint64) (bool, error) {
		if pruned, err := k.Prune.Has(ctx, key.K1()); err != nil || pruned {
			return false, err // a withdrawn deposit's, not yet deleted: nothing to carry
		}
		gs.Settled = append(gs.Settled, types.Settled{DepositId: key.K1(), RequestId: key.K2(), Tokens: n})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Usage.Walk(ctx, nil, func(_ uint64, v types.Usage) (bool, error) {
		gs.Usage = append(gs.Usage, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}

// CheckInvariants verifies that the module account holds at least what the deposits hold (it
// holds exactly that, unless someone sent it coins).
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	want := map[string]sdk.Coin{}
	if err := k.Deposits.Walk(ctx, nil, func(_ uint64, d types.Deposit) (bool, error) {
		if c, ok := want[d.Balance.Denom]; ok {
			want[d.Balance.Denom] = c.Add(d.Balance)
		} else {
			want[d.Balance.Denom] = d.Balance
		}
		return false, nil
	}); err != nil {
		return err
	}
	for denom, c := range want {
		if have := k.bk.GetBalance(ctx, k.moduleAddr, denom); have.IsLT(c) {
			return fmt.Errorf("x/inference holds %s; its deposits hold %s", have, c)
		}
	}
	return nil
}
