package node

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/serving"
)

// startServing serves inference from a copy of the stage's weights, on the worker's host and
// backend, and refreshes the copy every Serve.Refresh until Close.
func (n *Node) startServing(ctx context.Context, reg prometheus.Registerer) error {
	w := n.worker.Load()
	st, err := n.servingCopy(ctx, w.Access)
	if err != nil {
		return err
	}
	srv, err := infer.Serve(infer.ServerConfig{
		Host: n.host, Model: n.cfg.Model, Stage: st, MaxSessions: n.cfg.Serve.MaxSessions, Log: n.log, Metrics: reg,
	})
	if err != nil {
		return err
	}
	n.closers = append(n.closers, srv.Close)
	n.served.Store(srv)
	n.log.Info("serving inference", "protocol", infer.Protocol)
	every := n.cfg.Serve.Refresh
	if every == 0 {
		every = 5 * time.Minute
	}
	done := make(chan struct{})
	n.closers = append(n.closers, func() { <-done }) // after n.life ends: the refresh has stopped
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-n.life.Done():
				return
			case <-t.C:
			}
			st, err := n.servingCopy(n.life, w.Access)
			if err != nil {
				if n.life.Err() == nil {
					n.log.Warn("serving copy not refreshed", "err", err)
				}
				continue
			}
			if err := srv.Swap(st); err != nil {
				n.log.Error("serving copy", "err", err)
			}
		}
	}()
	return nil
}

// servingCopy copies the stage's weights between two steps (it polls until the worker is
// between them).
func (n *Node) servingCopy(ctx context.Context, access func(context.Context, func(*engine.Stage, uint64) error) error) (*engine.Stage, error) {
	for {
		var cp *engine.Stage
		err := access(ctx, func(st *engine.Stage, updates uint64) error {
			if st.Accumulated() > 0 {
				return errMidStep
			}
			var err error
			cp, err = serving.Copy(st.Backend(), st, updates)
			return err
		})
		if !errors.Is(err, errMidStep) {
			return cp, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
