package infer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Replica is a worker that serves a stage: its peer id, known addresses and, on chain, the
// operator that holds the seat (whom a receipt names and settlement pays).
type Replica struct {
	Peer     peer.ID
	Stage    int
	Addrs    []ma.Multiaddr
	Operator string
}

func (r Replica) key() string { return r.Peer.String() }

// ClientConfig is a gateway's side of the inference protocol for one model.
type ClientConfig struct {
	Host  host.Host
	Model uint64
	Spec  spec.Spec
	// Replicas lists who serves each stage: the chain's stage roster, or a roster file's.
	Replicas func(ctx context.Context) ([]Replica, error)
	// StepTimeout bounds one step on one stage, replays included (0: 30 s); a replica that
	// misses it is left for another.
	StepTimeout time.Duration
	// Link shapes the requests as an emulated WAN path (benchmarks, tests; zero: as they are).
	Link link.Config
	Log  *slog.Logger
}

// Client routes completions through a model's stages: for each session, per stage, the live
// replica with the lowest (sessions in flight + 1) × round-trip time, and another one when it
// fails mid-session, replaying the session's steps on that stage into the new replica's cache.
type Client struct {
	cfg   ClientConfig
	mu    sync.Mutex
	peers map[peer.ID]*peerStats
}

type peerStats struct {
	inflight int
	rtt      time.Duration // moving average of a step's round trip
	down     time.Time     // not chosen before this time
}

// downFor is how long a replica that failed is passed over by new sessions.
const downFor = 30 * time.Second

// NewClient checks cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Host == nil || cfg.Replicas == nil {
		return nil, errors.New("infer: a client needs a host and the replicas")
	}
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, peers: map[peer.ID]*peerStats{}}, nil
}

// Spec is the model the client serves.
func (c *Client) Spec() spec.Spec { return c.cfg.Spec }

// Generate runs one completion through the swarm; emit receives each token as it arrives and
// returns false to stop. A failed completion returns what was generated before the failure.
func (c *Client) Generate(ctx context.Context, r Request, emit func(Token) bool) (Result, error) {
	if err := Check(c.cfg.Spec, r); err != nil {
		return Result{}, err
	}
	reps, err := c.cfg.Replicas(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("infer: the stage roster: %w", err)
	}
	byStage := make([][]Replica, len(c.cfg.Spec.Stages))
	for _, rep := range reps {
		if rep.Stage >= 0 && rep.Stage < len(byStage) {
			byStage[rep.Stage] = append(byStage[rep.Stage], rep)
		}
	}
	for s, reps := range byStage {
		if len(reps) == 0 {
			return Result{}, &NoReplicaError{Stage: s}
		}
	}
	open := func(ctx context.Context, s int, tried map[string]bool, history []step) (conn, Replica, error) {
		var last error
		for _, rep := range c.rank(byStage[s], tried) {
			cn, err := c.dial(ctx, rep, history)
			if err == nil {
				return cn, rep, nil
			}
			if ctx.Err() != nil {
				return nil, Replica{}, ctx.Err()
			}
			c.cfg.Log.Warn("inference: replica failed", "stage", s, "peer", rep.Peer, "err", err)
			tried[rep.key()] = true
			if !busy(err) {
				c.failed(rep.Peer)
			}
			last = err
		}
		return nil, Replica{}, &NoReplicaError{Stage: s, Last: last}
	}
	return generate(ctx, c.cfg.Spec, open, r, emit)
}

// rank orders a stage's untried replicas, best first: those not down, by (in flight + 1) ×
// round trip; an unmeasured replica counts as fast, so that new ones get tried.
func (c *Client) rank(reps []Replica, tried map[string]bool) []Replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	type cand struct {
		rep   Replica
		down  bool
		score float64
	}
	var cands []cand
	for _, rep := range reps {
		if tried[rep.key()] {
			continue
		}
		ps := c.stats(rep.Peer)
		rtt := max(ps.rtt, time.Millisecond)
		cands = append(cands, cand{rep: rep, down: now.Before(ps.down), score: float64(ps.inflight+1) * rtt.Seconds()})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].down != cands[j].down {
			return !cands[i].down
		}
		return cands[i].score < cands[j].score
	})
	out := make([]Replica, len(cands))
	for i, cd := range cands {
		out[i] = cd.rep
	}
	return out
}

func (c *Client) stats(p peer.ID) *peerStats {
	ps := c.peers[p]
	if ps == nil {
		ps = &peerStats{}
		c.peers[p] = ps
	}
	return ps
}

func (c *Client) failed(p peer.ID) {
	c.mu.Lock()
	c.stats(p).down = time.Now().Add(downFor)
	c.mu.Unlock()
}

func (c *Client) measured(p peer.ID, rtt time.Duration) {
	c.mu.Lock()
	ps := c.stats(p)
	if ps.rtt == 0 {
		ps.rtt = rtt
	} else {
		ps.rtt = (7*ps.rtt + rtt) / 8
	}
	c.mu.Unlock()
}

func (c *Client) inflight(p peer.ID, d int) {
	c.mu.Lock()
	c.stats(p).inflight += d
	c.mu.Unlock()
}

// busy reports a replica's refusal for want of room: it is alive, so it is not passed over
// for long.
func busy(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && strings.HasPrefix(re.Reason, BusyReason)
}

// dial opens a session on a replica and replays the session's earlier steps on its stage.
func (c *Client) dial(ctx context.Context, rep Replica, history []step) (conn, error) {
	if len(rep.Addrs) > 0 {
		c.cfg.Host.Peerstore().AddAddrs(rep.Peer, rep.Addrs, peerstore.TempAddrTTL)
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.StepTimeout)
	defer cancel()
	raw, err := c.cfg.Host.NewStream(network.WithAllowLimitedConn(dctx, "infer"), rep.Peer, Protocol)
	if err != nil {
		return nil, err
	}
	str, err := shape(raw, c.cfg.Link)
	if err != nil {
		_ = raw.Reset()
		return nil, err
	}
	rc := &remoteConn{c: c, rep: rep, str: str, r: bufio.NewReader(str), last: rep.Stage == len(c.cfg.Spec.Stages)-1}
	if rep.Stage > 0 {
		rc.width = c.cfg.Spec.BoundaryWidth()
	}
	c.inflight(rep.Peer, 1)
	_ = str.SetDeadline(time.Now().Add(c.cfg.StepTimeout))
	if err := writeFrame(str, hello{Model: c.cfg.Model, Stage: uint32(rep.Stage)}.encode()); err != nil {
		rc.close()
		return nil, err
	}
	if err := rc.replay(history); err != nil {
		rc.close()
		return nil, fmt.Errorf("replaying %d steps: %w", len(history), err)
	}
	return rc, nil
}

type remoteConn struct {
	c     *Client
	rep   Replica
	str   network.Stream
	r     *bufio.Reader
	width int
	last  bool
	once  sync.Once
}

func (rc *remoteConn) do(ctx context.Context, st step) ([]float32, int32, error) {
	t0 := time.Now()
	deadline := t0.Add(rc.c.cfg.StepTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = rc.str.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = rc.str.Reset() })
	defer stop()
	rows, tok, err := rc.exchange(st, t0)
	if err != nil && ctx.Err() == nil && !busy(err) {
		rc.c.cfg.Log.Warn("inference: replica failed mid-session", "stage", rc.rep.Stage, "peer", rc.rep.Peer, "err", err)
		rc.c.failed(rc.rep.Peer)
	}
	return rows, tok, err
}

func (rc *remoteConn) exchange(st step, t0 time.Time) ([]float32, int32, error) {
	if err := writeFrame(rc.str, st.encode(rc.last)); err != nil {
		return nil, 0, err
	}
	rows, tok, err := rc.reply(len(st.IDs))
	if err != nil {
		return nil, 0, err
	}
	rc.c.measured(rc.rep.Peer, time.Since(t0))
	return rows, tok, nil
}

// replay runs a session's earlier steps into a new replica's cache: written while the
// replies are read, so that neither side waits for the other's buffers.
func (rc *remoteConn) replay(history []step) error {
	if len(history) == 0 {
		return nil
	}
	_ = rc.str.SetDeadline(time.Now().Add(rc.c.cfg.StepTimeout))
	werr := make(chan error, 1)
	go func() {
		for _, st := range history {
			if err := writeFrame(rc.str, st.encode(rc.last)); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for _, st := range history {
		if _, _, err := rc.reply(len(st.IDs)); err != nil {
			return err
		}
	}
	return <-werr
}

// reply reads the answer to a step of n positions.
func (rc *remoteConn) reply(n int) ([]float32, int32, error) {
	w := rc.c.cfg.Spec.BoundaryWidth()
	b, err := readFrame(rc.r, replyLimit(n, w))
	if err != nil {
		return nil, 0, err
	}
	return decodeReply(b, n, w, rc.c.cfg.Spec.Vocab, rc.last)
}

func (rc *remoteConn) close() {
	rc.once.Do(func() {
		_ = rc.str.Close()
		rc.c.inflight(rc.rep.Peer, -1)
	})
}
