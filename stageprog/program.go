// Package stageprog is the reference program of a stage's update: the forward pass, the
// backward pass and the optimizer step written as a list of simple operations on float64
// tensors, each of whose output values is a fixed, deterministic function of a bounded number
// of earlier values. Two parties that run it on the same inputs get the same bits, and the
// chain can evaluate any one output value from the few input values it reads (an Op's Reads),
// opened against agreed commitments: that is the leaf of a replay dispute (x/verify README,
// "the dispute game"). It depends on nothing but the standard library, so the chain can build
// and evaluate the same program.
package stageprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Tensor is one value of a program: row-major float64 data of the given dimensions.
type Tensor struct {
	Dims []int
	Data []float64
}

// Size is the number of elements of a tensor of dims.
func Size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// Ref names one element of one value of a program: value v (inputs first, then each op's
// output in order) at flat index Index.
type Ref struct{ Value, Index int }

// Reader returns the element of the program a Ref names.
type Reader func(Ref) (float64, error)

// Op is one operation of a program.
type Op interface {
	// Dims is the shape of the op's output.
	Dims() []int
	// Inputs are the values the op reads, each earlier than the op's own output.
	Inputs() []int
	// At computes output element i, reading what it needs through r. What it reads may depend
	// on what it has read (an embedding lookup reads the token id, then the table's row):
	// ReadsOf lists it.
	At(r Reader, i int) (float64, error)
	// Encode is the op's canonical description: its kind, inputs and attributes.
	Encode() []byte
}

// Program is a list of operations over NumInputs input values of the given shapes.
type Program struct {
	InputDims [][]int
	Ops       []Op
}

// Dims is the shape of value v.
func (p *Program) Dims(v int) []int {
	if v < len(p.InputDims) {
		return p.InputDims[v]
	}
	return p.Ops[v-len(p.InputDims)].Dims()
}

// Check verifies that every op reads only earlier values, with the shapes it expects.
func (p *Program) Check() error {
	for k, op := range p.Ops {
		self := len(p.InputDims) + k
		for _, in := range op.Inputs() {
			if in < 0 || in >= self {
				return fmt.Errorf("stageprog: op %d (value %d) reads value %d, which is not before it", k, self, in)
			}
		}
	}
	return nil
}

// canonicalNaN is the one NaN a run holds: CPUs make NaNs of different bits (amd64's invalid
// operations give 0xFFF8…, arm64's 0x7FF8…), and a dispute compares bits.
var canonicalNaN = math.Float64frombits(0x7FF8000000000001)

// canon is v, with any NaN made the canonical one.
func canon(v float64) float64 {
	if v != v {
		return canonicalNaN
	}
	return v
}

// ErrNotRead: an evaluation asked for an element outside what it may read.
var ErrNotRead = errors.New("stageprog: element not available to this evaluation")

// Run computes every value of p from inputs and returns them all: the inputs, then each op's
// output (the trace a dispute bisects over).
func (p *Program) Run(inputs []Tensor) ([]Tensor, error) {
	if len(inputs) != len(p.InputDims) {
		return nil, fmt.Errorf("stageprog: %d inputs, the program takes %d", len(inputs), len(p.InputDims))
	}
	vals := make([]Tensor, 0, len(inputs)+len(p.Ops))
	for i, t := range inputs {
		if Size(t.Dims) != len(t.Data) || !sameDims(t.Dims, p.InputDims[i]) {
			return nil, fmt.Errorf("stageprog: input %d has dims %v and %d values, want dims %v", i, t.Dims, len(t.Data), p.InputDims[i])
		}
		vals = append(vals, t)
	}
	for k, op := range p.Ops {
		read := ValuesReader(vals)
		dims := op.Dims()
		out := Tensor{Dims: dims, Data: make([]float64, Size(dims))}
		for i := range out.Data {
			v, err := op.At(read, i)
			if err != nil {
				return nil, fmt.Errorf("stageprog: op %d element %d: %w", k, i, err)
			}
			out.Data[i] = canon(v)
		}
		vals = append(vals, out)
	}
	return vals, nil
}

// ReadsOf lists exactly the elements op.At(i) reads, in order, when read serves them: what a
// referee must open for the chain to evaluate that value.
func ReadsOf(op Op, i int, read Reader) ([]Ref, error) {
	var refs []Ref
	_, err := op.At(func(r Ref) (float64, error) {
		refs = append(refs, r)
		return read(r)
	}, i)
	return refs, err
}

// ValuesReader serves the elements of vals (a run's values).
func ValuesReader(vals []Tensor) Reader {
	return func(r Ref) (float64, error) {
		if r.Value < 0 || r.Value >= len(vals) || r.Index < 0 || r.Index >= len(vals[r.Value].Data) {
			return 0, fmt.Errorf("%w: value %d index %d", ErrNotRead, r.Value, r.Index)
		}
		return vals[r.Value].Data[r.Index], nil
	}
}

// Eval is what the chain does at a leaf: op's output element i from the opened elements only
// (each element op.At(i) reads must be in opened).
func Eval(op Op, i int, opened map[Ref]float64) (float64, error) {
	if i < 0 || i >= Size(op.Dims()) {
		return 0, fmt.Errorf("stageprog: element %d of an output of %d", i, Size(op.Dims()))
	}
	v, err := op.At(func(r Ref) (float64, error) {
		v, ok := opened[r]
		if !ok {
			return 0, fmt.Errorf("%w: value %d index %d was not opened", ErrNotRead, r.Value, r.Index)
		}
		return v, nil
	}, i)
	return canon(v), err
}

func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// encoder builds an op's canonical description.
type encoder []byte

func (e encoder) str(s string) encoder {
	e = binary.BigEndian.AppendUint32(e, uint32(len(s)))
	return append(e, s...)
}

func (e encoder) ints(xs ...int) encoder {
	e = binary.BigEndian.AppendUint32(e, uint32(len(xs)))
	for _, x := range xs {
		e = binary.BigEndian.AppendUint64(e, uint64(x))
	}
	return e
}

func (e encoder) float(f float64) encoder {
	return binary.BigEndian.AppendUint64(e, math.Float64bits(f))
}
