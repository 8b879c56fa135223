package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/swarm"
)

// errMidStep: the stage is between the updates of one step; its weights are no step's.
var errMidStep = errors.New("mid-step")

// committer commits the root of the stage's weights on chain (x/models
// MsgCommitCheckpoint) every `every` steps and once more at the end: the chain's record of
// where each replica's weights are, which replicas of a stage compare.
type committer struct {
	oc           *onChain
	model        uint64
	microbatches uint64
	every        uint64
	log          *slog.Logger
	// last is the highest step committed (or found on chain at start); committed says whether
	// anything was (step 0 included).
	last      uint64
	committed bool
	// seed, on a fork, is its stage's starting root (fork_roots): committed as step 0 before
	// any step, so the chain holds where each replica started from.
	seed *[32]byte
	// kept, when set, receives the parameters of each root committed (the fork seeds this
	// worker serves).
	kept func(ctx context.Context, step uint64, root [32]byte, params []byte)
}

// rootAtStep reads the weights' root between steps: the chain step they are at (local step k
// done: FirstStep+k−1) and the root. ok is false before the first step completes.
// With kept set, params are the parameters themselves (a checkpoint.Params stream) when the
// step is new.
func (c *committer) rootAtStep(ctx context.Context, w *swarm.Worker) (step uint64, root [32]byte, params []byte, ok bool, err error) {
	err = w.Access(ctx, func(st *engine.Stage, updates uint64) error {
		if updates%c.microbatches != 0 {
			return errMidStep
		}
		if updates == 0 {
			return nil
		}
		step, ok = c.oc.firstStep+updates/c.microbatches-1, true
		if root, err = checkpoint.WeightsRoot(st); err != nil || c.kept == nil || step <= c.last {
			return err
		}
		var b bytes.Buffer
		if err := checkpoint.Write(&b, st, updates, checkpoint.Params); err != nil {
			return err
		}
		params = b.Bytes()
		return nil
	})
	return step, root, params, ok, err
}

// commitSeed commits a fork's starting root as step 0 while nothing is committed yet (the
// model may still be recruiting: the caller retries).
func (c *committer) commitSeed(ctx context.Context) error {
	if c.seed == nil || c.committed {
		return nil
	}
	if err := c.oc.client.CommitCheckpoint(ctx, c.model, uint32(c.oc.stage), 0, c.seed[:]); err != nil {
		return err
	}
	c.committed = true
	c.log.Info("fork: the parent's weights committed on chain as step 0", "weights_root", hex.EncodeToString(c.seed[:]))
	return nil
}

// commit reads the root at the next step boundary (polling until the worker is between steps,
// unless it has stopped) and commits it if the step is new.
func (c *committer) commit(ctx context.Context, w *swarm.Worker, stopped bool) error {
	for {
		step, root, params, ok, err := c.rootAtStep(ctx, w)
		switch {
		case errors.Is(err, errMidStep) && stopped:
			return errors.New("the worker stopped between the updates of a step: no step's weights to commit")
		case errors.Is(err, errMidStep):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			continue
		case err != nil:
			return err
		case !ok || (c.committed && step <= c.last):
			return nil
		}
		// Where the replica started comes first: a step committed before it would close step 0.
		if err := c.commitSeed(ctx); err != nil {
			return err
		}
		if err := c.oc.client.CommitCheckpoint(ctx, c.model, uint32(c.oc.stage), step, root[:]); err != nil {
			return err
		}
		c.last, c.committed = step, true
		c.log.Info("checkpoint committed on chain", "step", step, "weights_root", hex.EncodeToString(root[:]))
		if c.kept != nil && params != nil {
			c.kept(ctx, step, root, params)
		}
		return nil
	}
}

// start commits every `every` steps until stop; stop(true) commits the final weights too (the
// worker finished or drained cleanly).
func (c *committer) start(ctx context.Context, w *swarm.Worker) (stop func(final bool)) {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		next := c.every * c.microbatches // updates
		var seedTried time.Time
		warned := false
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			u, span := w.Status().Updates, c.every*c.microbatches
			if c.seed != nil && !c.committed && time.Since(seedTried) > 2*time.Second {
				seedTried = time.Now()
				if err := c.commitSeed(lctx); err != nil && lctx.Err() == nil {
					// Refused while the model recruits or is paused: said once, then retried quietly.
					lvl := slog.LevelWarn
					if warned {
						lvl = slog.LevelDebug
					}
					c.log.Log(lctx, lvl, "fork: the starting root not committed yet; retrying", "err", err)
					warned = true
				}
			}
			if u < next {
				continue
			}
			next = (u/span + 1) * span // the next multiple: commits missed while one was in flight are not made up
			if err := c.commit(lctx, w, false); err != nil && lctx.Err() == nil {
				c.log.Warn("checkpoint commit failed; the next one will carry the newer weights", "err", err)
			}
		}
	}()
	return func(final bool) {
		cancel()
		<-done
		if !final {
			return
		}
		// Also after an interrupt: the worker drained, its weights are its last step's.
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer ccancel()
		if err := c.commit(cctx, w, true); err != nil {
			c.log.Warn("final checkpoint commit failed", "err", err)
		}
	}
}
