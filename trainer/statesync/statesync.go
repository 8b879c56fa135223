// Package statesync is the stage-state protocol, /protolearn/state/1.0.0:
// a replica of a stage hands its weights (and optimizer state) to another
// replica of the same stage — a worker joining mid-run downloads the state
// before it takes work, and replicas average their parameters every few
// updates. State never leaves a stage: the server serves only peers the
// roster registers for its own stage (the unextractability rule of
// docs/ARCHITECTURE.md: no worker can collect a model it has no seats for).
//
// # Bytes
//
// The client opens a stream and writes one request, then closes its write
// side:
//
//	offset  size  field
//	0       4     magic "PLS1"
//	4       8     model id (uint64, little-endian)
//	12      4     stage (uint32, little-endian)
//	16      1     what: 0 full state (parameters + optimizer state),
//	              1 parameters, 2 seen (has this replica taken microbatch …),
//	              3 replay log (from the step that started at state root …)
//	17      8     microbatch id (what = 2 only; the request is then 25 bytes)
//	17      32    state root (what = 3 only; the request is then 49 bytes)
//
// The server answers with one status byte and the rest of the stream: 0 and,
// for a state (what = 0 or 1), the server's signature (a uint16 length, then
// the Ed25519 signature of its libp2p identity over StateMessage: what it
// serves is its word, so a replica that averaged with it or joined from it can
// show a referee whose state it took) and a trainer/checkpoint stream of that
// selection; for "seen", one byte, 1 if the replica has applied the microbatch
// or holds it in flight, else 0; for a replay log, the replaylog bundle of the
// segment holding the update the replica logged that root before and every
// later one of its epoch (unsigned, one request at a time); or 1 and the
// reason for the refusal (UTF-8, at most MaxReason bytes), then
// closes. "Seen" keeps a microbatch re-sent after a failure from being
// applied by two replicas of a stage (trainer/swarm, "Exactly once"). A refused or
// malformed request is logged with the peer and the reason, and the stream
// reset after the reason.
//
// # Authorization
//
// The server checks, in this order: the request parses strictly (exact
// length, magic, a known kind); it names the model and stage this server
// serves; and authorize (roster.Roster.Check for the served stage) accepts
// the remote peer. Only then is the stage touched. A peer of another stage,
// or one the roster does not know, gets a refusal and no byte of state.
//
// # Deadlines and bounds
//
// The request must arrive, write side closed, within Server.RequestTimeout
// (10 s by default); waiting for the stage and writing the answer within
// Server.WriteTimeout. The state is serialized into memory inside the
// access function and written after it returns, so the stage is never held
// while a client reads. The client bounds what it reads: Fetch refuses an
// answer of more than its limit and reads at most MaxReason bytes of a
// reason (invalid UTF-8 replaced), and checkpoint.Read then checks the stream before it changes the stage.
package statesync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replaylog"
)

// Protocol is the libp2p protocol id.
const Protocol = "/protolearn/state/1.0.0"

// MaxReason bounds a refusal's reason.
const MaxReason = 512

const (
	requestSize     = 17
	seenRequestSize = 25
	logRequestSize  = 49
	maxRequestSize  = logRequestSize
	statusOK        = 0
	statusNo        = 1
	// whatSeen is the request byte of a "seen" query; whatLog+q that of a replay-log query q
	// (replaylog.Query: from a state root, from its epoch's start, the epoch ending at a head).
	whatSeen = 2
	whatLog  = 3
)

var magic = [4]byte{'P', 'L', 'S', '1'}

// Request is what a client asks for: a checkpoint of Selection, or, with
// Seen set, whether the replica has taken Microbatch, or, with Log set, the
// replica's replay log as LogQuery asks, from Root (a state root, or a log head).
type Request struct {
	Model      uint64
	Stage      int
	Selection  checkpoint.Selection
	Seen       bool
	Microbatch uint64
	Log        bool
	LogQuery   replaylog.Query
	Root       [32]byte
}

func (r Request) marshal() []byte {
	b := make([]byte, 0, maxRequestSize)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint64(b, r.Model)
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Stage))
	if r.Seen {
		return binary.LittleEndian.AppendUint64(append(b, whatSeen), r.Microbatch)
	}
	if r.Log {
		return append(append(b, whatLog+byte(r.LogQuery)), r.Root[:]...)
	}
	return append(b, byte(r.Selection))
}

// parseRequest decodes a request strictly.
func parseRequest(b []byte) (Request, error) {
	if len(b) != requestSize && len(b) != seenRequestSize && len(b) != logRequestSize {
		return Request{}, fmt.Errorf("request of %d bytes, want %d, %d or %d", len(b), requestSize, seenRequestSize, logRequestSize)
	}
	if [4]byte(b[:4]) != magic {
		return Request{}, fmt.Errorf("request magic %q, want %q", b[:4], magic[:])
	}
	r := Request{Model: binary.LittleEndian.Uint64(b[4:12]), Stage: int(binary.LittleEndian.Uint32(b[12:16]))}
	switch {
	case b[16] == whatSeen && len(b) == seenRequestSize:
		r.Seen, r.Microbatch = true, binary.LittleEndian.Uint64(b[17:])
	case b[16] >= whatLog && b[16] <= whatLog+byte(replaylog.QueryEndingAt) && len(b) == logRequestSize:
		r.Log, r.LogQuery, r.Root = true, replaylog.Query(b[16]-whatLog), [32]byte(b[17:])
	case (b[16] == byte(checkpoint.Full) || b[16] == byte(checkpoint.Params)) && len(b) == requestSize:
		r.Selection = checkpoint.Selection(b[16])
	default:
		return Request{}, fmt.Errorf("request kind %d with %d bytes", b[16], len(b))
	}
	return r, nil
}

// Access runs fn with the stage while nothing else uses it, passing the
// stage's update count (swarm.Worker.Access).
type Access func(ctx context.Context, fn func(st *engine.Stage, step uint64) error) error

// Server serves one stage's state.
type Server struct {
	h         host.Host
	model     uint64
	stage     int
	access    Access
	authorize func(p peer.ID) error
	log       *slog.Logger
	// RequestTimeout bounds reading a request (DefaultRequestTimeout, 10 s, by
	// default); a client that has not sent its request and closed its
	// write side by then is reset.
	RequestTimeout time.Duration
	// WriteTimeout bounds waiting for the stage (access) and writing the
	// answer (a minute by default).
	WriteTimeout time.Duration
	seen         atomic.Pointer[func(mb uint64) bool]
	// LogWait bounds how long a replay-log request waits for its turn (WriteTimeout by
	// default); then it is refused as busy, which a referee does not hold against the worker.
	LogWait   time.Duration
	replayLog atomic.Pointer[func(key [32]byte, q replaylog.Query) ([]byte, error)]
	// logTurn is held by the replay-log request being served (each can be a few snapshots, so
	// one at a time); requests wait for it in the order they came (a channel's waiting senders
	// are served first in, first out), and each peer has at most one request in (logAsking),
	// so a replica asking again and again cannot keep the other replicas' referees from a
	// worker's log: each is served within the others' one turn each.
	logTurn   chan struct{}
	logMu     sync.Mutex
	logAsking map[peer.ID]bool
	logQueued atomic.Int32 // requests waiting for their turn (tests watch it)
}

// SetLog sets what answers replay-log requests (replaylog.Log.Serve with the
// server's bound); until it is set they are refused. Safe while the server
// serves.
func (s *Server) SetLog(f func(key [32]byte, q replaylog.Query) ([]byte, error)) {
	s.replayLog.Store(&f)
}

// SetSeen sets what answers "seen" queries (swarm.Worker.Seen); until it
// is set they are refused. Safe while the server serves.
func (s *Server) SetSeen(f func(mb uint64) bool) { s.seen.Store(&f) }

// DefaultRequestTimeout is a Server's default bound on reading a request.
const DefaultRequestTimeout = 10 * time.Second

// Serve registers the protocol on h for the stage: authorize returns an
// error for a peer that is not registered for this stage (a roster check,
// roster.Roster.Check), and the server then refuses it. access runs a
// function on the stage while nothing else uses it (swarm.Worker.Access):
// the state is serialized into memory inside it and written after, so a
// slow client never holds the stage. Set the Server's fields before the
// first request arrives. Stop with Close.
func Serve(h host.Host, model uint64, stage int, access Access, authorize func(p peer.ID) error, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		h: h, model: model, stage: stage, access: access, authorize: authorize, log: log.With("protocol", Protocol),
		RequestTimeout: DefaultRequestTimeout, WriteTimeout: time.Minute, logTurn: make(chan struct{}, 1), logAsking: map[peer.ID]bool{},
	}
	h.SetStreamHandler(Protocol, s.handle)
	return s
}

// Close removes the handler.
func (s *Server) Close() { s.h.RemoveStreamHandler(Protocol) }

func (s *Server) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(s.RequestTimeout))
	buf := make([]byte, maxRequestSize+1)
	n, err := io.ReadFull(st, buf)
	if err == nil || n > maxRequestSize {
		s.refuse(st, p, fmt.Sprintf("request longer than %d bytes", maxRequestSize))
		return
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		s.log.Warn("no complete request", "peer", p, "bytes", n, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.SetDeadline(time.Now().Add(s.WriteTimeout))
	req, err := parseRequest(buf[:n])
	if err != nil {
		s.refuse(st, p, err.Error())
		return
	}
	if req.Model != s.model || req.Stage != s.stage {
		s.refuse(st, p, fmt.Sprintf("this worker serves model %d stage %d, not model %d stage %d", s.model, s.stage, req.Model, req.Stage))
		return
	}
	if err := s.authorize(p); err != nil {
		s.refuse(st, p, fmt.Sprintf("state of stage %d is served only to its registered replicas: %v", s.stage, err))
		return
	}
	if req.Seen {
		seen := s.seen.Load()
		if seen == nil || *seen == nil {
			s.refuse(st, p, "this worker does not answer seen queries")
			return
		}
		var ans byte
		if (*seen)(req.Microbatch) {
			ans = 1
		}
		_, _ = st.Write([]byte{statusOK, ans})
		_ = st.Close()
		return
	}
	if req.Log {
		s.serveLog(st, p, req.Root, req.LogQuery)
		return
	}
	var body bytes.Buffer
	var step uint64
	ctx, cancel := context.WithTimeout(context.Background(), s.WriteTimeout)
	defer cancel()
	if err := s.access(ctx, func(stage *engine.Stage, updates uint64) error {
		step = updates
		return checkpoint.Write(&body, stage, updates, req.Selection)
	}); err != nil {
		s.log.Error("could not serialize the stage", "peer", p, "err", err)
		s.refuse(st, p, "internal error: "+err.Error())
		return
	}
	key := s.h.Peerstore().PrivKey(s.h.ID())
	if key == nil {
		s.refuse(st, p, "internal error: no identity key to sign the state with")
		return
	}
	sig, err := key.Sign(StateMessage(s.model, s.stage, req.Selection, body.Bytes()))
	if err != nil {
		s.refuse(st, p, "internal error: signing the state: "+err.Error())
		return
	}
	out := bytes.NewBuffer(make([]byte, 0, 3+len(sig)+body.Len()))
	out.WriteByte(statusOK)
	_ = binary.Write(out, binary.LittleEndian, uint16(len(sig)))
	out.Write(sig)
	out.Write(body.Bytes())
	if _, err := st.Write(out.Bytes()); err != nil {
		s.log.Warn("state transfer failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	s.log.Info("served stage state", "peer", p, "selection", req.Selection, "bytes", out.Len()-1, "step", step)
	_ = st.Close()
}

// serveLog answers a referee's request for the replay log from a state root on (or from the
// start of its epoch).
func (s *Server) serveLog(st network.Stream, p peer.ID, root [32]byte, q replaylog.Query) {
	f := s.replayLog.Load()
	if f == nil || *f == nil {
		s.refuse(st, p, "this worker keeps no replay log")
		return
	}
	s.logMu.Lock()
	asking := s.logAsking[p]
	s.logAsking[p] = true
	s.logMu.Unlock()
	if asking {
		s.refuse(st, p, "busy: this replica already has a replay-log request in; one at a time")
		return
	}
	// Released before the stream closes: a referee that reads the log to its end and asks again
	// at once (the epoch after, say) must not find its first request still in.
	released := false
	release := func() {
		if !released {
			released = true
			s.logMu.Lock()
			delete(s.logAsking, p)
			s.logMu.Unlock()
		}
	}
	defer release()
	wait := s.LogWait
	if wait == 0 {
		wait = s.WriteTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	s.logQueued.Add(1)
	select {
	case s.logTurn <- struct{}{}:
		s.logQueued.Add(-1)
	case <-t.C:
		s.logQueued.Add(-1)
		release()
		s.refuse(st, p, "busy serving other replicas' replay logs: ask again later")
		return
	}
	defer func() { <-s.logTurn }()
	_ = st.SetDeadline(time.Now().Add(s.WriteTimeout)) // the answer's time starts with its turn
	body, err := (*f)(root, q)
	if err != nil {
		release()
		s.refuse(st, p, err.Error())
		return
	}
	if _, err := st.Write(append([]byte{statusOK}, body...)); err != nil {
		s.log.Warn("replay log transfer failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	s.log.Info("served a replay log", "peer", p, "root", fmt.Sprintf("%x", root[:6]), "bytes", len(body))
	release()
	_ = st.Close()
}

// refuse answers with the reason, logs it and resets the stream. A client
// that closed its write side after its request (as Fetch does) reads the
// whole reason: the stream is then finished on both sides and the reset
// sends nothing; a client still writing may see the reset instead.
func (s *Server) refuse(st network.Stream, p peer.ID, reason string) {
	reason = truncate(reason)
	s.log.Warn("refused a state request", "peer", p, "reason", reason)
	_, _ = st.Write(append([]byte{statusNo}, reason...))
	_ = st.CloseWrite()
	_ = st.Reset()
}

// truncate cuts a reason to at most MaxReason bytes, never inside a rune.
func truncate(reason string) string {
	if len(reason) <= MaxReason {
		return reason
	}
	cut := MaxReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// ErrRefused wraps a server's refusal.
var ErrRefused = errors.New("statesync: refused")

// Fetch asks p for a stage's state and returns the checkpoint stream it
// sent (at most limit bytes).
func Fetch(ctx context.Context, h host.Host, p peer.ID, req Request, limit int64) ([]byte, error) {
	return fetch(ctx, h, p, req, limit, limit)
}

// fetch reads at most read bytes of answer; an answer beyond is refused as more than limit
// bytes of state (read leaves room for a signature before the state).
func fetch(ctx context.Context, h host.Host, p peer.ID, req Request, read, limit int64) ([]byte, error) {
	s, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("statesync: peer %s: %w", p, err)
	}
	defer s.Reset() //nolint:errcheck // a no-op after a clean close
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if _, err := s.Write(req.marshal()); err != nil {
		return nil, fmt.Errorf("statesync: peer %s: request: %w", p, err)
	}
	if err := s.CloseWrite(); err != nil {
		return nil, fmt.Errorf("statesync: peer %s: %w", p, err)
	}
	var status [1]byte
	if _, err := io.ReadFull(s, status[:]); err != nil {
		return nil, fmt.Errorf("statesync: peer %s: no answer: %w", p, err)
	}
	if status[0] == statusNo {
		reason, _ := io.ReadAll(io.LimitReader(s, MaxReason))
		return nil, fmt.Errorf("%w by peer %s: %s", ErrRefused, p, strings.ToValidUTF8(string(reason), "\uFFFD"))
	}
	if status[0] != statusOK {
		return nil, fmt.Errorf("statesync: peer %s: unknown status %d", p, status[0])
	}
	body, err := io.ReadAll(io.LimitReader(s, read+1))
	if err != nil {
		return nil, fmt.Errorf("statesync: peer %s: reading state: %w", p, err)
	}
	if int64(len(body)) > read {
		return nil, fmt.Errorf("statesync: peer %s sent more than %d bytes of state", p, limit)
	}
	return body, nil
}

// FetchLog asks p, a replica of the stage, for its replay log from the step that started at
// state root on (replaylog.DecodeBundle reads it), of at most limit bytes.
func FetchLog(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, root [32]byte, limit int64) ([]byte, error) {
	return Fetch(ctx, h, p, Request{Model: model, Stage: stage, Log: true, Root: root}, limit)
}

// FetchEpochLog is FetchLog from the start of the epoch that holds root (replaylog's
// FromEpoch).
func FetchEpochLog(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, root [32]byte, limit int64) ([]byte, error) {
	return Fetch(ctx, h, p, Request{Model: model, Stage: stage, Log: true, LogQuery: replaylog.QueryFromEpoch, Root: root}, limit)
}

// FetchEpochEndingAt asks p for its earlier epoch whose log ended at head (replaylog's
// EndingAt).
func FetchEpochEndingAt(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, head [32]byte, limit int64) ([]byte, error) {
	return Fetch(ctx, h, p, Request{Model: model, Stage: stage, Log: true, LogQuery: replaylog.QueryEndingAt, Root: head}, limit)
}

// StateMessage is what a server signs over a state it serves (logevent.StateMessage): the
// domain, the model, the stage, the selection, the SHA-256 of the checkpoint stream and the
// statecommit root of its tensors (checkpoint.StreamRoot), which lets the chain open any chunk
// of a state a worker mixed in. A body that is no checkpoint stream is named with a zero root,
// which no verifier accepts.
func StateMessage(model uint64, stage int, sel checkpoint.Selection, body []byte) []byte {
	root, err := checkpoint.StreamRoot(body, math.MaxInt64)
	if err != nil {
		root = [32]byte{}
	}
	return logevent.StateMessage(model, uint32(stage), uint8(sel), sha256.Sum256(body), root)
}

// VerifyState checks that p signed body as its state of the model's stage.
func VerifyState(p peer.ID, model uint64, stage int, sel checkpoint.Selection, body, sig []byte) error {
	pub, err := p.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("statesync: peer %s: no public key in its id: %w", p, err)
	}
	if _, err := checkpoint.StreamRoot(body, math.MaxInt64); err != nil {
		return fmt.Errorf("statesync: the state from peer %s: %w", p, err)
	}
	ok, err := pub.Verify(StateMessage(model, stage, sel, body), sig)
	if err != nil || !ok {
		return fmt.Errorf("statesync: the state is not signed by peer %s", p)
	}
	return nil
}

// FetchState asks p for a stage's state: the checkpoint stream (at most limit bytes) and p's
// signature over it, which it checks.
func FetchState(ctx context.Context, h host.Host, p peer.ID, req Request, limit int64) (body, sig []byte, err error) {
	b, err := fetch(ctx, h, p, req, limit+2+maxSig, limit)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("statesync: peer %s: no signature", p)
	}
	n := int(binary.LittleEndian.Uint16(b))
	if n > maxSig || len(b) < 2+n {
		return nil, nil, fmt.Errorf("statesync: peer %s: a signature of %d bytes", p, n)
	}
	sig, body = b[2:2+n], b[2+n:]
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("statesync: peer %s sent more than %d bytes of state", p, limit)
	}
	if err := VerifyState(p, req.Model, req.Stage, req.Selection, body, sig); err != nil {
		return nil, nil, err
	}
	return body, sig, nil
}

// maxSig bounds a state's signature (Ed25519's is 64 bytes).
const maxSig = 256

// Seen asks p whether its replica of the stage has applied microbatch mb
// or holds it in flight.
func Seen(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, mb uint64) (bool, error) {
	body, err := Fetch(ctx, h, p, Request{Model: model, Stage: stage, Seen: true, Microbatch: mb}, 1)
	if err != nil {
		return false, err
	}
	if len(body) != 1 || body[0] > 1 {
		return false, fmt.Errorf("statesync: peer %s: seen answer %x, want one byte 0 or 1", p, body)
	}
	return body[0] == 1, nil
}

// SeenByReplicas asks every peer replicas returns, concurrently and each
// within timeout, whether it has taken mb; true if any says so. A replica
// that does not answer counts as not having it (it is gone, or will re-send
// it itself). It is what swarm.Config.SeenElsewhere wants.
func SeenByReplicas(h host.Host, model uint64, stage int, replicas func() []peer.ID, timeout time.Duration) func(ctx context.Context, mb uint64) bool {
	return func(ctx context.Context, mb uint64) bool {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		peers := replicas()
		answers := make(chan bool, len(peers))
		for _, p := range peers {
			go func() {
				seen, err := Seen(ctx, h, p, model, stage, mb)
				answers <- err == nil && seen
			}()
		}
		for range peers {
			if <-answers {
				return true
			}
		}
		return false
	}
}

// Join downloads p's state of the stage into st (checkpoint.Read checks it before changing st)
// and returns what p served: the stream, its signature (checked) and p's update count.
func Join(ctx context.Context, h host.Host, p peer.ID, model uint64, st *engine.Stage, limit int64) (Joined, error) {
	body, sig, err := FetchState(ctx, h, p, Request{Model: model, Stage: st.Info().Index, Selection: checkpoint.Full}, limit)
	if err != nil {
		return Joined{}, err
	}
	step, err := checkpoint.Read(bytes.NewReader(body), st, limit)
	if err != nil {
		return Joined{}, fmt.Errorf("statesync: state from peer %s: %w", p, err)
	}
	return Joined{Step: step, From: p, State: body, Sig: sig}, nil
}

// Joined is a state downloaded from a replica: the checkpoint.Full stream as served (State),
// who served it and its signature over it (StateMessage), and its update count.
type Joined struct {
	Step  uint64
	From  peer.ID
	State []byte
	Sig   []byte
}

// AverageWeight is the weight replicas average with: each moves halfway to the other.
const AverageWeight = 0.5

// Mix is one average, as the replay log records it: whose parameters, signed by it, at what
// weight, and their statecommit root (checkpoint.StreamRoot, which the signature names).
type Mix struct {
	From   peer.ID
	Params []byte
	Sig    []byte
	Weight float64
	Root   [32]byte
}

// AverageWith fetches the parameters of p's replica of the stage and mixes
// them into the local stage through access: (1−weight)·own + weight·other.
// mixed, when set, is called inside access right after the mix with what was
// mixed in (the replay log records it: replaylog.Log.Averaged).
func AverageWith(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, access Access, limit int64, weight float64, mixed func(Mix) error) error {
	body, sig, err := FetchState(ctx, h, p, Request{Model: model, Stage: stage, Selection: checkpoint.Params}, limit)
	if err != nil {
		return err
	}
	root, err := checkpoint.StreamRoot(body, limit)
	if err != nil {
		return fmt.Errorf("statesync: parameters from peer %s: %w", p, err)
	}
	return access(ctx, func(st *engine.Stage, _ uint64) error {
		if _, err := checkpoint.Average(bytes.NewReader(body), st, limit, weight); err != nil {
			return fmt.Errorf("statesync: parameters from peer %s: %w", p, err)
		}
		if mixed != nil {
			return mixed(Mix{From: p, Params: body, Sig: sig, Weight: weight, Root: root})
		}
		return nil
	})
}
