package attest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Chain is what the attester needs of the chain (trainer/chain implements it over gRPC; tests
// over an in-process app). Each call retries what is safe to retry; an error is final.
type Chain interface {
	// SubmitAttestation posts msg and returns the attestation id.
	SubmitAttestation(ctx context.Context, msg *verifytypes.MsgSubmitAttestation) (uint64, error)
	// RespondChallenge posts msg.
	RespondChallenge(ctx context.Context, msg *verifytypes.MsgRespondChallenge) error
	// OpenChallenges lists the open challenges to worker.
	OpenChallenges(ctx context.Context, worker string) ([]verifytypes.Challenge, error)
	// Attestation returns attestation id.
	Attestation(ctx context.Context, id uint64) (verifytypes.Attestation, error)
	// PendingAttestations lists worker's pending attestations on model.
	PendingAttestations(ctx context.Context, worker string, model uint64) ([]verifytypes.Attestation, error)
	// LastAttestedStep is the highest step worker attested on model (ok false: none).
	LastAttestedStep(ctx context.Context, worker string, model uint64) (step uint64, ok bool, err error)
}

// Config configures an Attester.
type Config struct {
	Chain Chain
	// ChainID is the chain the attestations go to: with the worker, model, stage and step it is
	// part of every root's binding (Owner).
	ChainID string
	// Worker is the operator address the attestations are for.
	Worker  string
	ModelID uint64
	Stage   uint32
	// Layers is the number of layers of the stage: a step's work units.
	Layers uint32
	// Period is how many steps one attestation covers (the chain's attestation_period).
	Period uint64
	// FirstStep is the chain step number of the first step this attester attests: one above the
	// last step the worker attested on this model (1 if none). The chain's model clock wants a
	// worker's steps contiguous, so the attester numbers the steps it attests one after another
	// when it sends them: a dropped tap takes no number, and a refused attestation's numbers go
	// to the next one.
	FirstStep uint64
	// TileWidth is T, the column block of the registered tile shapes.
	TileWidth int
	// Sends, when set, lists the payloads the worker's log records as signed between two of its
	// heads (the node's replaylog Log.Sends): each attestation commits those of its range
	// (x/verify MsgSubmitAttestation.sends), which its receivers' receipts are held to.
	Sends func(from, to [32]byte) ([]verifytypes.SentPayload, error)
	// Secret derives the commitment salts; it must survive restarts (the roots of stored
	// layers are recomputed from it to answer challenges).
	Secret []byte
	Store  *Store
	Prover *Prover
	// Sampled is stage 0's dataset (with Tables, on a compressed model): the attester then
	// commits each step's embedding and draw (NewEmbedLayer) and opens the challenged byte of
	// the dataset when an input challenge comes. nil on later stages.
	Sampled *Sampled
	// Tables are the model's compression tables (tile.NewTables from its seed, with the root
	// the model names), on a stage after the first of a compressed model: the attester then
	// derives each step's X from the received payload (NewDerivedLayer) and answers input
	// challenges. nil elsewhere.
	Tables *tile.Tables
	// Cheat, a test tool: the fraction of steps whose layer output and input gradient are faked
	// instead of computed, as a worker skipping work would. 0 for every honest worker.
	Cheat float64
	// CheatOwnInput, a test tool: the fraction of steps whose designated input is the worker's
	// own (random rows) instead of the one derived from the received payload, its outputs
	// computed honestly from it: every product tile proves, the input tile does not.
	CheatOwnInput float64
	Rand          *rand.Rand
	// Poll is how often open challenges and pending attestations are checked; Wake, when set,
	// triggers a check early (the chain's event subscription).
	Poll time.Duration
	Wake <-chan struct{}
	// MaxQueued bounds the batches committed and spooled on disk but not yet accepted by the
	// chain (a chain that is down, or a model clock that says wait): beyond it the commit loop
	// waits, and the steps that come meanwhile are dropped (Tap never blocks training). 0 means
	// DefaultMaxQueued.
	MaxQueued int
	// MaxProving bounds the challenges proved at once (each proof holds the tile's circuit in
	// memory: about 1.5 GB at the largest shape); the others wait for a slot, the nearest
	// deadline first. 2 by default.
	MaxProving int
	// HoldFull is how long a full batch waits for the next step to start (Started, or its tap)
	// before it is attested ending where its own last step did: a pipeline stalled between two
	// steps. Ending where the next step starts puts what the log holds between them (an
	// average) in the batch's range, so the next range follows it (x/verify log_gap: a range
	// that does not is paid a step less). 1 minute by default.
	HoldFull time.Duration
	// DoubtWindow is how long layers a previous process sent in an attestation whose fate it
	// never learnt stay set aside after Recover: a transaction still in a mempool may land until
	// its timeout (the chain takes unordered transactions up to 10 minutes ahead), and its
	// challenges must be answered. 10 minutes by default.
	DoubtWindow time.Duration
	Log         *slog.Logger
	Metrics     prometheus.Registerer
}

// DefaultMaxQueued is 64 attestations waiting for the chain: 512 steps at the default period, a
// few minutes of a fast pipeline, and at d_model 2048 with 256-row tiles about 6 GB of layers on
// disk.
const DefaultMaxQueued = 64

// Attester turns the designated-layer taps of training into attestations, keeps their layers on
// disk until they are final, and answers challenges with proofs.
type Attester struct {
	cfg  Config
	taps chan tapped
	// finish closes when no more taps will come: Run attests what it has and then returns once
	// every attestation is final.
	finish     chan struct{}
	finishOnce sync.Once

	// offset turns the commit loop's sequence numbers into the chain steps it commits for:
	// FirstStep at first, corrected by the submitter when the chain's numbers differ.
	offset atomic.Int64

	mu       sync.Mutex
	pending  map[uint64][2]uint64 // attestation id → its step range
	answered map[uint64]bool      // challenges answered or given up on
	inflight map[uint64]bool      // challenges being proved or sent
	// doubtUntil is when layers set aside by Recover may go, unless an attestation holds them.
	doubtUntil time.Time
	wg         sync.WaitGroup // the answering goroutines
	stats      Stats

	commitSeconds prometheus.Histogram
	events        *prometheus.CounterVec
}

// tapped is a step's tap, or (start) the news that step is starting, with the state root and
// log head there in input (Started): one channel keeps them in the order training made them.
type tapped struct {
	step  uint64
	tap   *engine.Tap
	input Input
	start bool
}

// Stats count what the attester did.
type Stats struct {
	Steps, Dropped, Attestations, Finalized, Voided uint64
	Answered, Unprovable                            uint64
	// ClockWaits counts the chain's "wait" refusals (pace, stage lead), each retried.
	ClockWaits uint64
	// CommitTime is the time spent quantizing, spooling, committing and saving layers.
	CommitTime time.Duration
}

// NewAttester checks cfg and returns an attester; Run starts it.
func NewAttester(cfg Config) (*Attester, error) {
	switch {
	case cfg.Chain == nil || cfg.Store == nil || cfg.Prover == nil:
		return nil, errors.New("attest: chain, store and prover are required")
	case cfg.Worker == "" || cfg.ChainID == "" || len(cfg.Secret) == 0:
		return nil, errors.New("attest: worker address, chain id and commitment secret are required")
	case cfg.Period == 0 || cfg.Layers == 0 || cfg.TileWidth <= 0:
		return nil, fmt.Errorf("attest: period %d, layers %d, tile width %d must be positive", cfg.Period, cfg.Layers, cfg.TileWidth)
	case cfg.Cheat < 0 || cfg.Cheat > 1 || cfg.CheatOwnInput < 0 || cfg.CheatOwnInput > 1:
		return nil, fmt.Errorf("attest: cheat fractions %v, %v outside [0, 1]", cfg.Cheat, cfg.CheatOwnInput)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.MaxProving <= 0 {
		cfg.MaxProving = 2
	}
	if cfg.DoubtWindow <= 0 {
		cfg.DoubtWindow = 10 * time.Minute
	}
	if cfg.HoldFull <= 0 {
		cfg.HoldFull = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if cfg.FirstStep == 0 {
		return nil, errors.New("attest: the first step is 1 or above")
	}
	a := &Attester{
		cfg: cfg, taps: make(chan tapped, 8*cfg.Period), finish: make(chan struct{}), // a tap and a start a step
		pending: map[uint64][2]uint64{}, answered: map[uint64]bool{}, inflight: map[uint64]bool{},
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "protolearn_attest_commit_seconds", Help: "Time to quantize, commit and store one step's designated layer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protolearn_attest_events_total", Help: "Attester events: steps, dropped, attestations, clock_waits, finalized, voided, answered, unprovable.",
		}, []string{"event"}),
	}
	a.offset.Store(int64(cfg.FirstStep))
	if err := promserve.Register(cfg.Metrics, "attest", a.commitSeconds, a.events); err != nil {
		return nil, err
	}
	return a, nil
}

// Tap hands over the designated layer of local step; it never blocks the training loop: when
// the attester is behind, the step is dropped (and not attested) with a warning.
// input is the receipt of the tapped microbatch's input boundary tensor (none on stage 0), which
// the step's commitment carries, with the payload it names.
func (a *Attester) Tap(step uint64, t *engine.Tap, input Input) {
	select {
	case a.taps <- tapped{step: step, tap: t, input: input}:
	default:
		a.count("dropped", func(s *Stats) { s.Dropped++ })
		a.cfg.Log.Warn("attester behind; step not attested", "local_step", step)
	}
}

// Started says local step is about to start from state root and log head head (swarm
// Config.OnStepStart): a full batch whose last step is the one before ends there. It never
// blocks; dropped when the attester is behind (the step's tap says the same, later).
func (a *Attester) Started(step uint64, root, head [32]byte) {
	select {
	case a.taps <- tapped{step: step, input: Input{StateRoot: root, LogHead: head}, start: true}:
	default:
	}
}

// Behind reports that the attester has more than half its room for taps in use: a stage 0 that
// keeps drawing then would soon have steps dropped (swarm.Config.Hold).
func (a *Attester) Behind() bool { return len(a.taps) > cap(a.taps)/2 }

// Stats returns a snapshot of the counters.
func (a *Attester) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

func (a *Attester) count(event string, f func(*Stats)) {
	a.mu.Lock()
	f(&a.stats)
	a.mu.Unlock()
	a.events.WithLabelValues(event).Inc()
}

// Finish says no more taps will come: Run attests the steps committed so far, keeps answering
// challenges until every attestation is final, and returns.
func (a *Attester) Finish() { a.finishOnce.Do(func() { close(a.finish) }) }

// Recover picks up after a restart: the stored layers of the worker's pending attestations are
// kept (and their challenges answered); those of steps beyond the worker's last attested step
// are set aside for DoubtWindow (an attestation sent before the stop may still land: its
// challenges are answered from them, Store.LoadDoubt); every other stored layer (of final or
// void attestations) is deleted.
func (a *Attester) Recover(ctx context.Context) error {
	pending, err := a.cfg.Chain.PendingAttestations(ctx, a.cfg.Worker, a.cfg.ModelID)
	if err != nil {
		return err
	}
	last, _, err := a.cfg.Chain.LastAttestedStep(ctx, a.cfg.Worker, a.cfg.ModelID)
	if err != nil {
		return err
	}
	if err := a.cfg.Store.DropLeftovers(); err != nil {
		return err
	}
	steps, err := a.cfg.Store.Steps()
	if err != nil {
		return err
	}
	keep := func(step uint64) bool {
		for _, p := range pending {
			if step >= p.StepFrom && step <= p.StepTo {
				return true
			}
		}
		return false
	}
	doubted := 0
	for _, st := range steps {
		switch {
		case keep(st):
		case st > last:
			if err := a.cfg.Store.Doubt(st); err != nil {
				return err
			}
			doubted++
		default:
			if err := a.cfg.Store.Delete(st, st); err != nil {
				return err
			}
		}
	}
	if doubted > 0 {
		a.cfg.Log.Warn("layers of steps sent before the stop but not on chain are kept aside: the attestation may still land", "steps", doubted, "for", a.cfg.DoubtWindow)
	}
	a.mu.Lock()
	for _, p := range pending {
		a.pending[p.Id] = [2]uint64{p.StepFrom, p.StepTo}
	}
	a.doubtUntil = time.Now().Add(a.cfg.DoubtWindow)
	a.mu.Unlock()
	if len(pending) > 0 {
		a.cfg.Log.Info("recovered pending attestations", "count", len(pending))
	}
	return nil
}

// Run commits and attests taps and answers challenges until ctx ends, or, after Finish, until
// every attestation is final. When ctx ends it still attests the steps already committed (with
// a short grace period): a restarted trainer answers their challenges from the stored layers.
func (a *Attester) Run(ctx context.Context) error {
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.watch(wctx)
	}()
	err := a.commitLoop(ctx)
	if ctx.Err() == nil {
		// Finished: wait for the verdicts, answering challenges meanwhile.
		for a.pendingCount() > 0 && ctx.Err() == nil {
			_ = sleepCtx(ctx, a.cfg.Poll)
		}
	}
	stopWatch()
	wg.Wait()
	a.wg.Wait()
	return err
}

func (a *Attester) pendingCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
