package link

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is the package's ManualClock under the tests' old name.
type fakeClock = ManualClock

func newFakeClock() *fakeClock { return NewManualClock() }

func TestIdealLink(t *testing.T) {
	clock := newFakeClock()
	l, err := New(Config{}, clock)
	require.NoError(t, err)
	msg := []byte("activations")
	at, err := l.Send(msg)
	require.NoError(t, err)
	require.Equal(t, clock.Now(), at)
	msg[0] = 'X' // the link keeps its own copy
	got, err := l.Recv(context.Background())
	require.NoError(t, err)
	require.Equal(t, "activations", string(got))
	require.Equal(t, Stats{Messages: 1, Bytes: 11}, l.Stats())
}

// TestSchedule checks serialization delay, queueing behind earlier messages
// and latency: 80 Mbit/s moves 10 MB/s.
func TestSchedule(t *testing.T) {
	clock := newFakeClock()
	t0 := clock.Now()
	l, err := New(Config{Bandwidth: 80e6, Latency: 50 * time.Millisecond}, clock)
	require.NoError(t, err)

	a1, err := l.Send(make([]byte, 1_000_000)) // wire 100 ms
	require.NoError(t, err)
	require.Equal(t, t0.Add(150*time.Millisecond), a1)
	a2, err := l.Send(make([]byte, 500_000)) // queued: wire from 100 to 150 ms
	require.NoError(t, err)
	require.Equal(t, t0.Add(200*time.Millisecond), a2)

	clock.Advance(time.Second) // the wire is idle again
	a3, err := l.Send(make([]byte, 10_000))
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Second+time.Millisecond+50*time.Millisecond), a3)
	require.Equal(t, 151*time.Millisecond, l.Stats().WireTime)
}

func TestRecvWaitsForArrival(t *testing.T) {
	clock := newFakeClock()
	l, err := New(Config{Bandwidth: 8e6, Latency: 10 * time.Millisecond}, clock)
	require.NoError(t, err)
	_, err = l.Send(make([]byte, 1000)) // 1 ms on the wire + 10 ms
	require.NoError(t, err)

	done := make(chan []byte)
	go func() {
		m, err := l.Recv(context.Background())
		if err == nil {
			done <- m
		}
		close(done)
	}()
	clock.Advance(10 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("received before the message arrived")
	case <-time.After(20 * time.Millisecond):
	}
	clock.Advance(time.Millisecond)
	m, ok := <-done
	require.True(t, ok)
	require.Len(t, m, 1000)
}

// TestJitter: each message's delay is latency plus [0, jitter), drawn
// reproducibly from the seed, never reordering; spaced-out messages (no
// in-order hold-back) spread over the jitter range.
func TestJitter(t *testing.T) {
	cfg := Config{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 3}
	run := func(gap time.Duration) []time.Duration {
		c := newFakeClock()
		l, err := New(cfg, c)
		require.NoError(t, err)
		var delays []time.Duration
		var last time.Time
		for range 200 {
			at, err := l.Send([]byte("x"))
			require.NoError(t, err)
			require.False(t, at.Before(last), "reordered")
			last = at
			delays = append(delays, at.Sub(c.Now()))
			c.Advance(gap)
		}
		return delays
	}
	spaced := run(time.Second)
	require.Equal(t, spaced, run(time.Second), "same seed, same delays")
	lo, hi := spaced[0], spaced[0]
	for _, d := range spaced {
		require.GreaterOrEqual(t, d, cfg.Latency)
		require.Less(t, d, cfg.Latency+cfg.Jitter)
		lo, hi = min(lo, d), max(hi, d)
	}
	require.Greater(t, hi-lo, cfg.Jitter/2, "delays should spread over the jitter range")
	for _, d := range run(0) { // back to back: held behind the slowest before them
		require.GreaterOrEqual(t, d, cfg.Latency)
		require.Less(t, d, cfg.Latency+cfg.Jitter)
	}
}

func TestLossIsReproducibleAndInOrder(t *testing.T) {
	cfg := Config{Bandwidth: 100e6, Latency: 20 * time.Millisecond, Loss: 0.3, Seed: 7}
	run := func() ([]time.Time, Stats) {
		l, err := New(cfg, newFakeClock())
		require.NoError(t, err)
		var arrivals []time.Time
		for i := range 50 {
			at, err := l.Send(make([]byte, 1+i*997%20000))
			require.NoError(t, err)
			arrivals = append(arrivals, at)
		}
		return arrivals, l.Stats()
	}
	a, sa := run()
	b, sb := run()
	require.Equal(t, a, b, "same seed, same schedule")
	require.Equal(t, sa, sb)
	for i := 1; i < len(a); i++ {
		require.False(t, a[i].Before(a[i-1]), "message %d overtakes %d", i, i-1)
	}
	// Expected retransmissions: packets·p/(1−p).
	packets := 0
	for i := range 50 {
		packets += max(1, (1+i*997%20000+DefaultMTU-1)/DefaultMTU)
	}
	want := float64(packets) * 0.3 / 0.7
	require.InDelta(t, want, float64(sa.Retransmits), want/2, "%d packets", packets)

	lossless := cfg
	lossless.Loss = 0
	l, err := New(lossless, newFakeClock())
	require.NoError(t, err)
	_, err = l.Send(make([]byte, 100_000))
	require.NoError(t, err)
	require.Zero(t, l.Stats().Retransmits)
}

func TestCloseAndCancel(t *testing.T) {
	clock := newFakeClock()
	l, err := New(Config{Latency: time.Second}, clock)
	require.NoError(t, err)
	_, err = l.Send([]byte("last"))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Recv(ctx)
	require.ErrorIs(t, err, context.Canceled)

	l.Close()
	l.Close()
	_, err = l.Send([]byte("late"))
	require.ErrorIs(t, err, ErrClosed)
	clock.Advance(time.Second)
	m, err := l.Recv(context.Background()) // sent before Close: still delivered
	require.NoError(t, err)
	require.Equal(t, "last", string(m))
	_, err = l.Recv(context.Background())
	require.ErrorIs(t, err, ErrClosed)

	// Close wakes a receiver waiting on an empty link.
	empty, err := New(Config{}, clock)
	require.NoError(t, err)
	errc := make(chan error)
	go func() {
		_, err := empty.Recv(context.Background())
		errc <- err
	}()
	empty.Close()
	require.True(t, errors.Is(<-errc, ErrClosed))
}

func TestConfigValidate(t *testing.T) {
	for want, cfg := range map[string]Config{
		"bandwidth -1":   {Bandwidth: -1},
		"latency -1s":    {Latency: -time.Second},
		"loss 1 must be": {Loss: 1},
		"loss -0.1":      {Loss: -0.1},
		"MTU -5":         {MTU: -5},
	} {
		_, err := New(cfg, nil)
		require.ErrorContains(t, err, want)
	}
	require.Equal(t, "80 Mbit/s, 50ms, 0.1% loss", Config{Bandwidth: 80e6, Latency: 50 * time.Millisecond, Loss: 0.001}.String())
	require.Equal(t, "unlimited, 0s, 0% loss", Config{}.String())
	require.Equal(t, "unlimited, 50ms ± 5ms, 0% loss", Config{Latency: 50 * time.Millisecond, Jitter: 5 * time.Millisecond}.String())
	require.Error(t, Config{Jitter: -1}.Validate())
}

func TestPairRealClock(t *testing.T) {
	p, err := NewPair(Config{Bandwidth: 1e9, Latency: time.Millisecond, Seed: 1}, nil)
	require.NoError(t, err)
	defer p.Close()
	_, err = p.Forward.Send([]byte("x"))
	require.NoError(t, err)
	_, err = p.Backward.Send([]byte("dx"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := p.Forward.Recv(ctx)
	require.NoError(t, err)
	b, err := p.Backward.Recv(ctx)
	require.NoError(t, err)
	require.Equal(t, "x", string(f))
	require.Equal(t, "dx", string(b))
	require.NotEqual(t, p.Forward.Config().Seed, p.Backward.Config().Seed)
}
