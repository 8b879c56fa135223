package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// f32As64 is a float32 tensor's values as float64, exactly.
func f32As64(t *tensors.Tensor) []float64 {
	f := tensors.MustCopyFlatData[float32](t)
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// worstEnd is the largest stageprog.EndRatio over the 256-value chunks (one statecommit chunk of
// float32) of got against want.
func worstEnd(got, want, old []float64) float64 {
	worst := 0.0
	for lo := 0; lo < len(want); lo += 256 {
		hi := min(lo+256, len(want))
		var o []float64
		if old != nil {
			o = old[lo:hi]
		}
		worst = max(worst, stageprog.EndRatio(got[lo:hi], want[lo:hi], o))
	}
	return worst
}

// endsRun trains a float32 stage of s three updates (cheating as o says), then measures its
// fourth against the reference program in float64 from the same state: the worst EndRatio of
// any chunk of its new state, and of the gradient it sends back.
func endsRun(t *testing.T, s spec.Spec, index int, o Options, freeze bool) (state, dx float64) {
	t.Helper()
	const b = 2
	nadam, err := optim.NewNAdam(optim.NAdamConfig{LearningRate: 3e-4, ClipNorm: 1, WarmupSteps: 2, DecaySteps: 100, WeightDecay: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	o.Optimizer = nadam
	st, err := New(backend(), s, index, o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(index), 77))
	w := s.BoundaryWidth()
	rows := b * s.SeqLen
	act := func() []float32 {
		v := make([]float32, rows*w)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	ids := func() []int32 {
		v := make([]int32, rows)
		for i := range v {
			v[i] = int32(rng.IntN(s.Vocab))
		}
		return v
	}
	idsT := func(v []int32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, b, s.SeqLen) }
	actT := func(v []float32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, b, s.SeqLen, w) }
	type mb struct {
		in, dOut     []float32
		ids, targets []int32
	}
	step := func(m mb) (*tensors.Tensor, error) {
		in, id := actT(m.in), idsT(m.ids)
		if st.Info().First {
			in = id
		}
		if st.Info().Last {
			dIn, _, err := st.BackwardLoss(in, id, idsT(m.targets))
			return dIn, err
		}
		return st.Backward(in, id, actT(m.dOut))
	}
	for range 3 {
		if _, err := step(mb{act(), act(), ids(), ids()}); err != nil {
			t.Fatal(err)
		}
	}
	m := mb{act(), act(), ids(), ids()}
	c := nadam.Config()
	p, l, u, err := stageprog.StageUpdate(progStage(t, s, index, b), stageprog.NAdam{
		LearningRate: c.LearningRate, Beta1: c.Beta1,
		Beta2: c.Beta2, Epsilon: c.Epsilon, WeightDecay: c.WeightDecay, WarmupSteps: c.WarmupSteps, DecaySteps: c.DecaySteps,
		MinLRFraction: c.MinLRFraction, ClipNorm: c.ClipNorm,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]stageprog.Tensor, len(p.InputDims))
	as64 := func(v []float32, dims ...int) stageprog.Tensor {
		out := stageprog.Tensor{Dims: dims}
		for _, x := range v {
			out.Data = append(out.Data, float64(x))
		}
		return out
	}
	if l.In >= 0 {
		in[l.In] = as64(m.in, rows, w)
	}
	if l.DOut >= 0 {
		in[l.DOut] = as64(m.dOut, rows, w)
	}
	if l.IDs >= 0 {
		in[l.IDs] = tokens(m.ids)
	}
	if l.Targets >= 0 {
		in[l.Targets] = tokens(m.targets)
	}
	if l.U >= 0 {
		in[l.U] = stageprog.Tensor{Dims: []int{s.DModel, s.CompressionRank}, Data: SubspaceBasis(s.Seed, s.DModel, s.CompressionRank)}
		in[l.T] = stageprog.Tensor{Dims: []int{s.Vocab, s.DModel}, Data: FixedTokenTable(s.Seed, s.Vocab, s.DModel)}
	}
	// The state by path: parameters, the step counter, each parameter's moments (a cheater's
	// engine may never have made the moments of a layer it skips: they are zero).
	var paths []string
	for _, v := range st.Params() {
		paths = append(paths, v.Path())
	}
	paths = append(paths, "/nadam/step")
	for _, v := range st.Params() {
		paths = append(paths, "/nadam"+v.Path()+"_m", "/nadam"+v.Path()+"_v")
	}
	order := append(append([]int(nil), l.Params...), l.Step)
	for _, mo := range l.Moments {
		order = append(order, mo[0], mo[1])
	}
	read := func() map[string][]float64 {
		m := map[string][]float64{}
		for v := range st.Store().IterVariables() {
			if !IsAccumulator(v.Path()) {
				m[v.Path()] = f32As64(v.MustValue())
			}
		}
		return m
	}
	valueOf := func(m map[string][]float64, i int) []float64 {
		if v, ok := m[paths[i]]; ok {
			return v
		}
		return make([]float64, stageprog.Size(p.InputDims[order[i]]))
	}
	before := read()
	for i, v := range order {
		in[v] = stageprog.Tensor{Dims: p.InputDims[v], Data: valueOf(before, i)}
	}
	vals, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	dIn, err := step(m)
	if err != nil {
		t.Fatal(err)
	}
	outs := append(append([]int(nil), u.Params...), u.Step)
	for _, mo := range u.Moments {
		outs = append(outs, mo[0], mo[1])
	}
	after := read()
	for i := range paths {
		got := valueOf(after, i)
		if freeze {
			got = valueOf(before, i) // a worker that never moves its state
		}
		state = max(state, worstEnd(got, vals[outs[i]].Data, valueOf(before, i)))
	}
	if u.DX >= 0 {
		dx = worstEnd(f32As64(dIn), vals[u.DX].Data, nil)
	}
	return state, dx
}

// The ends of a disputed update: honest float32 training stays within stageprog.EndTolerance of
// the float64 reference on every chunk of the new state and of the gradient sent back, on every
// kind of stage; a worker that skips a layer, or never moves its state, is beyond it on some
// chunk (the one a referee names).
func TestEndsTolerance(t *testing.T) {
	for _, rank := range []int{0, 8} {
		s := spec.Spec{Vocab: 64, DModel: 32, NLayers: 6, NHeads: 2, SeqLen: 16, CompressionRank: rank, Stages: []int{2, 2, 2}, Seed: 5}
		for index := range s.Stages {
			t.Run(fmt.Sprintf("stage %d rank %d", index, rank), func(t *testing.T) {
				state, dx := endsRun(t, s, index, Options{}, false)
				t.Logf("honest: worst chunk of the state %.3g, of the gradient sent back %.3g", state, dx)
				if state > stageprog.EndTolerance || dx > stageprog.EndTolerance {
					t.Fatalf("honest float32 training beyond the tolerance %v", stageprog.EndTolerance)
				}
				info, err := s.Stage(index)
				if err != nil {
					t.Fatal(err)
				}
				skip := Options{CheatSkipLayers: []int{info.FirstLayer + info.Layers - 1}}
				state, dx = endsRun(t, s, index, skip, false)
				t.Logf("skips a layer: worst chunk of the state %.3g, of the gradient sent back %.3g", state, dx)
				if state <= stageprog.EndTolerance {
					t.Fatalf("a skipped layer within the tolerance")
				}
				state, _ = endsRun(t, s, index, Options{}, true)
				t.Logf("never moves: worst chunk of the state %.3g", state)
				if state <= stageprog.EndTolerance {
					t.Fatalf("a frozen state within the tolerance")
				}
			})
		}
	}
}
