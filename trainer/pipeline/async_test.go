package pipeline

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

func opsString(ops []Op) string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, o.String())
	}
	return strings.Join(parts, " ")
}

// opRecorder records, per stage, the operations a pipeline runs with the
// stage's update count at each (Pipeline.trace).
type opRecorder struct {
	mu     sync.Mutex
	events [][]opEvent
}

type opEvent struct {
	op      Op
	updates uint64
}

func recordOps(p *Pipeline) *opRecorder {
	r := &opRecorder{events: make([][]opEvent, len(p.stages))}
	p.trace = func(s int, op Op, updates uint64) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events[s] = append(r.events[s], opEvent{op, updates})
	}
	return r
}

func (r *opRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.events {
		r.events[s] = nil
	}
}

// check returns stage s's recorded operations and the largest staleness
// seen, and reports every backward of microbatch j that came other than
// want(j) updates after its forward.
func (r *opRecorder) check(t *testing.T, s int, want func(j int) uint64) (ops []Op, maxStale uint64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	fwdAt := map[int]uint64{}
	for _, e := range r.events[s] {
		ops = append(ops, e.op)
		j := e.op.Microbatch
		if !e.op.Backward {
			fwdAt[j] = e.updates
			continue
		}
		stale := e.updates - fwdAt[j]
		if w := want(j); stale != w {
			t.Errorf("stage %d microbatch %d: %d updates between forward and backward, want %d", s, j, stale, w)
		}
		maxStale = max(maxStale, stale)
	}
	return ops, maxStale
}

// TestAsyncOps: the 1F1B order per stage for S = 3, M = 4 (and the edge
// cases M < S and S = 1), both as Ops defines it and as the stages run it;
// and the staleness it implies: a microbatch's backward on stage s comes
// min(j, S−1−s) updates after its forward, so stage 0 does see stale weights.
func TestAsyncOps(t *testing.T) {
	want := map[[3]int][]string{
		{3, 4}: {
			"F0 F1 F2 B0 F3 B1 B2 B3",
			"F0 F1 B0 F2 B1 F3 B2 B3",
			"F0 B0 F1 B1 F2 B2 F3 B3",
		},
		{3, 1}: {"F0 B0", "F0 B0", "F0 B0"},
		{3, 2}: {"F0 F1 B0 B1", "F0 F1 B0 B1", "F0 B0 F1 B1"},
		{1, 3}: {"F0 B0 F1 B1 F2 B2"},
	}
	for k, stages := range want {
		for s, w := range stages {
			if got := opsString(Async1F1B.Ops(k[0], s, k[1])); got != w {
				t.Errorf("S=%d M=%d stage %d: %s, want %s", k[0], k[1], s, got, w)
			}
		}
	}
	if got := opsString(GPipe.Ops(3, 0, 3)); got != "F0 F1 F2 B0 B1 B2" {
		t.Errorf("GPipe stage 0: %s", got)
	}

	const m = 4
	p := newPipeline(t, Config{Spec: tinySpec(4), Microbatches: m, Schedule: Async1F1B})
	rec := recordOps(p)
	for step := range 2 {
		rec.reset()
		if _, err := p.Step(context.Background(), batch(step)); err != nil {
			t.Fatal(err)
		}
		maxStale := make([]uint64, 3)
		for s := range 3 {
			var ops []Op
			ops, maxStale[s] = rec.check(t, s, func(j int) uint64 { return uint64(min(j, 3-1-s)) })
			if got := opsString(ops); got != want[[3]int{3, m}][s] {
				t.Errorf("step %d stage %d ran %s, want %s", step, s, got, want[[3]int{3, m}][s])
			}
		}
		if maxStale[0] == 0 {
			t.Error("stage 0 never saw a stale gradient")
		}
		t.Logf("step %d: max staleness per stage %v", step, maxStale)
	}
	for s, u := range p.Updates() {
		if u != 2*m {
			t.Errorf("stage %d: %d updates after 2 steps of %d microbatches", s, u, m)
		}
	}
}

func TestStageMomentum(t *testing.T) {
	for _, tc := range []struct {
		base        float64
		stage, n    int
		want        float64
		description string
	}{
		{0.9, 2, 3, 0.9, "last stage: base"},
		{0.9, 1, 3, 0.93, "middle"},
		{0.9, 0, 3, 0.96, "first"},
		{0.9, 0, 1, 0.9, "single stage"},
		{0.99, 0, 8, 0.99, "base at the ceiling"},
	} {
		if got := StageMomentum(tc.base, tc.stage, tc.n, 1); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: StageMomentum(%v, %d, %d, 1) = %v, want %v", tc.description, tc.base, tc.stage, tc.n, got, tc.want)
		}
	}
	// Depth 2, three stages: staleness 4, 2, 0 of at most 4, so
	// β₁ = 0.9 + τ·0.09/5; depth 0 means 1.
	for s, want := range []float64{0.972, 0.936, 0.9} {
		if got := StageMomentum(0.9, s, 3, 2); math.Abs(got-want) > 1e-12 {
			t.Errorf("depth 2 stage %d: β₁ %v, want %v", s, got, want)
		}
		if StageMomentum(0.9, s, 3, 0) != StageMomentum(0.9, s, 3, 1) {
			t.Errorf("depth 0 stage %d differs from depth 1", s)
		}
	}
	f := StageNAdam(optim.NAdamConfig{LearningRate: 1e-3}, 3, 1)
	for s, want := range []float64{0.96, 0.93, 0.9} {
		o, err := f(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.(*optim.NAdam).Config().Beta1; math.Abs(got-want) > 1e-12 {
			t.Errorf("stage %d: β₁ %v, want %v", s, got, want)
		}
	}
	if _, err := f(3); err == nil {
		t.Error("stage 3 of 3 did not fail")
	}
}

// asyncByHand runs steps Async1F1B steps at depth d on fresh stages of s
// without links or goroutines: a sequential loop that runs, round-robin, each
// stage's next operation of AsyncOps once its input is there, with the same
// per-stage NAdam as the pipeline's default (lr 1e-2). Each stage's results
// depend only on its own sequence of operations and their inputs, so any
// such order gives the pipeline's results bit for bit. With stream the steps
// form one sequence (Train); without, each step is its own (Step).
func asyncByHand(t *testing.T, s spec.Spec, m, steps, d int, stream bool) ([]float64, []*engine.Stage) {
	t.Helper()
	n := len(s.Stages)
	newOpt := StageNAdam(optim.NAdamConfig{LearningRate: 1e-2}, n, d)
	var st []*engine.Stage
	for i := range n {
		o, err := newOpt(i)
		if err != nil {
			t.Fatal(err)
		}
		x, err := engine.New(backend(), s, i, engine.Options{Optimizer: o})
		if err != nil {
			t.Fatal(err)
		}
		st = append(st, x)
	}
	losses := make([]float64, steps)
	// run runs the steps [first, first+k) as one sequence.
	run := func(first, k int) {
		r := rows / m
		acts := make([]map[int]*tensors.Tensor, n)  // acts[s][g]: input of stage s
		grads := make([]map[int]*tensors.Tensor, n) // grads[s][g]: dOut of stage s
		ops := make([][]Op, n)
		for i := range n {
			acts[i], grads[i] = map[int]*tensors.Tensor{}, map[int]*tensors.Tensor{}
			ops[i] = AsyncOps(n, i, k*m, d)
		}
		for left := 2 * k * m * n; left > 0; {
			progress := false
			for i := range n {
				if len(ops[i]) == 0 {
					continue
				}
				op := ops[i][0]
				g := op.Microbatch
				step, j := first+g/m, g%m
				b := batch(7 * step)
				ids, tg := boundary.IDs(b.Inputs, j, r, seq), boundary.IDs(b.Targets, j, r, seq)
				if i == 0 {
					acts[0][g] = ids
				}
				if !op.Backward {
					in, ok := acts[i][g]
					if !ok {
						continue
					}
					if i < n-1 {
						y, err := st[i].Forward(in, ids)
						if err != nil {
							t.Fatal(err)
						}
						acts[i+1][g] = y
					}
				} else {
					var dIn *tensors.Tensor
					var err error
					if i == n-1 {
						var l float64
						dIn, l, err = st[i].BackwardLoss(acts[i][g], ids, tg)
						losses[step] += l
					} else {
						dOut, ok := grads[i][g]
						if !ok {
							continue
						}
						dIn, err = st[i].Backward(acts[i][g], ids, dOut)
					}
					if err != nil {
						t.Fatal(err)
					}
					if i > 0 {
						grads[i-1][g] = dIn
					}
				}
				ops[i] = ops[i][1:]
				left--
				progress = true
			}
			if !progress {
				t.Fatal("schedule deadlocks")
			}
		}
	}
	if stream {
		run(0, steps)
	} else {
		for k := range steps {
			run(k, 1)
		}
	}
	for k := range losses {
		losses[k] /= float64(m) // the mean of the step's microbatch losses, summed in order
	}
	return losses, st
}

// TestAsyncMatchesHandDriven: on ideal links and under real-clock links with
// latency and loss, the async pipeline computes exactly (bit for bit) what
// a sequential run of the same per-stage schedules does, so goroutine timing
// changes nothing; with one stage that is plain per-microbatch training.
func TestAsyncMatchesHandDriven(t *testing.T) {
	const steps = 3
	single := tinySpec(0)
	single.NLayers, single.Stages = 1, []int{1}
	slow := link.Config{Latency: time.Millisecond, Bandwidth: 50e6, Loss: 0.05, MTU: 64, Seed: 5}
	for _, tc := range []struct {
		name   string
		s      spec.Spec
		m, d   int
		stream bool
		links  []link.Config
	}{
		{"single-stage", single, 4, 1, false, nil},
		{"raw", tinySpec(0), 4, 1, false, nil},
		{"compressed", tinySpec(4), 2, 1, false, nil},
		{"compressed-slow-links", tinySpec(4), 4, 1, false, []link.Config{slow, {Latency: 2 * time.Millisecond}}},
		{"stream", tinySpec(4), 2, 1, true, nil},
		{"stream-depth-2-slow-links", tinySpec(4), 2, 2, true, []link.Config{slow, {Latency: 2 * time.Millisecond}}},
		{"stream-depth-3-raw", tinySpec(0), 1, 3, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := noLeak(t)
			p := newPipeline(t, Config{Spec: tc.s, Microbatches: tc.m, Schedule: Async1F1B, Depth: tc.d, Links: tc.links})
			var got []float64
			if tc.stream {
				got = trainStream(t, p, steps)
			} else {
				got = train(t, p, steps)
			}
			want, hand := asyncByHand(t, tc.s, tc.m, steps, tc.d, tc.stream)
			for i := range steps {
				if got[i] != want[i] {
					t.Errorf("step %d: pipeline loss %.17g, by hand %.17g", i, got[i], want[i])
				}
			}
			for i, st := range p.Stages() {
				for j, v := range st.Params() {
					a, b := flat32(t, v), flat32(t, hand[i].Params()[j])
					for e := range a {
						if a[e] != b[e] {
							t.Fatalf("stage %d %s[%d]: pipeline %v, by hand %v", i, v.Name(), e, a[e], b[e])
						}
					}
				}
			}
			t.Logf("losses %v", got)
			done()
		})
	}
	// One stage: the by-hand loop above is then literally per-microbatch
	// BackwardLoss with NAdam(β₁ = base); check that independently too.
	o, err := optim.NewNAdam(optim.NAdamConfig{LearningRate: 1e-2, Beta1: DefaultBaseMomentum})
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.New(backend(), single, 0, engine.Options{Optimizer: o})
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, Config{Spec: single, Microbatches: 4, Schedule: Async1F1B})
	got := train(t, p, steps)
	for k := range steps {
		b := batch(7 * k)
		loss := 0.0
		for j := range 4 {
			_, l, err := st.BackwardLoss(boundary.IDs(b.Inputs, j, 1, seq), nil, boundary.IDs(b.Targets, j, 1, seq))
			if err != nil {
				t.Fatal(err)
			}
			loss += l
		}
		if loss/4 != got[k] {
			t.Fatalf("single stage step %d: pipeline %.17g, plain per-microbatch training %.17g", k, got[k], loss/4)
		}
	}
}

// TestAsyncLossFalls: three stages under Async1F1B learn the repeated text
// within 40 steps, raw and compressed, and Eval agrees.
func TestAsyncLossFalls(t *testing.T) {
	for _, k := range []int{0, 4} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			p := newPipeline(t, Config{Spec: tinySpec(k), Microbatches: 4, Schedule: Async1F1B})
			ev := []data.Batch{batch(3), batch(11)}
			before, err := p.Eval(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			losses := train(t, p, 40)
			assertFalls(t, losses)
			after, err := p.Eval(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if !(after < 0.7*before) {
				t.Fatalf("eval loss %.4f → %.4f", before, after)
			}
			t.Logf("train %.3f → %.3f, eval %.3f → %.3f", losses[0], losses[len(losses)-1], before, after)
		})
	}
}

// TestAsyncDeterministic: two runs from the same seed, one over ideal links
// and one over real-clock links with latency, jitter from packet loss and
// different speeds per boundary, give the same losses.
func TestAsyncDeterministic(t *testing.T) {
	const steps = 5
	a := train(t, newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 4, Schedule: Async1F1B}), steps)
	links := []link.Config{{Latency: 3 * time.Millisecond, Loss: 0.1, MTU: 32, Seed: 9}, {Bandwidth: 1e6}}
	b := train(t, newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 4, Schedule: Async1F1B, Links: links}), steps)
	for i := range steps {
		if a[i] != b[i] {
			t.Fatalf("step %d: %.17g vs %.17g", i, a[i], b[i])
		}
	}
}

// scheduleCase is one contender of the schedule comparison.
type scheduleCase struct {
	name string
	cfg  func() Config
}

// scheduleCases are GPipe with its default AdamW, GPipe with NAdam at the
// base momentum (the same optimizer family as the async path) and Async1F1B,
// all at lr 1e-2 with M = 4, over links of the given latency on both
// boundaries (real clock).
func scheduleCases(latency time.Duration) []scheduleCase {
	links := func() []link.Config { return []link.Config{{Latency: latency}, {Latency: latency}} }
	lr := engine.Options{LearningRate: 1e-2}
	return []scheduleCase{
		{"gpipe-adamw", func() Config { return Config{Spec: tinySpec(4), Microbatches: 4, Links: links(), Options: lr} }},
		{"gpipe-nadam", func() Config {
			return Config{Spec: tinySpec(4), Microbatches: 4, Links: links(), NewOptimizer: func(int) (engine.Optimizer, error) {
				return optim.NewNAdam(optim.NAdamConfig{LearningRate: 1e-2, Beta1: DefaultBaseMomentum})
			}}
		}},
		{"async-1f1b", func() Config {
			return Config{Spec: tinySpec(4), Microbatches: 4, Links: links(), Options: lr, Schedule: Async1F1B}
		}},
	}
}

// TestScheduleComparison measures, never asserts: for the same number of
// microbatches (10 steps of M = 4) on ideal links and on links with 2 ms
// latency under the real clock, each schedule's loss and eval loss at the end and its steps per
// second. Async1F1B makes M updates per step where GPipe makes one, and
// drains at the end of each Step like GPipe, so its step time has the same
// bubble (package documentation).
func TestScheduleComparison(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	const steps = 10
	ev := []data.Batch{batch(3), batch(11)}
	for _, c := range append(scheduleCases(0), scheduleCases(2*time.Millisecond)...) {
		p := newPipeline(t, c.cfg())
		if _, err := p.Step(context.Background(), batch(100)); err != nil { // compile the graphs
			t.Fatal(err)
		}
		start := time.Now()
		losses := train(t, p, steps)
		el := time.Since(start)
		after, err := p.Eval(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-12s latency %v, %d microbatches (%d updates/stage): loss %.3f → %.3f, eval %.3f; %.1f steps/s (%.1f ms/step)",
			c.name, p.cfg.Links[0].Latency, steps*4, p.Updates()[0], losses[0], losses[steps-1], after, steps/el.Seconds(), el.Seconds()*1e3/steps)
	}
}

// BenchmarkSchedules: steps per second and the last step's loss of each
// schedule on 2 ms links (real clock), b.N steps of M = 4 after one warm-up
// step.
func BenchmarkSchedules(b *testing.B) {
	for _, c := range scheduleCases(2 * time.Millisecond) {
		b.Run(c.name, func(b *testing.B) {
			cfg := c.cfg()
			cfg.Backend = backend()
			p, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if _, err := p.Step(context.Background(), batch(100)); err != nil {
				b.Fatal(err)
			}
			var loss float64
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if loss, err = p.Step(context.Background(), batch(7*i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "steps/s")
			b.ReportMetric(loss, "loss")
		})
	}
}
