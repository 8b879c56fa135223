package boundary

import (
	"errors"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/spec"
)

func codec(t *testing.T, rank int, eng dtypes.DType) Codec {
	t.Helper()
	s := spec.Spec{Vocab: 256, DModel: 16, NLayers: 2, NHeads: 2, SeqLen: 4, CompressionRank: rank, Stages: []int{1, 1}, Seed: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return Codec{Spec: s, Wire: payload.F32, Engine: eng}
}

func values(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)/8 - 3
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Codec{codec(t, 0, dtypes.Float32), codec(t, 4, dtypes.Float64)} {
		w := c.Spec.BoundaryWidth()
		rows, seq := 2, 4
		out := c.Tensor(values(rows*seq*w), rows, seq, w)
		ids := IDs([]int32{9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8}, 1, rows, seq)
		msg, err := c.EncodeActivations(out, ids, 3, 7)
		if err != nil {
			t.Fatal(err)
		}
		pl, in, gotIDs, err := c.DecodeActivations(msg, rows, seq)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Step != 3 || pl.Microbatch != 7 || in.Shape().DType != c.Engine {
			t.Fatalf("step %d microbatch %d dtype %s", pl.Step, pl.Microbatch, in.Shape().DType)
		}
		if got, want := Float32s(in), values(rows*seq*w); len(got) != len(want) || got[5] != want[5] || got[len(got)-1] != want[len(want)-1] {
			t.Fatalf("values changed in the round trip")
		}
		if got := tensors.MustCopyFlatData[int32](gotIDs); got[0] != 1 || got[7] != 8 {
			t.Fatalf("ids %v", got)
		}
		gmsg, err := c.EncodeGradients(out, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.DecodeGradients(gmsg, rows, seq); err != nil {
			t.Fatal(err)
		}
		// The wrong kind, or another microbatch shape, is refused.
		if _, _, err := c.DecodeGradients(msg, rows, seq); !errors.Is(err, payload.ErrShape) {
			t.Fatalf("activations decoded as gradients: %v", err)
		}
		if _, _, _, err := c.DecodeActivations(msg, 1, 8); !errors.Is(err, payload.ErrShape) {
			t.Fatalf("2×4 activations decoded as 1×8: %v", err)
		}
		if _, err := c.EncodeActivations(ids, ids, 0, 0); err == nil {
			t.Fatal("a rank-2 tensor encoded as activations")
		}
	}
}
