package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/trainer/data"
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
// stages stages with m microbatches; it depends on nothing else, so the
// schedule never depends on timing.
//
// Async1F1B: w = min(stages−1−stage, m) warm-up forwards F0 … F(w−1), then
// alternately one forward and one backward, F(w) B0 F(w+1) B1 …, until the
// forwards run out, then the remaining backwards (the drain). GPipe: F0 …
// F(m−1) then B0 … B(m−1), except on the last stage, which runs each
// microbatch's loss and backward as soon as its input arrives
// (F0 B0 F1 B1 …).
func (s Schedule) Ops(stages, stage, m int) []Op {
	ops := make([]Op, 0, 2*m)
	fwd := func(j int) { ops = append(ops, Op{Microbatch: j}) }
	bwd := func(j int) { ops = append(ops, Op{Backward: true, Microbatch: j}) }
	if stage == stages-1 {
		for j := range m {
			fwd(j)
			bwd(j)
		}
		return ops
	}
	if s == GPipe {
		for j := range m {
			fwd(j)
		}
		for j := range m {
			bwd(j)
		}
		return ops
	}
	w := min(stages-1-stage, m)
	for j := range w {
		fwd(j)
	}
	for j := range m - w {
		fwd(w + j)
		bwd(j)
	}
	for j := m - w; j < m; j++ {
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

// StageMomentum is NAdam's β₁ for stage of stages under Async1F1B without
// weight stashing (shared/notes/algorithms.md, "Asynchronous pipeline with a
// Nesterov delay correction", from the authors' code of arXiv 2505.01099):
//
//	β₁(stage) = m + (V − 1)·(0.99 − m)/stages,  V = stages − stage
//
// where V is the number of weight versions stage would keep with weight
// stashing (its warm-up microbatches + 1), so V − 1 = stages − 1 − stage is
// the stage's steady-state staleness τ: the last stage (τ = 0) gets m, stage
// 0 the most, m + (stages−1)(0.99 − m)/stages, approaching 0.99.
func StageMomentum(base float64, stage, stages int) float64 {
	return base + float64(stages-1-stage)*(MaxMomentum-base)/float64(stages)
}

// StageNAdam makes a Config.NewOptimizer for Async1F1B: NAdam with cfg for
// every stage but β₁, which is StageMomentum(cfg.Beta1, stage, stages)
// (cfg.Beta1 is the base m; 0 means DefaultBaseMomentum).
func StageNAdam(cfg optim.NAdamConfig, stages int) func(stage int) (engine.Optimizer, error) {
	base := cfg.Beta1
	if base == 0 {
		base = DefaultBaseMomentum
	}
	return func(stage int) (engine.Optimizer, error) {
		if stage < 0 || stage >= stages {
			return nil, fmt.Errorf("pipeline: stage %d of %d", stage, stages)
		}
		c := cfg
		c.Beta1 = StageMomentum(base, stage, stages)
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
	return StageNAdam(c, stages)
}

// Updates is the number of optimizer updates each stage has made since the
// pipeline was made: one per Step under GPipe, one per microbatch under
// Async1F1B.
func (p *Pipeline) Updates() []uint64 { return append([]uint64(nil), p.updates...) }

// asyncStage is stage s's part of an Async1F1B step: the operations of
// Async1F1B.Ops in order, each backward updating the stage's parameters at
// once with its microbatch's gradient. A microbatch's input is kept from its
// forward to its backward (at most warm-up + 1 of them); the backward
// recomputes the forward with the stage's current parameters (no stashing).
func (p *Pipeline) asyncStage(ctx context.Context, s int, b data.Batch, losses []float64, busy *time.Duration) error {
	st := p.stages[s]
	info := st.Info()
	m := p.cfg.Microbatches
	rows := b.Size / m
	type saved struct{ in, ids *tensors.Tensor }
	keep := make([]saved, m)
	for _, op := range Async1F1B.Ops(len(p.stages), s, m) {
		j := op.Microbatch
		if p.trace != nil {
			p.trace(s, op, p.updates[s])
		}
		if !op.Backward {
			var in, ids *tensors.Tensor
			var err error
			if info.First {
				ids = idsTensor(b.Inputs, j, rows, b.SeqLen)
				in = ids
			} else if in, ids, err = p.recvActivations(ctx, s, j, rows, b.SeqLen, busy); err != nil {
				return err
			}
			keep[j] = saved{in, ids}
			if info.Last {
				continue // the loss and backward are the next op
			}
			t0 := time.Now()
			out, err := st.Forward(in, ids)
			if err != nil {
				return fmt.Errorf("microbatch %d: forward: %w", j, err)
			}
			*busy += time.Since(t0)
			if err := p.sendActivations(s, j, out, ids, busy); err != nil {
				return err
			}
			continue
		}
		var dIn *tensors.Tensor
		var err error
		t0 := time.Now()
		if info.Last {
			targets := idsTensor(b.Targets, j, rows, b.SeqLen)
			if dIn, losses[j], err = st.BackwardLoss(keep[j].in, keep[j].ids, targets); err != nil {
				return fmt.Errorf("microbatch %d: backward: %w", j, err)
			}
		} else {
			dOut, err := p.recvGradients(ctx, s, j, rows, b.SeqLen, busy)
			if err != nil {
				return err
			}
			t0 = time.Now()
			if dIn, err = st.Backward(keep[j].in, keep[j].ids, dOut); err != nil {
				return fmt.Errorf("microbatch %d: backward: %w", j, err)
			}
		}
		*busy += time.Since(t0)
		p.updates[s]++
		keep[j] = saved{}
		if !info.First {
			if err := p.sendGradients(s, j, dIn, busy); err != nil {
				return err
			}
		}
	}
	return nil
}
