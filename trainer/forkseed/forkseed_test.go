package forkseed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

const parent = 7

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

// trained is stage 0 moved off its initial weights by n updates, its parameters as a Params
// stream, and their root.
func trained(t *testing.T, n int) (*engine.Stage, []byte, [32]byte) {
	t.Helper()
	st := newStage(t, 0)
	sp := st.Spec()
	v := make([]int32, 2*sp.SeqLen)
	for i := range v {
		v[i] = int32(i*7) % int32(sp.Vocab)
	}
	in := tensors.FromFlatDataAndDimensions(v, 2, sp.SeqLen)
	for range n {
		out, err := st.Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := make([]float32, out.Shape().Size())
		for i := range d {
			d[i] = float32(i%5) - 2
		}
		if _, err := st.Backward(in, nil, tensors.FromFlatDataAndDimensions(d, out.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := checkpoint.Write(&b, st, uint64(n), checkpoint.Params); err != nil {
		t.Fatal(err)
	}
	root, err := checkpoint.WeightsRoot(st)
	if err != nil {
		t.Fatal(err)
	}
	return st, b.Bytes(), root
}

// The root a fork names is a stage's WeightsRoot (what the trainer commits); the client checks
// what it receives by the stream's root: they must be the same function of the parameters.
func TestStreamRootIsWeightsRoot(t *testing.T) {
	_, body, root := trained(t, 1)
	got, err := checkpoint.StreamRoot(body, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Fatalf("StreamRoot %x, WeightsRoot %x", got, root)
	}
	// Loaded into a fresh stage, the parameters have the same root.
	st := newStage(t, 0)
	if _, err := checkpoint.Read(bytes.NewReader(body), st, 1<<30); err != nil {
		t.Fatal(err)
	}
	if r, _ := checkpoint.WeightsRoot(st); r != root {
		t.Fatalf("loaded root %x, want %x", r, root)
	}
}

type fixture struct {
	server, fork, stranger host.Host
	body                   []byte
	root                   [32]byte
	mu                     sync.Mutex
	held                   map[[32]byte][]byte
	asked                  int
}

func (f *fixture) source(root [32]byte) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.held[root]
	return b, ok, nil
}

func setup(t *testing.T) *fixture {
	_, body, root := trained(t, 2)
	f := &fixture{server: testhost.New(t), fork: testhost.New(t), stranger: testhost.New(t), body: body, root: root, held: map[[32]byte][]byte{root: body}}
	srv, err := Serve(ServerConfig{
		Host: f.server, Model: parent, Stage: 0, Source: f.source,
		Authorize: func(_ context.Context, p peer.ID, r [32]byte) error {
			f.mu.Lock()
			f.asked++
			f.mu.Unlock()
			if p != f.fork.ID() {
				return errors.New("not seated in a fork")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return f
}

func (f *fixture) addr() peer.AddrInfo {
	return peer.AddrInfo{ID: f.server.ID(), Addrs: f.server.Addrs()}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestFetchGivesTheSeatedForkReplicaItsStageAtTheRoot(t *testing.T) {
	f := setup(t)
	body, err := Fetch(ctx(t), f.fork, f.addr(), Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, f.body) {
		t.Fatal("the fetched parameters are not the served ones")
	}
	// They load into the fork's fresh stage, with the root the chain names.
	st := newStage(t, 0)
	if _, err := checkpoint.Read(bytes.NewReader(body), st, 1<<30); err != nil {
		t.Fatal(err)
	}
	if r, _ := checkpoint.WeightsRoot(st); r != f.root {
		t.Fatalf("root %x after loading, want %x", r, f.root)
	}
}

// The attacks on the server: weights go to the fork's seated replica of the same stage only.
func TestFetchRefusals(t *testing.T) {
	f := setup(t)
	other := f.root
	other[0] ^= 1
	for _, tc := range []struct {
		name string
		from host.Host
		req  Request
		want string
	}{
		{"a peer seated in no fork", f.stranger, Request{Parent: parent, Stage: 0, Root: f.root}, "not seated in a fork"},
		{"another model", f.fork, Request{Parent: parent + 1, Stage: 0, Root: f.root}, "holds stage 0 of model 7, not stage 0 of model 8"},
		{"another stage", f.fork, Request{Parent: parent, Stage: 1, Root: f.root}, "not stage 1"},
		{"a root it does not hold", f.fork, Request{Parent: parent, Stage: 0, Root: other}, "no longer holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fetch(ctx(t), tc.from, f.addr(), tc.req, 1<<30)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}

// A server cannot make a fork start from other weights than the chain's root: the client checks
// the root of what it receives.
func TestFetchRefusesWeightsOtherThanTheRoot(t *testing.T) {
	f := setup(t)
	_, otherBody, _ := trained(t, 3)
	f.mu.Lock()
	f.held[f.root] = otherBody // a lying replica
	f.mu.Unlock()
	_, err := Fetch(ctx(t), f.fork, f.addr(), Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30)
	if err == nil || !strings.Contains(err.Error(), "not the") {
		t.Fatalf("err %v, want the root mismatch", err)
	}
	// Nor send garbage, or more than the limit.
	f.mu.Lock()
	f.held[f.root] = []byte("not a checkpoint")
	f.mu.Unlock()
	if _, err := Fetch(ctx(t), f.fork, f.addr(), Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30); err == nil {
		t.Fatal("garbage accepted")
	}
	f.mu.Lock()
	f.held[f.root] = f.body
	f.mu.Unlock()
	if _, err := Fetch(ctx(t), f.fork, f.addr(), Request{Parent: parent, Stage: 0, Root: f.root}, int64(len(f.body)-1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err %v, want the limit", err)
	}
}

// FetchAny goes on past a replica that refuses or is gone to one that serves.
func TestFetchAnyTriesEachReplica(t *testing.T) {
	f := setup(t)
	gone := testhost.New(t)
	goneInfo := peer.AddrInfo{ID: gone.ID(), Addrs: gone.Addrs()}
	_ = gone.Close()
	empty := testhost.New(t) // serves nothing
	body, from, err := FetchAny(ctx(t), f.fork, []peer.AddrInfo{goneInfo, {ID: empty.ID(), Addrs: empty.Addrs()}, f.addr()}, Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	if from != f.server.ID() || !bytes.Equal(body, f.body) {
		t.Fatalf("served by %s", from)
	}
	if _, _, err := FetchAny(ctx(t), f.fork, nil, Request{Parent: parent}, 1<<30, nil); err == nil || !strings.Contains(err.Error(), "no replica") {
		t.Fatalf("err %v, want no replica", err)
	}
	_, _, err = FetchAny(ctx(t), f.stranger, []peer.AddrInfo{f.addr()}, Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30, nil)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v, want the refusal", err)
	}
}

// A malformed request is refused before the chain is asked.
func TestMalformedRequestRefusedUnasked(t *testing.T) {
	f := setup(t)
	if err := f.fork.Connect(ctx(t), f.addr()); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{nil, []byte("PLF1"), bytes.Repeat([]byte{1}, requestSize), bytes.Repeat([]byte{1}, requestSize+5)} {
		s, err := f.fork.NewStream(ctx(t), f.server.ID(), Protocol)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write(b)
		_ = s.CloseWrite()
		buf := make([]byte, 600)
		n, _ := s.Read(buf)
		if n == 0 || buf[0] != statusNo {
			t.Fatalf("request %q: answer %q, want a refusal", b, buf[:n])
		}
		_ = s.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.asked != 0 {
		t.Fatalf("the chain was asked %d times about malformed requests", f.asked)
	}
}

func TestStoreKeepsTheNewestAndTheNamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seeds")
	s, err := OpenStore(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	root := func(i int) [32]byte { return [32]byte{byte(i)} }
	for i := 1; i <= 5; i++ {
		if err := s.Put(uint64(i*10), root(i), []byte(fmt.Sprint("params ", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A stray file is not a root.
	if err := os.WriteFile(filepath.Join(dir, "step-x.params"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(func(r [32]byte) bool { return r == root(1) })
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	roots, err := s.Roots()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(roots) != fmt.Sprint([][32]byte{root(1), root(4), root(5)}) {
		t.Fatalf("kept %x", roots)
	}
	if b, ok, err := s.Get(root(4)); err != nil || !ok || string(b) != "params 4" {
		t.Fatalf("Get: %q %v %v", b, ok, err)
	}
	if _, ok, _ := s.Get(root(2)); ok {
		t.Fatal("a pruned root is still served")
	}
	// Steps order numerically, not as text.
	if err := s.Put(100, root(6), []byte("params 6")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	roots, _ = s.Roots()
	if fmt.Sprint(roots) != fmt.Sprint([][32]byte{root(5), root(6)}) {
		t.Fatalf("kept %x", roots)
	}
	if err := s.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get(root(6)); ok || err != nil {
		t.Fatalf("after RemoveAll: %v %v", ok, err)
	}
}

// A stranger holding streams open (a byte sent, never finished) takes no transfer slot and no
// chain lookup: the fork's replica is served all the same.
func TestStrangersCannotSquatTheServer(t *testing.T) {
	f := setup(t)
	if err := f.stranger.Connect(ctx(t), f.addr()); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		s, err := f.stranger.NewStream(ctx(t), f.server.ID(), Protocol)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("P")); err != nil {
			t.Fatal(err)
		}
		defer s.Reset() //nolint:errcheck
	}
	body, err := Fetch(ctx(t), f.fork, f.addr(), Request{Parent: parent, Stage: 0, Root: f.root}, 1<<30)
	if err != nil || !bytes.Equal(body, f.body) {
		t.Fatalf("the fork's replica was not served beside a squatter: %v", err)
	}
	f.mu.Lock()
	asked := f.asked
	f.mu.Unlock()
	if asked != 1 {
		t.Fatalf("the chain was asked %d times; want once, for the fork's replica", asked)
	}
}

// With every transfer slot taken, a seated replica is told it is busy, and fetchAny tries
// again later rather than failing the fork's start.
func TestBusyServerIsRetried(t *testing.T) {
	_, body, root := trained(t, 2)
	server, fork := testhost.New(t), testhost.New(t)
	release := make(chan struct{})
	var calls sync.WaitGroup
	srv, err := Serve(ServerConfig{
		Host: server, Model: parent, Stage: 0, Concurrent: 1,
		Source: func(r [32]byte) ([]byte, bool, error) {
			<-release // the first transfer holds the only slot until released
			return body, r == root, nil
		},
		Authorize: func(context.Context, peer.ID, [32]byte) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	other := testhost.New(t)
	calls.Add(1)
	go func() {
		defer calls.Done()
		_, _ = Fetch(ctx(t), other, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}, Request{Parent: parent, Root: root}, 1<<30)
	}()
	time.Sleep(300 * time.Millisecond) // the other replica's transfer holds the slot
	info := peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}
	if _, err := Fetch(ctx(t), fork, info, Request{Parent: parent, Root: root}, 1<<30); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("err %v, want busy", err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		close(release)
	}()
	got, _, err := fetchAny(ctx(t), fork, []peer.AddrInfo{info}, Request{Parent: parent, Root: root}, 1<<30, nil, []time.Duration{500 * time.Millisecond, time.Second})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("not served after the slot freed: %v", err)
	}
	calls.Wait()
}
