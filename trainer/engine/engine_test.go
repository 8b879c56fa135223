package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// backend is the test binary's shared Go backend.
var backend = testbackend.Go

const batch, seq = 2, testspec.SeqLen

func tinySpec() spec.Spec { return testspec.Tiny(0) }

func newStages(t *testing.T, s spec.Spec, o Options) []*Stage {
	t.Helper()
	var st []*Stage
	for i := range s.Stages {
		x, err := New(backend(), s, i, o)
		if err != nil {
			t.Fatal(err)
		}
		st = append(st, x)
	}
	return st
}

func ids(text string, off, b, n int) *tensors.Tensor {
	v := make([]int32, b*n)
	for r := range b {
		for i := range n {
			v[r*n+i] = int32(text[(off+r*n+i)%len(text)])
		}
	}
	return tensors.FromFlatDataAndDimensions(v, b, n)
}

func flat64(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	return tensors.MustCopyFlatData[float64](x)
}

func TestForwardShapes(t *testing.T) {
	s := tinySpec()
	st := newStages(t, s, Options{})
	x := ids("hello, world", 0, batch, seq)
	var err error
	for _, stage := range st {
		if x, err = stage.Forward(x, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := x.Shape().Dimensions; len(got) != 3 || got[0] != batch || got[1] != seq || got[2] != s.Vocab {
		t.Fatalf("logits shape %v", got)
	}
}

// TestGradCheck compares a middle stage's dIn and one parameter's gradient
// with central finite differences of ⟨dOut, out⟩, in float64.
func TestGradCheck(t *testing.T) {
	s := tinySpec()
	st := newStages(t, s, Options{DType: dtypes.Float64})
	x0, err := st[0].Forward(ids("the quick brown fox", 0, batch, seq), nil)
	if err != nil {
		t.Fatal(err)
	}
	mid := st[1]
	xv := flat64(t, x0)
	dOutV := make([]float64, len(xv))
	for i := range dOutV {
		dOutV[i] = math.Sin(float64(i)*0.7) + 0.1
	}
	dims := []int{batch, seq, s.DModel}
	dOut := tensors.FromFlatDataAndDimensions(dOutV, dims...)
	obj := func(in []float64) float64 {
		y, err := mid.Forward(tensors.FromFlatDataAndDimensions(in, dims...), nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, v := range flat64(t, y) {
			sum += v * dOutV[i]
		}
		return sum
	}
	_, dIn, pg, err := mid.Gradients(x0, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	dInV := flat64(t, dIn)
	const eps = 1e-5
	for _, i := range []int{0, 5, 17, 100, len(xv) - 1} {
		p := append([]float64(nil), xv...)
		p[i] += eps
		m := append([]float64(nil), xv...)
		m[i] -= eps
		fd := (obj(p) - obj(m)) / (2 * eps)
		t.Logf("dIn[%d] = %.10g, finite difference %.10g", i, dInV[i], fd)
		if !near(fd, dInV[i]) {
			t.Errorf("dIn[%d] = %.10g, finite difference %.10g", i, dInV[i], fd)
		}
	}
	// One parameter: wq of the middle layer (index 1 of the stage's params).
	v := mid.Params()[1]
	if v.Name() != "wq" {
		t.Fatalf("param 1 is %s", v.Name())
	}
	gv := flat64(t, pg[1])
	orig := flat64(t, v.MustValue())
	for _, i := range []int{0, 37, 255} {
		set := func(delta float64) float64 {
			w := append([]float64(nil), orig...)
			w[i] += delta
			v.MustSetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...))
			return obj(xv)
		}
		fd := (set(eps) - set(-eps)) / (2 * eps)
		set(0)
		t.Logf("d wq[%d] = %.10g, finite difference %.10g", i, gv[i], fd)
		if !near(fd, gv[i]) {
			t.Errorf("d wq[%d] = %.10g, finite difference %.10g", i, gv[i], fd)
		}
	}
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-6*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestDeterminism(t *testing.T) {
	s := tinySpec()
	run := func() []float32 {
		st := newStages(t, s, Options{})
		x := ids("determinism", 3, batch, seq)
		var err error
		for _, stage := range st {
			if x, err = stage.Forward(x, nil); err != nil {
				t.Fatal(err)
			}
		}
		return tensors.MustCopyFlatData[float32](x)
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v vs %v", i, a[i], b[i])
		}
	}
	s2 := s
	s2.Seed++
	st := newStages(t, s2, Options{})
	y, err := st[0].Forward(ids("determinism", 3, batch, seq), nil)
	if err != nil {
		t.Fatal(err)
	}
	st1 := newStages(t, s, Options{})
	z, err := st1[0].Forward(ids("determinism", 3, batch, seq), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tensors.MustCopyFlatData[float32](y)[0] == tensors.MustCopyFlatData[float32](z)[0] {
		t.Fatal("different seeds gave the same embedding")
	}
}

// train runs steps synchronous steps (one microbatch each) of three stages in
// one process on a repeated string and returns the losses.
func train(t *testing.T, steps int) []float64 {
	t.Helper()
	return trainWith(t, steps, Options{LearningRate: 1e-2})
}

func trainWith(t *testing.T, steps int, o Options) []float64 {
	t.Helper()
	st := newStages(t, tinySpec(), o)
	const text = "protolearn trains models. "
	var losses []float64
	for step := range steps {
		in := ids(text, step*3, batch, seq)
		tg := ids(text, step*3+1, batch, seq)
		a0, err := st[0].Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		a1, err := st[1].Forward(a0, nil)
		if err != nil {
			t.Fatal(err)
		}
		d1, loss, err := st[2].BackwardLoss(a1, nil, tg)
		if err != nil {
			t.Fatal(err)
		}
		d0, err := st[1].Backward(a0, nil, d1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st[0].Backward(in, nil, d0); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	return losses
}

// TestTrainLoop: the loss falls by a clear margin in 40 steps, and a second
// run gives bit-identical losses.
func TestTrainLoop(t *testing.T) {
	const steps = 40
	start := time.Now()
	losses := train(t, steps)
	t.Logf("%d steps in %v (%v/step)", steps, time.Since(start), time.Since(start)/steps)
	for i := 0; i < steps; i += 10 {
		t.Logf("step %d loss %.4f", i, losses[i])
	}
	first, last := losses[0], losses[steps-1]
	t.Logf("step %d loss %.4f", steps-1, last)
	if !(last < first-1.5) {
		t.Fatalf("loss %.3f -> %.3f: did not fall by 1.5", first, last)
	}
	again := train(t, steps)
	for i := range losses {
		if losses[i] != again[i] {
			t.Fatalf("step %d: loss %v, then %v", i, losses[i], again[i])
		}
	}
}

// checkParam compares the gradient g of parameter p with central finite
// differences of obj at a few coordinates.
func checkParam(t *testing.T, st *Stage, p int, g *tensors.Tensor, obj func() float64, coords ...int) {
	t.Helper()
	v := st.Params()[p]
	gv := flat64(t, g)
	orig := flat64(t, v.MustValue())
	const eps = 1e-5
	set := func(i int, delta float64) {
		w := append([]float64(nil), orig...)
		w[i] += delta
		v.MustSetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...))
	}
	for _, i := range coords {
		set(i, eps)
		plus := obj()
		set(i, -eps)
		minus := obj()
		set(i, 0)
		fd := (plus - minus) / (2 * eps)
		t.Logf("d %s[%d] = %.10g, finite difference %.10g", v.Name(), i, gv[i], fd)
		if !near(fd, gv[i]) {
			t.Errorf("d %s[%d] = %.10g, finite difference %.10g", v.Name(), i, gv[i], fd)
		}
	}
}

// TestGradCheckEnds checks the last stage's dIn and LM-head gradient against
// the loss, and stage 0's embedding gradient against the surrogate.
func TestGradCheckEnds(t *testing.T) {
	s := tinySpec()
	st := newStages(t, s, Options{DType: dtypes.Float64})
	in := ids("gradient checks at both ends", 0, batch, seq)
	tg := ids("gradient checks at both ends", 1, batch, seq)
	x0, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := st[2]
	lossAt := func(x []float64) float64 {
		l, err := last.Loss(tensors.FromFlatDataAndDimensions(x, batch, seq, s.DModel), nil, tg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	xv := flat64(t, x0)
	loss, dIn, pg, err := last.Gradients(x0, nil, tg)
	if err != nil {
		t.Fatal(err)
	}
	if l := lossAt(xv); math.Abs(l-loss) > 1e-12 {
		t.Fatalf("Gradients loss %v, Loss %v", loss, l)
	}
	dv := flat64(t, dIn)
	const eps = 1e-5
	for _, i := range []int{0, 9, 130, len(xv) - 1} {
		p := append([]float64(nil), xv...)
		p[i] += eps
		m := append([]float64(nil), xv...)
		m[i] -= eps
		fd := (lossAt(p) - lossAt(m)) / (2 * eps)
		if !near(fd, dv[i]) {
			t.Errorf("last dIn[%d] = %.10g, finite difference %.10g", i, dv[i], fd)
		}
	}
	n := len(last.Params())
	if last.Params()[n-1].Name() != "lm_head" {
		t.Fatalf("last param is %s", last.Params()[n-1].Name())
	}
	checkParam(t, last, n-1, pg[n-1], func() float64 { return lossAt(xv) }, 0, 300, 4095)

	// Stage 0: embedding rows of tokens that occur in the input.
	first := st[0]
	dOutV := make([]float64, len(xv))
	for i := range dOutV {
		dOutV[i] = math.Cos(float64(i) * 0.3)
	}
	dOut := tensors.FromFlatDataAndDimensions(dOutV, batch, seq, s.DModel)
	_, dIn0, pg0, err := first.Gradients(in, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	if dIn0 != nil {
		t.Fatal("stage 0 returned a dIn")
	}
	surrogate := func() float64 {
		y, err := first.Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, v := range flat64(t, y) {
			sum += v * dOutV[i]
		}
		return sum
	}
	if first.Params()[0].Name() != "embed" {
		t.Fatalf("first param is %s", first.Params()[0].Name())
	}
	d := s.DModel
	checkParam(t, first, 0, pg0[0], surrogate, int('g')*d, int('g')*d+5, int(' ')*d+3, int('Z')*d)
}

// TestBackwardUpdates checks that Backward returns the dIn of Gradients and
// changes every parameter.
func TestBackwardUpdates(t *testing.T) {
	s := tinySpec()
	st := newStages(t, s, Options{DType: dtypes.Float64})
	x0, err := st[0].Forward(ids("updates", 0, batch, seq), nil)
	if err != nil {
		t.Fatal(err)
	}
	mid := st[1]
	before := make([][]float64, len(mid.Params()))
	for i, v := range mid.Params() {
		before[i] = flat64(t, v.MustValue())
	}
	_, want, _, err := mid.Gradients(x0, nil, x0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mid.Backward(x0, nil, x0)
	if err != nil {
		t.Fatal(err)
	}
	w, g := flat64(t, want), flat64(t, got)
	for i := range w {
		if w[i] != g[i] {
			t.Fatalf("dIn[%d]: Backward %v, Gradients %v", i, g[i], w[i])
		}
	}
	for i, v := range mid.Params() {
		after := flat64(t, v.MustValue())
		changed := false
		for j := range after {
			if after[j] != before[i][j] {
				changed = true
				break
			}
		}
		if !changed {
			t.Errorf("%s unchanged by Backward", v.Name())
		}
	}
}

// BenchmarkStep is one synchronous step (forward and backward through every
// stage, one microbatch of 8 rows) of the "tiny" and "small" presets, raw
// (k = 0) and compressed (the preset's k).
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"tiny", "small"} {
		for _, compressed := range []bool{false, true} {
			s, err := spec.Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			label := name + "/raw"
			if compressed {
				label = fmt.Sprintf("%s/k=%d", name, s.CompressionRank)
			} else {
				s.CompressionRank = 0
			}
			b.Run(label, func(b *testing.B) {
				var st []*Stage
				for i := range s.Stages {
					x, err := New(backend(), s, i, Options{})
					if err != nil {
						b.Fatal(err)
					}
					st = append(st, x)
				}
				const rows = 8
				text := "benchmarking a pipeline of stages, one step at a time. "
				b.ResetTimer()
				for i := range b.N {
					in := ids(text, i, rows, s.SeqLen)
					tg := ids(text, i+1, rows, s.SeqLen)
					acts := []*tensors.Tensor{in}
					for _, stage := range st[:len(st)-1] {
						y, err := stage.Forward(acts[len(acts)-1], in)
						if err != nil {
							b.Fatal(err)
						}
						acts = append(acts, y)
					}
					d, _, err := st[len(st)-1].BackwardLoss(acts[len(acts)-1], in, tg)
					if err != nil {
						b.Fatal(err)
					}
					for k := len(st) - 2; k >= 0; k-- {
						if d, err = st[k].Backward(acts[k], in, d); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N*rows*s.SeqLen)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// TestCausal checks that changing the last token changes no earlier logit.
func TestCausal(t *testing.T) {
	s := tinySpec()
	st := newStages(t, s, Options{})
	logits := func(in *tensors.Tensor) []float32 {
		x := in
		var err error
		for _, stage := range st {
			if x, err = stage.Forward(x, nil); err != nil {
				t.Fatal(err)
			}
		}
		return tensors.MustCopyFlatData[float32](x)
	}
	a := logits(ids("causal attention", 0, batch, seq))
	in := ids("causal attention", 0, batch, seq)
	tensors.MustMutableFlatData(in, func(v []int32) { v[seq-1] ^= 1 })
	b := logits(in)
	lastChanged := false
	for i := range a {
		pos := i / s.Vocab % seq
		if pos < seq-1 && a[i] != b[i] {
			t.Fatalf("logit %d (position %d) changed with the last token", i, pos)
		}
		if pos == seq-1 && a[i] != b[i] {
			lastChanged = true
		}
	}
	if !lastChanged {
		t.Fatal("the last position's logits did not change")
	}
}

// TestSingleStage runs a model of one stage, both first and last.
func TestSingleStage(t *testing.T) {
	s := spec.Spec{Vocab: 256, DModel: 16, NLayers: 2, NHeads: 2, SeqLen: seq, Stages: []int{2}, Seed: 3}
	st, err := New(backend(), s, 0, Options{LearningRate: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	in, tg := ids("one stage only. ", 0, batch, seq), ids("one stage only. ", 1, batch, seq)
	var first, last float64
	for i := range 20 {
		dIn, loss, err := st.BackwardLoss(in, nil, tg)
		if err != nil {
			t.Fatal(err)
		}
		if dIn != nil {
			t.Fatal("a first stage returned dIn")
		}
		if i == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < first-1) {
		t.Fatalf("loss %.3f -> %.3f", first, last)
	}
	if _, err := st.Backward(in, nil, in); err == nil {
		t.Fatal("Backward on the last stage did not fail")
	}
	if _, err := st.Forward(tensors.FromFlatDataAndDimensions(make([]float32, batch*seq*16), batch, seq, 16), nil); err == nil {
		t.Fatal("stage 0 accepted float activations")
	}
}

// TestTrainNAdam trains the same pipeline with trainer/optim's NAdam (β₁ 0.99,
// warm-up, clipping), the optimizer of the asynchronous schedule.
func TestTrainNAdam(t *testing.T) {
	const steps = 40
	opt, err := optim.NewNAdam(optim.NAdamConfig{LearningRate: 1e-2, WarmupSteps: 5, ClipNorm: 1})
	if err != nil {
		t.Fatal(err)
	}
	losses := trainWith(t, steps, Options{Optimizer: opt})
	first, last := losses[0], losses[steps-1]
	t.Logf("NAdam: loss %.4f -> %.4f in %d steps", first, last, steps)
	if !(last < first-1.5) {
		t.Fatalf("loss %.3f -> %.3f: did not fall by 1.5", first, last)
	}
}

// A cheater's stage (the test tool behind trainer run --cheat-skip-layer) skips only layers it
// holds, and never the designated first one, which the spot checks prove.
func TestCheatSkipLayersStaysInTheStage(t *testing.T) {
	s := tinySpec()
	s.NLayers, s.Stages = 6, []int{2, 2, 2}
	for _, skip := range [][]int{{2}, {1}, {4}} { // stage 1 holds layers 2 and 3
		if _, err := New(backend(), s, 1, Options{CheatSkipLayers: skip}); err == nil {
			t.Errorf("skipping layer %v of stage 1 accepted", skip)
		}
	}
	if _, err := New(backend(), s, 1, Options{CheatSkipLayers: []int{3}}); err != nil {
		t.Errorf("skipping layer 3 of stage 1: %v", err)
	}
}
