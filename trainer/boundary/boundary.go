// Package boundary converts a stage's boundary tensors (activations going
// down, their gradients coming back) to payload encodings and back:
// the one place that knows the payload shape a model's boundary has, so the
// in-process pipeline and the networked swarm encode and check the same
// bytes.
package boundary

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Codec encodes and decodes one model's boundary payloads.
type Codec struct {
	Spec spec.Spec
	// Wire is the payload's value type (payload.F32 or payload.BF16).
	Wire payload.DType
	// Engine is the stages' tensor dtype (float32 or float64).
	Engine dtypes.DType
	// Limits bound what Decode accepts (zero value: payload's defaults).
	Limits payload.Limits
}

// ActivationShape is the payload shape of the activations of a microbatch of
// rows×seq tokens.
func (c Codec) ActivationShape(rows, seq int) payload.Shape {
	return payload.Shape{
		Kind: payload.Activations, DType: c.Wire, Compressed: c.Spec.Compressed(),
		Batch: uint32(rows), Seq: uint32(seq), Width: uint32(c.Spec.BoundaryWidth()), Vocab: uint32(c.Spec.Vocab),
	}
}

// GradientShape is the payload shape of the gradients of a microbatch of
// rows×seq tokens.
func (c Codec) GradientShape(rows, seq int) payload.Shape {
	sh := c.ActivationShape(rows, seq)
	sh.Kind, sh.Vocab = payload.Gradients, 0
	return sh
}

// EncodeActivations encodes a stage's output [rows, seq, width] with the
// microbatch's token ids [rows, seq].
func (c Codec) EncodeActivations(out, ids *tensors.Tensor, step uint64, mb uint32) ([]byte, error) {
	dims := out.Shape().Dimensions
	if len(dims) != 3 {
		return nil, fmt.Errorf("boundary: activations of shape %v, want [rows, seq, width]", dims)
	}
	sh := c.ActivationShape(dims[0], dims[1])
	return payload.Encode(&payload.Payload{
		Kind: sh.Kind, DType: sh.DType, Compressed: sh.Compressed, Step: step, Microbatch: mb,
		Batch: sh.Batch, Seq: sh.Seq, Width: sh.Width, Vocab: sh.Vocab,
		Data: Float32s(out), IDs: tensors.MustCopyFlatData[int32](ids),
	})
}

// EncodeGradients encodes a stage's ∂L/∂in [rows, seq, width].
func (c Codec) EncodeGradients(dIn *tensors.Tensor, step uint64, mb uint32) ([]byte, error) {
	dims := dIn.Shape().Dimensions
	if len(dims) != 3 {
		return nil, fmt.Errorf("boundary: gradients of shape %v, want [rows, seq, width]", dims)
	}
	sh := c.GradientShape(dims[0], dims[1])
	return payload.Encode(&payload.Payload{
		Kind: sh.Kind, DType: sh.DType, Compressed: sh.Compressed, Step: step, Microbatch: mb,
		Batch: sh.Batch, Seq: sh.Seq, Width: sh.Width, Data: Float32s(dIn),
	})
}

// DecodeActivations decodes activations and checks they have the shape a
// microbatch of rows×seq tokens has on this model's boundary; it returns
// the payload (for its step and microbatch), the stage input and the ids.
func (c Codec) DecodeActivations(msg []byte, rows, seq int) (pl *payload.Payload, in, ids *tensors.Tensor, err error) {
	pl, err = c.decode(msg, c.ActivationShape(rows, seq))
	if err != nil {
		return nil, nil, nil, err
	}
	return pl, c.Tensor(pl.Data, rows, seq, int(pl.Width)), tensors.FromFlatDataAndDimensions(pl.IDs, rows, seq), nil
}

// DecodeGradients decodes gradients and checks their shape (see
// DecodeActivations).
func (c Codec) DecodeGradients(msg []byte, rows, seq int) (*payload.Payload, *tensors.Tensor, error) {
	pl, err := c.decode(msg, c.GradientShape(rows, seq))
	if err != nil {
		return nil, nil, err
	}
	return pl, c.Tensor(pl.Data, rows, seq, int(pl.Width)), nil
}

// CheckHeader checks the shape msg's header declares against the one a stage expects of
// activations (or, with gradients, of gradients) of rows sequences: cheap, before anything is
// spent on the body (its digest, its decoding).
func (c Codec) CheckHeader(msg []byte, gradients bool, rows, seq int) error {
	want := c.ActivationShape(rows, seq)
	if gradients {
		want = c.GradientShape(rows, seq)
	}
	got, err := payload.PeekShape(msg)
	if err != nil {
		return err
	}
	return got.Match(want)
}

func (c Codec) decode(msg []byte, want payload.Shape) (*payload.Payload, error) {
	pl, err := payload.Decode(msg, c.Limits)
	if err != nil {
		return nil, err
	}
	if err := pl.Check(want); err != nil {
		return nil, err
	}
	return pl, nil
}

// Tensor makes a [rows, seq, width] tensor of the engine's dtype from wire
// values.
func (c Codec) Tensor(v []float32, rows, seq, width int) *tensors.Tensor {
	if c.Engine == dtypes.Float64 {
		f := make([]float64, len(v))
		for i, x := range v {
			f[i] = float64(x)
		}
		return tensors.FromFlatDataAndDimensions(f, rows, seq, width)
	}
	return tensors.FromFlatDataAndDimensions(v, rows, seq, width)
}

// Float32s are a float32 or float64 tensor's values as float32 (the wire's
// in-memory type).
func Float32s(t *tensors.Tensor) []float32 {
	if t.Shape().DType == dtypes.Float64 {
		f := tensors.MustCopyFlatData[float64](t)
		out := make([]float32, len(f))
		for i, x := range f {
			out[i] = float32(x)
		}
		return out
	}
	return tensors.MustCopyFlatData[float32](t)
}

// IDs is rows [j·rows, (j+1)·rows) of flat [batch, seq] token ids as a
// [rows, seq] tensor.
func IDs(flat []int32, j, rows, seq int) *tensors.Tensor {
	v := append([]int32(nil), flat[j*rows*seq:(j+1)*rows*seq]...)
	return tensors.FromFlatDataAndDimensions(v, rows, seq)
}
