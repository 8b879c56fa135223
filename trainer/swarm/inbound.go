package swarm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/trainer/wire"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// inConn is a stream a peer opened to this worker: frames come in, replies
// go back (acks and busy from the handler, hand-back rejects from the
// compute loop, hence the lock).
type inConn struct {
	s     network.Stream
	mu    sync.Mutex
	count *atomic.Uint64 // control bytes written
}

func (c *inConn) reply(f *wire.Frame, timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.s.SetWriteDeadline(time.Now().Add(timeout))
	if wire.Write(c.s, f) == nil && c.count != nil { // a reply that cannot be written: the sender times out and re-routes
		c.count.Add(uint64(f.Size()))
	}
}

// event is a checked, decoded frame for the compute loop.
type event struct {
	typ       wire.Type
	from      peer.ID
	step, mb  uint64
	replay    bool            // the frame was a replay
	elsewhere bool            // another replica of this stage has taken it
	in, ids   *tensors.Tensor // activations
	dOut      *tensors.Tensor // gradients
	conn      *inConn
	receivedN int    // frame bytes, for metrics
	input     *Input // the frame's verified receipt
}

// handle serves one inbound pipeline stream. Nothing a peer sends is held
// before it has passed the cheap checks: a peer that is not a registered
// neighbour is refused when the stream opens; a frame's header is checked
// (model, stage, type, sender) before its body is read; and the body's
// memory is reserved with the stream's resource scope first (go-libp2p's
// resource manager: over its limits the body is skipped unread and the
// sender told busy).
func (w *Worker) handle(s network.Stream) {
	p := s.Conn().RemotePeer()
	if until, banned := w.bannedUntil(p); banned {
		w.log.Debug("refused a stream of a banned peer", "peer", p, "until", until.Format(time.RFC3339))
		_ = s.Reset()
		return
	}
	if !w.neighbour(p) {
		// Not banned: the roster may not have caught up with a new replica yet.
		w.log.Debug("refused a stream of a peer registered for neither neighbouring stage", "peer", p)
		w.metrics.refused.Inc()
		_ = s.Reset()
		return
	}
	c := &inConn{s: s, count: &w.controlBytes}
	r := bufio.NewReader(s)
	for {
		// Between frames a stream may idle; once a frame starts it must be
		// complete within Config.Timeout (a stalled frame ties up a stream).
		_ = s.SetReadDeadline(time.Time{})
		if _, err := r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				_ = s.Close()
			} else {
				_ = s.Reset()
			}
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(w.cfg.Timeout))
		f, n, err := wire.ReadHeader(r, w.cfg.MaxFrame)
		if err != nil {
			w.readFailed(p, c, err)
			return
		}
		if reason := w.checkHeader(p, f); reason != "" {
			w.cutOff(p, c, f, reason)
			return
		}
		if err := s.Scope().ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
			// Over the resource manager's limits (other frames hold the memory): skip
			// the body without holding it, and let the sender try another replica.
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				w.readFailed(p, c, err)
				return
			}
			w.log.Debug("no memory for a frame's body; answered busy", "peer", p, "bytes", n, "err", err)
			w.metrics.busy.Inc()
			c.reply(f.Reply(wire.Busy, ""), w.cfg.AckTimeout)
			continue
		}
		err = wire.ReadBody(r, f, n)
		var ev *event
		var rcpt verifytypes.Receipt
		reason := ""
		if err == nil {
			w.metrics.framesIn.WithLabelValues(f.Type.String()).Inc()
			w.metrics.bytesIn.WithLabelValues(f.Type.String()).Add(float64(f.Size()))
			// The signature first: a payload nobody signed is not decoded.
			if rcpt, reason = w.checkReceipt(p, f); reason == "" {
				ev, reason = w.decode(p, f)
			}
		}
		if reason == "" && err == nil {
			ev.input = &Input{Receipt: rcpt, Sig: f.Sig, Payload: f.Body}
			if w.cfg.OnReceipt != nil {
				w.cfg.OnReceipt(rcpt, f.Sig)
			}
		}
		f.Body = nil // decoded into tensors of their own (and kept, if valid, in ev.input)
		s.Scope().ReleaseMemory(n)
		if err != nil {
			w.readFailed(p, c, err)
			return
		}
		if reason != "" {
			w.cutOff(p, c, f, reason)
			return
		}
		ev.conn = c
		if ev.replay && f.Type == wire.Activations && w.cfg.SeenElsewhere != nil && !w.Seen(ev.mb) {
			// Rare (failures only), so asking the replicas here, before the
			// ack, is cheap; it holds only this stream.
			ev.elsewhere = w.cfg.SeenElsewhere(w.ctx, ev.mb)
			if ev.elsewhere {
				w.log.Info("replayed microbatch taken by another replica: it runs here without an update", "mb", ev.mb, "from", p)
			}
		}
		if f.Type == wire.Activations && !isEval(ev.mb) && w.draining.Load() {
			c.reply(f.Reply(wire.Reject, "draining: this worker is shutting down; send it to another replica"), w.cfg.AckTimeout)
			continue
		}
		queue := w.acts
		if f.Type == wire.Gradients {
			queue = w.grads
		}
		select {
		case queue <- ev:
			if f.Type == wire.Activations && !isEval(ev.mb) {
				w.markSeen(ev.mb) // taken from now on: a replica asking about it must not apply it too
			}
			c.reply(f.Reply(wire.Ack, ""), w.cfg.AckTimeout)
		default:
			w.metrics.busy.Inc()
			c.reply(f.Reply(wire.Busy, ""), w.cfg.AckTimeout)
		}
	}
}

// readFailed ends a stream whose frame could not be read: cut off for what
// the peer sent (too large, malformed, too slow), reset for a stream that
// failed on its own.
func (w *Worker) readFailed(p peer.ID, c *inConn, err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.cutOff(p, c, nil, fmt.Sprintf("frame not complete within %v", w.cfg.Timeout))
	case errors.Is(err, wire.ErrTooLarge), errors.Is(err, wire.ErrMalformed):
		w.cutOff(p, c, nil, err.Error())
	default: // the peer reset the stream or went away
		_ = c.s.Reset()
	}
}

// neighbour says whether p is registered for a stage that sends this worker
// frames: the one before it (activations) or the one after it (gradients).
func (w *Worker) neighbour(p peer.ID) bool {
	r := w.roster.Load()
	return (!w.first && r.Check(p, w.stage-1) == nil) || (!w.last && r.Check(p, w.stage+1) == nil)
}

// checkHeader validates a frame's header from p before its body is read; a
// non-empty reason cuts p off.
func (w *Worker) checkHeader(p peer.ID, f *wire.Frame) string {
	if f.Model != w.cfg.Model {
		return fmt.Sprintf("frame for model %d; this worker trains model %d", f.Model, w.cfg.Model)
	}
	if f.Stage != uint32(w.stage) {
		return fmt.Sprintf("frame for stage %d; this worker is stage %d", f.Stage, w.stage)
	}
	r := w.roster.Load()
	var from int
	switch f.Type {
	case wire.Activations:
		if w.first {
			return "activations sent to stage 0, which takes no input from peers"
		}
		from = w.stage - 1
	case wire.Gradients:
		if w.last {
			return "gradients sent to the last stage, which computes its own"
		}
		from = w.stage + 1
	default:
		return fmt.Sprintf("a %v frame on a stream that carries only activations and gradients", f.Type)
	}
	if err := r.Check(p, from); err != nil {
		return fmt.Sprintf("%v frame from a peer not registered for stage %d: %v", f.Type, from, err)
	}
	return ""
}

// decode decodes a checked frame's payload into an event for the compute
// loop; a non-empty reason cuts p off.
func (w *Worker) decode(p peer.ID, f *wire.Frame) (*event, string) {
	ev := &event{typ: f.Type, from: p, step: f.Step, mb: f.Microbatch, replay: f.Flags&wire.Replay != 0, receivedN: f.Size()}
	var err error
	var step uint64
	var mb uint32
	if f.Type == wire.Activations {
		pl, in, ids, e := w.codec.DecodeActivations(f.Body, w.cfg.Rows, w.spec.SeqLen)
		if err = e; err == nil && pl.Compressed {
			// Coordinates the input tile cannot hold would leave this stage training on an
			// input it could never prove: the sender is refused instead.
			err = tile.CheckCoordinates(pl.Data)
		}
		if err == nil {
			ev.in, ev.ids, step, mb = in, ids, pl.Step, pl.Microbatch
		}
	} else {
		pl, dOut, e := w.codec.DecodeGradients(f.Body, w.cfg.Rows, w.spec.SeqLen)
		if err = e; err == nil {
			ev.dOut, step, mb = dOut, pl.Step, pl.Microbatch
		}
	}
	if err != nil {
		return nil, fmt.Sprintf("microbatch %d: %v", f.Microbatch, err)
	}
	if step != f.Step || mb != uint32(f.Microbatch) {
		return nil, fmt.Sprintf("payload of step %d microbatch %d in a frame of step %d microbatch %d", step, mb, f.Step, uint32(f.Microbatch))
	}
	return ev, ""
}

// cutOff ends a hostile or broken peer's stream: the reason is logged and
// sent back, the stream reset, the peer's connections closed and its
// streams refused for Config.Ban.
func (w *Worker) cutOff(p peer.ID, c *inConn, f *wire.Frame, reason string) {
	w.log.Warn("cutting off peer", "peer", p, "reason", reason, "ban", w.cfg.Ban)
	w.metrics.cutOff.Inc()
	if f == nil {
		f = &wire.Frame{Model: w.cfg.Model, Stage: uint32(w.stage)}
	}
	w.banMu.Lock()
	w.banned[p] = time.Now().Add(w.cfg.Ban)
	w.banMu.Unlock()
	c.reply(f.Reply(wire.Reject, reason), time.Second)
	// Give the reject a moment to reach the peer (a reset would drop it),
	// then reset the stream and drop the peer's connections.
	_ = c.s.CloseWrite()
	go func() {
		_ = c.s.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.s, 1<<20))
		_ = c.s.Reset()
		_ = w.cfg.Host.Network().ClosePeer(p)
	}()
}

func (w *Worker) bannedUntil(p peer.ID) (time.Time, bool) {
	w.banMu.Lock()
	defer w.banMu.Unlock()
	until, ok := w.banned[p]
	if ok && time.Now().After(until) {
		delete(w.banned, p)
		return until, false
	}
	return until, ok
}
