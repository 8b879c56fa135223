package statesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
)

const model = 5

func newHost(t *testing.T) host.Host { return testhost.New(t) }

func connect(t *testing.T, a, b host.Host) {
	t.Helper()
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func newStage(t *testing.T, index int) *engine.Stage {
	t.Helper()
	sp, err := spec.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewNAdam(optim.NAdamConfig{LearningRate: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.New(testbackend.Go(), sp, index, engine.Options{Optimizer: opt})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// locked is a stage behind a mutex, as a worker's Access serializes it.
type locked struct {
	mu      sync.Mutex
	st      *engine.Stage
	updates uint64
}

func (l *locked) access(_ context.Context, fn func(*engine.Stage, uint64) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fn(l.st, l.updates)
}

func ids(sp spec.Spec) *tensors.Tensor {
	v := make([]int32, 2*sp.SeqLen)
	for i := range v {
		v[i] = int32(i*7) % int32(sp.Vocab)
	}
	return tensors.FromFlatDataAndDimensions(v, 2, sp.SeqLen)
}

// train moves the stage-0 weights and optimizer state off their initial values.
func train(t *testing.T, st *engine.Stage) {
	t.Helper()
	in := ids(st.Spec())
	out, err := st.Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float32, out.Shape().Size())
	for i := range d {
		d[i] = float32(i%5) - 2
	}
	for range 2 {
		if _, err := st.Backward(in, nil, tensors.FromFlatDataAndDimensions(d, out.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
}

func forward(t *testing.T, st *engine.Stage) []float32 {
	t.Helper()
	out, err := st.Forward(ids(st.Spec()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

type fixture struct {
	server, joiner, stranger, other host.Host
	src                             *locked
	srv                             *Server
	logs                            *syncBuffer
}

// syncBuffer is the server's log, written by its handlers and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// setup: server and joiner are stage 0 replicas, other is stage 1, the
// stranger is not in the roster.
func setup(t *testing.T) *fixture {
	f := &fixture{server: newHost(t), joiner: newHost(t), stranger: newHost(t), other: newHost(t), logs: &syncBuffer{}}
	r, err := roster.New(model, 3, []roster.Member{{Peer: f.server.ID(), Stage: 0}, {Peer: f.joiner.ID(), Stage: 0}, {Peer: f.other.ID(), Stage: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f.src = &locked{st: newStage(t, 0), updates: 2}
	train(t, f.src.st)
	f.srv = Serve(f.server, model, 0, f.src.access, func(p peer.ID) error { return r.Check(p, 0) }, slog.New(slog.NewTextHandler(f.logs, nil)))
	t.Cleanup(f.srv.Close)
	for _, h := range []host.Host{f.joiner, f.stranger, f.other} {
		connect(t, h, f.server)
	}
	return f
}

func TestJoinGetsTheReplicaState(t *testing.T) {
	f := setup(t)
	st := newStage(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	joined, err := Join(ctx, f.joiner, f.server.ID(), model, st, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if joined.Step != 2 || joined.From != f.server.ID() {
		t.Fatalf("joined at update %d from %s, want 2 from the server", joined.Step, joined.From)
	}
	// What was served is the server's word: a referee can check the joiner's first state.
	if err := VerifyState(f.server.ID(), model, 0, checkpoint.Full, joined.State, joined.Sig); err != nil {
		t.Error(err)
	}
	want, got := forward(t, f.src.st), forward(t, st)
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("joiner's forward differs at %d: %v vs %v", i, got[i], want[i])
		}
	}
	// The optimizer state came too: one more identical update stays identical.
	train(t, f.src.st)
	train(t, st)
	want, got = forward(t, f.src.st), forward(t, st)
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("after an update the joiner differs at %d: optimizer state not restored", i)
		}
	}
}

func TestAverageWithReplica(t *testing.T) {
	f := setup(t)
	mine := &locked{st: newStage(t, 0)}
	before := paramsOf(t, mine.st)
	theirs := paramsOf(t, f.src.st)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logged Mix
	if err := AverageWith(ctx, f.joiner, f.server.ID(), model, 0, mine.access, 1<<30, 0.5, func(m Mix) error {
		if !mine.mu.TryLock() {
			logged = m // inside access, as the replay log needs: nothing else ran between
		} else {
			mine.mu.Unlock()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := checkpoint.Write(&want, f.src.st, f.src.updates, checkpoint.Params); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(logged.Params, want.Bytes()) || logged.From != f.server.ID() || logged.Weight != 0.5 {
		t.Error("the mix was not reported inside access with the parameters mixed in and whose they were")
	}
	// The server signed them: a referee can tell they were a replica's.
	if err := VerifyState(f.server.ID(), model, 0, checkpoint.Params, logged.Params, logged.Sig); err != nil {
		t.Error(err)
	}
	if err := VerifyState(f.joiner.ID(), model, 0, checkpoint.Params, logged.Params, logged.Sig); err == nil {
		t.Error("the signature verified for another peer")
	}
	if err := VerifyState(f.server.ID(), model, 1, checkpoint.Params, logged.Params, logged.Sig); err == nil {
		t.Error("the signature verified for another stage")
	}
	after := paramsOf(t, mine.st)
	for i := range after {
		for j := range after[i] {
			if want := float32(0.5*float64(before[i][j]) + 0.5*float64(theirs[i][j])); after[i][j] != want {
				t.Fatalf("parameter %d[%d] = %v, want the mean %v", i, j, after[i][j], want)
			}
		}
	}
}

func paramsOf(t *testing.T, st *engine.Stage) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range st.Params() {
		v, err := p.Value()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tensors.MustCopyFlatData[float32](v))
	}
	return out
}

func TestRefusals(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cases := []struct {
		name string
		from host.Host
		req  Request
		want string
	}{
		{"unregistered peer", f.stranger, Request{Model: model, Stage: 0}, "not registered"},
		{"replica of another stage", f.other, Request{Model: model, Stage: 0}, "registered for stage 1"},
		{"wrong stage", f.joiner, Request{Model: model, Stage: 1}, "not model 5 stage 1"},
		{"wrong model", f.joiner, Request{Model: model + 1, Stage: 0}, "not model 6 stage 0"},
	}
	for _, c := range cases {
		_, err := Fetch(ctx, c.from, f.server.ID(), c.req, 1<<30)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a refusal mentioning %q", c.name, err, c.want)
		}
	}
	// Garbage: refused, and the server goes on serving.
	s, err := f.joiner.NewStream(ctx, f.server.ID(), Protocol)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Write([]byte("GET /state HTTP/1.1\r\n\r\n"))
	_ = s.CloseWrite()
	var b [64]byte
	n, _ := s.Read(b[:])
	if n == 0 || b[0] != statusNo {
		t.Errorf("garbage request: answer %q, want a refusal", b[:n])
	}
	_ = s.Reset()
	if _, err := Fetch(ctx, f.joiner, f.server.ID(), Request{Model: model, Stage: 0, Selection: checkpoint.Params}, 1<<30); err != nil {
		t.Fatalf("after garbage the server no longer serves: %v", err)
	}
	// Seen: answered from the server's callback, to registered replicas only.
	if _, err := Seen(ctx, f.joiner, f.server.ID(), model, 0, 4); err == nil || !strings.Contains(err.Error(), "does not answer seen") {
		t.Errorf("seen without a callback: %v", err)
	}
	f.srv.SetSeen(func(mb uint64) bool { return mb == 4 })
	for mb, want := range map[uint64]bool{4: true, 5: false} {
		if got, err := Seen(ctx, f.joiner, f.server.ID(), model, 0, mb); err != nil || got != want {
			t.Errorf("seen %d = %v, %v; want %v", mb, got, err, want)
		}
	}
	if _, err := Seen(ctx, f.stranger, f.server.ID(), model, 0, 4); !errors.Is(err, ErrRefused) {
		t.Errorf("seen query of an unregistered peer: %v", err)
	}
	ask := SeenByReplicas(f.joiner, model, 0, func() []peer.ID { return []peer.ID{f.stranger.ID(), f.server.ID()} }, 5*time.Second)
	if !ask(ctx, 4) || ask(ctx, 5) {
		t.Error("SeenByReplicas: want true for 4 (the server has it; the stranger serves nothing), false for 5")
	}
	// Replay logs: answered from the server's callback, to registered replicas only.
	root := [32]byte{7}
	if _, err := FetchLog(ctx, f.joiner, f.server.ID(), model, 0, root, 1<<20); err == nil || !strings.Contains(err.Error(), "keeps no replay log") {
		t.Errorf("a log request without a log: %v", err)
	}
	f.srv.SetLog(func(r [32]byte, q replaylog.Query) ([]byte, error) {
		if r != root {
			return nil, errors.New("no update held starts from that state")
		}
		switch q {
		case replaylog.QueryFromEpoch:
			return []byte("epoch bundle"), nil
		case replaylog.QueryEndingAt:
			return []byte("the epoch ending there"), nil
		}
		return []byte("bundle"), nil
	})
	if b, err := FetchLog(ctx, f.joiner, f.server.ID(), model, 0, root, 1<<20); err != nil || string(b) != "bundle" {
		t.Errorf("log from a held root: %q, %v", b, err)
	}
	if b, err := FetchEpochLog(ctx, f.joiner, f.server.ID(), model, 0, root, 1<<20); err != nil || string(b) != "epoch bundle" {
		t.Errorf("log from the start of the epoch holding a root: %q, %v", b, err)
	}
	if b, err := FetchEpochEndingAt(ctx, f.joiner, f.server.ID(), model, 0, root, 1<<20); err != nil || string(b) != "the epoch ending there" {
		t.Errorf("the epoch ending at a head: %q, %v", b, err)
	}
	if _, err := FetchLog(ctx, f.joiner, f.server.ID(), model, 0, [32]byte{8}, 1<<20); err == nil || !strings.Contains(err.Error(), "no update held") {
		t.Errorf("log from a root not held: %v", err)
	}
	for _, h := range []host.Host{f.stranger, f.other} {
		if _, err := FetchLog(ctx, h, f.server.ID(), model, 0, root, 1<<20); !errors.Is(err, ErrRefused) {
			t.Errorf("log request of a peer outside the stage: %v", err)
		}
	}
	// The limit: a response larger than allowed is refused.
	if _, err := Fetch(ctx, f.joiner, f.server.ID(), Request{Model: model, Stage: 0}, 1000); err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("oversized state: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	good := Request{Model: 3, Stage: 2, Selection: checkpoint.Params}.marshal()
	if r, err := parseRequest(good); err != nil || r.Model != 3 || r.Stage != 2 || r.Selection != checkpoint.Params {
		t.Fatalf("%+v %v", r, err)
	}
	bad := append([]byte(nil), good...)
	bad[16] = 7
	seen := Request{Model: 3, Stage: 2, Seen: true, Microbatch: 1 << 50}.marshal()
	if r, err := parseRequest(seen); err != nil || !r.Seen || r.Microbatch != 1<<50 {
		t.Fatalf("%+v %v", r, err)
	}
	logReq := Request{Model: 3, Stage: 2, Log: true, Root: [32]byte{1, 2, 3}}.marshal()
	if r, err := parseRequest(logReq); err != nil || !r.Log || r.Root != [32]byte{1, 2, 3} || r.Seen {
		t.Fatalf("%+v %v", r, err)
	}
	for _, b := range [][]byte{good[:10], append(append([]byte(nil), good...), 0), append([]byte("XXXX"), good[4:]...), bad, seen[:24], append(good, seen[17:]...), logReq[:48], append(seen, logReq[25:]...)} {
		if _, err := parseRequest(b); err == nil {
			t.Errorf("parsed %x", b)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(Request{Model: 1, Stage: 0}.marshal())
	f.Add(Request{Model: 1, Seen: true, Microbatch: 9}.marshal())
	f.Add(Request{Model: 1, Log: true, Root: [32]byte{9}}.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseRequest(b); err == nil && string(r.marshal()) != string(b) {
			t.Fatalf("request %x parsed as %+v, which encodes differently", b, r)
		}
	})
}

// TestRefusedJoinChangesNothing: an unregistered peer, a wrong stage and an
// oversized answer each fail Join with an error naming the server and the
// reason, and leave the joiner's stage as it was.
func TestRefusedJoinChangesNothing(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st0, st1 := newStage(t, 0), newStage(t, 1)
	before0, before1 := paramsOf(t, st0), paramsOf(t, st1)
	server := f.server.ID().String()
	for _, c := range []struct {
		name    string
		from    host.Host
		st      *engine.Stage
		limit   int64
		refused bool
		want    string
	}{
		{"unregistered peer", f.stranger, st0, 1 << 30, true, "not registered"},
		{"wrong stage", f.joiner, st1, 1 << 30, true, "serves model 5 stage 0, not model 5 stage 1"},
		{"over the limit", f.joiner, st0, 1000, false, "more than 1000 bytes"},
	} {
		_, err := Join(ctx, c.from, f.server.ID(), model, c.st, c.limit)
		if err == nil || errors.Is(err, ErrRefused) != c.refused || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), server) {
			t.Errorf("%s: %v; want an error naming %s and %q", c.name, err, server, c.want)
		}
	}
	if !equal(before0, paramsOf(t, st0)) || !equal(before1, paramsOf(t, st1)) {
		t.Fatal("a failed join changed the stage")
	}
	// The server logged the refusal with the peer and the reason.
	found := false
	for line := range strings.Lines(f.logs.String()) {
		found = found || strings.Contains(line, "level=WARN") && strings.Contains(line, f.stranger.ID().String()) && strings.Contains(line, "not registered")
	}
	if !found {
		t.Errorf("no warning naming the unregistered peer in the server's log:\n%s", f.logs)
	}
	mine := &locked{st: st0}
	if err := AverageWith(ctx, f.stranger, f.server.ID(), model, 0, mine.access, 1<<30, 0.5, nil); !errors.Is(err, ErrRefused) {
		t.Fatalf("average with an unregistered peer: %v", err)
	}
	if !equal(before0, paramsOf(t, st0)) {
		t.Fatal("a refused average changed the stage")
	}
}

// TestSilentClientIsReset: a client that never finishes its request is
// reset after the request timeout, and the server goes on serving.
func TestSilentClientIsReset(t *testing.T) {
	f := setup(t)
	f.srv.RequestTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := f.joiner.NewStream(ctx, f.server.ID(), Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset() //nolint:errcheck // test cleanup
	if _, err := s.Write(Request{Model: model}.marshal()[:9]); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := s.Read(b[:]); err == nil {
		t.Fatalf("a silent client got %d bytes and no reset", n)
	}
	if _, err := Fetch(ctx, f.joiner, f.server.ID(), Request{Model: model, Selection: checkpoint.Params}, 1<<30); err != nil {
		t.Fatalf("after a silent client the server no longer serves: %v", err)
	}
}

func equal(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestTruncateReason(t *testing.T) {
	long := strings.Repeat("a", MaxReason-1) + "é and more"
	got := truncate(long)
	if len(got) != MaxReason-1 || !utf8.ValidString(got) {
		t.Fatalf("truncated to %d bytes (valid UTF-8: %v), want %d", len(got), utf8.ValidString(got), MaxReason-1)
	}
	if short := "not registered"; truncate(short) != short {
		t.Fatal("a short reason changed")
	}
}

// Replay logs are served one at a time, in the order asked, and each replica has one request in
// at a time: a replica asking again and again cannot keep another replica's referee from the
// log (it waits its turn, it is not refused), and one that asks twice at once is refused the
// second time.
func TestLogTurns(t *testing.T) {
	server, a, b := newHost(t), newHost(t), newHost(t)
	r, err := roster.New(model, 3, []roster.Member{{Peer: server.ID(), Stage: 0}, {Peer: a.ID(), Stage: 0}, {Peer: b.ID(), Stage: 0}})
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(server, model, 0, nil, func(p peer.ID) error { return r.Check(p, 0) }, nil)
	t.Cleanup(srv.Close)
	connect(t, a, server)
	connect(t, b, server)
	entered, release := make(chan [32]byte), make(chan struct{})
	srv.SetLog(func(root [32]byte, _ replaylog.Query) ([]byte, error) {
		entered <- root
		<-release
		return root[:1], nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fetch := func(h host.Host, root byte) chan string {
		out := make(chan string, 1)
		go func() {
			b, err := FetchLog(ctx, h, server.ID(), model, 0, [32]byte{root}, 1<<20)
			if err != nil {
				out <- err.Error()
				return
			}
			out <- fmt.Sprint(b)
		}()
		return out
	}
	first := fetch(a, 1)
	if got := <-entered; got[0] != 1 {
		t.Fatalf("served root %d first, want a's 1", got[0])
	}
	second := fetch(b, 2) // waits for a's turn to end
	for srv.logQueued.Load() == 0 {
		runtime.Gosched()
	}
	if got := <-fetch(a, 3); !strings.Contains(got, "already has a replay-log request in") {
		t.Errorf("a's second request while its first is served: %q, want refused", got)
	}
	release <- struct{}{}
	if got := <-first; got != "[1]" {
		t.Errorf("a's log: %q", got)
	}
	if got := <-entered; got[0] != 2 {
		t.Fatalf("served root %d next, want b's 2", got[0])
	}
	release <- struct{}{}
	if got := <-second; got != "[2]" {
		t.Errorf("b's log, after waiting its turn: %q", got)
	}
}
