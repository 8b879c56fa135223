package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cosmos/cosmos-sdk/types/query"

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

// Forks lists model parent's direct forks (x/models parent_id), whatever their status.
func (c *Client) Forks(ctx context.Context, parent uint64) ([]modelstypes.Model, error) {
	out, err := allPages(func(p *query.PageRequest) ([]modelstypes.Model, *query.PageResponse, error) {
		res, err := modelstypes.NewQueryClient(c.conn).Models(ctx, &modelstypes.QueryModelsRequest{ParentId: parent, Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Models, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: forks of model %d: %w", parent, err)
	}
	return out, nil
}

// ForkSeated returns the direct fork of model parent in whose stage peer p (a libp2p peer id)
// is seated now, where that fork's stage starts from root (fork_roots[stage]): the one peer
// a replica of parent's stage may give its weights at root to (forkSeat says who qualifies).
func (c *Client) ForkSeated(ctx context.Context, parent uint64, stage uint32, root []byte, p string) (uint64, error) {
	pm, err := c.Model(ctx, parent)
	if err != nil {
		return 0, err
	}
	forks, err := c.Forks(ctx, parent)
	if err != nil {
		return 0, err
	}
	return forkSeat(pm, forks, stage, root, p, func(fork uint64) ([]modelstypes.Replica, error) { return c.StageRoster(ctx, fork, stage) })
}

// forkSeat is ForkSeated's rule over the parent, its forks and their rosters of the stage. A
// fork that can no longer train (halted, cancelled) or is not yet approved seats nobody it
// would serve. The peer's worker must also bond what a replica of the parent must (its
// min_stake, now): otherwise a fork with a lower floor would sell the parent's stages cheaper
// than the parent seats them.
func forkSeat(parent modelstypes.Model, forks []modelstypes.Model, stage uint32, root []byte, p string, roster func(fork uint64) ([]modelstypes.Replica, error)) (uint64, error) {
	named := false
	for _, f := range forks {
		if f.ParentId != parent.Id || int(stage) >= len(f.ForkRoots) || !bytes.Equal(f.ForkRoots[stage], root) {
			continue
		}
		named = true
		switch f.Status {
		case modelstypes.MODEL_STATUS_RECRUITING, modelstypes.MODEL_STATUS_TRAINING, modelstypes.MODEL_STATUS_PAUSED:
		default:
			continue
		}
		rs, err := roster(f.Id)
		if err != nil {
			return 0, err
		}
		for _, r := range rs {
			if r.PeerId != p {
				continue
			}
			if r.Bonded.Denom != parent.MinStake.Denom || r.Bonded.Amount.LT(parent.MinStake.Amount) {
				return 0, fmt.Errorf("peer %s's worker bonds %s, less than the %s a replica of model %d must", p, r.Bonded, parent.MinStake, parent.Id)
			}
			return f.Id, nil
		}
	}
	if !named {
		return 0, fmt.Errorf("no fork of model %d starts stage %d from root %X", parent.Id, stage, root)
	}
	return 0, fmt.Errorf("peer %s holds stage %d of no fork of model %d that starts from root %X and still trains", p, stage, parent.Id, root)
}
