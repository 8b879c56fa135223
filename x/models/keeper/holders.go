package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/models/types"
)

// The actions a model's holders may take on it (x/modelgov executes them once a proposal
// passes). The keeper checks only that the action fits the model's status and spec; who may take
// it is x/modelgov's rule.

// Pause stops a TRAINING or COMPLETED model: it takes no seats, attestations, checkpoints or
// inference settlements until Resume. Seats are kept, so the same workers resume.
func (k *Keeper) Pause(ctx context.Context, modelID uint64, reason string) error {
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	if m.Status != types.MODEL_STATUS_TRAINING && m.Status != types.MODEL_STATUS_COMPLETED {
		return errorsmod.Wrapf(types.ErrInvalidTransition, "model %d is %s; only a training or completed model can be paused", modelID, m.Status)
	}
	m.PausedFrom = m.Status
	if err := k.setStatusFor(ctx, &m, types.MODEL_STATUS_PAUSED, reason); err != nil {
		return err
	}
	k.logger.Info("model paused", "model_id", modelID, "reason", reason)
	return k.Models.Set(ctx, modelID, m)
}

// Resume returns a PAUSED model to the status it was paused from.
func (k *Keeper) Resume(ctx context.Context, modelID uint64, reason string) error {
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	if m.Status != types.MODEL_STATUS_PAUSED {
		return errorsmod.Wrapf(types.ErrInvalidTransition, "model %d is %s; only a paused model can be resumed", modelID, m.Status)
	}
	to := m.PausedFrom
	m.PausedFrom = types.MODEL_STATUS_UNSPECIFIED
	if err := k.setStatusFor(ctx, &m, to, reason); err != nil {
		return err
	}
	k.logger.Info("model resumed", "model_id", modelID, "status", to, "reason", reason)
	return k.Models.Set(ctx, modelID, m)
}

// Halt ends a TRAINING, COMPLETED or PAUSED model for good: every seat is released (its
// trainers see EventSeatDropped and EventModelStatusChanged and delete their weights) and the
// model never trains or serves again.
func (k *Keeper) Halt(ctx context.Context, modelID uint64, reason string) error {
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	switch m.Status {
	case types.MODEL_STATUS_TRAINING, types.MODEL_STATUS_COMPLETED, types.MODEL_STATUS_PAUSED:
	default:
		return errorsmod.Wrapf(types.ErrInvalidTransition, "model %d is %s; only a training, completed or paused model can be halted", modelID, m.Status)
	}
	if err := k.dropModelSeats(ctx, modelID, "model halted: delete its weights"); err != nil {
		return err
	}
	m.PausedFrom = types.MODEL_STATUS_UNSPECIFIED
	if m.EndedHeight == 0 { // a completed model keeps its completion height
		m.EndedHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	}
	if err := k.setStatusFor(ctx, &m, types.MODEL_STATUS_HALTED, reason); err != nil {
		return err
	}
	k.logger.Info("model halted", "model_id", modelID, "reason", reason)
	return k.Models.Set(ctx, modelID, m)
}

// CheckEconomics reports why e could not be set on model modelID now, under the same bounds as a
// new model's (x/models params, x/compute's stake floor), or nil.
func (k *Keeper) CheckEconomics(ctx context.Context, modelID uint64, e types.Economics) (types.Model, error) {
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return m, err
	}
	switch m.Status {
	case types.MODEL_STATUS_CANCELLED, types.MODEL_STATUS_HALTED:
		return m, errorsmod.Wrapf(types.ErrInvalidTransition, "model %d is %s; its economics no longer matter", modelID, m.Status)
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return m, err
	}
	m.DesignerBps, m.MaxReplicasPerStage, m.MinStake = e.DesignerBps, e.MaxReplicasPerStage, e.MinStake
	if err := m.ValidateSpec(p); err != nil {
		return m, err
	}
	if err := k.checkMinStake(ctx, m.MinStake); err != nil {
		return m, err
	}
	if err := k.checkForkFloor(ctx, m); err != nil {
		return m, err
	}
	// No stage may hold more replicas than its model allows, ever: a lower bound waits for
	// replicas to leave.
	for s := uint32(0); s < m.NumStages(); s++ {
		n, err := k.replicas(ctx, modelID, s)
		if err != nil {
			return m, err
		}
		if n > m.MaxReplicasPerStage {
			return m, errorsmod.Wrapf(types.ErrInvalidReplicas, "stage %d of model %d has %d replicas; max_replicas_per_stage %d would be below them (propose it once they have left)",
				s, modelID, n, m.MaxReplicasPerStage)
		}
	}
	return m, nil
}

// SetEconomics changes a model's economics (CheckEconomics refuses a max_replicas_per_stage below
// a stage's replicas); seats whose worker is bonded below a raised min_stake are dropped, as
// x/compute's hooks drop them when stake falls.
func (k *Keeper) SetEconomics(ctx context.Context, modelID uint64, e types.Economics, reason string) error {
	m, err := k.CheckEconomics(ctx, modelID, e)
	if err != nil {
		return err
	}
	if err := k.Models.Set(ctx, modelID, m); err != nil {
		return err
	}
	if err := k.dropModelSeatsIf(ctx, modelID, "bonded stake below the model's new min_stake", func(_ types.Seat, op sdk.AccAddress) (bool, error) {
		w, err := k.ck.GetWorker(ctx, op)
		return err == nil && (w.Bonded.Denom != m.MinStake.Denom || w.Bonded.Amount.LT(m.MinStake.Amount)), err
	}); err != nil {
		return err
	}
	k.logger.Info("model economics changed", "model_id", modelID, "designer_bps", m.DesignerBps,
		"max_replicas_per_stage", m.MaxReplicasPerStage, "min_stake", m.MinStake.String(), "reason", reason)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventModelEconomicsChanged{
		ModelId: modelID, DesignerBps: m.DesignerBps, MaxReplicasPerStage: m.MaxReplicasPerStage, MinStake: m.MinStake, Reason: reason,
	})
}
