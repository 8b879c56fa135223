package replaylog_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
)

// A log snapshots every `every` updates and keeps `keep` segments; each segment decodes to its
// snapshot (the state before its first update, with that state's root) and its events in order,
// averages included; Segment finds the segment holding any update it still has.
func TestLogRoundTrip(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	worker := testreplay.Stage(t, s, 1)
	dir := t.TempDir()
	log, err := replaylog.Open(dir, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Start(worker, 10, nil); err != nil {
		t.Fatal(err)
	}
	var params bytes.Buffer
	if err := checkpoint.Write(&params, testreplay.Stage(t, s, 1), 0, checkpoint.Params); err != nil {
		t.Fatal(err)
	}
	var roots [][32]byte // the state before updates 10, 11, …
	root := func() [32]byte {
		r, err := checkpoint.StateRoot(worker)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	roots = append(roots, root())
	ups := testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 7, 5) // inputs only: applied below
	for i, u := range ups {
		if i == 4 {
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
		ups[i] = u
		if err := log.Updated(worker, u); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root())
	}
	// Updates 10…16: snapshots before 10 (Start), 12 and 15 (every 3 updates counted from 0);
	// two kept.
	firsts, err := log.Segments()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(firsts, []uint64{12, 15}) {
		t.Fatalf("segments %v, want [12 15] (keep 2)", firsts)
	}
	if _, err := log.Segment(11); err == nil || !strings.Contains(err.Error(), "the oldest held starts at 12") {
		t.Errorf("a pruned update: %v", err)
	}
	b, err := log.Segment(14)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := replaylog.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if seg.First != 12 || seg.Root != roots[2] || len(seg.Events) != 4 {
		t.Fatalf("segment of update 14: first %d, %d events; want 12 and 4 (3 updates and an average)", seg.First, len(seg.Events))
	}
	if a := seg.Events[2].Average; a == nil || a.Weight != 0.5 || !bytes.Equal(a.Params, params.Bytes()) || string(a.From) != "replica" || string(a.Sig) != "signature" {
		t.Errorf("event 2 is not the average: %+v", seg.Events[2])
	}
	for j, ev := range []int{0, 1, 3} {
		if got := seg.Events[ev].Update; got == nil || !reflect.DeepEqual(*got, ups[2+j]) {
			t.Errorf("event %d is not update %d", ev, 12+j)
		}
	}
	// The snapshot is the state it names.
	st := testreplay.Stage(t, s, 1)
	if _, err := checkpoint.Read(bytes.NewReader(seg.State), st, 1<<30); err != nil {
		t.Fatal(err)
	}
	if r, _ := checkpoint.StateRoot(st); r != roots[2] {
		t.Error("the snapshot's state is not the state before update 12")
	}
	last, err := log.Segment(99)
	if err != nil {
		t.Fatal(err)
	}
	if seg, err := replaylog.Decode(last); err != nil || seg.First != 15 || len(seg.Events) != 2 {
		t.Errorf("the open segment: first %d, %d events, %v; want 15 and 2 written so far", seg.First, len(seg.Events), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in the log's directory, want the 2 segments kept", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "seg-0000000000-00000000000000000012.plr")); err != nil {
		t.Error(err)
	}
}

// From serves the segments from the one holding the update a state root was logged before to
// the newest of its epoch; a reopened log (a restarted worker) starts a new epoch whose
// segments never follow the old ones in a bundle, and pruning counts the segments of every
// epoch.
func TestFromAndEpochs(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	dir := t.TempDir()
	run := func(seed uint64) [][32]byte { // 4 updates, a snapshot every 2, each update marked with its root
		st := testreplay.Stage(t, s, 1)
		log, err := replaylog.Open(dir, 2, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		if err := log.Start(st, 0, nil); err != nil {
			t.Fatal(err)
		}
		var roots [][32]byte
		for _, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 4, seed) {
			if u.Root, err = checkpoint.StateRoot(st); err != nil {
				t.Fatal(err)
			}
			roots = append(roots, u.Root)
			if _, err := testApply(st, codec, &u); err != nil {
				t.Fatal(err)
			}
			if err := log.Updated(st, u); err != nil {
				t.Fatal(err)
			}
		}
		return roots
	}
	first := run(1)  // epoch 0: segments at 0, 2, 4
	second := run(2) // epoch 1: segments at 0, 2, 4; the oldest of epoch 0 pruned (keep 5)
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 5 {
		t.Fatalf("%d files, %v; want 5 kept", len(entries), err)
	}
	log, err := replaylog.Open(dir, 2, 5) // epoch 2, nothing written yet
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for name, c := range map[string]struct {
		root   [32]byte
		firsts []uint64
	}{
		"epoch 0, update 3": {first[3], []uint64{2, 4}},
		"epoch 1, update 1": {second[1], []uint64{0, 2, 4}},
		"epoch 1, update 2": {second[2], []uint64{2, 4}},
	} {
		b, err := log.From(c.root, 1<<30)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		segs, _, err := replaylog.DecodeBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, sg := range segs {
			got = append(got, sg.First)
		}
		if !reflect.DeepEqual(got, c.firsts) {
			t.Errorf("%s: segments %v, want %v (within the root's epoch)", name, got, c.firsts)
		}
	}
	if _, err := log.From(first[1], 1<<30); err == nil || !strings.Contains(err.Error(), "no update held starts from state") {
		t.Errorf("a pruned root: %v", err)
	}
	if _, err := log.From(second[0], 100); err == nil || !strings.Contains(err.Error(), "more than 100 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if _, _, err := replaylog.DecodeBundle([]byte{1, 0, 0, 0, 0, 0, 0, 0, 'x'}); err == nil {
		t.Error("a bundle of garbage decoded")
	}
}

// Decode refuses anything but a well-formed segment (it comes from another worker), whatever
// its lengths claim, without a panic.
func TestDecodeRefusesGarbage(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	worker := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Start(worker, 0, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 2, 5) {
		if err := log.Updated(worker, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Averaged(replaylog.Average{Weight: 0.25, Params: []byte("params")}); err != nil {
		t.Fatal(err)
	}
	good, err := log.Segment(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replaylog.Decode(good); err != nil {
		t.Fatal(err)
	}
	for cut := range len(good) {
		if cut%97 != 0 && cut < len(good)-64 {
			continue // every 97th prefix, and every one near the end
		}
		if _, err := replaylog.Decode(good[:cut]); err == nil && cut != 0 {
			// A cut between events is a shorter valid segment; anything else must fail.
			if seg, _ := replaylog.Decode(good[:cut]); len(seg.Events) == 3 {
				t.Errorf("a segment cut at %d of %d decodes whole", cut, len(good))
			}
		}
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"bad magic": append([]byte("PLR2"), good[4:]...),
		"huge state length": func() []byte {
			b := bytes.Clone(good)
			copy(b[4+8+32+32:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
			return b
		}(),
		"unknown event": append(bytes.Clone(good), 9),
		"averaging weight above 1": func() []byte {
			b := bytes.Clone(good)
			i := len(b) - 8 - 8 - len("params") - 32 - 1 - 8 - 8 // the weight's bytes (then selection, root, params, from, sig)
			copy(b[i:], []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f})    // +Inf
			return b
		}(),
	} {
		if _, err := replaylog.Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func testApply(st *engine.Stage, codec boundary.Codec, u *replay.Update) ([32]byte, error) {
	sent, err := replay.Apply(st, codec, *u)
	u.Sent = sent
	return sent, err
}

// A reader racing the log's Close (a state-protocol handler during shutdown) gets an answer or
// an error, never a panic; writes after Close are refused.
func TestUseAfterClose(t *testing.T) {
	l, err := replaylog.Open(t.TempDir(), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	st := testreplay.Stage(t, testspec.Tiny(8), 1)
	if err := l.Start(st, 0, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			_, _ = l.From([32]byte{}, 1<<20)
			_, _ = l.Segment(0)
		}
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := l.Segment(0); err != nil {
		t.Errorf("reading a closed log: %v", err)
	}
	if err := l.Averaged(replaylog.Average{Weight: 0.5}); err == nil {
		t.Error("an event after Close was taken")
	}
}

// An ended epoch (an earlier process's log) is served with a mark saying so, its last event cut
// off if a crash tore it; the current epoch's bundle has no mark.
func TestEndedEpoch(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	dir := t.TempDir()
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(dir, 100, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Start(st, 0, nil); err != nil {
		t.Fatal(err)
	}
	var root [32]byte
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 2, 5) {
		if i == 0 {
			root, _ = checkpoint.StateRoot(st)
			u.Root = root
		}
		if _, err := testApply(st, codec, &u); err != nil {
			t.Fatal(err)
		}
		if err := log.Updated(st, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	// The crash: half an event at the end of the file.
	f, err := os.OpenFile(filepath.Join(dir, "seg-0000000000-00000000000000000000.plr"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{1, 7, 0, 0}); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	next, err := replaylog.Open(dir, 100, 4) // the restarted process
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	st2 := testreplay.Stage(t, s, 1)
	if err := next.Start(st2, 0, nil); err != nil {
		t.Fatal(err)
	}
	b, err := next.From(root, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	segs, ended, err := replaylog.DecodeBundle(b)
	if err != nil || !ended || len(segs) != 1 || len(segs[0].Events) != 2 {
		t.Fatalf("the ended epoch: %d segments, ended %t, %v; want its one segment, its 2 whole updates, and the mark", len(segs), ended, err)
	}
	u := testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 1, 6)[0]
	u.Root, _ = checkpoint.StateRoot(st2)
	if err := next.Updated(st2, u); err != nil {
		t.Fatal(err)
	}
	b, err = next.From(u.Root, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if _, ended, err := replaylog.DecodeBundle(b); err != nil || ended {
		t.Errorf("the current epoch: ended %t, %v; want no mark", ended, err)
	}
}

// The log's head is a hash chain over its epoch: it starts at the epoch's EpochHead (its first
// state and, when joined, who served it), every event moves it by Next of its digest, and every
// segment's header carries the head before its first event; so the head at any update fixes
// every event before it. FromEpoch serves from the epoch's first segment.
func TestHead(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Start(st, 0, nil); err != nil {
		t.Fatal(err)
	}
	initial, _ := checkpoint.StateRoot(st)
	if log.Head() != logevent.Next(logevent.EpochHead(initial, nil, [32]byte{}), logevent.SnapshotDigest(0, initial)) {
		t.Fatal("an epoch's head does not start at its EpochHead, its first snapshot folded in")
	}
	if logevent.EpochHead(initial, &replaylog.Anchor{From: []byte("replica"), Sig: []byte("sig")}, [32]byte{}) == log.Head() {
		t.Error("an anchored epoch starts at the head of an unanchored one")
	}
	heads := [][32]byte{log.Head()} // before update i
	var roots [][32]byte
	for _, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 5, 7) {
		u.Root, _ = checkpoint.StateRoot(st)
		roots = append(roots, u.Root)
		if _, err := testApply(st, codec, &u); err != nil {
			t.Fatal(err)
		}
		if err := log.Updated(st, u); err != nil {
			t.Fatal(err)
		}
		if log.Head() == heads[len(heads)-1] {
			t.Fatal("an update left the head where it was")
		}
		heads = append(heads, log.Head())
	}
	segs, err := log.Decoded()
	if err != nil {
		t.Fatal(err)
	}
	h, n := segs[0].Head, 0
	for i, sg := range segs {
		if sg.Head != h {
			t.Fatalf("segment %d starts at head %x, the events before it fold to %x", i, sg.Head[:4], h[:4])
		}
		h = logevent.Next(h, logevent.SnapshotDigest(sg.First, sg.Root))
		for _, ev := range sg.Events {
			if h != heads[n] {
				t.Fatalf("before update %d the decoded events fold to %x, the log's head was %x", n, h[:4], heads[n][:4])
			}
			h = logevent.Next(h, ev.Digest)
			n++
		}
	}
	if h != log.Head() || n != 5 || segs[len(segs)-1].End() != h {
		t.Fatalf("%d events fold to %x, the log's head is %x", n, h[:4], log.Head())
	}
	// FromEpoch serves the epoch from its first segment whatever root it is asked from; From, from
	// the segment holding the root.
	for _, c := range []struct {
		q     replaylog.Query
		first uint64
	}{{replaylog.QueryFrom, 4}, {replaylog.QueryFromEpoch, 0}} {
		b, err := log.Serve(1<<30)(roots[4], c.q)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := replaylog.DecodeBundle(b)
		if err != nil || got[0].First != c.first || got[0].EpochStart != (c.first == 0) {
			t.Errorf("query %d: first segment at %d (epoch start %t), %v; want %d", c.q, got[0].First, got[0].EpochStart, err, c.first)
		}
	}
}
