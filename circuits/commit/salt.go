package commit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Seed is the secret from which every salt of one committed tensor derives, so
// the trainer can regenerate the salts of any leaf when it is challenged
// instead of storing them. Use a fresh seed per tensor and step: two tensors
// committed with one seed get equal leaves wherever their contents are equal,
// which a reader of the roots could notice.
type Seed [32]byte

// NewSeed draws a seed from the operating system's random source.
func NewSeed() (Seed, error) {
	var s Seed
	if _, err := rand.Read(s[:]); err != nil {
		return Seed{}, fmt.Errorf("commit: drawing a seed: %w", err)
	}
	return s, nil
}

// DeriveSeed derives a tensor's seed from a long-lived secret and a label that
// names the tensor uniquely (model, stage, step, tensor), HMAC-SHA256(secret,
// label), so a trainer keeps one secret and regenerates every seed.
func DeriveSeed(secret []byte, label string) Seed {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	var s Seed
	copy(s[:], m.Sum(nil))
	return s
}

// salts is the pseudo-random function leaf index → salt: AES-256 keyed by the
// seed, salt_i = the two blocks AES(i‖0), AES(i‖1) with the top byte cleared,
// a uniform 248-bit integer (below the modulus, so no reduction bias). AES is
// a PRF, so revealed salts say nothing about the others; it runs in hardware,
// so deriving a salt costs far less than the hash call that absorbs it.
type salts struct{ block cipher.Block }

func newSalts(seed Seed) salts {
	b, err := aes.NewCipher(seed[:])
	if err != nil {
		panic(fmt.Sprintf("commit: AES-256 with a 32-byte key: %v", err)) // cannot happen
	}
	return salts{block: b}
}

func (s salts) salt(leaf int) fr.Element {
	var in, out [fr.Bytes]byte
	binary.BigEndian.PutUint64(in[0:8], uint64(leaf))
	binary.BigEndian.PutUint64(in[16:24], uint64(leaf))
	in[31] = 1
	s.block.Encrypt(out[0:16], in[0:16])
	s.block.Encrypt(out[16:32], in[16:32])
	out[0] = 0
	e, err := fr.BigEndian.Element(&out)
	if err != nil {
		panic(fmt.Sprintf("commit: 248-bit salt not canonical: %v", err)) // cannot happen
	}
	return e
}

// Salt returns the salt of leaf i of a tensor committed with seed.
func (s Seed) Salt(leaf int) fr.Element { return newSalts(s).salt(leaf) }
