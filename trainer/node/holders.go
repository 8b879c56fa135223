package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/protolearn/protolearn/trainer/chain"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// DefaultStatusPoll is how often a worker on chain reads its model's status besides the
// chain's events: a pause, resume or halt its holders voted reaches it within a block or two.
const DefaultStatusPoll = 2 * time.Second

// What the model's holders decide (x/modelgov), the worker does:
//   - paused: stage 0 draws nothing (swarm.Config.Hold), so the whole pipeline idles once the
//     microbatches in flight are done; the attester keeps what it committed and attests it once
//     the model resumes (x/verify refuses it as a wait meanwhile); seats are kept.
//   - resumed: stage 0 draws again.
//   - halted: training stops at once (it drains), inference stops, the stage's saved weights
//     are deleted and the worker says so. What the chain may still challenge (the layers of
//     pending attestations, the replay log its disputes replay from) stays until those
//     attestations are final, and is deleted then: leaving a challenge unanswered would be
//     slashed like a cheat. The seat was released on chain with the halt.

// watchModel follows the model's status (events over Chain.RPC, and a poll every
// Chain.StatusPoll) until ctx ends.
func (n *Node) watchModel(ctx context.Context) (stop func()) {
	c := n.cfg.Chain
	every := c.StatusPoll
	if every <= 0 {
		every = DefaultStatusPoll
	}
	var wake <-chan struct{}
	if c.RPC != "" {
		wake = chain.WatchModelStatus(ctx, c.RPC, n.cfg.Model, n.log)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m, err := n.oc.client.Model(ctx, n.cfg.Model)
			if err == nil {
				n.follow(m.Status)
			} else if ctx.Err() == nil {
				n.log.Warn("reading the model's status", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-wake:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// follow acts on the model's status as read from the chain.
func (n *Node) follow(s modelstypes.ModelStatus) {
	switch s {
	case modelstypes.MODEL_STATUS_PAUSED:
		if !n.paused.Swap(true) {
			n.log.Warn("the model's holders paused it: no new microbatches, attestations wait; training goes on when they resume it", "model", n.cfg.Model)
		}
	case modelstypes.MODEL_STATUS_HALTED:
		n.paused.Store(true)
		if !n.halted.Swap(true) {
			n.log.Warn("the model's holders halted it for good: training stops and the stage's weights are deleted", "model", n.cfg.Model)
			if stop := n.stopTraining.Load(); stop != nil {
				(*stop)()
			}
			if srv := n.served.Load(); srv != nil {
				srv.Close()
			}
			n.deleteWeights()
		}
	default:
		if n.paused.Swap(false) {
			n.log.Info("the model's holders resumed it: training goes on", "model", n.cfg.Model, "status", s)
		}
	}
}

// checkpointPath is where Run saves the stage's weights (Config.Out).
func (n *Node) checkpointPath() string {
	if n.cfg.Out == "" {
		return ""
	}
	return filepath.Join(n.cfg.Out, fmt.Sprintf("stage-%d.ckpt", n.cfg.Stage))
}

// deleteWeights deletes the stage's saved weights, the checkpoint under Config.Out, and says
// so. It runs on the halt, and again as the worker leaves (Run saves nothing after a halt).
func (n *Node) deleteWeights() {
	n.deleteSeeds()
	path := n.checkpointPath()
	if path == "" {
		n.log.Warn("halted model: no saved weights to delete (no --out); the stage's weights are only in this process's memory, and go with it")
		return
	}
	switch err := os.Remove(path); {
	case err == nil:
		n.log.Warn("halted model: deleted the stage's weights", "path", path)
	case errors.Is(err, fs.ErrNotExist):
		n.log.Info("halted model: no saved weights to delete", "path", path)
	default:
		n.log.Error("halted model: could not delete the stage's weights; delete them yourself", "path", path, "err", err)
	}
}

// deleteEvidence deletes, once the attestations are final, what a halted model's worker kept
// to answer for them: its replay log and attested layers of this model and stage.
func (n *Node) deleteEvidence() {
	if n.replay != nil {
		_ = n.replay.Close() // its writer done first (Close, again later, is a no-op)
	}
	for _, dir := range []string{n.replayDir(), n.attestDir()} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			n.log.Error("halted model: could not delete what the attestations needed; delete it yourself", "path", dir, "err", err)
			continue
		}
		n.log.Warn("halted model: deleted what its attestations needed", "path", dir)
	}
}

// replayDir is the worker's replay log of this model and stage (on chain).
func (n *Node) replayDir() string {
	if n.cfg.Chain == nil {
		return ""
	}
	return replayLogDir(n.cfg.Chain, n.cfg.Out, n.cfg.Model, n.cfg.Stage)
}

// attestDir holds the layers the attester keeps for the challenge window (on chain).
func (n *Node) attestDir() string {
	if n.cfg.Chain == nil {
		return ""
	}
	return filepath.Join(stateDir(n.cfg.Chain, n.cfg.Out), "layers")
}

// haltedModel is connect's answer for a model its holders halted: the stage the operator held
// there, if any, whose files New then deletes.
type haltedModel struct {
	stage int
	held  bool
}

func (h *haltedModel) Error() string { return ErrHalted.Error() }

func (h *haltedModel) Unwrap() error { return ErrHalted }

// deleteHalted deletes what a trainer away at the halt kept of the model: the stage's
// checkpoint, the parameters kept for forks or fetched as a fork's start, and the replay log.
// (The attested layers are shared by the state directory's models and expire on their own.)
func deleteHalted(cfg Config, h *haltedModel, log *slog.Logger) {
	log.Warn("the model's holders halted it for good while this trainer was away: deleting what it kept of it", "model", cfg.Model)
	if !h.held {
		return
	}
	n := &Node{cfg: cfg, log: log}
	n.cfg.Stage = h.stage
	n.deleteWeights()
	if dir := n.replayDir(); dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			log.Error("halted model: could not delete the replay log; delete it yourself", "path", dir, "err", err)
		}
	}
}
