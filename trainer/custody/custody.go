// Package custody is the log-custody protocol, /protolearn/log-custody/1.0.0: how a worker
// answers a log request on chain (x/verify MsgRequestLog). A replica of a stage that did not get
// a worker's replay log over libp2p may ask for it on chain; the worker must then show, within
// log_window blocks, that a replica of its stage other than itself holds the log, or be slashed.
// The worker (Answerer) asks the requester first, then the stage's other replicas, to take
// custody: each fetches the log from the worker (the state protocol, trainer/statesync), checks
// that its heads fold from the attestation's (state_root, log_head) to its (end_state_root,
// end_log_head), and signs types.LogCustody with its libp2p identity (Server). The worker posts
// the first signature it gets (MsgAnswerLogRequest). A replica that takes custody holds what it
// needs to judge the attestation, and does (ServerConfig.Took: the node's Prosecutor).
//
// # Bytes
//
// The client opens a stream and writes the request id (8 bytes, big-endian), then closes its
// write side. The server answers one status byte: 0 and the 64-byte signature, or 1 and the
// reason for the refusal (UTF-8, at most MaxReason bytes).
package custody

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Protocol is the libp2p protocol id.
const Protocol = "/protolearn/log-custody/1.0.0"

// MaxReason bounds a refusal's reason.
const MaxReason = 512

// maxSigned bounds the custodies a server remembers (to sign again without fetching again).
const maxSigned = 1024

// Chain is what a custodian reads from the chain (trainer/chain.Client).
type Chain interface {
	LogRequest(ctx context.Context, id uint64) (verifytypes.LogRequest, error)
	Attestation(ctx context.Context, id uint64) (verifytypes.Attestation, error)
	WorkerByPeer(ctx context.Context, p string) (operator string, ok bool, err error)
}

// ServerConfig configures a custodian.
type ServerConfig struct {
	Host    host.Host
	Chain   Chain
	ChainID string
	// Model and Stage are the custodian's own: it takes custody of its stage's logs only.
	Model uint64
	Stage uint32
	// Self is the custodian's operator (it never vouches for its own log).
	Self string
	// Limit bounds a fetched log; Timeout one custody (the fetch and its retries while the
	// worker is busy serving others).
	Limit   int64
	Timeout time.Duration
	// Took, when set, is told of each log taken into custody, with the attestation: a replica
	// that vouches for a log holds what it needs to judge it (the node passes its Prosecutor).
	Took func(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment)
	Log  *slog.Logger
}

// Server takes custody of logs its stage's workers are asked for on chain.
type Server struct {
	cfg ServerConfig
	mu  sync.Mutex
	// taking holds the workers whose log is being fetched: one custody a worker at a time (each
	// downloads a log), so that no worker can tie up the custody of another's (an attacker's
	// review: one slot for all let a coalition's slow log starve an honest worker's).
	taking map[string]bool
	// signed are the signatures given, by attestation: asked again, the custodian signs again
	// without fetching again.
	signed map[uint64][]byte
}

// Serve registers the custody handler on cfg.Host.
func Serve(cfg ServerConfig) (*Server, error) {
	if cfg.Host == nil || cfg.Chain == nil || cfg.ChainID == "" || cfg.Self == "" {
		return nil, errors.New("custody: a host, the chain, its id and the custodian's operator are required")
	}
	if cfg.Limit <= 0 {
		return nil, fmt.Errorf("custody: log limit %d: want a positive bound", cfg.Limit)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, signed: map[uint64][]byte{}, taking: map[string]bool{}}
	cfg.Host.SetStreamHandler(Protocol, s.handle)
	return s, nil
}

// Close removes the handler.
func (s *Server) Close() { s.cfg.Host.RemoveStreamHandler(Protocol) }

func (s *Server) handle(st network.Stream) {
	defer st.Close()
	remote := st.Conn().RemotePeer()
	_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [8]byte
	if _, err := io.ReadFull(st, b[:]); err != nil {
		_ = st.Reset()
		return
	}
	id := binary.BigEndian.Uint64(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	sig, err := s.take(ctx, remote, id)
	_ = st.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err != nil {
		s.cfg.Log.Warn("custody: refused", "peer", remote, "request", id, "err", err)
		reason := err.Error()
		if len(reason) > MaxReason {
			reason = reason[:MaxReason]
		}
		_, _ = st.Write(append([]byte{1}, reason...))
		return
	}
	_, _ = st.Write(append([]byte{0}, sig...))
}

// take checks request id, fetches its log from the worker's peer remote (which asked), checks
// it and signs.
func (s *Server) take(ctx context.Context, remote peer.ID, id uint64) ([]byte, error) {
	r, err := s.cfg.Chain.LogRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !r.Open():
		return nil, fmt.Errorf("log request %d is %s", id, r.Status)
	case r.ModelId != s.cfg.Model || r.Stage != s.cfg.Stage:
		return nil, fmt.Errorf("log request %d is of model %d stage %d; this replica holds stage %d of model %d", id, r.ModelId, r.Stage, s.cfg.Stage, s.cfg.Model)
	case r.Worker == s.cfg.Self:
		return nil, fmt.Errorf("log request %d is of this replica's own log", id)
	}
	// Only the worker asks for custody of its log: anyone else would have this replica download
	// logs for nothing.
	op, ok, err := s.cfg.Chain.WorkerByPeer(ctx, remote.String())
	if err != nil {
		return nil, err
	}
	if !ok || op != r.Worker {
		return nil, fmt.Errorf("peer %s is not the worker %s whose log request %d asks for", remote, r.Worker, id)
	}
	a, err := s.cfg.Chain.Attestation(ctx, r.AttestationId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	sig, done := s.signed[a.Id]
	busy := s.taking[r.Worker]
	if !done && !busy {
		s.taking[r.Worker] = true
	}
	s.mu.Unlock()
	if done {
		return sig, nil
	}
	if busy {
		return nil, errors.New("busy taking custody of another log of this worker: ask again later")
	}
	defer func() {
		s.mu.Lock()
		delete(s.taking, r.Worker)
		s.mu.Unlock()
	}()
	segs, err := s.fetch(ctx, remote, a)
	if err != nil {
		return nil, err
	}
	if err := Covers(segs, a); err != nil {
		return nil, err
	}
	key := s.cfg.Host.Peerstore().PrivKey(s.cfg.Host.ID())
	if key == nil {
		return nil, errors.New("this host holds no private key to sign with")
	}
	sig, err = verifytypes.SignCustody(key, verifytypes.CustodyOf(s.cfg.ChainID, a, s.cfg.Host.ID()))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.signed) >= maxSigned {
		clear(s.signed) // old custodies: a worker asking again is served a fresh fetch
	}
	s.signed[a.Id] = sig
	s.mu.Unlock()
	s.cfg.Log.Info("custody: took a log asked for on chain", "worker", r.Worker, "attestation", a.Id, "request", id)
	if s.cfg.Took != nil {
		s.cfg.Took(ctx, a, segs)
	}
	return sig, nil
}

// fetch fetches worker p's log of attestation a from its state_root (from its epoch's start for
// a worker's first attestation on the stage, as a referee does), asking again while the worker
// is busy serving others, until ctx ends.
func (s *Server) fetch(ctx context.Context, p peer.ID, a verifytypes.Attestation) ([]replaylog.Segment, error) {
	fetch := statesync.FetchLog
	if a.StepFrom == 1 || a.FirstOnStage {
		fetch = statesync.FetchEpochLog
	}
	for {
		body, err := fetch(ctx, s.cfg.Host, p, s.cfg.Model, int(s.cfg.Stage), [32]byte(a.StateRoot), s.cfg.Limit)
		if err == nil {
			segs, _, err := replaylog.DecodeBundle(body)
			if err != nil {
				return nil, fmt.Errorf("the log served does not decode: %w", err)
			}
			return segs, nil
		}
		if !strings.Contains(err.Error(), "busy") {
			return nil, fmt.Errorf("fetching the log of attestation %d: %w", a.Id, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching the log of attestation %d: %w (last: %v)", a.Id, ctx.Err(), err)
		case <-time.After(2 * time.Second):
		}
	}
}

// Covers checks that segs, one epoch of a worker's log in order, hold the attestation's range:
// each segment follows the one before it, and the log's head folds to a's log_head, then on to
// its end_log_head. Heads are a hash chain, so a log that passes holds exactly what the worker
// committed between them, and the snapshot before them that a replay starts from (whether it
// replays to the attested state roots is the judgement's, not the custody's).
func Covers(segs []replaylog.Segment, a verifytypes.Attestation) error {
	if len(a.LogHead) != 32 || len(a.EndLogHead) != 32 {
		return fmt.Errorf("attestation %d commits no 32-byte log heads", a.Id)
	}
	if len(segs) == 0 {
		return errors.New("the log served holds no segment")
	}
	start, end := [32]byte(a.LogHead), [32]byte(a.EndLogHead)
	started := false
	var h [32]byte
	for i, sg := range segs {
		if i > 0 && sg.Head != h {
			return fmt.Errorf("segment %d of the log served does not follow the one before it", i)
		}
		h = logevent.Next(sg.Head, logevent.SnapshotDigest(sg.First, sg.Root))
		for j := -1; j < len(sg.Events); j++ {
			if j >= 0 {
				h = logevent.Next(h, sg.Events[j].Digest)
			}
			switch {
			case started && h == end:
				return nil
			case h == start:
				started = true
			}
		}
	}
	if !started {
		return fmt.Errorf("the log served never reaches attestation %d's starting head", a.Id)
	}
	return fmt.Errorf("the log served does not reach attestation %d's ending head from its start", a.Id)
}

// Ask asks replica p to take custody of the log that request id asks for; it returns p's
// signature (checked by the chain, not here).
func Ask(ctx context.Context, h host.Host, p peer.ID, id uint64) ([]byte, error) {
	st, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(d)
	}
	// A cancelled ask (another replica's custody came first) lets go of the stream at once.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	if _, err := st.Write(binary.BigEndian.AppendUint64(nil, id)); err != nil {
		_ = st.Reset()
		return nil, err
	}
	if err := st.CloseWrite(); err != nil {
		_ = st.Reset()
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(st, 1+MaxReason))
	if err != nil {
		return nil, err
	}
	switch {
	case len(body) == 0:
		return nil, errors.New("custody: no answer")
	case body[0] == 1:
		return nil, fmt.Errorf("custody refused by %s: %s", p, strings.ToValidUTF8(string(body[1:]), "?"))
	case body[0] != 0 || len(body) != 1+verifytypes.ReceiptSignatureSize:
		return nil, fmt.Errorf("custody: a malformed answer of %d bytes from %s", len(body), p)
	}
	return body[1:], nil
}
