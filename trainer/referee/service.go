package referee

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Chain is what a referee reads from the chain (trainer/chain.Client).
type Chain interface {
	StageRoster(ctx context.Context, model uint64, stage uint32) ([]modelstypes.Replica, error)
	PendingAttestations(ctx context.Context, worker string, model uint64) ([]verifytypes.Attestation, error)
}

// Config configures a Service.
type Config struct {
	Host  host.Host
	Chain Chain
	// Model and Stage are the referee's own: it audits the other replicas of its stage.
	Model uint64
	Stage int
	// Self is the referee's operator, never audited.
	Self string
	// Microbatches are the model's microbatches per step.
	Microbatches int
	// NewStage builds a stage to replay on (the worker's spec, stage and optimizer, on a
	// deterministic backend), a fresh one for each audit.
	NewStage func() (*engine.Stage, error)
	Codec    boundary.Codec
	// Rate is the chance that a pending attestation of another replica is audited.
	Rate float64
	// Rand draws the audits (seeded by the caller).
	Rand *rand.Rand
	// Limit bounds a fetched log; Timeout a fetch.
	Limit   int64
	Timeout time.Duration
	Log     *slog.Logger
	Metrics prometheus.Registerer
}

// Outcome is one audit's result.
type Outcome struct {
	Worker      string
	Attestation uint64
	Report      Report
	// Err is why the audit could not run (the worker did not serve its log, say).
	Err error
}

// Service audits the other replicas of its stage: each round it reads their pending
// attestations, draws each new one with probability Rate, fetches the worker's replay log from
// the attestation's starting state (the state protocol; only a registered replica of the stage
// is served) and audits it against the attestation (its state root, its input digests, and the
// next attestation's state root when the log reaches it).
type Service struct {
	cfg        Config
	considered map[uint64]bool
	audits     *prometheus.CounterVec
	replayed   prometheus.Counter
}

// New makes a referee service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Host == nil || cfg.Chain == nil || cfg.NewStage == nil || cfg.Rand == nil:
		return nil, errors.New("referee: a host, the chain, a stage to replay on and a random source are required")
	case !(cfg.Rate > 0 && cfg.Rate <= 1):
		return nil, fmt.Errorf("referee: audit rate %v: want a fraction in (0, 1]", cfg.Rate)
	case cfg.Microbatches <= 0:
		return nil, fmt.Errorf("referee: %d microbatches a step", cfg.Microbatches)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Limit == 0 {
		cfg.Limit = 8 << 30
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	s := &Service{
		cfg: cfg, considered: map[uint64]bool{},
		audits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protolearn_trainer_audits_total",
			Help: "Audits of other replicas' attestations by replay, by outcome: pass, finding (the replay departs from what the worker committed), unavailable (no log served).",
		}, []string{"outcome"}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "protolearn_trainer_audit_updates_total",
			Help: "Updates of other replicas replayed by this referee.",
		}),
	}
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{s.audits, s.replayed} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("referee: metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Run audits every `every` until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Round(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("referee: a round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round considers every pending attestation of the stage's other replicas not considered
// before and audits those it draws.
func (s *Service) Round(ctx context.Context) ([]Outcome, error) {
	replicas, err := s.cfg.Chain.StageRoster(ctx, s.cfg.Model, uint32(s.cfg.Stage))
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, r := range replicas {
		if r.Operator == s.cfg.Self {
			continue
		}
		pending, err := s.cfg.Chain.PendingAttestations(ctx, r.Operator, s.cfg.Model)
		if err != nil {
			return out, err
		}
		slices.SortFunc(pending, func(a, b verifytypes.Attestation) int { return cmp.Compare(a.StepFrom, b.StepFrom) })
		for i, a := range pending {
			if s.considered[a.Id] || a.Stage != uint32(s.cfg.Stage) || len(a.StateRoot) != 32 {
				continue
			}
			s.considered[a.Id] = true
			if s.cfg.Rand.Float64() >= s.cfg.Rate {
				continue
			}
			var next *verifytypes.Attestation
			if i+1 < len(pending) {
				next = &pending[i+1]
			}
			o := s.Audit(ctx, r, a, next)
			out = append(out, o)
			s.record(o)
		}
	}
	return out, nil
}

func (s *Service) record(o Outcome) {
	log := s.cfg.Log.With("worker", o.Worker, "attestation", o.Attestation)
	switch {
	case o.Err != nil:
		s.audits.WithLabelValues("unavailable").Inc()
		log.Warn("referee: could not audit an attestation", "err", o.Err)
	case o.Report.Finding != nil:
		s.audits.WithLabelValues("finding").Inc()
		log.Error("referee: a replica's work does not replay", "update", o.Report.Finding.Update, "finding", o.Report.Finding.What,
			"updates_replayed", o.Report.Updates)
	default:
		s.audits.WithLabelValues("pass").Inc()
		log.Info("referee: a replica's attestation replays", "updates", o.Report.Updates, "claims", o.Report.Claims)
	}
	s.replayed.Add(float64(o.Report.Updates))
}

// Audit fetches r's replay log from attestation a's starting state and audits it against a
// (and next, the worker's following attestation, where the log reaches its starting state).
func (s *Service) Audit(ctx context.Context, r modelstypes.Replica, a verifytypes.Attestation, next *verifytypes.Attestation) Outcome {
	o := Outcome{Worker: r.Operator, Attestation: a.Id}
	p, err := peer.Decode(r.PeerId)
	if err != nil {
		o.Err = fmt.Errorf("peer id %q: %w", r.PeerId, err)
		return o
	}
	root := [32]byte(a.StateRoot)
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body, err := statesync.FetchLog(fctx, s.cfg.Host, p, s.cfg.Model, s.cfg.Stage, root, s.cfg.Limit)
	if err != nil {
		o.Err = err
		return o
	}
	segs, err := replaylog.DecodeBundle(body)
	if err != nil {
		o.Err = err
		return o
	}
	start, ok := updateFrom(segs, root)
	if !ok {
		o.Report.Finding = &Finding{What: fmt.Sprintf("the log it served holds no update from the attested state %s", short(root))}
		return o
	}
	among := map[[32]byte]bool{}
	for _, d := range a.InputDigests {
		if len(d) == 32 {
			among[[32]byte(d)] = true
		}
	}
	steps := a.StepTo - a.StepFrom + 1
	claims := []Claim{{Update: start, Root: root, Among: among, Span: steps * uint64(s.cfg.Microbatches)}}
	if next != nil && len(next.StateRoot) == 32 {
		if u, ok := updateFrom(segs, [32]byte(next.StateRoot)); ok {
			claims = append(claims, Claim{Update: u, Root: [32]byte(next.StateRoot)})
		}
	}
	// A fresh stage each time: one that replayed before holds state (optimizer moments
	// created by its updates) that a snapshot taken before any update does not overwrite.
	st, err := s.cfg.NewStage()
	if err != nil {
		o.Err = err
		return o
	}
	initial, err := checkpoint.StateRoot(st) // fresh: the stage's initial state
	if err != nil {
		o.Err = err
		return o
	}
	members := map[peer.ID]bool{}
	if replicas, err := s.cfg.Chain.StageRoster(ctx, s.cfg.Model, uint32(s.cfg.Stage)); err == nil {
		for _, r := range replicas {
			if id, err := peer.Decode(r.PeerId); err == nil {
				members[id] = true
			}
		}
	}
	o.Report, o.Err = Audit(st, s.cfg.Codec, segs, claims, Options{
		Limit: s.cfg.Limit, Model: s.cfg.Model, Stage: s.cfg.Stage, Replica: func(p peer.ID) bool { return members[p] }, Initial: initial,
	})
	return o
}

// updateFrom is the index of the update the worker logged root before.
func updateFrom(segs []replaylog.Segment, root [32]byte) (uint64, bool) {
	for _, sg := range segs {
		n := sg.First
		for _, ev := range sg.Events {
			if ev.Update == nil {
				continue
			}
			if ev.Update.Root == root {
				return n, true
			}
			n++
		}
	}
	return 0, false
}
