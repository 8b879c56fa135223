package commit

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
)

// Hash is a SNARK-friendly hash over the BN254 scalar field, described by its
// 2-to-1 compression function f. Both sides use it the same way:
//
//   - a sequence x_1…x_n hashes as the Merkle–Damgård chain
//     h_0 = 0, h_i = f(h_{i-1}, x_i) (gnark's own construction, see
//     [Sum] and the hashers of std/hash);
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
	// Sum is the Merkle–Damgård chain over in from the zero state.
	Sum(in ...frontend.Variable) frontend.Variable
	// Compress is f(left, right).
	Compress(left, right frontend.Variable) frontend.Variable
}

// Sum hashes a sequence with h natively: the Merkle–Damgård chain of
// h.Compress from the zero state.
func Sum(h Hash, in ...fr.Element) fr.Element {
	var state fr.Element
	for i := range in {
		state = h.Compress(&state, &in[i])
	}
	return state
}

// Hashes lists the implemented hashes, default first, for tests and benchmarks.
func Hashes() []Hash { return []Hash{Poseidon2, MiMC} }
