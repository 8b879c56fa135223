package swarm

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The blacklist doubles a peer's penalty with each consecutive failure up to its limit, never
// shortens a penalty in force, forgets strikes on success, and lets a peer back once its time is
// up: all on a stepped clock.
func TestBlacklistBacksOff(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBlacklist(time.Second, 10*time.Second, func() time.Time { return now })
	p, q := peer.ID("p"), peer.ID("q")
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		d, ok := b.fail(p)
		if d != want || !ok {
			t.Fatalf("failure %d: blacklisted for %v (%v), want %v", i+1, d, ok, want)
		}
		if !b.blocked(p) {
			t.Fatalf("failure %d: not blocked", i+1)
		}
		now = now.Add(d - time.Nanosecond)
		if !b.blocked(p) {
			t.Fatalf("failure %d: let back before %v", i+1, d)
		}
		now = now.Add(time.Nanosecond)
		if b.blocked(p) {
			t.Fatalf("failure %d: still blocked after %v", i+1, d)
		}
	}
	if b.blocked(q) {
		t.Fatal("a peer never penalized is blocked")
	}
	b.succeeded(p)
	if d, _ := b.fail(p); d != time.Second {
		t.Fatalf("after a success the next failure costs %v, want 1s", d)
	}
	if b.penalize(p, time.Millisecond) {
		t.Fatal("a shorter penalty replaced a longer one")
	}
	now = now.Add(500 * time.Millisecond)
	if !b.penalize(p, time.Second) || !b.blocked(p) {
		t.Fatal("a longer penalty did not take effect")
	}
}
