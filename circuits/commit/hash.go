package commit

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
)

// Hash is a SNARK-friendly hash over the BN254 scalar field. Both sides, native
// and in circuit, use it the same way:
//
//   - an internal tree node is f(left, right), one call of the 2-to-1
//     compression f ([Hash.Compress]);
//   - a leaf is [Hash.Leaf] of its salt and packed elements: the
//     Merkle–Damgård chain of f started from the salt for [MiMC] and
//     [Poseidon2Chain], a width-3 sponge for [Poseidon2] (two elements a
//     permutation, see its doc).
//
// Only fixed-shape inputs are ever hashed (a leaf always has the same number of
// elements, a path always the same depth), so the unpadded constructions and
// the lack of leaf/node domain separation are safe: two different openings of
// one root that pass the same fixed sequence of calls must contain a collision
// of f or of the leaf hash.
type Hash interface {
	// Name identifies the hash in errors, benchmarks and docs.
	Name() string
	// Compress is f natively.
	Compress(left, right *fr.Element) fr.Element
	// Leaf is the digest of a leaf's packed elements keyed by its salt.
	Leaf(salt fr.Element, in []fr.Element) fr.Element
	// Gadget returns the in-circuit twin of this hash.
	Gadget(api frontend.API) (HashGadget, error)
}

// HashGadget is the in-circuit twin of a [Hash].
type HashGadget interface {
	// Chain is the Merkle–Damgård chain of f over in from state iv.
	Chain(iv frontend.Variable, in ...frontend.Variable) frontend.Variable
	// Compress is f(left, right).
	Compress(left, right frontend.Variable) frontend.Variable
	// Leaf is [Hash.Leaf].
	Leaf(salt frontend.Variable, in ...frontend.Variable) frontend.Variable
}

// Chain is the Merkle–Damgård chain of h.Compress over in from state iv.
func Chain(h Hash, iv fr.Element, in ...fr.Element) fr.Element {
	state := iv
	for i := range in {
		state = h.Compress(&state, &in[i])
	}
	return state
}

// Sum hashes a sequence natively: the chain from the zero state, equal to
// gnark-crypto's Merkle–Damgård hasher of the same hash.
func Sum(h Hash, in ...fr.Element) fr.Element { return Chain(h, fr.Element{}, in...) }

// Hashes lists the implemented hashes, default first, for tests and benchmarks.
func Hashes() []Hash { return []Hash{Poseidon2, Poseidon2Chain, MiMC} }
