package referee_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
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

// fakeChain is the chain a referee reads: one other replica and its pending attestations.
type fakeChain struct {
	replicas []modelstypes.Replica
	pending  []verifytypes.Attestation
}

func (c *fakeChain) StageRoster(context.Context, uint64, uint32) ([]modelstypes.Replica, error) {
	return c.replicas, nil
}

func (c *fakeChain) PendingAttestations(_ context.Context, worker string, _ uint64) ([]verifytypes.Attestation, error) {
	if worker != "worker" {
		return nil, nil
	}
	return c.pending, nil
}

// attested trains stage 1 for two steps of m updates, logging them as a trainer on chain does
// (each step's first update marked with the state root before it), and returns the log and
// the two attestations the worker would submit (one step each). edit, when set, changes the
// state after update 1 outside any logged event.
func attested(t *testing.T, edit func(*engine.Stage)) (*replaylog.Log, []verifytypes.Attestation) {
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
			a.StateRoot = u.Root[:]
		}
		d, err := payload.Digest(u.Input)
		if err != nil {
			t.Fatal(err)
		}
		a.InputDigests = append(a.InputDigests, d[:])
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

// The service audits another replica's pending attestations over the state protocol: an honest
// one passes (its first attestation checked up to the second's starting state), one that
// changed its state between its attestations is found, one that attested inputs other than
// those it trained on is found, and one that serves no log is counted unavailable. Each
// attestation is considered once.
func TestService(t *testing.T) {
	s := testspec.Tiny(8)
	reset := func(st *engine.Stage) {
		var b bytes.Buffer
		if err := checkpoint.Write(&b, testreplay.Stage(t, s, 1), 0, checkpoint.Full); err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Read(&b, st, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		edit    func(*engine.Stage)
		tamper  func([]verifytypes.Attestation)
		noLog   bool
		outcome string // of the first attestation
		says    string
	}{
		{name: "honest", outcome: "pass"},
		{name: "resets its state between attestations", edit: reset, outcome: "finding", says: "not the"},
		{
			name: "attests inputs it did not train on", tamper: func(a []verifytypes.Attestation) { a[0].InputDigests[1] = bytes.Repeat([]byte{1}, 32) },
			outcome: "finding", says: "not one the worker attested",
		},
		{name: "serves no log", noLog: true, outcome: "unavailable", says: "keeps no replay log"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			workerHost, refHost := testhost.New(t), testhost.New(t)
			r, err := roster.New(model, 3, []roster.Member{{Peer: workerHost.ID(), Stage: 1}, {Peer: refHost.ID(), Stage: 1}})
			if err != nil {
				t.Fatal(err)
			}
			log, atts := attested(t, tc.edit)
			if tc.tamper != nil {
				tc.tamper(atts)
			}
			srv := statesync.Serve(workerHost, model, 1, nil, func(p peer.ID) error { return r.Check(p, 1) }, nil)
			t.Cleanup(srv.Close)
			if !tc.noLog {
				srv.SetLog(func(root [32]byte) ([]byte, error) { return log.From(root, 1<<30) })
			}
			if err := refHost.Connect(context.Background(), peer.AddrInfo{ID: workerHost.ID(), Addrs: workerHost.Addrs()}); err != nil {
				t.Fatal(err)
			}
			chain := &fakeChain{
				replicas: []modelstypes.Replica{{Operator: "referee", PeerId: refHost.ID().String()}, {Operator: "worker", PeerId: workerHost.ID().String()}},
				pending:  atts,
			}
			reg := prometheus.NewRegistry()
			svc, err := referee.New(referee.Config{
				Host: refHost, Chain: chain, Model: model, Stage: 1, Self: "referee", Microbatches: m,
				NewStage: func() (*engine.Stage, error) { return testreplay.Stage(t, s, 1), nil },
				Codec:    boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32},
				Rate:     1, Rand: rand.New(rand.NewPCG(1, 2)), Metrics: reg,
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := svc.Round(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 {
				t.Fatalf("%d audits, want both pending attestations", len(out))
			}
			o := out[0]
			got := "pass"
			switch {
			case o.Err != nil:
				got = "unavailable"
			case o.Report.Finding != nil:
				got = "finding"
			}
			msg := ""
			if o.Err != nil {
				msg = o.Err.Error()
			} else if o.Report.Finding != nil {
				msg = o.Report.Finding.What
			}
			if got != tc.outcome || !strings.Contains(msg, tc.says) {
				t.Errorf("attestation %d: %s (%q), want %s saying %q", o.Attestation, got, msg, tc.outcome, tc.says)
			}
			if tc.outcome == "pass" && (o.Report.Claims != 2 || o.Report.Updates != 2*m) {
				t.Errorf("honest: %+v, want both claims checked over %d updates", o.Report, 2*m)
			}
			if n := counted(t, reg, tc.outcome); n < 1 {
				t.Errorf("protolearn_trainer_audits_total{outcome=%q} = %v", tc.outcome, n)
			}
			if again, err := svc.Round(context.Background()); err != nil || len(again) != 0 {
				t.Errorf("a second round audited %d again (%v)", len(again), err)
			}
		})
	}
}

// counted is protolearn_trainer_audits_total{outcome} in reg.
func counted(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
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
