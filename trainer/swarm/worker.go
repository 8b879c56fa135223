package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
	"github.com/protolearn/protolearn/trainer/wire"
)

var linkZero link.Config

// pending is a microbatch this worker has run forward and sent on.
type pending struct {
	step    uint64
	in, ids *tensors.Tensor
	from    peer.ID  // the sender (empty on stage 0)
	input   *Input   // its receipt (nil on stage 0)
	msg     []byte   // the encoded activations, for re-sending
	digest  [32]byte // as logged under each copy's send number (number)
	seq     uint64   // the send number it was last sent under (sendNumber)
	to      peer.ID  // empty while no replica could take it
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
	key         crypto.PrivKey // the host's identity: signs the receipts of the frames sent
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
	blacklist  *blacklist
	originated uint64
	replica    uint64 // stage 0: this worker's index among stage 0's replicas
	replicas   uint64
	updates    uint64
	step       *Step // the step being made, from its first update (when OnTap is set)
	// drawOf is the draw index of each of stage 0's microbatches in flight (Config.Draw).
	drawOf map[uint64]uint64
	// startRoot is the state root before the current step's first update (Config.StateRoots).
	startRoot [32]byte
	// startHead is the replay log's head there (Config.LogHead).
	startHead [32]byte
	// ending is the step whose last update was just taken, handed to OnTap once that update
	// is logged and the state's root after it taken (stepEnd); endRoot and endHead are the
	// last step's end, which the next step starts from when the log has not moved since (no
	// average between): one root a step, not two.
	ending           *Step
	endRoot, endHead [32]byte
	ended            bool
	completed        uint64
	// seq is the last send number given (number); sends are the payloads signed since the last
	// update, which that update's log record names (with OnUpdate).
	seq       uint64
	sends     []logevent.Send
	repeats   uint64
	late      uint64
	opsWindow int // backward operations since the last throughput sample
	sampleAt  time.Time

	statusMu sync.Mutex
	status   Status

	evalSum map[uint64]float64 // last stage: per round key (sender, round)
	evalN   map[uint64]int

	seenMu sync.Mutex
	seen   map[uint64]bool // microbatches taken (sent on or applied), for SeenElsewhere queries

	frameBytes, payloadBytes, controlBytes atomic.Uint64
}

// now is the worker's clock: Config.Clock, or the wall clock.
func (w *Worker) now() time.Time {
	if w.cfg.Clock != nil {
		return w.cfg.Clock.Now()
	}
	return time.Now()
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
	var err error
	w := &Worker{
		cfg: cfg, st: st, spec: sp, stage: info.Index, first: info.First, last: info.Last,
		codec:    boundary.Codec{Spec: sp, Wire: cfg.Wire, Engine: st.DType(), Limits: cfg.Limits},
		log:      cfg.Log.With("stage", info.Index),
		acts:     make(chan *event, cfg.QueueCap),
		grads:    make(chan *event, cfg.QueueCap),
		failures: newMailbox[failure](),
		access:   make(chan accessReq),
		senders:  map[peer.ID]*sender{},
		banned:   map[peer.ID]time.Time{},
		pending:  map[uint64]*pending{},
		applied:  map[uint64]bool{},
		drawOf:   map[uint64]uint64{},
		seen:     map[uint64]bool{},
		evalSum:  map[uint64]float64{},
		evalN:    map[uint64]int{},
	}
	if w.key, err = identityKey(w); err != nil {
		return nil, err
	}
	w.blacklist = newBlacklist(time.Second, cfg.Blacklist, w.now)
	w.ctx, w.cancel = context.WithCancel(context.Background())
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
		if w.first && !w.draining.Load() && len(w.pending) < w.cfg.Depth && (target == 0 || w.originated < target) && (w.cfg.Hold == nil || !w.cfg.Hold()) {
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
