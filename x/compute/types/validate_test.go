package types_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/x/compute/types"
)

// TestValidatePeerID: one identity has one accepted spelling, an Ed25519 key, and a bounded
// length; a hostile id is refused before any costly decoding.
func TestValidatePeerID(t *testing.T) {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := types.ValidatePeerID(id.String()); err != nil {
		t.Fatalf("a canonical Ed25519 id: %v", err)
	}
	_, spub, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secp, err := peer.IDFromPublicKey(spub)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ id, want string }{
		"the same id as a CID": {peer.ToCid(id).String(), "not the canonical form"},
		"a secp256k1 identity": {secp.String(), "not an Ed25519 identity"},
		"empty":                {"", "empty"},
		"garbage":              {"12D3KooWnot-base58!", "12D3KooWnot-base58!"},
	} {
		if err := types.ValidatePeerID(c.id); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	// 300 KB of base58 took seconds to decode; the length check refuses it at once.
	if err := types.ValidatePeerID("1" + strings.Repeat("z", 300_000)); err == nil || !strings.Contains(err.Error(), "at most 128") {
		t.Errorf("a 300 KB id: %v", err)
	}
}
