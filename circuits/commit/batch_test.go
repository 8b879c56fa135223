package commit

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

// TestBatchMatchesScalar checks the vectorized compressions against the
// scalar ones (themselves checked against gnark-crypto) at lengths around the
// vector width and the batch size, aliasing dst with left as the leaf chain
// does.
func TestBatchMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, h := range Hashes() {
		b := newBatcher(h)
		require.NotNil(t, b.bc, h.Name())
		for _, n := range []int{1, 15, 16, 17, 63, 64, 65, 200} {
			left, right := randElems(rng, n), randElems(rng, n)
			want := make([]fr.Element, n)
			for i := range want {
				want[i] = h.Compress(&left[i], &right[i])
			}
			got := make([]fr.Element, n)
			b.compress(got, left, right)
			require.Equal(t, want, got, "%s n=%d", h.Name(), n)
			b.compress(left, left, right)
			require.Equal(t, want, left, "%s n=%d aliased", h.Name(), n)
		}
	}
}

// TestBatchLeavesMatchScalar checks the batched leaf hashing against
// Hash.Leaf for every hash and element counts odd and even.
func TestBatchLeavesMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, h := range Hashes() {
		b := newBatcher(h)
		if h == Poseidon2 {
			require.NotNil(t, b.bl)
		}
		for _, n := range []int{1, 17, 64} {
			for _, m := range []int{1, 2, 3, 8, 9} {
				salts, elems := randElems(rng, n), randElems(rng, n*m)
				want := make([]fr.Element, n)
				for g := range want {
					want[g] = h.Leaf(salts[g], elems[g*m:(g+1)*m])
				}
				b.leaves(salts, elems, m)
				require.Equal(t, want, salts, "%s n=%d m=%d", h.Name(), n, m)
			}
		}
	}
}
