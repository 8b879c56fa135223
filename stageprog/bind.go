package stageprog

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/statecommit"
)

// Binding of a program's inputs to what the chain holds. At a leaf the chain takes each input
// value the op reads from an opening of its commitment: the stage's state (its parameters, step
// counter and moments, under the agreed state root: StateValue), the payloads the neighbours
// signed (the input, the gradient that came back, and the token ids they carry, under the
// receipts' digests: PayloadValue, PayloadID), the dataset's tokens on stage 0 and the last
// stage's targets (under the dataset commitment), and the model's public U and T_fixed (from
// its seed).

// StateTensor is the index, in the stage's state (the store order trainer/checkpoint commits:
// parameters, step counter, each parameter's two moments), of the tensor program input v holds,
// and false for an input that is not part of the state.
func (l Layout) StateTensor(v int) (int, bool) {
	for i, p := range l.Params {
		if p == v {
			return i, true
		}
	}
	if v == l.Step && v >= 0 {
		return len(l.Params), true
	}
	for i, m := range l.Moments {
		for j := range m {
			if m[j] == v {
				return len(l.Params) + 1 + 2*i + j, true
			}
		}
	}
	return 0, false
}

// StateValue is element i of tensor `tensor` of a stage's state of `tensors` tensors (3·params
// + 1: the parameters, the step counter, two moments each), opened by o under root: its float32
// (or float64) value, exactly, as float64.
func StateValue(o statecommit.Opening, root merkle.Hash, tensor, tensors, i int) (float64, error) {
	if err := o.VerifyIn(root, uint64(tensors)); err != nil {
		return 0, err
	}
	if o.Tensor != uint64(tensor) {
		return 0, fmt.Errorf("stageprog: the opening is of state tensor %d, not %d", o.Tensor, tensor)
	}
	switch o.Header.DType {
	case "Float32":
		b, err := o.Bytes(4*uint64(i), 4)
		if err != nil {
			return 0, err
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	case "Float64":
		b, err := o.Bytes(8*uint64(i), 8)
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	}
	return 0, fmt.Errorf("stageprog: state tensor %s is of dtype %s, not Float32 or Float64", o.Header.Path, o.Header.DType)
}

// PayloadValue is element i of a boundary input [B·N, width] (token i/width's value i%width),
// opened by o under the payload digest d a receipt signed.
func PayloadValue(o payload.TokenOpening, d [32]byte, width, i int) (float64, error) {
	tok, err := openToken(o, d, i/width)
	if err != nil {
		return 0, err
	}
	if len(tok.Values) != width {
		return 0, fmt.Errorf("stageprog: the payload's tokens hold %d values, the stage takes %d", len(tok.Values), width)
	}
	return float64(tok.Values[i%width]), nil
}

// PayloadID is token row's id, opened by o under the payload digest d (an activations payload,
// which carries the microbatch's ids).
func PayloadID(o payload.TokenOpening, d [32]byte, row int) (float64, error) {
	tok, err := openToken(o, d, row)
	if err != nil {
		return 0, err
	}
	if tok.ID < 0 {
		return 0, fmt.Errorf("stageprog: the payload carries no token ids (a gradients payload)")
	}
	return float64(tok.ID), nil
}

func openToken(o payload.TokenOpening, d [32]byte, row int) (payload.Token, error) {
	tok, err := o.Verify(d)
	if err != nil {
		return payload.Token{}, err
	}
	if tok.Index != uint64(row) {
		return payload.Token{}, fmt.Errorf("stageprog: the opening is of token %d, not %d", tok.Index, row)
	}
	return tok, nil
}
