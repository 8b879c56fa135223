package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/models/types"
)

// forkOf checks a fork's creation against its parent and returns msg with what it takes from
// the parent filled in: the architecture, stages, seed and subspace root (the weights it starts
// from are the parent's), and the roots it starts from where none were given.
func (k *Keeper) forkOf(ctx context.Context, msg *types.MsgCreateModel) (*types.MsgCreateModel, error) {
	parent, err := k.GetModel(ctx, msg.ParentId)
	if err != nil {
		return nil, err
	}
	switch parent.Status {
	case types.MODEL_STATUS_TRAINING, types.MODEL_STATUS_COMPLETED, types.MODEL_STATUS_PAUSED:
	default:
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "model %d is %s; a fork starts from a model with trained weights (training, completed or paused)", parent.Id, parent.Status)
	}
	depth, up := 1, parent
	for up.ParentId != 0 {
		if depth++; depth > types.MaxForkDepth {
			return nil, errorsmod.Wrapf(types.ErrInvalidFork, "model %d is %d forks down from its family's first model; at most %d", parent.Id, depth-1, types.MaxForkDepth)
		}
		if up, err = k.GetModel(ctx, up.ParentId); err != nil {
			return nil, err
		}
	}
	if msg.ParentBps < parent.ForkPolicy.MinParentBps || msg.ParentBps > types.MaxBps {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "parent_bps %d: model %d's holders ask at least %d (its fork_policy), at most %d",
			msg.ParentBps, parent.Id, parent.ForkPolicy.MinParentBps, types.MaxBps)
	}
	// A fork asks its own forks at least what its parent asks of forks: otherwise a fork of it
	// (starting, for a stage it has not trained, from the same weights) would owe the parent's
	// holders less than they ask, and need no approval they require.
	if msg.ForkPolicy.MinParentBps < parent.ForkPolicy.MinParentBps || (parent.ForkPolicy.NeedsApproval && !msg.ForkPolicy.NeedsApproval) {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "fork_policy %+v: a fork of model %d asks of its forks at least what model %d does (%+v)", msg.ForkPolicy, parent.Id, parent.Id, parent.ForkPolicy)
	}
	fork := *msg
	empty := msg.Arch == (types.Architecture{}) && len(msg.Stages) == 0 && msg.Seed == 0 && len(msg.SubspaceRoot) == 0
	if empty {
		fork.Arch, fork.Stages, fork.Seed, fork.SubspaceRoot = parent.Arch, parent.Stages, parent.Seed, parent.SubspaceRoot
	} else if !sameWeights(parent, msg) {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "a fork of model %d has its architecture, stages, seed and subspace root (it starts from its weights): leave them out, or give the parent's", parent.Id)
	}
	if len(msg.ForkRoots) == 0 {
		fork.ForkRoots = make([][]byte, parent.NumStages())
		for s := uint32(0); s < parent.NumStages(); s++ {
			if fork.ForkRoots[s], err = k.agreedRoot(ctx, parent.Id, s); err != nil {
				return nil, err
			}
		}
		return &fork, k.checkTrained(parent, fork.ForkRoots)
	}
	if len(msg.ForkRoots) != len(parent.Stages) {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "%d fork roots for model %d's %d stages", len(msg.ForkRoots), parent.Id, len(parent.Stages))
	}
	for s, root := range msg.ForkRoots {
		ok, err := k.committed(ctx, parent.Id, uint32(s), root)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorsmod.Wrapf(types.ErrInvalidFork, "fork_roots[%d] %X is no current replica's latest commit of stage %d of model %d (query models checkpoints %d)",
				s, root, s, parent.Id, parent.Id)
		}
	}
	return &fork, k.checkTrained(parent, fork.ForkRoots)
}

// checkTrained refuses to fork a stage of a fork that it has not trained: those weights are its
// parent's, to be forked from its parent (on the parent's terms, and not once it is halted).
func (k *Keeper) checkTrained(parent types.Model, roots [][]byte) error {
	for s, r := range roots {
		if s < len(parent.ForkRoots) && bytes.Equal(r, parent.ForkRoots[s]) {
			return errorsmod.Wrapf(types.ErrInvalidFork, "stage %d of model %d is still the weights it was forked with from model %d: fork model %d instead, or wait until it has trained",
				s, parent.Id, parent.ParentId, parent.ParentId)
		}
	}
	return nil
}

// sameWeights reports whether msg describes parent's weights: the same architecture, stages,
// seed and compression tables.
func sameWeights(parent types.Model, msg *types.MsgCreateModel) bool {
	if msg.Arch != parent.Arch || msg.Seed != parent.Seed || !bytes.Equal(msg.SubspaceRoot, parent.SubspaceRoot) || len(msg.Stages) != len(parent.Stages) {
		return false
	}
	for i := range msg.Stages {
		if msg.Stages[i] != parent.Stages[i] {
			return false
		}
	}
	return true
}

// agreedRoot is the root most of a stage's current replicas name as their latest commit, a fork's
// default start. Not the newest step's: one replica committing any root at a huge step would
// choose every default fork's weights. A tie for the most is no agreement: the fork names its
// roots itself.
func (k *Keeper) agreedRoot(ctx context.Context, modelID uint64, stage uint32) ([]byte, error) {
	votes := map[string]int{}
	err := k.Checkpoints.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID, stage),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], c types.Checkpoint) (bool, error) {
			votes[string(c.WeightsRoot)]++
			return false, nil
		})
	if err != nil {
		return nil, err
	}
	if len(votes) == 0 {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "stage %d of model %d has no committed weights to fork from", stage, modelID)
	}
	best, most, tied := "", 0, false
	for root, n := range votes {
		switch {
		case n > most:
			best, most, tied = root, n, false
		case n == most:
			tied = true
		}
	}
	if tied {
		return nil, errorsmod.Wrapf(types.ErrInvalidFork, "the replicas of stage %d of model %d do not agree on their weights (%d roots, none named by more than the others): name the fork's roots (--fork-roots, query models stage-roster %d %d)",
			stage, modelID, len(votes), modelID, stage)
	}
	return []byte(best), nil
}

// committed reports whether root is the latest commit of a current replica of the stage.
func (k *Keeper) committed(ctx context.Context, modelID uint64, stage uint32, root []byte) (bool, error) {
	found := false
	err := k.Checkpoints.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID, stage),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], c types.Checkpoint) (bool, error) {
			found = bytes.Equal(c.WeightsRoot, root)
			return found, nil
		})
	return found, err
}

// ApproveFork is the parent's holders' approval of a fork awaiting it: the fork recruits.
func (k *Keeper) ApproveFork(ctx context.Context, parentID, forkID uint64, reason string) error {
	m, err := k.GetModel(ctx, forkID)
	if err != nil {
		return err
	}
	if m.ParentId != parentID || m.Status != types.MODEL_STATUS_AWAITING_APPROVAL {
		return errorsmod.Wrapf(types.ErrInvalidTransition, "model %d is %s, forked from model %d: not a fork of model %d awaiting approval", forkID, m.Status, m.ParentId, parentID)
	}
	if err := k.setStatusFor(ctx, &m, types.MODEL_STATUS_RECRUITING, reason); err != nil {
		return err
	}
	k.logger.Info("fork approved", "model_id", forkID, "parent_id", parentID, "reason", reason)
	return k.Models.Set(ctx, forkID, m)
}

// CheckForkPolicy reports why p could not be model modelID's fork policy, or nil.
func (k *Keeper) CheckForkPolicy(ctx context.Context, modelID uint64, p types.ForkPolicy) error {
	if _, err := k.GetModel(ctx, modelID); err != nil {
		return err
	}
	if p.MinParentBps > types.MaxBps {
		return errorsmod.Wrapf(types.ErrInvalidFork, "min_parent_bps %d; at most %d", p.MinParentBps, types.MaxBps)
	}
	return nil
}

// SetForkPolicy sets what model modelID asks of its forks from now on (forks already made keep
// their terms).
func (k *Keeper) SetForkPolicy(ctx context.Context, modelID uint64, p types.ForkPolicy, reason string) error {
	if err := k.CheckForkPolicy(ctx, modelID, p); err != nil {
		return err
	}
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	m.ForkPolicy = p
	if err := k.Models.Set(ctx, modelID, m); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventForkPolicyChanged{ModelId: modelID, ForkPolicy: p, Reason: reason})
}
