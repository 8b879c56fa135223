// Package testhost gives the trainer's tests real libp2p hosts on
// 127.0.0.1 (TCP, a port chosen by the system, a fresh Ed25519 identity),
// closed when the test ends, and free ports for the processes a test starts.
package testhost

import (
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/protolearn/protolearn/trainer/p2p"
)

// New starts a host for t.
func New(t testing.TB) host.Host {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(p2p.Config{Key: k, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago, for a process or host that
// must be told its port before it starts (a roster names it).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
