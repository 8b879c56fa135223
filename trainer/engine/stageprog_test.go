package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// stageprogInputs are a stage's parameters as the reference program's inputs, in store order,
// after the given leading inputs; it checks the order is the program's.
func stageprogInputs(t *testing.T, st *Stage, lead ...stageprog.Tensor) []stageprog.Tensor {
	t.Helper()
	roles := []string{"attn_norm", "wq", "wk", "wv", "wo", "mlp_norm", "w_gate", "w_up", "w_down"}
	in := append([]stageprog.Tensor(nil), lead...)
	for i, v := range st.Params() {
		if want := roles[i%stageprog.ParamsPerBlock]; !strings.HasSuffix(v.Path(), "/"+want) {
			t.Fatalf("parameter %d is %s; the reference program expects …/%s there", i, v.Path(), want)
		}
		dims := v.Shape().Dimensions
		in = append(in, stageprog.Tensor{Dims: dims, Data: tensors.MustCopyFlatData[float64](v.MustValue())})
	}
	return in
}

// middleStage is stage 1 (two blocks, raw activations) of a small uncompressed model in float64,
// and a random input for a microbatch of b sequences.
func middleStage(t *testing.T, b int) (*Stage, spec.Spec, []float64, stageprog.Arch) {
	t.Helper()
	s := spec.Spec{Vocab: 256, DModel: 16, NLayers: 6, NHeads: 2, SeqLen: 8, Stages: []int{2, 2, 2}, Seed: 3}
	st, err := New(backend(), s, 1, Options{DType: dtypes.Float64})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, b*s.SeqLen*s.DModel)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return st, s, x, stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: b, N: s.SeqLen, Layers: 2}
}

// requireClose fails unless got is want to within tol, relative to 1 + |want|; it returns the
// largest difference.
func requireClose(t *testing.T, what string, got []float64, want *tensors.Tensor, tol float64) float64 {
	t.Helper()
	w := tensors.MustCopyFlatData[float64](want)
	if len(got) != len(w) {
		t.Fatalf("%s: %d values, the engine %d", what, len(got), len(w))
	}
	worst := 0.0
	for i := range w {
		worst = max(worst, math.Abs(got[i]-w[i])/(1+math.Abs(w[i])))
	}
	if worst > tol {
		t.Fatalf("%s: the reference program departs from the engine by %.3g", what, worst)
	}
	return worst
}

// The reference program of a middle stage's forward pass computes what the engine computes, to
// float64 rounding: the same blocks (RMSNorm, RoPE, causal attention, SwiGLU, residuals), in
// pure Go with the deterministic elementary functions.
func TestStageprogForwardIsTheEngines(t *testing.T) {
	const b = 2
	st, s, x, arch := middleStage(t, b)
	want, err := st.Forward(tensors.FromFlatDataAndDimensions(x, b, s.SeqLen, s.DModel), nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, out := stageprog.BlocksForward(arch)
	if err := prog.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err := prog.Run(stageprogInputs(t, st, stageprog.Tensor{Dims: []int{b * s.SeqLen, s.DModel}, Data: x}))
	if err != nil {
		t.Fatal(err)
	}
	worst := requireClose(t, "output", vals[out].Data, want, 1e-12)
	t.Logf("largest relative difference from the engine: %.2g, %d ops", worst, len(prog.Ops))
}

// The reference program of a middle stage's backward pass (the forward recomputed, then every
// block's gradients in reverse) gives the engine's gradients, of the input and of every
// parameter, to float64 rounding.
func TestStageprogBackwardIsTheEngines(t *testing.T) {
	const b = 2
	st, s, x, arch := middleStage(t, b)
	rng := rand.New(rand.NewPCG(7, 8))
	dOut := make([]float64, len(x))
	for i := range dOut {
		dOut[i] = rng.NormFloat64()
	}
	dims := []int{b * s.SeqLen, s.DModel}
	_, dIn, grads, err := st.Gradients(tensors.FromFlatDataAndDimensions(x, b, s.SeqLen, s.DModel), nil,
		tensors.FromFlatDataAndDimensions(dOut, b, s.SeqLen, s.DModel))
	if err != nil {
		t.Fatal(err)
	}
	prog, g := stageprog.BlocksBackward(arch)
	if err := prog.Check(); err != nil {
		t.Fatal(err)
	}
	in := stageprogInputs(t, st, stageprog.Tensor{Dims: dims, Data: x})
	vals, err := prog.Run(append(in, stageprog.Tensor{Dims: dims, Data: dOut}))
	if err != nil {
		t.Fatal(err)
	}
	worst := requireClose(t, "dX", vals[g.DX].Data, dIn, 1e-11)
	if len(grads) != len(g.Params) {
		t.Fatalf("the engine has %d parameter gradients, the program %d", len(grads), len(g.Params))
	}
	for i, v := range g.Params {
		worst = max(worst, requireClose(t, st.Params()[i].Path(), vals[v].Data, grads[i], 1e-11))
	}
	t.Logf("largest relative difference from the engine: %.2g, %d ops", worst, len(prog.Ops))
}

// The reference program of one update (backward pass, clipping to the global norm, NAdam with
// warm-up, cosine decay and weight decay) takes the engine's state before an update to the
// engine's state after it: every parameter, both moments of each and the step counter, and the
// gradient sent back, to float64 rounding. The update checked is the swarm's third on the
// stage, so the moments and the schedule are under way.
func TestStageprogUpdateIsTheEngines(t *testing.T) {
	const b = 2
	s := spec.Spec{Vocab: 256, DModel: 16, NLayers: 6, NHeads: 2, SeqLen: 8, Stages: []int{2, 2, 2}, Seed: 3}
	cfg := optim.NAdamConfig{LearningRate: 1e-2, WeightDecay: 0.1, WarmupSteps: 2, DecaySteps: 6, ClipNorm: 1}
	o, err := optim.NewNAdam(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(backend(), s, 1, Options{DType: dtypes.Float64, Optimizer: o})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	random := func() []float64 {
		v := make([]float64, b*s.SeqLen*s.DModel)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	tensor := func(v []float64) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, b, s.SeqLen, s.DModel) }
	for range 2 {
		if _, err := st.Backward(tensor(random()), nil, tensor(random())); err != nil {
			t.Fatal(err)
		}
	}
	x, dOut := random(), random()
	dims := []int{b * s.SeqLen, s.DModel}
	in := stageprogInputs(t, st, stageprog.Tensor{Dims: dims, Data: x})
	in = append(in, stageprog.Tensor{Dims: dims, Data: dOut})
	var state []stageprog.Tensor // step, then each parameter's moments, in store order
	for v := range st.Store().IterVariables() {
		if v.Trainable || IsAccumulator(v.Path()) {
			continue
		}
		dims := v.Shape().Dimensions
		if len(dims) == 0 {
			dims = []int{1}
		}
		state = append(state, stageprog.Tensor{Dims: dims, Data: tensors.MustCopyFlatData[float64](v.MustValue())})
	}
	in = append(in, state...)

	c := o.Config()
	prog, u := stageprog.StageUpdate(stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: b, N: s.SeqLen, Layers: 2},
		stageprog.NAdam{
			LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon, WeightDecay: c.WeightDecay,
			WarmupSteps: c.WarmupSteps, DecaySteps: c.DecaySteps, MinLRFraction: c.MinLRFraction, ClipNorm: c.ClipNorm,
		})
	if err := prog.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err := prog.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	dIn, err := st.Backward(tensor(x), nil, tensor(dOut))
	if err != nil {
		t.Fatal(err)
	}
	worst := requireClose(t, "dX", vals[u.DX].Data, dIn, 1e-11)
	var after []*tensors.Tensor
	for v := range st.Store().IterVariables() {
		if !IsAccumulator(v.Path()) {
			after = append(after, v.MustValue())
		}
	}
	want := []int{}
	want = append(want, u.Params...)
	want = append(want, u.Step)
	for _, m := range u.Moments {
		want = append(want, m[0], m[1])
	}
	if len(after) != len(want) {
		t.Fatalf("the engine's state has %d tensors, the program's %d", len(after), len(want))
	}
	for i, v := range want {
		worst = max(worst, requireClose(t, fmt.Sprintf("state tensor %d", i), vals[v].Data, after[i], 1e-11))
	}
	t.Logf("largest relative difference from the engine: %.2g over the gradient sent back and %d state tensors, %d ops", worst, len(after), len(prog.Ops))
}
