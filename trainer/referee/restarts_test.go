package referee_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/statesync"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// An honest worker that attested a and next in one process and restarted before a referee got
// to a passes: next is reached in a's epoch, so its ending does not matter. (An attacker
// review's proof of concept of a false finding, as are the tests below unless they say.)
func TestServiceRestartAfterNextAttested(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := testspec.Tiny(8)
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	old, err := replaylog.Open(dir, 100, 8)
	require(t, err)
	st := testreplay.Stage(t, s, 1)
	require(t, old.Start(st, 0, nil))
	logSteps(t, old, st, m, &atts[0], 9)  // a dropped step, then a
	logSteps(t, old, st, 0, &atts[1], 10) // next, attested in the same process
	require(t, old.Close())
	log, err := replaylog.Open(dir, 100, 8) // restarted afterwards
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	st = testreplay.Stage(t, s, 1)
	require(t, log.Start(st, 0, nil))
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); got != "pass" {
		t.Errorf("honest worker restarted after attesting a and next in one epoch: %s; want pass", got)
	}
}

// An honest worker whose process between a and next stopped before it attested anything
// passes: the referee follows the epochs back from next's (each names where the one before it
// ended) to the one a's log ends.
func TestServiceRestartsBetweenAttestations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := testspec.Tiny(8)
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	old, err := replaylog.Open(dir, 100, 8)
	require(t, err)
	st := testreplay.Stage(t, s, 1)
	require(t, old.Start(st, 0, nil))
	logSteps(t, old, st, m, &atts[0], 9) // a dropped step, then a
	require(t, old.Close())
	mid, err := replaylog.Open(dir, 100, 8) // started, then died before its first attestation
	require(t, err)
	require(t, mid.Start(testreplay.Stage(t, s, 1), 0, nil))
	require(t, mid.Close())
	log, err := replaylog.Open(dir, 100, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	st = testreplay.Stage(t, s, 1)
	require(t, log.Start(st, 0, nil))
	logSteps(t, log, st, 0, &atts[1], 10)
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); got != "pass" {
		t.Errorf("honest worker restarted twice between a and next: %s; want pass", got)
	}
}

// An honest worker that crashed while it wrote a snapshot's header passes: its epoch ends at the
// segment before, as it is served and as the next epoch names it.
func TestServiceCrashDuringSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := testspec.Tiny(8)
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	old, err := replaylog.Open(dir, 2*m, 8) // a snapshot after a's step
	require(t, err)
	st := testreplay.Stage(t, s, 1)
	require(t, old.Start(st, 0, nil))
	logSteps(t, old, st, m, &atts[0], 9)
	require(t, old.Close())
	torn := filepath.Join(dir, fmt.Sprintf("seg-%010d-%020d.plr", 0, 2*m))
	b, err := os.ReadFile(torn)
	require(t, err)
	require(t, os.WriteFile(torn, b[:100], 0o600)) // the crash: the snapshot's header half written
	log, err := replaylog.Open(dir, 2*m, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	st = testreplay.Stage(t, s, 1)
	require(t, log.Start(st, 0, nil))
	logSteps(t, log, st, m, &atts[1], 10)
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); got != "pass" {
		t.Errorf("honest worker that crashed while writing a snapshot: %s; want pass", got)
	}
}

// An honest worker that crashed with a step whose attestation was lost, and an update in
// flight, passes: the old epoch is replayed until a's inputs are taken, not judged after.
func TestServiceCrashWithUnattestedTail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	old, err := replaylog.Open(dir, 100, 8)
	require(t, err)
	st := testreplay.Stage(t, s, 1)
	require(t, old.Start(st, 0, nil))
	logSteps(t, old, st, m, &atts[0], 9)
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, m+1, 33) { // the lost step, and one in flight
		if i%m == 0 {
			u.Root, err = checkpoint.StateRoot(st)
			require(t, err)
		}
		u.Sent, err = replay.Apply(st, codec, u)
		require(t, err)
		require(t, old.Updated(st, u))
	}
	require(t, old.Close())
	log, err := replaylog.Open(dir, 100, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	st = testreplay.Stage(t, s, 1)
	require(t, log.Start(st, 0, nil))
	logSteps(t, log, st, m, &atts[1], 10)
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); got != "pass" {
		t.Errorf("honest worker that crashed with a step whose attestation was lost: %s; want pass", got)
	}
}

// Segments after the last committed head are not the worker's to answer for: a log relayed with
// a segment of the relayer's own appended there is no finding. (The review's goal 5: a finding
// anyone holding the log can check.)
func TestAuditIgnoresUncommittedTail(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	log, atts := attested(t, nil)
	root0, root1 := [32]byte(atts[0].StateRoot), [32]byte(atts[1].StateRoot)
	b, err := log.From(root0, 1<<30)
	require(t, err)
	segs, _, err := replaylog.DecodeBundle(b)
	require(t, err)
	claims := []referee.Claim{{Update: 0, Root: root0, Head: [32]byte(atts[0].LogHead)}, {Update: m, Root: root1, Head: [32]byte(atts[1].LogHead)}}
	if rep, err := referee.Audit(context.Background(), testreplay.Stage(t, s, 1), codec, segs, claims, options(t)); err != nil || rep.Finding != nil {
		t.Fatalf("control: the worker's own log: %v, %v", rep.Finding, err)
	}
	forged := segs[0]
	forged.First = segs[0].First + uint64(len(segs[0].Events))
	forged.Head = [32]byte{7} // not where the worker's log arrives: after every committed head
	forged.Events, forged.EpochStart, forged.Anchor = nil, false, nil
	segs = append(segs, forged)
	rep, err := referee.Audit(context.Background(), testreplay.Stage(t, s, 1), codec, segs, claims, options(t))
	require(t, err)
	if rep.Finding != nil {
		t.Errorf("the worker's log, which folds to both committed heads, with an uncommitted segment appended after them: %v; want pass (nothing the worker committed departs)", rep.Finding)
	}
}

// A referee that never saw a's successor (final before a round read it) does not audit a against
// a later attestation, which would count the steps between as unattested.
func TestServiceSuccessorNeverSeen(t *testing.T) {
	s := testspec.Tiny(8)
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 100, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	require(t, log.Start(st, 0, nil))
	atts := make([]verifytypes.Attestation, 4)
	for i := range atts {
		atts[i] = verifytypes.Attestation{Id: uint64(31 + i), Stage: 1, StepFrom: uint64(i + 1), StepTo: uint64(i + 1)}
		logSteps(t, log, st, 0, &atts[i], uint64(40+i))
	}
	workerHost, refHost := testhost.New(t), testhost.New(t)
	r, err := roster.New(model, 3, []roster.Member{{Peer: workerHost.ID(), Stage: 1}, {Peer: refHost.ID(), Stage: 1}})
	require(t, err)
	srv := statesync.Serve(workerHost, model, 1, nil, func(p peer.ID) error { return r.Check(p, 1) }, nil)
	t.Cleanup(srv.Close)
	srv.SetLog(log.Serve(1 << 30))
	require(t, refHost.Connect(context.Background(), peer.AddrInfo{ID: workerHost.ID(), Addrs: workerHost.Addrs()}))
	chain := &fakeChain{replicas: []modelstypes.Replica{{Operator: "referee", PeerId: refHost.ID().String()}, {Operator: "worker", PeerId: workerHost.ID().String()}}}
	svc, err := referee.New(referee.Config{
		Host: refHost, Chain: chain, Model: model, Stage: 1, Self: "referee", Microbatches: m,
		NewStage: func() (*engine.Stage, error) { return testreplay.Stage(t, s, 1), nil },
		Codec:    boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32},
		Rate:     1, Rand: rand.New(rand.NewPCG(1, 2)), Timeout: 10 * time.Second,
	})
	require(t, err)
	chain.pending = atts[:1] // round 1: a, its successor not yet submitted
	out, err := svc.Round(context.Background())
	require(t, err)
	if len(out) != 0 {
		t.Fatalf("round 1: %+v, want nothing audited yet", out)
	}
	chain.pending = atts[3:] // round 2: a and the next two are final
	out, err = svc.Round(context.Background())
	require(t, err)
	if got := outcome(out); len(out) > 0 && got != "pass" {
		t.Errorf("honest worker, audited against an attestation three after its own: %s; want pass (or no audit)", got)
	}
}
