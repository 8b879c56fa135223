// Package testutil has test helpers for code that registers compute workers.
package testutil

import (
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// NewPeerID returns a fresh, valid libp2p peer id (Ed25519) drawn from rand; nil rand means
// crypto/rand. A seeded rand makes the ids reproducible.
func NewPeerID(t testing.TB, rand io.Reader) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand)
	if err != nil {
		t.Fatalf("generating a peer key: %v", err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatalf("deriving a peer id: %v", err)
	}
	return id.String()
}
