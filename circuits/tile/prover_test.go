package tile

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"
)

// TestProveVerify proves a tiny forward and backward tile for real (about a
// second each) and checks the verifier's refusals.
func TestProveVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("real Groth16 setup and proving")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	keys := make([]*Keys, len(tinyShapes))
	vks := make([][]byte, len(tinyShapes))
	for i, s := range tinyShapes {
		var err error
		start := time.Now()
		keys[i] = testKeys(t, s)
		vks[i], err = keys[i].MarshalVerifyingKey()
		require.NoError(t, err)
		require.Len(t, vks[i], VerifyingKeySize)
		t.Logf("%s: setup %v", s, time.Since(start))
	}
	for i, s := range tinyShapes {
		st := newStep(t, rng, s)
		o := st.open(t, 1, s.Blocks()-1)
		start := time.Now()
		proof, err := Prove(o, keys[i])
		require.NoError(t, err)
		t.Logf("%s: prove %v", s, time.Since(start))
		require.Len(t, proof, ProofSize)
		pub := o.Public()

		// The proof decodes and re-encodes to the same bytes.
		var decoded groth16bn254.Proof
		_, err = decoded.ReadFrom(bytes.NewReader(proof))
		require.NoError(t, err)
		var reencoded bytes.Buffer
		_, err = decoded.WriteTo(&reencoded)
		require.NoError(t, err)
		require.Equal(t, proof, reencoded.Bytes(), "proof round trip")

		before := runtime.NumGoroutine()
		start = time.Now()
		require.NoError(t, Verify(vks[i], proof, pub))
		t.Logf("%s: verify from bytes %v", s, time.Since(start))
		require.NoError(t, Verify(vks[i], proof, pub), "deterministic")
		waitGoroutines(t, before)

		// A proof for a different root, row or block.
		for name, p := range map[string]PublicInputs{
			"input root":  func() PublicInputs { p := pub; p.InRoot[31] ^= 1; return p }(),
			"weight root": func() PublicInputs { p := pub; p.WRoot = pub.OutRoot; return p }(),
			"output root": func() PublicInputs { p := pub; p.OutRoot = pub.InRoot; return p }(),
			"row":         func() PublicInputs { p := pub; p.Row++; return p }(),
			"block":       func() PublicInputs { p := pub; p.Col--; return p }(),
			// The binding enters a constraint, so its verifying-key term is not zero: the same
			// proof does not answer another challenge or another step.
			"another challenge": func() PublicInputs { p := pub; p.Binding = testBinding(1, 2).Public(); return p }(),
			"another step":      func() PublicInputs { p := pub; p.Binding = testBinding(2, 1).Public(); return p }(),
			"zero binding":      func() PublicInputs { p := pub; p.Binding = [32]byte{}; return p }(),
		} {
			require.ErrorContains(t, Verify(vks[i], proof, p), "does not verify", name)
		}
		nonCanonical := pub
		for k := range nonCanonical.InRoot {
			nonCanonical.InRoot[k] = 0xff
		}
		require.ErrorContains(t, Verify(vks[i], proof, nonCanonical), "input root")

		// Truncated, padded, corrupted proofs.
		require.ErrorContains(t, Verify(vks[i], proof[:ProofSize-1], pub), "proof of 195 bytes")
		require.ErrorContains(t, Verify(vks[i], append(append([]byte{}, proof...), 0), pub), "proof of 197 bytes")
		require.ErrorContains(t, Verify(vks[i], nil, pub), "proof of 0 bytes")
		forged := append([]byte{}, proof...)
		forged[128], forged[129] = 0x7f, 0xff // commitment count 2^31: must not allocate
		require.ErrorContains(t, Verify(vks[i], forged, pub), "commitments")
		flipped := append([]byte{}, proof...)
		flipped[5] ^= 0x40
		require.Error(t, Verify(vks[i], flipped, pub))

		// The verifying key of the other shape, and malformed keys.
		require.ErrorContains(t, Verify(vks[1-i], proof, pub), "does not verify")
		require.ErrorContains(t, Verify(vks[i][:VerifyingKeySize-1], proof, pub), "verifying key of")
		require.ErrorContains(t, Verify(append(append([]byte{}, vks[i]...), 0), proof, pub), "verifying key of")
		badVK := append([]byte{}, vks[i]...)
		badVK[288] = 0x7f // K count 2^31: must not allocate
		require.ErrorContains(t, Verify(badVK, proof, pub), "six public inputs")
		badVK = append([]byte{}, vks[i]...)
		badVK[230] ^= 0x01 // [δ]2 off the curve or out of the subgroup
		require.Error(t, Verify(badVK, proof, pub))

		// Proving refuses an output outside the tolerance, naming it.
		st.o[1*s.Outer+(s.Blocks()-1)*s.T] += int64(s.TolULP + 1)
		_, err = Prove(st.open(t, 1, s.Blocks()-1), keys[i])
		require.ErrorContains(t, err, "off by")
	}

	// Keys round trip through bytes.
	pkBytes, err := keys[0].MarshalProvingKey()
	require.NoError(t, err)
	loaded, err := LoadKeys(tinyShapes[0], pkBytes, vks[0])
	require.NoError(t, err)
	vk2, err := loaded.MarshalVerifyingKey()
	require.NoError(t, err)
	require.Equal(t, vks[0], vk2)
	pk2, err := loaded.MarshalProvingKey()
	require.NoError(t, err)
	require.Equal(t, pkBytes, pk2)
	o := newStep(t, rng, tinyShapes[0]).open(t, 0, 0)
	proof, err := Prove(o, loaded)
	require.NoError(t, err)
	require.NoError(t, Verify(vks[0], proof, o.Public()))
	_, err = LoadKeys(tinyShapes[0], pkBytes, vks[1])
	require.ErrorContains(t, err, "not a pair")
	_, err = LoadKeys(tinyShapes[0], append(pkBytes, 0), vks[0])
	require.ErrorContains(t, err, "trailing")
	// Keys of another circuit (as an earlier version of a shape's circuit would be) whose domain
	// is large enough: the wire count tells them apart.
	_, err = LoadKeys(tinyShapes[1], pkBytes, vks[0])
	require.ErrorContains(t, err, "wires")
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), want, "goroutines left behind by Verify")
}

// TestPublicVectorMatchesWitness checks the hand-built public witness is in
// the circuit's order.
func TestPublicVectorMatchesWitness(t *testing.T) {
	o := newStep(t, rand.New(rand.NewPCG(7, 8)), tinyShapes[0]).open(t, 3, 1)
	a, err := o.Assignment()
	require.NoError(t, err)
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField(), frontend.PublicOnly())
	require.NoError(t, err)
	got, err := o.Public().vector()
	require.NoError(t, err)
	require.Equal(t, fr.Vector(got), w.Vector().(fr.Vector))
}
