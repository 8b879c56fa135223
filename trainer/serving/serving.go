// Package serving is a stage's inference service in a process: the serving copy of a stage's
// weights (Copy), refreshed from a training worker's stage (package node, `trainer run
// --serve`), or a serve-only process that loads a finished stage from its checkpoint (Server,
// `trainer serve`). Both serve package infer's protocol.
//
// Serving and training share the process and its backend (the GPU, when there is one):
// inference runs on a copy of the parameters without optimizer state (about a third of what
// training holds for the stage), so training never waits for a session and a session never
// sees weights change under its cache; a refreshed copy serves the sessions opened after it.
package serving

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/gomlx/compute"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/forkseed"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Copy is a serving copy of st's parameters on be: a new stage that inference may run while st
// trains. st must be between steps (no accumulated gradients) and not in use by anyone else
// during the call.
func Copy(be compute.Backend, st *engine.Stage, step uint64) (*engine.Stage, error) {
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, st, step, checkpoint.Params); err != nil {
		return nil, err
	}
	return fromStream(be, st.Spec(), st.Info().Index, &buf, int64(buf.Len()))
}

func fromStream(be compute.Backend, s spec.Spec, index int, r io.Reader, limit int64) (*engine.Stage, error) {
	cp, err := engine.New(be, s, index, engine.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := checkpoint.Read(r, cp, limit); err != nil {
		return nil, err
	}
	return cp, nil
}

// Config is a serve-only process: one stage of a model, its weights from a checkpoint.
type Config struct {
	Model uint64
	Spec  spec.Spec
	Stage int
	// Checkpoint is the stage's checkpoint file (trainer run --out writes stage-N.ckpt); empty
	// serves the model's initial weights (benchmarks, tests).
	Checkpoint string
	// Key is the libp2p identity: on chain, the worker's registered peer id, which the stage
	// roster lists and gateways dial.
	Key              crypto.PrivKey
	Listen, Announce []string
	Backend          string
	// MaxSessions and MaxBatch bound the server (infer.ServerConfig).
	MaxSessions, MaxBatch int
	// Link shapes the replies as an emulated WAN path (benchmarks, tests).
	Link        link.Config
	MetricsAddr string
	Log         *slog.Logger
	// ForkSeeds, when set, also serves the checkpoint's parameters to the replicas of the
	// same stage of the model's forks that start from them (package forkseed): it returns an
	// error for a peer that may not have them (chain.Client.ForkSeated). A finished model's
	// trainers have left; its serving processes are where a fork starts from.
	ForkSeeds func(ctx context.Context, p peer.ID, root [32]byte) error
}

// Server is a serve-only process.
type Server struct {
	host    host.Host
	srv     *infer.Server
	metrics *promserve.Server
	closers []func()
	log     *slog.Logger
}

// New loads the stage and starts serving it.
func New(cfg Config) (_ *Server, err error) {
	if cfg.Key == nil {
		return nil, errors.New("serving: no identity key: the roster names the worker by its peer id")
	}
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.Stage < 0 || cfg.Stage >= len(cfg.Spec.Stages) {
		return nil, fmt.Errorf("stage %d: one of 0…%d", cfg.Stage, len(cfg.Spec.Stages)-1)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: cfg.Log.With("stage", cfg.Stage)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	be, err := backend.New(cfg.Backend)
	if err != nil {
		return nil, fmt.Errorf("--backend: %w", err)
	}
	s.closers = append(s.closers, be.Finalize)
	st, err := engine.New(be, cfg.Spec, cfg.Stage, engine.Options{})
	if err != nil {
		return nil, err
	}
	step := uint64(0)
	if cfg.Checkpoint != "" {
		if step, err = checkpoint.Load(cfg.Checkpoint, st); err != nil {
			return nil, fmt.Errorf("--checkpoint: %w", err)
		}
	}
	root, err := checkpoint.WeightsRoot(st)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if s.host, err = p2p.New(p2p.Config{Key: cfg.Key, Listen: cfg.Listen, Announce: cfg.Announce, Metrics: reg}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.host.Close() })
	if s.srv, err = infer.Serve(infer.ServerConfig{
		Host: s.host, Model: cfg.Model, Stage: st, MaxSessions: cfg.MaxSessions, MaxBatch: cfg.MaxBatch, Link: cfg.Link, Log: s.log, Metrics: reg,
	}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.srv.Close)
	if cfg.ForkSeeds != nil && cfg.Checkpoint != "" {
		seeds, err := forkseed.Serve(forkseed.ServerConfig{
			Host: s.host, Model: cfg.Model, Stage: cfg.Stage, Authorize: cfg.ForkSeeds, Log: s.log, Concurrent: 1,
			Source: func(r [32]byte) ([]byte, bool, error) {
				if r != root {
					return nil, false, nil
				}
				// Read again from the file, on a stage of its own: the served one is in use,
				// and a fork's request is rare enough not to keep a second copy in memory.
				cp, err := engine.New(be, cfg.Spec, cfg.Stage, engine.Options{})
				if err != nil {
					return nil, false, err
				}
				if _, err := checkpoint.Load(cfg.Checkpoint, cp); err != nil {
					return nil, false, err
				}
				var b bytes.Buffer
				if err := checkpoint.Write(&b, cp, step, checkpoint.Params); err != nil {
					return nil, false, err
				}
				return b.Bytes(), true, nil
			},
		})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, seeds.Close)
	}
	if cfg.MetricsAddr != "" {
		if s.metrics, err = promserve.Serve(cfg.MetricsAddr, reg); err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		s.closers = append(s.closers, s.metrics.Close)
	}
	s.log.Info("serving", "model", cfg.Model, "peer", s.host.ID(), "addrs", fmt.Sprint(s.host.Addrs()), "step", step,
		"weights_root", fmt.Sprintf("%x", root), "protocol", infer.Protocol)
	return s, nil
}

// ID is the server's peer id.
func (s *Server) ID() peer.ID { return s.host.ID() }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.log.Info("stopping", "sessions", s.srv.Sessions())
	return nil
}

// Close stops serving.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
