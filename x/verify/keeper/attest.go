package keeper

import (
	"bytes"
	"context"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/tile"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// SubmitAttestation records msg's work for spot checks and returns its id. Every refusal names
// what to fix; nothing is stored unless all checks pass.
func (k *Keeper) SubmitAttestation(ctx context.Context, msg *types.MsgSubmitAttestation) (uint64, error) {
	worker, err := k.parseAddr("worker", msg.Worker)
	if err != nil {
		return 0, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return 0, err
	}
	m, err := k.mk.GetModel(ctx, msg.ModelId)
	if err != nil {
		return 0, err
	}
	switch m.Status {
	case modelstypes.MODEL_STATUS_TRAINING:
	case modelstypes.MODEL_STATUS_PAUSED:
		return 0, errorsmod.Wrapf(types.ErrModelPaused, "model %d is paused by its holders; attest again once they resume it", m.Id)
	default:
		return 0, errorsmod.Wrapf(types.ErrModelNotTraining, "model %d is %s", m.Id, m.Status)
	}
	if int(msg.Stage) >= len(m.Stages) {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "stage %d: model %d has %d stages", msg.Stage, m.Id, len(m.Stages))
	}
	held, seated, err := k.mk.StageOf(ctx, m.Id, worker)
	if err != nil {
		return 0, err
	}
	if !seated {
		return 0, errorsmod.Wrapf(types.ErrNotSeated, "%s holds no stage of model %d", msg.Worker, m.Id)
	}
	if held != msg.Stage {
		return 0, errorsmod.Wrapf(types.ErrNotSeated, "%s holds stage %d of model %d, not stage %d", msg.Worker, held, m.Id, msg.Stage)
	}
	if active, err := k.ck.IsActive(ctx, worker); err != nil {
		return 0, err
	} else if !active {
		return 0, errorsmod.Wrapf(types.ErrWorkerInactive, "%s is jailed, unbonded or under-staked", msg.Worker)
	}

	if msg.StepTo < msg.StepFrom {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "step_to %d is below step_from %d", msg.StepTo, msg.StepFrom)
	}
	steps := msg.StepTo - msg.StepFrom + 1
	if steps > p.AttestationPeriod || steps == 0 { // steps == 0 only on overflow of the full range
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "steps %d..%d: at most attestation_period = %d steps per attestation",
			msg.StepFrom, msg.StepTo, p.AttestationPeriod)
	}
	maxUnits := steps * uint64(m.Stages[msg.Stage].Layers)
	if msg.WorkUnits == 0 || msg.WorkUnits > maxUnits {
		return 0, errorsmod.Wrapf(types.ErrTooMuchWork, "%d work units for %d steps of stage %d (%d layers): must be in [1, %d], one unit per layer per step",
			msg.WorkUnits, steps, msg.Stage, m.Stages[msg.Stage].Layers, maxUnits)
	}
	if len(msg.StateRoot) != 32 {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "state_root is %d bytes; want the 32-byte root of the stage's state before step %d (trainer checkpoint.StateRoot)", len(msg.StateRoot), msg.StepFrom)
	}
	if bytes.Equal(msg.StateRoot, make([]byte, 32)) || bytes.Equal(msg.LogHead, make([]byte, 32)) {
		return 0, errorsmod.Wrap(types.ErrInvalidAttestation, "state_root and log_head must not be all zero: a root and a head are SHA-256 digests, and a referee takes zero for no claim")
	}
	if len(msg.LogHead) != 32 {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "log_head is %d bytes; want the 32-byte head of the worker's replay log where state_root was taken (trainer/replaylog Log.Head)", len(msg.LogHead))
	}
	if len(msg.EndStateRoot) != 32 || len(msg.EndLogHead) != 32 {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "end_state_root is %d bytes and end_log_head %d; want the 32-byte root and head after the last update of step %d", len(msg.EndStateRoot), len(msg.EndLogHead), msg.StepTo)
	}
	if bytes.Equal(msg.EndStateRoot, make([]byte, 32)) || bytes.Equal(msg.EndLogHead, make([]byte, 32)) {
		return 0, errorsmod.Wrap(types.ErrInvalidAttestation, "end_state_root and end_log_head must not be all zero")
	}
	if bytes.Equal(msg.EndStateRoot, msg.StateRoot) {
		return 0, errorsmod.Wrapf(types.ErrStateNotMoved, "end_state_root is state_root: steps %d..%d trained nothing", msg.StepFrom, msg.StepTo)
	}
	if uint64(len(msg.Commitments)) != steps {
		return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "%d commitments for %d steps: one per step", len(msg.Commitments), steps)
	}
	for i, c := range msg.Commitments {
		if c.Step != msg.StepFrom+uint64(i) {
			return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "commitments[%d] is for step %d, want %d (in order, one per step)", i, c.Step, msg.StepFrom+uint64(i))
		}
		if err := c.Validate(); err != nil {
			return 0, errorsmod.Wrapf(types.ErrInvalidAttestation, "commitments[%d]: %v", i, err)
		}
	}
	if err := checkSends(m, msg, steps); err != nil {
		return 0, err
	}
	tiles := types.Tiles{
		DModel: m.Arch.DModel, Rank: m.Arch.CompressionRank, Vocab: m.Arch.Vocab,
		Stage: msg.Stage, Rows: msg.TileRows, Width: msg.TileWidth,
	}
	shapes, err := tiles.Shapes()
	if err != nil {
		return 0, errorsmod.Wrap(types.ErrInvalidAttestation, err.Error())
	}
	for _, s := range shapes {
		if _, err := k.verifyingKey(p, s.String()); err != nil {
			return 0, err
		}
	}

	peerID, err := k.ck.PeerID(ctx, worker) // what signed the receipts its sends answer for
	if err != nil {
		return 0, err
	}
	// The clock first: a retry of an accepted attestation is ErrOverlappingSteps (which a trainer
	// recognizes as its own), not a reuse of its roots.
	clock, err := k.checkClock(ctx, p, m, worker, peerID, msg)
	if err != nil {
		return 0, err
	}
	inputs, draws, err := k.checkInputs(ctx, p, m, worker, msg, drawCount{Draws: clock.clock.Draws, Next: clock.clock.NextDraw})
	if err != nil {
		return 0, err
	}
	clock.clock.Draws, clock.clock.NextDraw = draws.Draws, draws.Next
	clashes, err := k.rootsInUse(ctx, msg)
	if err != nil {
		return 0, err
	}

	id, err := k.AttestSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	// The canonical address (bech32 may arrive upper-case): the worker's records, step tags and
	// verdicts all compare this string.
	workerStr := k.addrString(worker)
	a := types.Attestation{
		Id: id, Worker: workerStr, ModelId: m.Id, Stage: msg.Stage, StepFrom: msg.StepFrom, StepTo: msg.StepTo,
		WorkUnits: msg.WorkUnits, TileRows: msg.TileRows, TileWidth: msg.TileWidth, Commitments: storedCommitments(msg.Commitments),
		Status: types.ATTESTATION_STATUS_PENDING, SubmittedHeight: h, ChainId: sdkCtx.ChainID(),
		DrawHeight: h + 1, FinalizeHeight: h + p.ChallengeWindow, InputDigests: inputs.digests, InputMicrobatches: inputs.microbatches, StateRoot: msg.StateRoot, LogHead: msg.LogHead,
		EndStateRoot: msg.EndStateRoot, EndLogHead: msg.EndLogHead, Sends: msg.Sends, PeerId: peerID,
		Draws: clock.clock.Draws, NextDraw: clock.clock.NextDraw, FirstOnStage: clock.firstOnStage,
		LogGap: clock.gap, PrevSeq: clock.prevSeq,
	}
	if err := k.storeNewAttestation(ctx, worker, a); err != nil {
		return 0, err
	}
	if err := k.commitClock(ctx, p, msg, clock); err != nil {
		return 0, err
	}
	if err := k.challengeClashes(ctx, p, a, clashes); err != nil {
		return 0, err
	}
	k.logger.Info("attestation submitted", "id", id, "worker", msg.Worker, "model_id", m.Id, "stage", msg.Stage,
		"steps", []uint64{msg.StepFrom, msg.StepTo}, "work_units", msg.WorkUnits, "log_gap", a.LogGap)
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAttestationSubmitted{
		AttestationId: id, Worker: workerStr, ModelId: m.Id, Stage: msg.Stage, StepFrom: msg.StepFrom, StepTo: msg.StepTo,
		WorkUnits: msg.WorkUnits, FinalizeHeight: a.FinalizeHeight,
	})
}

// storedCommitments are the step commitments as the attestation keeps them: without
// other_inputs and grad_inputs, which are checked once, at submission, and live on as
// InputDigests (the designated input stays: an input challenge opens its payload).
func storedCommitments(cs []types.StepCommitment) []types.StepCommitment {
	out := make([]types.StepCommitment, len(cs))
	for i, c := range cs {
		c.OtherInputs, c.GradInputs = nil, nil
		out[i] = c
	}
	return out
}

// rootClash is a root of a new attestation that a pending attestation already holds.
type rootClash struct {
	step     uint64            // the step of the new attestation carrying it
	field    string            // and the root's field there
	tensor   tile.Tensor       // (that field's tensor)
	holder   types.Attestation // the pending attestation holding it
	atStep   uint64            // at this step
	atField  string            // in this field
	atTensor tile.Tensor
}

// rootsInUse refuses an attestation that carries one root twice (its own roots, so nobody else
// loses by the refusal), and returns the roots it shares with pending attestations. Roots are
// bound to one (chain, model, stage, worker, step, tensor), so of two holders of one root at most
// one can answer for it: the caller challenges both at once (challengeClashes), which costs an
// honest original one proof and a copier its stake, whichever landed first. Refusing the later
// one instead would let a copier that saw an honest attestation in the mempool get it refused.
// (Roots of final attestations leave the index; copying those is still unanswerable, so any
// challenge catches it.)
func (k *Keeper) rootsInUse(ctx context.Context, msg *types.MsgSubmitAttestation) ([]rootClash, error) {
	seen := make(map[string]string, 6*len(msg.Commitments))
	var clashes []rootClash
	for i, c := range msg.Commitments {
		for _, r := range c.Roots() {
			where := fmt.Sprintf("commitments[%d].%s", i, r.Name)
			if prev, dup := seen[string(r.Root)]; dup {
				return nil, errorsmod.Wrapf(types.ErrRootReused, "%s repeats %s: every root is bound to one step and tensor", where, prev)
			}
			seen[string(r.Root)] = where
			id, err := k.RootsInUse.Get(ctx, r.Root)
			switch {
			case isNotFound(err):
				continue
			case err != nil:
				return nil, err
			}
			holder, err := k.Attestations.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			cl := rootClash{step: c.Step, field: r.Name, tensor: r.Tensor, holder: holder}
			for _, hc := range holder.Commitments {
				for _, hr := range hc.Roots() {
					if string(hr.Root) == string(r.Root) {
						cl.atStep, cl.atField, cl.atTensor = hc.Step, hr.Name, hr.Tensor
					}
				}
			}
			clashes = append(clashes, cl)
		}
	}
	return clashes, nil
}

// kindOpening is a challenge kind whose tile opens tensor t: input for stage 0's embedding
// (the embed tile opens it), forward for the forward tile's tensors (tile.Forward.Tensors),
// backward for the others. A kind whose tile does not open t would let a holder of a copied
// root answer from its other roots.
func kindOpening(t tile.Tensor) types.ChallengeKind {
	if t == tile.TensorE {
		return types.CHALLENGE_KIND_INPUT
	}
	if in, w, out := tile.Forward.Tensors(); t == in || t == w || t == out {
		return types.CHALLENGE_KIND_FORWARD
	}
	return types.CHALLENGE_KIND_BACKWARD
}

// challengeClashes opens a chain challenge (no challenger, no bond) of the new attestation a at
// each step carrying a shared root, and of each holder at the step where it holds it, on a tile
// that opens that root: the holder that cannot open it under its own step tag fails.
func (k *Keeper) challengeClashes(ctx context.Context, p types.Params, a types.Attestation, clashes []rootClash) error {
	type at struct {
		att  uint64
		step uint64
		kind types.ChallengeKind
	}
	opened := map[at]bool{}
	bond := sdk.NewCoin(p.ChallengeBond.Denom, sdkmath.ZeroInt())
	for _, cl := range clashes {
		for _, t := range []struct {
			a      types.Attestation
			step   uint64
			tensor tile.Tensor
		}{{a, cl.step, cl.tensor}, {cl.holder, cl.atStep, cl.atTensor}} {
			key := at{t.a.Id, t.step, kindOpening(t.tensor)}
			if opened[key] {
				continue
			}
			opened[key] = true
			if _, err := k.openChallenge(ctx, p, t.a, nil, bond, position{kind: key.kind, step: t.step}); err != nil {
				return err
			}
		}
		k.logger.Info("root held twice: both holders challenged", "attestation", a.Id, "step", cl.step, "field", cl.field,
			"holder", cl.holder.Id, "holder_step", cl.atStep, "holder_field", cl.atField)
	}
	return nil
}

// indexRoots adds a pending attestation's roots to RootsInUse (a root already held stays with its
// first holder) or, with remove, drops those it holds.
func (k *Keeper) indexRoots(ctx context.Context, a types.Attestation, remove bool) error {
	for _, c := range a.Commitments {
		for _, r := range c.Roots() {
			id, err := k.RootsInUse.Get(ctx, r.Root)
			switch {
			case err == nil && id != a.Id:
				continue // another attestation's
			case err == nil && remove:
				err = k.RootsInUse.Remove(ctx, r.Root)
			case isNotFound(err) && !remove:
				err = k.RootsInUse.Set(ctx, r.Root, a.Id)
			case isNotFound(err):
				err = nil
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// storeNewAttestation writes a and its indexes (also used by InitGenesis).
func (k *Keeper) storeNewAttestation(ctx context.Context, worker sdk.AccAddress, a types.Attestation) error {
	if err := k.Attestations.Set(ctx, a.Id, a); err != nil {
		return err
	}
	if err := k.ByModel.Set(ctx, collections.Join(a.ModelId, a.Id)); err != nil {
		return err
	}
	if err := k.ByWorker.Set(ctx, collections.Join(worker, a.Id)); err != nil {
		return err
	}
	for _, d := range a.InputDigests {
		if err := k.InputsUsed.Set(ctx, collections.Join(a.ModelId, types.InputKey(a.Worker, d))); err != nil {
			return err
		}
	}
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return nil
	}
	if err := k.PendingByWorker.Set(ctx, collections.Join3(worker, a.ModelId, a.Id)); err != nil {
		return err
	}
	if err := k.indexRoots(ctx, a, false); err != nil {
		return err
	}
	if a.DrawHeight > 0 {
		if err := k.ToDraw.Set(ctx, collections.Join(a.DrawHeight, a.Id)); err != nil {
			return err
		}
	}
	return k.ToFinalize.Set(ctx, collections.Join(a.FinalizeHeight, a.Id))
}
