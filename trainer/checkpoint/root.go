package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/statecommit"

	"github.com/protolearn/protolearn/trainer/engine"
)

// WeightsRoot is the 32-byte root a worker commits on chain for its stage (x/models
// MsgCommitCheckpoint): the statecommit root of the stage's trainable parameters in store order
// (the order of a Params checkpoint), so that replicas holding the same weights commit the same
// root, and any one value can later be opened against it (Open).
func WeightsRoot(st *engine.Stage) ([32]byte, error) { return root(st, Params) }

// StateRoot is WeightsRoot over the stage's whole state, the optimizer's too (every variable of
// a Full checkpoint, in store order, with the same leaves): what determines the stage's next
// updates, so that a replica replaying them from a state with this root (package replay) must
// reach the worker's next root exactly.
func StateRoot(st *engine.Stage) ([32]byte, error) { return root(st, Full) }

// variables are the stage's variables sel commits, in store order.
func variables(st *engine.Stage, sel Selection) []*model.Variable {
	var out []*model.Variable
	for v := range st.Store().IterVariables() {
		if engine.IsAccumulator(v.Path()) || (sel == Params && !v.Trainable) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func header(v *model.Variable, rawLen uint64) statecommit.Header {
	shape := v.Shape()
	dims := make([]uint64, len(shape.Dimensions))
	for i, d := range shape.Dimensions {
		dims[i] = uint64(d)
	}
	return statecommit.Header{Path: v.Path(), DType: shape.DType.String(), Dims: dims, RawLen: rawLen}
}

func root(st *engine.Stage, sel Selection) ([32]byte, error) {
	var level [][32]byte
	for _, v := range variables(st, sel) {
		t, err := v.Value()
		if err != nil {
			return [32]byte{}, fmt.Errorf("checkpoint: %s root: variable %s: %w", sel, v.Path(), err)
		}
		var c statecommit.Chunks
		if err := t.ConstBytes(func(b []byte) { c.Write(b) }); err != nil {
			return [32]byte{}, fmt.Errorf("checkpoint: %s root: variable %s: %w", sel, v.Path(), err)
		}
		level = append(level, statecommit.TensorLeaf(header(v, c.Len()), c.Root()))
	}
	if len(level) == 0 {
		return [32]byte{}, fmt.Errorf("checkpoint: %s root: stage %d has no parameters", sel, st.Info().Index)
	}
	return merkle.Root(level), nil
}

// Tensors are the stage's sel state as the root commits it: each variable's header and raw
// values, in store order (what a dispute bisects: the tensor leaves, one tensor's chunk tree).
func Tensors(st *engine.Stage, sel Selection) ([]statecommit.Tensor, error) {
	var ts []statecommit.Tensor
	for _, v := range variables(st, sel) {
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: variable %s: %w", v.Path(), err)
		}
		var raw []byte
		if err := t.ConstBytes(func(b []byte) { raw = bytes.Clone(b) }); err != nil {
			return nil, fmt.Errorf("checkpoint: variable %s: %w", v.Path(), err)
		}
		h := header(v, uint64(len(raw)))
		ts = append(ts, statecommit.Tensor{Path: h.Path, DType: h.DType, Dims: h.Dims, Raw: raw})
	}
	return ts, nil
}

// StreamTensors are the tensors of a checkpoint stream (Params or Full, of any stage), as
// statecommit commits them: what a replica's signature over the parameters it served names
// (StreamRoot), and what a referee opens chunks of in a dispute over an average. Values of more
// than limit bytes are refused before they are read.
func StreamTensors(body []byte, limit int64) ([]statecommit.Tensor, error) {
	r := bytes.NewReader(body)
	h, size, err := readHeader(r, "stream")
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, fmt.Errorf("checkpoint: stream holds %d bytes of values, more than the %d allowed", size, limit)
	}
	if int64(r.Len()) != size {
		return nil, fmt.Errorf("checkpoint: stream holds %d bytes of values, its header says %d", r.Len(), size)
	}
	vals := body[len(body)-r.Len():]
	if sum := sha256.Sum256(vals); hex.EncodeToString(sum[:]) != h.ValuesSHA256 {
		return nil, fmt.Errorf("checkpoint: stream: values do not match their SHA-256 (corrupted)")
	}
	ts := make([]statecommit.Tensor, 0, len(h.Variables))
	for _, v := range h.Variables {
		if engine.IsAccumulator(v.Path) {
			continue // never committed (root): a stream holds none
		}
		dims := make([]uint64, len(v.Dims))
		for i, d := range v.Dims {
			dims[i] = uint64(d)
		}
		ts = append(ts, statecommit.Tensor{Path: v.Path, DType: v.DType, Dims: dims, Raw: vals[v.Offset : v.Offset+v.Size]})
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("checkpoint: stream holds no tensors")
	}
	return ts, nil
}

// StreamRoot is the statecommit root of a checkpoint stream's tensors: WeightsRoot of the stage
// that wrote a Params stream, StateRoot of one that wrote a Full one.
func StreamRoot(body []byte, limit int64) ([32]byte, error) {
	ts, err := StreamTensors(body, limit)
	if err != nil {
		return [32]byte{}, err
	}
	return statecommit.Root(ts), nil
}

// SelectionRoot is the root of st's state that a sel stream of it commits.
func SelectionRoot(st *engine.Stage, sel Selection) ([32]byte, error) { return root(st, sel) }

// Open opens the value at element index of the variable at path against the stage's sel root
// (WeightsRoot or StateRoot): what a dispute shows of the state, one chunk of one tensor.
func Open(st *engine.Stage, sel Selection, path string, index uint64) (statecommit.Opening, error) {
	ts, err := Tensors(st, sel)
	if err != nil {
		return statecommit.Opening{}, fmt.Errorf("checkpoint: open: %w", err)
	}
	for i, t := range ts {
		if t.Path == path {
			n := uint64(1)
			for _, d := range t.Dims {
				n *= d
			}
			return statecommit.Open(ts, i, index*(uint64(len(t.Raw))/max(n, 1)))
		}
	}
	return statecommit.Opening{}, fmt.Errorf("checkpoint: open: stage %d commits no variable %q in its %s root", st.Info().Index, path, sel)
}
