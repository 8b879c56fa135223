package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/discovery"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/statesync"
	"github.com/protolearn/protolearn/trainer/swarm"
)

// stateLimit bounds a stage state download.
const stateLimit = 8 << 30

// replicas are the other workers of the stage, in roster order.
func replicas(h host.Host, w *swarm.Worker, stage int) []peer.ID {
	return swarm.Replicas(w.Roster(), stage, h.ID())
}

// joinReplica downloads the stage's state from the first replica that
// answers, and returns what it served (signed: the replay log's anchor).
func joinReplica(ctx context.Context, h host.Host, w *swarm.Worker, model uint64, st *engine.Stage, log *slog.Logger) (*statesync.Joined, error) {
	peers := replicas(h, w, st.Info().Index)
	if len(peers) == 0 {
		return nil, fmt.Errorf("join: the roster lists no other worker of stage %d to download the state from", st.Info().Index)
	}
	var errs []error
	for _, p := range peers {
		jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		joined, err := statesync.Join(jctx, h, p, model, st, stateLimit)
		cancel()
		if err == nil {
			log.Info("joined: stage state downloaded", "from", p, "replica_updates", joined.Step)
			return &joined, nil
		}
		log.Warn("join: replica did not give its state", "peer", p, "err", err)
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("join: no replica of stage %d gave its state: %w", st.Info().Index, errors.Join(errs...))
}

// startAveraging averages parameters with the stage's replicas, one at a
// time in turn, every `every` updates, until stopped.
// mixed, when set, records each mix (the replay log).
func startAveraging(ctx context.Context, h host.Host, w *swarm.Worker, model uint64, stage int, every uint64, mixed func(statesync.Mix) error, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		next, turn := every, 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if w.Status().Updates < next {
				continue
			}
			next += every
			peers := replicas(h, w, stage)
			if len(peers) == 0 {
				continue
			}
			p := peers[turn%len(peers)]
			turn++
			actx, acancel := context.WithTimeout(ctx, time.Minute)
			err := statesync.AverageWith(actx, h, p, model, stage, w.Access, stateLimit, statesync.AverageWeight, mixed)
			acancel()
			if err != nil {
				log.Warn("averaging with a replica failed", "peer", p, "err", err)
				continue
			}
			log.Info("averaged parameters with a replica", "peer", p, "updates", w.Status().Updates)
		}
	}()
	return func() { cancel(); <-done }
}

// rosterPeers are the roster's members with addresses, this worker aside: the DHT's
// bootstrap peers when none are given.
func rosterPeers(ctx context.Context, src roster.Source, h host.Host) ([]peer.AddrInfo, error) {
	r, err := src.Roster(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	var out []peer.AddrInfo
	for _, m := range r.Members() {
		if m.Peer != h.ID() && len(m.Addrs) > 0 {
			out = append(out, m.AddrInfo())
		}
	}
	return out, nil
}

// startHeartbeats publishes the worker's status every interval until
// stopped, and once more at the end (Done for a finished stage 0).
func startHeartbeats(ctx context.Context, hb *discovery.Heartbeats, w *swarm.Worker, every time.Duration, log *slog.Logger) (stop func()) {
	publish := func(ctx context.Context) {
		s := w.Status()
		err := hb.Publish(ctx, discovery.Heartbeat{
			Stage: s.Stage, Step: s.Step, Updates: s.Updates, Queue: s.Queue, Throughput: s.Throughput, Loss: s.Loss, Done: s.Done,
		})
		if err != nil && ctx.Err() == nil {
			log.Debug("heartbeat not published", "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				publish(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		publish(pctx)
		pcancel()
	}
}

// startProgress logs the worker's status every interval until stopped.
func startProgress(ctx context.Context, w *swarm.Worker, log *slog.Logger, every time.Duration, tokensPerMB int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				s := w.Status()
				log.Info("progress", "step", s.Step, "updates", s.Updates, "completed", s.Completed, "pending", s.Pending,
					"queue", s.Queue, "mb_per_s", strconv.FormatFloat(s.Throughput, 'f', 2, 64),
					"tokens_per_s", int(s.Throughput*float64(tokensPerMB)), "loss", strconv.FormatFloat(s.Loss, 'f', 4, 64))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
