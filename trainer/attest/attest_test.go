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

// testTiles are the tiles of a stage-0 test attestation: no input tile.
var testTiles = verifytypes.Tiles{Width: testT}

var (
	keysOnce sync.Once
	keys     []*tile.Keys
	keysErr  error
)

// testKeys sets up the three tile shapes of the test layer once per process.
func testKeys(t *testing.T) *Prover {
	t.Helper()
	keysOnce.Do(func() {
		shapes, err := verifytypes.Tiles{DModel: testD, Rows: testRows, Width: testT}.Shapes()
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

// randoms draws n values uniform in [-scale, scale).
func randoms(rng *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * scale
	}
	return v
}

func randomLayer(t *testing.T, rng *rand.Rand, step uint64) *Layer {
	t.Helper()
	l, err := NewLayer(step, testRows, testD, randoms(rng, testRows*testD, 2), randoms(rng, testD*testD, 0.5), randoms(rng, testRows*testD, 1))
	require.NoError(t, err)
	return l
}

func vk(t *testing.T, k *tile.Keys) []byte {
	b, err := k.MarshalVerifyingKey()
	require.NoError(t, err)
	return b
}

// testOwner is the worker whose layers the tests commit.
var testOwner = Owner{ChainID: "protolearn-test-1", ModelID: 7, Stage: 1, Worker: "learn1worker"}

// challengeOf is challenge id of kind at (row, col) on the attestation holding roots.
func challengeOf(a verifytypes.Attestation, id uint64, kind verifytypes.ChallengeKind, row, col uint32) verifytypes.Challenge {
	return verifytypes.Challenge{Id: id, AttestationId: a.Id, Worker: a.Worker, Kind: kind, Step: a.StepFrom, Row: row, Col: col, Shape: kind.String()}
}

// Every tile of an honest layer proves, and the proof verifies against the public inputs the
// chain rebuilds from its own state alone; the same proof answers no other challenge, and not
// the same roots attested by another worker, at another step or on another chain. A faked layer
// proves its tie tiles only.
func TestHonestLayerProvesEveryKindAndFakeOneDoesNot(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	p := testKeys(t)
	rng := rand.New(rand.NewPCG(1, 2))
	secret := []byte("trainer secret")
	honest, err := Commit(secret, testOwner, randomLayer(t, rng, 42))
	require.NoError(t, err)
	roots := honest.Roots()
	require.NoError(t, roots.Validate())
	att := verifytypes.Attestation{
		Id: 3, Worker: testOwner.Worker, ModelId: testOwner.ModelID, Stage: testOwner.Stage, StepFrom: 42, StepTo: 42,
		Commitments: []verifytypes.StepCommitment{roots},
	}
	copied := att // the same roots, attested by another worker
	copied.Id, copied.Worker = 4, "learn1copier"
	later := att // the same roots, reused at another step
	later.Id, later.StepFrom, later.StepTo = 5, 43, 43
	later.Commitments = []verifytypes.StepCommitment{roots}
	later.Commitments[0].Step = 43

	for i, kind := range testTiles.Kinds() {
		ch := challengeOf(att, 9, kind, 1, 2)
		o, err := honest.Open(ch, testTiles, nil)
		require.NoError(t, err, kind)
		proof, err := p.Prove(o)
		require.NoError(t, err, kind)
		pub, err := verifytypes.ChallengePublic(testOwner.ChainID, att, ch)
		require.NoError(t, err)
		require.NoError(t, tile.Verify(vk(t, keys[i]), proof, pub), kind)

		// The same proof for anything else does not verify: a proof answers one challenge only.
		for name, c := range map[string]struct {
			chainID string
			a       verifytypes.Attestation
			ch      verifytypes.Challenge
		}{
			"another row":                  {testOwner.ChainID, att, challengeOf(att, 9, kind, 2, 2)},
			"another challenge, same tile": {testOwner.ChainID, att, challengeOf(att, 10, kind, 1, 2)},
			"another chain":                {"protolearn-other-1", att, ch},
			"copied by another worker":     {testOwner.ChainID, copied, challengeOf(copied, 11, kind, 1, 2)},
			"reused at another step":       {testOwner.ChainID, later, challengeOf(later, 12, kind, 1, 2)},
		} {
			pub, err := verifytypes.ChallengePublic(c.chainID, c.a, c.ch)
			require.NoError(t, err)
			require.Error(t, tile.Verify(vk(t, keys[i]), proof, pub), "%s: %s", kind, name)
		}
		// The owner of the roots cannot answer the copier's or its own later challenge either:
		// its openings are bound to its own step tag.
		o, err = honest.Open(challengeOf(copied, 11, kind, 1, 2), testTiles, nil)
		require.NoError(t, err)
		proof, err = p.Prove(o)
		require.NoError(t, err)
		pub, err = verifytypes.ChallengePublic(testOwner.ChainID, copied, challengeOf(copied, 11, kind, 1, 2))
		require.NoError(t, err)
		require.Error(t, tile.Verify(vk(t, keys[i]), proof, pub), "%s: proof for the copier", kind)
	}

	fake := randomLayer(t, rng, 43)
	fake.Fake(rng)
	cheat, err := Commit(secret, testOwner, fake)
	require.NoError(t, err)
	for _, kind := range []verifytypes.ChallengeKind{verifytypes.CHALLENGE_KIND_FORWARD, verifytypes.CHALLENGE_KIND_BACKWARD} {
		o, err := cheat.Open(verifytypes.Challenge{Step: 43, Kind: kind}, testTiles, nil)
		require.NoError(t, err)
		_, err = p.Prove(o)
		require.ErrorContains(t, err, "output", kind)
	}
	o, err := cheat.Open(verifytypes.Challenge{Step: 43, Kind: verifytypes.CHALLENGE_KIND_TIE}, testTiles, nil)
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
		c, err := Commit([]byte("k"), testOwner, l)
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
		c, err := Commit([]byte("k"), testOwner, l)
		require.NoError(t, err)
		require.Equal(t, want[i], c.Roots())
	}
	// Another secret gives other roots (the salts hide the values).
	l, err := s.Load(10)
	require.NoError(t, err)
	c, err := Commit([]byte("other"), testOwner, l)
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
