package swarm

import (
	"fmt"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/wire"
)

// Routing (package documentation, "Routing (SWARM)"): each microbatch goes to the least-loaded
// live replica of the next stage; failures and timeouts blacklist the replica (blacklist.go) and
// re-route what it held.

// route sends a pending microbatch to the least-loaded live replica of the
// next stage, or leaves it unrouted (retried on the next tick).
func (w *Worker) route(mb uint64) {
	p := w.pending[mb]
	to, ok := w.pick(mb)
	if !ok {
		if p.to != "" || p.resends == 0 {
			w.log.Warn("no live replica of the next stage; holding the microbatch", "mb", mb, "next_stage", w.stage+1)
		}
		p.to = ""
		p.resends++
		return
	}
	p.to, p.sentAt = to, w.now()
	var flags wire.Flags
	if p.replay || p.resends > 0 {
		flags = wire.Replay
	}
	w.send(to, &wire.Frame{Type: wire.Activations, Flags: flags, Model: w.cfg.Model, Stage: uint32(w.stage + 1), Step: p.step, Microbatch: mb, Seq: w.sendNumber(p), Body: p.msg})
}

// sendNumber is the send number of p's next copy: the one it was last sent under while that is
// fresh, else a new one (recorded: number). A number is so always near its frame's sending
// (receivers refuse one further than Config.MaxSendSkew from their clock), and re-sends under
// back-pressure do not each add a send to the log.
func (w *Worker) sendNumber(p *pending) uint64 {
	if p.seq == 0 || w.stale(p.seq) {
		p.seq = w.number(p.digest, nil)
	}
	return p.seq
}

// stale says whether send number seq is older than half of Config.MaxSendSkew (never, without
// one): a copy sent under it might reach its receiver too late.
func (w *Worker) stale(seq uint64) bool {
	if w.cfg.MaxSendSkew <= 0 {
		return false
	}
	return w.now().UnixMicro()-int64(seq) > (w.cfg.MaxSendSkew / 2).Microseconds()
}

// pick chooses the next stage's replica for microbatch mb: the least
// loaded of those not blacklisted (package documentation).
func (w *Worker) pick(mb uint64) (peer.ID, bool) {
	var cands []peer.ID
	for _, m := range w.roster.Load().Stage(w.stage + 1) {
		if w.blacklist.blocked(m.Peer) {
			continue
		}
		cands = append(cands, m.Peer)
	}
	if len(cands) == 0 {
		return "", false
	}
	if isEval(mb) {
		// A round's batches stay together, so one last-stage replica sees
		// the whole round (the roster lists a stage's members by peer id).
		key, _, _ := evalParts(mb)
		return cands[key%uint64(len(cands))], true
	}
	outstanding := map[peer.ID]int{}
	for _, q := range w.pending {
		if q.to != "" {
			outstanding[q.to]++
		}
	}
	type scored struct {
		p    peer.ID
		load float64
	}
	all := true
	sc := make([]scored, len(cands))
	for i, c := range cands {
		sc[i] = scored{p: c, load: float64(outstanding[c])}
		if w.cfg.Load != nil {
			if q, tput, ok := w.cfg.Load(c); ok && tput > 0 {
				sc[i].load += float64(q)
				sc[i].load /= tput
				continue
			}
		}
		all = false
	}
	if !all { // not comparable: fall back to counts
		for i, c := range cands {
			sc[i].load = float64(outstanding[c])
		}
	}
	// Ties go round-robin by microbatch id, so equal replicas share the work.
	off := int(mb % uint64(len(sc)))
	sort.SliceStable(sc, func(i, j int) bool { return sc[i].load < sc[j].load })
	best := sc[0]
	for k := range sc {
		c := sc[(off+k)%len(sc)]
		if c.load == best.load {
			best = c
			break
		}
	}
	return best.p, true
}

// handleFailures re-routes microbatches whose delivery failed.
func (w *Worker) handleFailures(fs []failure) {
	for _, f := range fs {
		switch {
		case f.typ == 0: // the peer disconnected
			var held []uint64
			for mb, p := range w.pending {
				if p.to == f.to {
					held = append(held, mb)
				}
			}
			if len(held) == 0 { // nothing to re-send: a quiet blacklisting (peers leave at the end of a run)
				w.penalize(f.to, time.Second, "")
				continue
			}
			w.fail(f.to, fmt.Sprintf("%s with %d microbatches outstanding", f.reason, len(held)))
			for _, mb := range held {
				w.reroute(mb, w.pending[mb])
			}
		case f.typ == wire.Gradients:
			if f.outcome == busy && f.frame != nil && !w.stale(f.frame.Seq) {
				fr, to := f.frame, f.to
				time.AfterFunc(w.cfg.Busy, func() { w.send(to, fr) })
				continue
			}
			w.metrics.gradsLost.Inc()
			w.log.Warn("gradient not delivered; its sender will re-send the microbatch", "mb", f.mb, "peer", f.to, "outcome", f.outcome, "reason", f.reason)
		default:
			p := w.pending[f.mb]
			if p == nil || p.to != f.to {
				continue // answered or moved already
			}
			if f.outcome == busy {
				w.penalize(f.to, w.cfg.Busy, "")
			} else {
				w.fail(f.to, f.reason)
			}
			w.reroute(f.mb, p)
		}
	}
}

// fail blacklists a peer after a failure: for a second at the first
// strike (a worker that was still starting), doubling with each
// consecutive one up to Config.Blacklist; a gradient from the peer clears
// its strikes.
func (w *Worker) fail(p peer.ID, reason string) {
	if d, ok := w.blacklist.fail(p); ok {
		w.blacklisted(p, d, reason)
	}
}

func (w *Worker) penalize(p peer.ID, d time.Duration, reason string) {
	if w.blacklist.penalize(p, d) {
		w.blacklisted(p, d, reason)
	}
}

// blacklisted reports a penalty that took effect (a quiet one, with no reason, is not logged).
func (w *Worker) blacklisted(p peer.ID, d time.Duration, reason string) {
	if reason != "" {
		w.metrics.blacklisted.Inc()
		w.log.Warn("peer blacklisted", "peer", p, "for", d, "reason", reason)
	}
}

func (w *Worker) reroute(mb uint64, p *pending) {
	p.resends++
	w.metrics.resent.Inc()
	p.to = ""
	w.route(mb)
}

// checkTimeouts re-sends microbatches held too long and retries unrouted
// ones; it also samples the throughput.
func (w *Worker) checkTimeouts() {
	now := w.now()
	for mb, p := range w.pending {
		switch {
		case p.to == "":
			w.route(mb)
		case now.Sub(p.sentAt) > w.cfg.Timeout:
			w.fail(p.to, fmt.Sprintf("microbatch %d not answered within %v", mb, w.cfg.Timeout))
			w.reroute(mb, p)
		}
	}
	w.updateStatus()
}
