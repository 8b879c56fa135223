package stageprog

import (
	"fmt"
	"math"

	"github.com/protolearn/protolearn/merkle"
)

// Leaf is what the chain holds when a dispute reaches one value: the program both sides run,
// the op K whose inputs they agree on (the root over the first K outputs, Agreed) and element I
// of its output, which the worker claims is Claimed.
type Leaf struct {
	Program *Program
	K, I    int
	Agreed  merkle.Hash
	Claimed float64
}

// Evidence is what the referee shows for a leaf: openings, under the agreed root, of the
// earlier outputs the value reads, and the program inputs it reads, already checked by the
// caller against their own commitments (the state root, the signed payloads).
type Evidence struct {
	Outputs []TraceOpening
	Inputs  map[Ref]float64
	// Input, when set, is asked for the program inputs Inputs does not hold: the chain reads
	// them from what it holds itself (a disputed event's payloads, the model's tables) and from
	// openings it checks as they are read. An error settles nothing, as a missing value.
	Input func(Ref) (float64, error)
}

// Judge evaluates the leaf from the evidence and reports whether the worker's claim is the
// op's value, bit for bit (a NaN as the canonical one, whatever the validator's CPU makes). An error means the evidence does not settle the leaf (an opening
// that does not verify, a value the op reads that nothing opens): the referee, who must show
// it, has failed to.
func Judge(l Leaf, e Evidence) (bool, error) {
	p := l.Program
	nIn := len(p.InputDims)
	if l.K < 0 || l.K >= len(p.Ops) {
		return false, fmt.Errorf("stageprog: op %d of a program of %d", l.K, len(p.Ops))
	}
	op := p.Ops[l.K]
	if l.I < 0 || l.I >= Size(op.Dims()) {
		return false, fmt.Errorf("stageprog: element %d of op %d's output of %d", l.I, l.K, Size(op.Dims()))
	}
	capacity := Capacity(len(p.Ops))
	verified := map[int]bool{} // openings checked, by index in e.Outputs
	read := func(ref Ref) (float64, error) {
		if ref.Value < nIn {
			v, ok := e.Inputs[ref]
			if !ok && e.Input != nil {
				return e.Input(ref)
			}
			if !ok {
				return 0, fmt.Errorf("%w: input %d element %d is read and not shown", ErrNotRead, ref.Value, ref.Index)
			}
			return v, nil
		}
		k := ref.Value - nIn
		for j, o := range e.Outputs {
			if o.K != k {
				continue
			}
			v, err := o.Value(ref.Index)
			if err != nil {
				continue // another chunk of the same output
			}
			if !verified[j] {
				if err := o.Verify(l.Agreed, capacity, p.Dims(ref.Value)); err != nil {
					return 0, fmt.Errorf("stageprog: the opening of op %d's output: %w", k, err)
				}
				verified[j] = true
			}
			return v, nil
		}
		return 0, fmt.Errorf("%w: op %d's output element %d is read and not opened", ErrNotRead, k, ref.Index)
	}
	v, err := op.At(read, l.I)
	if err != nil {
		return false, err
	}
	// Runs hold one NaN (canon): a claim of any other NaN's bits is not the run's value.
	return math.Float64bits(canon(v)) == math.Float64bits(l.Claimed), nil
}
