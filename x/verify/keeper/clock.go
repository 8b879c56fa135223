package keeper

import (
	"bytes"
	"context"
	"math"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// The model clock (x/verify/README.md, "The model clock") relates a worker's step numbers to how
// far the model can really have trained:
//
//   - contiguity: a worker's ranges on a model follow each other exactly (its first starts at
//     step 1, each next one at last_step + 1), so a step number counts the worker's attested
//     steps and a worker cannot skip ahead;
//   - pace: each worker has an allowance of steps that grows by max_steps_per_block every block
//     up to step_burst; an attestation spends one per step, so no worker attests faster than a
//     pipeline can step, however many attestations it files in one block;
//   - stage lead: over the last clock_window blocks, a stage (all its replicas together) may
//     attest at most max_stage_lead steps more than each neighbouring stage. Every microbatch
//     passes through one replica of every stage, so honest stages attest alike; a stage that
//     claims work its neighbours did not see is refused.
//
// The pace and lead refusals pass with time (ErrTooFast, ErrStageAhead: types.IsClockWait), and
// the trainer retries them; a slow stage slows its neighbours' pipeline as much, so it is not
// left behind by more than the pipeline depth plus one attestation.

// clockCheck is an accepted attestation's new clock state, written by commit.
type clockCheck struct {
	key   collections.Pair[uint64, sdk.AccAddress]
	clock types.WorkerClock
	// firstOnStage: the worker has no attestation on the model yet, or its last was on another
	// stage.
	firstOnStage bool
	// gap: not first on the stage, and not starting where the worker's last attestation on the
	// model ended in its log under the same identity (types.Attestation.LogGap).
	gap bool
	// prevSeq is types.Attestation.PrevSeq.
	prevSeq uint64
}

// checkClock applies the clock's three rules to msg (already checked for shape and seat) and
// returns what to store if the attestation is accepted.
func (k *Keeper) checkClock(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, peerID string, msg *types.MsgSubmitAttestation) (clockCheck, error) {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	steps := msg.StepTo - msg.StepFrom + 1
	key := collections.Join(m.Id, worker)
	c, err := k.LastSteps.Get(ctx, key)
	first := isNotFound(err)
	if err != nil && !first {
		return clockCheck{}, err
	}
	next := c.LastStep + 1
	if first {
		next = 1
	}
	switch {
	case msg.StepFrom < next && !first:
		return clockCheck{}, errorsmod.Wrapf(types.ErrOverlappingSteps, "%s attested model %d up to step %d; the next attestation starts at step %d, got %d",
			msg.Worker, m.Id, c.LastStep, next, msg.StepFrom)
	case msg.StepFrom != next:
		return clockCheck{}, errorsmod.Wrapf(types.ErrStepsNotContiguous, "the next attestation of %s on model %d starts at step %d, got %d: a worker's step numbers count its attested steps, with no gaps",
			msg.Worker, m.Id, next, msg.StepFrom)
	}

	if !first && bytes.Equal(c.StateRoot, msg.StateRoot) {
		return clockCheck{}, errorsmod.Wrapf(types.ErrStateNotMoved, "state_root %x is the one %s's previous attestation on model %d started from: steps trained since would have moved it (the optimizer's state at least)",
			msg.StateRoot, msg.Worker, m.Id)
	}
	allowance := p.StepBurst
	if !first {
		allowance = refill(c.Allowance, c.Height, h, p.MaxStepsPerBlock, p.StepBurst)
	}
	if steps > allowance {
		wait := (steps - allowance + p.MaxStepsPerBlock - 1) / p.MaxStepsPerBlock
		return clockCheck{}, errorsmod.Wrapf(types.ErrTooFast, "%s may attest %d more steps on model %d now (max_steps_per_block %d, step_burst %d), not %d: retry in %d blocks",
			msg.Worker, allowance, m.Id, p.MaxStepsPerBlock, p.StepBurst, steps, wait)
	}

	own, err := k.stageSteps(ctx, p, m.Id, msg.Stage, h)
	if err != nil {
		return clockCheck{}, err
	}
	for _, n := range []int64{int64(msg.Stage) - 1, int64(msg.Stage) + 1} {
		if n < 0 || n >= int64(len(m.Stages)) {
			continue
		}
		theirs, err := k.stageSteps(ctx, p, m.Id, uint32(n), h)
		if err != nil {
			return clockCheck{}, err
		}
		if own+steps > theirs+p.MaxStageLead {
			return clockCheck{}, errorsmod.Wrapf(types.ErrStageAhead, "stage %d of model %d attested %d steps in the last %d blocks and stage %d %d: %d more would put it more than max_stage_lead = %d ahead; retry once stage %d has attested",
				msg.Stage, m.Id, own, p.ClockWindow, n, theirs, steps, p.MaxStageLead, n)
		}
	}
	// Whether it follows the worker's last attestation in its log, as the same identity. A clock
	// written before the chain kept the head (none) is taken as followed: nobody loses a step
	// to an upgrade.
	firstOnStage := first || c.Stage != msg.Stage
	known := len(c.EndLogHead) != 0
	gap := !firstOnStage && known && (c.PeerId != peerID || !bytes.Equal(c.EndLogHead, msg.LogHead))
	var prevSeq uint64
	if !firstOnStage && !gap {
		prevSeq = c.LastSeq
	}
	if prevSeq > 0 && len(msg.Sends) > 0 && msg.Sends[0].Seq <= prevSeq {
		return clockCheck{}, errorsmod.Wrapf(types.ErrInvalidSends, "sends[0] is number %d, not above %d, the last send of the attestation this one follows in the log: a worker's send numbers only grow",
			msg.Sends[0].Seq, prevSeq)
	}
	lastSeq := prevSeq
	if len(msg.Sends) > 0 {
		lastSeq = msg.Sends[len(msg.Sends)-1].Seq
	}
	// Stage 0's updates record the activations they originated: over ranges that follow each
	// other, at most pipeline_depth more updates than sends (those in flight when the first
	// began). Range by range checkSends holds each alone to it; this holds them together, so
	// short ranges naming no sends cannot follow each other for ever (an attacker's review).
	var unsent uint64
	if msg.Stage == 0 && len(m.Stages) > 1 {
		if !firstOnStage && !gap {
			unsent = c.Unsent
		}
		unsent += steps * uint64(m.Microbatches())
		unsent -= min(unsent, uint64(len(msg.Sends)))
		if depth := pipelineDepth(m); unsent > depth {
			return clockCheck{}, errorsmod.Wrapf(types.ErrInvalidSends, "stage 0's attestations since its last log gap would name %d fewer sends than updates, more than the pipeline_depth = %d in flight: each update records the activations it originated (the log's logevent.Update.Signed)",
				unsent, depth)
		}
	}
	return clockCheck{
		key: key,
		clock: types.WorkerClock{
			LastStep: msg.StepTo, Allowance: allowance - steps, Height: h, Stage: msg.Stage, StateRoot: msg.StateRoot, Draws: c.Draws, NextDraw: c.NextDraw,
			EndLogHead: msg.EndLogHead, PeerId: peerID, LastSeq: lastSeq, Unsent: unsent,
		},
		firstOnStage: firstOnStage,
		gap:          gap,
		prevSeq:      prevSeq,
	}, nil
}

// refill is an allowance last set at height from, grown by rate a block up to limit at height to.
func refill(allowance uint64, from, to int64, rate, limit uint64) uint64 {
	if to <= from || allowance >= limit {
		return min(allowance, limit)
	}
	blocks := uint64(to - from)
	if rate != 0 && blocks > (limit-allowance)/rate {
		return limit
	}
	return allowance + blocks*rate
}

// commitClock stores an accepted attestation's clock and counts its steps for its stage at this
// height, dropping the stage's records older than clock_window.
func (k *Keeper) commitClock(ctx context.Context, p types.Params, msg *types.MsgSubmitAttestation, cc clockCheck) error {
	if err := k.LastSteps.Set(ctx, cc.key, cc.clock); err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	key := collections.Join3(msg.ModelId, msg.Stage, h)
	n, err := k.StageSteps.Get(ctx, key)
	if err != nil && !isNotFound(err) {
		return err
	}
	if err := k.StageSteps.Set(ctx, key, n+msg.StepTo-msg.StepFrom+1); err != nil {
		return err
	}
	it, err := k.StageSteps.Iterate(ctx, new(collections.Range[collections.Triple[uint64, uint32, int64]]).
		StartInclusive(collections.Join3(msg.ModelId, msg.Stage, int64(math.MinInt64))).
		EndExclusive(collections.Join3(msg.ModelId, msg.Stage, windowStart(p, h))))
	if err != nil {
		return err
	}
	old, err := it.Keys() // closes it
	if err != nil {
		return err
	}
	for _, o := range old {
		if err := k.StageSteps.Remove(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// windowStart is the first height of the clock window ending at h (negative heights occur after
// a zero-height restart: RebaseHeights).
func windowStart(p types.Params, h int64) int64 { return h - p.ClockWindow + 1 }

// stageSteps sums the steps stage attested on model in the clock window ending at h.
func (k *Keeper) stageSteps(ctx context.Context, p types.Params, model uint64, stage uint32, h int64) (uint64, error) {
	it, err := k.StageSteps.Iterate(ctx, new(collections.Range[collections.Triple[uint64, uint32, int64]]).
		StartInclusive(collections.Join3(model, stage, windowStart(p, h))).
		EndInclusive(collections.Join3(model, stage, h)))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var sum uint64
	for ; it.Valid(); it.Next() {
		n, err := it.Value()
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
