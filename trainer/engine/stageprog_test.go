package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/subspace"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

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

// progStage is the engine's stage index of s as the reference program sees it.
func progStage(t *testing.T, s spec.Spec, index, b int) stageprog.Stage {
	t.Helper()
	info, err := s.Stage(index)
	if err != nil {
		t.Fatal(err)
	}
	return stageprog.Stage{
		Arch:  stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: b, N: s.SeqLen, Layers: info.Layers},
		Vocab: s.Vocab, Rank: s.CompressionRank, First: info.First, Last: info.Last,
	}
}

// tokens are int32 token ids as the program's input.
func tokens(ids []int32) stageprog.Tensor {
	t := stageprog.Tensor{Dims: []int{len(ids)}}
	for _, id := range ids {
		t.Data = append(t.Data, float64(id))
	}
	return t
}

func flat(t *tensors.Tensor) stageprog.Tensor {
	dims := t.Shape().Dimensions
	if len(dims) == 0 {
		dims = []int{1} // the step counter
	}
	return stageprog.Tensor{Dims: dims, Data: tensors.MustCopyFlatData[float64](t)}
}

// The reference program of one update takes the engine's state before an update to the
// engine's state after it, on every kind of stage (first, middle and last; raw and compressed
// boundaries with low-rank projections): the gradient sent back, every parameter, both moments
// of each, and the step counter, with global-norm clipping, NAdam's warm-up, cosine decay and
// weight decay, to float64 rounding; and its forward pass gives the engine's output. The update
// checked is the stage's third, so the moments and the schedule are under way.
func TestStageprogIsTheEngine(t *testing.T) {
	const b = 2
	cfg := optim.NAdamConfig{LearningRate: 1e-2, WeightDecay: 0.1, WarmupSteps: 2, DecaySteps: 6, ClipNorm: 1}
	for _, rank := range []int{0, 4} {
		s := spec.Spec{Vocab: 32, DModel: 16, NLayers: 4, NHeads: 2, SeqLen: 8, CompressionRank: rank, Stages: []int{1, 2, 1}, Seed: 3}
		for index := range s.Stages {
			t.Run(fmt.Sprintf("stage %d rank %d", index, rank), func(t *testing.T) {
				o, err := optim.NewNAdam(cfg)
				if err != nil {
					t.Fatal(err)
				}
				st, err := New(backend(), s, index, Options{DType: dtypes.Float64, Optimizer: o})
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(uint64(index), uint64(rank)))
				ids := func() []int32 {
					v := make([]int32, b*s.SeqLen)
					for i := range v {
						v[i] = int32(rng.IntN(s.Vocab))
					}
					return v
				}
				w := s.BoundaryWidth() // what crosses a boundary, in and out
				activations := func() []float64 {
					v := make([]float64, b*s.SeqLen*w)
					for i := range v {
						v[i] = rng.NormFloat64()
					}
					return v
				}
				type mb struct {
					in, dOut     []float64
					ids, targets []int32
				}
				next := func() mb { return mb{activations(), activations(), ids(), ids()} }
				idsT := func(v []int32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, b, s.SeqLen) }
				actT := func(v []float64) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, b, s.SeqLen, w) }
				step := func(m mb) (*tensors.Tensor, error) {
					in, ids := actT(m.in), idsT(m.ids)
					if st.Info().First {
						in = ids
					}
					if st.Info().Last {
						dIn, _, err := st.BackwardLoss(in, ids, idsT(m.targets))
						return dIn, err
					}
					return st.Backward(in, ids, actT(m.dOut))
				}
				for range 2 {
					if _, err := step(next()); err != nil {
						t.Fatal(err)
					}
				}
				m := next()
				ps := progStage(t, s, index, b)
				c := o.Config()
				prog, l, u, err := stageprog.StageUpdate(ps, stageprog.NAdam{
					LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2,
					Epsilon: c.Epsilon, WeightDecay: c.WeightDecay, WarmupSteps: c.WarmupSteps, DecaySteps: c.DecaySteps,
					MinLRFraction: c.MinLRFraction, ClipNorm: c.ClipNorm,
				})
				if err != nil {
					t.Fatal(err)
				}
				in := make([]stageprog.Tensor, len(prog.InputDims))
				rows := b * s.SeqLen
				if l.In >= 0 {
					in[l.In] = stageprog.Tensor{Dims: []int{rows, w}, Data: m.in}
				}
				if l.DOut >= 0 {
					in[l.DOut] = stageprog.Tensor{Dims: []int{rows, w}, Data: m.dOut}
				}
				if l.IDs >= 0 {
					in[l.IDs] = tokens(m.ids)
				}
				if l.Targets >= 0 {
					in[l.Targets] = tokens(m.targets)
				}
				if l.U >= 0 {
					in[l.U] = stageprog.Tensor{Dims: []int{s.DModel, rank}, Data: subspace.Basis(s.Seed, s.DModel, rank)}
					in[l.T] = stageprog.Tensor{Dims: []int{s.Vocab, s.DModel}, Data: subspace.TokenTable(s.Seed, s.Vocab, s.DModel)}
				}
				// The store: the parameters, then the step counter and each parameter's moments.
				var state []*tensors.Tensor
				for v := range st.Store().IterVariables() {
					if !IsAccumulator(v.Path()) {
						state = append(state, v.MustValue())
					}
				}
				order := append(append([]int(nil), l.Params...), l.Step)
				for _, mo := range l.Moments {
					order = append(order, mo[0], mo[1])
				}
				if len(state) != len(order) {
					t.Fatalf("the engine's state has %d tensors, the program takes %d", len(state), len(order))
				}
				for i, v := range order {
					in[v] = flat(state[i])
				}
				vals, err := prog.Run(in)
				if err != nil {
					t.Fatal(err)
				}

				// The forward pass first, from the same state.
				fp, fl, out, err := stageprog.Forward(ps)
				if err != nil {
					t.Fatal(err)
				}
				fin := make([]stageprog.Tensor, len(fp.InputDims))
				for i := range fin {
					switch {
					case i == fl.In:
						fin[i] = in[l.In]
					case i == fl.IDs:
						fin[i] = in[l.IDs]
					case i == fl.Targets:
						fin[i] = in[l.Targets]
					case i == fl.U:
						fin[i] = in[l.U]
					case i == fl.T:
						fin[i] = in[l.T]
					default:
						for j, p := range fl.Params {
							if p == i {
								fin[i] = in[l.Params[j]]
							}
						}
					}
				}
				fvals, err := fp.Run(fin)
				if err != nil {
					t.Fatal(err)
				}
				fwdIn := actT(m.in)
				if st.Info().First {
					fwdIn = idsT(m.ids)
				}
				want, err := st.Forward(fwdIn, idsT(m.ids))
				if err != nil {
					t.Fatal(err)
				}
				worst := requireClose(t, "forward output", fvals[out].Data, want, 1e-12)

				dIn, err := step(m)
				if err != nil {
					t.Fatal(err)
				}
				if u.DX >= 0 {
					worst = max(worst, requireClose(t, "dX", vals[u.DX].Data, dIn, 1e-11))
				}
				var after []*tensors.Tensor
				for v := range st.Store().IterVariables() {
					if !IsAccumulator(v.Path()) {
						after = append(after, v.MustValue())
					}
				}
				outs := append(append([]int(nil), u.Params...), u.Step)
				for _, mo := range u.Moments {
					outs = append(outs, mo[0], mo[1])
				}
				for i, v := range outs {
					worst = max(worst, requireClose(t, fmt.Sprintf("state tensor %d", i), vals[v].Data, after[i], 1e-11))
				}
				t.Logf("largest relative difference from the engine: %.2g (forward output, dX and %d state tensors; %d ops)", worst, len(after), len(prog.Ops))
			})
		}
	}
}
