package referee_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

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

const (
	model = 7
	m     = 2 // microbatches a step
)

// fakeChain is the chain a referee reads: one other replica and its pending attestations, and
// workers that have left the stage (by peer id, their operator; by operator, their last
// attestation).
type fakeChain struct {
	replicas []modelstypes.Replica
	pending  []verifytypes.Attestation
	left     map[string]string
	last     map[string]verifytypes.Attestation
	// gone: "worker" has left the stage (the roster no longer holds it) with its attestations
	// pending.
	gone bool
}

func (c *fakeChain) WorkerByPeer(_ context.Context, p string) (string, bool, error) {
	op, ok := c.left[p]
	return op, ok, nil
}

func (c *fakeChain) LastAttestation(_ context.Context, worker string, _ uint64) (verifytypes.Attestation, bool, error) {
	a, ok := c.last[worker]
	return a, ok, nil
}

func (c *fakeChain) StageRoster(context.Context, uint64, uint32) ([]modelstypes.Replica, error) {
	if c.gone {
		return slices.DeleteFunc(slices.Clone(c.replicas), func(r modelstypes.Replica) bool { return r.Operator == "worker" }), nil
	}
	return c.replicas, nil
}

// StagePending is the pending attestations, "worker"'s where they name no worker.
func (c *fakeChain) StagePending(_ context.Context, model uint64, _ uint32) ([]verifytypes.Attestation, error) {
	out := slices.Clone(c.pending)
	for i := range out {
		if out[i].Worker == "" {
			out[i].Worker = "worker"
		}
		if out[i].ModelId == 0 {
			out[i].ModelId = model
		}
	}
	return out, nil
}

// PeerOf finds the workers that left the stage by their registered peer.
func (c *fakeChain) PeerOf(_ context.Context, operator string) (string, bool, error) {
	for p, op := range c.left {
		if op == operator {
			return p, true, nil
		}
	}
	return "", false, nil
}

// attested trains stage 1 for two steps of m updates, logging them as a trainer on chain does
// (each step's first update marked with the state root before it), and returns the log and
// the two attestations the worker would submit (one step each). edit, when set, changes the
// state after update 1 outside any logged event.
func attested(t *testing.T, edit func(*engine.Stage)) (*replaylog.Log, []verifytypes.Attestation) {
	t.Helper()
	return attestedWith(t, edit, nil)
}

// attestedWith is attested, with avg (when set) mixed in and logged before update 1.
func attestedWith(t *testing.T, edit func(*engine.Stage), avg *replaylog.Average) (*replaylog.Log, []verifytypes.Attestation) {
	t.Helper()
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	if err := log.Start(st, 0, nil); err != nil {
		t.Fatal(err)
	}
	atts := []verifytypes.Attestation{{Id: 11, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 12, Stage: 1, StepFrom: 2, StepTo: 2}}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 2*m, 9) {
		a := &atts[i/m]
		if i%m == 0 {
			if u.Root, err = checkpoint.StateRoot(st); err != nil {
				t.Fatal(err)
			}
			head := log.Head()
			a.StateRoot, a.LogHead = u.Root[:], head[:]
		}
		d, err := payload.Digest(u.Input)
		require(t, err)
		g, err := payload.Digest(u.Grad) // a middle stage attests the gradients that came back too
		require(t, err)
		a.InputDigests = append(a.InputDigests, d[:], g[:])
		if i == 1 && avg != nil {
			_, err := checkpoint.Average(bytes.NewReader(avg.Params), st, 1<<30, avg.Weight)
			require(t, err)
			require(t, log.Averaged(*avg))
		}
		if u.Sent, err = replay.Apply(st, codec, u); err != nil {
			t.Fatal(err)
		}
		if i == 1 && edit != nil {
			edit(st)
		}
		if err := log.Updated(st, u); err != nil {
			t.Fatal(err)
		}
	}
	return log, atts
}

// serve runs a referee against a worker that serves logs with serve (nil: no log) and has
// pending attestations atts, and returns the outcomes of rounds rounds.
func serveAndAudit(t *testing.T, atts []verifytypes.Attestation, serve func(root [32]byte, q replaylog.Query) ([]byte, error), rounds int, workerHost host.Host) ([]referee.Outcome, *prometheus.Registry) {
	t.Helper()
	return serveAndAuditOn(t, &fakeChain{}, atts, serve, rounds, workerHost)
}

// serveAndAuditOn is serveAndAudit on chain (its replicas and pending attestations set here).
func serveAndAuditOn(t *testing.T, chain *fakeChain, atts []verifytypes.Attestation, serve func(root [32]byte, q replaylog.Query) ([]byte, error), rounds int, workerHost host.Host) ([]referee.Outcome, *prometheus.Registry) {
	t.Helper()
	return serveAndAuditWith(t, chain, atts, serve, rounds, workerHost, nil)
}

// serveAndAuditWith is serveAndAuditOn with the referee's configuration edited by edit (nil:
// none).
func serveAndAuditWith(t *testing.T, chain *fakeChain, atts []verifytypes.Attestation, serve func(root [32]byte, q replaylog.Query) ([]byte, error), rounds int, workerHost host.Host, edit func(*referee.Config)) ([]referee.Outcome, *prometheus.Registry) {
	t.Helper()
	s := testspec.Tiny(8)
	refHost := testhost.New(t)
	if workerHost == nil {
		workerHost = testhost.New(t)
	}
	r, err := roster.New(model, 3, []roster.Member{{Peer: workerHost.ID(), Stage: 1}, {Peer: refHost.ID(), Stage: 1}})
	require(t, err)
	srv := statesync.Serve(workerHost, model, 1, nil, func(p peer.ID) error { return r.Check(p, 1) }, nil)
	t.Cleanup(srv.Close)
	if serve != nil {
		srv.SetLog(serve)
	}
	require(t, refHost.Connect(context.Background(), peer.AddrInfo{ID: workerHost.ID(), Addrs: workerHost.Addrs()}))
	chain.replicas = []modelstypes.Replica{{Operator: "referee", PeerId: refHost.ID().String()}, {Operator: "worker", PeerId: workerHost.ID().String()}}
	chain.pending = atts
	reg := prometheus.NewRegistry()
	cfg := referee.Config{
		Host: refHost, Chain: chain, Model: model, Stage: 1, Self: "referee", Microbatches: m,
		NewStage: func() (*engine.Stage, error) { return testreplay.Stage(t, s, 1), nil },
		Codec:    boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32},
		Rate:     1, Rand: rand.New(rand.NewPCG(1, 2)), Metrics: reg, Timeout: 10 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := referee.New(cfg)
	require(t, err)
	var out []referee.Outcome
	for range rounds {
		o, err := svc.Round(context.Background())
		require(t, err)
		out = append(out, o...)
	}
	return out, reg
}

// resetState is a cheat for attested's edit: it puts the stage back to a fresh stage's state,
// outside any logged event.
func resetState(t *testing.T) func(*engine.Stage) {
	s := testspec.Tiny(8)
	return func(st *engine.Stage) {
		var b bytes.Buffer
		require(t, checkpoint.Write(&b, testreplay.Stage(t, s, 1), 0, checkpoint.Full))
		_, err := checkpoint.Read(&b, st, 1<<30)
		require(t, err)
	}
}

// The service audits another replica's attestation once the worker has attested its next
// steps, over the state protocol: from the attestation's state the replay must take in its
// attested inputs and arrive at the next attestation's state. An honest worker passes; one that
// changed its state between its attestations, attested inputs other than those it trained on, or
// does not serve its log (asked MaxTries times) is found. The newest attestation waits for its
// successor; each is audited once.
func TestService(t *testing.T) {
	defer func(d time.Duration) { referee.TryInterval = d }(referee.TryInterval)
	referee.TryInterval = 0 // every round's try counts
	reset := resetState(t)
	cases := []struct {
		name    string
		edit    func(*engine.Stage)
		tamper  func([]verifytypes.Attestation)
		noLog   bool
		outcome string
		says    string
	}{
		{name: "honest", outcome: "pass"},
		{name: "resets its state between attestations", edit: reset, outcome: "finding", says: "not the"},
		{
			name: "attests inputs it did not train on", tamper: func(a []verifytypes.Attestation) { a[0].InputDigests[2] = bytes.Repeat([]byte{1}, 32) },
			outcome: "finding", says: "the attestation counts 2",
		},
		{name: "serves no log", noLog: true, outcome: "finding", says: "did not serve its replay log in 3 tries"},
		{
			name: "serves a log other than the one it committed", tamper: func(a []verifytypes.Attestation) { a[1].LogHead = bytes.Repeat([]byte{2}, 32) },
			outcome: "finding", says: "not the log the worker attested",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, atts := attested(t, tc.edit)
			if tc.tamper != nil {
				tc.tamper(atts)
			}
			var serve func([32]byte, replaylog.Query) ([]byte, error)
			if !tc.noLog {
				serve = log.Serve(1 << 30)
			}
			out, reg := serveAndAudit(t, atts, serve, referee.MaxTries+1, nil)
			if len(out) != 1 || out[0].Attestation != 11 {
				t.Fatalf("%d audits (%+v), want one, of attestation 11 (12 has no successor yet)", len(out), out)
			}
			o := out[0]
			got, msg := "pass", ""
			switch {
			case o.Err != nil:
				got, msg = "unavailable", o.Err.Error()
			case o.Report.Finding != nil:
				got, msg = "finding", o.Report.Finding.What
			}
			if got != tc.outcome || !strings.Contains(msg, tc.says) {
				t.Errorf("attestation %d: %s (%q), want %s saying %q", o.Attestation, got, msg, tc.outcome, tc.says)
			}
			if tc.outcome == "pass" && (o.Report.Claims != 2 || o.Report.Updates != m) {
				t.Errorf("honest: %+v, want both claims checked over the %d updates between", o.Report, m)
			}
			if n := counted(t, reg, tc.outcome); n != 1 {
				t.Errorf("protolearn_trainer_audits_total{outcome=%q} = %v, want 1", tc.outcome, n)
			}
		})
	}
}

// A worker that leaves the stage right after attesting is audited all the same: the referee
// walks the stage's pending attestations, not its roster, and fetches the log from the peer the
// worker registered. Before, leaving was a way out of every audit.
func TestServiceAuditsAWorkerThatLeft(t *testing.T) {
	reset := resetState(t)
	for _, tc := range []struct {
		name    string
		edit    func(*engine.Stage)
		finding bool
	}{{name: "honest", edit: nil}, {name: "resets its state", edit: reset, finding: true}} {
		t.Run(tc.name, func(t *testing.T) {
			log, atts := attested(t, tc.edit)
			workerHost := testhost.New(t)
			chain := &fakeChain{gone: true, left: map[string]string{workerHost.ID().String(): "worker"}}
			out, _ := serveAndAuditOn(t, chain, atts, log.Serve(1<<30), 1, workerHost)
			if len(out) != 1 || out[0].Attestation != 11 || out[0].Worker != "worker" || out[0].Err != nil {
				t.Fatalf("outcomes %+v, want one audit of the departed worker's attestation 11", out)
			}
			if got := out[0].Report.Finding != nil; got != tc.finding {
				t.Errorf("finding %v (%+v), want %v", got, out[0].Report.Finding, tc.finding)
			}
		})
	}
	t.Run("unregistered", func(t *testing.T) {
		_, atts := attested(t, nil)
		out, _ := serveAndAuditOn(t, &fakeChain{gone: true}, atts, nil, 1, nil)
		if len(out) != 0 {
			t.Errorf("outcomes %+v for a worker nobody can reach, want none (and no failed round)", out)
		}
	})
}

// A drawn attestation whose successor has not come by half its challenge window is judged over
// its own range (OwnRange, the node's Prosecutor): the log the worker serves from its start is
// handed over once, and not before that half. Without it a worker attesting less often than
// once a window would never be audited before its attestations finalize.
func TestServiceOwnRange(t *testing.T) {
	log, atts := attested(t, nil)
	a := atts[0]
	a.SubmittedHeight, a.FinalizeHeight = 10, 40 // half its window passes at 25
	heights := []int64{20, 25, 26}               // the chain's height at each round that asks
	var asked int
	type judged struct {
		id   uint64
		from bool // the segments hold the update the attestation starts at
	}
	var got []judged
	out, reg := serveAndAuditWith(t, &fakeChain{}, []verifytypes.Attestation{a}, log.Serve(1<<30), 3, nil, func(c *referee.Config) {
		c.Height = func(context.Context) (int64, error) { h := heights[min(asked, len(heights)-1)]; asked++; return h, nil }
		c.OwnRange = func(_ context.Context, a verifytypes.Attestation, segs []replaylog.Segment) error {
			j := judged{id: a.Id}
			for _, sg := range segs {
				for _, ev := range sg.Events {
					j.from = j.from || (ev.Update != nil && ev.Update.Root == [32]byte(a.StateRoot))
				}
			}
			got = append(got, j)
			return nil
		}
	})
	if len(out) != 0 {
		t.Fatalf("%d full audits, want none (no successor)", len(out))
	}
	if len(got) != 1 || got[0].id != 11 || !got[0].from {
		t.Fatalf("judged %+v, want attestation 11 once, with its log from its start", got)
	}
	if asked != 2 {
		t.Errorf("the height was read %d times, want once a round until the attestation is judged (2)", asked)
	}
	if n := counted(t, reg, "own_range"); n != 1 {
		t.Errorf("protolearn_trainer_audits_total{outcome=\"own_range\"} = %v, want 1", n)
	}
}

// A worker that does not serve its log is asked for it on chain (Config.RequestLog) once it has
// failed MaxTries times, once an attestation (a refused request MaxTries times in all): in the
// full audit (its successor on chain), and where its own range is judged (no successor by half
// its window). One that serves is not.
func TestServiceRequestsWithheldLogs(t *testing.T) {
	defer func(d time.Duration) { referee.TryInterval = d }(referee.TryInterval)
	referee.TryInterval = 0
	log, atts := attested(t, nil)
	late := atts[0]
	late.SubmittedHeight, late.FinalizeHeight = 10, 40
	for _, tc := range []struct {
		name  string
		atts  []verifytypes.Attestation
		serve func([32]byte, replaylog.Query) ([]byte, error)
		fails bool // the chain refuses the request: asked again, MaxTries in all
		want  []uint64
	}{
		// 12, with no successor and past half its window, is judged over its own range.
		{name: "full audit, no log", atts: atts, want: []uint64{11, 12}},
		{name: "full audit, no log, the chain refuses", atts: atts, fails: true, want: []uint64{11, 12, 11, 12, 11, 12}},
		{name: "own range, no log", atts: []verifytypes.Attestation{late}, want: []uint64{11}},
		{name: "own range, no log, the chain refuses", atts: []verifytypes.Attestation{late}, fails: true, want: []uint64{11, 11, 11}},
		{name: "full audit, log served", atts: atts, serve: log.Serve(1 << 30)},
		{name: "own range, log served", atts: []verifytypes.Attestation{late}, serve: log.Serve(1 << 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []uint64
			serveAndAuditWith(t, &fakeChain{}, tc.atts, tc.serve, 3*referee.MaxTries, nil, func(c *referee.Config) {
				c.Height = func(context.Context) (int64, error) { return 30, nil }
				c.OwnRange = func(context.Context, verifytypes.Attestation, []replaylog.Segment) error { return nil }
				c.RequestLog = func(_ context.Context, a verifytypes.Attestation) error {
					asked = append(asked, a.Id)
					if tc.fails {
						return errors.New("the chain is slow today")
					}
					return nil
				}
			})
			if !slices.Equal(asked, tc.want) {
				t.Fatalf("asked on chain for %v, want %v", asked, tc.want)
			}
		})
	}
}

// Attacks on the audit itself (an attacker's review): a worker that serves a log of its own
// making (the attested state and one real update of each step it skipped the rest of), or only
// the first segment of its log, cannot reach its next attestation's state; a middle stage that
// trains on gradients other than those it attested is found; a worker cannot vouch for its own
// parameters in an average.
func TestServiceAttacks(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}

	t.Run("a made-up log of a step's first update", func(t *testing.T) {
		st := testreplay.Stage(t, s, 1)
		atts := []verifytypes.Attestation{{Id: 11, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 12, Stage: 1, StepFrom: 2, StepTo: 2}}
		bundles := map[[32]byte][]byte{}
		for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 2*m, 9) {
			a := &atts[i/m]
			d, _ := payload.Digest(u.Input)
			a.InputDigests = append(a.InputDigests, d[:])
			if i%m != 0 {
				continue // skipped: no forward, no backward, no optimizer step
			}
			root, err := checkpoint.StateRoot(st)
			require(t, err)
			a.StateRoot = root[:]
			fab, err := replaylog.Open(t.TempDir(), 1<<20, 1)
			require(t, err)
			require(t, fab.Start(st, uint64(i), nil))
			u.Root = root
			u.Sent, err = replay.Apply(st, codec, u)
			require(t, err)
			require(t, fab.Updated(st, u))
			b, err := fab.From(root, 1<<30)
			require(t, err)
			bundles[root] = b
			require(t, fab.Close())
		}
		out, _ := serveAndAudit(t, atts, func(r [32]byte, _ replaylog.Query) ([]byte, error) { return bundles[r], nil }, 1, nil)
		if len(out) != 1 || out[0].Report.Finding == nil {
			t.Fatalf("%+v: want a finding", out)
		}
	})

	t.Run("only the first segment", func(t *testing.T) {
		log, atts := attested(t, func(st *engine.Stage) {
			var b bytes.Buffer
			require(t, checkpoint.Write(&b, testreplay.Stage(t, s, 1), 0, checkpoint.Full))
			_, err := checkpoint.Read(&b, st, 1<<30)
			require(t, err)
		})
		serve := func(root [32]byte, _ replaylog.Query) ([]byte, error) {
			b, err := log.From(root, 1<<30)
			if err != nil {
				return nil, err
			}
			n := binary.LittleEndian.Uint64(b)
			return b[:8+n], nil
		}
		out, _ := serveAndAudit(t, atts, serve, 1, nil)
		if len(out) != 1 || out[0].Report.Finding == nil {
			t.Fatalf("%+v: want a finding", out)
		}
	})

	t.Run("trains on gradients it did not attest", func(t *testing.T) {
		st := testreplay.Stage(t, s, 1)
		log, err := replaylog.Open(t.TempDir(), 1<<20, 2)
		require(t, err)
		t.Cleanup(func() { _ = log.Close() })
		require(t, log.Start(st, 0, nil))
		var attested [][32]byte
		var root0, end [32]byte
		for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, m+1, 9) {
			if i == 0 || i == m {
				r, err := checkpoint.StateRoot(st)
				require(t, err)
				u.Root = r
				if i == 0 {
					root0 = r
				} else {
					end = r
				}
			}
			if i < m {
				d, _ := payload.Digest(u.Input)
				g, _ := payload.Digest(u.Grad)
				attested = append(attested, d, g)
				_, grad, err := codec.DecodeGradients(u.Grad, testreplay.Rows, s.SeqLen)
				require(t, err)
				v := tensors.MustCopyFlatData[float32](grad)
				for j := range v {
					v[j] *= -1000 // an ascent of its own
				}
				u.Grad, err = codec.EncodeGradients(tensors.FromFlatDataAndDimensions(v, grad.Shape().Dimensions...), u.Step, uint32(u.Microbatch))
				require(t, err)
			}
			u.Sent, err = replay.Apply(st, codec, u)
			require(t, err)
			require(t, log.Updated(st, u))
		}
		b, err := log.From(root0, 1<<30)
		require(t, err)
		segs, _, err := replaylog.DecodeBundle(b)
		require(t, err)
		rep, err := referee.Audit(context.Background(), testreplay.Stage(t, s, 1), codec, segs,
			[]referee.Claim{{Update: 0, Root: root0, Attested: attested, Need: m}, {Update: m, Root: end}}, options(t))
		if err != nil || rep.Finding == nil || !strings.Contains(rep.Finding.What, "a gradient") {
			t.Errorf("own gradients: %v, %v", rep.Finding, err)
		}
	})

	t.Run("an average with its own parameters, signed by itself", func(t *testing.T) {
		workerHost := testhost.New(t)
		key := workerHost.Peerstore().PrivKey(workerHost.ID())
		var own bytes.Buffer
		ownStage := testreplay.Stage(t, s, 1)
		testreplay.Updates(t, ownStage, codec, 2, 99)
		require(t, checkpoint.Write(&own, ownStage, 0, checkpoint.Params))
		sig, err := key.Sign(statesync.StateMessage(model, 1, checkpoint.Params, own.Bytes()))
		require(t, err)
		log, atts := attestedWith(t, nil, &replaylog.Average{Weight: 0.5, Sel: uint8(checkpoint.Params), Root: paramsRoot(t, own.Bytes()), Params: own.Bytes(), From: []byte(workerHost.ID()), Sig: sig})
		out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, workerHost)
		if len(out) != 1 || out[0].Report.Finding == nil || !strings.Contains(out[0].Report.Finding.What, "not a replica") {
			t.Fatalf("%+v: want a finding: the worker is no replica of its own", out)
		}
	})
}

// counted is protolearn_trainer_audits_total{outcome} in reg.
func counted(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "protolearn_trainer_audits_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A worker whose process ended after an attestation (a restart) is audited up to the end of its
// old epoch, and its next attestation must be reached from the start of a new epoch: from the
// stage's initial state it passes; from weights of its own it is found.
func TestServiceRestart(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	run := func(t *testing.T, restartFrom func() *engine.Stage) []referee.Outcome {
		dir := t.TempDir()
		atts := []verifytypes.Attestation{{Id: 21, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 22, Stage: 1, StepFrom: 2, StepTo: 2}}
		epoch := func(log *replaylog.Log, st *engine.Stage, skip int, a *verifytypes.Attestation, seed uint64) {
			logSteps(t, log, st, skip, a, seed)
		}
		dir0 := filepath.Join(dir, "log")
		old, err := replaylog.Open(dir0, 100, 8)
		require(t, err)
		st := testreplay.Stage(t, s, 1)
		require(t, old.Start(st, 0, nil))
		epoch(old, st, m, &atts[0], 9) // a step its attester dropped, then the attested one
		require(t, old.Close())
		log, err := replaylog.Open(dir0, 100, 8) // the restarted process
		require(t, err)
		t.Cleanup(func() { _ = log.Close() })
		st = restartFrom()
		require(t, log.Start(st, 0, nil))
		epoch(log, st, 0, &atts[1], 10)
		out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
		return out
	}
	t.Run("from the initial state", func(t *testing.T) {
		out := run(t, func() *engine.Stage { return testreplay.Stage(t, s, 1) })
		if len(out) != 1 || out[0].Err != nil || out[0].Report.Finding != nil || out[0].Report.Updates != 2*m {
			t.Fatalf("%+v: want attestation 21 audited to its epoch's end and passing", out)
		}
	})
	t.Run("from weights of its own", func(t *testing.T) {
		out := run(t, func() *engine.Stage {
			st := testreplay.Stage(t, s, 1)
			testreplay.Updates(t, st, codec, 2, 77)
			return st
		})
		if len(out) != 1 || out[0].Report.Finding == nil || out[0].Attestation != 22 || !strings.Contains(out[0].Report.Finding.What, "no anchor") {
			t.Fatalf("%+v: want a finding on attestation 22's epoch", out)
		}
	})
}

// logSteps logs updates of stage 1 on st: the first skip unattested, then one step of m attested
// as a (its state root, log head and inputs).
func logSteps(t *testing.T, log *replaylog.Log, st *engine.Stage, skip int, a *verifytypes.Attestation, seed uint64) {
	t.Helper()
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, skip+m, seed) {
		if i >= skip {
			if i == skip {
				r, err := checkpoint.StateRoot(st)
				require(t, err)
				head := log.Head()
				u.Root, a.StateRoot, a.LogHead = r, r[:], head[:]
			}
			d, _ := payload.Digest(u.Input)
			g, _ := payload.Digest(u.Grad)
			a.InputDigests = append(a.InputDigests, d[:], g[:])
		}
		var err error
		u.Sent, err = replay.Apply(st, codec, u)
		require(t, err)
		require(t, log.Updated(st, u))
	}
}

// A worker's first attestation on the model is audited from its epoch's start, so the state it
// attests from must have been reached from its epoch's anchor: a worker that trained a while
// unattested from the stage's initial state passes; one that started from weights of its own
// is found, and so is one that will not serve its epoch's start.
func TestServiceFirstAttestation(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	run := func(t *testing.T, own bool, serve func(*replaylog.Log) func([32]byte, replaylog.Query) ([]byte, error)) []referee.Outcome {
		st := testreplay.Stage(t, s, 1)
		if own {
			testreplay.Updates(t, st, codec, 2, 77) // weights of its own, then logged as if initial
		}
		log, err := replaylog.Open(t.TempDir(), m, 8) // a segment a step
		require(t, err)
		t.Cleanup(func() { _ = log.Close() })
		require(t, log.Start(st, 0, nil))
		atts := []verifytypes.Attestation{{Id: 41, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 42, Stage: 1, StepFrom: 2, StepTo: 2}}
		logSteps(t, log, st, m, &atts[0], 12) // a step unattested (its attester dropped it), one attested
		logSteps(t, log, st, 0, &atts[1], 13)
		out, _ := serveAndAudit(t, atts, serve(log), 1, nil)
		return out
	}
	whole := func(l *replaylog.Log) func([32]byte, replaylog.Query) ([]byte, error) { return l.Serve(1 << 30) }
	t.Run("from the initial state", func(t *testing.T) {
		out := run(t, false, whole)
		if len(out) != 1 || out[0].Err != nil || out[0].Report.Finding != nil || out[0].Report.Updates != 2*m {
			t.Fatalf("%+v: want attestation 41 replayed from its epoch's start (%d updates) and passing", out, 2*m)
		}
	})
	t.Run("from weights of its own", func(t *testing.T) {
		out := run(t, true, whole)
		if len(out) != 1 || out[0].Report.Finding == nil || !strings.Contains(out[0].Report.Finding.What, "no anchor") {
			t.Fatalf("%+v: want a finding: its epoch starts from no anchor", out)
		}
	})
	t.Run("serves only from the attested state", func(t *testing.T) {
		out := run(t, true, func(l *replaylog.Log) func([32]byte, replaylog.Query) ([]byte, error) {
			return func(root [32]byte, _ replaylog.Query) ([]byte, error) { return l.From(root, 1<<30) }
		})
		if len(out) != 1 || out[0].Report.Finding == nil || !strings.Contains(out[0].Report.Finding.What, "epoch's start") {
			t.Fatalf("%+v: want a finding: the log of a first attestation must run from its epoch's start", out)
		}
	})
}

// Between two attestations a worker may replay updates it did not attest (steps its attester
// dropped), but no more of them than attested ones: a worker training as much as it likes on
// inputs of its own between attestations is found.
func TestServiceUnattestedUpdates(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	for _, extra := range []int{m, 2 * m} {
		st := testreplay.Stage(t, s, 1)
		log, err := replaylog.Open(t.TempDir(), 100, 2)
		require(t, err)
		require(t, log.Start(st, 0, nil))
		atts := []verifytypes.Attestation{{Id: 31, Stage: 1, StepFrom: 1, StepTo: 1}, {Id: 32, Stage: 1, StepFrom: 2, StepTo: 2}}
		for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, m+extra+1, 11) {
			switch {
			case i == 0 || i == m+extra:
				r, err := checkpoint.StateRoot(st)
				require(t, err)
				u.Root = r
				head := log.Head()
				atts[min(i, 1)].StateRoot, atts[min(i, 1)].LogHead = r[:], head[:]
			}
			if i < m {
				d, _ := payload.Digest(u.Input)
				g, _ := payload.Digest(u.Grad)
				atts[0].InputDigests = append(atts[0].InputDigests, d[:], g[:])
			}
			u.Sent, err = replay.Apply(st, codec, u)
			require(t, err)
			require(t, log.Updated(st, u))
		}
		out, _ := serveAndAudit(t, atts, log.Serve(1<<30), 1, nil)
		_ = log.Close()
		found := len(out) == 1 && out[0].Report.Finding != nil
		if want := extra > m; found != want || (found && !strings.Contains(out[0].Report.Finding.What, "did not attest")) {
			t.Errorf("%d unattested updates beside %d attested: %+v, want a finding %t", extra, m, out, want)
		}
	}
}

// A replica that has left the stage since it signed parameters a worker mixed in still vouches
// for them, if it attested on the stage within FormerWindow blocks of the audited attestation:
// an honest worker is not reported for its partner's leaving. A peer that never attested on the
// stage, did so long before, attested on another stage, or is the worker's own is no replica.
func TestServiceFormerReplica(t *testing.T) {
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	partner := testhost.New(t)
	var params bytes.Buffer
	other := testreplay.Stage(t, s, 1)
	testreplay.Updates(t, other, codec, 2, 99)
	require(t, checkpoint.Write(&params, other, 0, checkpoint.Params))
	sig, err := partner.Peerstore().PrivKey(partner.ID()).Sign(statesync.StateMessage(model, 1, checkpoint.Params, params.Bytes()))
	require(t, err)
	const height = 10_000
	cases := []struct {
		name     string
		operator string
		last     *verifytypes.Attestation
		pass     bool
	}{
		{name: "left lately", operator: "partner", last: &verifytypes.Attestation{Stage: 1, SubmittedHeight: height - 300}, pass: true},
		{name: "unknown to the chain"},
		{name: "never attested", operator: "partner"},
		{name: "left long before", operator: "partner", last: &verifytypes.Attestation{Stage: 1, SubmittedHeight: height - 5000}},
		{name: "attested on another stage", operator: "partner", last: &verifytypes.Attestation{Stage: 2, SubmittedHeight: height}},
		{name: "the worker's own peer", operator: "worker", last: &verifytypes.Attestation{Stage: 1, SubmittedHeight: height}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, atts := attestedWith(t, nil, &replaylog.Average{Weight: 0.5, Sel: uint8(checkpoint.Params), Root: paramsRoot(t, params.Bytes()), Params: params.Bytes(), From: []byte(partner.ID()), Sig: sig})
			atts[0].SubmittedHeight, atts[1].SubmittedHeight = height, height+5
			chain := &fakeChain{left: map[string]string{}, last: map[string]verifytypes.Attestation{}}
			if tc.operator != "" {
				chain.left[partner.ID().String()] = tc.operator
			}
			if tc.last != nil {
				chain.last[tc.operator] = *tc.last
			}
			out, _ := serveAndAuditOn(t, chain, atts, log.Serve(1<<30), 1, nil)
			if len(out) != 1 || out[0].Err != nil {
				t.Fatalf("%+v: want one audit", out)
			}
			if f := out[0].Report.Finding; (f == nil) != tc.pass || (f != nil && !strings.Contains(f.What, "not a replica")) {
				t.Errorf("finding %v, want a pass %t", f, tc.pass)
			}
		})
	}
}

// An attestation whose own-range judgement fails (no dispute opened where one was due, say) is
// judged again at the next round; a log that does not decode is a finding, as in a full audit
// (an attacker's review: both were dropped silently).
func TestServiceOwnRangeRetriesAndFindings(t *testing.T) {
	log, atts := attested(t, nil)
	a := atts[0]
	a.SubmittedHeight, a.FinalizeHeight = 10, 40
	late := func(c *referee.Config) { c.Height = func(context.Context) (int64, error) { return 30, nil } }

	var calls int
	out, reg := serveAndAuditWith(t, &fakeChain{}, []verifytypes.Attestation{a}, log.Serve(1<<30), 3, nil, func(c *referee.Config) {
		late(c)
		c.OwnRange = func(context.Context, verifytypes.Attestation, []replaylog.Segment) error {
			calls++
			if calls == 1 {
				return errors.New("the dispute's tx failed")
			}
			return nil
		}
	})
	if calls != 2 || len(out) != 0 || counted(t, reg, "own_range") != 1 {
		t.Fatalf("judged %d times, %d outcomes, own_range %v; want 2, 0 and 1 (a failure is tried again once)", calls, len(out), counted(t, reg, "own_range"))
	}

	calls = 0
	junk := func([32]byte, replaylog.Query) ([]byte, error) { return []byte("not a log bundle"), nil }
	out, reg = serveAndAuditWith(t, &fakeChain{}, []verifytypes.Attestation{a}, junk, 2, nil, func(c *referee.Config) {
		late(c)
		c.OwnRange = func(context.Context, verifytypes.Attestation, []replaylog.Segment) error { calls++; return nil }
	})
	if calls != 0 || len(out) != 1 || out[0].Report.Finding == nil || !strings.Contains(out[0].Report.Finding.What, "does not decode") {
		t.Fatalf("a junk log: judged %d times, outcomes %+v; want a finding, once, and nothing judged", calls, out)
	}
	if n := counted(t, reg, "finding"); n != 1 {
		t.Errorf("protolearn_trainer_audits_total{outcome=\"finding\"} = %v, want 1", n)
	}
}

// A worker that answers every fetch "busy" (it words its own refusals) is asked on chain all
// the same, as one that refuses outright (an attacker's review: "busy" did not count).
func TestAttackBusyForeverIsAskedOnChain(t *testing.T) {
	defer func(d time.Duration) { referee.TryInterval = d }(referee.TryInterval)
	referee.TryInterval = 0
	_, atts := attested(t, nil)
	busy := func([32]byte, replaylog.Query) ([]byte, error) {
		return nil, errors.New("busy serving other replicas' replay logs: ask again later")
	}
	var asked []uint64
	serveAndAuditWith(t, &fakeChain{}, atts, busy, 4*referee.MaxTries, nil, func(c *referee.Config) {
		c.Height = func(context.Context) (int64, error) { return 30, nil }
		c.OwnRange = func(context.Context, verifytypes.Attestation, []replaylog.Segment) error { return nil }
		c.RequestLog = func(_ context.Context, a verifytypes.Attestation) error { asked = append(asked, a.Id); return nil }
	})
	if !slices.Equal(asked, []uint64{11, 12}) {
		t.Fatalf("asked on chain for %v, want [11 12]", asked)
	}
}

// The audit holds an attestation's sends to what its range of the log records as signed: a
// worker whose states all replay but that names, for one number, another payload than its log
// (to answer a receipt it should not have signed) is found, and handed to OnFinding (the
// Prosecutor, which steers a dispute onto that event).
func TestServiceChecksTheSends(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*[]verifytypes.SentPayload)
		finding string
	}{
		{name: "its log's"},
		{name: "another payload", edit: func(s *[]verifytypes.SentPayload) { (*s)[1].Digest = bytes.Repeat([]byte{9}, 32) }, finding: "is not what its log records"},
		{name: "one too many", edit: func(s *[]verifytypes.SentPayload) {
			*s = append(*s, verifytypes.SentPayload{Event: 9, Seq: 99, Digest: make([]byte, 32)})
		}, finding: "names 3 sends, its log records 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, atts := attested(t, nil)
			atts[0].EndLogHead = atts[1].LogHead // one step: its range ends where the next starts
			signed, err := log.Sends([32]byte(atts[0].LogHead), [32]byte(atts[0].EndLogHead))
			require(t, err)
			for _, s := range signed {
				atts[0].Sends = append(atts[0].Sends, verifytypes.SentPayload{Event: s.Event, Seq: s.Seq, Digest: s.Digest[:]})
			}
			if tc.edit != nil {
				tc.edit(&atts[0].Sends)
			}
			var handed int
			out, _ := serveAndAuditWith(t, &fakeChain{}, atts, log.Serve(1<<30), 1, nil, func(c *referee.Config) {
				c.OnFinding = func(context.Context, verifytypes.Attestation, []replaylog.Segment) { handed++ }
			})
			if len(out) != 1 || out[0].Err != nil {
				t.Fatalf("outcomes %+v, want one audit", out)
			}
			f := out[0].Report.Finding
			switch {
			case tc.finding == "" && f != nil:
				t.Errorf("honest sends: finding %v", f)
			case tc.finding != "" && (f == nil || !strings.Contains(f.What, tc.finding) || handed != 1):
				t.Errorf("finding %v (handed on %d times), want one saying %q", f, handed, tc.finding)
			}
		})
	}
}
