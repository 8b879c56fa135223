package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Config describes a pipeline run in one process.
type Config struct {
	// Spec is the model; it fixes the stages.
	Spec spec.Spec
	// Backend runs every stage's graphs (the Go backend in ops_sequential
	// mode, docs/ALGORITHMS.md, "GoMLX backends").
	Backend compute.Backend
	// Microbatches is M, the number of microbatches a Step splits its batch
	// into (the batch's rows must be a multiple of M); 0 means 1.
	Microbatches int
	// Links are the paths between stage i and i+1, one per boundary
	// (len(Spec.Stages)−1 of them); nil means ideal links everywhere.
	Links []link.Config
	// Clock times the links; nil is link.RealClock.
	Clock link.Clock
	// PayloadDType is the wire type of activations and gradients: payload.F32
	// (the default when 0) or payload.BF16.
	PayloadDType payload.DType
	// Options are every stage's engine options.
	Options engine.Options
	// NewOptimizer, when set, makes each stage's optimizer (replacing
	// Options.Optimizer): a stage's optimizer holds no state outside the
	// stage's store, but a fresh one per stage keeps them independent.
	NewOptimizer func(stage int) (engine.Optimizer, error)
	// Limits bound what a stage accepts from the wire; zero fields take
	// payload.DefaultLimits.
	Limits payload.Limits
	// Schedule is GPipe (the default) or Async1F1B (package documentation).
	Schedule Schedule
	// Depth is Async1F1B's depth d (AsyncOps): stage s runs d·(S−1−s)
	// warm-up forwards, so d times the classic 1F1B's microbatches are in
	// flight (to cover slow links' round trips) at d times the staleness;
	// 0 means 1. GPipe ignores it.
	Depth int
	// AsyncNAdam configures the optimizer Async1F1B uses when neither
	// NewOptimizer nor Options.Optimizer is set: each stage gets
	// optim.NewNAdam of it with β₁ = StageMomentum(AsyncNAdam.Beta1, stage,
	// stages, Depth), so its Beta1 is the base momentum m (0 means
	// DefaultBaseMomentum). A zero LearningRate takes Options.LearningRate
	// (1e-3 when that is 0 too), a zero WeightDecay Options.WeightDecay; the
	// other zero fields are filled by optim.NewNAdam (ClipNorm 0 means no
	// clipping). GPipe ignores it.
	AsyncNAdam optim.NAdamConfig
}

// StageTime is where one stage's time went in the last Step or Eval.
type StageTime struct {
	// Busy is the time spent computing: engine calls, encoding and decoding.
	Busy time.Duration
	// Total is the stage's wall time in the step, waiting for its
	// neighbours included.
	Total time.Duration
}

// BoundaryStats are the counters of the links between stage Index and
// Index+1 since the pipeline was made.
type BoundaryStats struct {
	Index    int
	Forward  link.Stats // activations, downstream
	Backward link.Stats // gradients, upstream
}

// Pipeline is the stages of one model, each run by its own goroutine during
// Step and Eval, joined only by emulated links. It is not safe for concurrent
// use.
type Pipeline struct {
	cfg    Config
	stages []*engine.Stage
	pairs  []*link.Pair // pairs[i] joins stage i and i+1
	codec  boundary.Codec
	steps  uint64 // completed steps
	// updates counts each stage's optimizer updates; only stage s's
	// goroutine writes updates[s] during a Step.
	updates []uint64
	// trace, when set (tests), is called by stage s's goroutine before each
	// Async1F1B operation with the stage's update count at that moment.
	trace  func(s int, op Op, updates uint64)
	times  []StageTime
	broken error // set by a failed Step or Eval: the links may hold stale messages
}

// New builds the stages (initialized from the spec's seed) and the links.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend == nil {
		return nil, errors.New("pipeline: no backend")
	}
	if cfg.Microbatches == 0 {
		cfg.Microbatches = 1
	}
	if cfg.Microbatches < 0 {
		return nil, fmt.Errorf("pipeline: %d microbatches; it must be positive", cfg.Microbatches)
	}
	if cfg.PayloadDType == 0 {
		cfg.PayloadDType = payload.F32
	}
	if cfg.PayloadDType.Size() == 0 {
		return nil, fmt.Errorf("pipeline: payload dtype %v; use payload.F32 or payload.BF16", cfg.PayloadDType)
	}
	if cfg.Schedule != GPipe && cfg.Schedule != Async1F1B {
		return nil, fmt.Errorf("pipeline: unknown schedule %v", cfg.Schedule)
	}
	if cfg.Depth == 0 {
		cfg.Depth = 1
	}
	if cfg.Depth < 0 {
		return nil, fmt.Errorf("pipeline: depth %d; it must be positive (1 is the classic 1F1B)", cfg.Depth)
	}
	n := len(cfg.Spec.Stages)
	if cfg.Schedule == Async1F1B && cfg.NewOptimizer == nil && cfg.Options.Optimizer == nil {
		cfg.NewOptimizer = asyncNAdam(cfg, n)
	}
	if cfg.Links == nil {
		cfg.Links = make([]link.Config, n-1)
	}
	if len(cfg.Links) != n-1 {
		return nil, fmt.Errorf("pipeline: %d link configs for %d boundaries (%d stages)", len(cfg.Links), n-1, n)
	}
	p := &Pipeline{cfg: cfg, times: make([]StageTime, n), updates: make([]uint64, n)}
	for i := range n {
		o := cfg.Options
		if cfg.NewOptimizer != nil {
			opt, err := cfg.NewOptimizer(i)
			if err != nil {
				return nil, fmt.Errorf("pipeline: stage %d: optimizer: %w", i, err)
			}
			o.Optimizer = opt
		}
		st, err := engine.New(cfg.Backend, cfg.Spec, i, o)
		if err != nil {
			return nil, fmt.Errorf("pipeline: stage %d: %w", i, err)
		}
		p.stages = append(p.stages, st)
	}
	p.codec = boundary.Codec{Spec: cfg.Spec, Wire: cfg.PayloadDType, Engine: p.stages[0].DType(), Limits: cfg.Limits}
	for i, lc := range cfg.Links {
		pair, err := link.NewPair(lc, cfg.Clock)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("pipeline: boundary %d→%d: %w", i, i+1, err)
		}
		p.pairs = append(p.pairs, pair)
	}
	return p, nil
}

// Stages are the pipeline's stages, stage 0 first (for checkpoints and
// inspection; do not use them while a Step or Eval runs).
func (p *Pipeline) Stages() []*engine.Stage { return p.stages }

// Steps is the number of completed training steps.
func (p *Pipeline) Steps() uint64 { return p.steps }

// StageTimes are each stage's times in the last Step or Eval.
func (p *Pipeline) StageTimes() []StageTime { return append([]StageTime(nil), p.times...) }

// Boundaries are the byte and message counters of each boundary's links.
func (p *Pipeline) Boundaries() []BoundaryStats {
	out := make([]BoundaryStats, len(p.pairs))
	for i, pr := range p.pairs {
		out[i] = BoundaryStats{Index: i, Forward: pr.Forward.Stats(), Backward: pr.Backward.Stats()}
	}
	return out
}

// Close closes the links; the pipeline cannot run afterwards.
func (p *Pipeline) Close() {
	for _, pr := range p.pairs {
		pr.Close()
	}
	if p.broken == nil {
		p.broken = errors.New("pipeline: closed")
	}
}

// ActivationShape is the payload shape of the activations of a microbatch of
// rows×seq tokens, and GradientShape that of their gradients.
func (p *Pipeline) ActivationShape(rows, seq int) payload.Shape {
	return p.codec.ActivationShape(rows, seq)
}

// GradientShape: see ActivationShape.
func (p *Pipeline) GradientShape(rows, seq int) payload.Shape {
	return p.codec.GradientShape(rows, seq)
}

// Step trains on one batch with the Config's schedule (package
// documentation) and returns its loss: the mean over microbatches of each
// microbatch's mean cross-entropy. Under GPipe every stage makes one
// optimizer step, and the loss, taken before it, is the batch's mean
// cross-entropy. Under Async1F1B every stage makes one update per
// microbatch, and each microbatch's loss is taken by the last stage just
// before its own update (after the updates of the microbatches before it);
// every microbatch of the batch has completed when Step returns.
func (p *Pipeline) Step(ctx context.Context, b data.Batch) (float64, error) {
	if p.broken != nil {
		return 0, p.broken
	}
	if err := checkStepBatch(b, p.cfg.Microbatches); err != nil {
		return 0, err
	}
	losses, err := p.Train(ctx, 1, func() (data.Batch, error) { return b, nil }, nil)
	if err != nil {
		return 0, err
	}
	return losses[0], nil
}

// Eval runs the batches forward through every stage, without training, and
// returns the mean of their mean cross-entropies. Each batch travels as one
// microbatch (no gradient comes back).
func (p *Pipeline) Eval(ctx context.Context, batches []data.Batch) (float64, error) {
	if p.broken != nil {
		return 0, p.broken
	}
	if len(batches) == 0 {
		return 0, errors.New("pipeline: Eval of no batches")
	}
	for _, b := range batches {
		if err := checkBatch(b); err != nil {
			return 0, err
		}
	}
	losses := make([]float64, len(batches))
	err := p.run(ctx, func(ctx context.Context, s int, busy *time.Duration) error {
		return p.evalStage(ctx, s, batches, losses, busy)
	})
	if err != nil {
		p.broken = fmt.Errorf("pipeline: unusable after a failed eval: %w", err)
		return 0, err
	}
	sum := 0.0
	for _, l := range losses {
		sum += l
	}
	return sum / float64(len(losses)), nil
}

// checkStepBatch checks a training batch: well formed (checkBatch) and
// splitting into m equal microbatches.
func checkStepBatch(b data.Batch, m int) error {
	if err := checkBatch(b); err != nil {
		return err
	}
	if b.Size%m != 0 {
		return fmt.Errorf("pipeline: batch of %d rows does not split into %d equal microbatches", b.Size, m)
	}
	return nil
}

func checkBatch(b data.Batch) error {
	if b.Size <= 0 || b.SeqLen <= 0 || len(b.Inputs) != b.Size*b.SeqLen || len(b.Targets) != b.Size*b.SeqLen {
		return fmt.Errorf("pipeline: malformed batch: %d rows of %d tokens, %d inputs, %d targets", b.Size, b.SeqLen, len(b.Inputs), len(b.Targets))
	}
	return nil
}

// run runs f for every stage, each in its own goroutine, and waits for all of
// them. The first error (or panic) cancels the others' context and is
// returned, wrapped with its stage; errors caused by that cancellation are
// dropped.
func (p *Pipeline) run(ctx context.Context, f func(ctx context.Context, s int, busy *time.Duration) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	times := make([]StageTime, len(p.stages))
	for s := range p.stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return f(ctx, s, &times[s].Busy)
			}()
			times[s].Total = time.Since(start)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// A stage that fails because the context ended (another stage
			// failed, or the caller's context) is not the cause.
			if first == nil && (ctx.Err() == nil || !errors.Is(err, ctx.Err())) {
				first = fmt.Errorf("pipeline: stage %d: %w", s, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	p.times = times
	if first == nil && ctx.Err() != nil {
		first = fmt.Errorf("pipeline: %w", ctx.Err())
	}
	return first
}

// trainStage is stage s's part of a GPipe step: the forwards of all
// microbatches as they arrive (the last stage runs each microbatch's loss and
// backward at once), then the backwards in the same order, accumulating
// parameter gradients, then one optimizer step.
func (p *Pipeline) trainStage(ctx context.Context, s int, b data.Batch, step uint64, losses []float64, busy *time.Duration) error {
	st := p.stages[s]
	info := st.Info()
	m := p.cfg.Microbatches
	rows := b.Size / m
	type saved struct{ in, ids *tensors.Tensor }
	keep := make([]saved, m)
	for j := range m {
		in, ids, err := p.microbatchInput(ctx, s, b, step, j, busy)
		if err != nil {
			return err
		}
		keep[j] = saved{in, ids}
		t0 := time.Now()
		if info.Last {
			var dIn *tensors.Tensor
			targets := boundary.IDs(b.Targets, j, rows, b.SeqLen)
			if dIn, losses[j], err = st.AccumulateBackwardLoss(in, ids, targets); err != nil {
				return fmt.Errorf("step %d microbatch %d: backward: %w", step, j, err)
			}
			*busy += time.Since(t0)
			if !info.First {
				if err := p.sendGradients(s, step, j, dIn, busy); err != nil {
					return err
				}
			}
			continue
		}
		out, err := st.Forward(in, ids)
		if err != nil {
			return fmt.Errorf("step %d microbatch %d: forward: %w", step, j, err)
		}
		*busy += time.Since(t0)
		if err := p.sendActivations(s, step, j, out, ids, busy); err != nil {
			return err
		}
	}
	if !info.Last {
		for j := range m {
			dOut, err := p.recvGradients(ctx, s, step, j, rows, b.SeqLen, busy)
			if err != nil {
				return err
			}
			t0 := time.Now()
			dIn, err := st.AccumulateBackward(keep[j].in, keep[j].ids, dOut)
			if err != nil {
				return fmt.Errorf("step %d microbatch %d: backward: %w", step, j, err)
			}
			*busy += time.Since(t0)
			keep[j] = saved{}
			if !info.First {
				if err := p.sendGradients(s, step, j, dIn, busy); err != nil {
					return err
				}
			}
		}
	}
	t0 := time.Now()
	if err := st.ApplyAccumulated(); err != nil {
		return fmt.Errorf("step %d: optimizer step: %w", step, err)
	}
	p.updates[s]++
	*busy += time.Since(t0)
	return nil
}

// evalStage is stage s's part of Eval.
func (p *Pipeline) evalStage(ctx context.Context, s int, batches []data.Batch, losses []float64, busy *time.Duration) error {
	st := p.stages[s]
	info := st.Info()
	for j, b := range batches {
		var in, ids *tensors.Tensor
		var err error
		if info.First {
			ids = boundary.IDs(b.Inputs, 0, b.Size, b.SeqLen)
			in = ids
		} else if in, ids, err = p.recvActivations(ctx, s, p.steps, j, b.Size, b.SeqLen, busy); err != nil {
			return err
		}
		t0 := time.Now()
		if info.Last {
			if losses[j], err = st.Loss(in, ids, boundary.IDs(b.Targets, 0, b.Size, b.SeqLen)); err != nil {
				return fmt.Errorf("eval batch %d: loss: %w", j, err)
			}
			*busy += time.Since(t0)
			continue
		}
		out, err := st.Forward(in, ids)
		if err != nil {
			return fmt.Errorf("eval batch %d: forward: %w", j, err)
		}
		*busy += time.Since(t0)
		if err := p.sendActivations(s, p.steps, j, out, ids, busy); err != nil {
			return err
		}
	}
	return nil
}

// microbatchInput is stage s's input for microbatch j of step's batch b:
// its token ids on the first stage, else the activations from stage s−1.
func (p *Pipeline) microbatchInput(ctx context.Context, s int, b data.Batch, step uint64, j int, busy *time.Duration) (in, ids *tensors.Tensor, err error) {
	rows := b.Size / p.cfg.Microbatches
	if s == 0 {
		ids = boundary.IDs(b.Inputs, j, rows, b.SeqLen)
		return ids, ids, nil
	}
	return p.recvActivations(ctx, s, step, j, rows, b.SeqLen, busy)
}

// sendActivations encodes stage s's output for microbatch j with its token
// ids and sends it downstream.
func (p *Pipeline) sendActivations(s int, step uint64, j int, out, ids *tensors.Tensor, busy *time.Duration) error {
	t0 := time.Now()
	msg, err := p.codec.EncodeActivations(out, ids, step, uint32(j))
	if err != nil {
		return fmt.Errorf("microbatch %d: encoding activations for stage %d: %w", j, s+1, err)
	}
	*busy += time.Since(t0)
	if _, err := p.pairs[s].Forward.Send(msg); err != nil {
		return fmt.Errorf("microbatch %d: sending activations to stage %d: %w", j, s+1, err)
	}
	return nil
}

// sendGradients encodes stage s's dIn for microbatch j and sends it upstream.
func (p *Pipeline) sendGradients(s int, step uint64, j int, dIn *tensors.Tensor, busy *time.Duration) error {
	t0 := time.Now()
	msg, err := p.codec.EncodeGradients(dIn, step, uint32(j))
	if err != nil {
		return fmt.Errorf("microbatch %d: encoding gradients for stage %d: %w", j, s-1, err)
	}
	*busy += time.Since(t0)
	if _, err := p.pairs[s-1].Backward.Send(msg); err != nil {
		return fmt.Errorf("microbatch %d: sending gradients to stage %d: %w", j, s-1, err)
	}
	return nil
}

// recvActivations receives microbatch j's activations from stage s−1 and
// checks them against what stage s expects.
func (p *Pipeline) recvActivations(ctx context.Context, s int, step uint64, j, rows, seq int, busy *time.Duration) (in, ids *tensors.Tensor, err error) {
	msg, err := p.pairs[s-1].Forward.Recv(ctx)
	if err == nil {
		t0 := time.Now()
		var pl *payload.Payload
		pl, in, ids, err = p.codec.DecodeActivations(msg, rows, seq)
		if err == nil {
			err = checkMicrobatch(pl, step, j)
		}
		*busy += time.Since(t0)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("step %d microbatch %d: activations from stage %d: %w", step, j, s-1, err)
	}
	return in, ids, nil
}

// recvGradients receives microbatch j's gradients from stage s+1.
func (p *Pipeline) recvGradients(ctx context.Context, s int, step uint64, j, rows, seq int, busy *time.Duration) (*tensors.Tensor, error) {
	msg, err := p.pairs[s].Backward.Recv(ctx)
	var dOut *tensors.Tensor
	if err == nil {
		t0 := time.Now()
		var pl *payload.Payload
		pl, dOut, err = p.codec.DecodeGradients(msg, rows, seq)
		if err == nil {
			err = checkMicrobatch(pl, step, j)
		}
		*busy += time.Since(t0)
	}
	if err != nil {
		return nil, fmt.Errorf("step %d microbatch %d: gradients from stage %d: %w", step, j, s+1, err)
	}
	return dOut, nil
}

// checkMicrobatch checks that pl is microbatch j of step.
func checkMicrobatch(pl *payload.Payload, step uint64, j int) error {
	if pl.Step != step || pl.Microbatch != uint32(j) {
		return fmt.Errorf("%w: step %d microbatch %d, expected step %d microbatch %d", payload.ErrShape, pl.Step, pl.Microbatch, step, j)
	}
	return nil
}
