package node

import (
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
	// last is the highest step committed (or found on chain at start).
	last uint64
}

// rootAtStep reads the weights' root between steps: the chain step they are at (local step k
// done: FirstStep+k−1) and the root. ok is false before the first step completes.
func (c *committer) rootAtStep(ctx context.Context, w *swarm.Worker) (step uint64, root [32]byte, ok bool, err error) {
	err = w.Access(ctx, func(st *engine.Stage, updates uint64) error {
		if updates%c.microbatches != 0 {
			return errMidStep
		}
		if updates == 0 {
			return nil
		}
		step, ok = c.oc.firstStep+updates/c.microbatches-1, true
		root, err = checkpoint.WeightsRoot(st)
		return err
	})
	return step, root, ok, err
}

// commit reads the root at the next step boundary (polling until the worker is between steps,
// unless it has stopped) and commits it if the step is new.
func (c *committer) commit(ctx context.Context, w *swarm.Worker, stopped bool) error {
	for {
		step, root, ok, err := c.rootAtStep(ctx, w)
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
		case !ok || step <= c.last:
			return nil
		}
		if err := c.oc.client.CommitCheckpoint(ctx, c.model, uint32(c.oc.stage), step, root[:]); err != nil {
			return err
		}
		c.last = step
		c.log.Info("checkpoint committed on chain", "step", step, "weights_root", hex.EncodeToString(root[:]))
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
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			u, span := w.Status().Updates, c.every*c.microbatches
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
