// Package ethkey reads and writes a validator's Ethereum signing key for x/anchor: a file with
// the secp256k1 private key in hex (go-ethereum's format), readable by its owner only.
package ethkey

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// DefaultFile is the key file under a node's home, used when app.toml names none.
const DefaultFile = "config/anchor_eth_key.hex"

// Path resolves file against home (a relative path is under home; empty means DefaultFile).
func Path(home, file string) string {
	if file == "" {
		file = DefaultFile
	}
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(home, file)
}

// Load reads the key at path.
func Load(path string) (*ecdsa.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("anchor key %s: %w (create one with `protolearnd anchor init-key`)", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("anchor key %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	key, err := crypto.LoadECDSA(path)
	if err != nil {
		return nil, fmt.Errorf("anchor key %s: %w", path, err)
	}
	return key, nil
}

// LoadIfPresent is Load, or nil when the file does not exist.
func LoadIfPresent(path string) (*ecdsa.PrivateKey, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return Load(path)
}

// Generate writes a new key to path (mode 0600), refusing to overwrite one.
func Generate(path string) (common.Address, error) {
	if _, err := os.Stat(path); err == nil {
		return common.Address{}, fmt.Errorf("anchor key %s exists: refusing to overwrite it", path)
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return common.Address{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return common.Address{}, err
	}
	if err := crypto.SaveECDSA(path, key); err != nil {
		return common.Address{}, fmt.Errorf("write anchor key %s: %w", path, err)
	}
	return crypto.PubkeyToAddress(key.PublicKey), nil
}
