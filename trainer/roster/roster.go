// Package roster says which workers are registered for which stage of a
// model: the membership a swarm worker trusts. A worker takes activations
// only from peers registered for the stage before its own, gradients only
// from the stage after, and serves its stage's state only to peers of its
// own stage (the unextractability rule of docs/ARCHITECTURE.md).
//
// The chain's stage roster (x/models seats, read by trainer/chain.Roster) is
// the authority; without a chain (trainer local, tests) a roster comes from a
// JSON file or flags. Both sit behind Source, so a worker refreshes its
// roster the same way from either. Addresses in a roster are hints: a member without addresses is
// found through the DHT (trainer/discovery).
//
// File format:
//
//	{
//	  "model": 1,
//	  "stages": 4,
//	  "members": [
//	    {"peer": "12D3KooW…", "stage": 0, "addrs": ["/ip4/127.0.0.1/tcp/4001"]},
//	    …
//	  ]
//	}
package roster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// MaxFileSize bounds a roster file.
const MaxFileSize = 4 << 20

// Member is one worker registered for one stage.
type Member struct {
	Peer  peer.ID
	Stage int
	// Addrs are known addresses; may be empty.
	Addrs []ma.Multiaddr
}

// AddrInfo is the member as libp2p dials it.
func (m Member) AddrInfo() peer.AddrInfo { return peer.AddrInfo{ID: m.Peer, Addrs: m.Addrs} }

// Roster is one snapshot of a model's membership. Not modified after
// New; safe for concurrent readers.
type Roster struct {
	model   uint64
	stages  int
	members []Member // sorted by stage, then peer
	byPeer  map[peer.ID]int
}

// New checks and indexes members: every stage in [0, stages), no peer
// twice (a peer holds at most one stage of a model).
func New(model uint64, stages int, members []Member) (*Roster, error) {
	if stages <= 0 {
		return nil, fmt.Errorf("roster: model %d has %d stages; it needs at least one", model, stages)
	}
	r := &Roster{model: model, stages: stages, byPeer: make(map[peer.ID]int, len(members))}
	for i, m := range members {
		if err := m.Peer.Validate(); err != nil {
			return nil, fmt.Errorf("roster: member %d: peer id: %w", i, err)
		}
		if m.Stage < 0 || m.Stage >= stages {
			return nil, fmt.Errorf("roster: member %d (%s): stage %d, the model has stages 0…%d", i, m.Peer, m.Stage, stages-1)
		}
		if s, dup := r.byPeer[m.Peer]; dup {
			return nil, fmt.Errorf("roster: peer %s is listed for stage %d and stage %d; a peer holds at most one stage of a model", m.Peer, s, m.Stage)
		}
		r.byPeer[m.Peer] = m.Stage
		r.members = append(r.members, Member{Peer: m.Peer, Stage: m.Stage, Addrs: append([]ma.Multiaddr(nil), m.Addrs...)})
	}
	sort.Slice(r.members, func(i, j int) bool {
		a, b := r.members[i], r.members[j]
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return a.Peer < b.Peer
	})
	return r, nil
}

// Model is the model's id.
func (r *Roster) Model() uint64 { return r.model }

// Stages is the model's number of stages.
func (r *Roster) Stages() int { return r.stages }

// Members returns every member, by stage then peer id.
func (r *Roster) Members() []Member { return append([]Member(nil), r.members...) }

// Stage returns the members of stage s, by peer id.
func (r *Roster) Stage(s int) []Member {
	var out []Member
	for _, m := range r.members {
		if m.Stage == s {
			out = append(out, m)
		}
	}
	return out
}

// StageOf returns the stage p is registered for.
func (r *Roster) StageOf(p peer.ID) (int, bool) {
	s, ok := r.byPeer[p]
	return s, ok
}

// Check returns nil when p is registered for stage s, else an error that
// says what p is (unknown, or registered for another stage).
func (r *Roster) Check(p peer.ID, s int) error {
	got, ok := r.byPeer[p]
	if !ok {
		return fmt.Errorf("peer %s is not registered for model %d", p, r.model)
	}
	if got != s {
		return fmt.Errorf("peer %s is registered for stage %d of model %d, not stage %d", p, got, r.model, s)
	}
	return nil
}

// Source gives the current roster. A worker calls it at start and then
// periodically; an error keeps the previous roster in force.
type Source interface {
	Roster(ctx context.Context) (*Roster, error)
}

// Static is a fixed roster (from flags, or tests).
type Static struct{ R *Roster }

// Roster returns the fixed roster.
func (s Static) Roster(context.Context) (*Roster, error) {
	if s.R == nil {
		return nil, errors.New("roster: empty static roster")
	}
	return s.R, nil
}

// File reads the roster from a JSON file on every call, so an operator may
// edit it while the swarm runs (the chain's roster changes the same way).
type File struct{ Path string }

// Roster reads and checks the file.
func (f File) Roster(context.Context) (*Roster, error) { return ReadFile(f.Path) }

type fileMember struct {
	Peer  string   `json:"peer"`
	Stage int      `json:"stage"`
	Addrs []string `json:"addrs,omitempty"`
}

type fileRoster struct {
	Model   uint64       `json:"model"`
	Stages  int          `json:"stages"`
	Members []fileMember `json:"members"`
}

// ReadFile reads a roster file (format in the package documentation);
// unknown fields are refused.
func ReadFile(path string) (*Roster, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("roster: %s is %d bytes, more than the %d a roster may have", path, st.Size(), MaxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return r, nil
}

// Parse decodes a roster from its JSON form.
func Parse(b []byte) (*Roster, error) {
	var fr fileRoster
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fr); err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	if dec.More() {
		return nil, errors.New("roster: trailing data after the roster object")
	}
	members := make([]Member, 0, len(fr.Members))
	for i, fm := range fr.Members {
		id, err := peer.Decode(fm.Peer)
		if err != nil {
			return nil, fmt.Errorf("roster: member %d: peer %q: %w", i, fm.Peer, err)
		}
		m := Member{Peer: id, Stage: fm.Stage}
		for _, a := range fm.Addrs {
			addr, err := ma.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("roster: member %d (%s): address %q: %w", i, fm.Peer, a, err)
			}
			m.Addrs = append(m.Addrs, addr)
		}
		members = append(members, m)
	}
	return New(fr.Model, fr.Stages, members)
}

// Marshal encodes r in the file format.
func (r *Roster) Marshal() ([]byte, error) {
	fr := fileRoster{Model: r.model, Stages: r.stages, Members: []fileMember{}}
	for _, m := range r.members {
		fm := fileMember{Peer: m.Peer.String(), Stage: m.Stage}
		for _, a := range m.Addrs {
			fm.Addrs = append(fm.Addrs, a.String())
		}
		fr.Members = append(fr.Members, fm)
	}
	return json.MarshalIndent(fr, "", "  ")
}
