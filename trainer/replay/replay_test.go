package replay

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/spec"
)

const rows = 2

func stage(t testing.TB, s spec.Spec, index int) *engine.Stage {
	t.Helper()
	st, err := engine.New(testbackend.Go(), s, index, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// updates are n updates of stage 1 of s on random activations and gradients, applied to st as a
// worker would, with the digests of what it sends back.
func updates(t testing.TB, st *engine.Stage, codec boundary.Codec, n int) []Update {
	t.Helper()
	s := st.Spec()
	rng := rand.New(rand.NewPCG(3, 4))
	floats := func(k int, scale float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	var out []Update
	for i := range n {
		w := s.BoundaryWidth()
		ids := make([]int32, rows*s.SeqLen)
		for j := range ids {
			ids[j] = int32(rng.IntN(s.Vocab))
		}
		in, err := codec.EncodeActivations(tensors.FromFlatDataAndDimensions(floats(rows*s.SeqLen*w, 1), rows, s.SeqLen, w), tensors.FromFlatDataAndDimensions(ids, rows, s.SeqLen), 1, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		grad, err := codec.EncodeGradients(tensors.FromFlatDataAndDimensions(floats(rows*s.SeqLen*w, 1e-3), rows, s.SeqLen, w), 1, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		u := Update{Step: 1, Microbatch: uint64(i), Input: in, Grad: grad}
		res, err := Run(st, codec, []Update{u})
		if err != nil {
			t.Fatal(err)
		}
		u.Sent = res.Sent[0]
		out = append(out, u)
	}
	return out
}

// A replay from the worker's starting state matches it exactly; one changed gradient sent back
// is found at its update; a replay from another state, or with the updates in another order,
// ends elsewhere; a malformed input is an error naming the update.
func TestReplayIsExact(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	worker := stage(t, s, 1)
	log := updates(t, worker, codec, 4)
	root, err := checkpoint.StateRoot(worker)
	if err != nil {
		t.Fatal(err)
	}

	m, ok, err := Check(stage(t, s, 1), codec, log, root)
	if err != nil || !ok {
		t.Fatalf("honest replay: %v, ok %t, err %v", m, ok, err)
	}

	garbage := append([]Update(nil), log...)
	garbage[2].Sent[0] ^= 1 // the worker sent something else back for update 2
	if m, ok, err := Check(stage(t, s, 1), codec, garbage, root); err != nil || ok || m != (Mismatch{Update: 2}) {
		t.Errorf("garbage gradient: %v, ok %t, err %v", m, ok, err)
	}

	other := s
	other.Seed++
	if m, ok, err := Check(stage(t, other, 1), codec, log, root); err != nil || ok || !m.Root || m.Update != 0 {
		t.Errorf("another starting state: %v, ok %t, err %v", m, ok, err)
	}

	swapped := append([]Update(nil), log...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if m, ok, err := Check(stage(t, s, 1), codec, swapped, root); err != nil || ok || !m.Root {
		t.Errorf("updates in another order: %v, ok %t, err %v", m, ok, err)
	}

	bad := append([]Update(nil), log...)
	bad[3].Input = bad[3].Input[:10]
	if _, _, err := Check(stage(t, s, 1), codec, bad, root); err == nil {
		t.Error("a truncated input replayed")
	} else if want := "update 3 (microbatch 3): input"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}
