package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// backend is the test binary's shared Go backend.
var backend = testbackend.Go

const (
	rows, seq = 4, testspec.SeqLen
	text      = "the quick brown fox jumps over the lazy dog. "
)

func tinySpec(k int) spec.Spec { return testspec.Tiny(k) }

// batch is rows windows of text starting at off, off+seq+1, ….
func batch(off int) data.Batch {
	b := data.Batch{Size: rows, SeqLen: seq, Inputs: make([]int32, rows*seq), Targets: make([]int32, rows*seq)}
	for r := range rows {
		for i := range seq {
			at := off + r*(seq+3) + i
			b.Inputs[r*seq+i] = int32(text[at%len(text)])
			b.Targets[r*seq+i] = int32(text[(at+1)%len(text)])
		}
	}
	return b
}

func newPipeline(t *testing.T, cfg Config) *Pipeline {
	t.Helper()
	if cfg.Backend == nil {
		cfg.Backend = backend()
	}
	if cfg.Options.LearningRate == 0 {
		cfg.Options.LearningRate = 1e-2
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// noLeak fails the test if goroutines started after it was called are still
// running shortly after the returned function is called.
func noLeak(t *testing.T) func() {
	t.Helper()
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func flat32(t *testing.T, v interface {
	Value() (*tensors.Tensor, error)
},
) []float32 {
	t.Helper()
	x, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](x)
}

// handSteps drives fresh stages of s by hand, without links, for steps
// batches split into m microbatches: full-batch Backward when m = 1,
// AccumulateBackward and ApplyAccumulated otherwise. With f32 payloads and
// float32 stages the wire is lossless, so a pipeline must match it bit for bit.
func handSteps(t *testing.T, s spec.Spec, m, steps int) ([]float64, []*engine.Stage) {
	t.Helper()
	var st []*engine.Stage
	for i := range s.Stages {
		x, err := engine.New(backend(), s, i, engine.Options{LearningRate: 1e-2})
		if err != nil {
			t.Fatal(err)
		}
		st = append(st, x)
	}
	last := len(st) - 1
	var losses []float64
	for k := range steps {
		b := batch(5 * k)
		r := rows / m
		loss := 0.0
		for j := range m {
			in, tg := boundary.IDs(b.Inputs, j, r, seq), boundary.IDs(b.Targets, j, r, seq)
			acts := []*tensors.Tensor{in}
			for _, x := range st[:last] {
				y, err := x.Forward(acts[len(acts)-1], in)
				if err != nil {
					t.Fatal(err)
				}
				acts = append(acts, y)
			}
			var d *tensors.Tensor
			var l float64
			var err error
			if m == 1 {
				d, l, err = st[last].BackwardLoss(acts[last], in, tg)
			} else {
				d, l, err = st[last].AccumulateBackwardLoss(acts[last], in, tg)
			}
			if err != nil {
				t.Fatal(err)
			}
			loss += l
			for i := last - 1; i >= 0; i-- {
				if m == 1 {
					d, err = st[i].Backward(acts[i], in, d)
				} else {
					d, err = st[i].AccumulateBackward(acts[i], in, d)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if m > 1 {
			for _, x := range st {
				if err := x.ApplyAccumulated(); err != nil {
					t.Fatal(err)
				}
			}
		}
		losses = append(losses, loss/float64(m))
	}
	return losses, st
}

// TestMatchesHandDriven: the pipeline on ideal links computes exactly what
// driving the stages by hand does: M = 1 is full-batch Backward steps, M = 2
// the hand-driven accumulation (bit for bit), and M = 2 is M = 1 up to float32
// rounding; raw and compressed.
func TestMatchesHandDriven(t *testing.T) {
	const steps = 3
	for _, k := range []int{0, 4} {
		s := tinySpec(k)
		var byM [3][]float64
		for _, m := range []int{1, 2} {
			done := noLeak(t)
			p := newPipeline(t, Config{Spec: s, Microbatches: m})
			var got []float64
			for i := range steps {
				l, err := p.Step(context.Background(), batch(5*i))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			want, hand := handSteps(t, s, m, steps)
			for i := range steps {
				if got[i] != want[i] {
					t.Errorf("k=%d M=%d step %d: pipeline loss %.17g, by hand %.17g", k, m, i, got[i], want[i])
				}
			}
			for i, st := range p.Stages() {
				for j, v := range st.Params() {
					a, b := flat32(t, v), flat32(t, hand[i].Params()[j])
					for e := range a {
						if a[e] != b[e] {
							t.Fatalf("k=%d M=%d stage %d %s[%d]: pipeline %v, by hand %v", k, m, i, v.Name(), e, a[e], b[e])
						}
					}
				}
			}
			byM[m] = got
			done()
		}
		for i := range steps {
			if d := math.Abs(byM[1][i] - byM[2][i]); d > 1e-5*byM[1][i] {
				t.Errorf("k=%d step %d: M=1 loss %.9g, M=2 %.9g", k, i, byM[1][i], byM[2][i])
			}
		}
		t.Logf("k=%d losses M=1 %v, M=2 %v", k, byM[1], byM[2])
	}
}

// train runs steps steps on the repeated text and returns the losses.
func train(t *testing.T, p *Pipeline, steps int) []float64 {
	t.Helper()
	var losses []float64
	for i := range steps {
		l, err := p.Step(context.Background(), batch(7*i))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
	}
	return losses
}

// trainStream runs steps steps on the repeated text as one Train call and
// returns the losses, checking that onStep saw each of them in order.
func trainStream(t *testing.T, p *Pipeline, steps int) []float64 {
	t.Helper()
	k := 0
	var seen []float64
	losses, err := p.Train(context.Background(), steps, func() (data.Batch, error) {
		k++
		return batch(7 * (k - 1)), nil
	}, func(i int, loss float64) error {
		if i != len(seen) {
			return fmt.Errorf("onStep(%d) after %d steps", i, len(seen))
		}
		seen = append(seen, loss)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != steps || k != steps {
		t.Fatalf("Train(%d): %d losses, %d batches taken", steps, len(losses), k)
	}
	for i := range losses {
		if seen[i] != losses[i] {
			t.Fatalf("step %d: onStep loss %v, returned %v", i, seen[i], losses[i])
		}
	}
	return losses
}

func assertFalls(t *testing.T, losses []float64) {
	t.Helper()
	first, last := losses[0], losses[len(losses)-1]
	if !(last < 0.7*first) {
		t.Fatalf("loss %.4f → %.4f: did not fall by 30%%: %v", first, last, losses)
	}
}

// TestLossFalls: GPipe with M = 2 learns the repeated text within 30 steps,
// raw and compressed, f32 and bf16 payloads; Eval agrees.
func TestLossFalls(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    int
		dt   payload.DType
	}{{"raw-f32", 0, payload.F32}, {"compressed-f32", 4, payload.F32}, {"compressed-bf16", 4, payload.BF16}, {"raw-bf16", 0, payload.BF16}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t, Config{Spec: tinySpec(tc.k), Microbatches: 2, PayloadDType: tc.dt})
			eval := []data.Batch{batch(3), batch(11)}
			before, err := p.Eval(context.Background(), eval)
			if err != nil {
				t.Fatal(err)
			}
			losses := train(t, p, 30)
			assertFalls(t, losses)
			after, err := p.Eval(context.Background(), eval)
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

// TestBytesPerStep: per step each boundary carries exactly M activation
// payloads downstream and M gradient payloads upstream, of
// payload.EncodedSize bytes each; Eval only activations.
func TestBytesPerStep(t *testing.T) {
	for _, tc := range []struct {
		k     int
		dt    payload.DType
		m     int
		sched Schedule
	}{{0, payload.F32, 2, GPipe}, {4, payload.F32, 2, GPipe}, {4, payload.BF16, 4, GPipe}, {4, payload.F32, 4, Async1F1B}} {
		p := newPipeline(t, Config{Spec: tinySpec(tc.k), Microbatches: tc.m, PayloadDType: tc.dt, Schedule: tc.sched})
		act, err := payload.EncodedSize(p.ActivationShape(rows/tc.m, seq))
		if err != nil {
			t.Fatal(err)
		}
		grad, err := payload.EncodedSize(p.GradientShape(rows/tc.m, seq))
		if err != nil {
			t.Fatal(err)
		}
		// Independent of the package: header + ids (1 byte each) + values.
		w := tinySpec(tc.k).BoundaryWidth()
		tok := rows / tc.m * seq
		if act != payload.HeaderSize+tok+tok*w*tc.dt.Size() || grad != payload.HeaderSize+tok*w*tc.dt.Size() {
			t.Fatalf("encoded sizes %d, %d", act, grad)
		}
		for step := range 2 {
			before := p.Boundaries()
			if _, err := p.Step(context.Background(), batch(step)); err != nil {
				t.Fatal(err)
			}
			for i, b := range p.Boundaries() {
				fm, fb := b.Forward.Messages-before[i].Forward.Messages, b.Forward.Bytes-before[i].Forward.Bytes
				bm, bb := b.Backward.Messages-before[i].Backward.Messages, b.Backward.Bytes-before[i].Backward.Bytes
				if fm != int64(tc.m) || fb != int64(tc.m*act) || bm != int64(tc.m) || bb != int64(tc.m*grad) {
					t.Fatalf("k=%d %v M=%d boundary %d: forward %d msgs %d bytes, backward %d msgs %d bytes; want %d×%d and %d×%d",
						tc.k, tc.dt, tc.m, i, fm, fb, bm, bb, tc.m, act, tc.m, grad)
				}
			}
		}
		for i, st := range p.StageTimes() {
			if st.Busy <= 0 || st.Total < st.Busy {
				t.Fatalf("stage %d times %+v", i, st)
			}
		}
		before := p.Boundaries()
		if _, err := p.Eval(context.Background(), []data.Batch{batch(1), batch(2)}); err != nil {
			t.Fatal(err)
		}
		full, _ := payload.EncodedSize(p.ActivationShape(rows, seq))
		for i, b := range p.Boundaries() {
			if fb, bb := b.Forward.Bytes-before[i].Forward.Bytes, b.Backward.Bytes-before[i].Backward.Bytes; fb != int64(2*full) || bb != 0 {
				t.Fatalf("eval boundary %d: %d bytes forward, %d backward; want %d, 0", i, fb, bb, 2*full)
			}
		}
	}
}

// TestErrors: a failing stage's error names it, the step returns only after
// every stage goroutine has ended, and the pipeline refuses further steps.
func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		inject func(p *Pipeline)
		stage  string // the stage (or either of two, "1|2") that must be named
		is     error
	}{
		// Either end of the closed link may notice first.
		{"closed link", func(p *Pipeline) { p.pairs[1].Backward.Close() }, "stage 1|stage 2", link.ErrClosed},
		{"malformed payload", func(p *Pipeline) {
			_, _ = p.pairs[0].Forward.Send([]byte("PLP1 not a payload at all, but long enough for the header"))
		}, "stage 1", payload.ErrMalformed},
		{"NaN activation", func(p *Pipeline) {
			v := p.Stages()[0].Params()[0]
			x := flat32(t, v)
			for i := range x {
				x[i] = float32(math.NaN())
			}
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(x, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
		}, "stage 0", payload.ErrNonFinite},
		{"stale payload", func(p *Pipeline) {
			msg, err := payload.Encode(&payload.Payload{
				Kind: payload.Gradients, DType: payload.F32, Step: 0, Microbatch: 0,
				Batch: rows / 2, Seq: seq, Width: 16, Data: make([]float32, rows/2*seq*16),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = p.pairs[1].Backward.Send(msg)
		}, "stage 1", payload.ErrShape},
	}
	for _, sched := range []Schedule{GPipe, Async1F1B} {
		for _, tc := range cases {
			t.Run(sched.String()+"/"+tc.name, func(t *testing.T) {
				done := noLeak(t)
				p := newPipeline(t, Config{Spec: tinySpec(0), Microbatches: 2, Schedule: sched})
				if _, err := p.Step(context.Background(), batch(0)); err != nil {
					t.Fatal(err)
				}
				tc.inject(p)
				_, err := p.Step(context.Background(), batch(1))
				if err == nil {
					t.Fatal("no error")
				}
				named := false
				for _, st := range strings.Split(tc.stage, "|") {
					named = named || strings.HasPrefix(err.Error(), "pipeline: "+st+":")
				}
				if !named || !errors.Is(err, tc.is) {
					t.Fatalf("error %q: want %s and %v", err, tc.stage, tc.is)
				}
				t.Log(err)
				done()
				if _, err2 := p.Step(context.Background(), batch(2)); err2 == nil || !errors.Is(err2, tc.is) {
					t.Fatalf("step after a failure: %v", err2)
				}
			})
		}
	}
	for _, sched := range []Schedule{GPipe, Async1F1B} {
		t.Run(sched.String()+"/cancelled", func(t *testing.T) {
			done := noLeak(t)
			// A slow link (1 s latency, real clock) and a context that ends first.
			p := newPipeline(t, Config{Spec: tinySpec(0), Microbatches: 2, Schedule: sched, Links: []link.Config{{Latency: time.Second}, {}}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := p.Step(ctx, batch(0))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want the context's", err)
			}
			done()
		})
	}
	t.Run("bad batch", func(t *testing.T) {
		p := newPipeline(t, Config{Spec: tinySpec(0), Microbatches: 3})
		if _, err := p.Step(context.Background(), batch(0)); err == nil {
			t.Fatal("4 rows in 3 microbatches did not fail")
		}
	})
}

// TestRealClockLatency: links with 2 ms latency, 50 Mbit/s and 5% packet loss under the wall
// clock change nothing but the timing: the losses equal those on ideal links.
func TestRealClockLatency(t *testing.T) {
	const steps = 4
	s := tinySpec(4)
	ideal := train(t, newPipeline(t, Config{Spec: s, Microbatches: 2}), steps)
	slow := link.Config{Latency: 2 * time.Millisecond, Bandwidth: 50e6, Loss: 0.05, MTU: 64, Seed: 3}
	p := newPipeline(t, Config{Spec: s, Microbatches: 2, Links: []link.Config{slow, slow}})
	got := train(t, p, steps)
	for i := range steps {
		if got[i] != ideal[i] {
			t.Fatalf("step %d: loss %.17g over slow links, %.17g ideal", i, got[i], ideal[i])
		}
	}
	var retransmits int64
	for _, b := range p.Boundaries() {
		retransmits += b.Forward.Retransmits + b.Backward.Retransmits
	}
	if retransmits == 0 {
		t.Fatal("no packet was lost: the test does not exercise retransmission")
	}
	t.Logf("%d retransmissions; stage times of the last step: %+v", retransmits, p.StageTimes())
}

// TestFloat64Stages: float64 stages send float32 payloads; M = 2 and M = 1
// agree up to that rounding, and the model trains.
func TestFloat64Stages(t *testing.T) {
	var byM [3][]float64
	for _, m := range []int{1, 2} {
		o := engine.Options{DType: dtypes.Float64, LearningRate: 1e-2}
		byM[m] = train(t, newPipeline(t, Config{Spec: tinySpec(4), Microbatches: m, Options: o}), 30)
	}
	for i := range byM[1] {
		if d := math.Abs(byM[1][i] - byM[2][i]); d > 1e-5*byM[1][i] {
			t.Fatalf("step %d: M=1 loss %.12g, M=2 %.12g", i, byM[1][i], byM[2][i])
		}
	}
	assertFalls(t, byM[2])
}

// TestSingleStage: a one-stage model has no links and still trains.
func TestSingleStage(t *testing.T) {
	s := tinySpec(0)
	s.NLayers, s.Stages = 1, []int{1}
	p := newPipeline(t, Config{Spec: s, Microbatches: 2})
	if len(p.Boundaries()) != 0 {
		t.Fatalf("%d boundaries", len(p.Boundaries()))
	}
	assertFalls(t, train(t, p, 30))
	if _, err := p.Eval(context.Background(), []data.Batch{batch(1)}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	good := Config{Spec: tinySpec(0), Backend: backend()}
	for name, mut := range map[string]func(c *Config){
		"no backend":     func(c *Config) { c.Backend = nil },
		"bad spec":       func(c *Config) { c.Spec.NHeads = 3 },
		"microbatches":   func(c *Config) { c.Microbatches = -1 },
		"payload dtype":  func(c *Config) { c.PayloadDType = 9 },
		"links count":    func(c *Config) { c.Links = []link.Config{{}} },
		"link config":    func(c *Config) { c.Links = []link.Config{{}, {Loss: 1}} },
		"optimizer fail": func(c *Config) { c.NewOptimizer = func(int) (engine.Optimizer, error) { return nil, errors.New("no") } },
		"schedule":       func(c *Config) { c.Schedule = 7 },
		"async nadam":    func(c *Config) { c.Schedule, c.AsyncNAdam.Beta2 = Async1F1B, 2 },
	} {
		c := good
		mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	p, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := p.Step(context.Background(), batch(0)); err == nil {
		t.Fatal("Step after Close did not fail")
	}
}

// TestNAdamFactory: each stage gets its own optimizer from the factory.
func TestNAdamFactory(t *testing.T) {
	made := map[int]bool{}
	p := newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 2, NewOptimizer: func(stage int) (engine.Optimizer, error) {
		made[stage] = true
		c := optim.DefaultNAdam()
		c.LearningRate = 1e-2
		return optim.NewNAdam(c)
	}})
	if len(made) != 3 {
		t.Fatalf("optimizers made for stages %v", made)
	}
	assertFalls(t, train(t, p, 30))
}
