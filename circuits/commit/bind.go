package commit

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
)

// A bound root ties a tree to a tag: BindRoot(tag, inner) = f(tag, inner), one
// more compression above the Merkle root. Whoever opens a bound root must
// show the tag it was made with, so a root made under one tag (one worker's
// tensor at one step, in circuits/tile) cannot be opened under another: that
// would be a second preimage of f. The tag needs no secrecy; it only has to
// be recomputable by the verifier.

// BindRoot is f(tag, inner) natively: the root that goes on chain for a tree
// whose Merkle root is inner.
func (s Scheme) BindRoot(tag, inner fr.Element) fr.Element { return s.Hash.Compress(&tag, &inner) }

// AssertBoundOpening constrains op to open the block at index of a tree whose
// bound root (BindRoot(tag, Merkle root)) is root. tag is normally computed in
// the circuit from its public inputs, so the opening answers for that tag
// only.
func (s Scheme) AssertBoundOpening(api frontend.API, root, tag, index frontend.Variable, op OpeningVars) error {
	inner, err := s.openingRoot(api, index, op)
	if err != nil {
		return err
	}
	h, err := s.Hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(tag, inner), root)
	return nil
}

// TagBits is the width of [HashToField]'s output: 250 bits leave room to pack
// a small number beside a tag (circuits/tile's tensor tags 8·tag + tensor)
// without leaving [0, 2^253), so such packings stay injective.
const TagBits = 250

// HashToField maps a domain-separated message to a field element: SHA-256 of
// (length-prefixed domain ‖ msg) with the top six bits cleared, a uniform
// [TagBits]-bit value. The chain and the trainer use it for tags that are
// computed natively only (never in a circuit).
func HashToField(domain string, msg []byte) fr.Element {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(domain)))
	h.Write(n[:])
	h.Write([]byte(domain))
	h.Write(msg)
	var b [32]byte
	h.Sum(b[:0])
	b[0] &= 0xff >> (256 - TagBits)
	var e fr.Element
	if err := e.SetBytesCanonical(b[:]); err != nil {
		panic("commit: a 250-bit value is canonical: " + err.Error()) // cannot happen
	}
	return e
}
