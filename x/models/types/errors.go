package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/models. Each says what is wrong so a CLI user knows what to fix; the wrapping
// message names the field, model, stage or operator concerned.
var (
	ErrInvalidAddress      = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidName         = errorsmod.Register(ModuleName, 3, "invalid model name")
	ErrInvalidArchitecture = errorsmod.Register(ModuleName, 4, "invalid model architecture")
	ErrInvalidStages       = errorsmod.Register(ModuleName, 5, "invalid stage layout")
	ErrInvalidCommitment   = errorsmod.Register(ModuleName, 6, "invalid commitment: a 32-byte hash is expected")
	ErrInvalidDesignerBps  = errorsmod.Register(ModuleName, 7, "invalid designer_bps")
	ErrInvalidMinStake     = errorsmod.Register(ModuleName, 8, "invalid min_stake")
	ErrInvalidReplicas     = errorsmod.Register(ModuleName, 9, "invalid max_replicas_per_stage")
	ErrInvalidTargetWork   = errorsmod.Register(ModuleName, 10, "invalid target_work_units")
	ErrModelNotFound       = errorsmod.Register(ModuleName, 11, "model not found")
	ErrNotDesigner         = errorsmod.Register(ModuleName, 12, "signer is not the model's designer")
	ErrCannotCancel        = errorsmod.Register(ModuleName, 13, "model can no longer be cancelled")
	ErrModelNotOpen        = errorsmod.Register(ModuleName, 14, "model does not take replicas")
	ErrStageOutOfRange     = errorsmod.Register(ModuleName, 15, "stage out of range")
	ErrWorkerNotActive     = errorsmod.Register(ModuleName, 16, "worker is not active in x/compute")
	ErrStakeBelowModelMin  = errorsmod.Register(ModuleName, 17, "bonded stake below the model's min_stake")
	ErrAlreadySeated       = errorsmod.Register(ModuleName, 18, "operator already holds this stage")
	ErrOneStagePerModel    = errorsmod.Register(ModuleName, 19, "operator already holds another stage of this model: one operator may hold at most one stage of a model")
	ErrStageFull           = errorsmod.Register(ModuleName, 20, "stage is full")
	ErrNotSeated           = errorsmod.Register(ModuleName, 21, "operator holds no seat there")
	ErrModelNotTraining    = errorsmod.Register(ModuleName, 22, "model is not training")
	ErrStepNotIncreasing   = errorsmod.Register(ModuleName, 23, "checkpoint step must increase")
	ErrInvalidWorkUnits    = errorsmod.Register(ModuleName, 24, "invalid work units")
	ErrInvalidAuthority    = errorsmod.Register(ModuleName, 25, "invalid authority")
	ErrInvalidParams       = errorsmod.Register(ModuleName, 26, "invalid params")
	ErrInvalidMicrobatches = errorsmod.Register(ModuleName, 27, "invalid microbatches_per_step")
	ErrInvalidOptimizer    = errorsmod.Register(ModuleName, 28, "invalid optimizer")
	ErrStageHopping        = errorsmod.Register(ModuleName, 29, "operator held another stage of this model")
	ErrInvalidTransition   = errorsmod.Register(ModuleName, 30, "the model's status does not allow this")
	ErrInvalidFork         = errorsmod.Register(ModuleName, 31, "invalid fork")
)
