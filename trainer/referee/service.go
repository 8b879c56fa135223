package referee

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Chain is what a referee reads from the chain (trainer/chain.Client).
type Chain interface {
	StageRoster(ctx context.Context, model uint64, stage uint32) ([]modelstypes.Replica, error)
	// StagePending is every pending attestation of the stage, whether or not its worker still
	// holds a seat (x/verify StagePending), and PeerOf the peer id a worker registered (x/compute):
	// a worker that left the stage right after attesting is audited all the same.
	StagePending(ctx context.Context, model uint64, stage uint32) ([]verifytypes.Attestation, error)
	PeerOf(ctx context.Context, operator string) (peerID string, ok bool, err error)
	// WorkerByPeer and LastAttestation find a replica that has left the stage since it signed
	// state a worker mixed in or joined from.
	WorkerByPeer(ctx context.Context, peer string) (operator string, ok bool, err error)
	LastAttestation(ctx context.Context, worker string, model uint64) (verifytypes.Attestation, bool, error)
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
	// Batch is the dataset's microbatch (Options.Batch; nil where the referee holds no data:
	// stages between the first and the last need none).
	Batch func(mb uint64, rows int) (tokens, targets []int32, err error)
	// MaxRows bounds the sequences of an update in a log (Options.MaxRows).
	MaxRows int
	// Rate is the chance that a pending attestation of another replica is audited.
	Rate float64
	// Rand draws the audits (seeded by the caller).
	Rand *rand.Rand
	// Limit bounds a fetched log; StateLimit a snapshot or an average in it (about the stage's
	// own state's size: a log of another shape is refused before it is allocated); Timeout a
	// fetch.
	Limit, StateLimit int64
	Timeout           time.Duration
	// FormerWindow is how many blocks before the audited attestation a replica that has left
	// the stage since may have last attested there and still vouch for state it signed (an
	// average or a join with a partner that left is not the worker's doing); 1000 by default.
	FormerWindow int64
	// OnFinding, when set, is told of each finding on attestation a with the log the worker
	// served for it (what a dispute over a is played from).
	OnFinding func(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment)
	// OwnRange, when set with Height (the chain's height), judges a drawn attestation over its
	// own range alone (the worker's log from its start to its committed end: what a dispute
	// judges; the node passes its Prosecutor) once half its challenge window has passed with
	// no successor on chain. Otherwise a worker that attests less often than once a
	// challenge_window would escape the audits: its successor, which the full audit waits for,
	// comes only after the attestation finalized, when nothing can be disputed.
	// An error (no dispute opened where one was due, say) has the attestation judged again at
	// the next round, while it is pending.
	OwnRange func(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment) error
	Height   func(ctx context.Context) (int64, error)
	// RequestLog, when set, asks on chain for the log of a drawn attestation whose worker did
	// not serve it in MaxTries tries (x/verify MsgRequestLog; the node's chain client, with
	// --dispute): the worker must then show a replica's custody of it, or be slashed. Asked once
	// an attestation; a refusal is asked again at the next rounds, MaxTries in all.
	RequestLog func(ctx context.Context, a verifytypes.Attestation) error
	// TryEvery is the least time between two counted tries to fetch a log (0: TryInterval).
	TryEvery time.Duration
	Log      *slog.Logger
	Metrics  prometheus.Registerer
}

// Outcome is one audit's result.
type Outcome struct {
	Worker      string
	Attestation uint64
	Report      Report
	// Err is why the audit could not run (the worker did not serve its log, say).
	Err error
	// notServed says Err is the worker's: its log was refused or not delivered.
	notServed bool
}

// Service audits the other replicas of its stage: each round it reads their pending
// attestations, draws each new one with probability Rate and, once the worker has attested its
// next steps, fetches its replay log from the attestation's starting state (the state protocol;
// only a registered replica of the stage is served) and audits it: from that state the replay
// must take in the attestation's inputs, each once, and arrive exactly at the state the next
// attestation starts from.
type Service struct {
	cfg      Config
	seen     map[string]map[uint64]*tracked // by worker, by attestation id
	audits   *prometheus.CounterVec
	replayed prometheus.Counter
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
	if cfg.StateLimit == 0 {
		cfg.StateLimit = cfg.Limit
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.FormerWindow == 0 {
		cfg.FormerWindow = 1000
	}
	if cfg.TryEvery == 0 {
		cfg.TryEvery = TryInterval
	}
	s := &Service{
		cfg: cfg, seen: map[string]map[uint64]*tracked{},
		audits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protolearn_trainer_audits_total",
			Help: "Audits of other replicas' attestations by replay, by outcome: pass, finding (the replay departs from what the worker committed), unavailable (no log served), own_range (judged over its own range, its successor late: Config.OwnRange).",
		}, []string{"outcome"}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "protolearn_trainer_audit_updates_total",
			Help: "Updates of other replicas replayed by this referee.",
		}),
	}
	if err := promserve.Register(cfg.Metrics, "referee", s.audits, s.replayed); err != nil {
		return nil, err
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

// Round reads the pending attestations of the stage (every worker's but its own, seated or
// not: a worker that left the stage right after attesting would otherwise never be audited),
// draws each new one with probability Rate, and audits every drawn one whose worker has attested
// its next steps since (the next attestation's starting state is where the replay must arrive:
// without it a worker could serve a log that ends wherever suits it). A worker that does not
// serve its log is asked again in the next rounds, and after MaxTries failures that is the
// finding.
func (s *Service) Round(ctx context.Context) ([]Outcome, error) {
	replicas, err := s.cfg.Chain.StageRoster(ctx, s.cfg.Model, uint32(s.cfg.Stage))
	if err != nil {
		return nil, err
	}
	all, err := s.cfg.Chain.StagePending(ctx, s.cfg.Model, uint32(s.cfg.Stage))
	if err != nil {
		return nil, err
	}
	byOperator := map[string][]verifytypes.Attestation{}
	for _, a := range all {
		if a.Worker != s.cfg.Self && a.ModelId == s.cfg.Model && a.Stage == uint32(s.cfg.Stage) {
			byOperator[a.Worker] = append(byOperator[a.Worker], a)
		}
	}
	// A worker with nothing pending has nothing left to audit: what it attested is final.
	for w := range s.seen {
		if len(byOperator[w]) == 0 {
			delete(s.seen, w)
		}
	}
	var out []Outcome
	height := int64(-1) // the chain's, read once a round where an attestation's successor is late
	for _, op := range slices.Sorted(maps.Keys(byOperator)) {
		r, err := s.replica(ctx, replicas, op)
		if err != nil {
			s.cfg.Log.Warn("referee: a worker's peer not found; the others' audits go on", "worker", op, "err", err)
			continue
		}
		out = append(out, s.roundOf(ctx, replicas, r, byOperator[op], &height)...)
	}
	return out, nil
}

// replica is the worker op as the roster has it or, where it left the stage, with the peer id it
// registered (x/compute): its log is fetched from there.
func (s *Service) replica(ctx context.Context, replicas []modelstypes.Replica, op string) (modelstypes.Replica, error) {
	for _, r := range replicas {
		if r.Operator == op {
			return r, nil
		}
	}
	id, ok, err := s.cfg.Chain.PeerOf(ctx, op)
	if err != nil {
		return modelstypes.Replica{}, err
	}
	if !ok {
		return modelstypes.Replica{}, fmt.Errorf("%s is no registered worker: nobody serves its log", op)
	}
	return modelstypes.Replica{Operator: op, PeerId: id}, nil
}

// roundOf tracks worker r's pending attestations and audits the drawn ones that are due.
func (s *Service) roundOf(ctx context.Context, replicas []modelstypes.Replica, r modelstypes.Replica, pending []verifytypes.Attestation, height *int64) []Outcome {
	byWorker := s.seen[r.Operator]
	if byWorker == nil {
		byWorker = map[uint64]*tracked{}
		s.seen[r.Operator] = byWorker
	}
	// Forget what is settled: audited (or not drawn) attestations no longer pending, but the
	// newest of them, which a later one may follow.
	oldest := pending[0].StepFrom
	for _, a := range pending {
		oldest = min(oldest, a.StepFrom)
	}
	for id, t := range byWorker {
		if (t.done || !t.drawn) && t.att.StepTo+1 < oldest {
			delete(byWorker, id)
		}
	}
	for _, a := range pending {
		if _, ok := byWorker[a.Id]; !ok && len(a.StateRoot) == 32 {
			byWorker[a.Id] = &tracked{att: a, drawn: s.cfg.Rand.Float64() < s.cfg.Rate}
		}
	}
	var out []Outcome
	for _, t := range sortedTracked(byWorker) {
		if !t.drawn || t.done {
			continue
		}
		next := successor(byWorker, t.att)
		if next == nil {
			// Not yet: the full audit needs where the worker's next steps start. Past half
			// the attestation's window, its own range is judged instead.
			if s.late(ctx, t.att, height) {
				if o := s.auditOwnRange(ctx, r, t); o != nil {
					out = append(out, *o)
					s.record(*o)
				}
			}
			continue
		}
		o := s.Audit(ctx, replicas, r, t.att, next.att)
		if o.Err != nil && ctx.Err() == nil {
			// Only the worker's not serving counts, at most once a TryEvery; "busy" counts too (the
			// worker words its refusals: a cheater would say "busy" for ever). An honest worker
			// busy that long is asked on chain and shows a replica's custody: it loses nothing.
			if o.notServed && time.Since(t.lastTry) >= s.cfg.TryEvery {
				t.tries++
				t.lastTry = time.Now()
			}
			if t.tries < MaxTries {
				s.cfg.Log.Warn("referee: could not audit an attestation; will ask again", "worker", r.Operator, "attestation", t.att.Id, "tries", t.tries, "err", o.Err)
				continue
			}
			if !s.requestLog(ctx, t) {
				continue // asked on chain again at the next round
			}
			o.Report.Finding = &Finding{What: fmt.Sprintf("the worker did not serve its replay log in %d tries over %s (%v)", MaxTries, time.Duration(MaxTries-1)*s.cfg.TryEvery, o.Err)}
			o.Err = nil
		}
		t.done = true
		out = append(out, o)
		s.record(o)
	}
	return out
}

// late says whether half of a's challenge window has passed (height caches the chain's height
// for the round; −1: not read yet), where OwnRange is set.
func (s *Service) late(ctx context.Context, a verifytypes.Attestation, height *int64) bool {
	if s.cfg.OwnRange == nil || s.cfg.Height == nil {
		return false
	}
	if *height < 0 {
		h, err := s.cfg.Height(ctx)
		if err != nil {
			s.cfg.Log.Warn("referee: the chain's height not read; late attestations wait for the next round", "err", err)
			return false
		}
		*height = h
	}
	return *height >= a.SubmittedHeight+(a.FinalizeHeight-a.SubmittedHeight)/2
}

// auditOwnRange fetches the worker's log from t's starting state, as Audit does, and hands it
// to OwnRange, which judges the attestation's own updates. A log not served, or an OwnRange
// error, is tried again in the next rounds, until the attestation is no longer pending; a log
// that does not decode is a finding (the Outcome returned), as in a full audit.
func (s *Service) auditOwnRange(ctx context.Context, r modelstypes.Replica, t *tracked) *Outcome {
	a := t.att
	log := s.cfg.Log.With("worker", r.Operator, "attestation", a.Id)
	p, err := peer.Decode(r.PeerId)
	if err != nil {
		t.done = true
		log.Warn("referee: the worker's peer id does not decode; its attestation is not judged", "peer", r.PeerId, "err", err)
		return nil
	}
	body, _, err := s.fetchLog(ctx, p, a)
	if err != nil {
		if ctx.Err() == nil && time.Since(t.lastTry) >= s.cfg.TryEvery {
			t.tries++
			t.lastTry = time.Now()
		}
		log.Warn("referee: the worker's log for its own range was not served; will ask again", "tries", t.tries, "err", err)
		if t.tries >= MaxTries {
			// Asked on chain: the worker must show a replica's custody (this referee's first,
			// whose custody server then judges the range), or be slashed.
			s.requestLog(ctx, t)
		}
		return nil
	}
	segs, _, err := replaylog.DecodeBundle(body)
	if err != nil {
		t.done = true
		return &Outcome{Worker: r.Operator, Attestation: a.Id, Report: Report{Finding: &Finding{What: "the log it served for its own range does not decode: " + err.Error()}}}
	}
	log.Info("referee: no successor by half the attestation's window: judging its own range")
	if err := s.cfg.OwnRange(ctx, a, segs); err != nil {
		log.Warn("referee: judging the attestation's own range failed; will try again", "err", err)
		return nil
	}
	t.done = true
	s.audits.WithLabelValues("own_range").Inc()
	return nil
}

// MaxTries is how many times, TryInterval apart, a worker must fail to serve a log before that
// is the finding.
const MaxTries = 3

// TryInterval is the least time between two counted tries by default (Config.TryEvery; a var
// for tests).
var TryInterval = 30 * time.Second

// tracked is an attestation the referee has seen.
type tracked struct {
	att         verifytypes.Attestation
	drawn, done bool
	tries       int
	lastTry     time.Time
	// requested: its log was asked for on chain (Config.RequestLog), or that was given up after
	// refused tries.
	requested bool
	refused   int
}

// requestLog asks on chain for t's log, once (where Config.RequestLog is set); it says whether
// the referee is done asking: asked, not set to ask, or refused MaxTries times (each refusal is
// logged; a transient one is asked again at the next round).
func (s *Service) requestLog(ctx context.Context, t *tracked) bool {
	if s.cfg.RequestLog == nil || t.requested {
		return true
	}
	if err := s.cfg.RequestLog(ctx, t.att); err != nil {
		t.refused++
		s.cfg.Log.Warn("referee: the log request on chain failed", "worker", t.att.Worker, "attestation", t.att.Id, "tries", t.refused, "err", err)
		t.requested = t.refused >= MaxTries
		return t.requested
	}
	t.requested = true
	s.cfg.Log.Info("referee: asked on chain for a log the worker did not serve", "worker", t.att.Worker, "attestation", t.att.Id)
	return true
}

func sortedTracked(m map[uint64]*tracked) []*tracked {
	out := make([]*tracked, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tracked) int { return cmp.Compare(a.att.StepFrom, b.att.StepFrom) })
	return out
}

// successor is the worker's attestation right after a: the one whose steps start where a's end
// (the chain keeps a worker's steps contiguous). One the referee never saw (final before a round
// read it) leaves a unaudited: audited against a later one, the steps between would look
// unattested.
func successor(m map[uint64]*tracked, a verifytypes.Attestation) *tracked {
	for _, t := range m {
		if t.att.StepFrom == a.StepTo+1 {
			return t
		}
	}
	return nil
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

// Log fetches worker's replay log from attestation a's starting state (a replica of the stage,
// over the state protocol, with the service's bounds): what a dispute over a, opened without an
// audit (from the CLI, say), is played from.
func (s *Service) Log(ctx context.Context, a verifytypes.Attestation) ([]replaylog.Segment, error) {
	if a.ModelId != s.cfg.Model || a.Stage != uint32(s.cfg.Stage) {
		return nil, fmt.Errorf("attestation %d is of model %d stage %d, not this referee's model %d stage %d", a.Id, a.ModelId, a.Stage, s.cfg.Model, s.cfg.Stage)
	}
	if len(a.StateRoot) != 32 {
		return nil, fmt.Errorf("attestation %d names no starting state", a.Id)
	}
	replicas, err := s.cfg.Chain.StageRoster(ctx, s.cfg.Model, uint32(s.cfg.Stage))
	if err != nil {
		return nil, err
	}
	r, err := s.replica(ctx, replicas, a.Worker)
	if err != nil {
		return nil, err
	}
	p, err := peer.Decode(r.PeerId)
	if err != nil {
		return nil, fmt.Errorf("worker %s's peer id %q: %w", a.Worker, r.PeerId, err)
	}
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body, err := statesync.FetchLog(fctx, s.cfg.Host, p, s.cfg.Model, s.cfg.Stage, [32]byte(a.StateRoot), s.cfg.Limit)
	if err != nil {
		return nil, fmt.Errorf("worker %s's log from attestation %d's start: %w", a.Worker, a.Id, err)
	}
	segs, _, err := replaylog.DecodeBundle(body)
	if err != nil {
		return nil, fmt.Errorf("worker %s's log does not decode: %w", a.Worker, err)
	}
	return segs, nil
}

// Audit fetches r's replay log from attestation a's starting state and audits it against a and
// next, the worker's following attestation: from a's state the replay must take in a's inputs
// (its steps × microbatches updates) and arrive at next's state. replicas are the stage's
// roster, whose members other than r may have signed state r mixed in or joined from.
func (s *Service) Audit(ctx context.Context, replicas []modelstypes.Replica, r modelstypes.Replica, a, next verifytypes.Attestation) Outcome {
	o := Outcome{Worker: r.Operator, Attestation: a.Id}
	p, err := peer.Decode(r.PeerId)
	if err != nil {
		o.Err = fmt.Errorf("peer id %q: %w", r.PeerId, err)
		return o
	}
	if len(next.StateRoot) != 32 {
		o.Err = fmt.Errorf("attestation %d names no starting state", next.Id)
		return o
	}
	for _, at := range []verifytypes.Attestation{a, next} {
		if _, ok := head(at); !ok {
			o.Report.Finding = &Finding{What: fmt.Sprintf("attestation %d commits no log head (32 bytes, not zero): nothing fixes the log it serves", at.Id)}
			return o
		}
	}
	root, end := [32]byte(a.StateRoot), [32]byte(next.StateRoot)
	body, first, err := s.fetchLog(ctx, p, a)
	if err != nil {
		o.Err, o.notServed = err, true
		return o
	}
	segs, ended, err := replaylog.DecodeBundle(body)
	if err != nil {
		o.Report.Finding = &Finding{What: "the log it served does not decode: " + err.Error()}
		return o
	}
	if first && !segs[0].EpochStart {
		o.Report.Finding = &Finding{Update: segs[0].First, What: "the log of its first attestation on the stage does not run from its epoch's start (its anchor)"}
		return o
	}
	start, ok := updateFrom(segs, root)
	if !ok {
		o.Report.Finding = &Finding{What: fmt.Sprintf("the log it served holds no update from the attested state %s", short(root))}
		return o
	}
	var attested [][32]byte
	for _, d := range a.InputDigests {
		if len(d) == 32 {
			attested = append(attested, [32]byte(d))
		}
	}
	steps := a.StepTo - a.StepFrom + 1
	need := int(steps) * s.cfg.Microbatches
	ha, _ := head(a)
	claims := []Claim{{Update: start, Root: root, Head: ha, Attested: attested, Need: need}}
	prefix := 0
	if first {
		prefix = need
	}
	stop, ok := updateFrom(segs, end)
	restarted := false
	switch {
	case ok && stop > start:
		hn, _ := head(next)
		claims = append(claims, Claim{Update: stop, Root: end, Head: hn})
	case ended:
		restarted = true
		// The worker's process stopped after a's steps: the log must show them whole (below),
		// and the next attestation must start its new epoch from where this one ended, from
		// the epoch's anchor (the stage's initial state, or a state another replica signed),
		// not from a state of its choosing.
	default:
		o.Report.Finding = &Finding{Update: start, What: fmt.Sprintf("the log it served does not reach the state %s its next attestation (%d) starts from", short(end), next.Id)}
		return o
	}
	if f := sendsFinding(segs, a); f != nil {
		// The log's own states may all replay: what the attestation names as signed is not what
		// its events record (a worker answering a receipt it should not have signed).
		o.Report.Finding = f
		if s.cfg.OnFinding != nil {
			s.cfg.OnFinding(ctx, a, segs)
		}
		return o
	}
	o.Report, o.Err = s.replay(ctx, replicas, r, p, a, next, segs, claims, prefix, restarted)
	if errors.Is(o.Err, ErrMalformed) {
		o.Report.Finding, o.Err = &Finding{Update: start, What: "the log it served cannot be replayed: " + o.Err.Error()}, nil
	}
	if o.Report.Finding != nil && s.cfg.OnFinding != nil {
		s.cfg.OnFinding(ctx, a, segs)
	}
	if restarted && o.Err == nil && o.Report.Finding == nil {
		rep, err := s.epochStart(ctx, replicas, r, p, next, o.Report.End)
		if err != nil || rep.Finding != nil {
			o.Attestation, o.Report, o.Err = next.Id, rep, err
		}
	}
	return o
}

// sendsFinding is the finding where attestation a's sends are not what its range of the log
// records as signed (nil where they are, or where the log does not hold a's range: the replay
// finds that).
func sendsFinding(segs []replaylog.Segment, a verifytypes.Attestation) *Finding {
	if len(a.LogHead) != 32 || len(a.EndLogHead) != 32 {
		return nil
	}
	signed, err := replaylog.RangeSends(segs, [32]byte(a.LogHead), [32]byte(a.EndLogHead))
	if err != nil {
		return nil
	}
	if len(signed) != len(a.Sends) {
		return &Finding{What: fmt.Sprintf("attestation %d names %d sends, its log records %d signed in its range", a.Id, len(a.Sends), len(signed))}
	}
	for i, x := range signed {
		n := a.Sends[i]
		if n.Event != x.Event || n.Seq != x.Seq || !bytes.Equal(n.Digest, x.Digest[:]) {
			return &Finding{What: fmt.Sprintf("attestation %d's send %d (number %d) is not what its log records signed there (number %d at event %d)", a.Id, i, n.Seq, x.Seq, x.Event)}
		}
	}
	return nil
}

// fetchLog fetches from worker p the log of attestation a from its state_root. A worker's first
// attestation on the stage (first) is fetched from its epoch's start: the state it attests from
// must have been reached from the stage's initial state or a state a replica signed, not from
// weights of its own that it trained a while unattested.
func (s *Service) fetchLog(ctx context.Context, p peer.ID, a verifytypes.Attestation) (body []byte, first bool, err error) {
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	fetch, first := statesync.FetchLog, a.StepFrom == 1 || a.FirstOnStage
	if first {
		fetch = statesync.FetchEpochLog
	}
	body, err = fetch(fctx, s.cfg.Host, p, s.cfg.Model, s.cfg.Stage, [32]byte(a.StateRoot), s.cfg.Limit)
	return body, first, err
}

// epochStart checks that attestation next's state is reached by a replay from the start of an
// epoch of the worker's log (its anchor checked) that follows the epoch that ended at head prev:
// where a worker whose process ended goes on. Its updates before next's first step are at most
// as many as next holds (MaxPrefix).
func (s *Service) epochStart(ctx context.Context, replicas []modelstypes.Replica, r modelstypes.Replica, p peer.ID, next verifytypes.Attestation, prev [32]byte) (Report, error) {
	end := [32]byte(next.StateRoot)
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body, err := statesync.FetchEpochLog(fctx, s.cfg.Host, p, s.cfg.Model, s.cfg.Stage, end, s.cfg.Limit)
	if err != nil {
		return Report{}, err
	}
	segs, _, err := replaylog.DecodeBundle(body)
	if err != nil {
		return Report{Finding: &Finding{What: "the log it served does not decode: " + err.Error()}}, nil
	}
	stop, ok := updateFrom(segs, end)
	if !ok || !segs[0].EpochStart {
		return Report{Finding: &Finding{What: fmt.Sprintf("its process ended, but the log of its next attestation (%d) does not run from a new epoch's start", next.Id)}}, nil
	}
	if f, err := s.follows(ctx, p, segs[0].Prev, prev); f != nil || err != nil {
		return Report{Finding: f}, err
	}
	hn, _ := head(next)
	steps := next.StepTo - next.StepFrom + 1
	rep, err := s.replay(ctx, replicas, r, p, next, next, segs, []Claim{{Update: stop, Root: end, Head: hn}}, int(steps)*s.cfg.Microbatches, false)
	if errors.Is(err, ErrMalformed) {
		return Report{Finding: &Finding{What: "the log it served cannot be replayed: " + err.Error()}}, nil
	}
	return rep, err
}

// replay audits segs against claims on a fresh stage, with what the service knows of the
// stage: its other replicas (who may have signed what the worker mixed in or joined from), its
// initial state, its dataset, and on stage 0 the worker's draws from a's to next's.
func (s *Service) replay(ctx context.Context, replicas []modelstypes.Replica, r modelstypes.Replica, p peer.ID, a, next verifytypes.Attestation, segs []replaylog.Segment, claims []Claim, maxPrefix int, toEnd bool) (Report, error) {
	members := map[peer.ID]bool{p: false} // by peer: a replica or not (the worker never vouches for itself)
	for _, m := range replicas {
		if id, err := peer.Decode(m.PeerId); err == nil && id != p {
			members[id] = true
		}
	}
	// A fresh stage each time: one that replayed before holds state (optimizer moments
	// created by its updates) that a snapshot taken before any update does not overwrite.
	st, err := s.cfg.NewStage()
	if err != nil {
		return Report{}, err
	}
	initial, err := checkpoint.StateRoot(st) // fresh: the stage's initial state
	if err != nil {
		return Report{}, err
	}
	replica := func(id peer.ID) bool {
		if ok, known := members[id]; known {
			return ok
		}
		members[id] = s.former(ctx, id, r.Operator, a)
		return members[id]
	}
	opts := Options{
		Limit: s.cfg.StateLimit, Model: s.cfg.Model, Stage: s.cfg.Stage, Replica: replica, Initial: initial,
		Batch: s.cfg.Batch, MaxRows: s.cfg.MaxRows, MaxPrefix: maxPrefix, ToEnd: toEnd,
	}
	if s.cfg.Stage == 0 && next.NextDraw > 0 {
		opts.Draw = draws(r.Operator, a, next, s.cfg.Microbatches)
	}
	return Audit(ctx, st, s.cfg.Codec, segs, claims, opts)
}

// former says whether id is the peer of a worker other than the audited one (worker) that has
// left the stage but attested there no more than FormerWindow blocks before a: a replica of the
// stage when the audited work was done.
func (s *Service) former(ctx context.Context, id peer.ID, worker string, a verifytypes.Attestation) bool {
	op, ok, err := s.cfg.Chain.WorkerByPeer(ctx, id.String())
	if err != nil {
		s.cfg.Log.Warn("referee: could not look up a peer that signed state; taken as no replica", "peer", id, "err", err)
	}
	if !ok || op == worker {
		return false
	}
	last, ok, err := s.cfg.Chain.LastAttestation(ctx, op, s.cfg.Model)
	if err != nil {
		s.cfg.Log.Warn("referee: could not read a former replica's attestations; taken as no replica", "peer", id, "err", err)
	}
	return ok && last.Stage == uint32(s.cfg.Stage) && last.SubmittedHeight >= a.SubmittedHeight-s.cfg.FormerWindow
}

// MaxEpochHops bounds the epochs a referee follows back from a worker's new epoch to the one
// that ended after the audited attestation (processes that stopped before they attested).
const MaxEpochHops = 8

// follows checks that an epoch whose log names from as where the epoch before it ended comes
// after the epoch that ended at head to: from is to, or the worker serves the epochs between,
// each ending where the next one says (their state does not carry on, so only their heads are
// checked, not replayed).
func (s *Service) follows(ctx context.Context, p peer.ID, from, to [32]byte) (*Finding, error) {
	for hop := 0; from != to; hop++ {
		if hop == MaxEpochHops || from == ([32]byte{}) {
			return &Finding{What: fmt.Sprintf("its new epoch follows a log that ended at head %s, which is not where the log it serves of its last attested epoch ends (%s), nor %d epochs after it", short(from), short(to), MaxEpochHops)}, nil
		}
		fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		body, err := statesync.FetchEpochEndingAt(fctx, s.cfg.Host, p, s.cfg.Model, s.cfg.Stage, from, s.cfg.Limit)
		cancel()
		if err != nil {
			return &Finding{What: fmt.Sprintf("its new epoch follows a log that ended at head %s, which it does not serve: %v", short(from), err)}, nil
		}
		segs, _, err := replaylog.DecodeBundle(body)
		if err != nil {
			return &Finding{What: "the epoch it served between its attestations does not decode: " + err.Error()}, nil
		}
		end, f := heads(segs, nil)
		if f != nil {
			return f, nil
		}
		first := segs[0]
		if !first.EpochStart || first.Head != logevent.EpochHead(first.Root, first.Anchor, first.Prev) || end != from {
			return &Finding{What: fmt.Sprintf("the epoch it served as ending at head %s ends at %s (or does not start its epoch)", short(from), short(end))}, nil
		}
		from = segs[0].Prev
	}
	return nil, nil
}

// draws is the set of stage-0 microbatch ids the worker may have drawn between attestations a
// and next: its chain-fixed draws (DrawID) below next's next_draw, as far back as both
// attestations' steps (and four times more, for dropped steps and skipped draws) reach.
func draws(worker string, a, next verifytypes.Attestation, microbatches int) func(uint64) bool {
	hi := next.NextDraw
	window := 4*(a.StepTo-a.StepFrom+1+next.StepTo-next.StepFrom+1)*uint64(microbatches) + 1024
	lo := hi - min(hi, window)
	ids := make(map[uint64]bool, hi-lo)
	for k := lo; k < hi; k++ {
		ids[verifytypes.DrawID(worker, k)] = true
	}
	return func(mb uint64) bool { return ids[mb] }
}

// head is the log head a committed; not ok when it is not 32 bytes or all zero (the chain
// refuses such attestations).
func head(a verifytypes.Attestation) ([32]byte, bool) {
	if len(a.LogHead) != 32 {
		return [32]byte{}, false
	}
	h := [32]byte(a.LogHead)
	return h, h != [32]byte{}
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
