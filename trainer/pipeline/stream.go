package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/protolearn/protolearn/trainer/data"
)

// Train runs n training steps as one stream: step i (0-based) trains on the
// i-th batch next returns, and the stages run their schedule over all n
// steps without a pipeline-wide barrier between them. Under GPipe that is
// the same computation as n calls of Step (each stage still flushes and
// updates once per step; it only starts step i+1 without waiting for the
// other stages to finish step i). Under Async1F1B the n·M microbatches form
// one 1F1B stream (AsyncOps) that drains only at its end, so the warm-up and
// drain bubbles are paid once per Train instead of once per step, and
// microbatches of step i+1 are in flight while step i finishes (package
// documentation).
//
// onStep, when set, is called once per step as soon as the last stage has
// that step's loss (the mean of its microbatch losses, as Step returns),
// in step order, from the last stage's goroutine while the other stages
// go on: it must not call the pipeline, and an error it returns fails the
// run. Train returns every step's loss.
//
// next is called in step order, from the stage goroutines, up to n times.
// A batch that does not split into M equal microbatches, or an error from
// next, fails the run like any stage error: the pipeline is unusable
// afterwards (microbatches were in flight), so check batches beforehand
// when that matters (Step does).
func (p *Pipeline) Train(ctx context.Context, n int, next func() (data.Batch, error), onStep func(i int, loss float64) error) ([]float64, error) {
	if p.broken != nil {
		return nil, p.broken
	}
	if n <= 0 {
		return nil, fmt.Errorf("pipeline: Train of %d steps; it must be positive", n)
	}
	if next == nil {
		return nil, errors.New("pipeline: Train without a batch source")
	}
	r := &stream{
		base: p.steps, n: n, m: p.cfg.Microbatches, losses: make([]float64, n), onStep: onStep,
		feed: &feed{next: next, m: p.cfg.Microbatches, stages: len(p.stages), held: map[int]*heldBatch{}},
	}
	err := p.run(ctx, func(ctx context.Context, s int, busy *time.Duration) error {
		if p.cfg.Schedule == Async1F1B {
			return p.asyncStage(ctx, s, r, busy)
		}
		return p.gpipeStage(ctx, s, r, busy)
	})
	if err != nil {
		p.broken = fmt.Errorf("pipeline: unusable after a failed step: %w", err)
		return nil, err
	}
	p.steps += uint64(n)
	return r.losses, nil
}

// stream is one Train call as the stage goroutines see it.
type stream struct {
	base   uint64 // Steps() when the stream started: step i travels as base+i
	n      int    // steps
	m      int    // microbatches per step
	feed   *feed
	losses []float64 // per step; written by the last stage only
	onStep func(i int, loss float64) error
}

// stepDone is called by the last stage once it has step i's M microbatch
// losses, summed in microbatch order: the step's loss is their mean.
func (r *stream) stepDone(i int, sum float64) error {
	r.losses[i] = sum / float64(r.m)
	if r.onStep == nil {
		return nil
	}
	if err := r.onStep(i, r.losses[i]); err != nil {
		return fmt.Errorf("step %d: %w", r.base+uint64(i), err)
	}
	return nil
}

// feed hands the stream's batches to the stages: fetched from next in step
// order by whichever stage first needs one, held until every stage is done
// with it (so at most the steps in flight are in memory).
type feed struct {
	next   func() (data.Batch, error)
	m      int // microbatches per step
	stages int

	mu      sync.Mutex
	fetched int // batches taken from next
	held    map[int]*heldBatch
}

type heldBatch struct {
	b     data.Batch
	users int // stages done with it
}

// get is step i's batch.
func (f *feed) get(i int) (data.Batch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.fetched <= i {
		b, err := f.next()
		if err != nil {
			return data.Batch{}, fmt.Errorf("batch of step %d: %w", f.fetched, err)
		}
		if err := checkStepBatch(b, f.m); err != nil {
			return data.Batch{}, fmt.Errorf("batch of step %d: %w", f.fetched, err)
		}
		f.held[f.fetched] = &heldBatch{b: b}
		f.fetched++
	}
	h, ok := f.held[i]
	if !ok {
		return data.Batch{}, fmt.Errorf("batch of step %d asked for after every stage was done with it", i)
	}
	return h.b, nil
}

// release records that one stage is done with step i's batch.
func (f *feed) release(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.held[i]; ok {
		if h.users++; h.users == f.stages {
			delete(f.held, i)
		}
	}
}

// gpipeStage is stage s's part of a GPipe stream: trainStage for each step
// in turn.
func (p *Pipeline) gpipeStage(ctx context.Context, s int, r *stream, busy *time.Duration) error {
	m := p.cfg.Microbatches
	last := s == len(p.stages)-1
	losses := make([]float64, m)
	for i := range r.n {
		b, err := r.feed.get(i)
		if err != nil {
			return err
		}
		if err := p.trainStage(ctx, s, b, r.base+uint64(i), losses, busy); err != nil {
			return err
		}
		r.feed.release(i)
		if last {
			sum := 0.0
			for _, l := range losses {
				sum += l
			}
			if err := r.stepDone(i, sum); err != nil {
				return err
			}
		}
	}
	return nil
}
