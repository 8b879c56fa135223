package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/protolearn/protolearn/merkle"

	"github.com/protolearn/protolearn/trainer/engine"
)

// WeightsRoot is the 32-byte root a worker commits on chain for its stage (x/models
// MsgCommitCheckpoint): a SHA-256 Merkle tree whose leaves are the stage's trainable
// parameters in store order (the order of a Params checkpoint), so that replicas holding the
// same weights commit the same root, and one tensor can later be proven against it.
//
//	leaf = SHA-256(0x00 | uint32 len(path) | path | uint32 len(dtype) | dtype |
//	               uint32 rank | uint64 dims… | raw little-endian values)
//	node = SHA-256(0x01 | left | right)
//
// (package merkle: an odd node at the end of a level is carried up unchanged). Integers are
// big-endian.
func WeightsRoot(st *engine.Stage) ([32]byte, error) { return root(st, Params) }

// StateRoot is WeightsRoot over the stage's whole state, the optimizer's too (every variable of
// a Full checkpoint, in store order, with the same leaves): what determines the stage's next
// updates, so that a replica replaying them from a state with this root (package replay) must
// reach the worker's next root exactly.
func StateRoot(st *engine.Stage) ([32]byte, error) { return root(st, Full) }

func root(st *engine.Stage, sel Selection) ([32]byte, error) {
	var level [][32]byte
	for v := range st.Store().IterVariables() {
		if engine.IsAccumulator(v.Path()) || (sel == Params && !v.Trainable) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return [32]byte{}, fmt.Errorf("checkpoint: %s root: variable %s: %w", sel, v.Path(), err)
		}
		h := sha256.New()
		h.Write([]byte{0})
		shape := v.Shape()
		writeString(h, v.Path())
		writeString(h, shape.DType.String())
		var n [8]byte
		binary.BigEndian.PutUint32(n[:4], uint32(len(shape.Dimensions)))
		h.Write(n[:4])
		for _, d := range shape.Dimensions {
			binary.BigEndian.PutUint64(n[:], uint64(d))
			h.Write(n[:])
		}
		if err := t.ConstBytes(func(b []byte) { h.Write(b) }); err != nil {
			return [32]byte{}, fmt.Errorf("checkpoint: %s root: variable %s: %w", sel, v.Path(), err)
		}
		level = append(level, [32]byte(h.Sum(nil)))
	}
	if len(level) == 0 {
		return [32]byte{}, fmt.Errorf("checkpoint: %s root: stage %d has no parameters", sel, st.Info().Index)
	}
	return merkle.Root(level), nil
}

func writeString(h io.Writer, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}
