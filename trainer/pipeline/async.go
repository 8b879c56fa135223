package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
)

// Schedule is the order in which the stages run the forwards and backwards
// of a Step's microbatches, and when they update (package documentation).
type Schedule int

const (
	// GPipe is the synchronous schedule: all forwards, then all backwards
	// with accumulated gradients, then one optimizer step per stage (the
	// flush). It is the default.
	GPipe Schedule = iota
	// Async1F1B is the asynchronous one-forward-one-backward schedule: each
	// backward applies the stage's optimizer at once with that microbatch's
	// gradient, without weight stashing, the staleness corrected by NAdam
	// with a stage-dependent momentum (StageMomentum).
	Async1F1B
)

func (s Schedule) String() string {
	switch s {
	case GPipe:
		return "gpipe"
	case Async1F1B:
		return "async-1f1b"
	}
	return fmt.Sprintf("Schedule(%d)", int(s))
}

// Op is one operation of a stage in a Step: the forward (Backward false) or
// the backward of a microbatch. On the last stage a forward only takes the
// microbatch's input, and its backward computes the loss, the gradients and
// (Async1F1B) the update.
type Op struct {
	Backward   bool
	Microbatch int
}

func (o Op) String() string {
	if o.Backward {
		return fmt.Sprintf("B%d", o.Microbatch)
	}
	return fmt.Sprintf("F%d", o.Microbatch)
}

// Ops is the sequence of operations stage runs in one Step of a pipeline of
// stages stages with m microbatches, at depth 1; it depends on nothing else,
// so the schedule never depends on timing.
//
// Async1F1B: AsyncOps(stages, stage, m, 1). GPipe: F0 … F(m−1) then B0 …
// B(m−1), except on the last stage, which runs each microbatch's loss and
// backward as soon as its input arrives (F0 B0 F1 B1 …); each GPipe step
// ends with the stage's one optimizer update.
func (s Schedule) Ops(stages, stage, m int) []Op {
	if s == Async1F1B {
		return AsyncOps(stages, stage, m, 1)
	}
	ops := make([]Op, 0, 2*m)
	for j := range m {
		ops = append(ops, Op{Microbatch: j})
		if stage == stages-1 {
			ops = append(ops, Op{Backward: true, Microbatch: j})
		}
	}
	if stage < stages-1 {
		for j := range m {
			ops = append(ops, Op{Backward: true, Microbatch: j})
		}
	}
	return ops
}

// AsyncOps is the Async1F1B sequence of stage over a stream of n
// microbatches (numbered 0 … n−1 across the steps of one Train call) at
// depth d: w = min(d·(stages−1−stage), n) warm-up forwards F0 … F(w−1), then
// alternately one forward and one backward, F(w) B0 F(w+1) B1 …, until the
// forwards run out, then the remaining backwards (the drain). The last stage
// (w = 0) runs F0 B0 F1 B1 …. Depth 1 is the classic 1F1B; a larger depth
// keeps d times as many microbatches in flight, so that a gradient's round
// trip over slow links overlaps with more forwards, at d times the
// staleness.
func AsyncOps(stages, stage, n, d int) []Op {
	ops := make([]Op, 0, 2*n)
	fwd := func(j int) { ops = append(ops, Op{Microbatch: j}) }
	bwd := func(j int) { ops = append(ops, Op{Backward: true, Microbatch: j}) }
	w := min(max(d, 1)*(stages-1-stage), n)
	for j := range w {
		fwd(j)
	}
	for j := range n - w {
		fwd(w + j)
		bwd(j)
	}
	for j := n - w; j < n; j++ {
		bwd(j)
	}
	return ops
}

// MaxMomentum is the momentum the stage-dependent correction tends to as the
// staleness grows: the β₁ of arXiv 2505.01099's code.
const MaxMomentum = 0.99

// DefaultBaseMomentum is the base momentum m of Async1F1B's default
// optimizer: the last stage's β₁.
const DefaultBaseMomentum = 0.9

// StageMomentum is NAdam's β₁ for stage of stages under Async1F1B at depth
// d (Config.Depth) without weight stashing (docs/ALGORITHMS.md,
// "Asynchronous pipeline with a Nesterov delay correction", from the
// authors' code of arXiv 2505.01099). At depth 1 it is the authors' rule
//
//	β₁(stage) = m + (V − 1)·(0.99 − m)/stages,  V = stages − stage
//
// where V is the number of weight versions stage would keep with weight
// stashing (its warm-up microbatches + 1), so V − 1 = stages − 1 − stage is
// the stage's steady-state staleness τ: the last stage (τ = 0) gets m, stage
// 0 the most, m + (stages−1)(0.99 − m)/stages, approaching 0.99. At depth d
// the staleness is τ = d·(stages−1−stage) and the rule generalizes with the
// same shape, β₁ = m + τ·(0.99 − m)/(τ_max + 1), τ_max = d·(stages−1) (so
// depth 1 is exactly the rule above): the most delayed stage gets the most
// momentum, still below 0.99.
func StageMomentum(base float64, stage, stages, d int) float64 {
	d = max(d, 1)
	tau, tauMax := d*(stages-1-stage), d*(stages-1)
	return base + float64(tau)*(MaxMomentum-base)/float64(tauMax+1)
}

// StageNAdam makes a Config.NewOptimizer for Async1F1B at depth d: NAdam
// with cfg for every stage but β₁, which is StageMomentum(cfg.Beta1, stage,
// stages, d) (cfg.Beta1 is the base m; 0 means DefaultBaseMomentum).
func StageNAdam(cfg optim.NAdamConfig, stages, d int) func(stage int) (engine.Optimizer, error) {
	base := cfg.Beta1
	if base == 0 {
		base = DefaultBaseMomentum
	}
	return func(stage int) (engine.Optimizer, error) {
		if stage < 0 || stage >= stages {
			return nil, fmt.Errorf("pipeline: stage %d of %d", stage, stages)
		}
		c := cfg
		c.Beta1 = StageMomentum(base, stage, stages, d)
		return optim.NewNAdam(c)
	}
}

// asyncNAdam is the optimizer factory Async1F1B uses when the Config names
// none: Config.AsyncNAdam, its zero learning rate and weight decay taken
// from Options (1e-3 when that is 0 too).
func asyncNAdam(cfg Config, stages int) func(stage int) (engine.Optimizer, error) {
	c := cfg.AsyncNAdam
	if c.LearningRate == 0 {
		c.LearningRate = cfg.Options.LearningRate
	}
	if c.LearningRate == 0 {
		c.LearningRate = 1e-3
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = cfg.Options.WeightDecay
	}
	return StageNAdam(c, stages, cfg.Depth)
}

// Updates is the number of optimizer updates each stage has made since the
// pipeline was made: one per Step under GPipe, one per microbatch under
// Async1F1B.
func (p *Pipeline) Updates() []uint64 { return append([]uint64(nil), p.updates...) }

// asyncStage is stage s's part of an Async1F1B stream: the operations of
// AsyncOps over the stream's n·M microbatches in order, each backward
// updating the stage's parameters at once with its microbatch's gradient. A
// microbatch's input is kept from its forward to its backward (at most
// warm-up + 1 of them); the backward recomputes the forward with the stage's
// current parameters (no stashing).
func (p *Pipeline) asyncStage(ctx context.Context, s int, r *stream, busy *time.Duration) error {
	st := p.stages[s]
	info := st.Info()
	m := p.cfg.Microbatches
	type saved struct{ in, ids *tensors.Tensor }
	keep := map[int]saved{}
	for _, op := range AsyncOps(len(p.stages), s, r.n*m, p.cfg.Depth) {
		g := op.Microbatch
		i, j := g/m, g%m
		step := r.base + uint64(i)
		b, err := r.feed.get(i)
		if err != nil {
			return err
		}
		rows := b.Size / m
		if p.trace != nil {
			p.trace(s, op, p.updates[s])
		}
		if !op.Backward {
			in, ids, err := p.microbatchInput(ctx, s, b, step, j, busy)
			if err != nil {
				return err
			}
			keep[g] = saved{in, ids}
			if info.Last {
				continue // the loss and backward are the next op
			}
			t0 := time.Now()
			out, err := st.Forward(in, ids)
			if err != nil {
				return fmt.Errorf("step %d microbatch %d: forward: %w", step, j, err)
			}
			*busy += time.Since(t0)
			if err := p.sendActivations(s, step, j, out, ids, busy); err != nil {
				return err
			}
			continue
		}
		var dIn *tensors.Tensor
		t0 := time.Now()
		if info.Last {
			var loss float64
			targets := boundary.IDs(b.Targets, j, rows, b.SeqLen)
			if dIn, loss, err = st.BackwardLoss(keep[g].in, keep[g].ids, targets); err != nil {
				return fmt.Errorf("step %d microbatch %d: backward: %w", step, j, err)
			}
			r.losses[i] += loss
		} else {
			dOut, err := p.recvGradients(ctx, s, step, j, rows, b.SeqLen, busy)
			if err != nil {
				return err
			}
			t0 = time.Now()
			if dIn, err = st.Backward(keep[g].in, keep[g].ids, dOut); err != nil {
				return fmt.Errorf("step %d microbatch %d: backward: %w", step, j, err)
			}
		}
		*busy += time.Since(t0)
		p.updates[s]++
		delete(keep, g)
		if !info.First {
			if err := p.sendGradients(s, step, j, dIn, busy); err != nil {
				return err
			}
		}
		if j == m-1 { // the stage is done with step i
			r.feed.release(i)
			if info.Last {
				if err := r.stepDone(i, r.losses[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
