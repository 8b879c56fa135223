package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/verify/types"
)

// InitGenesis loads state and rebuilds every index from the records.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return fmt.Errorf("x/verify genesis: %w", err)
	}
	p := gs.Params
	p.SortVerifyingKeys()
	if err := k.Params.Set(ctx, p); err != nil {
		return err
	}
	for _, a := range gs.Attestations {
		worker, err := k.parseAddr("worker", a.Worker)
		if err != nil {
			return fmt.Errorf("attestation %d: %w", a.Id, err)
		}
		if err := k.storeNewAttestation(ctx, worker, a); err != nil {
			return err
		}
	}
	for _, c := range gs.Challenges {
		if err := k.storeChallenge(ctx, c); err != nil {
			return fmt.Errorf("challenge %d: %w", c.Id, err)
		}
	}
	for _, l := range gs.LastSteps {
		worker, err := k.parseAddr("worker", l.Worker)
		if err != nil {
			return fmt.Errorf("last step of model %d: %w", l.ModelId, err)
		}
		if err := k.LastSteps.Set(ctx, collections.Join(l.ModelId, worker), l.Step); err != nil {
			return err
		}
	}
	if err := k.AttestSeq.Set(ctx, max(gs.NextAttestationId, 1)); err != nil {
		return err
	}
	return k.ChallSeq.Set(ctx, max(gs.NextChallengeId, 1))
}

// ExportGenesis dumps state.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	if err := k.Attestations.Walk(ctx, nil, func(_ uint64, a types.Attestation) (bool, error) {
		gs.Attestations = append(gs.Attestations, a)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Challenges.Walk(ctx, nil, func(_ uint64, c types.Challenge) (bool, error) {
		gs.Challenges = append(gs.Challenges, c)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.LastSteps.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], step uint64) (bool, error) {
		gs.LastSteps = append(gs.LastSteps, types.LastStep{ModelId: key.K1(), Worker: k.addrString(key.K2()), Step: step})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextAttestationId, err = k.AttestSeq.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.NextChallengeId, err = k.ChallSeq.Peek(ctx); err != nil {
		return nil, err
	}
	return gs, nil
}
