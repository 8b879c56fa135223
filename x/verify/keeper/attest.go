package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

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
	if m.Status != modelstypes.MODEL_STATUS_TRAINING {
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
	shapes, err := types.TileShapes(m.Arch.DModel, msg.TileRows, msg.TileWidth)
	if err != nil {
		return 0, errorsmod.Wrap(types.ErrInvalidAttestation, err.Error())
	}
	for _, s := range shapes {
		if _, err := k.verifyingKey(p, s.String()); err != nil {
			return 0, err
		}
	}

	// The clock first: a retry of an accepted attestation is ErrOverlappingSteps (which a trainer
	// recognizes as its own), not a reuse of its roots.
	clock, err := k.checkClock(ctx, p, m, worker, msg)
	if err != nil {
		return 0, err
	}
	if err := k.checkRootsUnused(ctx, msg); err != nil {
		return 0, err
	}

	id, err := k.AttestSeq.Next(ctx)
	if err != nil {
		return 0, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	a := types.Attestation{
		Id: id, Worker: msg.Worker, ModelId: m.Id, Stage: msg.Stage, StepFrom: msg.StepFrom, StepTo: msg.StepTo,
		WorkUnits: msg.WorkUnits, TileRows: msg.TileRows, TileWidth: msg.TileWidth, Commitments: msg.Commitments,
		Status: types.ATTESTATION_STATUS_PENDING, SubmittedHeight: h,
		DrawHeight: h + 1, FinalizeHeight: h + p.ChallengeWindow,
	}
	if err := k.storeNewAttestation(ctx, worker, a); err != nil {
		return 0, err
	}
	if err := k.commitClock(ctx, p, msg, clock); err != nil {
		return 0, err
	}
	k.logger.Info("attestation submitted", "id", id, "worker", msg.Worker, "model_id", m.Id, "stage", msg.Stage,
		"steps", []uint64{msg.StepFrom, msg.StepTo}, "work_units", msg.WorkUnits)
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAttestationSubmitted{
		AttestationId: id, Worker: msg.Worker, ModelId: m.Id, Stage: msg.Stage, StepFrom: msg.StepFrom, StepTo: msg.StepTo,
		WorkUnits: msg.WorkUnits, FinalizeHeight: a.FinalizeHeight,
	})
}

// checkRootsUnused refuses an attestation that carries one root twice, or a root of a pending
// attestation. Roots are bound to one (chain, model, stage, worker, step, tensor), so a repeated
// root is another worker's copied or this worker's reused: no proof can answer for it. Refusing it
// here costs the copier its fee at once instead of waiting for a spot check. (Roots of final
// attestations are dropped from the index; copying those is still unanswerable, so any challenge
// catches it.)
func (k *Keeper) checkRootsUnused(ctx context.Context, msg *types.MsgSubmitAttestation) error {
	seen := make(map[string]string, 6*len(msg.Commitments))
	for i, c := range msg.Commitments {
		for _, r := range c.Roots() {
			where := fmt.Sprintf("commitments[%d].%s", i, r.Name)
			if prev, dup := seen[string(r.Root)]; dup {
				return errorsmod.Wrapf(types.ErrRootReused, "%s repeats %s: every root is bound to one step and tensor", where, prev)
			}
			seen[string(r.Root)] = where
			id, err := k.RootsInUse.Get(ctx, r.Root)
			switch {
			case err == nil:
				return errorsmod.Wrapf(types.ErrRootReused, "%s is a root of pending attestation %d: roots cannot be copied or reused", where, id)
			case !isNotFound(err):
				return err
			}
		}
	}
	return nil
}

// indexRoots adds (or, with remove, drops) a pending attestation's roots in RootsInUse.
func (k *Keeper) indexRoots(ctx context.Context, a types.Attestation, remove bool) error {
	for _, c := range a.Commitments {
		for _, r := range c.Roots() {
			var err error
			if remove {
				err = k.RootsInUse.Remove(ctx, r.Root)
			} else {
				err = k.RootsInUse.Set(ctx, r.Root, a.Id)
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
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return nil
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
