package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/payload"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
	"github.com/protolearn/protolearn/trainer/wire"
)

var linkZero link.Config

// Config describes one worker.
type Config struct {
	// Host is the worker's libp2p host (trainer/p2p.New); the worker
	// registers the pipeline protocol on it and removes it on Close.
	Host host.Host
	// Model is the model's id (frames of other models are refused).
	Model uint64
	// Stage is the engine stage this worker trains (its index is the
	// worker's stage); the swarm needs at least two stages.
	Stage *engine.Stage
	// Roster says who may send what (trainer/roster); re-read every
	// RosterEvery.
	Roster      roster.Source
	RosterEvery time.Duration
	// Data gives a microbatch's tokens from its id (data.Sampler.At):
	// stage 0 its inputs, the last stage its targets. Every worker of the
	// swarm must use the same corpus, split, shape and seed. Middle stages
	// may leave it nil.
	Data *data.Sampler
	// Rows is the number of sequences per microbatch (Data's batch size).
	Rows int
	// Microbatches is the number of microbatches per step (for step
	// numbers and heartbeats); 0 means 1.
	Microbatches int
	// Steps is how many steps stage 0 runs before it finishes (Run
	// returns); 0 runs until the context ends. Other stages run until the
	// context ends.
	Steps uint64
	// Depth is the number of microbatches stage 0 keeps in flight; 0
	// means 2 × the number of stages.
	Depth int
	// Wire is the payload value type (payload.F32 or payload.BF16).
	Wire payload.DType
	// Limits bound the payloads this worker decodes.
	Limits payload.Limits
	// MaxFrame is the largest frame accepted (0: wire.DefaultMaxSize).
	MaxFrame int
	// Link shapes this worker's outgoing streams (emulated WAN); the zero
	// value sends as fast as the transport does. Clock nil is wall time.
	Link  link.Config
	Clock link.Clock
	// QueueCap bounds the accepted activations (and, separately, the
	// gradients) waiting for the compute goroutine; a full queue answers
	// busy. 0 means 2 × Depth.
	QueueCap int
	// AckTimeout bounds connecting, opening a stream and waiting for an
	// ack; Timeout how long a microbatch may stay with the next stage
	// before it is re-sent elsewhere (the peer is deemed slow); Blacklist
	// how long a failed peer gets no work; Busy how long after a busy reply
	// a peer is skipped; Ban how long a cut-off peer's streams are refused;
	// Drain how long shutdown waits for outstanding gradients.
	AckTimeout, Timeout, Blacklist, Busy, Ban, Drain time.Duration
	// Load, when set, gives a peer's last announced queue length and
	// throughput (microbatches per second) from its heartbeats.
	Load func(peer.ID) (queue int, throughput float64, ok bool)
	// Resolve, when set, finds addresses of a peer the roster lists
	// without any (the DHT).
	Resolve func(ctx context.Context, p peer.ID) (peer.AddrInfo, error)
	// OnLoss, when set, is called by the last stage with each
	// microbatch's loss, once per microbatch, from the compute goroutine.
	OnLoss func(Loss)
	// EvalEvery, when > 0, makes stage 0 send an evaluation round every
	// EvalEvery steps: the batches of Eval (the same list on every worker,
	// e.g. data.Corpus.EvalBatches with Rows rows), forward only; the last
	// stage calls OnEval with the round's mean loss once all of them have
	// arrived. Stage 0 and the last stage need Eval.
	EvalEvery uint64
	Eval      []data.Batch
	OnEval    func(Eval)
	// SeenElsewhere, when set, asks the other replicas of this stage whether
	// one of them has taken a microbatch that arrives as a replay
	// (statesync.SeenByReplicas); if so this worker runs it without
	// updating. It is called from the stream handler, not the compute loop.
	SeenElsewhere func(ctx context.Context, mb uint64) bool
	// OnDone, when set, is called by stage 0 with each microbatch that has
	// completed (its gradient came back and was applied).
	OnDone func(mb uint64)
	// OnTap, when set, receives the designated layer of the first update of each of this
	// worker's steps (every Microbatches updates, counted locally: step k is updates
	// k·Microbatches … (k+1)·Microbatches−1), from the compute goroutine: x/verify's
	// commitments (trainer/attest). It must return quickly.
	OnTap func(step uint64, t *engine.Tap)
	Log   *slog.Logger
	// Metrics, when set, receives the worker's Prometheus metrics.
	Metrics prometheus.Registerer
}

// Loss is one microbatch's loss on the last stage, before its update.
type Loss struct {
	Microbatch uint64
	Step       uint64
	Loss       float64
}

// Eval is one evaluation round's mean loss on the last stage.
type Eval struct {
	Round uint64 // 1, 2, …: sent after Round·EvalEvery steps were drawn
	Step  uint64
	Loss  float64
}

// Evaluation microbatches carry EvalBit in their id, with the stage-0
// replica that sent them, the round and the index of the batch in
// Config.Eval: EvalBit | replica<<44 | round<<20 | index. They run forward
// only and are never re-sent.
const (
	EvalBit       = uint64(1) << 63
	evalIdxBits   = 20
	evalRoundBits = 24
)

func isEval(mb uint64) bool { return mb&EvalBit != 0 }

func evalID(replica, round uint64, k int) uint64 {
	return EvalBit | replica<<(evalIdxBits+evalRoundBits) | (round&(1<<evalRoundBits-1))<<evalIdxBits | uint64(k)
}

// evalParts splits an evaluation id: its round key (sender and round, the
// unit the last stage averages), the round and the batch index.
func evalParts(mb uint64) (key, round uint64, k int) {
	return mb >> evalIdxBits, (mb >> evalIdxBits) & (1<<evalRoundBits - 1), int(mb & (1<<evalIdxBits - 1))
}

// Status is what a worker announces in its heartbeats.
type Status struct {
	Stage      int
	Step       uint64 // completed steps (stage 0) or updates ÷ microbatches
	Updates    uint64
	Completed  uint64 // stage 0: microbatches done
	Repeats    uint64 // microbatches seen again: gradient computed, no second update
	Late       uint64 // gradients of microbatches no longer outstanding, dropped
	Pending    int    // microbatches sent on, gradient not back yet
	Queue      int    // accepted frames waiting for the compute goroutine
	Throughput float64
	Loss       float64 // the last stage's last microbatch loss
	Done       bool    // stage 0 finished its steps
	// Bytes this worker wrote on pipeline streams: tensor frames (length
	// prefix, header, payload), their payloads alone, and the control
	// frames (ack, busy, reject) it answered with.
	FrameBytes, PayloadBytes, ControlBytes uint64
}

// pending is a microbatch this worker has run forward and sent on.
type pending struct {
	step    uint64
	in, ids *tensors.Tensor
	from    peer.ID // the sender (empty on stage 0)
	msg     []byte  // the encoded activations, for re-sending
	to      peer.ID // empty while no replica could take it
	sentAt  time.Time
	resends int
	// replay: it arrived as a replay, so the frames sent on are replays too;
	// elsewhere: another replica of this stage has it, so no update here.
	replay, elsewhere bool
}

// Worker is one stage of a swarm.
type Worker struct {
	cfg         Config
	st          *engine.Stage
	spec        spec.Spec
	stage       int
	first, last bool
	codec       boundary.Codec
	log         *slog.Logger
	metrics     *metrics
	roster      atomic.Pointer[roster.Roster]

	acts, grads chan *event
	failures    *mailbox[failure]
	access      chan accessReq
	draining    atomic.Bool
	computeMu   sync.Mutex // held by Run's compute loop; Access takes it when Run is not running

	ctx    context.Context // the senders'; outlives Run's context through the drain
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sendersMu sync.Mutex
	senders   map[peer.ID]*sender
	banMu     sync.Mutex
	banned    map[peer.ID]time.Time

	// Owned by the compute goroutine.
	pending    map[uint64]*pending
	applied    map[uint64]bool
	blacklist  map[peer.ID]time.Time
	strikes    map[peer.ID]int // consecutive failures: the blacklist doubles with each
	originated uint64
	replica    uint64 // stage 0: this worker's index among stage 0's replicas
	replicas   uint64
	updates    uint64
	completed  uint64
	repeats    uint64
	late       uint64
	opsWindow  int // backward operations since the last throughput sample
	sampleAt   time.Time

	statusMu sync.Mutex
	status   Status

	evalSum map[uint64]float64 // last stage: per round key (sender, round)
	evalN   map[uint64]int

	seenMu sync.Mutex
	seen   map[uint64]bool // microbatches taken (sent on or applied), for SeenElsewhere queries

	frameBytes, payloadBytes, controlBytes atomic.Uint64
}

type accessReq struct {
	fn   func(st *engine.Stage, updates uint64) error
	done chan error
}

// New checks cfg, fills defaults, reads the roster and registers the
// pipeline protocol on the host (frames are queued until Run).
func New(ctx context.Context, cfg Config) (*Worker, error) {
	if cfg.Host == nil || cfg.Stage == nil || cfg.Roster == nil {
		return nil, errors.New("swarm: Config needs Host, Stage and Roster")
	}
	st := cfg.Stage
	sp, info := st.Spec(), st.Info()
	if len(sp.Stages) < 2 {
		return nil, fmt.Errorf("swarm: the model has %d stage; a swarm needs at least two", len(sp.Stages))
	}
	if (info.First || info.Last) && cfg.Data == nil {
		return nil, fmt.Errorf("swarm: stage %d needs Data (the shared microbatch sampler)", info.Index)
	}
	if cfg.Rows <= 0 {
		return nil, fmt.Errorf("swarm: %d rows per microbatch; it must be positive", cfg.Rows)
	}
	if cfg.Data != nil {
		if b := cfg.Data.At(0); b.Size != cfg.Rows || b.SeqLen != sp.SeqLen {
			return nil, fmt.Errorf("swarm: Data gives %d×%d microbatches, the worker expects %d×%d (rows × seq_len)", b.Size, b.SeqLen, cfg.Rows, sp.SeqLen)
		}
	}
	if cfg.EvalEvery > 0 && (info.First || info.Last) {
		if len(cfg.Eval) == 0 || len(cfg.Eval) >= 1<<evalIdxBits {
			return nil, fmt.Errorf("swarm: evaluation every %d steps needs 1 to %d Eval batches, got %d", cfg.EvalEvery, 1<<evalIdxBits-1, len(cfg.Eval))
		}
		for i, b := range cfg.Eval {
			if b.Size != cfg.Rows || b.SeqLen != sp.SeqLen {
				return nil, fmt.Errorf("swarm: Eval batch %d is %d×%d, the worker expects %d×%d", i, b.Size, b.SeqLen, cfg.Rows, sp.SeqLen)
			}
		}
	}
	if cfg.Microbatches == 0 {
		cfg.Microbatches = 1
	}
	if cfg.Depth == 0 {
		cfg.Depth = 2 * len(sp.Stages)
	}
	if cfg.QueueCap == 0 {
		cfg.QueueCap = 2 * cfg.Depth
	}
	if cfg.Microbatches < 0 || cfg.Depth < 0 || cfg.QueueCap < 0 {
		return nil, fmt.Errorf("swarm: microbatches %d, depth %d, queue %d: each must be positive", cfg.Microbatches, cfg.Depth, cfg.QueueCap)
	}
	if cfg.Wire == 0 {
		cfg.Wire = payload.F32
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = wire.DefaultMaxSize
	}
	if err := cfg.Link.Validate(); err != nil {
		return nil, fmt.Errorf("swarm: %w", err)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.RosterEvery, 10 * time.Second},
		{&cfg.AckTimeout, 10 * time.Second},
		{&cfg.Timeout, time.Minute},
		{&cfg.Blacklist, 30 * time.Second},
		{&cfg.Busy, 100 * time.Millisecond},
		{&cfg.Ban, 10 * time.Minute},
		{&cfg.Drain, 30 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	w := &Worker{
		cfg: cfg, st: st, spec: sp, stage: info.Index, first: info.First, last: info.Last,
		codec:     boundary.Codec{Spec: sp, Wire: cfg.Wire, Engine: st.DType(), Limits: cfg.Limits},
		log:       cfg.Log.With("stage", info.Index),
		acts:      make(chan *event, cfg.QueueCap),
		grads:     make(chan *event, cfg.QueueCap),
		failures:  newMailbox[failure](),
		access:    make(chan accessReq),
		senders:   map[peer.ID]*sender{},
		banned:    map[peer.ID]time.Time{},
		pending:   map[uint64]*pending{},
		applied:   map[uint64]bool{},
		blacklist: map[peer.ID]time.Time{},
		strikes:   map[peer.ID]int{},
		seen:      map[uint64]bool{},
		evalSum:   map[uint64]float64{},
		evalN:     map[uint64]int{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	var err error
	if w.metrics, err = newMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	if err := w.refreshRoster(ctx); err != nil {
		return nil, err
	}
	if w.first {
		r := w.roster.Load()
		idx := -1
		for i, m := range r.Stage(0) {
			if m.Peer == cfg.Host.ID() {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("swarm: this host (%s) is not in the roster's stage 0", cfg.Host.ID())
		}
		w.replica, w.replicas = uint64(idx), uint64(len(r.Stage(0)))
	}
	w.status.Stage = w.stage
	cfg.Host.SetStreamHandler(wire.Protocol, w.handle)
	cfg.Host.Network().Notify(&network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) {
		p := c.RemotePeer()
		if cfg.Host.Network().Connectedness(p) != network.Connected {
			w.failures.push(failure{to: p, outcome: lost, reason: "disconnected"})
		}
	}})
	return w, nil
}

// refreshRoster reads the roster and teaches the peerstore its addresses.
func (w *Worker) refreshRoster(ctx context.Context) error {
	r, err := w.cfg.Roster.Roster(ctx)
	if err != nil {
		return fmt.Errorf("swarm: roster: %w", err)
	}
	if r.Model() != w.cfg.Model || r.Stages() != len(w.spec.Stages) {
		return fmt.Errorf("swarm: the roster is of model %d with %d stages; this worker trains model %d with %d", r.Model(), r.Stages(), w.cfg.Model, len(w.spec.Stages))
	}
	if err := r.Check(w.cfg.Host.ID(), w.stage); err != nil {
		// Registered for another stage is a mistake; not registered yet is
		// a seat on its way (a joining replica), except on stage 0, whose
		// microbatch ids come from its place in the roster.
		if _, other := r.StageOf(w.cfg.Host.ID()); other || w.first {
			return fmt.Errorf("swarm: this worker is not in the roster: %w", err)
		}
		if w.roster.Load() == nil {
			w.log.Warn("not in the roster yet: neighbours refuse this worker's frames until it is", "peer", w.cfg.Host.ID())
		}
	}
	for _, m := range r.Members() {
		if len(m.Addrs) > 0 && m.Peer != w.cfg.Host.ID() {
			w.cfg.Host.Peerstore().AddAddrs(m.Peer, m.Addrs, time.Hour)
		}
	}
	w.roster.Store(r)
	return nil
}

// Seen reports whether this worker has taken microbatch mb: sent it on
// (its gradient may still be coming) or applied it. The state protocol
// answers other replicas' "seen" queries with it.
func (w *Worker) Seen(mb uint64) bool {
	w.seenMu.Lock()
	defer w.seenMu.Unlock()
	return w.seen[mb]
}

func (w *Worker) markSeen(mb uint64) {
	w.seenMu.Lock()
	w.seen[mb] = true
	w.seenMu.Unlock()
}

// Replicas are the members of stage s in r other than self.
func Replicas(r *roster.Roster, s int, self peer.ID) []peer.ID {
	var out []peer.ID
	for _, m := range r.Stage(s) {
		if m.Peer != self {
			out = append(out, m.Peer)
		}
	}
	return out
}

// Roster is the roster in force.
func (w *Worker) Roster() *roster.Roster { return w.roster.Load() }

// Close stops the senders and removes the protocol handler. Call it after
// Run has returned.
func (w *Worker) Close() {
	w.cfg.Host.RemoveStreamHandler(wire.Protocol)
	w.cancel()
	w.wg.Wait()
}

// Status is the worker's current status (for heartbeats and logs).
func (w *Worker) Status() Status {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	s := w.status
	s.Queue = len(w.acts) + len(w.grads)
	s.FrameBytes, s.PayloadBytes, s.ControlBytes = w.frameBytes.Load(), w.payloadBytes.Load(), w.controlBytes.Load()
	return s
}

// Access runs fn with the stage while no operation runs on it (the state
// protocol serves and averages weights through it): on the compute
// goroutine while Run runs, directly otherwise.
func (w *Worker) Access(ctx context.Context, fn func(st *engine.Stage, updates uint64) error) error {
	req := accessReq{fn: fn, done: make(chan error, 1)}
	for {
		if w.computeMu.TryLock() {
			defer w.computeMu.Unlock()
			return fn(w.st, w.updates)
		}
		select {
		case w.access <- req:
			return <-req.done
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond): // Run may have just returned
		}
	}
}

// errFinished ends the compute loop when stage 0 has done its steps.
var errFinished = errors.New("finished")

// Run trains until stage 0 has finished its steps (stage 0 only) or ctx
// ends, then drains (package documentation). It returns nil after a clean
// finish or drain, or the engine's error.
func (w *Worker) Run(ctx context.Context) error {
	w.computeMu.Lock()
	defer w.computeMu.Unlock()
	w.wg.Add(1)
	go w.rosterLoop()
	tick := time.NewTicker(min(w.cfg.Busy, time.Second))
	defer tick.Stop()
	w.sampleAt = time.Now()
	var drainUntil time.Time
	done := ctx.Done()
	target := w.cfg.Steps * uint64(w.cfg.Microbatches)
	for {
		if w.first && target > 0 && w.completed >= target && len(w.pending) == 0 {
			w.setDone()
			w.log.Info("stage 0 finished its steps", "steps", w.cfg.Steps, "microbatches", w.completed)
			return nil
		}
		if !w.draining.Load() && ctx.Err() != nil {
			drainUntil = w.startDrain()
			done = nil
		}
		if w.draining.Load() {
			if len(w.pending) == 0 {
				w.log.Info("drained", "updates", w.updates)
				return nil
			}
			if time.Now().After(drainUntil) {
				w.log.Warn("drain timed out; microbatches outstanding downstream are abandoned (their senders re-send them)", "pending", len(w.pending))
				return nil
			}
		}
		// Gradients first, then failures, then new work.
		select {
		case ev := <-w.grads:
			if err := w.backward(ev); err != nil {
				return err
			}
			continue
		default:
		}
		w.handleFailures(w.failures.take())
		acts := w.acts
		if w.draining.Load() {
			acts = nil
			w.handBack()
		}
		select {
		case ev := <-acts:
			if err := w.forward(ev); err != nil {
				return err
			}
			continue
		default:
		}
		if w.first && !w.draining.Load() && len(w.pending) < w.cfg.Depth && (target == 0 || w.originated < target) {
			if err := w.originate(); err != nil {
				return err
			}
			continue
		}
		select {
		case ev := <-w.grads:
			if err := w.backward(ev); err != nil {
				return err
			}
		case ev := <-acts:
			if err := w.forward(ev); err != nil {
				return err
			}
		case <-w.failures.notify:
		case req := <-w.access:
			req.done <- req.fn(w.st, w.updates)
		case <-tick.C:
			w.checkTimeouts()
		case <-done:
		}
	}
}

func (w *Worker) rosterLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.cfg.RosterEvery)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			if err := w.refreshRoster(w.ctx); err != nil {
				w.log.Warn("roster refresh failed; keeping the previous roster", "err", err)
			}
		}
	}
}

func (w *Worker) startDrain() time.Time {
	w.draining.Store(true)
	w.log.Info("draining: no new work; handing back what is queued, waiting for outstanding gradients", "pending", len(w.pending), "drain", w.cfg.Drain)
	w.handBack()
	return time.Now().Add(w.cfg.Drain)
}

// handBack rejects every queued activations frame, so its sender re-routes
// it; evaluation frames are run instead.
func (w *Worker) handBack() {
	for {
		select {
		case ev := <-w.acts:
			if isEval(ev.mb) { // cheap and not re-sent by anyone: run it
				if err := w.forward(ev); err != nil {
					w.log.Warn("evaluation microbatch failed while draining", "mb", ev.mb, "err", err)
				}
				continue
			}
			f := &wire.Frame{Type: wire.Activations, Model: w.cfg.Model, Stage: uint32(w.stage), Step: ev.step, Microbatch: ev.mb}
			w.seenMu.Lock()
			delete(w.seen, ev.mb) // not taken after all: the replica it goes to next must apply it
			w.seenMu.Unlock()
			ev.conn.reply(f.Reply(wire.Reject, "draining: handed back, send it to another replica"), w.cfg.AckTimeout)
			w.metrics.handedBack.Inc()
		default:
			return
		}
	}
}

// originate draws stage 0's next microbatch and runs its forward.
func (w *Worker) originate() error {
	c := w.originated
	w.originated++
	mb := c*w.replicas + w.replica
	step := c / uint64(w.cfg.Microbatches)
	b := w.cfg.Data.At(mb)
	ids := boundary.IDs(b.Inputs, 0, w.cfg.Rows, w.spec.SeqLen)
	if err := w.forward(&event{typ: wire.Activations, step: step, mb: mb, in: ids, ids: ids}); err != nil {
		return err
	}
	if every := w.cfg.EvalEvery * uint64(w.cfg.Microbatches); every > 0 && w.originated%every == 0 {
		round := w.originated / every
		for k, eb := range w.cfg.Eval {
			ids := boundary.IDs(eb.Inputs, 0, w.cfg.Rows, w.spec.SeqLen)
			if err := w.forward(&event{typ: wire.Activations, step: round * w.cfg.EvalEvery, mb: evalID(w.replica, round, k), in: ids, ids: ids}); err != nil {
				return err
			}
		}
	}
	return nil
}

// forward runs a microbatch's forward: the last stage also its loss and
// backward.
func (w *Worker) forward(ev *event) error {
	defer w.updateStatus()
	if w.last {
		return w.lastStage(ev)
	}
	out, err := w.st.Forward(ev.in, ev.ids)
	if err != nil {
		return fmt.Errorf("swarm: stage %d forward of microbatch %d: %w", w.stage, ev.mb, err)
	}
	msg, err := w.codec.EncodeActivations(out, ev.ids, ev.step, uint32(ev.mb))
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: encoding activations: %w", w.stage, ev.mb, err)
	}
	w.metrics.forwards.Inc()
	if isEval(ev.mb) { // forward only, fire and forget
		if to, ok := w.pick(ev.mb); ok {
			w.send(to, &wire.Frame{Type: wire.Activations, Model: w.cfg.Model, Stage: uint32(w.stage + 1), Step: ev.step, Microbatch: ev.mb, Body: msg})
		} else {
			w.log.Warn("no live replica of the next stage; evaluation microbatch dropped", "mb", ev.mb)
		}
		return nil
	}
	if old := w.pending[ev.mb]; old != nil {
		w.log.Debug("microbatch arrived again; running it again", "mb", ev.mb, "from", ev.from, "was_from", old.from)
	}
	w.pending[ev.mb] = &pending{step: ev.step, in: ev.in, ids: ev.ids, from: ev.from, msg: msg, replay: ev.replay, elsewhere: ev.elsewhere}
	w.markSeen(ev.mb)
	w.route(ev.mb)
	return nil
}

// lastStage computes the loss and the gradient of a microbatch and returns
// the gradient to its sender.
func (w *Worker) lastStage(ev *event) error {
	if isEval(ev.mb) {
		return w.evaluate(ev)
	}
	targets := boundary.IDs(w.cfg.Data.At(ev.mb).Targets, 0, w.cfg.Rows, w.spec.SeqLen)
	var dIn *tensors.Tensor
	var err error
	if w.applied[ev.mb] || ev.elsewhere {
		_, dIn, _, err = w.st.Gradients(ev.in, ev.ids, targets)
		w.metrics.repeats.Inc()
		w.repeats++
	} else {
		var loss float64
		var tap *engine.Tap
		if w.tapDue() {
			dIn, loss, tap, err = w.st.BackwardLossTap(ev.in, ev.ids, targets)
		} else {
			dIn, loss, err = w.st.BackwardLoss(ev.in, ev.ids, targets)
		}
		if err == nil {
			w.emitTap(tap)
			w.applied[ev.mb] = true
			w.markSeen(ev.mb)
			w.updates++
			w.opsWindow++
			w.metrics.backwards.Inc()
			w.metrics.loss.Set(loss)
			w.statusMu.Lock()
			w.status.Loss = loss
			w.statusMu.Unlock()
			if w.cfg.OnLoss != nil {
				w.cfg.OnLoss(Loss{Microbatch: ev.mb, Step: ev.step, Loss: loss})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("swarm: last stage, microbatch %d: %w", ev.mb, err)
	}
	return w.sendGradients(ev.from, ev.step, ev.mb, dIn)
}

// evaluate takes an evaluation microbatch's loss (no update, nothing sent
// back) and reports the round once all its batches are in.
func (w *Worker) evaluate(ev *event) error {
	key, round, k := evalParts(ev.mb)
	if k >= len(w.cfg.Eval) {
		w.log.Warn("evaluation microbatch of an unknown batch; dropped", "mb", ev.mb, "batch", k, "batches", len(w.cfg.Eval))
		return nil
	}
	loss, err := w.st.Loss(ev.in, ev.ids, boundary.IDs(w.cfg.Eval[k].Targets, 0, w.cfg.Rows, w.spec.SeqLen))
	if err != nil {
		return fmt.Errorf("swarm: last stage, evaluation microbatch %d: %w", ev.mb, err)
	}
	w.evalSum[key] += loss
	w.evalN[key]++
	if w.evalN[key] == len(w.cfg.Eval) {
		mean := w.evalSum[key] / float64(len(w.cfg.Eval))
		delete(w.evalSum, key)
		delete(w.evalN, key)
		w.metrics.valLoss.Set(mean)
		if w.cfg.OnEval != nil {
			w.cfg.OnEval(Eval{Round: round, Step: ev.step, Loss: mean})
		}
	}
	return nil
}

func (w *Worker) sendGradients(to peer.ID, step, mb uint64, dIn *tensors.Tensor) error {
	msg, err := w.codec.EncodeGradients(dIn, step, uint32(mb))
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: encoding gradients: %w", w.stage, mb, err)
	}
	w.send(to, &wire.Frame{Type: wire.Gradients, Model: w.cfg.Model, Stage: uint32(w.stage - 1), Step: step, Microbatch: mb, Body: msg})
	return nil
}

// backward runs the backward of a microbatch whose gradient came back.
func (w *Worker) backward(ev *event) error {
	defer w.updateStatus()
	p := w.pending[ev.mb]
	if p == nil {
		w.metrics.late.Inc()
		w.late++
		w.log.Debug("gradient of a microbatch not outstanding; dropped", "mb", ev.mb, "from", ev.from)
		return nil
	}
	delete(w.pending, ev.mb)
	delete(w.strikes, ev.from)
	var dIn *tensors.Tensor
	var err error
	if w.applied[ev.mb] || p.elsewhere {
		_, dIn, _, err = w.st.Gradients(p.in, p.ids, ev.dOut)
		w.metrics.repeats.Inc()
		w.repeats++
	} else {
		var tap *engine.Tap
		if w.tapDue() {
			dIn, tap, err = w.st.BackwardTap(p.in, p.ids, ev.dOut)
		} else {
			dIn, err = w.st.Backward(p.in, p.ids, ev.dOut)
		}
		if err == nil {
			w.emitTap(tap)
			w.applied[ev.mb] = true
			w.updates++
			w.opsWindow++
			w.metrics.backwards.Inc()
		}
	}
	if err != nil {
		return fmt.Errorf("swarm: stage %d backward of microbatch %d: %w", w.stage, ev.mb, err)
	}
	if w.first {
		w.completed++
		w.metrics.completed.Inc()
		if w.cfg.OnDone != nil {
			w.cfg.OnDone(ev.mb)
		}
		return nil
	}
	return w.sendGradients(p.from, p.step, ev.mb, dIn)
}

// tapDue says whether the next update is the first of one of this worker's steps and a tap is
// wanted.
func (w *Worker) tapDue() bool {
	return w.cfg.OnTap != nil && w.updates%uint64(w.cfg.Microbatches) == 0
}

// emitTap hands a tap to OnTap with its step; called before the update is counted.
func (w *Worker) emitTap(t *engine.Tap) {
	if t != nil {
		w.cfg.OnTap(w.updates/uint64(w.cfg.Microbatches), t)
	}
}

// route sends a pending microbatch to the least-loaded live replica of the
// next stage, or leaves it unrouted (retried on the next tick).
func (w *Worker) route(mb uint64) {
	p := w.pending[mb]
	to, ok := w.pick(mb)
	if !ok {
		if p.to != "" || p.resends == 0 {
			w.log.Warn("no live replica of the next stage; holding the microbatch", "mb", mb, "next_stage", w.stage+1)
		}
		p.to = ""
		p.resends++
		return
	}
	p.to, p.sentAt = to, time.Now()
	var flags wire.Flags
	if p.replay || p.resends > 0 {
		flags = wire.Replay
	}
	w.send(to, &wire.Frame{Type: wire.Activations, Flags: flags, Model: w.cfg.Model, Stage: uint32(w.stage + 1), Step: p.step, Microbatch: mb, Body: p.msg})
}

// pick chooses the next stage's replica for microbatch mb: the least
// loaded of those not blacklisted (package documentation).
func (w *Worker) pick(mb uint64) (peer.ID, bool) {
	now := time.Now()
	var cands []peer.ID
	for _, m := range w.roster.Load().Stage(w.stage + 1) {
		if until, ok := w.blacklist[m.Peer]; ok && now.Before(until) {
			continue
		}
		cands = append(cands, m.Peer)
	}
	if len(cands) == 0 {
		return "", false
	}
	if isEval(mb) {
		// A round's batches stay together, so one last-stage replica sees
		// the whole round (the roster lists a stage's members by peer id).
		key, _, _ := evalParts(mb)
		return cands[key%uint64(len(cands))], true
	}
	outstanding := map[peer.ID]int{}
	for _, q := range w.pending {
		if q.to != "" {
			outstanding[q.to]++
		}
	}
	type scored struct {
		p    peer.ID
		load float64
	}
	all := true
	sc := make([]scored, len(cands))
	for i, c := range cands {
		sc[i] = scored{p: c, load: float64(outstanding[c])}
		if w.cfg.Load != nil {
			if q, tput, ok := w.cfg.Load(c); ok && tput > 0 {
				sc[i].load += float64(q)
				sc[i].load /= tput
				continue
			}
		}
		all = false
	}
	if !all { // not comparable: fall back to counts
		for i, c := range cands {
			sc[i].load = float64(outstanding[c])
		}
	}
	// Ties go round-robin by microbatch id, so equal replicas share the work.
	off := int(mb % uint64(len(sc)))
	sort.SliceStable(sc, func(i, j int) bool { return sc[i].load < sc[j].load })
	best := sc[0]
	for k := range sc {
		c := sc[(off+k)%len(sc)]
		if c.load == best.load {
			best = c
			break
		}
	}
	return best.p, true
}

// handleFailures re-routes microbatches whose delivery failed.
func (w *Worker) handleFailures(fs []failure) {
	for _, f := range fs {
		switch {
		case f.typ == 0: // the peer disconnected
			var held []uint64
			for mb, p := range w.pending {
				if p.to == f.to {
					held = append(held, mb)
				}
			}
			if len(held) == 0 { // nothing to re-send: a quiet blacklisting (peers leave at the end of a run)
				w.penalize(f.to, time.Second, "")
				continue
			}
			w.fail(f.to, fmt.Sprintf("%s with %d microbatches outstanding", f.reason, len(held)))
			for _, mb := range held {
				w.reroute(mb, w.pending[mb])
			}
		case f.typ == wire.Gradients:
			if f.outcome == busy && f.frame != nil {
				fr, to := f.frame, f.to
				time.AfterFunc(w.cfg.Busy, func() { w.send(to, fr) })
				continue
			}
			w.metrics.gradsLost.Inc()
			w.log.Warn("gradient not delivered; its sender will re-send the microbatch", "mb", f.mb, "peer", f.to, "outcome", f.outcome, "reason", f.reason)
		default:
			p := w.pending[f.mb]
			if p == nil || p.to != f.to {
				continue // answered or moved already
			}
			if f.outcome == busy {
				w.penalize(f.to, w.cfg.Busy, "")
			} else {
				w.fail(f.to, f.reason)
			}
			w.reroute(f.mb, p)
		}
	}
}

// fail blacklists a peer after a failure: for a second at the first
// strike (a worker that was still starting), doubling with each
// consecutive one up to Config.Blacklist; a gradient from the peer clears
// its strikes.
func (w *Worker) fail(p peer.ID, reason string) {
	d := time.Second << min(w.strikes[p], 20)
	w.strikes[p]++
	w.penalize(p, min(d, w.cfg.Blacklist), reason)
}

func (w *Worker) penalize(p peer.ID, d time.Duration, reason string) {
	until := time.Now().Add(d)
	if old, ok := w.blacklist[p]; ok && old.After(until) {
		return
	}
	w.blacklist[p] = until
	if reason != "" {
		w.metrics.blacklisted.Inc()
		w.log.Warn("peer blacklisted", "peer", p, "for", d, "reason", reason)
	}
}

func (w *Worker) reroute(mb uint64, p *pending) {
	p.resends++
	w.metrics.resent.Inc()
	p.to = ""
	w.route(mb)
}

// checkTimeouts re-sends microbatches held too long and retries unrouted
// ones; it also samples the throughput.
func (w *Worker) checkTimeouts() {
	now := time.Now()
	for mb, p := range w.pending {
		switch {
		case p.to == "":
			w.route(mb)
		case now.Sub(p.sentAt) > w.cfg.Timeout:
			w.fail(p.to, fmt.Sprintf("microbatch %d not answered within %v", mb, w.cfg.Timeout))
			w.reroute(mb, p)
		}
	}
	w.updateStatus()
}

func (w *Worker) updateStatus() {
	now := time.Now()
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	if dt := now.Sub(w.sampleAt); dt >= time.Second {
		rate := float64(w.opsWindow) / dt.Seconds()
		if w.status.Throughput == 0 {
			w.status.Throughput = rate
		} else {
			w.status.Throughput = 0.7*w.status.Throughput + 0.3*rate
		}
		w.opsWindow, w.sampleAt = 0, now
	}
	m := uint64(w.cfg.Microbatches)
	w.status.Updates, w.status.Completed, w.status.Pending = w.updates, w.completed, len(w.pending)
	w.status.Repeats, w.status.Late = w.repeats, w.late
	if w.first {
		w.status.Step = w.completed / m
	} else {
		w.status.Step = w.updates / m
	}
	w.metrics.pending.Set(float64(len(w.pending)))
}

func (w *Worker) setDone() {
	w.updateStatus()
	w.statusMu.Lock()
	w.status.Done = true
	w.statusMu.Unlock()
}
