package tile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/cryptotest"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden verifying keys in testdata/")

// setupSeed seeds crypto/rand for the deterministic test setup of a shape.
// Each shape gets its own seed, hence its own toxic waste: with one seed for
// all, the keys of two shapes share β and δ, and LoadKeys could not tell a
// proving key from another shape's. Changing it changes the golden keys.
func setupSeed(s Shape) uint64 {
	h := sha256.Sum256([]byte("protolearn tile test setup " + s.String()))
	return binary.BigEndian.Uint64(h[:8])
}

var (
	testKeysMu sync.Mutex
	testKeysOf = map[Shape]*Keys{}
)

// testKeys is the deterministic test setup of a shape, cached in the
// process: [TestSetup] with crypto/rand replaced, for that call only, by
// cryptotest.SetGlobalRandom's stream seeded with [setupSeed]. gnark's
// groth16.Setup draws its toxic waste (τ, α, β, γ, δ, then the commitment
// key's σ) from crypto/rand in one goroutine, in a fixed order, so the keys
// are the same on every run. A change in gnark's use of randomness changes
// them too, which TestGoldenVerifyingKey reports like any other setup change.
//
// THE TOXIC WASTE IS PUBLIC: anyone can rerun the seeded stream, so anyone
// can forge proofs for these keys. They are for tests only.
//
// Why not a ceremony with no contribution, sealed by a beacon (mpcsetup
// phase 1 and 2 Seal)? That is deterministic too and would work outside
// tests, but it costs about 9 s per tiny shape on 2 cores (7 s of it the
// phase-2 initialization, FFTs over G2), against 0.5–0.9 s for this.
func testKeys(t *testing.T, s Shape) *Keys {
	t.Helper()
	testKeysMu.Lock()
	defer testKeysMu.Unlock()
	if k, ok := testKeysOf[s]; ok {
		return k
	}
	// Compile first, so that the randomness stream is the same whether or
	// not the circuit is already cached.
	_, err := Compile(s)
	require.NoError(t, err)
	var k *Keys
	// A subtest, so that crypto/rand is restored (at its cleanup) before
	// the caller goes on.
	t.Run("setup "+s.String(), func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, setupSeed(s))
		var err error
		k, err = TestSetup(s)
		require.NoError(t, err)
	})
	require.NotNil(t, k, "setup of %s failed", s)
	testKeysOf[s] = k
	return k
}

func goldenPath(s Shape) string { return filepath.Join("testdata", s.String()+".vk.hex") }

// goldenShapes are the shapes with a golden verifying key: the tiny forward
// and backward shapes, the first tiny tie shape, the first tiny input shape
// and the first tiny embed shape.
func goldenShapes() []Shape {
	return append(append([]Shape{}, tinyShapes...), tieShapes[0], inputShapes[0], embedShapes[0])
}

// TestGoldenVerifyingKey regenerates the verifying keys of the golden shapes
// with the deterministic test setup, compares them byte for byte with
// testdata/<shape>.vk.hex, and checks that the golden key verifies a proof
// made with the regenerated proving key. `go test ./circuits/tile -run
// TestGoldenVerifyingKey -update` rewrites the files.
func TestGoldenVerifyingKey(t *testing.T) {
	if testing.Short() && !*update {
		t.Skip("real Groth16 setup")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range goldenShapes() {
		k := testKeys(t, s)
		vk, err := k.MarshalVerifyingKey()
		require.NoError(t, err)
		path := goldenPath(s)
		if *update {
			require.NoError(t, os.MkdirAll("testdata", 0o755))
			require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(vk)+"\n"), 0o644))
			t.Logf("wrote %s", path)
		}
		file, err := os.ReadFile(path)
		require.NoError(t, err, "run with -update to create it")
		golden, err := hex.DecodeString(string(bytes.TrimSpace(file)))
		require.NoError(t, err, path)
		if !bytes.Equal(golden, vk) {
			t.Fatalf("%s: the verifying key of %s from the deterministic test setup changed.\n"+
				"The circuit, or gnark's setup or key serialization, no longer gives the same key. "+
				"Every deployed verifying key of every shape must then be regenerated through a new "+
				"ceremony and registered on chain: a protocol upgrade. If that is intended, rewrite "+
				"the golden files with `go test ./circuits/tile -run TestGoldenVerifyingKey -update`.",
				path, s)
		}
		// The golden file is a usable key: it verifies a proof made with
		// the regenerated proving key.
		var o *Openings
		switch s.Kind {
		case Tie:
			o = newTieStep(rng, s).open(t, s.Rows-1, 0)
		case Input:
			o = newInputStep(t, rng, s).open(t, s.Rows-1, 0)
		case Embed:
			o = newEmbedStep(t, rng, s).open(t, s.Rows-1, 0)
		default:
			o = newStep(t, rng, s).open(t, s.Rows-1, 0)
		}
		proof, err := Prove(o, k)
		require.NoError(t, err)
		require.NoError(t, Verify(golden, proof, o.Public()), path)
		bad := o.Public()
		bad.Row--
		require.ErrorContains(t, Verify(golden, proof, bad), "does not verify")
	}
}
