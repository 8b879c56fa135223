package stageprog

import (
	"math/rand/v2"
	"testing"

	"github.com/protolearn/protolearn/merkle"
)

func updateRun(t *testing.T) (*Program, []Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 4))
	s := Stage{Arch: Arch{DModel: 8, Heads: 2, FFN: 12, B: 1, N: 4, Layers: 1}, Vocab: 7}
	p, l, _, err := StageUpdate(s, testNAdam)
	if err != nil {
		t.Fatal(err)
	}
	return p, run(t, p, randomInputs(rng, p, l))
}

// Each prefix root extends the one before by exactly its op's output, and by nothing else.
func TestTraceAppends(t *testing.T) {
	p, vals := updateRun(t)
	tr, err := NewTrace(p, vals)
	if err != nil {
		t.Fatal(err)
	}
	ops := tr.Ops()
	for k := range tr.Ops() {
		a, err := tr.Append(k)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Appended(tr.Root(k), tr.Root(k+1), k, ops) {
			t.Fatalf("op %d: the append proof does not lead from root %d to root %d", k, k, k+1)
		}
		if a.Appended(tr.Root(k), tr.Root(k), k, ops) {
			t.Fatalf("op %d: a root extends itself", k)
		}
		if k+2 <= tr.Ops() && a.Appended(tr.Root(k), tr.Root(k+2), k, ops) {
			t.Fatalf("op %d: one append proof skips an op", k)
		}
		other := a
		other.K = (k + 1) % ops
		if other.Appended(tr.Root(k), tr.Root(k+1), k, ops) || a.Appended(tr.Root(k), tr.Root(k+1), other.K, ops) {
			t.Fatalf("op %d's output appended as op %d's", k, other.K)
		}
		zero := a
		zero.Leaf = merkle.Hash{}
		if zero.Appended(tr.Root(k), tr.Root(k), k, ops) {
			t.Fatalf("op %d: an empty output appended", k)
		}
	}
	if _, err := tr.Append(tr.Ops()); err == nil {
		t.Fatal("an op beyond the trace appended")
	}
	// A leaf after the program's last op (the tree's capacity has room) is no op's output
	// (an attacker review's proof of concept).
	if Capacity(ops) > ops {
		junk := merkle.Hash{0xee}
		leaves := make([]merkle.Hash, Capacity(ops))
		copy(leaves, tr.leaves[:ops])
		beyond := Append{K: ops, Leaf: junk, Path: merkle.Path(merkle.Levels(leaves), uint64(ops))}
		next := merkle.Fold(junk, uint64(ops), uint64(Capacity(ops)), beyond.Path)
		if merkle.Fold(merkle.Hash{}, uint64(ops), uint64(Capacity(ops)), beyond.Path) != tr.Root(ops) {
			t.Fatal("the proof of concept's path does not fold to the trace's root")
		}
		if beyond.Appended(tr.Root(ops), next, ops, ops) {
			t.Fatal("a leaf appended after the program's last op")
		}
	}
}

// Any value of an earlier op's output opens under a prefix root, with its value; not under a
// root before the op, as another op's output, or with other dims.
func TestTraceOpenings(t *testing.T) {
	p, vals := updateRun(t)
	tr, err := NewTrace(p, vals)
	if err != nil {
		t.Fatal(err)
	}
	capacity := Capacity(tr.Ops())
	rng := rand.New(rand.NewPCG(8, 8))
	for range 200 {
		k := rng.IntN(tr.Ops())
		upTo := k + 1 + rng.IntN(tr.Ops()-k)
		dims := p.Dims(len(p.InputDims) + k)
		i := rng.IntN(Size(dims))
		o, err := tr.Open(k, i, upTo)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Verify(tr.Root(upTo), capacity, dims); err != nil {
			t.Fatalf("op %d element %d under root %d: %v", k, i, upTo, err)
		}
		got, err := o.Value(i)
		if err != nil || got != vals[len(p.InputDims)+k].Data[i] {
			t.Fatalf("op %d element %d: %v, %v", k, i, got, err)
		}
		if o.Verify(tr.Root(k), capacity, dims) == nil {
			t.Fatalf("op %d opened under the root before it", k)
		}
		if o.Verify(tr.Root(upTo), capacity, append([]int{1}, dims...)) == nil {
			t.Fatalf("op %d opened with other dims", k)
		}
		moved := o
		moved.K = (k + 1) % tr.Ops()
		if moved.Verify(tr.Root(tr.Ops()), capacity, p.Dims(len(p.InputDims)+moved.K)) == nil {
			t.Fatalf("op %d's output opened as op %d's", k, moved.K)
		}
	}
	if _, err := tr.Open(3, 0, 3); err == nil {
		t.Fatal("an output opened under a root that does not hold it")
	}
}
