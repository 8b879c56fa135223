package stageprog

import (
	"errors"
	"fmt"
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
			reads, err := ReadsOf(op, i, ValuesReader(vals))
			if err != nil {
				t.Fatalf("op %d element %d: %v", k, i, err)
			}
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

// stageKinds are small stages of every kind: first, middle and last, raw and compressed.
func stageKinds(rng *rand.Rand) map[string]Stage {
	a := Arch{DModel: 8, Heads: 2, FFN: 12, B: 2, N: 3, Layers: 1}
	kinds := map[string]Stage{}
	for _, rank := range []int{0, 4} {
		for _, place := range []string{"first", "middle", "last"} {
			kinds[fmt.Sprintf("%s stage, rank %d", place, rank)] = Stage{Arch: a, Vocab: 7, Rank: rank, First: place == "first", Last: place == "last"}
		}
	}
	return kinds
}

// randomInputs are inputs for p: normal values, token ids and targets below 5 of a vocabulary
// of 7 (some repeat, some never occur), the step counter a positive count, second moments never
// negative.
func randomInputs(rng *rand.Rand, p *Program, l Layout) []Tensor {
	var in []Tensor
	for _, dims := range p.InputDims {
		in = append(in, randomTensor(rng, dims...))
	}
	for _, v := range []int{l.IDs, l.Targets} {
		if v >= 0 {
			for i := range in[v].Data {
				in[v].Data[i] = float64(rng.IntN(5))
			}
		}
	}
	if l.Step >= 0 {
		in[l.Step].Data[0] = 4
		for _, m := range l.Moments {
			for i, v := range in[m[1]].Data {
				in[m[1]].Data[i] = v * v
			}
		}
	}
	return in
}

var testNAdam = NAdam{LearningRate: 1e-2, Beta1: 0.99, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 0.1, WarmupSteps: 2, DecaySteps: 6, MinLRFraction: 0.1, ClipNorm: 1}

// Every kind of stage's forward pass, backward pass and update: every op's every value is a
// leaf the chain can evaluate, and the gradients and the new state have the shapes of what they
// replace.
func TestStageLeaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for name, s := range stageKinds(rng) {
		t.Run(name, func(t *testing.T) {
			p, l, out, err := Forward(s)
			if err != nil {
				t.Fatal(err)
			}
			vals := run(t, p, randomInputs(rng, p, l))
			want := []int{s.rows(), s.width()}
			if s.Last {
				want = []int{s.rows(), s.Vocab}
			}
			if !sameDims(vals[out].Dims, want) {
				t.Fatalf("output of dims %v, want %v", vals[out].Dims, want)
			}
			checkLeaves(t, p, vals)

			p, l, g, err := Backward(s)
			if err != nil {
				t.Fatal(err)
			}
			vals = run(t, p, randomInputs(rng, p, l))
			if (g.DX < 0) != s.First || (g.DX >= 0 && !sameDims(vals[g.DX].Dims, []int{s.rows(), s.width()})) {
				t.Fatalf("dX value %d", g.DX)
			}
			for i, v := range g.Params {
				if !sameDims(vals[v].Dims, p.InputDims[l.Params[i]]) {
					t.Fatalf("parameter %d's gradient has dims %v, the parameter %v", i, vals[v].Dims, p.InputDims[l.Params[i]])
				}
			}
			checkLeaves(t, p, vals)

			p, l, u, err := StageUpdate(s, testNAdam)
			if err != nil {
				t.Fatal(err)
			}
			vals = run(t, p, randomInputs(rng, p, l))
			if len(u.Params) != len(l.Params) || len(u.Moments) != len(l.Params) || vals[u.Step].Data[0] != 5 {
				t.Fatalf("%d parameters, %d moments, step %v after step 4", len(u.Params), len(u.Moments), vals[u.Step].Data)
			}
			checkLeaves(t, p, vals)
		})
	}
}

func run(t *testing.T, p *Program, in []Tensor) []Tensor {
	t.Helper()
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	vals, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// A stage the builders cannot serve is refused with what to fix.
func TestStageRefusals(t *testing.T) {
	good := Stage{Arch: Arch{DModel: 8, Heads: 2, FFN: 12, B: 1, N: 2, Layers: 1}, Vocab: 5, First: true}
	for name, mutate := range map[string]func(*Stage){
		"odd head width":     func(s *Stage) { s.Heads = 8 },
		"no vocabulary":      func(s *Stage) { s.Vocab = 0 },
		"rank above d_model": func(s *Stage) { s.Rank = 9 },
	} {
		s := good
		mutate(&s)
		if _, _, _, err := Forward(s); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	// A token id that is not one of the vocabulary's is not looked up.
	p, l, _, err := Forward(good)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bad := range []float64{5, -1, 1.5} {
		in := randomInputs(rng, p, l)
		in[l.IDs].Data[1] = bad
		if _, err := p.Run(in); err == nil {
			t.Errorf("token id %v looked up", bad)
		}
	}
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

// A leaf's cost on chain is the chunks it opens (statecommit: 1 KiB, 128 values here), so
// every value reads each tensor in one contiguous run: as many chunks as the run needs, plus
// one where it straddles a boundary. (A weight's column, read down its rows, would open a chunk
// a value.) Checked on sampled values of every op of every kind of stage, wide enough (d_model
// 128, 130 positions) that a strided read shows.
func TestLeavesReadRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	a := Arch{DModel: 128, Heads: 2, FFN: 128, B: 1, N: 130, Layers: 1}
	for _, rank := range []int{0, 4} {
		for _, place := range []string{"first", "middle", "last"} {
			s := Stage{Arch: a, Vocab: 7, Rank: rank, First: place == "first", Last: place == "last"}
			p, l, _, err := StageUpdate(s, testNAdam)
			if err != nil {
				t.Fatal(err)
			}
			vals := run(t, p, randomInputs(rng, p, l))
			read := ValuesReader(vals)
			for k, op := range p.Ops {
				n := Size(op.Dims())
				for range 6 {
					i := rng.IntN(n)
					refs, err := ReadsOf(op, i, read)
					if err != nil {
						t.Fatal(err)
					}
					byValue := map[int]map[int]bool{}
					for _, r := range refs {
						if byValue[r.Value] == nil {
							byValue[r.Value] = map[int]bool{}
						}
						byValue[r.Value][r.Index] = true
					}
					for v, idx := range byValue {
						if sa, ok := op.(ScatterAdd); ok && v == sa.SrcT {
							continue // the rows of one token id: a sparse part of one row
						}
						chunks := map[int]bool{}
						for j := range idx {
							chunks[j/128] = true
						}
						if limit := (len(idx)+127)/128 + 1; len(chunks) > limit {
							t.Fatalf("%s stage, rank %d: op %d (%T) value %d reads %d values of value %d over %d chunks (a run would take %d)",
								place, rank, k, op, i, len(idx), v, len(chunks), limit)
						}
					}
				}
			}
		}
	}
}
