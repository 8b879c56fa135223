// Package discovery lets the workers of a model find each other and see
// each other's load: the Kademlia DHT (protocol prefix /protolearn) with one
// rendezvous per model and stage, and signed gossipsub heartbeats on topic
// protolearn/model/<N>. Who belongs to the model is the roster's word
// (trainer/roster); discovery only finds addresses and load, and every
// heartbeat is checked against the roster.
//
// # Rendezvous
//
// A worker of stage s of model N provides the rendezvous string
// "protolearn/model/<N>/stage/<s>" (RendezvousKey) on the DHT and renews it
// while it runs; libp2p's routing discovery turns it into a CID v1 (raw) of
// the string's SHA-256 multihash, so any libp2p implementation can look the
// same key up. FindStage lists its providers; Resolve finds the addresses of
// a roster member listed without any.
//
// # Heartbeats
//
// Every few seconds a worker publishes its Heartbeat on the model's topic,
// 61 bytes, little-endian:
//
//	offset  size  field
//	0       4     magic "PLH1"
//	4       8     model id
//	12      4     stage
//	16      8     step
//	24      8     updates
//	32      4     queue length
//	36      8     throughput, microbatches per second (float64, finite, ≥ 0)
//	44      8     last loss (float64, finite; 0 when not the last stage)
//	52      1     done (0 or 1)
//	53      8     sender's clock, Unix nanoseconds
//
// Messages are signed by the sender's peer key (gossipsub strict signing:
// an unsigned or forged message never reaches the validator). The topic
// validator rejects a heartbeat that does not decode exactly, names another
// model, claims a stage the roster does not register its author for, or
// whose clock is more than MaxAge away from the receiver's; a rejected
// message is not forwarded, and gossipsub scores its sender down.
package discovery

import (
	"context"
	"errors"
	"fmt"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	dutil "github.com/libp2p/go-libp2p/p2p/discovery/util"
)

// ProtocolPrefix is the DHT's protocol prefix: protolearn's DHT is its own,
// not the public IPFS one.
const ProtocolPrefix = "/protolearn"

// RendezvousKey is the DHT rendezvous of a model's stage.
func RendezvousKey(model uint64, stage int) string {
	return fmt.Sprintf("protolearn/model/%d/stage/%d", model, stage)
}

// DHT is a worker's Kademlia DHT node.
type DHT struct {
	*dht.IpfsDHT
	rd *drouting.RoutingDiscovery
}

// NewDHT starts a DHT server node (every worker answers queries: swarms
// are small and mostly publicly reachable) and connects to bootstrap.
func NewDHT(ctx context.Context, h host.Host, bootstrap []peer.AddrInfo) (*DHT, error) {
	d, err := dht.New(ctx, h, dht.ProtocolPrefix(ProtocolPrefix), dht.Mode(dht.ModeServer), dht.BootstrapPeers(bootstrap...))
	if err != nil {
		return nil, fmt.Errorf("discovery: dht: %w", err)
	}
	var errs []error
	for _, b := range bootstrap {
		if b.ID == h.ID() {
			continue
		}
		if err := h.Connect(ctx, b); err != nil {
			errs = append(errs, fmt.Errorf("bootstrap %s: %w", b.ID, err))
		}
	}
	if len(bootstrap) > 0 && len(errs) == len(bootstrap) {
		d.Close()
		return nil, fmt.Errorf("discovery: no bootstrap peer reachable: %w", errors.Join(errs...))
	}
	if err := d.Bootstrap(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("discovery: dht bootstrap: %w", err)
	}
	return &DHT{IpfsDHT: d, rd: drouting.NewRoutingDiscovery(d)}, nil
}

// Advertise provides the stage's rendezvous and renews it until ctx ends.
func (d *DHT) Advertise(ctx context.Context, model uint64, stage int) {
	dutil.Advertise(ctx, d.rd, RendezvousKey(model, stage))
}

// FindStage returns the providers of a stage's rendezvous (this node
// included when it advertises it).
func (d *DHT) FindStage(ctx context.Context, model uint64, stage int) ([]peer.AddrInfo, error) {
	ps, err := dutil.FindPeers(ctx, d.rd, RendezvousKey(model, stage))
	if err != nil {
		return nil, fmt.Errorf("discovery: find model %d stage %d: %w", model, stage, err)
	}
	return ps, nil
}

// Resolve finds p's addresses (swarm.Config.Resolve).
func (d *DHT) Resolve(ctx context.Context, p peer.ID) (peer.AddrInfo, error) {
	ai, err := d.FindPeer(ctx, p)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("discovery: resolve %s: %w", p, err)
	}
	return ai, nil
}
