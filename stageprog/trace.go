package stageprog

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/statecommit"
)

// The trace commitment. A dispute bisects over the ops of a program: each side states the root
// over the first k op outputs, and the first k at which they disagree names the op whose
// inputs they agree on and whose output they do not. The roots are of one tree of a fixed
// capacity (the next power of two of the program's ops) whose leaf k is op k's output and whose
// leaves not yet reached are zero, so that
//   - the root over the first k+1 outputs follows from the root over the first k by one path:
//     leaf k zero in one, op k's output in the other (Appended);
//   - any earlier output opens against a prefix root by the same kind of path, then one chunk
//     of its values (TraceOpening).
// An output's leaf is its statecommit tensor leaf: path "op/<k>", dtype "float64", its dims,
// its values as little-endian float64.

// OutputHeader is the tensor header of op k's output of dims in a trace.
func OutputHeader(k int, dims []int) statecommit.Header {
	return outputHeader(k, dims, uint64(8*Size(dims)))
}

// outputHeader is op k's tensor header, with raw length n bytes.
func outputHeader(k int, dims []int, n uint64) statecommit.Header {
	d := make([]uint64, len(dims))
	for i, x := range dims {
		d[i] = uint64(x)
	}
	return statecommit.Header{Path: "op/" + strconv.Itoa(k), DType: "float64", Dims: d, RawLen: n}
}

func rawOf(t Tensor) []byte {
	raw := make([]byte, 8*len(t.Data))
	for i, v := range t.Data {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return raw
}

func outputTensor(k int, t Tensor) statecommit.Tensor {
	h := outputHeader(k, t.Dims, uint64(8*len(t.Data)))
	return statecommit.Tensor{Path: h.Path, DType: h.DType, Dims: h.Dims, Raw: rawOf(t)}
}

// Trace is a run's op outputs, committed.
type Trace struct {
	outputs []Tensor
	leaves  []merkle.Hash // capacity long, zero after the outputs
}

// NewTrace commits the op outputs of a run of p (vals as Run returns them).
func NewTrace(p *Program, vals []Tensor) (*Trace, error) {
	if len(vals) != len(p.InputDims)+len(p.Ops) {
		return nil, fmt.Errorf("stageprog: %d values for a program of %d inputs and %d ops", len(vals), len(p.InputDims), len(p.Ops))
	}
	outs := vals[len(p.InputDims):]
	t := &Trace{outputs: outs, leaves: make([]merkle.Hash, Capacity(len(outs)))}
	for k, o := range outs {
		t.leaves[k] = outputTensor(k, o).Leaf()
	}
	return t, nil
}

// Capacity is the trace tree's number of leaves for a program of n ops: the next power of two.
func Capacity(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// Ops is the number of op outputs the trace holds.
func (t *Trace) Ops() int { return len(t.outputs) }

// Root is the root over the first k op outputs (k = 0: the empty trace's root).
func (t *Trace) Root(k int) merkle.Hash {
	leaves := make([]merkle.Hash, len(t.leaves))
	copy(leaves, t.leaves[:k])
	return merkle.Root(leaves)
}

// EmptyRoot is the root over none of the outputs of a program of ops ops: where a bisection over
// its trace starts, agreed by both sides.
func EmptyRoot(ops int) merkle.Hash { return merkle.Root(make([]merkle.Hash, Capacity(ops))) }

func (t *Trace) path(k, upTo int) []merkle.Hash {
	leaves := make([]merkle.Hash, len(t.leaves))
	copy(leaves, t.leaves[:upTo])
	return merkle.Path(merkle.Levels(leaves), uint64(k))
}

// Append is the proof that the root over the first k+1 outputs extends the root over the
// first k by op k's output: the output's leaf and its path, the same in both trees.
type Append struct {
	K    int
	Leaf merkle.Hash
	Path []merkle.Hash
}

// Append proves op k's step from Root(k) to Root(k+1).
func (t *Trace) Append(k int) (Append, error) {
	if k < 0 || k >= len(t.outputs) {
		return Append{}, fmt.Errorf("stageprog: op %d of a trace of %d", k, len(t.outputs))
	}
	return Append{K: k, Leaf: t.leaves[k], Path: t.path(k, k)}, nil
}

// Appended reports whether next is prev with op k's output appended, in the trace of a program
// of ops ops: a proof of another index, or of an index after the program's last op, does not.
func (a Append) Appended(prev, next merkle.Hash, k, ops int) bool {
	if a.K != k || k < 0 || k >= ops || a.Leaf == (merkle.Hash{}) {
		return false
	}
	n := uint64(Capacity(ops))
	return merkle.Fold(merkle.Hash{}, uint64(k), n, a.Path) == prev && merkle.Fold(a.Leaf, uint64(k), n, a.Path) == next
}

// TraceOpening shows one chunk of op K's output under a prefix root of the trace: the
// output's tensor leaf by its path in the trace tree, then the chunk (statecommit.Opening
// over a state of one tensor, Tensors = 1).
type TraceOpening struct {
	K     int
	Path  []merkle.Hash
	Chunk statecommit.Opening
}

// Open opens the chunk of op k's output that holds element i, under Root(upTo) (k < upTo).
func (t *Trace) Open(k, i, upTo int) (TraceOpening, error) {
	if k < 0 || k >= upTo || upTo > len(t.outputs) {
		return TraceOpening{}, fmt.Errorf("stageprog: op %d's output is not under the root over the first %d of %d", k, upTo, len(t.outputs))
	}
	o, err := statecommit.Open([]statecommit.Tensor{outputTensor(k, t.outputs[k])}, 0, uint64(8*i))
	if err != nil {
		return TraceOpening{}, err
	}
	return TraceOpening{K: k, Path: t.path(k, upTo), Chunk: o}, nil
}

// Verify checks that o opens op o.K's output under root, in a trace tree of capacity leaves,
// with the dims dims (the program's for that op).
func (o TraceOpening) Verify(root merkle.Hash, capacity int, dims []int) error {
	want := outputHeader(o.K, dims, uint64(8*Size(dims)))
	h := o.Chunk.Header
	if o.Chunk.Tensor != 0 || o.Chunk.Tensors != 1 || h.Path != want.Path || h.DType != want.DType || h.RawLen != want.RawLen || len(h.Dims) != len(want.Dims) {
		return fmt.Errorf("stageprog: the opening's tensor is not op %d's output of dims %v", o.K, dims)
	}
	for i := range h.Dims {
		if h.Dims[i] != want.Dims[i] {
			return fmt.Errorf("stageprog: the opening's tensor is not op %d's output of dims %v", o.K, dims)
		}
	}
	leaf := statecommit.TensorLeaf(h, tensorChunksRoot(o.Chunk))
	if merkle.Fold(leaf, uint64(o.K), uint64(capacity), o.Path) != root {
		return statecommit.ErrNotOpened
	}
	// The chunk's own path: the opening is of a state of one tensor, whose root is the leaf.
	return o.Chunk.Verify(leaf)
}

// tensorChunksRoot is the chunk tree's root an opening leads to.
func tensorChunksRoot(o statecommit.Opening) merkle.Hash {
	chunks := (o.Header.RawLen + statecommit.ChunkBytes - 1) / statecommit.ChunkBytes
	return merkle.Fold(merkle.Leaf(o.Data), o.Chunk, chunks, o.ChunkPath)
}

// Value is element i of the opened output (it must lie in the opened chunk).
func (o TraceOpening) Value(i int) (float64, error) {
	b, err := o.Chunk.Bytes(uint64(8*i), 8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}
