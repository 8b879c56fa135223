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
		c := types.WorkerClock{
			LastStep: l.Step, Allowance: l.Allowance, Height: l.AllowanceHeight, Stage: l.Stage,
			StateRoot: l.StateRoot, Draws: l.Draws, NextDraw: l.NextDraw, EndLogHead: l.EndLogHead, PeerId: l.PeerId, LastSeq: l.LastSeq, Unsent: l.Unsent,
		}
		if err := k.LastSteps.Set(ctx, collections.Join(l.ModelId, worker), c); err != nil {
			return err
		}
	}
	for _, s := range gs.StageSteps {
		if err := k.StageSteps.Set(ctx, collections.Join3(s.ModelId, s.Stage, s.Height), s.Steps); err != nil {
			return err
		}
	}
	for _, d := range gs.Disputes {
		if err := k.storeDispute(ctx, d); err != nil {
			return fmt.Errorf("dispute %d: %w", d.Id, err)
		}
	}
	for _, r := range gs.LogRequests {
		if err := k.storeLogRequest(ctx, r); err != nil {
			return fmt.Errorf("log request %d: %w", r.Id, err)
		}
	}
	if err := k.LogRequestSeq.Set(ctx, max(gs.NextLogRequestId, 1)); err != nil {
		return err
	}
	if err := k.AttestSeq.Set(ctx, max(gs.NextAttestationId, 1)); err != nil {
		return err
	}
	if err := k.DisputeSeq.Set(ctx, max(gs.NextDisputeId, 1)); err != nil {
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
	if err := k.LastSteps.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], c types.WorkerClock) (bool, error) {
		gs.LastSteps = append(gs.LastSteps, types.LastStep{
			ModelId: key.K1(), Worker: k.addrString(key.K2()), Step: c.LastStep, Allowance: c.Allowance, AllowanceHeight: c.Height, Stage: c.Stage,
			StateRoot: c.StateRoot, Draws: c.Draws, NextDraw: c.NextDraw, EndLogHead: c.EndLogHead, PeerId: c.PeerId, LastSeq: c.LastSeq, Unsent: c.Unsent,
		})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.StageSteps.Walk(ctx, nil, func(key collections.Triple[uint64, uint32, int64], n uint64) (bool, error) {
		gs.StageSteps = append(gs.StageSteps, types.StageSteps{ModelId: key.K1(), Stage: key.K2(), Height: key.K3(), Steps: n})
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
	if err := k.Disputes.Walk(ctx, nil, func(_ uint64, d types.Dispute) (bool, error) {
		gs.Disputes = append(gs.Disputes, d)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextDisputeId, err = k.DisputeSeq.Peek(ctx); err != nil {
		return nil, err
	}
	if err := k.LogRequests.Walk(ctx, nil, func(_ uint64, r types.LogRequest) (bool, error) {
		gs.LogRequests = append(gs.LogRequests, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextLogRequestId, err = k.LogRequestSeq.Peek(ctx); err != nil {
		return nil, err
	}
	return gs, nil
}

// RebaseHeights moves every scheduled height (spot-check draws, finalizations, response
// deadlines) by -by, for a chain restarting at height zero: each keeps the number of blocks it
// had left. Heights of past events are history and stay as they were.
func (k *Keeper) RebaseHeights(ctx context.Context, by int64) error {
	for _, q := range []collections.KeySet[collections.Pair[int64, uint64]]{k.ToDraw, k.ToFinalize, k.Deadlines, k.DisputeDeadlines, k.LogDeadlines} {
		keys, err := keysOf(ctx, q, nil)
		if err != nil {
			return err
		}
		for _, key := range keys {
			if err := q.Remove(ctx, key); err != nil {
				return err
			}
		}
		for _, key := range keys {
			if err := q.Set(ctx, collections.Join(key.K1()-by, key.K2())); err != nil {
				return err
			}
		}
	}
	rebase := func(h int64) int64 {
		if h == 0 {
			return 0
		}
		return h - by
	}
	var atts []types.Attestation
	if err := k.Attestations.Walk(ctx, nil, func(_ uint64, a types.Attestation) (bool, error) {
		if a.Status == types.ATTESTATION_STATUS_PENDING {
			a.DrawHeight, a.FinalizeHeight = rebase(a.DrawHeight), a.FinalizeHeight-by
			atts = append(atts, a)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, a := range atts {
		if err := k.Attestations.Set(ctx, a.Id, a); err != nil {
			return err
		}
	}
	var open []types.Challenge
	if err := k.Challenges.Walk(ctx, nil, func(_ uint64, c types.Challenge) (bool, error) {
		if c.Status == types.CHALLENGE_STATUS_OPEN {
			c.DeadlineHeight -= by
			open = append(open, c)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, c := range open {
		if err := k.Challenges.Set(ctx, c.Id, c); err != nil {
			return err
		}
	}
	// Open disputes and log requests keep their deadlines' place (their queues moved above), and
	// their openings, which are compared with the (rebased) finalize heights of the attestations
	// they hold, seats' joining heights (x/models RebaseHeights) and the clocks' heights.
	var disputes []types.Dispute
	if err := k.Disputes.Walk(ctx, nil, func(_ uint64, d types.Dispute) (bool, error) {
		if d.Open() {
			d.DeadlineHeight, d.OpenedHeight = d.DeadlineHeight-by, d.OpenedHeight-by
			disputes = append(disputes, d)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, d := range disputes {
		if err := k.Disputes.Set(ctx, d.Id, d); err != nil {
			return err
		}
	}
	var requests []types.LogRequest
	if err := k.LogRequests.Walk(ctx, nil, func(_ uint64, r types.LogRequest) (bool, error) {
		if r.Open() {
			r.DeadlineHeight, r.OpenedHeight = r.DeadlineHeight-by, r.OpenedHeight-by
			requests = append(requests, r)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, r := range requests {
		if err := k.LogRequests.Set(ctx, r.Id, r); err != nil {
			return err
		}
	}
	return k.rebaseClocks(ctx, by)
}

// rebaseClocks moves the clocks' heights by -by: allowances keep the blocks since they were set,
// and the stage records keep their place in the window (heights may become negative).
func (k *Keeper) rebaseClocks(ctx context.Context, by int64) error {
	type clock struct {
		key collections.Pair[uint64, sdk.AccAddress]
		c   types.WorkerClock
	}
	var clocks []clock
	if err := k.LastSteps.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], c types.WorkerClock) (bool, error) {
		c.Height -= by
		clocks = append(clocks, clock{key, c})
		return false, nil
	}); err != nil {
		return err
	}
	for _, c := range clocks {
		if err := k.LastSteps.Set(ctx, c.key, c.c); err != nil {
			return err
		}
	}
	it, err := k.StageSteps.Iterate(ctx, nil)
	if err != nil {
		return err
	}
	kvs, err := it.KeyValues()
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if err := k.StageSteps.Remove(ctx, kv.Key); err != nil {
			return err
		}
	}
	for _, kv := range kvs {
		if err := k.StageSteps.Set(ctx, collections.Join3(kv.Key.K1(), kv.Key.K2(), kv.Key.K3()-by), kv.Value); err != nil {
			return err
		}
	}
	return nil
}
