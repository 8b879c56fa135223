package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/link"
)

// TestAsyncOpsDepth: AsyncOps over a stream of several steps' microbatches
// and at depth 2 (twice the warm-up, capped by the stream's length).
func TestAsyncOpsDepth(t *testing.T) {
	for _, tc := range []struct {
		stages, stage, n, d int
		want                string
	}{
		{3, 0, 8, 2, "F0 F1 F2 F3 F4 B0 F5 B1 F6 B2 F7 B3 B4 B5 B6 B7"},
		{3, 1, 8, 2, "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 F6 B4 F7 B5 B6 B7"},
		{3, 2, 4, 2, "F0 B0 F1 B1 F2 B2 F3 B3"},
		{3, 0, 3, 2, "F0 F1 F2 B0 B1 B2"},
		{3, 0, 6, 0, "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5"}, // depth 0 is 1
	} {
		if got := opsString(AsyncOps(tc.stages, tc.stage, tc.n, tc.d)); got != tc.want {
			t.Errorf("AsyncOps(%d, %d, %d, %d) = %s, want %s", tc.stages, tc.stage, tc.n, tc.d, got, tc.want)
		}
	}
}

// TestStreamStaleness: in one Train call of 3 steps at depth 2 the stages
// run AsyncOps over all 3·M microbatches (no drain between steps), and the
// backward of stream microbatch g on stage s comes min(g, 2·(S−1−s)) updates
// after its forward: the steady-state staleness is reached and kept across
// step boundaries.
func TestStreamStaleness(t *testing.T) {
	const m, steps, d = 2, 3, 2
	p := newPipeline(t, Config{Spec: tinySpec(4), Microbatches: m, Schedule: Async1F1B, Depth: d})
	rec := recordOps(p)
	trainStream(t, p, steps)
	for s := range 3 {
		ops, maxStale := rec.check(t, s, func(g int) uint64 { return uint64(min(g, d*(3-1-s))) })
		if got, want := opsString(ops), opsString(AsyncOps(3, s, steps*m, d)); got != want {
			t.Errorf("stage %d ran %s, want %s", s, got, want)
		}
		if want := uint64(d * (3 - 1 - s)); maxStale != want {
			t.Errorf("stage %d: max staleness %d, want %d", s, maxStale, want)
		}
	}
	for s, u := range p.Updates() {
		if u != steps*m {
			t.Errorf("stage %d: %d updates after %d streamed steps of %d microbatches", s, u, steps, m)
		}
	}
}

// TestGPipeStreamMatchesSteps: under GPipe, one Train call of several steps
// is the same computation as as many Step calls, bit for bit, over ideal
// links and over slow ones; the step count and the next Step continue.
func TestGPipeStreamMatchesSteps(t *testing.T) {
	const steps = 4
	want := train(t, newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 2}), steps)
	links := []link.Config{{Latency: 2 * time.Millisecond}, {Bandwidth: 5e6, Latency: time.Millisecond}}
	for _, l := range [][]link.Config{nil, links} {
		done := noLeak(t)
		p := newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 2, Links: l})
		got := trainStream(t, p, steps)
		for i := range steps {
			if got[i] != want[i] {
				t.Fatalf("links %v step %d: Train %.17g, Step %.17g", l, i, got[i], want[i])
			}
		}
		if p.Steps() != steps {
			t.Fatalf("Steps() = %d after Train(%d)", p.Steps(), steps)
		}
		if _, err := p.Step(context.Background(), batch(99)); err != nil {
			t.Fatalf("Step after Train: %v", err)
		}
		done()
	}
}

// TestStreamThenEval: Eval and Step work between Train calls under both
// schedules, and the async stream's loss falls.
func TestStreamThenEval(t *testing.T) {
	for _, sched := range []Schedule{GPipe, Async1F1B} {
		p := newPipeline(t, Config{Spec: tinySpec(4), Microbatches: 4, Schedule: sched, Depth: 2})
		ev := []data.Batch{batch(3), batch(11)}
		before, err := p.Eval(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		losses := trainStream(t, p, 20)
		losses = append(losses, trainStream(t, p, 20)...)
		assertFalls(t, losses)
		after, err := p.Eval(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if !(after < 0.7*before) {
			t.Fatalf("%v: eval loss %.4f → %.4f", sched, before, after)
		}
		if p.Steps() != 40 {
			t.Fatalf("%v: Steps() = %d", sched, p.Steps())
		}
	}
}

// TestStreamErrors: a bad batch source, a batch that does not split, and an
// onStep error fail the run with a message saying which step, leave no
// goroutine behind, and make the pipeline refuse further calls; bad Train
// arguments fail without breaking it.
func TestStreamErrors(t *testing.T) {
	boom := errors.New("corpus gone")
	for _, sched := range []Schedule{GPipe, Async1F1B} {
		for _, tc := range []struct {
			name   string
			next   func(k int) (data.Batch, error)
			onStep func(i int, loss float64) error
			want   string
		}{
			{"source error", func(k int) (data.Batch, error) {
				if k == 2 {
					return data.Batch{}, boom
				}
				return batch(k), nil
			}, nil, "batch of step 2: corpus gone"},
			{"odd batch", func(k int) (data.Batch, error) {
				b := batch(k)
				if k == 1 {
					b.Size, b.Inputs, b.Targets = 3, b.Inputs[:3*seq], b.Targets[:3*seq]
				}
				return b, nil
			}, nil, "batch of step 1: pipeline: batch of 3 rows does not split into 2 equal microbatches"},
			{"malformed batch", func(k int) (data.Batch, error) {
				b := batch(k)
				if k == 1 {
					b.Targets = b.Targets[1:]
				}
				return b, nil
			}, nil, "batch of step 1: pipeline: malformed batch"},
			{
				"onStep error", func(k int) (data.Batch, error) { return batch(k), nil },
				func(i int, _ float64) error {
					if i == 1 {
						return boom
					}
					return nil
				}, "step 1: corpus gone",
			},
		} {
			t.Run(sched.String()+"/"+tc.name, func(t *testing.T) {
				done := noLeak(t)
				p := newPipeline(t, Config{Spec: tinySpec(0), Microbatches: 2, Schedule: sched})
				k := 0
				_, err := p.Train(context.Background(), 4, func() (data.Batch, error) {
					k++
					return tc.next(k - 1)
				}, tc.onStep)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				t.Log(err)
				done()
				if _, err := p.Step(context.Background(), batch(0)); err == nil {
					t.Fatal("Step after a failed Train did not fail")
				}
			})
		}
	}
	p := newPipeline(t, Config{Spec: tinySpec(0)})
	if _, err := p.Train(context.Background(), 0, func() (data.Batch, error) { return batch(0), nil }, nil); err == nil {
		t.Error("Train of 0 steps did not fail")
	}
	if _, err := p.Train(context.Background(), 1, nil, nil); err == nil {
		t.Error("Train without a source did not fail")
	}
	if _, err := p.Step(context.Background(), batch(0)); err != nil {
		t.Fatalf("bad Train arguments broke the pipeline: %v", err)
	}
	if _, err := New(Config{Spec: tinySpec(0), Backend: backend(), Depth: -1}); err == nil {
		t.Error("depth -1 did not fail")
	}
}
