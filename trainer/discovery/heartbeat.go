package discovery

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/roster"
)

// HeartbeatSize is the encoded size of a Heartbeat.
const HeartbeatSize = 61

var heartbeatMagic = [4]byte{'P', 'L', 'H', '1'}

// Topic is the gossipsub topic of a model's heartbeats.
func Topic(model uint64) string { return fmt.Sprintf("protolearn/model/%d", model) }

// Heartbeat is what a worker announces about itself.
type Heartbeat struct {
	Model      uint64
	Stage      int
	Step       uint64
	Updates    uint64
	Queue      int
	Throughput float64 // microbatches per second
	Loss       float64 // the last stage's last loss
	Done       bool
	Time       time.Time // the sender's clock
}

// Marshal encodes h (package documentation).
func (h Heartbeat) Marshal() []byte {
	b := make([]byte, 0, HeartbeatSize)
	b = append(b, heartbeatMagic[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.Model)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Stage))
	b = binary.LittleEndian.AppendUint64(b, h.Step)
	b = binary.LittleEndian.AppendUint64(b, h.Updates)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Queue))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Throughput))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Loss))
	var done byte
	if h.Done {
		done = 1
	}
	b = append(b, done)
	return binary.LittleEndian.AppendUint64(b, uint64(h.Time.UnixNano()))
}

// DecodeHeartbeat decodes a heartbeat strictly: exact length, magic,
// finite non-negative throughput, finite loss, done 0 or 1.
func DecodeHeartbeat(b []byte) (Heartbeat, error) {
	if len(b) != HeartbeatSize {
		return Heartbeat{}, fmt.Errorf("heartbeat of %d bytes, want %d", len(b), HeartbeatSize)
	}
	if [4]byte(b[:4]) != heartbeatMagic {
		return Heartbeat{}, fmt.Errorf("heartbeat magic %q, want %q", b[:4], heartbeatMagic[:])
	}
	h := Heartbeat{
		Model:      binary.LittleEndian.Uint64(b[4:]),
		Stage:      int(binary.LittleEndian.Uint32(b[12:])),
		Step:       binary.LittleEndian.Uint64(b[16:]),
		Updates:    binary.LittleEndian.Uint64(b[24:]),
		Queue:      int(binary.LittleEndian.Uint32(b[32:])),
		Throughput: math.Float64frombits(binary.LittleEndian.Uint64(b[36:])),
		Loss:       math.Float64frombits(binary.LittleEndian.Uint64(b[44:])),
		Time:       time.Unix(0, int64(binary.LittleEndian.Uint64(b[53:]))),
	}
	if math.IsNaN(h.Throughput) || math.IsInf(h.Throughput, 0) || h.Throughput < 0 {
		return Heartbeat{}, fmt.Errorf("heartbeat throughput %v: want a finite value ≥ 0", h.Throughput)
	}
	if math.IsNaN(h.Loss) || math.IsInf(h.Loss, 0) {
		return Heartbeat{}, fmt.Errorf("heartbeat loss %v: want a finite value", h.Loss)
	}
	switch b[52] {
	case 0:
	case 1:
		h.Done = true
	default:
		return Heartbeat{}, fmt.Errorf("heartbeat done byte %d, want 0 or 1", b[52])
	}
	return h, nil
}

// NewPubSub starts gossipsub on h with strict signing: every message is
// signed by its author's peer key and unsigned ones are dropped.
func NewPubSub(ctx context.Context, h host.Host) (*pubsub.PubSub, error) {
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSigning(true), pubsub.WithStrictSignatureVerification(true),
		pubsub.WithFloodPublish(true))
	if err != nil {
		return nil, fmt.Errorf("discovery: gossipsub: %w", err)
	}
	return ps, nil
}

// Seen is the latest valid heartbeat of a peer and when it arrived.
type Seen struct {
	Heartbeat
	Received time.Time
}

// Heartbeats publishes this worker's heartbeats and keeps the latest valid
// one of every peer of the model.
type Heartbeats struct {
	ps     *pubsub.PubSub
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	model  uint64
	roster func() *roster.Roster
	now    func() time.Time
	maxAge time.Duration
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	latest map[peer.ID]Seen

	rejected atomic.Uint64
}

// NewHeartbeats joins the model's topic with its validator (package
// documentation). rosterOf gives the roster in force; now is the clock (nil:
// time.Now); maxAge bounds a heartbeat's clock skew and staleness.
func NewHeartbeats(ctx context.Context, ps *pubsub.PubSub, model uint64, rosterOf func() *roster.Roster, now func() time.Time, maxAge time.Duration, log *slog.Logger) (*Heartbeats, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if maxAge <= 0 {
		return nil, fmt.Errorf("discovery: heartbeat max age %v: must be positive", maxAge)
	}
	hb := &Heartbeats{ps: ps, model: model, roster: rosterOf, now: now, maxAge: maxAge, log: log, latest: map[peer.ID]Seen{}, done: make(chan struct{})}
	name := Topic(model)
	if err := ps.RegisterTopicValidator(name, hb.validate); err != nil {
		return nil, fmt.Errorf("discovery: topic %s: %w", name, err)
	}
	t, err := ps.Join(name)
	if err != nil {
		_ = ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("discovery: topic %s: %w", name, err)
	}
	sub, err := t.Subscribe()
	if err != nil {
		_ = t.Close()
		_ = ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("discovery: topic %s: %w", name, err)
	}
	hb.topic, hb.sub = t, sub
	ctx, hb.cancel = context.WithCancel(ctx)
	go hb.read(ctx)
	return hb, nil
}

// check is the validation of a heartbeat from author; a non-nil error is
// the reason to reject it.
func (hb *Heartbeats) check(author peer.ID, data []byte) (Heartbeat, error) {
	h, err := DecodeHeartbeat(data)
	if err != nil {
		return h, err
	}
	if h.Model != hb.model {
		return h, fmt.Errorf("heartbeat of model %d on the topic of model %d", h.Model, hb.model)
	}
	r := hb.roster()
	if r == nil {
		return h, errors.New("no roster yet")
	}
	if err := r.Check(author, h.Stage); err != nil {
		return h, fmt.Errorf("heartbeat claims stage %d: %w", h.Stage, err)
	}
	if skew := hb.now().Sub(h.Time); skew > hb.maxAge || skew < -hb.maxAge {
		return h, fmt.Errorf("heartbeat clock %s is %v away from ours (limit %v)", h.Time.Format(time.RFC3339Nano), skew, hb.maxAge)
	}
	return h, nil
}

func (hb *Heartbeats) validate(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	author := m.GetFrom()
	if _, err := hb.check(author, m.GetData()); err != nil {
		hb.rejected.Add(1)
		hb.log.Debug("heartbeat rejected", "author", author, "reason", err)
		return pubsub.ValidationReject
	}
	return pubsub.ValidationAccept
}

func (hb *Heartbeats) read(ctx context.Context) {
	defer close(hb.done)
	for {
		m, err := hb.sub.Next(ctx)
		if err != nil {
			return
		}
		h, err := DecodeHeartbeat(m.GetData()) // validated already
		if err != nil {
			continue
		}
		hb.mu.Lock()
		hb.latest[m.GetFrom()] = Seen{Heartbeat: h, Received: hb.now()}
		hb.mu.Unlock()
	}
}

// Publish announces h (its Model and Time are set here).
func (hb *Heartbeats) Publish(ctx context.Context, h Heartbeat) error {
	h.Model, h.Time = hb.model, hb.now()
	if err := hb.topic.Publish(ctx, h.Marshal()); err != nil {
		return fmt.Errorf("discovery: publish heartbeat: %w", err)
	}
	return nil
}

// Latest is p's latest valid heartbeat.
func (hb *Heartbeats) Latest(p peer.ID) (Seen, bool) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	s, ok := hb.latest[p]
	return s, ok
}

// Load is p's announced queue and throughput, when its heartbeat is fresher
// than the max age (swarm.Config.Load).
func (hb *Heartbeats) Load(p peer.ID) (queue int, throughput float64, ok bool) {
	s, ok := hb.Latest(p)
	if !ok || hb.now().Sub(s.Received) > hb.maxAge {
		return 0, 0, false
	}
	return s.Queue, s.Throughput, true
}

// Rejected counts the heartbeats the validator rejected.
func (hb *Heartbeats) Rejected() uint64 { return hb.rejected.Load() }

// Close leaves the topic.
func (hb *Heartbeats) Close() {
	hb.cancel()
	<-hb.done
	hb.sub.Cancel()
	_ = hb.topic.Close()
	_ = hb.ps.UnregisterTopicValidator(Topic(hb.model))
}
