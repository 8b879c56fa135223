package referee_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
)

// paramsRoot is the statecommit root of a checkpoint stream, as an average names it.
func paramsRoot(t *testing.T, b []byte) [32]byte {
	t.Helper()
	r, err := checkpoint.StreamRoot(b, 1<<40)
	require(t, err)
	return r
}

func require(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// replica is the other replica of stage 1 the worker averages with: its identity signs the
// parameters it serves.
var replica = func() struct {
	key crypto.PrivKey
	id  peer.ID
} {
	k, _, err := crypto.GenerateEd25519Key(cryptorand.Reader)
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return struct {
		key crypto.PrivKey
		id  peer.ID
	}{k, id}
}()

// options accept what the replica signed, and epochs from the tiny spec's initial state.
func options(t *testing.T) referee.Options {
	initial, err := checkpoint.StateRoot(testreplay.Stage(t, testspec.Tiny(8), 1))
	require(t, err)
	return referee.Options{Limit: 1 << 30, Model: model, Stage: 1, Replica: func(p peer.ID) bool { return p == replica.id }, Initial: initial}
}

// worker trains stage 1 of a tiny spec for 6 updates, logging them with a snapshot every 3 and
// an average with a fresh replica's parameters (signed by it) before update 4; edit, when set,
// changes its state after update `at` (outside any logged event), mix the average as logged.
// It returns the decoded segments and the claim of the state before update 0 (an attestation's
// state_root).
func worker(t *testing.T, at int, edit func(st *engine.Stage), mix ...func(*replaylog.Average)) ([]replaylog.Segment, referee.Claim) {
	t.Helper()
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := log.Start(st, 0, nil); err != nil {
		t.Fatal(err)
	}
	start, err := checkpoint.StateRoot(st)
	if err != nil {
		t.Fatal(err)
	}
	var params bytes.Buffer
	if err := checkpoint.Write(&params, testreplay.Stage(t, s, 1), 0, checkpoint.Params); err != nil {
		t.Fatal(err)
	}
	sig, err := replica.key.Sign(statesync.StateMessage(model, 1, checkpoint.Params, params.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	avg := replaylog.Average{Weight: statesync.AverageWeight, Sel: uint8(checkpoint.Params), Root: paramsRoot(t, params.Bytes()), Params: params.Bytes(), From: []byte(replica.id), Sig: sig}
	for _, f := range mix {
		f(&avg)
	}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 6, 7) {
		if i == 4 {
			if _, err := checkpoint.Average(bytes.NewReader(avg.Params), st, 1<<30, avg.Weight); err != nil {
				t.Fatal(err)
			}
			if err := log.Averaged(avg); err != nil {
				t.Fatal(err)
			}
		}
		if u.Sent, err = replay.Apply(st, codec, u); err != nil {
			t.Fatal(err)
		}
		if i == at && edit != nil {
			edit(st)
		}
		if err := log.Updated(st, u); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := log.Decoded()
	require(t, err)
	return segs, referee.Claim{Update: 0, Root: start}
}

func audit(t *testing.T, segs []replaylog.Segment, claims ...referee.Claim) (referee.Report, error) {
	s := testspec.Tiny(8)
	return referee.Audit(context.Background(), testreplay.Stage(t, s, 1), boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}, segs, claims, options(t))
}

// An honest log replays across its segments and an average; a worker whose state changed
// outside its logged events (weights reset to another replica's between two updates, with its
// next snapshot taken of the changed state and no claim there to compare) is found where its
// next segment starts; a snapshot that is not the state it names, and a log with a gap, are
// refused.
func TestAudit(t *testing.T) {
	segs, claim := worker(t, -1, nil)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3 (updates 0-2, 3-5, and the one opened after 5)", len(segs))
	}
	rep, err := audit(t, segs) // no claims: the whole log
	if err != nil || rep.Finding != nil || rep.Updates != 6 || rep.Averages != 1 {
		t.Fatalf("honest: %+v (finding %v), %v", rep, rep.Finding, err)
	}
	// With claims the replay stops at the last: here the first, before any update.
	if rep, err := audit(t, segs, claim); err != nil || rep.Finding != nil || rep.Updates != 0 || rep.Claims != 1 {
		t.Fatalf("honest, to its start: %+v (finding %v), %v", rep, rep.Finding, err)
	}
	// A claim the log never reaches is a finding: the worker served a log that ends too soon.
	if rep, err := audit(t, segs[:2], claim, referee.Claim{Update: 9}); err != nil || rep.Finding == nil || !strings.Contains(rep.Finding.What, "before update 9") {
		t.Errorf("a claim beyond the log: %v, %v", rep.Finding, err)
	}

	reset := func(st *engine.Stage) {
		fresh := testreplay.Stage(t, st.Spec(), 1)
		var b bytes.Buffer
		if err := checkpoint.Write(&b, fresh, 0, checkpoint.Full); err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Read(&b, st, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	cheat, _ := worker(t, 2, reset) // after update 2, the last of the first segment
	rep, err = audit(t, cheat)
	if err != nil || rep.Finding == nil || rep.Finding.Update != 3 || !strings.Contains(rep.Finding.What, "changed outside its updates") {
		t.Errorf("state reset at a segment boundary: %+v (finding %v), %v", rep, rep.Finding, err)
	}
	// Audited from the second segment alone, the reset is invisible: a referee must replay from
	// the snapshot before the claim it checks (the one at or before an attestation's start).
	if rep, err := audit(t, cheat[1:]); err != nil || rep.Finding != nil {
		t.Errorf("the cheater's later segment alone: %+v, %v", rep.Finding, err)
	}

	// A snapshot under another root is not the log whose heads the worker logged (the epoch's
	// head folds its first state in; a later snapshot's root is folded into every head after).
	forged := append([]replaylog.Segment(nil), segs...)
	forged[0].Root[0] ^= 1
	if rep, err := audit(t, forged); err != nil || rep.Finding == nil || !strings.Contains(rep.Finding.What, "head") {
		t.Errorf("a snapshot under another root: %v, %v", rep.Finding, err)
	}
	claim.Root[0] ^= 1
	if rep, err := audit(t, segs, claim); err != nil || rep.Finding == nil || rep.Finding.Update != 0 {
		t.Errorf("a claim the log does not start from: %v, %v", rep.Finding, err)
	}
	if _, err := audit(t, []replaylog.Segment{segs[0], segs[2]}); !errors.Is(err, referee.ErrMalformed) {
		t.Errorf("a log with a gap: %v, want ErrMalformed", err)
	}
	// Averages: a worker cannot pass a change of its state off as one. Parameters no replica
	// signed, signed by a peer that is not a replica, or mixed at another weight are found
	// where they were mixed in.
	stranger, _, err := crypto.GenerateEd25519Key(cryptorand.Reader)
	require(t, err)
	var own bytes.Buffer // weights the worker chose: a stage trained on other data
	ownStage := testreplay.Stage(t, testspec.Tiny(8), 1)
	testreplay.Updates(t, ownStage, boundary.Codec{Spec: testspec.Tiny(8), Wire: payload.F32, Engine: dtypes.Float32}, 2, 99)
	require(t, checkpoint.Write(&own, ownStage, 0, checkpoint.Params))
	for name, mix := range map[string]func(*replaylog.Average){
		"parameters of its own":              func(a *replaylog.Average) { a.Params, a.Root = own.Bytes(), paramsRoot(t, own.Bytes()) },
		"a root that is not its parameters'": func(a *replaylog.Average) { a.Root[0]++ },
		"a full state":                       func(a *replaylog.Average) { a.Sel = uint8(checkpoint.Full) },
		"signed by a stranger": func(a *replaylog.Average) {
			id, _ := peer.IDFromPrivateKey(stranger)
			a.From = []byte(id)
			a.Sig, _ = stranger.Sign(statesync.StateMessage(model, 1, checkpoint.Params, a.Params))
		},
		"all the way to the replica's": func(a *replaylog.Average) { a.Weight = 1 },
	} {
		cheat, _ := worker(t, -1, nil, mix)
		rep, err := audit(t, cheat)
		if err != nil || rep.Finding == nil || rep.Finding.Update != 4 || !strings.Contains(rep.Finding.What, "cannot show was with a replica") || strings.Contains(rep.Finding.What, "root") != strings.Contains(name, "root") {
			t.Errorf("an average %s: %+v (finding %v), %v", name, rep, rep.Finding, err)
		}
	}
	noReplicas := options(t)
	noReplicas.Replica = nil
	if rep, err := referee.Audit(context.Background(), testreplay.Stage(t, testspec.Tiny(8), 1), boundary.Codec{Spec: testspec.Tiny(8), Wire: payload.F32, Engine: dtypes.Float32},
		segs, nil, noReplicas); err != nil || rep.Finding == nil || rep.Finding.Update != 4 || !strings.Contains(rep.Finding.What, "not a replica") {
		t.Errorf("an audit that knows no replica accepts no average: %v, %v", rep.Finding, err)
	}

	garbled := append([]replaylog.Segment(nil), segs...)
	garbled[0].State = garbled[0].State[:100]
	if _, err := audit(t, garbled); !errors.Is(err, referee.ErrMalformed) {
		t.Errorf("a truncated snapshot: %v, want ErrMalformed", err)
	}
}

// An epoch (a worker's process, from its first update) starts from the stage's initial state or
// from a state a replica of the stage signed (a join): a worker that starts from weights of its
// own, names a stranger as the replica it joined from, or trains from another state than the one
// it was served, is found where its epoch starts; an honest join passes.
func TestEpochAnchors(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	trained := testreplay.Stage(t, s, 1) // a replica's state, some updates in
	testreplay.Updates(t, trained, codec, 2, 31)
	var served bytes.Buffer
	require(t, checkpoint.Write(&served, trained, 2, checkpoint.Full))
	sign := func(k crypto.PrivKey, body []byte) []byte {
		sig, err := k.Sign(statesync.StateMessage(model, 1, checkpoint.Full, body))
		require(t, err)
		return sig
	}
	stranger, _, err := crypto.GenerateEd25519Key(cryptorand.Reader)
	require(t, err)
	strangerID, err := peer.IDFromPrivateKey(stranger)
	require(t, err)

	// epoch logs 3 updates from st, started as joined says.
	epoch := func(st *engine.Stage, joined *replaylog.Joined) []replaylog.Segment {
		log, err := replaylog.Open(t.TempDir(), 8, 2)
		require(t, err)
		defer log.Close()
		require(t, log.Start(st, 0, joined))
		for _, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 3, 32) {
			u.Sent, err = replay.Apply(st, codec, u)
			require(t, err)
			require(t, log.Updated(st, u))
		}
		b, err := log.Segment(0)
		require(t, err)
		seg, err := replaylog.Decode(b)
		require(t, err)
		return []replaylog.Segment{seg}
	}
	loaded := func(body []byte) *engine.Stage {
		st := testreplay.Stage(t, s, 1)
		_, err := checkpoint.Read(bytes.NewReader(body), st, 1<<30)
		require(t, err)
		return st
	}
	var other bytes.Buffer // a state the worker was not served
	require(t, checkpoint.Write(&other, testreplay.Stage(t, s, 1), 0, checkpoint.Full))

	for _, c := range []struct {
		name string
		segs []replaylog.Segment
		says string // "" passes
	}{
		{"from the initial state", epoch(testreplay.Stage(t, s, 1), nil), ""},
		{"joined from a replica", epoch(loaded(served.Bytes()), &replaylog.Joined{State: served.Bytes(), From: []byte(replica.id), Sig: sign(replica.key, served.Bytes())}), ""},
		{"from weights of its own", epoch(loaded(served.Bytes()), nil), "not the stage's initial state"},
		{"joined from a stranger", epoch(loaded(served.Bytes()), &replaylog.Joined{State: served.Bytes(), From: []byte(strangerID), Sig: sign(stranger, served.Bytes())}), "not a replica"},
		{"a signature over another state", epoch(loaded(served.Bytes()), &replaylog.Joined{State: served.Bytes(), From: []byte(replica.id), Sig: sign(replica.key, other.Bytes())}), "not signed by"},
		{"trains from another state than it was served", epoch(loaded(other.Bytes()), &replaylog.Joined{State: served.Bytes(), From: []byte(replica.id), Sig: sign(replica.key, served.Bytes())}), "not the"},
	} {
		rep, err := audit(t, c.segs)
		switch {
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.says == "" && rep.Finding != nil:
			t.Errorf("%s: %v, want a pass", c.name, rep.Finding)
		case c.says != "" && (rep.Finding == nil || rep.Finding.Update != 0 || !strings.Contains(rep.Finding.What, c.says)):
			t.Errorf("%s: %v, want a finding at update 0 saying %q", c.name, rep.Finding, c.says)
		}
	}
}

// Microbatch ids on chain are 63-bit draws, and a frame carries an id's low 32 bits: an honest
// log of such ids replays; a payload of another microbatch does not.
func TestWideMicrobatchIDs(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 100, 2)
	require(t, err)
	defer log.Close()
	require(t, log.Start(st, 0, nil))
	ups := testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 3, 41)
	for i := range ups {
		ups[i].Microbatch += 0x5eed << 32 // the id's high bits: not in the frame
		ups[i].Sent, err = replay.Apply(st, codec, ups[i])
		require(t, err)
		require(t, log.Updated(st, ups[i]))
	}
	segs, err := log.Decoded()
	require(t, err)
	if rep, err := audit(t, segs); err != nil || rep.Finding != nil || rep.Updates != 3 {
		t.Fatalf("wide ids: %+v, %v", rep.Finding, err)
	}
	segs[0].Events[1].Update.Input = segs[0].Events[0].Update.Input // microbatch 0's payload under id 1
	if rep, err := audit(t, segs); err != nil || rep.Finding == nil || rep.Finding.Update != 1 || !strings.Contains(rep.Finding.What, "belong to microbatch 0") {
		t.Errorf("another microbatch's payload: %v, %v", rep.Finding, err)
	}
}
