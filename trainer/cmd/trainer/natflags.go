package main

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/pflag"

	"github.com/protolearn/protolearn/trainer/p2p"
)

// natFlags are the libp2p NAT traversal options a host already supports, with defaults for a
// machine behind a home or office NAT: ask the router for a port mapping, and try hole punching
// once a relayed connection exists; serve neither AutoNAT checks nor relaying to others unless
// asked (a public machine may).
type natFlags struct {
	portMap, holePunch, autonatService, relayService bool
	relays                                           []string
}

// add adds the flags; portMap is --nat-portmap's default (doctor asks the router for nothing
// unless told).
func (n *natFlags) add(fl *pflag.FlagSet, portMap bool) {
	fl.BoolVar(&n.portMap, "nat-portmap", portMap, "ask the router for a port mapping (UPnP, NAT-PMP)")
	fl.BoolVar(&n.holePunch, "hole-punching", true, "try direct connections through NATs after a relayed one (DCUtR)")
	fl.StringSliceVar(&n.relays, "relay", nil, "circuit relay v2 servers (/ip4/…/tcp/…/p2p/<id>) to reserve a slot on when this machine is not reachable")
	fl.BoolVar(&n.autonatService, "autonat-service", false, "answer other workers' reachability checks (AutoNAT; a public machine helps the swarm with it)")
	fl.BoolVar(&n.relayService, "relay-service", false, "relay for workers behind NAT (public machines only)")
}

func (n *natFlags) config() (p2p.NATConfig, error) {
	c := p2p.NATConfig{PortMap: n.portMap, HolePunching: n.holePunch, AutoNAT: n.autonatService, RelayService: n.relayService}
	for _, r := range n.relays {
		ai, err := peer.AddrInfoFromString(r)
		if err != nil {
			return c, fmt.Errorf("--relay %q: want a multiaddr ending in /p2p/<peer id>: %w", r, err)
		}
		c.Relays = append(c.Relays, *ai)
	}
	return c, nil
}
