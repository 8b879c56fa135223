package swarm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/wire"
)

// outcome is what became of a frame this worker sent.
type outcome int

const (
	lost     outcome = iota // the stream failed or the ack did not come in time
	busy                    // the receiver's queue was full
	rejected                // the receiver refused it (or handed it back)
)

func (o outcome) String() string {
	switch o {
	case busy:
		return "busy"
	case rejected:
		return "rejected"
	}
	return "lost"
}

// failure reports a frame that was not accepted, to the compute loop.
type failure struct {
	to      peer.ID
	typ     wire.Type // 0: the peer disconnected (every frame to it)
	mb      uint64
	outcome outcome
	reason  string
	frame   *wire.Frame // the frame, when known (a busy gradient is sent again)
}

type sent struct {
	f  *wire.Frame
	at time.Time
}

type frameKey struct {
	typ wire.Type
	mb  uint64
}

// sender owns this worker's one outgoing stream to a peer: frames are
// written back to back (no waiting for acks, which would cost a round trip
// per microbatch on a long path) and a reader matches the peer's replies.
type sender struct {
	w  *Worker
	to peer.ID

	mu      sync.Mutex
	queue   []*wire.Frame
	unacked map[frameKey]sent
	done    bool
	wake    chan struct{}
}

// send queues f for p, starting p's sender if there is none.
func (w *Worker) send(p peer.ID, f *wire.Frame) {
	if w.ctx.Err() != nil {
		return // closed
	}
	w.sendersMu.Lock()
	s := w.senders[p]
	if s == nil {
		s = &sender{w: w, to: p, unacked: map[frameKey]sent{}, wake: make(chan struct{}, 1)}
		w.senders[p] = s
		w.wg.Add(1)
		go s.run()
	}
	w.sendersMu.Unlock()
	s.mu.Lock()
	if s.done { // raced with its failure: report like a lost frame
		s.mu.Unlock()
		w.failures.push(failure{to: p, typ: f.Type, mb: f.Microbatch, outcome: lost, reason: "stream closed", frame: f})
		return
	}
	s.queue = append(s.queue, f)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run opens the stream and writes queued frames until the worker stops or
// the stream fails; then every frame not acknowledged is reported lost.
func (s *sender) run() {
	defer s.w.wg.Done()
	err := s.serve()
	s.w.sendersMu.Lock()
	if s.w.senders[s.to] == s {
		delete(s.w.senders, s.to)
	}
	s.w.sendersMu.Unlock()
	s.mu.Lock()
	s.done = true
	var failed []failure
	for _, u := range s.unacked {
		failed = append(failed, failure{to: s.to, typ: u.f.Type, mb: u.f.Microbatch, outcome: lost, reason: errString(err), frame: u.f})
	}
	for _, f := range s.queue {
		failed = append(failed, failure{to: s.to, typ: f.Type, mb: f.Microbatch, outcome: lost, reason: errString(err), frame: f})
	}
	s.queue, s.unacked = nil, nil
	s.mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) {
		level := slog.LevelWarn
		if len(failed) == 0 {
			level = slog.LevelDebug // nothing was in flight: a peer leaving
		}
		s.w.log.Log(context.Background(), level, "stream to peer failed", "peer", s.to, "err", err, "frames_lost", len(failed))
	}
	for _, f := range failed {
		s.w.failures.push(f)
	}
}

func errString(err error) string {
	if err == nil {
		return "worker stopped"
	}
	return err.Error()
}

func (s *sender) serve() error {
	ctx := s.w.ctx
	st, err := s.w.open(ctx, s.to)
	if err != nil {
		return err
	}
	var stream network.Stream = st
	if s.w.cfg.Link != (linkZero) {
		shaped, err := p2p.Shape(st, s.w.cfg.Link, s.w.cfg.Clock)
		if err != nil {
			_ = st.Reset()
			return err
		}
		stream = shaped
	}
	readErr := make(chan error, 1)
	go func() { readErr <- s.readReplies(stream) }()
	check := time.NewTicker(s.w.cfg.AckTimeout / 4)
	defer check.Stop()
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		now := time.Now()
		for _, f := range batch {
			s.unacked[frameKey{f.Type, f.Microbatch}] = sent{f: f, at: now}
		}
		var stale bool
		for _, u := range s.unacked {
			if now.Sub(u.at) > s.w.cfg.AckTimeout {
				stale = true
			}
		}
		s.mu.Unlock()
		if stale {
			_ = stream.Reset()
			return fmt.Errorf("peer %s: no ack within %v", s.to, s.w.cfg.AckTimeout)
		}
		for _, f := range batch {
			if err := stream.SetWriteDeadline(time.Now().Add(s.w.cfg.AckTimeout)); err != nil {
				_ = stream.Reset()
				return err
			}
			sf, err := s.w.signed(f, s.to)
			if err != nil {
				_ = stream.Reset()
				return fmt.Errorf("peer %s: signing the receipt of %v of microbatch %d: %w", s.to, f.Type, f.Microbatch, err)
			}
			if err := wire.Write(stream, sf); err != nil {
				_ = stream.Reset()
				return fmt.Errorf("peer %s: writing %v of microbatch %d: %w", s.to, f.Type, f.Microbatch, err)
			}
			f = sf
			s.w.frameBytes.Add(uint64(f.Size()))
			s.w.payloadBytes.Add(uint64(len(f.Body)))
			s.w.metrics.framesOut.WithLabelValues(f.Type.String()).Inc()
			s.w.metrics.bytesOut.WithLabelValues(f.Type.String()).Add(float64(f.Size()))
		}
		select {
		case <-ctx.Done():
			_ = stream.Reset()
			return ctx.Err()
		case err := <-readErr:
			_ = stream.Reset()
			return err
		case <-s.wake:
		case <-check.C:
		}
	}
}

// readReplies reads the peer's acks, busy and reject frames until the
// stream ends.
func (s *sender) readReplies(stream network.Stream) error {
	r := bufio.NewReader(stream)
	for {
		f, err := wire.Read(r, wire.HeaderSize+wire.MaxReason)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("peer %s closed the stream", s.to)
			}
			return fmt.Errorf("peer %s: reading replies: %w", s.to, err)
		}
		var orig *wire.Frame
		switch f.Type {
		case wire.Ack, wire.Busy, wire.Reject:
		default:
			return fmt.Errorf("peer %s: a %v frame as a reply", s.to, f.Type)
		}
		// A reply names the microbatch; the frame it answers is the one of
		// that microbatch in flight (a peer is sent either activations or
		// gradients, never both: it is the next stage or the previous).
		s.mu.Lock()
		for _, t := range []wire.Type{wire.Activations, wire.Gradients} {
			if u, ok := s.unacked[frameKey{t, f.Microbatch}]; ok {
				orig = u.f
				delete(s.unacked, frameKey{t, f.Microbatch})
			}
		}
		s.mu.Unlock()
		typ := wire.Activations // a reject after the ack: work handed back (shutdown)
		if orig != nil {
			typ = orig.Type
		}
		switch f.Type {
		case wire.Busy:
			s.w.failures.push(failure{to: s.to, typ: typ, mb: f.Microbatch, outcome: busy, frame: orig})
		case wire.Reject:
			s.w.failures.push(failure{to: s.to, typ: typ, mb: f.Microbatch, outcome: rejected, reason: string(f.Body), frame: orig})
		}
	}
}

// open connects to p (its roster addresses, or Config.Resolve) and opens a
// pipeline stream.
func (w *Worker) open(ctx context.Context, p peer.ID) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.AckTimeout)
	defer cancel()
	if w.cfg.Host.Network().Connectedness(p) != network.Connected {
		info := peer.AddrInfo{ID: p}
		if r := w.roster.Load(); r != nil {
			for _, m := range r.Members() {
				if m.Peer == p {
					info = m.AddrInfo()
				}
			}
		}
		if len(info.Addrs) == 0 && len(w.cfg.Host.Peerstore().Addrs(p)) == 0 && w.cfg.Resolve != nil {
			found, err := w.cfg.Resolve(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("peer %s: no address known: %w", p, err)
			}
			info = found
		}
		if err := w.cfg.Host.Connect(ctx, info); err != nil {
			return nil, fmt.Errorf("peer %s: connect: %w", p, err)
		}
	}
	st, err := w.cfg.Host.NewStream(ctx, p, wire.Protocol)
	if err != nil {
		return nil, fmt.Errorf("peer %s: open %s: %w", p, wire.Protocol, err)
	}
	return st, nil
}
