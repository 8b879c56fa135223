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
	case Poseidon2:
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
}

func (c *hashCircuit) Define(api frontend.API) error {
	h, err := c.hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Chain(0, c.In...), c.Sum)
	api.AssertIsEqual(h.Compress(c.In[0], c.In[1]), c.Compress)
	api.AssertIsEqual(h.Chain(c.In[0], c.In[1:]...), c.Chain)
	return nil
}

func TestHashGadgetMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	assert := test.NewAssert(t)
	for _, h := range Hashes() {
		in := randElems(rng, 5)
		sum, comp, chain := Sum(h, in...), h.Compress(&in[0], &in[1]), Chain(h, in[0], in[1:]...)
		good := &hashCircuit{In: vars(in), Sum: sum, Compress: comp, Chain: chain}
		badSum := &hashCircuit{In: vars(in), Sum: in[0], Compress: comp, Chain: chain}
		badComp := &hashCircuit{In: vars(in), Sum: sum, Compress: sum, Chain: chain}
		badChain := &hashCircuit{In: vars(in), Sum: sum, Compress: comp, Chain: sum}
		assert.CheckCircuit(&hashCircuit{hash: h, In: make([]frontend.Variable, 5)},
			test.WithValidAssignment(good), test.WithInvalidAssignment(badSum), test.WithInvalidAssignment(badComp),
			test.WithInvalidAssignment(badChain),
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
	want := map[string][2]int{"poseidon2": {187, 1675}, "mimc": {331, 2971}}
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
