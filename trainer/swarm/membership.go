package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/roster"
)

// refreshRoster reads the roster and teaches the peerstore its addresses.
func (w *Worker) refreshRoster(ctx context.Context) error {
	r, err := w.cfg.Roster.Roster(ctx)
	if err != nil {
		return fmt.Errorf("swarm: roster: %w", err)
	}
	if r.Model() != w.cfg.Model || r.Stages() != len(w.spec.Stages) {
		return fmt.Errorf("swarm: the roster is of model %d with %d stages; this worker trains model %d with %d", r.Model(), r.Stages(), w.cfg.Model, len(w.spec.Stages))
	}
	if err := r.Check(w.cfg.Host.ID(), w.stage); err != nil {
		// Registered for another stage is a mistake; not registered yet is
		// a seat on its way (a joining replica), except on stage 0, whose
		// microbatch ids come from its place in the roster.
		if _, other := r.StageOf(w.cfg.Host.ID()); other || w.first {
			return fmt.Errorf("swarm: this worker is not in the roster: %w", err)
		}
		if w.roster.Load() == nil {
			w.log.Warn("not in the roster yet: neighbours refuse this worker's frames until it is", "peer", w.cfg.Host.ID())
		}
	}
	for _, m := range r.Members() {
		if len(m.Addrs) > 0 && m.Peer != w.cfg.Host.ID() {
			w.cfg.Host.Peerstore().AddAddrs(m.Peer, m.Addrs, time.Hour)
		}
	}
	w.roster.Store(r)
	return nil
}

// Replicas are the members of stage s in r other than self.
func Replicas(r *roster.Roster, s int, self peer.ID) []peer.ID {
	var out []peer.ID
	for _, m := range r.Stage(s) {
		if m.Peer != self {
			out = append(out, m.Peer)
		}
	}
	return out
}

// Roster is the roster in force.
func (w *Worker) Roster() *roster.Roster { return w.roster.Load() }

func (w *Worker) rosterLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.cfg.RosterEvery)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			if err := w.refreshRoster(w.ctx); err != nil {
				w.log.Warn("roster refresh failed; keeping the previous roster", "err", err)
			}
		}
	}
}
