package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// LoadOrCreateHotKey reads a secp256k1 private key (hex) from path, creating it (0600) when the
// file does not exist. It is the trainer's hot key: it holds no funds and can only do what the
// operator's authz grants allow.
func LoadOrCreateHotKey(path string) (*secp256k1.PrivKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := secp256k1.GenPrivKey()
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k.Key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("chain: writing hot key %s: %w", path, err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chain: hot key %s: %w", path, err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != secp256k1.PrivKeySize {
		return nil, fmt.Errorf("chain: hot key %s: want %d hex-encoded bytes", path, secp256k1.PrivKeySize)
	}
	return &secp256k1.PrivKey{Key: raw}, nil
}
