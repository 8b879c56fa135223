package discovery

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/roster"
)

const model = 3

func newHost(t *testing.T) host.Host { return testhost.New(t) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within the deadline", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDHTRendezvousAndResolve(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hosts := make([]host.Host, 4)
	dhts := make([]*DHT, 4)
	for i := range hosts {
		hosts[i] = newHost(t)
		var boot []peer.AddrInfo
		if i > 0 {
			boot = []peer.AddrInfo{{ID: hosts[0].ID(), Addrs: hosts[0].Addrs()}}
		}
		d, err := NewDHT(ctx, hosts[i], boot)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		dhts[i] = d
	}
	// Hosts 1 and 2 hold stage 0, host 3 stage 1.
	for i, s := range map[int]int{1: 0, 2: 0, 3: 1} {
		eventually(t, "routing table", func() bool { return dhts[i].RoutingTable().Size() > 0 })
		dhts[i].Advertise(ctx, model, s)
	}
	eventually(t, "stage 0 providers found from host 3", func() bool {
		ps, err := dhts[3].FindStage(ctx, model, 0)
		if err != nil {
			return false
		}
		found := map[peer.ID]bool{}
		for _, p := range ps {
			found[p.ID] = true
		}
		return found[hosts[1].ID()] && found[hosts[2].ID()] && !found[hosts[3].ID()]
	})
	// A newcomer that only knows the bootstrap host finds host 2's
	// addresses through the DHT. (Clearing a known peer's addresses would
	// race with that peer redialling: its own DHT keeps talking to us.)
	newcomer := newHost(t)
	d, err := NewDHT(ctx, newcomer, []peer.AddrInfo{{ID: hosts[0].ID(), Addrs: hosts[0].Addrs()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	eventually(t, "resolve host 2 from a newcomer", func() bool {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		ai, err := d.Resolve(rctx, hosts[2].ID())
		return err == nil && slices.ContainsFunc(ai.Addrs, hosts[2].Addrs()[0].Equal)
	})
}

// swarmOf is a gossipsub swarm of n hosts, fully connected.
func swarmOf(t *testing.T, ctx context.Context, n int) ([]host.Host, []*pubsub.PubSub) {
	t.Helper()
	hs := make([]host.Host, n)
	pss := make([]*pubsub.PubSub, n)
	for i := range hs {
		hs[i] = newHost(t)
		ps, err := NewPubSub(ctx, hs[i])
		if err != nil {
			t.Fatal(err)
		}
		pss[i] = ps
	}
	for i := range hs {
		for j := range i {
			if err := hs[i].Connect(ctx, peer.AddrInfo{ID: hs[j].ID(), Addrs: hs[j].Addrs()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hs, pss
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func TestHeartbeatsValidated(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 0: receiver (stage 1), 1: registered stage 0, 2: unregistered, 3: registered stage 2.
	hs, pss := swarmOf(t, ctx, 4)
	r, err := roster.New(model, 3, []roster.Member{{Peer: hs[0].ID(), Stage: 1}, {Peer: hs[1].ID(), Stage: 0}, {Peer: hs[3].ID(), Stage: 2}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	recvClock := &clock{t: now}
	log := slog.New(slog.DiscardHandler)
	recv, err := NewHeartbeats(ctx, pss[0], model, func() *roster.Roster { return r }, recvClock.now, time.Minute, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	sender, err := NewHeartbeats(ctx, pss[1], model, func() *roster.Roster { return r }, func() time.Time { return now }, time.Minute, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Close)
	// Hostile senders publish raw bytes on topics without a validator.
	raw := func(i int) *pubsub.Topic {
		tp, err := pss[i].Join(Topic(model))
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	stranger, wrongStage := raw(2), raw(3)

	eventually(t, "mesh", func() bool { return len(pss[1].ListPeers(Topic(model))) > 0 && len(pss[3].ListPeers(Topic(model))) > 0 })
	bad := []struct {
		topic *pubsub.Topic
		h     Heartbeat
	}{
		{stranger, Heartbeat{Model: model, Stage: 0, Time: now}},                         // not in the roster
		{wrongStage, Heartbeat{Model: model, Stage: 0, Time: now}},                       // registered for stage 2
		{wrongStage, Heartbeat{Model: model + 1, Stage: 2, Time: now}},                   // another model
		{wrongStage, Heartbeat{Model: model, Stage: 2, Time: now.Add(-2 * time.Minute)}}, // stale
	}
	for _, b := range bad {
		if err := b.topic.Publish(ctx, b.h.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
	if err := wrongStage.Publish(ctx, []byte("not a heartbeat")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "five rejections", func() bool { return recv.Rejected() >= 5 })

	want := Heartbeat{Stage: 0, Step: 7, Updates: 28, Queue: 3, Throughput: 4.5, Loss: 0, Done: true}
	// Gossipsub needs a moment to graft the mesh: publish until seen.
	eventually(t, "the registered peer's heartbeat", func() bool {
		_ = sender.Publish(ctx, want)
		_, ok := recv.Latest(hs[1].ID())
		return ok
	})
	got, _ := recv.Latest(hs[1].ID())
	if got.Model != model || got.Stage != 0 || got.Step != 7 || got.Updates != 28 || got.Queue != 3 || got.Throughput != 4.5 || !got.Done || !got.Time.Equal(now) {
		t.Fatalf("heartbeat %+v", got.Heartbeat)
	}
	for _, p := range []peer.ID{hs[2].ID(), hs[3].ID()} {
		if _, ok := recv.Latest(p); ok {
			t.Errorf("a rejected heartbeat of %s was kept", p)
		}
	}
	if q, tput, ok := recv.Load(hs[1].ID()); !ok || q != 3 || tput != 4.5 {
		t.Errorf("Load = %d, %v, %v", q, tput, ok)
	}
	recvClock.mu.Lock()
	recvClock.t = now.Add(2 * time.Minute)
	recvClock.mu.Unlock()
	if _, _, ok := recv.Load(hs[1].ID()); ok {
		t.Error("Load trusts a heartbeat older than the max age")
	}
}

func TestDecodeHeartbeatStrict(t *testing.T) {
	h := Heartbeat{Model: 1, Stage: 2, Step: 3, Updates: 4, Queue: 5, Throughput: 6.5, Loss: 2.25, Time: time.Unix(9, 10)}
	b := h.Marshal()
	got, err := DecodeHeartbeat(b)
	if err != nil || got != h {
		t.Fatalf("%+v %v", got, err)
	}
	mut := func(off int, v []byte) []byte { c := append([]byte(nil), b...); copy(c[off:], v); return c }
	putF := func(f float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)) }
	for name, bad := range map[string][]byte{
		"short":          b[:60],
		"long":           append(append([]byte(nil), b...), 0),
		"magic":          mut(0, []byte("XXXX")),
		"NaN throughput": mut(36, putF(math.NaN())),
		"negative tput":  mut(36, putF(-1)),
		"Inf loss":       mut(44, putF(math.Inf(1))),
		"done 2":         mut(52, []byte{2}),
	} {
		if _, err := DecodeHeartbeat(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeHeartbeat(f *testing.F) {
	f.Add(Heartbeat{Model: 1, Time: time.Unix(1, 0)}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeartbeat(b)
		if err == nil && string(h.Marshal()) != string(b) {
			t.Fatalf("%x decoded to %+v, which encodes differently", b, h)
		}
	})
}
