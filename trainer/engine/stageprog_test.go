package engine

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/stageprog"
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

// The reference program of a middle stage's forward pass computes what the engine computes, to
// float64 rounding: the same blocks (RMSNorm, RoPE, causal attention, SwiGLU, residuals), in
// pure Go with the deterministic elementary functions.
func TestStageprogForwardIsTheEngines(t *testing.T) {
	s := spec.Spec{Vocab: 256, DModel: 16, NLayers: 6, NHeads: 2, SeqLen: 8, Stages: []int{2, 2, 2}, Seed: 3}
	st, err := New(backend(), s, 1, Options{DType: dtypes.Float64})
	if err != nil {
		t.Fatal(err)
	}
	const b = 2
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, b*s.SeqLen*s.DModel)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	want, err := st.Forward(tensors.FromFlatDataAndDimensions(x, b, s.SeqLen, s.DModel), nil)
	if err != nil {
		t.Fatal(err)
	}
	prog, out := stageprog.BlocksForward(stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: b, N: s.SeqLen, Layers: 2})
	if err := prog.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err := prog.Run(stageprogInputs(t, st, stageprog.Tensor{Dims: []int{b * s.SeqLen, s.DModel}, Data: x}))
	if err != nil {
		t.Fatal(err)
	}
	w := tensors.MustCopyFlatData[float64](want)
	got := vals[out].Data
	if len(got) != len(w) {
		t.Fatalf("%d outputs, the engine %d", len(got), len(w))
	}
	worst := 0.0
	for i := range w {
		worst = max(worst, math.Abs(got[i]-w[i])/(1+math.Abs(w[i])))
	}
	t.Logf("largest relative difference from the engine: %.2g over %d values, %d ops", worst, len(w), len(prog.Ops))
	if worst > 1e-12 {
		t.Fatalf("the reference program departs from the engine by %.3g", worst)
	}
}
