package referee_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// twoLogs trains stage 1 for two attested steps of m updates and logs them twice, in two
// logs that differ in one event (the second also records the state root before update 1, a
// true one: the replay checks it and agrees). Both logs replay to the same attestations; their
// heads differ. It returns the logs and the attestations with the first log's heads.
func twoLogs(t *testing.T) (a, b *replaylog.Log, atts []verifytypes.Attestation) {
	t.Helper()
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	var logs [2]*replaylog.Log
	for i := range logs {
		l, err := replaylog.Open(t.TempDir(), 8, 4)
		require(t, err)
		t.Cleanup(func() { _ = l.Close() })
		require(t, l.Start(st, 0, nil))
		logs[i] = l
	}
	atts = []verifytypes.Attestation{{Id: 11, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 12, Stage: 1, StepFrom: 2, StepTo: 2}}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 2*m, 9) {
		at := &atts[i/m]
		r, err := checkpoint.StateRoot(st)
		require(t, err)
		if i%m == 0 {
			u.Root = r
			head := logs[0].Head()
			at.StateRoot, at.LogHead = r[:], head[:]
		}
		d, _ := payload.Digest(u.Input)
		g, _ := payload.Digest(u.Grad)
		at.InputDigests = append(at.InputDigests, d[:], g[:])
		u.Sent, err = replay.Apply(st, codec, u)
		require(t, err)
		require(t, logs[0].Updated(st, u))
		if i == 1 {
			u.Root = r // the other log: one more (true) logged root
		}
		require(t, logs[1].Updated(st, u))
	}
	return logs[0], logs[1], atts
}

func outcome(o []referee.Outcome) string {
	switch {
	case len(o) != 1:
		return "no single outcome"
	case o[0].Err != nil:
		return "unavailable: " + o[0].Err.Error()
	case o[0].Report.Finding != nil:
		return "finding: " + o[0].Report.Finding.What
	}
	return "pass"
}

// Attestations whose log_head is zero (which the chain now refuses) fix no log: the referee
// reports them rather than take zero for "no claim", whichever log the worker serves; with real
// heads, a log other than the committed one is found. (An attacker review's proof of concept.)
func TestServiceZeroLogHeads(t *testing.T) {
	l1, l2, atts := twoLogs(t)
	if out, _ := serveAndAudit(t, atts, l2.Serve(1<<30), 1, nil); !strings.HasPrefix(outcome(out), "finding") {
		t.Fatalf("control: with real heads the other log should be found: %s", outcome(out))
	}
	for i := range atts {
		atts[i].LogHead = make([]byte, 32) // 32 bytes: x/verify's SubmitAttestation accepts it
	}
	for name, l := range map[string]*replaylog.Log{"log 1": l1, "log 2": l2} {
		out, _ := serveAndAudit(t, atts, l.Serve(1<<30), 1, nil)
		if got := outcome(out); !strings.HasPrefix(got, "finding") {
			t.Errorf("%s served for attestations committing a zero log_head: %s; want a finding (the head fixes nothing)", name, got)
		}
	}
}

// A worker's first attestation on a stage (the chain's first_on_stage, whatever its step
// number: steps are counted per model, across stages) is audited from its epoch's anchor: one
// that starts from weights of its own is found. (An attacker review's proof of concept.)
func TestServiceFirstAttestationOnAStage(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	testreplay.Updates(t, st, codec, 2, 77) // weights of its own, logged as if initial
	log, err := replaylog.Open(t.TempDir(), m, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	require(t, log.Start(st, 0, nil))
	// Its first attestation on stage 1; steps 1..4 were attested on stage 0.
	atts := []verifytypes.Attestation{{Id: 41, Stage: 1, StepFrom: 5, StepTo: 5, FirstOnStage: true}, {Id: 42, Stage: 1, StepFrom: 6, StepTo: 6}}
	logSteps(t, log, st, m, &atts[0], 12) // one step unattested, one attested
	logSteps(t, log, st, 0, &atts[1], 13)
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); !strings.HasPrefix(got, "finding") {
		t.Errorf("a worker's first attestation on this stage, reached from weights of its own: %s; want a finding (no anchor)", got)
	}
}

// Before its first attestation a worker may replay no more updates than that attestation
// holds: a middle stage that trains from the initial state on gradients of its own (an ascent,
// 1000 times the real gradient, for 4 steps) and then attests one step is found, or the anchor
// would fix nothing of the state it attests from. (An attacker review's proof of concept.)
func TestServiceTrainingBeforeFirstAttestation(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 100, 8)
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	require(t, log.Start(st, 0, nil))
	for _, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 4*m, 5) {
		_, grad, err := codec.DecodeGradients(u.Grad, testreplay.Rows, s.SeqLen)
		require(t, err)
		v := tensors.MustCopyFlatData[float32](grad)
		for j := range v {
			v[j] *= -1000
		}
		u.Grad, err = codec.EncodeGradients(tensors.FromFlatDataAndDimensions(v, grad.Shape().Dimensions...), u.Step, uint32(u.Microbatch))
		require(t, err)
		u.Sent, err = replay.Apply(st, codec, u)
		require(t, err)
		require(t, log.Updated(st, u))
	}
	atts := []verifytypes.Attestation{{Id: 41, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 42, Stage: 1, StepFrom: 2, StepTo: 2}}
	logSteps(t, log, st, 0, &atts[0], 12)
	logSteps(t, log, st, 0, &atts[1], 13)
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); !strings.HasPrefix(got, "finding") {
		t.Errorf("%d updates on gradients of its own before a first attestation of %d: %s; want a finding", 4*m, m, got)
	}
}

// An honest restart whose first attested step is in its new epoch's second segment (its first
// period dropped) passes: the new epoch is fetched from its start. (An attacker review's proof
// of concept of a false finding.)
func TestServiceRestartFirstStepInSecondSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	s := testspec.Tiny(8)
	old, err := replaylog.Open(dir, m, 8) // a segment a step
	require(t, err)
	st := testreplay.Stage(t, s, 1)
	require(t, old.Start(st, 0, nil))
	logSteps(t, old, st, 0, &atts[0], 9)
	require(t, old.Close())
	log, err := replaylog.Open(dir, m, 8) // the restarted process, from the initial state
	require(t, err)
	t.Cleanup(func() { _ = log.Close() })
	st = testreplay.Stage(t, s, 1)
	require(t, log.Start(st, 0, nil))
	logSteps(t, log, st, m, &atts[1], 10) // its first step after the restart dropped, the next attested
	out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
	if got := outcome(out); got != "pass" {
		t.Errorf("an honest restart whose first attested step is in its new epoch's second segment: %s; want pass", got)
	}
}

// Across a restart the new epoch's head folds in the head the old epoch ended at, so the next
// attestation's head fixes the old epoch's events too: a worker that serves another log of its
// last attestation before the restart is found. (An attacker review's proof of concept.)
func TestServiceRestartFixesOldEpoch(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
	// Two old epochs that differ in one event (a true logged root before update 1).
	var olds [2]*replaylog.Log
	var rootA [32]byte
	for v := range olds {
		dir := t.TempDir()
		l, err := replaylog.Open(dir, 100, 8)
		require(t, err)
		st := testreplay.Stage(t, s, 1)
		require(t, l.Start(st, 0, nil))
		a := verifytypes.Attestation{}
		for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, m, 9) {
			r, err := checkpoint.StateRoot(st)
			require(t, err)
			if i == 0 || (i == 1 && v == 1) {
				u.Root = r
			}
			if i == 0 {
				head := l.Head()
				a.StateRoot, a.LogHead, rootA = r[:], head[:], r
			}
			d, _ := payload.Digest(u.Input)
			g, _ := payload.Digest(u.Grad)
			a.InputDigests = append(a.InputDigests, d[:], g[:])
			u.Sent, err = replay.Apply(st, codec, u)
			require(t, err)
			require(t, l.Updated(st, u))
		}
		require(t, l.Close())
		atts[0].StateRoot, atts[0].LogHead, atts[0].InputDigests = a.StateRoot, a.LogHead, a.InputDigests
		olds[v], err = replaylog.Open(dir, 100, 8) // the restarted process: the old epoch has ended
		require(t, err)
		t.Cleanup(func() { _ = olds[v].Close() })
	}
	st := testreplay.Stage(t, s, 1)
	require(t, olds[0].Start(st, 0, nil))
	logSteps(t, olds[0], st, m, &atts[1], 10) // a new state (the chain refuses a repeated state_root)
	for v := range olds {
		serve := func(root [32]byte, q replaylog.Query) ([]byte, error) {
			if root == rootA {
				return olds[v].Serve(1<<30)(root, q)
			}
			return olds[0].Serve(1<<30)(root, q)
		}
		out, _ := serveAndAudit(t, atts, serve, 1, nil)
		t.Logf("old epoch %d: %s", v, outcome(out))
		if v == 1 && outcome(out) == "pass" {
			t.Errorf("two different logs of attestation 21's steps both pass: nothing on chain fixes the events of the last attestation before a restart")
		}
	}
}

// Every snapshot is folded into the head: a log relayed with another snapshot (a referee
// forging a finding) is told apart from the worker's by its heads before anything is replayed,
// so a finding is one anyone holding the log can check. (An attacker review's proof of concept.)
func TestAuditSnapshotInHead(t *testing.T) {
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
	// The forger's snapshot: the stage after two updates of its own, its true root named.
	other := testreplay.Stage(t, s, 1)
	testreplay.Updates(t, other, codec, 2, 55)
	var buf bytes.Buffer
	require(t, checkpoint.Write(&buf, other, 0, checkpoint.Full))
	segs[0].State = buf.Bytes()
	segs[0].Root, err = checkpoint.StateRoot(other)
	require(t, err)
	segs[0].EpochStart = false // the segment no longer claims to be the epoch's anchored start
	rep, err := referee.Audit(context.Background(), testreplay.Stage(t, s, 1), codec, segs, claims, options(t))
	require(t, err)
	if rep.Finding == nil || !strings.Contains(rep.Finding.What, "head") {
		t.Errorf("a log with a forged snapshot and the worker's events: %v; want it told apart from the worker's log by its head", rep.Finding)
	}
}
