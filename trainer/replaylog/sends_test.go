package replaylog_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/replaylog"
)

// Sends are what an attestation over a range of the log commits: every payload its updates
// record as signed, each with the index of its fold in the range, snapshots and averages
// counted as folds (as a replay dispute counts them). The log's memory of its folds and the
// decoded segments a referee is served agree.
func TestSends(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	worker := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Start(worker, 0, nil); err != nil {
		t.Fatal(err)
	}
	var params bytes.Buffer
	if err := checkpoint.Write(&params, testreplay.Stage(t, s, 1), 0, checkpoint.Params); err != nil {
		t.Fatal(err)
	}
	heads := [][32]byte{log.Head()} // after the start's snapshot, then after each update
	seq := uint64(100)
	next := func() uint64 { seq++; return seq }
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 5, 3) {
		if i == 2 {
			if _, err := checkpoint.Average(bytes.NewReader(params.Bytes()), worker, 1<<30, 0.5); err != nil {
				t.Fatal(err)
			}
			if err := log.Averaged(replaylog.Average{Weight: 0.5, Params: params.Bytes(), From: []byte("replica"), Sig: []byte("signature")}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := testApply(worker, codec, &u); err != nil {
			t.Fatal(err)
		}
		u.Sends = []logevent.Send{{Seq: next(), Digest: [32]byte{byte(i), 1}}} // the activations it sent on
		if i == 1 {
			u.Sends = append(u.Sends, logevent.Send{Seq: next(), Digest: [32]byte{byte(i), 2}}) // and a re-run's gradient
		}
		u.Seq = next()
		if err := log.Updated(worker, u); err != nil {
			t.Fatal(err)
		}
		heads = append(heads, log.Head())
	}
	// From after update 0 to after update 4 the folds are: update 1 (0), the average (1),
	// update 2 (2), the snapshot after 3 updates (3), update 3 (4), update 4 (5).
	got, err := log.Sends(heads[1], heads[5])
	if err != nil {
		t.Fatal(err)
	}
	type at struct {
		event uint32
		seq   uint64
	}
	var places []at
	for _, g := range got {
		places = append(places, at{g.Event, g.Seq})
	}
	want := []at{{0, 103}, {0, 104}, {0, 105}, {2, 106}, {2, 107}, {4, 108}, {4, 109}, {5, 110}, {5, 111}}
	if !reflect.DeepEqual(places, want) {
		t.Fatalf("sends at %v, want %v", places, want)
	}
	if got[1].Digest != ([32]byte{1, 2}) || got[2].Digest == ([32]byte{}) {
		t.Errorf("digests %x, %x: want the re-run's, then the gradient update 1 sent back", got[1].Digest[:2], got[2].Digest[:2])
	}
	segs, err := log.Decoded()
	if err != nil {
		t.Fatal(err)
	}
	fromSegs, err := replaylog.RangeSends(segs, heads[1], heads[5])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, fromSegs) {
		t.Fatalf("the log's memory says %+v, its segments %+v", got, fromSegs)
	}
	if _, err := log.Sends(heads[5], heads[1]); err == nil {
		t.Error("a range that runs backwards: no error")
	}
	if _, err := log.Sends([32]byte{1}, heads[1]); err == nil {
		t.Error("a head not in the log: no error")
	}
}

// A reopened log (a restarted trainer) knows the highest send number it recorded, which the
// trainer numbers above whatever its wall clock says.
func TestLastSeqSurvivesARestart(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	dir := t.TempDir()
	log, err := replaylog.Open(dir, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	worker := testreplay.Stage(t, s, 1)
	if err := log.Start(worker, 0, nil); err != nil {
		t.Fatal(err)
	}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 3, 4) {
		if _, err := testApply(worker, codec, &u); err != nil {
			t.Fatal(err)
		}
		u.Sends = []logevent.Send{{Seq: uint64(1000 + 2*i), Digest: [32]byte{1}}}
		u.Seq = uint64(1001 + 2*i)
		if err := log.Updated(worker, u); err != nil {
			t.Fatal(err)
		}
	}
	if log.LastSeq() != 0 {
		t.Errorf("a fresh log's LastSeq is %d, want 0", log.LastSeq())
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := replaylog.Open(dir, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.LastSeq() != 1005 {
		t.Errorf("LastSeq after a restart: %d, want 1005", again.LastSeq())
	}
}
