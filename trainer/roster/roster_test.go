package roster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func newPeer(t *testing.T) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRosterIndexesAndChecks(t *testing.T) {
	a, b, c := newPeer(t), newPeer(t), newPeer(t)
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/4001")
	r, err := New(7, 3, []Member{{Peer: c, Stage: 2}, {Peer: a, Stage: 0, Addrs: []ma.Multiaddr{addr}}, {Peer: b, Stage: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model() != 7 || r.Stages() != 3 || len(r.Members()) != 3 {
		t.Fatalf("roster %d/%d/%d", r.Model(), r.Stages(), len(r.Members()))
	}
	if got := r.Stage(2); len(got) != 2 || got[0].Peer > got[1].Peer {
		t.Fatalf("stage 2 members %v: want two, by peer id", got)
	}
	if len(r.Stage(1)) != 0 {
		t.Fatal("stage 1 has no members")
	}
	if s, ok := r.StageOf(a); !ok || s != 0 {
		t.Fatalf("StageOf(a) = %d, %v", s, ok)
	}
	if err := r.Check(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(a, 2); err == nil || !strings.Contains(err.Error(), "registered for stage 0") {
		t.Fatalf("Check(a, 2) = %v", err)
	}
	if err := r.Check(newPeer(t), 0); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("Check(stranger) = %v", err)
	}
	if ai := r.Stage(0)[0].AddrInfo(); ai.ID != a || len(ai.Addrs) != 1 || !ai.Addrs[0].Equal(addr) {
		t.Fatalf("AddrInfo %v", ai)
	}
}

func TestRosterRefusesBadMembership(t *testing.T) {
	a := newPeer(t)
	cases := []struct {
		name    string
		stages  int
		members []Member
		want    string
	}{
		{"no stages", 0, nil, "at least one"},
		{"stage out of range", 2, []Member{{Peer: a, Stage: 2}}, "stages 0…1"},
		{"negative stage", 2, []Member{{Peer: a, Stage: -1}}, "stages 0…1"},
		{"two stages", 2, []Member{{Peer: a, Stage: 0}, {Peer: a, Stage: 1}}, "at most one stage"},
		{"empty peer", 2, []Member{{Stage: 0}}, "peer id"},
	}
	for _, c := range cases {
		if _, err := New(1, c.stages, c.members); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestFileRoundTripAndRefusals(t *testing.T) {
	a, b := newPeer(t), newPeer(t)
	r, err := New(3, 2, []Member{{Peer: a, Stage: 0, Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/udp/9/quic-v1")}}, {Peer: b, Stage: 1}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "roster.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := File{Path: path}.Roster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Model() != 3 || got.Stages() != 2 || got.Stage(0)[0].Peer != a || !got.Stage(0)[0].Addrs[0].Equal(r.Stage(0)[0].Addrs[0]) || got.Stage(1)[0].Peer != b {
		t.Fatalf("read back %+v", got.Members())
	}

	bad := map[string]string{
		`{"model":1,"stages":2,"members":[],"extra":1}`:                                  "unknown field",
		`{"model":1,"stages":2,"members":[{"peer":"nope","stage":0}]}`:                   `peer "nope"`,
		`{"model":1,"stages":2,"members":[{"peer":"` + a.String() + `","stage":5}]}`:     "stages 0…1",
		`{"model":1,"stages":2,"members":[{"peer":"` + a.String() + `","addrs":["x"]}]}`: `address "x"`,
		`{"model":1,"stages":2,"members":[]} {}`:                                         "trailing data",
		`[`:                                                                              "roster:",
	}
	for in, want := range bad {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error mentioning %q", in, err, want)
		}
	}
	if _, err := (File{Path: filepath.Join(t.TempDir(), "missing.json")}).Roster(context.Background()); err == nil {
		t.Error("missing file read without error")
	}
	if _, err := (Static{}).Roster(context.Background()); err == nil {
		t.Error("empty static roster returned no error")
	}
}
