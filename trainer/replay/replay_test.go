package replay_test

import (
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/replay"
)

// A replay from the worker's starting state matches it exactly; one changed gradient sent back
// is found at its update; a replay from another state, or with the updates in another order,
// ends elsewhere; a malformed input is an error naming the update.
func TestReplayIsExact(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	worker := testreplay.Stage(t, s, 1)
	log := testreplay.Updates(t, worker, codec, 4, 3)
	root, err := checkpoint.StateRoot(worker)
	if err != nil {
		t.Fatal(err)
	}

	m, ok, err := replay.Check(testreplay.Stage(t, s, 1), codec, log, root)
	if err != nil || !ok {
		t.Fatalf("honest replay: %v, ok %t, err %v", m, ok, err)
	}

	garbage := append([]replay.Update(nil), log...)
	garbage[2].Sent[0] ^= 1 // the worker sent something else back for update 2
	if m, ok, err := replay.Check(testreplay.Stage(t, s, 1), codec, garbage, root); err != nil || ok || m != (replay.Mismatch{Update: 2}) {
		t.Errorf("garbage gradient: %v, ok %t, err %v", m, ok, err)
	}

	other := s
	other.Seed++
	if m, ok, err := replay.Check(testreplay.Stage(t, other, 1), codec, log, root); err != nil || ok || !m.Root || m.Update != 0 {
		t.Errorf("another starting state: %v, ok %t, err %v", m, ok, err)
	}

	swapped := append([]replay.Update(nil), log...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if m, ok, err := replay.Check(testreplay.Stage(t, s, 1), codec, swapped, root); err != nil || ok || !m.Root {
		t.Errorf("updates in another order: %v, ok %t, err %v", m, ok, err)
	}

	bad := append([]replay.Update(nil), log...)
	bad[3].Input = bad[3].Input[:10]
	if _, _, err := replay.Check(testreplay.Stage(t, s, 1), codec, bad, root); err == nil {
		t.Error("a truncated input replayed")
	} else if want := "update 3 (microbatch 3): input"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}
