// Package forkseed moves a fork's starting weights between trainers.
//
// A fork (x/models parent_id) starts each stage from the parameters that a replica of its
// parent's stage committed on chain: fork_roots[stage], a checkpoint.WeightsRoot. The parent's
// replicas keep the parameters of the roots they committed (Store) and serve them (Serve), to a
// peer seated in the same stage of a fork that starts from that root only: the
// unextractability rule spans the family (no operator holds two stages across a model and its
// forks), so what a fork's replica receives is what a replica joining the parent's stage would.
// The fork's trainer fetches them (Fetch) and checks their root against the chain's, so a
// server can withhold the weights but cannot substitute others.
package forkseed

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
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/protolearn/protolearn/trainer/checkpoint"
)

// Protocol is the libp2p protocol a parent's replica serves its committed parameters on.
const Protocol = protocol.ID("/protolearn/forkseed/1")

const (
	statusOK = 0
	statusNo = 1
	// MaxReason bounds a refusal's reason.
	MaxReason   = 512
	requestSize = 4 + 8 + 4 + 32
)

var magic = [4]byte{'P', 'L', 'F', '1'}

// Request asks for the parameters of stage Stage of model Parent whose weights root is Root.
type Request struct {
	Parent uint64
	Stage  int
	Root   [32]byte
}

func (r Request) marshal() []byte {
	b := make([]byte, 0, requestSize)
	b = append(b, magic[:]...)
	b = binary.LittleEndian.AppendUint64(b, r.Parent)
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Stage))
	return append(b, r.Root[:]...)
}

func parseRequest(b []byte) (Request, error) {
	if len(b) != requestSize {
		return Request{}, fmt.Errorf("request of %d bytes, want %d", len(b), requestSize)
	}
	if [4]byte(b[:4]) != magic {
		return Request{}, fmt.Errorf("request magic %q, want %q", b[:4], magic[:])
	}
	return Request{
		Parent: binary.LittleEndian.Uint64(b[4:12]), Stage: int(binary.LittleEndian.Uint32(b[12:16])), Root: [32]byte(b[16:]),
	}, nil
}

// ServerConfig is what a parent's replica serves.
type ServerConfig struct {
	Host host.Host
	// Model and Stage are the replica's: the parent's model and the stage it holds.
	Model uint64
	Stage int
	// Source returns the checkpoint.Params stream whose weights root is root (ok false: this
	// replica does not hold it).
	Source func(root [32]byte) (body []byte, ok bool, err error)
	// Authorize returns an error for a peer that may not have the stage's parameters at root:
	// one not seated in this stage of a fork of Model that starts from root (the chain's
	// answer, chain.Client.ForkSeated).
	Authorize func(ctx context.Context, p peer.ID, root [32]byte) error
	// Concurrent bounds the transfers at once (default 2): each holds a stage's parameters in
	// memory while it is written. Only an authorized peer takes one, one at a time per peer.
	Concurrent int
	// RequestTimeout bounds reading a request and its authorization (default 10 s); Timeout
	// bounds the transfer (default 10 min).
	RequestTimeout, Timeout time.Duration
	Log                     *slog.Logger
}

// Server serves one stage's committed parameters.
type Server struct {
	cfg ServerConfig
	// busy holds a token per transfer; authorizing bounds the chain lookups at once.
	busy, authorizing chan struct{}
	mu                sync.Mutex
	asking            map[peer.ID]bool
}

// Serve registers the protocol on cfg.Host. Stop with Close.
func Serve(cfg ServerConfig) (*Server, error) {
	if cfg.Host == nil || cfg.Source == nil || cfg.Authorize == nil {
		return nil, errors.New("forkseed: a server needs a host, a source and an authorization")
	}
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = 2
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = cfg.Log.With("protocol", Protocol)
	s := &Server{cfg: cfg, busy: make(chan struct{}, cfg.Concurrent), authorizing: make(chan struct{}, 4), asking: map[peer.ID]bool{}}
	cfg.Host.SetStreamHandler(Protocol, s.handle)
	return s, nil
}

// Close removes the handler.
func (s *Server) Close() { s.cfg.Host.RemoveStreamHandler(Protocol) }

// handle reads and checks the request before anything is held for the peer: a stranger's
// stream costs a short read and at most one chain lookup, and never a transfer slot.
func (s *Server) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(s.cfg.RequestTimeout))
	buf := make([]byte, requestSize+1)
	n, err := io.ReadFull(st, buf)
	if err == nil {
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
	if req.Parent != s.cfg.Model || req.Stage != s.cfg.Stage {
		s.refuse(st, p, fmt.Sprintf("this worker holds stage %d of model %d, not stage %d of model %d", s.cfg.Stage, s.cfg.Model, req.Stage, req.Parent))
		return
	}
	if !s.enter(p) {
		s.refuse(st, p, "one request at a time")
		return
	}
	defer s.leave(p)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	select {
	case s.authorizing <- struct{}{}:
	case <-ctx.Done():
		s.refuse(st, p, "busy: retry in a minute")
		return
	}
	err = s.cfg.Authorize(ctx, p, req.Root)
	<-s.authorizing
	if err != nil {
		s.cfg.Log.Warn("fork seed refused", "peer", p, "root", fmt.Sprintf("%x", req.Root), "err", err)
		s.refuse(st, p, fmt.Sprintf("stage %d's weights at %x go only to a bonded replica of the same stage of a fork starting from them: %v", s.cfg.Stage, req.Root[:8], err))
		return
	}
	select {
	case s.busy <- struct{}{}:
		defer func() { <-s.busy }()
	default:
		s.refuse(st, p, fmt.Sprintf("%s: serving %d other forks' replicas: retry in a minute", errBusy, s.cfg.Concurrent))
		return
	}
	_ = st.SetDeadline(time.Now().Add(s.cfg.Timeout))
	body, ok, err := s.cfg.Source(req.Root)
	switch {
	case err != nil:
		s.cfg.Log.Error("fork seed: reading the stored weights", "root", fmt.Sprintf("%x", req.Root), "err", err)
		s.refuse(st, p, "internal error reading the stored weights")
		return
	case !ok:
		s.refuse(st, p, fmt.Sprintf("this replica no longer holds stage %d's weights at %x: ask another", s.cfg.Stage, req.Root[:8]))
		return
	}
	if _, err := st.Write([]byte{statusOK}); err != nil {
		_ = st.Reset()
		return
	}
	if _, err := st.Write(body); err != nil {
		s.cfg.Log.Warn("fork seed transfer failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	s.cfg.Log.Info("served a fork's starting weights", "peer", p, "stage", s.cfg.Stage, "root", fmt.Sprintf("%x", req.Root), "bytes", len(body))
	_ = st.Close()
}

// errBusy starts a refusal for want of a transfer slot: the client tries again later.
const errBusy = "busy"

func (s *Server) enter(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asking[p] {
		return false
	}
	s.asking[p] = true
	return true
}

func (s *Server) leave(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.asking, p)
}

func (s *Server) refuse(st network.Stream, p peer.ID, reason string) {
	if len(reason) > MaxReason {
		reason = reason[:MaxReason]
	}
	s.cfg.Log.Debug("fork seed: refused", "peer", p, "reason", reason)
	_, _ = st.Write(append([]byte{statusNo}, reason...))
	_ = st.Close()
}

// ErrRefused marks a server's refusal (its reason follows).
var ErrRefused = errors.New("forkseed: refused")

// Fetch asks p for the parameters req names and returns their checkpoint stream (at most limit
// bytes), after checking that its weights root is req.Root: a server can refuse but not lie.
func Fetch(ctx context.Context, h host.Host, p peer.AddrInfo, req Request, limit int64) ([]byte, error) {
	if len(p.Addrs) > 0 {
		h.Peerstore().AddAddrs(p.ID, p.Addrs, time.Hour)
	}
	s, err := h.NewStream(ctx, p.ID, Protocol)
	if err != nil {
		return nil, fmt.Errorf("forkseed: peer %s: %w", p.ID, err)
	}
	defer s.Reset() //nolint:errcheck // a no-op after a clean close
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if _, err := s.Write(req.marshal()); err != nil {
		return nil, fmt.Errorf("forkseed: peer %s: request: %w", p.ID, err)
	}
	if err := s.CloseWrite(); err != nil {
		return nil, fmt.Errorf("forkseed: peer %s: %w", p.ID, err)
	}
	var status [1]byte
	if _, err := io.ReadFull(s, status[:]); err != nil {
		return nil, fmt.Errorf("forkseed: peer %s: no answer: %w", p.ID, err)
	}
	switch status[0] {
	case statusOK:
	case statusNo:
		reason, _ := io.ReadAll(io.LimitReader(s, MaxReason))
		return nil, fmt.Errorf("%w by peer %s: %s", ErrRefused, p.ID, strings.ToValidUTF8(string(reason), "\uFFFD"))
	default:
		return nil, fmt.Errorf("forkseed: peer %s: unknown status %d", p.ID, status[0])
	}
	body, err := io.ReadAll(io.LimitReader(s, limit+1))
	if err != nil {
		return nil, fmt.Errorf("forkseed: peer %s: reading the weights: %w", p.ID, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("forkseed: peer %s sent more than %d bytes of weights", p.ID, limit)
	}
	root, err := checkpoint.StreamRoot(body, limit)
	if err != nil {
		return nil, fmt.Errorf("forkseed: the weights from peer %s: %w", p.ID, err)
	}
	if root != req.Root {
		return nil, fmt.Errorf("forkseed: peer %s sent weights with root %x, not the %x asked for", p.ID, root, req.Root)
	}
	return body, nil
}

// FetchAny asks each peer in turn until one serves the parameters (Fetch), and returns them
// with the peer that served them. A round where some peer was busy is tried again, up to
// three rounds, a little later each time.
func FetchAny(ctx context.Context, h host.Host, peers []peer.AddrInfo, req Request, limit int64, log *slog.Logger) ([]byte, peer.ID, error) {
	return fetchAny(ctx, h, peers, req, limit, log, []time.Duration{10 * time.Second, 30 * time.Second})
}

func fetchAny(ctx context.Context, h host.Host, peers []peer.AddrInfo, req Request, limit int64, log *slog.Logger, backoff []time.Duration) ([]byte, peer.ID, error) {
	if len(peers) == 0 {
		return nil, "", fmt.Errorf("forkseed: model %d lists no replica of stage %d to fetch its weights from", req.Parent, req.Stage)
	}
	var errs []error
	for round := 0; ; round++ {
		busy := false
		for _, p := range peers {
			fctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			body, err := Fetch(fctx, h, p, req, limit)
			cancel()
			if err == nil {
				return body, p.ID, nil
			}
			if log != nil {
				log.Warn("fork seed: a parent's replica did not give its weights", "peer", p.ID, "err", err)
			}
			errs = append(errs, err)
			busy = busy || (errors.Is(err, ErrRefused) && strings.Contains(err.Error(), ": "+errBusy+":"))
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
		}
		if !busy || round >= len(backoff) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(backoff[round]):
		}
	}
	return nil, "", fmt.Errorf("forkseed: no replica of model %d stage %d gave its weights at %x: %w", req.Parent, req.Stage, req.Root, errors.Join(errs...))
}
