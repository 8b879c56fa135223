package swarm

import (
	"time"

	"github.com/protolearn/protolearn/trainer/wire"
)

// Shutdown (package documentation, "Shutdown"): refuse new work, hand back what is queued, wait
// for the gradients of what was sent on.

func (w *Worker) startDrain() time.Time {
	w.draining.Store(true)
	w.log.Info("draining: no new work; handing back what is queued, waiting for outstanding gradients", "pending", len(w.pending), "drain", w.cfg.Drain)
	w.handBack()
	return time.Now().Add(w.cfg.Drain)
}

// handBack rejects every queued activations frame, so its sender re-routes
// it; evaluation frames are run instead.
func (w *Worker) handBack() {
	for {
		select {
		case ev := <-w.acts:
			if isEval(ev.mb) { // cheap and not re-sent by anyone: run it
				if err := w.forward(ev); err != nil {
					w.log.Warn("evaluation microbatch failed while draining", "mb", ev.mb, "err", err)
				}
				continue
			}
			f := &wire.Frame{Type: wire.Activations, Model: w.cfg.Model, Stage: uint32(w.stage), Step: ev.step, Microbatch: ev.mb}
			w.seenMu.Lock()
			delete(w.seen, ev.mb) // not taken after all: the replica it goes to next must apply it
			w.seenMu.Unlock()
			ev.conn.reply(f.Reply(wire.Reject, "draining: handed back, send it to another replica"), w.cfg.AckTimeout)
			w.metrics.handedBack.Inc()
		default:
			return
		}
	}
}
