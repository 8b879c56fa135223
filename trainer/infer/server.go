package infer

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/p2p"
)

// shape wraps a stream whose writes cross cfg's emulated path; an ideal path leaves it as it is.
func shape(s network.Stream, cfg link.Config) (network.Stream, error) {
	if cfg.Bandwidth == 0 && cfg.Latency == 0 && cfg.Jitter == 0 && cfg.Loss == 0 {
		return s, nil
	}
	return p2p.Shape(s, cfg, nil)
}

// ServerConfig is a worker's side of the inference protocol.
type ServerConfig struct {
	Host  host.Host
	Model uint64
	// Stage runs the sessions: a serving copy of the stage's weights, never the stage a worker
	// trains (engine.Stage is not safe for concurrent use). Server.Swap replaces it.
	Stage *engine.Stage
	// MaxSessions bounds the open sessions (0: 64), and half of it a peer's; one more is
	// refused as busy.
	MaxSessions int
	// MaxBatch bounds the sessions' steps run in one call (0: 16).
	MaxBatch int
	// Idle closes a session that sends nothing for this long (0: two minutes).
	Idle time.Duration
	// Link shapes the replies as an emulated WAN path (benchmarks, tests; zero: as they are).
	Link link.Config
	Log  *slog.Logger
	// Metrics, when set, receives the server's metrics.
	Metrics prometheus.Registerer
}

// Server serves one stage's sessions: each stream is a session with its own KV cache, and the
// steps of the sessions waiting at the same moment run as one batch.
type Server struct {
	cfg      ServerConfig
	stage    atomic.Pointer[engine.Stage]
	index    int
	last     bool
	width    int // the input rows' width (0 on stage 0)
	jobs     chan *job
	sessions atomic.Int64
	mu       sync.Mutex
	open     map[network.Stream]peer.ID // the sessions' streams, reset by Close
	perPeer  map[peer.ID]int
	done     chan struct{}
	wg       sync.WaitGroup
	m        serverMetrics
}

// firstStep is how long a new session may wait before its first step.
const firstStep = 10 * time.Second

type job struct {
	stage  *engine.Stage
	in     engine.DecodeInput
	sample Sampling
	reply  chan []byte
}

type serverMetrics struct {
	sessions  prometheus.Gauge
	positions prometheus.Counter
	batches   prometheus.Counter
	refused   prometheus.Counter
}

// Serve starts serving cfg.Stage's stage of cfg.Model on cfg.Host.
func Serve(cfg ServerConfig) (*Server, error) {
	if cfg.Host == nil || cfg.Stage == nil {
		return nil, errors.New("infer: a server needs a host and a stage")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 64
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 16
	}
	cfg.MaxBatch = min(cfg.MaxBatch, engine.MaxDecodeBatch)
	if cfg.Idle <= 0 {
		cfg.Idle = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	info := cfg.Stage.Info()
	s := &Server{
		cfg: cfg, index: info.Index, last: info.Last, jobs: make(chan *job), done: make(chan struct{}),
		open: map[network.Stream]peer.ID{}, perPeer: map[peer.ID]int{},
	}
	if !info.First {
		s.width = cfg.Stage.OutWidth()
	}
	s.stage.Store(cfg.Stage)
	s.m = serverMetrics{
		sessions:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "protolearn_infer_sessions", Help: "Inference sessions open on this stage."}),
		positions: prometheus.NewCounter(prometheus.CounterOpts{Name: "protolearn_infer_positions_total", Help: "Positions (prompt and generated tokens) run through this stage for inference."}),
		batches:   prometheus.NewCounter(prometheus.CounterOpts{Name: "protolearn_infer_batches_total", Help: "Decode calls run for inference (each a batch of sessions' steps)."}),
		refused:   prometheus.NewCounter(prometheus.CounterOpts{Name: "protolearn_infer_refused_total", Help: "Inference sessions or steps refused (bad input, busy, wrong model or stage)."}),
	}
	if err := promserve.Register(cfg.Metrics, "infer", s.m.sessions, s.m.positions, s.m.batches, s.m.refused); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.batcher()
	cfg.Host.SetStreamHandler(Protocol, s.handle)
	return s, nil
}

// Swap makes st serve the sessions opened from now on; open sessions keep the weights they
// started with, so that a session's cache and its later steps agree.
func (s *Server) Swap(st *engine.Stage) error {
	if st.Info() != s.stage.Load().Info() || st.Spec().SeqLen != s.stage.Load().Spec().SeqLen {
		return errors.New("infer: a swapped stage must be the same stage of the same model")
	}
	s.stage.Store(st)
	return nil
}

// Sessions is the number of open sessions.
func (s *Server) Sessions() int { return int(s.sessions.Load()) }

// Close stops taking sessions and ends the open ones.
func (s *Server) Close() {
	s.cfg.Host.RemoveStreamHandler(Protocol)
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	for str := range s.open {
		_ = str.Reset()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// BusyReason begins a refusal for want of room: the replica is alive, try another.
const BusyReason = "busy"

// admit counts a new session of p, or says why it is refused.
func (s *Server) admit(str network.Stream, p peer.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return errors.New("the worker is stopping")
	default:
	}
	if len(s.open) >= s.cfg.MaxSessions {
		return fmt.Errorf("%s: %d sessions open", BusyReason, s.cfg.MaxSessions)
	}
	if limit := max(1, s.cfg.MaxSessions/2); s.perPeer[p] >= limit {
		return fmt.Errorf("%s: %d sessions of yours open, the most one peer may hold", BusyReason, limit)
	}
	s.open[str] = p
	s.perPeer[p]++
	s.sessions.Add(1)
	s.m.sessions.Inc()
	return nil
}

func (s *Server) leave(str network.Stream, p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, str)
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
	s.sessions.Add(-1)
	s.m.sessions.Dec()
}

func (s *Server) handle(raw network.Stream) {
	str, err := shape(raw, s.cfg.Link)
	if err != nil {
		_ = raw.Reset()
		return
	}
	defer str.Close()
	log := s.cfg.Log.With("peer", str.Conn().RemotePeer())
	st := s.stage.Load()
	limit := frameLimit(st.Context(), max(s.width, st.OutWidth()))
	r := bufio.NewReader(str)
	refuse := func(format string, args ...any) {
		s.m.refused.Inc()
		msg := fmt.Sprintf(format, args...)
		log.Debug("inference refused", "reason", msg)
		_ = str.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = writeFrame(str, encodeError(msg))
	}
	_ = str.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := readFrame(r, limit)
	if err != nil {
		_ = str.Reset()
		return
	}
	h, err := decodeHello(b)
	if err != nil {
		refuse("%v", err)
		return
	}
	if h.Model != s.cfg.Model || int(h.Stage) != s.index {
		refuse("this worker serves stage %d of model %d, not stage %d of model %d", s.index, s.cfg.Model, h.Stage, h.Model)
		return
	}
	p := raw.Conn().RemotePeer()
	if err := s.admit(raw, p); err != nil {
		refuse("%v", err)
		return
	}
	defer s.leave(raw, p)
	var cache *engine.Cache // made with the first step: a session that sends none holds no cache
	for {
		idle := s.cfg.Idle
		if cache == nil {
			idle = min(idle, firstStep)
		}
		_ = str.SetReadDeadline(time.Now().Add(idle))
		b, err := readFrame(r, limit)
		if err != nil {
			return // the client closed the session, or went silent
		}
		sp, err := decodeStep(b, s.width, s.last)
		if err != nil {
			refuse("%v", err)
			return
		}
		if cache == nil {
			cache = st.NewCache()
		}
		if err := s.check(st, cache, sp); err != nil {
			refuse("%v", err)
			return
		}
		j := &job{stage: st, in: engine.DecodeInput{Cache: cache, IDs: sp.IDs, X: sp.X}, sample: sp.Sample, reply: make(chan []byte, 1)}
		select {
		case s.jobs <- j:
		case <-s.done:
			refuse("the worker is stopping")
			return
		}
		out := <-j.reply
		_ = str.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if err := writeFrame(str, out); err != nil || out[0] == frameError {
			return
		}
	}
}

// check refuses a step the stage cannot run, before it joins a batch (where one bad step
// would fail the others).
func (s *Server) check(st *engine.Stage, c *engine.Cache, sp step) error {
	if c.Len()+len(sp.IDs) > st.Context() {
		return fmt.Errorf("the session would hold %d positions; the model's context is %d", c.Len()+len(sp.IDs), st.Context())
	}
	for _, id := range sp.IDs {
		if id < 0 || int(id) >= st.Spec().Vocab {
			return fmt.Errorf("token id %d outside the vocabulary [0, %d)", id, st.Spec().Vocab)
		}
	}
	return nil
}

// batcher runs the steps waiting at the same moment as one Decode call per set of weights.
func (s *Server) batcher() {
	defer s.wg.Done()
	for {
		var batch []*job
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-s.done:
			return
		}
	more:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		// One call per set of weights, and decode steps (one position) apart from prompts, so
		// that a prompt's length does not pad every decode step of the batch to it.
		for len(batch) > 0 {
			st, one := batch[0].stage, len(batch[0].in.IDs) == 1
			var same, rest []*job
			for _, j := range batch {
				if j.stage == st && (len(j.in.IDs) == 1) == one {
					same = append(same, j)
				} else {
					rest = append(rest, j)
				}
			}
			s.run(st, same)
			batch = rest
		}
	}
}

func (s *Server) run(st *engine.Stage, batch []*job) {
	in := make([]engine.DecodeInput, len(batch))
	for i, j := range batch {
		in[i] = j.in
	}
	s.m.batches.Inc()
	out, err := st.Decode(in)
	for i, j := range batch {
		switch {
		case err != nil:
			s.cfg.Log.Error("inference step failed", "err", err)
			j.reply <- encodeError(fmt.Sprintf("stage %d failed: %v", s.index, err))
		case s.last:
			j.reply <- encodeToken(Sample(out[i], j.sample, j.in.Cache.Len()))
		default:
			j.reply <- encodeRows(out[i])
		}
		s.m.positions.Add(float64(len(j.in.IDs)))
	}
}
