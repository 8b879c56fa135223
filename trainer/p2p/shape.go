package p2p

import (
	"context"
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/protolearn/protolearn/trainer/link"
)

// ShapedStream is a libp2p stream whose writes cross an emulated WAN path
// (trainer/link: bandwidth, latency, jitter, loss with retransmission
// delays) before they reach the real stream, so workers on one machine see
// the delays of the path and the benchmarks measure the real protocol over
// it. Reads are untouched: shape both ends' writes to shape both
// directions. Writes return once queued (like a socket's send buffer);
// back-pressure is the protocol's (acks and busy frames), not the shaper's.
type ShapedStream struct {
	network.Stream
	link   *link.Link
	cancel context.CancelFunc
	done   chan struct{} // closed when the pump has stopped

	mu  sync.Mutex
	err error // the pump's write error, returned by later writes
}

// Shape wraps s; clock nil is the wall clock.
func Shape(s network.Stream, cfg link.Config, clock link.Clock) (*ShapedStream, error) {
	l, err := link.New(cfg, clock)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ss := &ShapedStream{Stream: s, link: l, cancel: cancel, done: make(chan struct{})}
	go ss.pump(ctx)
	return ss, nil
}

// pump writes each message to the real stream when the path delivers it.
func (s *ShapedStream) pump(ctx context.Context) {
	defer close(s.done)
	for {
		msg, err := s.link.Recv(ctx)
		if err != nil {
			return // closed (everything delivered) or reset
		}
		if _, err := s.Stream.Write(msg); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			s.link.Close()
			return
		}
	}
}

// Write queues a copy of p on the path.
func (s *ShapedStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if _, err := s.link.Send(p); err != nil {
		if errors.Is(err, link.ErrClosed) {
			return 0, network.ErrReset
		}
		return 0, err
	}
	return len(p), nil
}

// Close delivers what is queued, then closes the stream.
func (s *ShapedStream) Close() error {
	s.link.Close()
	<-s.done
	s.cancel()
	return s.Stream.Close()
}

// CloseWrite delivers what is queued, then half-closes the stream.
func (s *ShapedStream) CloseWrite() error {
	s.link.Close()
	<-s.done
	s.cancel()
	return s.Stream.CloseWrite()
}

// Reset drops what is queued and resets the stream.
func (s *ShapedStream) Reset() error {
	s.cancel()
	s.link.Close()
	<-s.done
	return s.Stream.Reset()
}

// Stats are the path's counters (bytes, messages, retransmissions).
func (s *ShapedStream) Stats() link.Stats { return s.link.Stats() }
