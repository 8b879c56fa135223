// Package p2p makes the libp2p host a trainer worker runs on: a persistent
// identity, TCP and QUIC transports, Noise, yamux, a resource manager and a
// connection manager, and the NAT traversal options (AutoNAT, hole
// punching, circuit relay v2) that providers behind NAT need. The pipeline
// protocol's framing is trainer/wire.
package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/wire"
)

// FrameMemory is what one inbound pipeline stream may reserve with the resource manager: one
// frame of wire.DefaultMaxSize and room for its read buffers.
const FrameMemory = int64(wire.DefaultMaxSize + 16<<20)

// DefaultListen are the addresses a host listens on when Config.Listen is
// empty: every interface, TCP and QUIC, ports chosen by the system.
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// Config describes a worker's host.
type Config struct {
	// Key is the identity (LoadOrCreateKey); required.
	Key crypto.PrivKey
	// Listen are multiaddrs to listen on; empty means DefaultListen.
	Listen []string
	// Announce, when set, are the addresses the host advertises instead of
	// its listen addresses (a public address in front of a NAT or a
	// container's port mapping).
	Announce []string
	// ConnLow and ConnHigh are the connection manager's watermarks: above
	// ConnHigh connections it trims down to ConnLow, sparing connections
	// younger than ConnGrace and peers the caller protects. Zero values
	// take 64, 192 and one minute.
	ConnLow, ConnHigh int
	ConnGrace         time.Duration
	// MaxMemory bounds what the resource manager lets the whole host
	// reserve (stream buffers, connections), in bytes; 0 scales libp2p's
	// defaults to the machine.
	MaxMemory int64
	// NAT traversal for workers behind NAT.
	NAT NATConfig
	// Metrics, when set, receives libp2p's Prometheus metrics; nil turns
	// them off (libp2p would otherwise register on the global registry).
	Metrics prometheus.Registerer
}

// NATConfig selects libp2p's NAT traversal services.
type NATConfig struct {
	// PortMap asks the gateway for a port mapping (UPnP, NAT-PMP).
	PortMap bool
	// AutoNAT serves reachability checks to peers (AutoNAT v2 service);
	// the host always asks peers about its own reachability.
	AutoNAT bool
	// HolePunching tries direct connections through NATs (DCUtR) after a
	// relayed connection.
	HolePunching bool
	// Relays are circuit relay v2 servers to reserve slots on when the host
	// is not publicly reachable (autorelay with static relays).
	Relays []peer.AddrInfo
	// RelayService makes this host a relay for others (public hosts only).
	RelayService bool
}

// New starts a host; the caller closes it.
func New(cfg Config) (host.Host, error) {
	if cfg.Key == nil {
		return nil, errors.New("p2p: no identity key (see LoadOrCreateKey)")
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen
	}
	for _, a := range listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return nil, fmt.Errorf("p2p: listen address %q: %w", a, err)
		}
	}
	var announce []ma.Multiaddr
	for _, a := range cfg.Announce {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("p2p: announce address %q: %w", a, err)
		}
		announce = append(announce, m)
	}
	low, high, grace := cfg.ConnLow, cfg.ConnHigh, cfg.ConnGrace
	if low == 0 {
		low = 64
	}
	if high == 0 {
		high = 192
	}
	if grace == 0 {
		grace = time.Minute
	}
	if low < 0 || high < low {
		return nil, fmt.Errorf("p2p: connection watermarks low %d, high %d: want 0 ≤ low ≤ high", low, high)
	}
	cm, err := connmgr.NewConnManager(low, high, connmgr.WithGracePeriod(grace))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	// A pipeline frame's body is reserved with its stream's scope before it is read
	// (trainer/swarm): a stream must be able to hold one frame of the largest size a worker
	// accepts, and a neighbour a few of them (a replica keeps several microbatches in flight).
	limits.StreamBaseLimit.Memory = max(limits.StreamBaseLimit.Memory, FrameMemory)
	pipelinePeer := limits.ProtocolPeerBaseLimit
	pipelinePeer.Memory = max(pipelinePeer.Memory, 4*FrameMemory)
	limits.AddProtocolPeerLimit(wire.Protocol, pipelinePeer, limits.ProtocolPeerLimitIncrease)
	var scaled rcmgr.ConcreteLimitConfig
	if cfg.MaxMemory > 0 {
		scaled = limits.Scale(cfg.MaxMemory, 1024)
	} else if cfg.MaxMemory == 0 {
		scaled = limits.AutoScale()
	} else {
		return nil, fmt.Errorf("p2p: max memory %d bytes: want ≥ 0 (0 scales to the machine)", cfg.MaxMemory)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(scaled))
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}

	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.EnableRelay(), // as a client: dial peers through relays
	}
	if announce != nil {
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return announce }))
	}
	if cfg.Metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	n := cfg.NAT
	if n.PortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	if n.AutoNAT {
		opts = append(opts, libp2p.EnableAutoNATv2())
	}
	if n.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching())
	}
	if len(n.Relays) > 0 {
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(n.Relays, autorelay.WithNumRelays(min(len(n.Relays), 2))))
	}
	if n.RelayService {
		opts = append(opts, libp2p.EnableRelayService())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("p2p: %w", err)
	}
	return h, nil
}

// AddrInfo is h's peer id and addresses, for rosters and logs.
func AddrInfo(h host.Host) peer.AddrInfo {
	return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
}
