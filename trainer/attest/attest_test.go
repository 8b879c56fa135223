package attest

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/tile"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

const (
	testRows, testD, testT = 4, 16, 4
)

var (
	keysOnce sync.Once
	keys     []*tile.Keys
	keysErr  error
)

// testKeys sets up the three tile shapes of the test layer once per process.
func testKeys(t *testing.T) *Prover {
	t.Helper()
	keysOnce.Do(func() {
		shapes, err := verifytypes.TileShapes(testD, testRows, testT)
		if err != nil {
			keysErr = err
			return
		}
		for _, s := range shapes {
			k, err := tile.TestSetup(s)
			if err != nil {
				keysErr = err
				return
			}
			keys = append(keys, k)
		}
	})
	require.NoError(t, keysErr)
	p := NewProver("")
	for _, k := range keys {
		p.Add(k)
	}
	return p
}

func randomLayer(t *testing.T, rng *rand.Rand, step uint64) *Layer {
	t.Helper()
	gen := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (rng.Float32()*2 - 1) * scale
		}
		return v
	}
	l, err := NewLayer(step, testRows, testD, gen(testRows*testD, 2), gen(testD*testD, 0.5), gen(testRows*testD, 1))
	require.NoError(t, err)
	return l
}

func vk(t *testing.T, k *tile.Keys) []byte {
	b, err := k.MarshalVerifyingKey()
	require.NoError(t, err)
	return b
}

// Every tile of an honest layer proves, and the proof verifies against the public inputs the
// chain rebuilds from the roots alone; a faked layer proves its tie tiles only.
func TestHonestLayerProvesEveryKindAndFakeOneDoesNot(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	p := testKeys(t)
	rng := rand.New(rand.NewPCG(1, 2))
	secret := []byte("trainer secret")
	honest, err := Commit(secret, 7, 1, randomLayer(t, rng, 42))
	require.NoError(t, err)
	roots := honest.Roots()
	require.NoError(t, roots.Validate())

	for i, kind := range verifytypes.ChallengeKinds {
		o, err := honest.Open(kind, 1, 2, testT)
		require.NoError(t, err, kind)
		proof, err := p.Prove(o)
		require.NoError(t, err, kind)
		pub, err := roots.Public(kind, 1, 2)
		require.NoError(t, err)
		require.NoError(t, tile.Verify(vk(t, keys[i]), proof, pub), kind)
		// The same proof for another row does not verify: a proof answers one challenge only.
		other, err := roots.Public(kind, 2, 2)
		require.NoError(t, err)
		require.Error(t, tile.Verify(vk(t, keys[i]), proof, other), kind)
	}

	fake := randomLayer(t, rng, 43)
	fake.Fake(rng)
	cheat, err := Commit(secret, 7, 1, fake)
	require.NoError(t, err)
	for _, kind := range []verifytypes.ChallengeKind{verifytypes.CHALLENGE_KIND_FORWARD, verifytypes.CHALLENGE_KIND_BACKWARD} {
		o, err := cheat.Open(kind, 0, 0, testT)
		require.NoError(t, err)
		_, err = p.Prove(o)
		require.ErrorContains(t, err, "output", kind)
	}
	o, err := cheat.Open(verifytypes.CHALLENGE_KIND_TIE, 0, 0, testT)
	require.NoError(t, err)
	_, err = p.Prove(o)
	require.NoError(t, err, "the weights are honest, so the tie tile still proves")
}

// Recommitting a stored layer with the same secret gives the same roots: the trainer can answer
// from disk after a restart.
func TestStoreRoundTripRecommitsToTheSameRoots(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	var want []verifytypes.StepCommitment
	for step := uint64(10); step < 13; step++ {
		l := randomLayer(t, rng, step)
		c, err := Commit([]byte("k"), 1, 0, l)
		require.NoError(t, err)
		want = append(want, c.Roots())
		require.NoError(t, s.Save(l))
	}
	steps, err := s.Steps()
	require.NoError(t, err)
	require.Equal(t, []uint64{10, 11, 12}, steps)
	for i, step := range steps {
		l, err := s.Load(step)
		require.NoError(t, err)
		c, err := Commit([]byte("k"), 1, 0, l)
		require.NoError(t, err)
		require.Equal(t, want[i], c.Roots())
	}
	// Another secret gives other roots (the salts hide the values).
	l, err := s.Load(10)
	require.NoError(t, err)
	c, err := Commit([]byte("other"), 1, 0, l)
	require.NoError(t, err)
	require.NotEqual(t, want[0].XRoot, c.Roots().XRoot)

	require.NoError(t, s.Delete(10, 11))
	steps, err = s.Steps()
	require.NoError(t, err)
	require.Equal(t, []uint64{12}, steps)
	_, err = s.Load(10)
	require.ErrorIs(t, err, ErrNoLayer)
}

func TestNewLayerRefusesBadInput(t *testing.T) {
	_, err := NewLayer(1, 2, 4, make([]float32, 7), make([]float32, 16), make([]float32, 8))
	require.ErrorContains(t, err, "x has 7 values, want 8")
	x := make([]float32, 8)
	x[3] = 1e9
	_, err = NewLayer(1, 2, 4, x, make([]float32, 16), make([]float32, 8))
	require.ErrorContains(t, err, "step 1 input")
}

func TestRoundShiftIsHalfEven(t *testing.T) {
	for _, c := range []struct{ s, want int64 }{
		{0, 0}, {128, 0}, {129, 1}, {384, 2}, {640, 2}, {-128, 0}, {-129, -1}, {-384, -2}, {255, 1}, {-255, -1},
	} {
		require.Equal(t, c.want, roundShift(c.s, 8), "%d", c.s)
	}
}
