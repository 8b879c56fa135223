// Package statesync is the stage-state protocol, /protolearn/state/1.0.0:
// a replica of a stage hands its weights (and optimizer state) to another
// replica of the same stage — a worker joining mid-run downloads the state
// before it takes work, and replicas average their parameters every few
// updates. State never leaves a stage: the server serves only peers the
// roster registers for its own stage (the unextractability rule of
// ../shared/DESIGN.md: no worker can collect a model it has no seats for).
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
//	16      1     selection: 0 full (parameters + optimizer state), 1 params
//
// The server answers with one status byte and the rest of the stream: 0 and
// a trainer/checkpoint stream of that selection, or 1 and the reason for the
// refusal (UTF-8, at most MaxReason bytes), then closes. A refused or
// malformed request is logged with the peer and the reason, and the stream
// reset after the reason.
package statesync

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
)

// Protocol is the libp2p protocol id.
const Protocol = "/protolearn/state/1.0.0"

// MaxReason bounds a refusal's reason.
const MaxReason = 512

const (
	requestSize = 17
	statusOK    = 0
	statusNo    = 1
)

var magic = [4]byte{'P', 'L', 'S', '1'}

// Request is what a client asks for.
type Request struct {
	Model     uint64
	Stage     int
	Selection checkpoint.Selection
}

func (r Request) marshal() []byte {
	b := make([]byte, 0, requestSize)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint64(b, r.Model)
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Stage))
	return append(b, byte(r.Selection))
}

// parseRequest decodes a request strictly.
func parseRequest(b []byte) (Request, error) {
	if len(b) != requestSize {
		return Request{}, fmt.Errorf("request of %d bytes, want %d", len(b), requestSize)
	}
	if [4]byte(b[:4]) != magic {
		return Request{}, fmt.Errorf("request magic %q, want %q", b[:4], magic[:])
	}
	r := Request{
		Model: binary.LittleEndian.Uint64(b[4:12]), Stage: int(binary.LittleEndian.Uint32(b[12:16])),
		Selection: checkpoint.Selection(b[16]),
	}
	if r.Selection != checkpoint.Full && r.Selection != checkpoint.Params {
		return Request{}, fmt.Errorf("unknown selection %d", b[16])
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
	// Timeout bounds reading a request and writing the state.
	Timeout time.Duration
}

// Serve registers the protocol on h for the stage: authorize returns an
// error for a peer that is not registered for this stage (a roster check).
// Stop with Close.
func Serve(h host.Host, model uint64, stage int, access Access, authorize func(p peer.ID) error, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{h: h, model: model, stage: stage, access: access, authorize: authorize, log: log.With("protocol", Protocol), Timeout: time.Minute}
	h.SetStreamHandler(Protocol, s.handle)
	return s
}

// Close removes the handler.
func (s *Server) Close() { s.h.RemoveStreamHandler(Protocol) }

func (s *Server) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(s.Timeout))
	buf := make([]byte, requestSize+1)
	n, err := io.ReadFull(st, buf)
	if err == nil || n > requestSize {
		s.refuse(st, p, fmt.Sprintf("request longer than %d bytes", requestSize))
		return
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		_ = st.Reset()
		return
	}
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
	var out bytes.Buffer
	out.WriteByte(statusOK)
	var step uint64
	if err := s.access(context.Background(), func(stage *engine.Stage, updates uint64) error {
		step = updates
		return checkpoint.Write(&out, stage, updates, req.Selection)
	}); err != nil {
		s.log.Error("could not serialize the stage", "peer", p, "err", err)
		s.refuse(st, p, "internal error: "+err.Error())
		return
	}
	if _, err := st.Write(out.Bytes()); err != nil {
		s.log.Warn("state transfer failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	s.log.Info("served stage state", "peer", p, "selection", req.Selection, "bytes", out.Len()-1, "step", step)
	_ = st.Close()
}

// refuse answers with the reason, logs it and resets the stream.
func (s *Server) refuse(st network.Stream, p peer.ID, reason string) {
	if len(reason) > MaxReason {
		reason = reason[:MaxReason]
	}
	s.log.Warn("refused a state request", "peer", p, "reason", reason)
	_, _ = st.Write(append([]byte{statusNo}, reason...))
	_ = st.CloseWrite()
	_ = st.Reset()
}

// ErrRefused wraps a server's refusal.
var ErrRefused = errors.New("statesync: refused")

// Fetch asks p for a stage's state and returns the checkpoint stream it
// sent (at most limit bytes).
func Fetch(ctx context.Context, h host.Host, p peer.ID, req Request, limit int64) ([]byte, error) {
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
		return nil, fmt.Errorf("%w by peer %s: %s", ErrRefused, p, reason)
	}
	if status[0] != statusOK {
		return nil, fmt.Errorf("statesync: peer %s: unknown status %d", p, status[0])
	}
	body, err := io.ReadAll(io.LimitReader(s, limit+1))
	if err != nil {
		return nil, fmt.Errorf("statesync: peer %s: reading state: %w", p, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("statesync: peer %s sent more than %d bytes of state", p, limit)
	}
	return body, nil
}

// Join downloads the full state of st's stage from p into st and returns
// the replica's update count.
func Join(ctx context.Context, h host.Host, p peer.ID, model uint64, st *engine.Stage, limit int64) (uint64, error) {
	body, err := Fetch(ctx, h, p, Request{Model: model, Stage: st.Info().Index, Selection: checkpoint.Full}, limit)
	if err != nil {
		return 0, err
	}
	step, err := checkpoint.Read(bytes.NewReader(body), st, limit)
	if err != nil {
		return 0, fmt.Errorf("statesync: state from peer %s: %w", p, err)
	}
	return step, nil
}

// AverageWith fetches the parameters of p's replica of the stage and mixes
// them into the local stage through access: (1−weight)·own + weight·other.
func AverageWith(ctx context.Context, h host.Host, p peer.ID, model uint64, stage int, access Access, limit int64, weight float64) error {
	body, err := Fetch(ctx, h, p, Request{Model: model, Stage: stage, Selection: checkpoint.Params}, limit)
	if err != nil {
		return err
	}
	return access(ctx, func(st *engine.Stage, _ uint64) error {
		if _, err := checkpoint.Average(bytes.NewReader(body), st, limit, weight); err != nil {
			return fmt.Errorf("statesync: parameters from peer %s: %w", p, err)
		}
		return nil
	})
}
