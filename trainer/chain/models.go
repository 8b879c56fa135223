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
	var line []modelstypes.Model // the parent, then its ancestors
	for id := parent; id != 0 && len(line) <= modelstypes.MaxForkDepth; {
		m, err := c.Model(ctx, id)
		if err != nil {
			return 0, err
		}
		line, id = append(line, m), m.ParentId
	}
	forks, err := c.Forks(ctx, parent)
	if err != nil {
		return 0, err
	}
	return forkSeat(line, forks, stage, root, p, func(fork uint64) ([]modelstypes.Replica, error) { return c.StageRoster(ctx, fork, stage) })
}

// forkSeat is ForkSeated's rule over the parent and its ancestors (line, the parent first), its
// forks, and their rosters of the stage. The parent must still hold its weights (training,
// paused or completed: not halted). A fork that can no longer train (halted, cancelled) or is not
// yet approved seats nobody it would serve. The peer's worker must bond what a replica of the
// parent, and of each model above it, must now (the highest min_stake along the line):
// otherwise a fork with a lower floor would hand the family's stages out cheaper than the models
// that trained them seat them, directly or through a fork of a fork.
func forkSeat(line []modelstypes.Model, forks []modelstypes.Model, stage uint32, root []byte, p string, roster func(fork uint64) ([]modelstypes.Replica, error)) (uint64, error) {
	if len(line) == 0 {
		return 0, errors.New("no parent model")
	}
	parent := line[0]
	switch parent.Status {
	case modelstypes.MODEL_STATUS_TRAINING, modelstypes.MODEL_STATUS_PAUSED, modelstypes.MODEL_STATUS_COMPLETED:
	default:
		return 0, fmt.Errorf("model %d is %s: its weights go to no fork", parent.Id, parent.Status)
	}
	floor := parent.MinStake
	for _, m := range line[1:] {
		if m.MinStake.Denom != floor.Denom {
			return 0, fmt.Errorf("model %d's stake floor is in %q, model %d's in %q", m.Id, m.MinStake.Denom, parent.Id, floor.Denom)
		}
		if m.MinStake.Amount.GT(floor.Amount) {
			floor = m.MinStake
		}
	}
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
			if r.Bonded.Denom != floor.Denom || r.Bonded.Amount.LT(floor.Amount) {
				return 0, fmt.Errorf("peer %s's worker bonds %s, less than the %s a replica of model %d (or a model it was forked from) must", p, r.Bonded, floor, parent.Id)
			}
			return f.Id, nil
		}
	}
	if !named {
		return 0, fmt.Errorf("no fork of model %d starts stage %d from root %X", parent.Id, stage, root)
	}
	return 0, fmt.Errorf("peer %s holds stage %d of no fork of model %d that starts from root %X and still trains", p, stage, parent.Id, root)
}
