package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	sdkmath "cosmossdk.io/math"

	"github.com/protolearn/protolearn/x/compute/types"
)

// InitGenesis loads the state and checks the module account holds every bonded and unbonding coin.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return fmt.Errorf("x/compute genesis: %w", err)
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	owed := sdkmath.ZeroInt()
	for _, w := range gs.Workers {
		op, err := k.parseAddr("operator", w.Operator)
		if err != nil {
			return err
		}
		if err := k.Workers.Set(ctx, op, w); err != nil {
			return err
		}
		owed = owed.Add(w.Bonded.Amount)
	}
	for _, e := range gs.UnbondingEntries {
		op, err := k.parseAddr("operator", e.Operator)
		if err != nil {
			return err
		}
		if err := k.setUnbonding(ctx, op, e); err != nil {
			return err
		}
		owed = owed.Add(e.Balance.Amount)
	}
	if err := k.UnbondingSeq.Set(ctx, gs.NextUnbondingId); err != nil {
		return err
	}
	for _, r := range gs.RetiredPeers {
		op, err := k.parseAddr("operator", r.Operator)
		if err != nil {
			return err
		}
		if err := k.RetiredPeers.Set(ctx, r.PeerId, op); err != nil {
			return err
		}
	}
	// GetModuleAccount creates the account if genesis did not list it.
	macc := k.ak.GetModuleAccount(ctx, types.ModuleName)
	held := k.bk.GetBalance(ctx, macc.GetAddress(), gs.Params.StakeDenom())
	if held.Amount.LT(owed) {
		return fmt.Errorf("x/compute genesis: module account holds %s but workers are owed %s%s", held, owed, gs.Params.StakeDenom())
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
	iter, err := k.Workers.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.Workers, err = iter.Values(); err != nil {
		return nil, err
	}
	uiter, err := k.Unbonding.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	if gs.UnbondingEntries, err = uiter.Values(); err != nil {
		return nil, err
	}
	if gs.NextUnbondingId, err = k.UnbondingSeq.Peek(ctx); err != nil {
		return nil, err
	}
	if err := k.RetiredPeers.Walk(ctx, nil, func(p string, op sdk.AccAddress) (bool, error) {
		gs.RetiredPeers = append(gs.RetiredPeers, types.RetiredPeer{PeerId: p, Operator: k.addrString(op)})
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
