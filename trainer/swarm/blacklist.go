package swarm

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// blacklist keeps next-stage peers out of routing for a while after they fail. The first
// consecutive failure of a peer costs base, each next one twice the last, up to limit; a success
// (a gradient from the peer) clears its strikes. A penalty never shortens one in force. It is
// driven by now, so tests step its clock instead of sleeping. Owned by the compute goroutine.
type blacklist struct {
	base, limit time.Duration
	now         func() time.Time
	until       map[peer.ID]time.Time
	strikes     map[peer.ID]int
}

func newBlacklist(base, limit time.Duration, now func() time.Time) *blacklist {
	return &blacklist{base: base, limit: max(limit, base), now: now, until: map[peer.ID]time.Time{}, strikes: map[peer.ID]int{}}
}

// fail counts a failure of p and blacklists it for base·2^(strikes before), at most limit. It
// returns how long, and whether the penalty took effect (a longer one may be in force).
func (b *blacklist) fail(p peer.ID) (time.Duration, bool) {
	d := min(b.base<<min(b.strikes[p], 20), b.limit)
	b.strikes[p]++
	return d, b.penalize(p, d)
}

// penalize blacklists p for d from now, unless a longer penalty is in force; it says whether it
// took effect.
func (b *blacklist) penalize(p peer.ID, d time.Duration) bool {
	until := b.now().Add(d)
	if old, ok := b.until[p]; ok && old.After(until) {
		return false
	}
	b.until[p] = until
	return true
}

// succeeded clears p's strikes: its next failure costs base again.
func (b *blacklist) succeeded(p peer.ID) { delete(b.strikes, p) }

// blocked says whether p is blacklisted now.
func (b *blacklist) blocked(p peer.ID) bool {
	until, ok := b.until[p]
	if ok && !b.now().Before(until) {
		delete(b.until, p)
		return false
	}
	return ok
}
