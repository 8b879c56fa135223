package checkpoint

import (
	"bytes"
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
