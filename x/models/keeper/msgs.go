package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/models/types"
)

// The messages of x/models, as keeper methods: the Msg service (msg_server.go) only hands each
// message here.

// CreateModel is MsgCreateModel.
func (k *Keeper) CreateModel(ctx context.Context, msg *types.MsgCreateModel) (*types.MsgCreateModelResponse, error) {
	designer, err := k.parseAddr("designer", msg.Designer)
	if err != nil {
		return nil, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if msg.ParentId != 0 {
		if msg, err = k.forkOf(ctx, msg); err != nil {
			return nil, err
		}
	} else if msg.ParentBps != 0 || len(msg.ForkRoots) != 0 {
		return nil, errorsmod.Wrap(types.ErrInvalidFork, "parent_bps and fork_roots are for a fork: give parent_id too")
	}
	m := types.Model{
		Designer:            k.addrString(designer), // canonical, whatever case the signer wrote
		Name:                msg.Name,
		Arch:                msg.Arch,
		Stages:              msg.Stages,
		Seed:                msg.Seed,
		DatasetCommitment:   msg.DatasetCommitment,
		SubspaceRoot:        msg.SubspaceRoot,
		DesignerBps:         msg.DesignerBps,
		MinStake:            msg.MinStake,
		MaxReplicasPerStage: msg.MaxReplicasPerStage,
		TargetWorkUnits:     msg.TargetWorkUnits,
		MicrobatchesPerStep: max(msg.MicrobatchesPerStep, 1), // stored as used: 0 means 1
		Optimizer:           msg.Optimizer.WithDefaults(len(msg.Stages)),
		CreatedHeight:       sdkCtx.BlockHeight(),
		ParentId:            msg.ParentId,
		ParentBps:           msg.ParentBps,
		ForkRoots:           msg.ForkRoots,
		ForkPolicy:          msg.ForkPolicy,
	}
	if err := m.ValidateSpec(p); err != nil {
		return nil, err
	}
	status := types.MODEL_STATUS_RECRUITING
	if msg.ParentId != 0 {
		parent, err := k.GetModel(ctx, msg.ParentId)
		if err != nil {
			return nil, err
		}
		m.FamilyId = parent.Family()
		if parent.ForkPolicy.NeedsApproval {
			status = types.MODEL_STATUS_AWAITING_APPROVAL
		}
	}
	if err := k.checkMinStake(ctx, m.MinStake); err != nil {
		return nil, err
	}
	if err := k.checkForkFloor(ctx, m); err != nil {
		return nil, err
	}
	if m.Id, err = k.ModelSeq.Next(ctx); err != nil {
		return nil, err
	}
	if m.FamilyId == 0 {
		m.FamilyId = m.Id
	}
	if err := k.setStatus(ctx, &m, status); err != nil {
		return nil, err
	}
	if err := k.Models.Set(ctx, m.Id, m); err != nil {
		return nil, err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterModelCreated(ctx, m.Id); err != nil {
			return nil, err
		}
	}
	if m.ParentId != 0 {
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventModelForked{
			ModelId: m.Id, ParentId: m.ParentId, ParentBps: m.ParentBps, ForkRoots: m.ForkRoots, AwaitingApproval: status == types.MODEL_STATUS_AWAITING_APPROVAL,
		}); err != nil {
			return nil, err
		}
	}
	k.logger.Info("model created", "model_id", m.Id, "designer", m.Designer, "name", m.Name, "stages", len(m.Stages), "parent_id", m.ParentId)
	return &types.MsgCreateModelResponse{ModelId: m.Id}, sdkCtx.EventManager().EmitTypedEvent(&types.EventModelCreated{
		ModelId: m.Id, Designer: m.Designer, Name: m.Name, Stages: m.NumStages(), MinStake: m.MinStake, TargetWorkUnits: m.TargetWorkUnits,
	})
}

// CancelModel is MsgCancelModel.
func (k *Keeper) CancelModel(ctx context.Context, msg *types.MsgCancelModel) (*types.MsgCancelModelResponse, error) {
	designer, err := k.parseAddr("designer", msg.Designer)
	if err != nil {
		return nil, err
	}
	m, err := k.GetModel(ctx, msg.ModelId)
	if err != nil {
		return nil, err
	}
	if m.Designer != k.addrString(designer) {
		return nil, errorsmod.Wrapf(types.ErrNotDesigner, "model %d was created by %s; only its designer may cancel it", m.Id, m.Designer)
	}
	if m.Status != types.MODEL_STATUS_RECRUITING && m.Status != types.MODEL_STATUS_AWAITING_APPROVAL {
		return nil, errorsmod.Wrapf(types.ErrCannotCancel, "model %d is %s; a model can be cancelled only while it is recruiting (or awaiting its parent's approval)", m.Id, m.Status)
	}
	if err := k.dropModelSeats(ctx, m.Id, "model cancelled"); err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	m.EndedHeight = sdkCtx.BlockHeight()
	if err := k.setStatus(ctx, &m, types.MODEL_STATUS_CANCELLED); err != nil {
		return nil, err
	}
	if err := k.Models.Set(ctx, m.Id, m); err != nil {
		return nil, err
	}
	k.logger.Info("model cancelled", "model_id", m.Id)
	return &types.MsgCancelModelResponse{}, sdkCtx.EventManager().EmitTypedEvent(&types.EventModelCancelled{
		ModelId: m.Id, Designer: m.Designer,
	})
}

// JoinStage is MsgJoinStage.
func (k *Keeper) JoinStage(ctx context.Context, msg *types.MsgJoinStage) (*types.MsgJoinStageResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	opStr := k.addrString(operator)
	m, err := k.GetModel(ctx, msg.ModelId)
	if err != nil {
		return nil, err
	}
	if !m.Status.Live() {
		return nil, errorsmod.Wrapf(types.ErrModelNotOpen, "model %d is %s; only recruiting or training models take replicas", m.Id, m.Status)
	}
	if err := checkStage(m, msg.Stage); err != nil {
		return nil, err
	}
	held, seated, err := k.StageOf(ctx, m.Id, operator)
	if err != nil {
		return nil, err
	}
	switch {
	case seated && held == msg.Stage:
		return nil, errorsmod.Wrapf(types.ErrAlreadySeated, "%s already holds stage %d of model %d", opStr, held, m.Id)
	case seated:
		return nil, errorsmod.Wrapf(types.ErrOneStagePerModel, "%s holds stage %d of model %d; leave-stage first to move to stage %d",
			opStr, held, m.Id, msg.Stage)
	}
	// The rule spans the family: a fork starts from its parent's weights, so a stage of one is a
	// stage of the other.
	family := m.Family()
	before, err := k.FamilyStages.Get(ctx, collections.Join(family, operator))
	switch {
	case err != nil && !isNotFound(err):
		return nil, err
	case err == nil && before != msg.Stage:
		return nil, errorsmod.Wrapf(types.ErrStageHopping, "%s held stage %d of model %d's family (model %d and its forks) and may never hold another stage of it: an operator on two stages would hold both stages' weights; join stage %d, or another family's model",
			opStr, before, m.Id, family, before)
	}
	if err := k.checkWorker(ctx, operator, m); err != nil {
		return nil, err
	}
	n, err := k.replicas(ctx, m.Id, msg.Stage)
	if err != nil {
		return nil, err
	}
	if n >= m.MaxReplicasPerStage {
		return nil, errorsmod.Wrapf(types.ErrStageFull, "stage %d of model %d has %d replicas (max_replicas_per_stage %d); pick another stage",
			msg.Stage, m.Id, n, m.MaxReplicasPerStage)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := k.setSeat(ctx, operator, types.Seat{
		ModelId: m.Id, Stage: msg.Stage, Operator: opStr, JoinedHeight: sdkCtx.BlockHeight(),
	}); err != nil {
		return nil, err
	}
	if err := k.recordHeld(ctx, m, operator, msg.Stage, sdkCtx.BlockHeight()); err != nil {
		return nil, err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventStageJoined{
		ModelId: m.Id, Stage: msg.Stage, Operator: opStr, Replicas: n + 1,
	}); err != nil {
		return nil, err
	}
	if m.Status == types.MODEL_STATUS_RECRUITING {
		filled, err := k.everyStageFilled(ctx, m)
		if err != nil {
			return nil, err
		}
		if filled {
			m.TrainingStartedHeight = sdkCtx.BlockHeight()
			if err := k.setStatus(ctx, &m, types.MODEL_STATUS_TRAINING); err != nil {
				return nil, err
			}
			if err := k.Models.Set(ctx, m.Id, m); err != nil {
				return nil, err
			}
			k.logger.Info("model training", "model_id", m.Id)
		}
	}
	return &types.MsgJoinStageResponse{Status: m.Status}, nil
}

// LeaveStage is MsgLeaveStage.
func (k *Keeper) LeaveStage(ctx context.Context, msg *types.MsgLeaveStage) (*types.MsgLeaveStageResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	opStr := k.addrString(operator)
	m, err := k.GetModel(ctx, msg.ModelId)
	if err != nil {
		return nil, err
	}
	stage, seated, err := k.StageOf(ctx, m.Id, operator)
	if err != nil {
		return nil, err
	}
	if !seated {
		return nil, errorsmod.Wrapf(types.ErrNotSeated, "%s holds no stage of model %d", opStr, m.Id)
	}
	if err := k.removeSeat(ctx, m.Id, stage, operator); err != nil {
		return nil, err
	}
	n, err := k.replicas(ctx, m.Id, stage)
	if err != nil {
		return nil, err
	}
	return &types.MsgLeaveStageResponse{Stage: stage}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStageLeft{
		ModelId: m.Id, Stage: stage, Operator: opStr, Replicas: n,
	})
}

// CommitCheckpoint is MsgCommitCheckpoint.
func (k *Keeper) CommitCheckpoint(ctx context.Context, msg *types.MsgCommitCheckpoint) (*types.MsgCommitCheckpointResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	opStr := k.addrString(operator)
	if err := types.ValidateCommitment("weights_root", msg.WeightsRoot); err != nil {
		return nil, err
	}
	m, err := k.GetModel(ctx, msg.ModelId)
	if err != nil {
		return nil, err
	}
	if m.Status != types.MODEL_STATUS_TRAINING && m.Status != types.MODEL_STATUS_COMPLETED {
		return nil, errorsmod.Wrapf(types.ErrModelNotTraining, "model %d is %s; checkpoints are committed once training has started", m.Id, m.Status)
	}
	if err := checkStage(m, msg.Stage); err != nil {
		return nil, err
	}
	held, seated, err := k.StageOf(ctx, m.Id, operator)
	if err != nil {
		return nil, err
	}
	if !seated {
		return nil, errorsmod.Wrapf(types.ErrNotSeated, "%s holds no stage of model %d; join-stage first", opStr, m.Id)
	}
	if held != msg.Stage {
		return nil, errorsmod.Wrapf(types.ErrNotSeated, "%s holds stage %d of model %d, not stage %d", opStr, held, m.Id, msg.Stage)
	}
	// A seat is taken at join; the stake floor is checked again here, since x/compute announces
	// status changes only and a worker may have unbonded below the model's min_stake since.
	if err := k.checkWorker(ctx, operator, m); err != nil {
		return nil, err
	}
	if msg.Step == 0 && len(m.ForkRoots) > 0 && !bytes.Equal(msg.WeightsRoot, m.ForkRoots[msg.Stage]) {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "model %d is a fork of model %d: stage %d's weights at step 0 are its parent's %X, not %X",
			m.Id, m.ParentId, msg.Stage, m.ForkRoots[msg.Stage], msg.WeightsRoot)
	}
	key := collections.Join3(m.Id, msg.Stage, operator)
	prev, err := k.Checkpoints.Get(ctx, key)
	switch {
	case err == nil && msg.Step <= prev.Step:
		return nil, errorsmod.Wrapf(types.ErrStepNotIncreasing, "step %d is not above your previous commit at step %d for stage %d of model %d",
			msg.Step, prev.Step, msg.Stage, m.Id)
	case err != nil && !isNotFound(err):
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := k.Checkpoints.Set(ctx, key, types.Checkpoint{
		ModelId: m.Id, Stage: msg.Stage, Operator: opStr, Step: msg.Step, WeightsRoot: msg.WeightsRoot,
		CommittedHeight: sdkCtx.BlockHeight(),
	}); err != nil {
		return nil, err
	}
	return &types.MsgCommitCheckpointResponse{}, sdkCtx.EventManager().EmitTypedEvent(&types.EventCheckpointCommitted{
		ModelId: m.Id, Stage: msg.Stage, Operator: opStr, Step: msg.Step, WeightsRoot: msg.WeightsRoot,
	})
}

// checkForkFloor refuses a fork whose stake floor is below its parent's: a fork's replicas get
// the parent's weights of their stage, and must not get them for less stake than the parent's
// own replicas bond (trainer/chain forkSeat also holds them to every model above).
func (k *Keeper) checkForkFloor(ctx context.Context, m types.Model) error {
	if m.ParentId == 0 {
		return nil
	}
	parent, err := k.GetModel(ctx, m.ParentId)
	if err != nil {
		return err
	}
	if m.MinStake.Denom != parent.MinStake.Denom || m.MinStake.Amount.LT(parent.MinStake.Amount) {
		return errorsmod.Wrapf(types.ErrInvalidMinStake, "min_stake %s: a fork of model %d bonds at least its %s (its replicas start from its weights)", m.MinStake, parent.Id, parent.MinStake)
	}
	return nil
}

// checkMinStake refuses a model stake floor outside x/compute's stake denom or below its
// min_worker_stake: a seat must cost at least what any worker stakes.
func (k *Keeper) checkMinStake(ctx context.Context, c sdk.Coin) error {
	cp, err := k.ck.GetParams(ctx)
	if err != nil {
		return err
	}
	if c.Denom != cp.StakeDenom() {
		return errorsmod.Wrapf(types.ErrInvalidMinStake, "min_stake is in %q; workers stake %q", c.Denom, cp.StakeDenom())
	}
	if c.Amount.LT(cp.MinWorkerStake.Amount) {
		return errorsmod.Wrapf(types.ErrInvalidMinStake, "min_stake %s is below x/compute's min_worker_stake %s", c, cp.MinWorkerStake)
	}
	return nil
}

// checkStage refuses a stage the model does not have.
func checkStage(m types.Model, stage uint32) error {
	if stage >= m.NumStages() {
		return errorsmod.Wrapf(types.ErrStageOutOfRange, "stage %d: model %d has stages 0..%d", stage, m.Id, m.NumStages()-1)
	}
	return nil
}

// checkWorker refuses an operator whose worker may not hold a seat of m: not registered, not
// active (jailed or under-staked) in x/compute, or bonded below the model's min_stake.
func (k *Keeper) checkWorker(ctx context.Context, operator sdk.AccAddress, m types.Model) error {
	w, err := k.ck.GetWorker(ctx, operator)
	if errorsmod.IsOf(err, computetypes.ErrWorkerNotFound) {
		return errorsmod.Wrapf(types.ErrWorkerNotActive, "%s has not registered a worker; register-worker in x/compute first", k.addrString(operator))
	}
	if err != nil {
		return err
	}
	switch w.Status {
	case computetypes.WORKER_STATUS_ACTIVE:
	case computetypes.WORKER_STATUS_JAILED:
		return errorsmod.Wrapf(types.ErrWorkerNotActive, "worker %s is jailed until %s; unjail it first",
			w.Operator, w.JailedUntil.UTC().Format("2006-01-02T15:04:05Z"))
	default:
		return errorsmod.Wrapf(types.ErrWorkerNotActive, "worker %s is %s; add stake to reach min_worker_stake", w.Operator, w.Status)
	}
	if w.Bonded.Denom != m.MinStake.Denom || w.Bonded.Amount.LT(m.MinStake.Amount) {
		return errorsmod.Wrapf(types.ErrStakeBelowModelMin, "worker %s has %s bonded; model %d asks at least %s per seat (add-stake)",
			w.Operator, w.Bonded, m.Id, m.MinStake)
	}
	return nil
}
