package p2p

import (
	"bufio"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/wire"
)

func twoHosts(t *testing.T) (a, b host.Host) {
	t.Helper()
	var hs []host.Host
	for _, name := range []string{"a.key", "b.key"} {
		k, err := LoadOrCreateKey(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(Config{Key: k, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hs = append(hs, h)
	}
	return hs[0], hs[1]
}

// TestShapedStream: a frame written to a shaped stream reaches the peer
// only when the path's clock passes its arrival time (latency plus the
// wire time of its bytes at the bandwidth), driven by a manual clock so
// nothing depends on wall-clock speed; the path counts the frame's bytes;
// Close delivers what is queued first.
func TestShapedStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := twoHosts(t)
	got := make(chan *wire.Frame, 2)
	b.SetStreamHandler(wire.Protocol, func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		for {
			f, err := wire.Read(r, 1<<20)
			if err != nil {
				return
			}
			got <- f
		}
	})
	if err := a.Connect(ctx, AddrInfo(b)); err != nil {
		t.Fatal(err)
	}
	raw, err := a.NewStream(ctx, b.ID(), wire.Protocol)
	if err != nil {
		t.Fatal(err)
	}
	clock := link.NewManualClock()
	// 1 Mbit/s: a 1,000-byte frame takes 8 ms on the wire, then 50 ms of latency.
	s, err := Shape(raw, link.Config{Bandwidth: 1e6, Latency: 50 * time.Millisecond}, clock)
	if err != nil {
		t.Fatal(err)
	}
	f := &wire.Frame{Type: wire.Activations, Model: 1, Stage: 1, Step: 1, Microbatch: 1, Sig: make([]byte, wire.SigSize), Body: make([]byte, 1000-wire.HeaderSize-wire.SigSize-2)}
	if f.Size() != 1000 {
		t.Fatalf("frame of %d bytes", f.Size())
	}
	if err := wire.Write(s, f); err != nil {
		t.Fatal(err)
	}
	for clock.Waiting() == 0 { // the pump is waiting for the arrival time
		time.Sleep(time.Millisecond)
	}
	clock.Advance(57 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("delivered before its arrival time (58 ms)")
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(time.Millisecond)
	select {
	case r := <-got:
		if r.Microbatch != 1 || len(r.Body) != len(f.Body) {
			t.Fatalf("received %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("not delivered at its arrival time")
	}
	if st := s.Stats(); st.Bytes != 1000 || st.Messages != 1 {
		t.Errorf("path stats %+v", st)
	}
	// A second frame, then Close: Close waits for the delivery.
	if err := wire.Write(s, f); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for clock.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(time.Second)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("Close dropped a queued frame")
	}
	if _, err := s.Write([]byte("late")); err == nil {
		t.Error("write after Close succeeded")
	}
}
