package chain

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// Spec is the trainer's spec of a model as the chain records it.
func Spec(m modelstypes.Model) spec.Spec {
	s := spec.Spec{
		Vocab: int(m.Arch.Vocab), DModel: int(m.Arch.DModel), NLayers: int(m.Arch.NLayers), NHeads: int(m.Arch.NHeads),
		SeqLen: int(m.Arch.SeqLen), Seed: m.Seed,
	}
	if m.Arch.CompressionRank < m.Arch.DModel {
		s.CompressionRank = int(m.Arch.CompressionRank)
	}
	for _, st := range m.Stages {
		s.Stages = append(s.Stages, int(st.Layers))
	}
	return s
}

// Roster is the chain's stage roster of a model as a roster.Source: the authoritative list of
// who holds which stage, read from x/models on every refresh.
type Roster struct {
	Client *Client
	Model  uint64
	Stages int
}

// Roster implements roster.Source.
func (r Roster) Roster(ctx context.Context) (*roster.Roster, error) {
	var members []roster.Member
	for s := range r.Stages {
		reps, err := r.Client.StageRoster(ctx, r.Model, uint32(s))
		if err != nil {
			return nil, err
		}
		for _, rep := range reps {
			ai, err := ReplicaAddrInfo(rep)
			if err != nil {
				return nil, fmt.Errorf("chain: roster of model %d: operator %s has peer id %q: %w", r.Model, rep.Operator, rep.PeerId, err)
			}
			members = append(members, roster.Member{Peer: ai.ID, Stage: s, Addrs: ai.Addrs})
		}
	}
	return roster.New(r.Model, r.Stages, members)
}

// Multiaddrs parses the addresses the chain lists for a worker, skipping any that do not parse
// (a worker's typo makes one address unusable, not the worker).
func Multiaddrs(addrs []string) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// ReplicaAddrInfo is a replica's peer and the addresses the chain lists for it.
func ReplicaAddrInfo(r modelstypes.Replica) (peer.AddrInfo, error) {
	id, err := peer.Decode(r.PeerId)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	return peer.AddrInfo{ID: id, Addrs: Multiaddrs(r.Multiaddrs)}, nil
}
