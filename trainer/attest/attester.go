package attest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/engine"
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
	// Secret derives the commitment salts; it must survive restarts (the roots of stored
	// layers are recomputed from it to answer challenges).
	Secret []byte
	Store  *Store
	Prover *Prover
	// Cheat, a test tool: the fraction of steps whose layer output and input gradient are faked
	// instead of computed, as a worker skipping work would. 0 for every honest worker.
	Cheat float64
	Rand  *rand.Rand
	// Poll is how often open challenges and pending attestations are checked; Wake, when set,
	// triggers a check early (the chain's event subscription).
	Poll time.Duration
	Wake <-chan struct{}
	// MaxQueued bounds the batches committed and spooled on disk but not yet accepted by the
	// chain (a chain that is down, or a model clock that says wait): beyond it the commit loop
	// waits, and the steps that come meanwhile are dropped (Tap never blocks training). 0 means
	// DefaultMaxQueued.
	MaxQueued int
	Log       *slog.Logger
	Metrics   prometheus.Registerer
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
	wg       sync.WaitGroup       // the answering goroutines
	stats    Stats

	commitSeconds prometheus.Histogram
	events        *prometheus.CounterVec
}

type tapped struct {
	step uint64
	tap  *engine.Tap
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
	case cfg.Cheat < 0 || cfg.Cheat > 1:
		return nil, fmt.Errorf("attest: cheat fraction %v outside [0, 1]", cfg.Cheat)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
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
		cfg: cfg, taps: make(chan tapped, 4*cfg.Period), finish: make(chan struct{}),
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
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{a.commitSeconds, a.events} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("attest: metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Tap hands over the designated layer of local step; it never blocks the training loop: when
// the attester is behind, the step is dropped (and not attested) with a warning.
func (a *Attester) Tap(step uint64, t *engine.Tap) {
	select {
	case a.taps <- tapped{step: step, tap: t}:
	default:
		a.count("dropped", func(s *Stats) { s.Dropped++ })
		a.cfg.Log.Warn("attester behind; step not attested", "local_step", step)
	}
}

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
// kept (and their challenges answered), every other stored layer is deleted.
func (a *Attester) Recover(ctx context.Context) error {
	pending, err := a.cfg.Chain.PendingAttestations(ctx, a.cfg.Worker, a.cfg.ModelID)
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
	for _, st := range steps {
		if !keep(st) {
			if err := a.cfg.Store.Delete(st, st); err != nil {
				return err
			}
		}
	}
	a.mu.Lock()
	for _, p := range pending {
		a.pending[p.Id] = [2]uint64{p.StepFrom, p.StepTo}
	}
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

// batch is a run of spooled layers (the attester's sequence numbers first…first+n−1), committed
// for the steps from…from+n−1 that the attester expects the chain to give them.
type batch struct {
	first, from uint64
	rows        int
	roots       []verifytypes.StepCommitment
	// resyncs counts the times the batch was renumbered to follow the chain.
	resyncs int
}

func (b batch) n() int { return len(b.roots) }

// commitLoop commits and spools taps as they come and hands full batches to the submitter, so
// that a slow chain never holds up committing (and so never makes Tap drop steps).
func (a *Attester) commitLoop(ctx context.Context) error {
	submits := make(chan batch, a.cfg.MaxQueued)
	done := make(chan struct{})
	subCtx, cancelSub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSub()
	go func() {
		defer close(done)
		sub := a.newSubmitter()
		for b := range submits {
			sub.submit(subCtx, b)
		}
	}()
	var b batch
	var seq uint64
	flush := func() {
		if b.n() > 0 {
			submits <- b
		}
		b = batch{}
	}
	drain := func() {
		for {
			select {
			case t := <-a.taps:
				a.commitTap(&b, &seq, t, flush)
			default:
				flush()
				return
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			// Attest what is committed, with a little time of its own.
			drain()
			close(submits)
			t := time.AfterFunc(15*time.Second, cancelSub)
			<-done
			t.Stop()
			return nil
		case <-a.finish:
			drain()
			close(submits)
			<-done
			return nil
		case t := <-a.taps:
			a.commitTap(&b, &seq, t, flush)
		}
	}
}

// commitTap commits one step's layer for the step the attester expects it to get (sequence
// number + offset: contiguous from FirstStep unless the submitter corrected it) and spools it
// into batch b.
func (a *Attester) commitTap(b *batch, seq *uint64, t tapped, flush func()) {
	if b.n() > 0 && t.tap.Rows != b.rows {
		flush() // another tile shape: attest the run before it
	}
	step := uint64(int64(*seq) + a.offset.Load())
	start := time.Now()
	roots, err := a.commitStep(*seq, step, t.tap)
	if err != nil {
		a.count("dropped", func(s *Stats) { s.Dropped++ })
		a.cfg.Log.Warn("step not attested", "local_step", t.step, "err", err)
		return
	}
	d := time.Since(start)
	a.commitSeconds.Observe(d.Seconds())
	a.count("steps", func(s *Stats) { s.Steps++; s.CommitTime += d })
	if b.n() == 0 {
		b.first, b.from, b.rows = *seq, step, t.tap.Rows
	}
	*seq++
	b.roots = append(b.roots, roots)
	if uint64(b.n()) == a.cfg.Period {
		flush()
	}
}

// commitStep quantizes, commits (for step) and spools (as seq) one step's layer. The output
// gradient is scaled by a power of two so that its largest value uses the format's range
// (gradients are far below one ULP of 2^-8 otherwise); the scale is private, since only
// consistency is checked.
func (a *Attester) commitStep(seq, step uint64, t *engine.Tap) (verifytypes.StepCommitment, error) {
	dy := ScaleToRange(t.DY, 32)
	l, err := NewLayer(step, t.Rows, t.D, t.X, t.W, dy)
	if err != nil {
		return verifytypes.StepCommitment{}, err
	}
	if a.cfg.Cheat > 0 && a.cfg.Rand.Float64() < a.cfg.Cheat {
		l.Fake(a.cfg.Rand)
		a.cfg.Log.Debug("cheating: faked the designated layer", "step", step)
	}
	c, err := Commit(a.cfg.Secret, a.owner(), l)
	if err != nil {
		return verifytypes.StepCommitment{}, err
	}
	if err := a.cfg.Store.Spool(seq, l); err != nil {
		return verifytypes.StepCommitment{}, err
	}
	return c.Roots(), nil
}

// ScaleToRange multiplies v by the power of two that brings its largest magnitude closest to,
// without exceeding, limit (v itself when it is all zeros).
func ScaleToRange(v []float32, limit float64) []float32 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	if m == 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return v
	}
	s := float32(math.Exp2(math.Floor(math.Log2(limit / m))))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * s
	}
	return out
}

// submitter hands batches to the chain in order. A worker's steps must be contiguous on chain,
// and roots are bound to their step numbers, so the commit loop commits each step for the number
// it expects the step to get; the submitter stores the layers under those numbers when the
// expectation holds, and commits them again under the right ones when it does not. A refusal of
// the model clock (the worker's pace, or its stage ahead of a neighbour:
// verifytypes.IsClockWait) passes with time, so the batch is sent again, with a growing wait,
// until it lands or ctx ends. A refusal that says the chain expects other step numbers (an
// attestation of this worker landed that the attester did not count) renumbers the batch to
// follow the chain and sends it again. Any other refusal drops the batch, and its numbers go to
// the next one.
type submitter struct {
	a *Attester
	// expect is the step the next attestation starts at.
	expect uint64
	// wait is the first wait after a clock refusal; it doubles up to maxWait.
	wait, maxWait time.Duration
}

func (a *Attester) newSubmitter() *submitter {
	return &submitter{a: a, expect: a.cfg.FirstStep, wait: a.cfg.Poll, maxWait: 16 * a.cfg.Poll}
}

func (s *submitter) submit(ctx context.Context, b batch) {
	a := s.a
	if err := s.place(&b); err != nil {
		a.count("dropped", func(st *Stats) { st.Dropped += uint64(b.n()) })
		a.cfg.Log.Error("storing committed steps; they are dropped", "err", err)
		return
	}
	msg := a.message(b)
	wait := s.wait
	for {
		id, err := a.cfg.Chain.SubmitAttestation(ctx, msg)
		from, to := msg.StepFrom, msg.StepTo
		if err == nil {
			s.expect = to + 1
			a.mu.Lock()
			a.pending[id] = [2]uint64{from, to}
			a.mu.Unlock()
			a.count("attestations", func(s *Stats) { s.Attestations++ })
			a.cfg.Log.Info("attestation submitted", "id", id, "steps", fmt.Sprintf("%d..%d", from, to), "work_units", msg.WorkUnits)
			return
		}
		if ctx.Err() != nil {
			// Stopping: whether it landed is unknown, so its layers stay for a restart (which
			// keeps those of pending attestations and deletes the rest).
			a.cfg.Log.Warn("stopped before the attestation was confirmed", "steps", fmt.Sprintf("%d..%d", from, to), "err", err)
			return
		}
		if s.resync(ctx, err, &b) {
			msg = a.message(b)
			continue
		}
		if verifytypes.IsClockWait(err) || !refused(err) {
			// The clock's wait passes with time; an error that is not the chain's verdict (a
			// timeout, a lost connection) leaves open whether it landed, and sending the same
			// attestation again is safe (a retry of one that landed is recognized as it).
			if verifytypes.IsClockWait(err) {
				a.count("clock_waits", func(s *Stats) { s.ClockWaits++ })
			}
			a.cfg.Log.Info("attesting again shortly", "steps", fmt.Sprintf("%d..%d", from, to), "wait", wait, "reason", err)
			if sleepCtx(ctx, wait) == nil {
				wait = min(2*wait, s.maxWait)
			}
			continue
		}
		a.cfg.Log.Error("attestation refused; its steps are dropped", "steps", fmt.Sprintf("%d..%d", from, to), "err", err)
		if derr := a.cfg.Store.Delete(from, to); derr != nil {
			a.cfg.Log.Warn("deleting layers", "err", derr)
		}
		// Its numbers go to the next batch.
		a.offset.Store(int64(s.expect) - int64(b.first+uint64(b.n())))
		return
	}
}

// place moves batch b's spooled layers to the steps the chain expects next: as committed when
// the attester's expectation was right, re-committed under s.expect otherwise (after a refused
// attestation, or when the chain's numbers moved). It then corrects the offset of the steps the
// commit loop expects, so later batches are committed right the first time.
func (s *submitter) place(b *batch) error {
	a := s.a
	if b.from == s.expect {
		for i := range uint64(b.n()) {
			if err := a.cfg.Store.Promote(b.first+i, b.from+i); err != nil {
				return err
			}
		}
		return nil
	}
	a.offset.Store(int64(s.expect) - int64(b.first))
	roots := make([]verifytypes.StepCommitment, 0, b.n())
	for i := range uint64(b.n()) {
		l, err := a.cfg.Store.Unspool(b.first + i)
		if err != nil {
			return err
		}
		l.Step = s.expect + i
		c, err := Commit(a.cfg.Secret, a.owner(), l)
		if err == nil {
			err = a.cfg.Store.Save(l)
		}
		if err != nil {
			return fmt.Errorf("attest: step %d: %w", l.Step, err)
		}
		roots = append(roots, c.Roots())
	}
	a.cfg.Log.Info("committed steps again for the numbers the chain expects", "committed_for", b.from, "now", s.expect, "steps", b.n())
	b.from, b.roots = s.expect, roots
	return nil
}

// resync handles a refusal that says the chain expects other step numbers: it reads the worker's
// last attested step and moves b to follow it, re-committing its layers. At most a few times per
// batch, so a chain that keeps moving cannot keep the submitter here.
func (s *submitter) resync(ctx context.Context, err error, b *batch) bool {
	a := s.a
	if !errors.Is(err, verifytypes.ErrOverlappingSteps) && !errors.Is(err, verifytypes.ErrStepsNotContiguous) {
		return false
	}
	if b.resyncs >= 3 {
		return false
	}
	b.resyncs++
	last, ok, qerr := a.cfg.Chain.LastAttestedStep(ctx, a.cfg.Worker, a.cfg.ModelID)
	if qerr != nil {
		a.cfg.Log.Warn("reading the last attested step", "err", qerr)
		return false
	}
	next := uint64(1)
	if ok {
		next = last + 1
	}
	if next == b.from {
		return false
	}
	var roots []verifytypes.StepCommitment
	if err := a.cfg.Store.Move(b.from, next, b.n(), func(l *Layer) error {
		c, err := Commit(a.cfg.Secret, a.owner(), l)
		if err == nil {
			roots = append(roots, c.Roots())
		}
		return err
	}); err != nil {
		a.cfg.Log.Error("renumbering steps to follow the chain", "err", err)
		return false
	}
	a.cfg.Log.Info("the chain expects other step numbers; renumbered", "from", b.from, "to", next, "reason", err)
	b.from, b.roots, s.expect = next, roots, next
	a.offset.Store(int64(next) - int64(b.first))
	return true
}

// refused says whether err is the chain's verdict on a transaction (an error with an ABCI code:
// it did not land), rather than a failure that leaves open whether it landed.
func refused(err error) bool {
	var coded interface{ ABCICode() uint32 }
	return errors.As(err, &coded)
}

// message is the attestation of numbered batch b.
func (a *Attester) message(b batch) *verifytypes.MsgSubmitAttestation {
	return &verifytypes.MsgSubmitAttestation{
		Worker: a.cfg.Worker, ModelId: a.cfg.ModelID, Stage: a.cfg.Stage, StepFrom: b.from, StepTo: b.from + uint64(b.n()) - 1,
		WorkUnits: uint64(b.n()) * uint64(a.cfg.Layers),
		TileRows:  uint32(b.rows), TileWidth: uint32(a.cfg.TileWidth),
		Commitments: b.roots,
	}
}

// watch answers challenges and prunes the layers of final attestations, every Poll or on Wake.
func (a *Attester) watch(ctx context.Context) {
	tick := time.NewTicker(a.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.cfg.Wake:
		}
		a.answer(ctx)
		a.prune(ctx)
	}
}

// answer starts answering every open challenge not already being answered; each is proved and
// sent on its own goroutine, so one slow answer never delays another's deadline.
func (a *Attester) answer(ctx context.Context) {
	open, err := a.cfg.Chain.OpenChallenges(ctx, a.cfg.Worker)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("listing open challenges", "err", err)
		}
		return
	}
	for _, c := range open {
		a.mu.Lock()
		busy := a.answered[c.Id] || a.inflight[c.Id]
		if !busy {
			a.inflight[c.Id] = true
		}
		a.mu.Unlock()
		if busy {
			continue
		}
		a.cfg.Log.Info("challenged", "challenge", c.Id, "attestation", c.AttestationId, "kind", c.Kind,
			"step", c.Step, "row", c.Row, "block", c.Col, "challenger", c.Challenger, "deadline", c.DeadlineHeight)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.answerOne(ctx, c)
		}()
	}
}

func (a *Attester) answerOne(ctx context.Context, c verifytypes.Challenge) {
	done := func(final bool) {
		a.mu.Lock()
		delete(a.inflight, c.Id)
		if final {
			a.answered[c.Id] = true
		}
		a.mu.Unlock()
	}
	proof, err := a.prove(ctx, c)
	if err != nil {
		done(true)
		a.count("unprovable", func(s *Stats) { s.Unprovable++ })
		a.cfg.Log.Error("cannot prove the challenged tile", "challenge", c.Id, "err", err)
		return
	}
	if err := a.cfg.Chain.RespondChallenge(ctx, &verifytypes.MsgRespondChallenge{Worker: a.cfg.Worker, ChallengeId: c.Id, Proof: proof}); err != nil {
		done(false)
		if ctx.Err() == nil {
			a.cfg.Log.Warn("response not accepted; retrying at the next check", "challenge", c.Id, "err", err)
		}
		return
	}
	done(true)
	a.count("answered", func(s *Stats) { s.Answered++ })
	a.cfg.Log.Info("challenge answered", "challenge", c.Id)
}

// prove recommits the stored layer of the challenged step and proves the tile. The roots are
// bound to the chain id the attestation was submitted to, which a chain restarted from an export
// may have changed since.
func (a *Attester) prove(ctx context.Context, c verifytypes.Challenge) ([]byte, error) {
	l, err := a.cfg.Store.Load(c.Step)
	if err != nil {
		return nil, err
	}
	owner := a.owner()
	if at, err := a.cfg.Chain.Attestation(ctx, c.AttestationId); err == nil {
		owner.ChainID = at.ChainIDOr(owner.ChainID)
	}
	cm, err := Commit(a.cfg.Secret, owner, l)
	if err != nil {
		return nil, err
	}
	o, err := cm.Open(c, a.cfg.TileWidth)
	if err != nil {
		return nil, err
	}
	return a.cfg.Prover.Prove(o)
}

// owner is whose roots this attester commits.
func (a *Attester) owner() Owner {
	return Owner{ChainID: a.cfg.ChainID, ModelID: a.cfg.ModelID, Stage: a.cfg.Stage, Worker: a.cfg.Worker}
}

func (a *Attester) prune(ctx context.Context) {
	a.mu.Lock()
	ids := make(map[uint64][2]uint64, len(a.pending))
	for id, r := range a.pending {
		ids[id] = r
	}
	a.mu.Unlock()
	for id, r := range ids {
		at, err := a.cfg.Chain.Attestation(ctx, id)
		if err != nil || at.Status == verifytypes.ATTESTATION_STATUS_PENDING {
			continue
		}
		if err := a.cfg.Store.Delete(r[0], r[1]); err != nil {
			a.cfg.Log.Warn("deleting layers", "err", err)
			continue
		}
		a.mu.Lock()
		delete(a.pending, id)
		a.mu.Unlock()
		if at.Status == verifytypes.ATTESTATION_STATUS_FINALIZED {
			a.count("finalized", func(s *Stats) { s.Finalized++ })
			a.cfg.Log.Info("attestation finalized", "id", id, "steps", fmt.Sprintf("%d..%d", r[0], r[1]), "work_units", at.WorkUnits)
		} else {
			a.count("voided", func(s *Stats) { s.Voided++ })
			a.cfg.Log.Warn("attestation voided", "id", id, "reason", at.VoidReason)
		}
	}
}
