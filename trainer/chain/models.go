package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// JoinStage seats the operator in stage of model id (x/models MsgJoinStage through the hot
// key's grant). Holding that stage already (a retry, or a restart) is success; holding another
// stage of the model is an error that says so.
func (c *Client) JoinStage(ctx context.Context, modelID uint64, stage uint32) error {
	_, err := c.Exec(ctx, &modelstypes.MsgJoinStage{Operator: c.cfg.Operator, ModelId: modelID, Stage: stage})
	if errors.Is(err, modelstypes.ErrAlreadySeated) {
		if held, ok, qerr := c.StageOf(ctx, modelID); qerr == nil && ok && held == stage {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("chain: join stage %d of model %d: %w", stage, modelID, err)
	}
	return nil
}

// LastCheckpoint is the operator's latest checkpoint commit in stage of model id since it
// joined the stage (ok false: none).
func (c *Client) LastCheckpoint(ctx context.Context, modelID uint64, stage uint32) (step uint64, root []byte, ok bool, err error) {
	rs, err := c.StageRoster(ctx, modelID, stage)
	if err != nil {
		return 0, nil, false, err
	}
	for _, r := range rs {
		if r.Operator == c.cfg.Operator && r.HasCheckpoint {
			return r.CheckpointStep, r.CheckpointRoot, true, nil
		}
	}
	return 0, nil, false, nil
}

// CommitCheckpoint records the root of the stage's weights at step (x/models
// MsgCommitCheckpoint). A retry of a commit the chain already holds (same step and root) is
// success.
func (c *Client) CommitCheckpoint(ctx context.Context, modelID uint64, stage uint32, step uint64, root []byte) error {
	_, err := c.Exec(ctx, &modelstypes.MsgCommitCheckpoint{Operator: c.cfg.Operator, ModelId: modelID, Stage: stage, Step: step, WeightsRoot: root})
	if errors.Is(err, modelstypes.ErrStepNotIncreasing) {
		if s, r, ok, qerr := c.LastCheckpoint(ctx, modelID, stage); qerr == nil && ok && s == step && bytes.Equal(r, root) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("chain: checkpoint of stage %d of model %d at step %d: %w", stage, modelID, step, err)
	}
	return nil
}
