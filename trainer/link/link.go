// Package link emulates the network between pipeline stages that run in one
// process (`trainer local`): a Link is a one-way, reliable, in-order message
// channel with a bandwidth, a one-way latency and a packet loss rate, so a
// local run sees the delays a wide-area path would impose.
//
// The model is a single TCP-like flow on a dedicated path:
//
//   - a message is cut into packets of MTU bytes and put on the wire after
//     the messages before it (the wire is busy len·8/bandwidth seconds per
//     message: serialization delay and queueing);
//   - each packet is lost with probability Loss, independently, and then
//     sent again after one round trip (2·Latency), taking wire time again,
//     until it gets through (fast retransmit; no congestion window);
//   - the message arrives Latency after its last packet left the wire, and
//     never before the message sent ahead of it (in-order delivery).
//
// Arrival times are computed when a message is sent, from a [Clock], so a
// test can drive a link with a fake clock and check the schedule exactly
// instead of measuring wall-clock time.
package link

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultMTU is the packet size of a link whose Config.MTU is 0: an Ethernet
// frame's TCP payload.
const DefaultMTU = 1460

// ErrClosed is returned by Send and Recv on a closed link.
var ErrClosed = errors.New("link: closed")

// Config describes a link's path. The zero value is an ideal link: unlimited
// bandwidth, no latency, no loss.
type Config struct {
	// Bandwidth in bits per second; 0 is unlimited.
	Bandwidth float64
	// Latency is the one-way propagation delay.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter) to each message's
	// propagation (queueing in routers along the path); messages still
	// arrive in order, so a message delayed more holds back the ones behind
	// it, as on a TCP stream.
	Jitter time.Duration
	// Loss is the probability that a packet is lost, in [0, 1).
	Loss float64
	// MTU is the packet size in bytes for loss; 0 is DefaultMTU.
	MTU int
	// Seed makes the losses and the jitter reproducible.
	Seed uint64
}

// Validate reports a config that cannot describe a path.
func (c Config) Validate() error {
	switch {
	case c.Bandwidth < 0 || math.IsNaN(c.Bandwidth) || math.IsInf(c.Bandwidth, 0):
		return fmt.Errorf("link: bandwidth %v bit/s: must be finite and ≥ 0 (0 means unlimited)", c.Bandwidth)
	case c.Latency < 0:
		return fmt.Errorf("link: latency %v must be ≥ 0", c.Latency)
	case c.Jitter < 0:
		return fmt.Errorf("link: jitter %v must be ≥ 0", c.Jitter)
	case !(c.Loss >= 0 && c.Loss < 1):
		return fmt.Errorf("link: loss %v must be in [0, 1)", c.Loss)
	case c.MTU < 0:
		return fmt.Errorf("link: MTU %d must be ≥ 0 (0 means %d)", c.MTU, DefaultMTU)
	}
	return nil
}

// String describes the path, e.g. "80 Mbit/s, 50ms, 0.1% loss".
func (c Config) String() string {
	bw := "unlimited"
	if c.Bandwidth > 0 {
		bw = fmt.Sprintf("%g Mbit/s", c.Bandwidth/1e6)
	}
	if c.Jitter > 0 {
		return fmt.Sprintf("%s, %v ± %v, %g%% loss", bw, c.Latency, c.Jitter, c.Loss*100)
	}
	return fmt.Sprintf("%s, %v, %g%% loss", bw, c.Latency, c.Loss*100)
}

// Clock is the time source of a link; [RealClock] outside tests.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives after d, and a stop function.
	NewTimer(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Stats are a link's counters since it was made.
type Stats struct {
	// Messages and Bytes sent (payload bytes, what the network carries).
	Messages, Bytes int64
	// Retransmits counts lost packets sent again.
	Retransmits int64
	// WireTime is the total time the wire was busy, retransmissions included.
	WireTime time.Duration
}

// Link is one direction of an emulated path. Send and Recv may be called from
// different goroutines; messages arrive in the order they were sent.
type Link struct {
	cfg   Config
	clock Clock

	mu       sync.Mutex
	rng      *rand.Rand
	queue    []message // sent, not yet received, arrival order
	wireFree time.Time // when the wire finishes the last message put on it
	last     time.Time // arrival of the last message sent
	stats    Stats
	closed   bool
	notify   chan struct{} // closed and replaced whenever queue or closed changes
}

type message struct {
	data    []byte
	arrival time.Time
}

// New makes a link with the given path, timed by clock (nil is RealClock).
func New(cfg Config, clock Clock) (*Link, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if clock == nil {
		clock = RealClock
	}
	return &Link{
		cfg: cfg, clock: clock,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x6c696e6b)),
		notify: make(chan struct{}),
	}, nil
}

// Config is the link's path.
func (l *Link) Config() Config { return l.cfg }

// Send puts a copy of msg on the link and returns at once with the time it
// will arrive; the sender may reuse msg.
func (l *Link) Send(msg []byte) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return time.Time{}, ErrClosed
	}
	now := l.clock.Now()
	start := now
	if l.wireFree.After(start) {
		start = l.wireFree // queued behind the messages before it
	}
	wire, lossDelay, retransmits := l.transmit(len(msg))
	l.wireFree = start.Add(wire)
	arrival := start.Add(wire + lossDelay + l.cfg.Latency)
	if l.cfg.Jitter > 0 {
		arrival = arrival.Add(time.Duration(l.rng.Int64N(int64(l.cfg.Jitter))))
	}
	if arrival.Before(l.last) {
		arrival = l.last // in order: a message never overtakes the one ahead
	}
	l.last = arrival
	l.queue = append(l.queue, message{data: append([]byte(nil), msg...), arrival: arrival})
	l.stats.Messages++
	l.stats.Bytes += int64(len(msg))
	l.stats.Retransmits += retransmits
	l.stats.WireTime += wire
	l.wake()
	return arrival, nil
}

// transmit is the wire time of n bytes with their retransmissions, the extra
// wait the losses add (a round trip each, serialized: a lost packet holds back
// the message until it is through), and the number of retransmissions.
func (l *Link) transmit(n int) (wire, lossDelay time.Duration, retransmits int64) {
	packets := max(1, (n+l.cfg.MTU-1)/l.cfg.MTU)
	if l.cfg.Loss > 0 {
		for range packets {
			for l.rng.Float64() < l.cfg.Loss {
				retransmits++
			}
		}
	}
	if l.cfg.Bandwidth > 0 {
		perByte := 8 / l.cfg.Bandwidth // seconds
		wire = seconds(float64(n) * perByte)
		if retransmits > 0 {
			pkt := float64(min(n, l.cfg.MTU)) * perByte
			wire += seconds(float64(retransmits) * pkt)
		}
	}
	lossDelay = time.Duration(retransmits) * 2 * l.cfg.Latency
	return wire, lossDelay, retransmits
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// Recv waits for the next message to arrive and returns it. It returns
// ctx's error if ctx ends first, and ErrClosed once the link is closed and
// every message sent before has been received.
func (l *Link) Recv(ctx context.Context) ([]byte, error) {
	for {
		l.mu.Lock()
		notify := l.notify
		if len(l.queue) == 0 {
			closed := l.closed
			l.mu.Unlock()
			if closed {
				return nil, ErrClosed
			}
			select {
			case <-notify:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		head := l.queue[0]
		wait := head.arrival.Sub(l.clock.Now())
		if wait <= 0 {
			l.queue[0] = message{}
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return head.data, nil
		}
		l.mu.Unlock()
		timer, stop := l.clock.NewTimer(wait)
		select {
		case <-timer:
		case <-notify: // closed, or the clock's timer must be re-armed
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		}
		stop()
	}
}

// Close stops the link: Send fails from now on, and Recv fails once the
// messages already sent are received. Closing twice is harmless.
func (l *Link) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.wake()
	}
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// wake tells waiting receivers that something changed; l.mu is held.
func (l *Link) wake() {
	close(l.notify)
	l.notify = make(chan struct{})
}

// Pair is the two directions between neighbouring stages: Forward carries
// activations downstream, Backward gradients upstream, each on its own wire
// (a full-duplex path), with the same path description and independent losses.
type Pair struct{ Forward, Backward *Link }

// NewPair makes both directions of a path.
func NewPair(cfg Config, clock Clock) (*Pair, error) {
	fwd, err := New(cfg, clock)
	if err != nil {
		return nil, err
	}
	back := cfg
	back.Seed = cfg.Seed ^ 0x9e3779b97f4a7c15
	bwd, err := New(back, clock)
	if err != nil {
		return nil, err
	}
	return &Pair{Forward: fwd, Backward: bwd}, nil
}

// Close closes both directions.
func (p *Pair) Close() {
	p.Forward.Close()
	p.Backward.Close()
}
