package commit

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	gcmimc "github.com/consensys/gnark-crypto/ecc/bn254/fr/mimc"
	gcposeidon2 "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/hash"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"
)

// reference returns gnark-crypto's own byte-oriented hasher for h: the native
// Sum must agree with it, so that anything built on gnark-crypto (or gnark's
// std) sees the same digests.
func reference(t *testing.T, h Hash) hash.StateStorer {
	switch h {
	case Poseidon2, Poseidon2Chain: // the chain is of the t=2 compression for both
		return gcposeidon2.NewMerkleDamgardHasher()
	case MiMC:
		return gcmimc.NewMiMC()
	}
	t.Fatalf("no reference for %s", h.Name())
	return nil
}

func randElems(rng *rand.Rand, n int) []fr.Element {
	out := make([]fr.Element, n)
	for i := range out {
		out[i] = fr.Element{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64() >> 3}
	}
	return out
}

func TestNativeHashMatchesGnarkCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, h := range Hashes() {
		for n := 1; n <= 6; n++ {
			in := randElems(rng, n)
			ref := reference(t, h)
			for i := range in {
				b := in[i].Bytes() // always whole 32-byte blocks: short writes are left-padded silently
				_, err := ref.Write(b[:])
				require.NoError(t, err)
			}
			var want fr.Element
			require.NoError(t, want.SetBytesCanonical(ref.Sum(nil)))
			got := Sum(h, in...)
			require.True(t, got.Equal(&want), "%s n=%d", h.Name(), n)
		}
		// A chain from a state (a leaf's salt) is gnark-crypto's hasher after
		// SetState; Compress(l, r) is the one-step chain from l.
		for n := 1; n <= 3; n++ {
			in := randElems(rng, n+1)
			ref := reference(t, h)
			iv := in[0].Bytes()
			require.NoError(t, ref.SetState(iv[:]))
			for i := range in[1:] {
				b := in[1+i].Bytes()
				_, err := ref.Write(b[:])
				require.NoError(t, err)
			}
			var want fr.Element
			require.NoError(t, want.SetBytesCanonical(ref.Sum(nil)))
			got := Chain(h, in[0], in[1:]...)
			require.True(t, got.Equal(&want), "%s chain n=%d", h.Name(), n)
			if n == 1 {
				got = h.Compress(&in[0], &in[1])
				require.True(t, got.Equal(&want), "%s compress", h.Name())
			}
		}
	}
}

type hashCircuit struct {
	hash     Hash `gnark:"-"`
	In       []frontend.Variable
	Sum      frontend.Variable `gnark:",public"`
	Compress frontend.Variable `gnark:",public"`
	Chain    frontend.Variable `gnark:",public"`
	Leaf     frontend.Variable `gnark:",public"`
}

func (c *hashCircuit) Define(api frontend.API) error {
	h, err := c.hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Chain(0, c.In...), c.Sum)
	api.AssertIsEqual(h.Compress(c.In[0], c.In[1]), c.Compress)
	api.AssertIsEqual(h.Chain(c.In[0], c.In[1:]...), c.Chain)
	api.AssertIsEqual(h.Leaf(c.In[0], c.In[1:]...), c.Leaf)
	return nil
}

func TestHashGadgetMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	assert := test.NewAssert(t)
	for _, h := range Hashes() {
		in := randElems(rng, 5)
		sum, comp, chain := Sum(h, in...), h.Compress(&in[0], &in[1]), Chain(h, in[0], in[1:]...)
		leaf := h.Leaf(in[0], in[1:])
		good := &hashCircuit{In: vars(in), Sum: sum, Compress: comp, Chain: chain, Leaf: leaf}
		badSum := &hashCircuit{In: vars(in), Sum: in[0], Compress: comp, Chain: chain, Leaf: leaf}
		badComp := &hashCircuit{In: vars(in), Sum: sum, Compress: sum, Chain: chain, Leaf: leaf}
		badChain := &hashCircuit{In: vars(in), Sum: sum, Compress: comp, Chain: sum, Leaf: leaf}
		badLeaf := &hashCircuit{In: vars(in), Sum: sum, Compress: comp, Chain: chain, Leaf: sum}
		if h == Poseidon2 {
			require.False(t, leaf.Equal(&chain), "the sponge leaf is not the chain")
		}
		assert.CheckCircuit(&hashCircuit{hash: h, In: make([]frontend.Variable, 5)},
			test.WithValidAssignment(good), test.WithInvalidAssignment(badSum), test.WithInvalidAssignment(badComp),
			test.WithInvalidAssignment(badChain), test.WithInvalidAssignment(badLeaf),
			test.WithCurves(ecc.BN254), test.WithBackends(backend.GROTH16))
	}
}

// sumCircuit hashes N elements, to measure constraints per absorbed element.
type sumCircuit struct {
	hash Hash `gnark:"-"`
	In   []frontend.Variable
	Out  frontend.Variable `gnark:",public"`
}

func (c *sumCircuit) Define(api frontend.API) error {
	h, err := c.hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Chain(0, c.In...), c.Out)
	return nil
}

// TestHashConstraints pins the in-circuit price of each hash, the measurement
// behind the default (circuits/README.md).
func TestHashConstraints(t *testing.T) {
	// Constraints to hash 1 and 9 elements: 62 S-boxes of 3 constraints for
	// Poseidon2 against 110 rounds of 3 for MiMC, per absorbed element.
	want := map[string][2]int{"poseidon2": {187, 1675}, "poseidon2-chain": {187, 1675}, "mimc": {331, 2971}}
	for _, h := range Hashes() {
		n1 := compileCount(t, &sumCircuit{hash: h, In: make([]frontend.Variable, 1)})
		n9 := compileCount(t, &sumCircuit{hash: h, In: make([]frontend.Variable, 9)})
		t.Logf("%s: %d constraints for 1 element, %d for 9: %d per element", h.Name(), n1, n9, (n9-n1)/8)
		require.Equal(t, want[h.Name()], [2]int{n1, n9}, h.Name())
	}
}

func compileCount(t testing.TB, c frontend.Circuit) int {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	require.NoError(t, err)
	return ccs.GetNbConstraints()
}

func vars(in []fr.Element) []frontend.Variable {
	out := make([]frontend.Variable, len(in))
	for i := range in {
		out[i] = in[i]
	}
	return out
}

// leafCircuit hashes a salt and N elements as a leaf.
type leafCircuit struct {
	hash Hash `gnark:"-"`
	Salt frontend.Variable
	In   []frontend.Variable
	Out  frontend.Variable `gnark:",public"`
}

func (c *leafCircuit) Define(api frontend.API) error {
	h, err := c.hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Leaf(c.Salt, c.In...), c.Out)
	return nil
}

// TestLeafConstraints pins the in-circuit price of a leaf of 1 and of 9
// packed elements: the sponge absorbs two elements a permutation of 80 S-boxes
// (240 constraints), the chains one element a call (and so does the sponge
// hash for a one-element leaf).
func TestLeafConstraints(t *testing.T) {
	want := map[string][2]int{"poseidon2": {187, 1201}, "poseidon2-chain": {187, 1675}, "mimc": {331, 2971}}
	for _, h := range Hashes() {
		n1 := compileCount(t, &leafCircuit{hash: h, In: make([]frontend.Variable, 1)})
		n9 := compileCount(t, &leafCircuit{hash: h, In: make([]frontend.Variable, 9)})
		t.Logf("%s: a leaf of 1 element %d constraints, of 9 elements %d", h.Name(), n1, n9)
		require.Equal(t, want[h.Name()], [2]int{n1, n9}, h.Name())
	}
}

// TestSpongeLeafSpec recomputes the Poseidon2 leaf from its definition with
// gnark-crypto's t=3 permutation: capacity = m, (salt, e_1), (e_2, e_3), …
// added to lanes 1 and 2, digest = lane 1; f(salt, e_1) for m = 1.
func TestSpongeLeafSpec(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	perm := gcposeidon2.NewPermutation(3, 8, 56)
	for m := 1; m <= 6; m++ {
		in := randElems(rng, m+1)
		salt, elems := in[0], in[1:]
		if m == 1 { // one element: f(salt, e_1)
			want := Poseidon2.Compress(&salt, &elems[0])
			got := Poseidon2.Leaf(salt, elems)
			require.True(t, got.Equal(&want))
			continue
		}
		var s [3]fr.Element
		s[0].SetUint64(uint64(m))
		for i := 0; i < len(in); i += 2 {
			s[1].Add(&s[1], &in[i])
			if i+1 < len(in) {
				s[2].Add(&s[2], &in[i+1])
			}
			require.NoError(t, perm.Permutation(s[:]))
		}
		got := Poseidon2.Leaf(salt, elems)
		require.True(t, got.Equal(&s[1]), "m=%d", m)
		other := salt
		other[0] ^= 1
		changed := Poseidon2.Leaf(other, elems)
		require.False(t, got.Equal(&changed), "the salt changes the digest")
	}
}
