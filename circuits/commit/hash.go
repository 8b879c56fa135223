package commit

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
)

// Hash is a SNARK-friendly hash over the BN254 scalar field, described by its
// 2-to-1 compression function f. Both sides use it the same way:
//
//   - a sequence x_1…x_n hashes as the Merkle–Damgård chain
//     h_0 = iv, h_i = f(h_{i-1}, x_i) (gnark's own construction, see [Chain]
//     and the hashers of std/hash); [Sum] starts from iv = 0, a leaf starts
//     from its salt;
//   - an internal tree node is f(left, right), one call.
//
// Only fixed-shape inputs are ever hashed (a leaf always has the same number of
// elements, a path always the same depth), so the unpadded chain and the lack of
// leaf/node domain separation are safe: two different openings of one root
// that pass the same fixed sequence of f calls must contain a collision of f.
type Hash interface {
	// Name identifies the hash in errors, benchmarks and docs.
	Name() string
	// Compress is f natively.
	Compress(left, right *fr.Element) fr.Element
	// Gadget returns the in-circuit twin of this hash.
	Gadget(api frontend.API) (HashGadget, error)
}

// HashGadget is the in-circuit twin of a [Hash].
type HashGadget interface {
	// Chain is the Merkle–Damgård chain over in from state iv.
	Chain(iv frontend.Variable, in ...frontend.Variable) frontend.Variable
	// Compress is f(left, right).
	Compress(left, right frontend.Variable) frontend.Variable
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
func Hashes() []Hash { return []Hash{Poseidon2, MiMC} }
