package custody_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/custody"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/statesync"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

const (
	model   = 7
	chainID = "custody-test"
)

// attested trains stage 1 for six updates, logging them as a trainer on chain does, and returns
// the log and the attestation of updates 2 to 5 (its start and end roots and heads).
func attested(t *testing.T) (*replaylog.Log, verifytypes.Attestation) {
	t.Helper()
	s := testspec.Tiny(8)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(t, s, 1)
	log, err := replaylog.Open(t.TempDir(), 8, 4)
	must(t, err)
	t.Cleanup(func() { _ = log.Close() })
	must(t, log.Start(st, 0, nil))
	a := verifytypes.Attestation{Id: 21, ModelId: model, Stage: 1, Worker: "worker", StepFrom: 2, StepTo: 3}
	mark := func() (root, head []byte) {
		r, err := checkpoint.StateRoot(st)
		must(t, err)
		h := log.Head()
		return r[:], h[:]
	}
	for i, u := range testreplay.Updates(t, testreplay.Stage(t, s, 1), codec, 6, 9) {
		if i == 2 {
			a.StateRoot, a.LogHead = mark()
		}
		if u.Root, err = checkpoint.StateRoot(st); err != nil {
			t.Fatal(err)
		}
		if u.Sent, err = replay.Apply(st, codec, u); err != nil {
			t.Fatal(err)
		}
		must(t, log.Updated(st, u))
		if i == 4 {
			a.EndStateRoot, a.EndLogHead = mark()
		}
	}
	return log, a
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fakeChain is one open log request over a, the workers by peer, the stage's roster, and the
// answers posted.
type fakeChain struct {
	mu       sync.Mutex
	req      verifytypes.LogRequest
	a        verifytypes.Attestation
	peers    map[string]string
	roster   []modelstypes.Replica
	answered []answer
}

type answer struct {
	custodian string
	sig       []byte
}

func (c *fakeChain) LogRequest(_ context.Context, id uint64) (verifytypes.LogRequest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.req, nil
}

func (c *fakeChain) Attestation(context.Context, uint64) (verifytypes.Attestation, error) {
	return c.a, nil
}

func (c *fakeChain) WorkerByPeer(_ context.Context, p string) (string, bool, error) {
	op, ok := c.peers[p]
	return op, ok, nil
}

func (c *fakeChain) OpenLogRequests(context.Context, string) ([]verifytypes.LogRequest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.req.Open() {
		return nil, nil
	}
	return []verifytypes.LogRequest{c.req}, nil
}

func (c *fakeChain) StageRoster(context.Context, uint64, uint32) ([]modelstypes.Replica, error) {
	return c.roster, nil
}

// AnswerLogRequest checks the signature as the chain does and closes the request.
func (c *fakeChain) AnswerLogRequest(_ context.Context, id uint64, custodian string, sig []byte) error {
	p, err := peer.Decode(custodian)
	if err != nil {
		return err
	}
	if err := verifytypes.VerifyCustody(verifytypes.CustodyOf(chainID, c.a, p), sig); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = append(c.answered, answer{custodian, sig})
	c.req.Status = verifytypes.LOG_REQUEST_STATUS_SERVED
	return nil
}

// swarm is a worker and two other replicas of its stage (the referee that asked, and a witness),
// on real libp2p hosts: the worker serves its log over the state protocol (to the stage's
// roster) with serve (nil: no log), and each replica that runs a custody server records the logs
// it took.
type swarm struct {
	chain                    *fakeChain
	worker, referee, witness host.Host
	took                     map[peer.ID][]uint64
	mu                       sync.Mutex
}

func newSwarm(t *testing.T, a verifytypes.Attestation, serve func([32]byte, replaylog.Query) ([]byte, error), custodians ...bool) *swarm {
	t.Helper()
	sw := &swarm{worker: testhost.New(t), referee: testhost.New(t), witness: testhost.New(t), took: map[peer.ID][]uint64{}}
	r, err := roster.New(model, 3, []roster.Member{{Peer: sw.worker.ID(), Stage: 1}, {Peer: sw.referee.ID(), Stage: 1}, {Peer: sw.witness.ID(), Stage: 1}})
	must(t, err)
	srv := statesync.Serve(sw.worker, model, 1, nil, func(p peer.ID) error { return r.Check(p, 1) }, nil)
	t.Cleanup(srv.Close)
	if serve != nil {
		srv.SetLog(serve)
	}
	sw.chain = &fakeChain{
		req: verifytypes.LogRequest{Id: 5, AttestationId: a.Id, ModelId: model, Stage: 1, Worker: "worker", Referee: "referee", Status: verifytypes.LOG_REQUEST_STATUS_OPEN},
		a:   a,
		peers: map[string]string{
			sw.worker.ID().String(): "worker", sw.referee.ID().String(): "referee", sw.witness.ID().String(): "witness",
		},
		roster: []modelstypes.Replica{
			{Operator: "witness", PeerId: sw.witness.ID().String()},
			{Operator: "worker", PeerId: sw.worker.ID().String()},
			{Operator: "referee", PeerId: sw.referee.ID().String()},
		},
	}
	for i, h := range []host.Host{sw.referee, sw.witness} {
		must(t, sw.worker.Connect(context.Background(), peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}))
		if i >= len(custodians) || !custodians[i] {
			continue
		}
		self := []string{"referee", "witness"}[i]
		cs, err := custody.Serve(custody.ServerConfig{
			Host: h, Chain: sw.chain, ChainID: chainID, Model: model, Stage: 1, Self: self, Limit: 1 << 30, Timeout: 20 * time.Second,
			Took: func(_ context.Context, a verifytypes.Attestation, segs []replaylog.Segment) {
				sw.mu.Lock()
				defer sw.mu.Unlock()
				sw.took[h.ID()] = append(sw.took[h.ID()], a.Id)
			},
		})
		must(t, err)
		t.Cleanup(cs.Close)
	}
	return sw
}

func (sw *swarm) answer(t *testing.T) int {
	t.Helper()
	an := &custody.Answerer{Host: sw.worker, Chain: sw.chain, Worker: "worker", Timeout: 20 * time.Second}
	n, err := an.Round(context.Background())
	must(t, err)
	return n
}

// A worker asked for its log on chain gets the requester's custody (which then holds the log to
// judge), or, where the requester will not sign (a griefer), another replica's: either signature
// is one the chain takes. A worker that serves no log, or a log other than the one it attested,
// gets none, and the request stays open to lapse against it.
func TestCustody(t *testing.T) {
	log, a := attested(t)
	for _, tc := range []struct {
		name       string
		custodians []bool
		serve      func([32]byte, replaylog.Query) ([]byte, error)
		edit       func(*verifytypes.Attestation)
		by         string // "referee", "witness", or "" for none
	}{
		{name: "the requester takes custody", custodians: []bool{true, false}, serve: log.Serve(1 << 30), by: "referee"},
		{name: "a griefing requester: another replica does", custodians: []bool{false, true}, serve: log.Serve(1 << 30), by: "witness"},
		{name: "no log served", custodians: []bool{true, true}},
		{
			name: "a log other than the one attested", custodians: []bool{true, true}, serve: log.Serve(1 << 30),
			edit: func(a *verifytypes.Attestation) { a.EndLogHead = bytes.Repeat([]byte{3}, 32) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := a
			if tc.edit != nil {
				tc.edit(&a)
			}
			sw := newSwarm(t, a, tc.serve, tc.custodians...)
			n := sw.answer(t)
			if tc.by == "" {
				if n != 0 || len(sw.chain.answered) != 0 || !sw.chain.req.Open() {
					t.Fatalf("answered %d (%v): want none", n, sw.chain.answered)
				}
				return
			}
			want := map[string]host.Host{"referee": sw.referee, "witness": sw.witness}[tc.by]
			if n != 1 || len(sw.chain.answered) != 1 || sw.chain.answered[0].custodian != want.ID().String() {
				t.Fatalf("answered %d: %+v, want one, by the %s", n, sw.chain.answered, tc.by)
			}
			if got := sw.took[want.ID()]; len(got) != 1 || got[0] != a.Id {
				t.Errorf("the custodian took %v, want attestation %d to judge", got, a.Id)
			}
			if n := sw.answer(t); n != 0 {
				t.Errorf("a served request answered again (%d)", n)
			}
		})
	}
}

// A requester that holds the custody stream open and never answers (to run out the window) does
// not keep the worker from the other replicas' custody: all are asked at once (an attacker's
// review found the requester asked first, alone, for minutes).
func TestAttackStallingRequester(t *testing.T) {
	log, a := attested(t)
	sw := newSwarm(t, a, log.Serve(1<<30), false, true)
	sw.referee.SetStreamHandler(custody.Protocol, func(st network.Stream) { time.Sleep(time.Minute); _ = st.Reset() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	an := &custody.Answerer{Host: sw.worker, Chain: sw.chain, Worker: "worker"} // the default, minutes-long timeout
	if n, err := an.Round(ctx); n != 1 || len(sw.chain.answered) != 1 || sw.chain.answered[0].custodian != sw.witness.ID().String() {
		t.Fatalf("answered %d (%v, %+v): want the witness's custody", n, err, sw.chain.answered)
	}
}

// A custodian downloads a log only for the worker a request on chain names, for an open request
// of its own stage, never its own.
func TestCustodyRefusals(t *testing.T) {
	log, a := attested(t)
	for _, tc := range []struct {
		name string
		edit func(sw *swarm)
		says string
	}{
		{"asked by a peer that is not the worker", func(sw *swarm) { sw.chain.peers[sw.worker.ID().String()] = "someone" }, "is not the worker"},
		{"a closed request", func(sw *swarm) { sw.chain.req.Status = verifytypes.LOG_REQUEST_STATUS_WITHHELD }, "is LOG_REQUEST_STATUS_WITHHELD"},
		{"another stage's request", func(sw *swarm) { sw.chain.req.Stage = 2 }, "this replica holds stage 1"},
		{"its own log", func(sw *swarm) { sw.chain.req.Worker = "referee" }, "own log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := newSwarm(t, a, log.Serve(1<<30), true)
			tc.edit(sw)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := custody.Ask(ctx, sw.worker, sw.referee.ID(), sw.chain.req.Id)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("custody: %v, want a refusal saying %q", err, tc.says)
			}
			if len(sw.took[sw.referee.ID()]) != 0 {
				t.Error("a refused request's log was taken")
			}
		})
	}
}

// Covers holds a log to the attestation's committed heads: the range whole, in order.
func TestCovers(t *testing.T) {
	log, a := attested(t)
	body, err := log.Serve(1<<30)([32]byte(a.StateRoot), replaylog.QueryFrom)
	must(t, err)
	segs, _, err := replaylog.DecodeBundle(body)
	must(t, err)
	if err := custody.Covers(segs, a); err != nil {
		t.Fatalf("the honest log: %v", err)
	}
	short := a
	short.EndLogHead = bytes.Repeat([]byte{4}, 32)
	if err := custody.Covers(segs, short); err == nil || !strings.Contains(err.Error(), "does not reach") {
		t.Errorf("an end the log never reaches: %v", err)
	}
	late := a
	late.LogHead = bytes.Repeat([]byte{5}, 32)
	if err := custody.Covers(segs, late); err == nil || !strings.Contains(err.Error(), "never reaches") {
		t.Errorf("a start the log never reaches: %v", err)
	}
	if err := custody.Covers(nil, a); err == nil {
		t.Error("no segments")
	}
}
