package p2p

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/protolearn/protolearn/trainer/wire"
)

// TestKeyFile: the key is created once with mode 0600 and the same identity
// comes back; a readable-by-others or garbage file is refused with what to
// do, and the refused file is left as it was.
func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "identity.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 {
		t.Fatalf("peer id changed across loads: %s, %s", id1, id2)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(bad); err == nil || !strings.Contains(err.Error(), "not a libp2p private key") {
		t.Errorf("garbage key: %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "not a key" {
		t.Error("a refused key file was changed")
	}
}

// TestTwoHosts: two hosts on 127.0.0.1 connect over TCP and over QUIC,
// and exchange a pipeline frame and its ack on a /protolearn/pipeline
// stream.
func TestTwoHosts(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"tcp", "/ip4/127.0.0.1/tcp/0"},
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ka, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "a.key"))
			kb, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "b.key"))
			a, err := New(Config{Key: ka, Listen: []string{tc.addr}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := New(Config{Key: kb, Listen: []string{tc.addr}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make(chan *wire.Frame, 1)
			b.SetStreamHandler(wire.Protocol, func(s network.Stream) {
				defer s.Close()
				f, err := wire.Read(bufio.NewReader(s), 1<<20)
				if err != nil {
					s.Reset()
					return
				}
				got <- f
				_ = wire.Write(s, f.Reply(wire.Ack, ""))
			})
			if err := a.Connect(ctx, AddrInfo(b)); err != nil {
				t.Fatal(err)
			}
			s, err := a.NewStream(ctx, b.ID(), wire.Protocol)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f := &wire.Frame{Type: wire.Activations, Model: 1, Stage: 1, Step: 5, Microbatch: 42, Sig: make([]byte, wire.SigSize), Body: []byte("payload")}
			if err := wire.Write(s, f); err != nil {
				t.Fatal(err)
			}
			ack, err := wire.Read(bufio.NewReader(s), 1<<10)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Type != wire.Ack || ack.Microbatch != 42 || ack.Step != 5 {
				t.Fatalf("reply %+v", ack)
			}
			if r := <-got; string(r.Body) != "payload" {
				t.Fatalf("received %+v", r)
			}
			conns := a.Network().ConnsToPeer(b.ID())
			if len(conns) == 0 {
				t.Fatal("no connection")
			}
			proto := "tcp"
			if tc.name == "quic" {
				proto = "quic-v1"
			}
			if _, err := conns[0].RemoteMultiaddr().ValueForProtocol(ma.ProtocolWithName(proto).Code); err != nil {
				t.Errorf("connection over %v, want %s", conns[0].RemoteMultiaddr(), proto)
			}
		})
	}
}

// TestConfig: announce addresses replace the listen addresses in what the
// host advertises; bad addresses and watermarks are refused naming them.
func TestConfig(t *testing.T) {
	k, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "id.key"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Key: k, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Announce: []string{"/ip4/203.0.113.7/tcp/4001"}})
	if err != nil {
		t.Fatal(err)
	}
	addrs := h.Addrs()
	h.Close()
	if len(addrs) != 1 || addrs[0].String() != "/ip4/203.0.113.7/tcp/4001" {
		t.Errorf("advertised %v, want the announce address only", addrs)
	}
	for name, c := range map[string]Config{
		"no key":     {},
		"listen":     {Key: k, Listen: []string{"tcp:4001"}},
		"announce":   {Key: k, Announce: []string{"203.0.113.7"}},
		"watermarks": {Key: k, ConnLow: 10, ConnHigh: 5},
		"memory":     {Key: k, MaxMemory: -1},
	} {
		if h, err := New(c); err == nil {
			h.Close()
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
