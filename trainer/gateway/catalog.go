package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/roster"
)

// StaticCatalog serves one model whose stages a roster lists, for free: a swarm off chain.
type StaticCatalog struct {
	Model  ModelInfo
	Roster roster.Source
}

// Models implements Catalog.
func (c StaticCatalog) Models(context.Context) ([]ModelInfo, error) { return []ModelInfo{c.Model}, nil }

// Replicas implements Catalog.
func (c StaticCatalog) Replicas(ctx context.Context, model uint64, _ int) ([]infer.Replica, error) {
	if model != c.Model.ID {
		return nil, fmt.Errorf("gateway: no model %d", model)
	}
	r, err := c.Roster.Roster(ctx)
	if err != nil {
		return nil, err
	}
	var out []infer.Replica
	for s := range len(c.Model.Spec.Stages) {
		for _, m := range r.Stage(s) {
			out = append(out, infer.Replica{Peer: m.Peer, Stage: s, Addrs: m.Addrs})
		}
	}
	return out, nil
}

// ChainCatalog reads the models, their prices and their stage rosters from the chain, each
// kept for TTL (0: 5 s) so that a burst of requests reads it once.
type ChainCatalog struct {
	Client *chain.Client
	TTL    time.Duration

	mu       sync.Mutex
	models   []ModelInfo
	modelsAt time.Time
	replicas map[uint64]cached
}

type cached struct {
	reps []infer.Replica
	at   time.Time
}

func (c *ChainCatalog) ttl() time.Duration {
	if c.TTL <= 0 {
		return 5 * time.Second
	}
	return c.TTL
}

// Models implements Catalog.
func (c *ChainCatalog) Models(ctx context.Context) ([]ModelInfo, error) {
	c.mu.Lock()
	if c.models != nil && time.Since(c.modelsAt) < c.ttl() {
		defer c.mu.Unlock()
		return c.models, nil
	}
	c.mu.Unlock()
	ms, err := c.Client.Models(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ModelInfo, 0, len(ms))
	for _, m := range ms {
		info := ModelInfo{
			ID: m.Id, Name: m.Name, Spec: chain.Spec(m),
			Status:   strings.ToLower(strings.TrimPrefix(m.Status.String(), "MODEL_STATUS_")),
			Servable: m.Status.Serves(),
		}
		if info.Servable {
			if info.Price, err = c.Client.Price(ctx, m.Id); err != nil {
				return nil, err
			}
		}
		out = append(out, info)
	}
	c.mu.Lock()
	c.models, c.modelsAt = out, time.Now()
	c.mu.Unlock()
	return out, nil
}

// Replicas implements Catalog: the seated workers of every stage, with their operators.
func (c *ChainCatalog) Replicas(ctx context.Context, model uint64, stages int) ([]infer.Replica, error) {
	c.mu.Lock()
	if e, ok := c.replicas[model]; ok && time.Since(e.at) < c.ttl() {
		defer c.mu.Unlock()
		return e.reps, nil
	}
	c.mu.Unlock()
	var out []infer.Replica
	for s := range stages {
		reps, err := c.Client.StageRoster(ctx, model, uint32(s))
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			id, err := peer.Decode(r.PeerId)
			if err != nil {
				continue // a worker the trainers cannot reach either
			}
			rep := infer.Replica{Peer: id, Stage: s, Operator: r.Operator}
			for _, a := range r.Multiaddrs {
				if addr, err := ma.NewMultiaddr(a); err == nil {
					rep.Addrs = append(rep.Addrs, addr)
				}
			}
			out = append(out, rep)
		}
	}
	c.mu.Lock()
	if c.replicas == nil {
		c.replicas = map[uint64]cached{}
	}
	c.replicas[model] = cached{reps: out, at: time.Now()}
	c.mu.Unlock()
	return out, nil
}
