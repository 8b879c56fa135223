package stageprog

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func randomTensor(rng *rand.Rand, dims ...int) Tensor {
	t := Tensor{Dims: dims, Data: make([]float64, Size(dims))}
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

// a small block: y = x + RMSNorm(x, g)·W.
func smallProgram(r, d int) *Program {
	return &Program{
		InputDims: [][]int{{r, d}, {d}, {d, d}},
		Ops: []Op{
			RMSNorm{X: 0, G: 1, R: r, D: d, Eps: 1e-6},
			MatMul{A: 3, B: 2, M: r, K: d, N: d},
			Add{A: 0, B: 4, Of: []int{r, d}},
		},
	}
}

// checkLeaves: every value p computed in vals is what the chain computes from the opened
// elements its op reads, bit for bit; with any one of them missing the chain cannot evaluate it.
func checkLeaves(t *testing.T, p *Program, vals []Tensor) {
	t.Helper()
	for k, op := range p.Ops {
		out := vals[len(p.InputDims)+k]
		for i := range out.Data {
			reads := op.Reads(i)
			opened := map[Ref]float64{}
			for _, ref := range reads {
				opened[ref] = vals[ref.Value].Data[ref.Index]
			}
			got, err := Eval(op, i, opened)
			if err != nil {
				t.Fatalf("op %d element %d: %v", k, i, err)
			}
			if math.Float64bits(got) != math.Float64bits(out.Data[i]) {
				t.Fatalf("op %d element %d: the leaf gives %v, the run %v", k, i, got, out.Data[i])
			}
			for _, drop := range reads {
				short := map[Ref]float64{}
				for _, ref := range reads {
					if ref != drop {
						short[ref] = opened[ref]
					}
				}
				if _, err := Eval(op, i, short); !errors.Is(err, ErrNotRead) {
					t.Fatalf("op %d element %d evaluated without %v: %v", k, i, drop, err)
				}
			}
		}
	}
}

// The blocks' forward and backward passes: every op's every value is a leaf the chain can
// evaluate, and the gradients have their parameters' shapes.
func TestBlocksForwardLeaves(t *testing.T) {
	a := Arch{DModel: 8, Heads: 2, FFN: 12, B: 2, N: 5, Layers: 2}
	p, out := BlocksForward(a)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var in []Tensor
	for _, dims := range p.InputDims {
		in = append(in, randomTensor(rng, dims...))
	}
	vals, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if out != len(vals)-1 || !sameDims(vals[out].Dims, []int{a.B * a.N, a.DModel}) {
		t.Fatalf("output value %d of dims %v", out, vals[out].Dims)
	}
	checkLeaves(t, p, vals)

	bp, grads := BlocksBackward(a)
	if err := bp.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err = bp.Run(append(in, randomTensor(rng, a.B*a.N, a.DModel)))
	if err != nil {
		t.Fatal(err)
	}
	if len(grads.Params) != a.Layers*ParamsPerBlock || !sameDims(vals[grads.DX].Dims, []int{a.B * a.N, a.DModel}) {
		t.Fatalf("%d parameter gradients, dX of dims %v", len(grads.Params), vals[grads.DX].Dims)
	}
	for i, v := range grads.Params {
		if !sameDims(vals[v].Dims, bp.InputDims[1+i]) {
			t.Fatalf("parameter %d's gradient has dims %v, the parameter %v", i, vals[v].Dims, bp.InputDims[1+i])
		}
	}
	checkLeaves(t, bp, vals)

	up, u := StageUpdate(a, NAdam{LearningRate: 1e-2, Beta1: 0.99, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 0.1, WarmupSteps: 2, DecaySteps: 6, MinLRFraction: 0.1, ClipNorm: 1})
	if err := up.Check(); err != nil {
		t.Fatal(err)
	}
	in = append(in, randomTensor(rng, a.B*a.N, a.DModel), Tensor{Dims: []int{1}, Data: []float64{4}})
	for _, dims := range up.InputDims[len(in):] {
		m := randomTensor(rng, dims...)
		for i := range m.Data {
			m.Data[i] = math.Abs(m.Data[i]) // second moments are never negative; the first do not care
		}
		in = append(in, m)
	}
	vals, err = up.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Params) != len(grads.Params) || len(u.Moments) != len(grads.Params) || vals[u.Step].Data[0] != 5 {
		t.Fatalf("%d parameters, %d moments, step %v after step 4", len(u.Params), len(u.Moments), vals[u.Step].Data)
	}
	checkLeaves(t, up, vals)
}

func TestLeavesAreTheRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const r, d = 5, 8
	p := smallProgram(r, d)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err := p.Run([]Tensor{randomTensor(rng, r, d), randomTensor(rng, d), randomTensor(rng, d, d)})
	if err != nil {
		t.Fatal(err)
	}
	checkLeaves(t, p, vals)

	// And the values are the block's, computed plainly.
	x, g, w := vals[0], vals[1], vals[2]
	for row := range r {
		var ss float64
		for c := range d {
			ss += x.Data[row*d+c] * x.Data[row*d+c]
		}
		rms := math.Sqrt(ss/d + 1e-6)
		for col := range d {
			want := x.Data[row*d+col]
			for k := range d {
				want += x.Data[row*d+k] / rms * g.Data[k] * w.Data[k*d+col]
			}
			if got := vals[5].Data[row*d+col]; math.Abs(got-want) > 1e-12 {
				t.Fatalf("y[%d, %d] = %v, want %v", row, col, got, want)
			}
		}
	}
}

// A program whose op reads its own or a later value, or inputs of the wrong shape, is refused.
func TestProgramRefusals(t *testing.T) {
	p := smallProgram(2, 4)
	p.Ops[0] = RMSNorm{X: 4, G: 1, R: 2, D: 4, Eps: 1e-6}
	if err := p.Check(); err == nil {
		t.Fatal("an op reading a later value passed Check")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	if _, err := smallProgram(2, 4).Run([]Tensor{randomTensor(rng, 2, 4), randomTensor(rng, 4)}); err == nil {
		t.Fatal("too few inputs ran")
	}
	if _, err := smallProgram(2, 4).Run([]Tensor{randomTensor(rng, 2, 4), randomTensor(rng, 5), randomTensor(rng, 4, 4)}); err == nil {
		t.Fatal("a gain of the wrong size ran")
	}
	if _, err := Eval(MatMul{A: 0, B: 1, M: 2, K: 2, N: 2}, 4, nil); err == nil {
		t.Fatal("an element beyond the output evaluated")
	}
}
