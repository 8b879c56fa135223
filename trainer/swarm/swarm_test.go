package swarm

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
	"github.com/protolearn/protolearn/trainer/statesync"
	"github.com/protolearn/protolearn/trainer/wire"
)

const (
	model = 9
	rows  = 4
	depth = 4
	lr    = 3e-3
)

var (
	corpusOnce sync.Once
	corpus     *data.Corpus
	corpusErr  error
)

// testCorpus is a small real corpus: Go's strings package sources.
func testCorpus(t *testing.T) *data.Corpus {
	t.Helper()
	corpusOnce.Do(func() {
		corpus, corpusErr = data.Load(filepath.Join(runtime.GOROOT(), "src", "strings"), data.Options{})
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpus
}

func tinySpec(t *testing.T) spec.Spec {
	t.Helper()
	s, err := spec.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func newHost(t *testing.T) host.Host { return testhost.New(t) }

// liveRoster is a roster that changes while the swarm runs (a seat added),
// as the chain's does.
type liveRoster struct {
	mu sync.Mutex
	r  *roster.Roster
}

func (l *liveRoster) Roster(context.Context) (*roster.Roster, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r, nil
}

func (l *liveRoster) add(t *testing.T, m roster.Member) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, err := roster.New(l.r.Model(), l.r.Stages(), append(l.r.Members(), m))
	if err != nil {
		t.Fatal(err)
	}
	l.r = r
}

// node is one worker of a test swarm.
type node struct {
	h      host.Host
	w      *Worker
	st     *engine.Stage
	stage  int
	cancel context.CancelFunc
	done   chan error
}

// testSwarm is a swarm of real hosts on 127.0.0.1 in this process.
type testSwarm struct {
	t      *testing.T
	spec   spec.Spec
	nodes  []*node
	roster *liveRoster
	mu     sync.Mutex
	losses map[uint64]float64     // by microbatch, from every last-stage worker
	dups   int                    // a microbatch's loss reported twice
	doneMB map[uint64]int         // stage 0 completions per microbatch
	join   func(st *engine.Stage) // before a worker runs (a replacement's download)
	evals  []Eval                 // from the last stage, when evalEvery > 0
	// evalEvery makes stage 0 send an evaluation round every so many steps.
	evalEvery uint64
}

// newSwarm makes hosts for replicas[s] workers of stage s and a roster of
// them (plus extra members, e.g. hosts that join later).
func newSwarm(t *testing.T, replicas []int, extra ...roster.Member) (*testSwarm, [][]host.Host) {
	sp := tinySpec(t)
	hosts := make([][]host.Host, len(replicas))
	var members []roster.Member
	for s, n := range replicas {
		for range n {
			h := newHost(t)
			hosts[s] = append(hosts[s], h)
			members = append(members, roster.Member{Peer: h.ID(), Stage: s, Addrs: h.Addrs()})
		}
	}
	r, err := roster.New(model, len(sp.Stages), append(members, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return &testSwarm{t: t, spec: sp, roster: &liveRoster{r: r}, losses: map[uint64]float64{}, doneMB: map[uint64]int{}}, hosts
}

// start starts a worker of stage s on h; stage 0 runs steps steps of m
// microbatches.
func (sw *testSwarm) start(h host.Host, s int, steps uint64, m int, mod func(*Config)) *node {
	t := sw.t
	t.Helper()
	opt, err := pipeline.StageNAdam(optim.NAdamConfig{LearningRate: lr}, len(sw.spec.Stages), depth)(s)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.New(testbackend.Go(), sw.spec, s, engine.Options{Optimizer: opt})
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := testCorpus(t).Sampler(data.Train, sw.spec.SeqLen, rows, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Host: h, Model: model, Stage: st, Roster: sw.roster, RosterEvery: 50 * time.Millisecond, Data: sampler, Rows: rows,
		Microbatches: m, Steps: steps, Depth: depth, Log: testLog(t),
		OnLoss: func(l Loss) {
			sw.mu.Lock()
			defer sw.mu.Unlock()
			if _, dup := sw.losses[l.Microbatch]; dup {
				sw.dups++
			}
			sw.losses[l.Microbatch] = l.Loss
		},
		OnDone: func(mb uint64) {
			sw.mu.Lock()
			sw.doneMB[mb]++
			sw.mu.Unlock()
		},
	}
	if sw.evalEvery > 0 {
		cfg.EvalEvery = sw.evalEvery
		if cfg.Eval, err = testCorpus(t).EvalBatches(sw.spec.SeqLen, rows, 3); err != nil {
			t.Fatal(err)
		}
		cfg.OnEval = func(e Eval) {
			sw.mu.Lock()
			sw.evals = append(sw.evals, e)
			sw.mu.Unlock()
		}
	}
	var w *Worker
	cfg.SeenElsewhere = statesync.SeenByReplicas(h, model, s, func() []peer.ID { return Replicas(w.Roster(), s, h.ID()) }, time.Second)
	if mod != nil {
		mod(&cfg)
	}
	w, err = New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := statesync.Serve(h, model, s, w.Access, func(p peer.ID) error { return w.Roster().Check(p, s) }, testLog(t))
	srv.SetSeen(w.Seen)
	t.Cleanup(srv.Close)
	if sw.join != nil {
		sw.join(st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{h: h, w: w, st: st, stage: s, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(time.Minute):
			t.Errorf("stage %d worker did not stop", s)
		}
		w.Close()
	})
	sw.nodes = append(sw.nodes, n)
	return n
}

// wait waits for the stage-0 workers to finish, then stops the others.
func (sw *testSwarm) wait(timeout time.Duration) {
	t := sw.t
	t.Helper()
	deadline := time.After(timeout)
	for _, n := range sw.nodes {
		if n.stage != 0 {
			continue
		}
		select {
		case err := <-n.done:
			n.done <- err // for Cleanup
			if err != nil {
				t.Fatalf("stage 0: %v", err)
			}
		case <-deadline:
			t.Fatalf("stage 0 did not finish within %v", timeout)
		}
	}
	// The last evaluation round leaves stage 0 with its last microbatches:
	// let it arrive before the other stages stop.
	if sw.evalEvery > 0 {
		want := int(sw.nodes[0].w.cfg.Steps / sw.evalEvery)
		for {
			sw.mu.Lock()
			got := len(sw.evals)
			sw.mu.Unlock()
			if got >= want {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("%d of %d evaluation rounds arrived", got, want)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for _, n := range sw.nodes {
		if n.stage != 0 {
			n.cancel()
		}
	}
}

// lossesInOrder are the reported losses, by microbatch id.
func (sw *testSwarm) lossesInOrder() []float64 {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	ids := make([]uint64, 0, len(sw.losses))
	for mb := range sw.losses {
		ids = append(ids, mb)
	}
	slices.Sort(ids)
	out := make([]float64, len(ids))
	for i, mb := range ids {
		out[i] = sw.losses[mb]
	}
	return out
}

// eachOnce checks that microbatches 0…n−1 each reported one loss and
// completed once at stage 0, and returns the losses by microbatch id.
func (sw *testSwarm) eachOnce(n int) []float64 {
	t := sw.t
	t.Helper()
	got := sw.lossesInOrder()
	if len(got) != n || sw.dups != 0 {
		t.Fatalf("%d losses reported (%d twice), want each of %d microbatches once", len(got), sw.dups, n)
	}
	for mb := range uint64(n) {
		if sw.doneMB[mb] != 1 {
			t.Fatalf("microbatch %d completed %d times at stage 0", mb, sw.doneMB[mb])
		}
	}
	return got
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// inProcessLosses trains the same model with the in-process asynchronous
// pipeline (same optimizer, depth, microbatch size and data seed) and
// returns its per-microbatch-step losses.
func inProcessLosses(t *testing.T, sp spec.Spec, microbatches int) []float64 {
	t.Helper()
	p, err := pipeline.New(pipeline.Config{
		Spec: sp, Backend: testbackend.Go(), Microbatches: 1, Schedule: pipeline.Async1F1B, Depth: depth,
		NewOptimizer: pipeline.StageNAdam(optim.NAdamConfig{LearningRate: lr}, len(sp.Stages), depth),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sampler, err := testCorpus(t).Sampler(data.Train, sp.SeqLen, rows, 1)
	if err != nil {
		t.Fatal(err)
	}
	var i uint64
	losses, err := p.Train(context.Background(), microbatches, func() (data.Batch, error) {
		b := sampler.At(i)
		i++
		return b, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return losses
}

// TestSwarmTrainsLikeInProcess: three stages in three workers on real
// hosts over 127.0.0.1 train the tiny model, every microbatch once, and
// the loss falls as the in-process pipeline's does on the same data.
func TestSwarmTrainsLikeInProcess(t *testing.T) {
	const steps, m = 15, 4
	sw, hosts := newSwarm(t, []int{1, 1, 1})
	sw.evalEvery = 5
	for s := range hosts {
		sw.start(hosts[s][0], s, steps, m, nil)
	}
	sw.wait(3 * time.Minute)
	n := steps * m
	// Evaluation rounds after steps 5, 10 and 15, each once, loss falling.
	if len(sw.evals) != 3 {
		t.Fatalf("evaluation rounds %+v, want rounds 1, 2, 3", sw.evals)
	}
	for i, e := range sw.evals {
		if e.Round != uint64(i+1) || e.Step != 5*e.Round || math.IsNaN(e.Loss) {
			t.Fatalf("evaluation %d: %+v", i, e)
		}
	}
	if sw.evals[2].Loss >= sw.evals[0].Loss {
		t.Errorf("validation loss did not fall: %+v", sw.evals)
	}
	got := sw.eachOnce(n)
	want := inProcessLosses(t, sw.spec, n)
	head, tail := mean(got[:8]), mean(got[n-12:])
	wantTail := mean(want[n-12:])
	t.Logf("swarm loss %.3f -> %.3f; in-process %.3f -> %.3f", head, tail, mean(want[:8]), wantTail)
	if math.Abs(got[0]-want[0]) > 1e-4 {
		t.Errorf("first microbatch loss %.6f, in-process %.6f: same weights and data must give the same loss", got[0], want[0])
	}
	if tail > 0.8*head {
		t.Errorf("swarm loss did not fall: %.3f -> %.3f", head, tail)
	}
	if math.Abs(tail-wantTail) > 0.15*wantTail {
		t.Errorf("swarm tail loss %.3f, in-process %.3f: more than 15%% apart", tail, wantTail)
	}
	for _, nd := range sw.nodes {
		if st := nd.w.Status(); nd.stage > 0 && st.Updates != uint64(n) {
			t.Errorf("stage %d made %d updates, want %d", nd.stage, st.Updates, n)
		}
	}
	// Byte accounting of the middle stage: n activations down, n gradients
	// up, each one frame, plus the evaluation activations; an ack for each
	// frame it received.
	mid := sw.nodes[1].w
	act, err := payload.EncodedSize(mid.codec.ActivationShape(rows, sw.spec.SeqLen))
	if err != nil {
		t.Fatal(err)
	}
	grad, err := payload.EncodedSize(mid.codec.GradientShape(rows, sw.spec.SeqLen))
	if err != nil {
		t.Fatal(err)
	}
	ack := (&wire.Frame{Type: wire.Ack}).Size()
	// Tensor frames carry their receipt's signature (wire.SigSize bytes).
	actFrame := (&wire.Frame{Type: wire.Activations, Sig: make([]byte, wire.SigSize), Body: make([]byte, act)}).Size()
	gradFrame := (&wire.Frame{Type: wire.Gradients, Sig: make([]byte, wire.SigSize), Body: make([]byte, grad)}).Size()
	st := mid.Status()
	ev := 3 * 3 // evaluation microbatches: forward only
	wantPayload, wantFrames, wantControl := n*(act+grad)+ev*act, n*(actFrame+gradFrame)+ev*actFrame, (2*n+ev)*ack
	if st.PayloadBytes != uint64(wantPayload) || st.FrameBytes != uint64(wantFrames) || st.ControlBytes != uint64(wantControl) {
		t.Errorf("stage 1 wrote %d payload, %d frame, %d control bytes; want %d, %d, %d",
			st.PayloadBytes, st.FrameBytes, st.ControlBytes, wantPayload, wantFrames, wantControl)
	}
}

// TestChurnReplicaKilled: stages 1 and 2 have two replicas each; a stage-1
// replica is killed mid-run (its host closed under it). Training goes on
// through the other, every microbatch completes exactly once at stage 0,
// reports its loss once, and is applied by exactly one last-stage replica:
// a re-sent microbatch that the other last-stage replica took already runs
// without an update (the replicas' "seen" answer). A replacement then joins.
func TestChurnReplicaKilled(t *testing.T) {
	const steps, m = 20, 4
	sw, hosts := newSwarm(t, []int{1, 2, 2})
	var victim *node
	for s := range hosts {
		for i, h := range hosts[s] {
			nd := sw.start(h, s, steps, m, func(c *Config) {
				c.AckTimeout = 2 * time.Second
				c.Drain = time.Second
			})
			if s == 1 && i == 0 {
				victim = nd
			}
		}
	}
	// Kill the victim once it has done some work and holds microbatches it
	// has sent on (their gradients will never come back through it).
	deadline := time.Now().Add(time.Minute)
	for st := victim.w.Status(); st.Updates < 8 || st.Pending == 0; st = victim.w.Status() {
		if time.Now().After(deadline) {
			t.Fatal("the victim replica got no work")
		}
		time.Sleep(5 * time.Millisecond)
	}
	victim.h.Close()
	victim.cancel()
	killedAt := victim.w.Status().Updates

	// A replacement takes a new seat of stage 1 and downloads the survivor's
	// state before it takes work.
	var survivorNode *node
	for _, nd := range sw.nodes {
		if nd.stage == 1 && nd != victim {
			survivorNode = nd
		}
	}
	rh := newHost(t)
	var joinedAt uint64
	sw.join = func(st *engine.Stage) {
		// Its handler is up (the worker exists): take the seat, then fetch
		// the state before the worker runs.
		sw.roster.add(t, roster.Member{Peer: rh.ID(), Stage: 1, Addrs: rh.Addrs()})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rh.Connect(ctx, peer.AddrInfo{ID: survivorNode.h.ID(), Addrs: survivorNode.h.Addrs()}); err != nil {
			t.Fatal(err)
		}
		for survivorNode.w.Roster().Check(rh.ID(), 1) != nil { // its next roster refresh seats us
			if ctx.Err() != nil {
				t.Fatal("the survivor never saw the replacement's seat")
			}
			time.Sleep(10 * time.Millisecond)
		}
		joined, err := statesync.Join(ctx, rh, survivorNode.h.ID(), model, st, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		joinedAt = joined.Step
	}
	replacement := sw.start(rh, 1, steps, m, func(c *Config) { c.AckTimeout = 2 * time.Second; c.Drain = time.Second })
	sw.join = nil
	sw.wait(3 * time.Minute)

	n := steps * m
	got := sw.eachOnce(n)
	survivor := survivorNode.w.Status().Updates
	joined := replacement.w.Status().Updates
	t.Logf("victim stage-1 replica killed after %d updates; the survivor made %d; the replacement joined at the survivor's update %d and made %d; tail loss %.3f",
		killedAt, survivor, joinedAt, joined, mean(got[n-12:]))
	for _, nd := range sw.nodes {
		st := nd.w.Status()
		t.Logf("stage %d replica: %d updates, %d repeats, %d late gradients", nd.stage, st.Updates, st.Repeats, st.Late)
	}
	var lastUpdates, lastRepeats uint64
	for _, nd := range sw.nodes {
		if nd.stage == 2 {
			st := nd.w.Status()
			lastUpdates += st.Updates
			lastRepeats += st.Repeats
		}
	}
	if lastUpdates != uint64(n) { // exactly once below the failure, across replicas
		t.Errorf("the last stage's replicas made %d updates for %d microbatches (%d repeats seen)", lastUpdates, n, lastRepeats)
	}
	if survivor+killedAt+joined < uint64(n) {
		t.Errorf("stage 1 replicas made %d + %d + %d updates for %d microbatches", killedAt, survivor, joined, n)
	}
	if joinedAt == 0 || joined == 0 {
		t.Errorf("the replacement joined at update %d and made %d updates; want state from the survivor and work after it", joinedAt, joined)
	}
	if tail, head := mean(got[n-12:]), mean(got[:8]); tail > 0.8*head {
		t.Errorf("loss did not fall through the churn: %.3f -> %.3f", head, tail)
	}
}

// TestFirstMicrobatchContinuesTheNumbering: a restarted stage 0 given FirstMicrobatch numbers its
// microbatches from there (and so draws new data), and the swarm trains all of them.
func TestFirstMicrobatchContinuesTheNumbering(t *testing.T) {
	const steps, m, first = 3, 2, 40
	sw, hosts := newSwarm(t, []int{1, 1, 1})
	for s := range hosts {
		var mod func(*Config)
		if s == 0 {
			mod = func(c *Config) { c.FirstMicrobatch = first }
		}
		sw.start(hosts[s][0], s, steps, m, mod)
	}
	sw.wait(2 * time.Minute)
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if len(sw.losses) != steps*m {
		t.Fatalf("%d losses, want %d", len(sw.losses), steps*m)
	}
	for mb := range sw.losses {
		if mb < first || mb >= first+steps*m {
			t.Errorf("microbatch %d: want ids %d…%d", mb, first, first+steps*m-1)
		}
	}
}
