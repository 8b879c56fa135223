// Package testreplay makes the update logs the replay tests check: updates of a stage after
// the first on random activations and gradients, applied as a worker applies them.
package testreplay

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Rows are the sequences of each update's microbatch.
const Rows = 2

// Stage is a fresh stage index of s on the Go backend with the engine's default optimizer.
func Stage(t testing.TB, s spec.Spec, index int) *engine.Stage {
	t.Helper()
	st, err := engine.New(testbackend.Go(), s, index, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Updates are n updates of st (a stage after the first, not the last) on random activations and
// gradients drawn from seed, applied to st as a worker would, with the digests of what it sends
// back.
func Updates(t testing.TB, st *engine.Stage, codec boundary.Codec, n int, seed uint64) []replay.Update {
	t.Helper()
	s := st.Spec()
	rng := rand.New(rand.NewPCG(seed, 4))
	floats := func(k int, scale float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	var out []replay.Update
	for i := range n {
		w := s.BoundaryWidth()
		ids := make([]int32, Rows*s.SeqLen)
		for j := range ids {
			ids[j] = int32(rng.IntN(s.Vocab))
		}
		in, err := codec.EncodeActivations(tensors.FromFlatDataAndDimensions(floats(Rows*s.SeqLen*w, 1), Rows, s.SeqLen, w), tensors.FromFlatDataAndDimensions(ids, Rows, s.SeqLen), 1, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		grad, err := codec.EncodeGradients(tensors.FromFlatDataAndDimensions(floats(Rows*s.SeqLen*w, 1e-3), Rows, s.SeqLen, w), 1, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		u := replay.Update{Step: 1, Microbatch: uint64(i), Input: in, Grad: grad}
		if u.Sent, err = replay.Apply(st, codec, u); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}
