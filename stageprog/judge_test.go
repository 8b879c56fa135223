package stageprog

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/protolearn/protolearn/merkle"
)

// evidence is what an honest referee shows for element i of op k: openings under the root
// over the first k outputs of every earlier output element the op reads, and the inputs.
func evidence(t *testing.T, p *Program, tr *Trace, vals []Tensor, k, i int) Evidence {
	t.Helper()
	e := Evidence{Inputs: map[Ref]float64{}}
	nIn := len(p.InputDims)
	reads, err := ReadsOf(p.Ops[k], i, ValuesReader(vals))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range reads {
		if ref.Value < nIn {
			e.Inputs[ref] = vals[ref.Value].Data[ref.Index]
			continue
		}
		o, err := tr.Open(ref.Value-nIn, ref.Index, k)
		if err != nil {
			t.Fatal(err)
		}
		e.Outputs = append(e.Outputs, o)
	}
	return e
}

// An honest worker's value wins its leaf and any other value loses it, at every op of an
// update; evidence that does not verify settles nothing.
func TestJudge(t *testing.T) {
	p, vals := updateRun(t)
	tr, err := NewTrace(p, vals)
	if err != nil {
		t.Fatal(err)
	}
	nIn := len(p.InputDims)
	rng := rand.New(rand.NewPCG(2, 9))
	for k := range p.Ops {
		i := rng.IntN(Size(p.Ops[k].Dims()))
		l := Leaf{Program: p, K: k, I: i, Agreed: tr.Root(k), Claimed: vals[nIn+k].Data[i]}
		e := evidence(t, p, tr, vals, k, i)
		right, err := Judge(l, e)
		if err != nil || !right {
			t.Fatalf("op %d element %d: the honest value judged %v (%v)", k, i, right, err)
		}
		l.Claimed = math.Nextafter(l.Claimed, math.Inf(1))
		if right, err := Judge(l, e); err != nil || right {
			t.Fatalf("op %d element %d: a value one ulp off judged %v (%v)", k, i, right, err)
		}
		if len(e.Outputs) > 0 {
			bad := l
			bad.Agreed = merkle.Hash{1}
			if _, err := Judge(bad, e); err == nil {
				t.Fatalf("op %d: openings under another root judged", k)
			}
			// Without every opening of one chunk, the values it holds are not shown.
			first := e.Outputs[0]
			short := Evidence{Inputs: e.Inputs}
			for _, o := range e.Outputs {
				if o.K != first.K || o.Chunk.Chunk != first.Chunk.Chunk {
					short.Outputs = append(short.Outputs, o)
				}
			}
			if _, err := Judge(l, short); err == nil {
				t.Fatalf("op %d: judged without op %d's chunk %d", k, first.K, first.Chunk.Chunk)
			}
		}
		if len(e.Inputs) > 0 {
			for ref := range e.Inputs {
				short := Evidence{Outputs: e.Outputs, Inputs: map[Ref]float64{}}
				for r, v := range e.Inputs {
					if r != ref {
						short.Inputs[r] = v
					}
				}
				if _, err := Judge(l, short); err == nil {
					t.Fatalf("op %d: judged without input %v", k, ref)
				}
				break
			}
		}
	}
}

// A run holds one NaN: the chain's verdict on a value that is NaN does not depend on which NaN
// the validator's CPU makes (amd64's invalid operations give 0xFFF8…, arm64's 0x7FF8…): the
// canonical one wins, any other NaN loses, on every platform (an attacker review's proof of
// concept found the verdict platform-dependent).
func TestJudgeNaN(t *testing.T) {
	p := &Program{InputDims: [][]int{{1}, {1}}, Ops: []Op{Sub{A: 0, B: 1, Of: []int{1}}}}
	inf := Tensor{Dims: []int{1}, Data: []float64{math.Inf(1)}}
	vals, err := p.Run([]Tensor{inf, inf})
	if err != nil {
		t.Fatal(err)
	}
	if got := math.Float64bits(vals[2].Data[0]); got != math.Float64bits(canonicalNaN) {
		t.Fatalf("Inf − Inf ran to %#x, not the canonical NaN", got)
	}
	tr, err := NewTrace(p, vals)
	if err != nil {
		t.Fatal(err)
	}
	e := Evidence{Inputs: map[Ref]float64{{0, 0}: math.Inf(1), {1, 0}: math.Inf(1)}}
	for _, c := range []struct {
		bits uint64
		wins bool
	}{{math.Float64bits(canonicalNaN), true}, {0x7FF8000000000000, false}, {0xFFF8000000000000, false}} {
		right, err := Judge(Leaf{Program: p, K: 0, I: 0, Agreed: tr.Root(0), Claimed: math.Float64frombits(c.bits)}, e)
		if err != nil || right != c.wins {
			t.Fatalf("a claim of NaN %#x judged %v (%v), want %v", c.bits, right, err, c.wins)
		}
	}
}
