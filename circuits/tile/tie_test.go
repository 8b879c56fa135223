package tile

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
)

// tieShapes are tiny tie shapes: K = 8, N = 16 (powers of two) and K = 12,
// N = 24 (6 blocks), where neither index range is a power of two.
var tieShapes = []Shape{
	{Kind: Tie, Rows: 8, Inner: 8, Outer: 16, T: 4},
	{Kind: Tie, Rows: 12, Inner: 12, Outer: 24, T: 4},
}

// tieStep is a K×N weight matrix committed twice: rows (as the backward tile
// needs it) and cols (as the forward tile does), which may differ.
type tieStep struct {
	s          Shape
	rows, cols []int64
	inner      fr.Element // the rows commitment's Merkle root (unbound)
}

func newTieStep(rng *rand.Rand, s Shape) *tieStep {
	w := small(rng, s.Inner*s.Outer)
	return &tieStep{s: s, rows: w, cols: append([]int64(nil), w...)}
}

func (st *tieStep) open(t testing.TB, k, c int) *Openings {
	t.Helper()
	s, sc := st.s, Scheme()
	rows, err := sc.CommitQuantized(commit.Rows, s.Inner, s.Outer, st.rows, commit.DeriveSeed([]byte("k"), "w rows"))
	require.NoError(t, err)
	cols, err := sc.CommitQuantized(commit.Columns, s.Inner, s.Outer, st.cols, commit.DeriveSeed([]byte("k"), "w cols"))
	require.NoError(t, err)
	o, err := OpenTie(s, testBinding(1, 1), rows, cols, k, c)
	require.NoError(t, err)
	st.inner = rows.Root()
	return o
}

func TestTieCircuit(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	assert := test.NewAssert(t)
	for _, s := range tieShapes {
		shape, err := NewCircuit(s)
		require.NoError(t, err)
		k, c := s.Rows-3, s.Blocks()-2
		st := newTieStep(rng, s)
		honest := st.open(t, k, c)
		require.NoError(t, honest.Check())

		// The two commitments differ outside the challenged intersection: a
		// spot check does not see it, and accepts.
		elsewhere := newTieStep(rng, s)
		elsewhere.rows[(k+1)*s.Outer+c*s.T] += 1
		elsewhere.rows[k*s.Outer+(c+1)*s.T] += 1
		notSeen := elsewhere.open(t, k, c)
		require.NoError(t, notSeen.Check())

		// Both roots honest commitments, of matrices that differ at (k, c·T+1).
		differ := newTieStep(rng, s)
		differ.rows[k*s.Outer+c*s.T+1] += 1
		mismatch := differ.open(t, k, c)
		require.ErrorContains(t, mismatch.Check(), "rows commitment")
		// Two values of the block swapped in the rows commitment.
		swap := newTieStep(rng, s)
		i0, i1 := k*s.Outer+c*s.T, k*s.Outer+c*s.T+3
		swap.rows[i0], swap.rows[i1] = swap.rows[i1], swap.rows[i0]+1 // +1: never equal
		swapped := swap.open(t, k, c)
		require.Error(t, swapped.Check())

		otherRow := assign(t, st.open(t, k+1, c)) // row k+1 opened, named k
		otherRow.Row = k
		otherBlock := assign(t, st.open(t, k, c+1)) // block c+1 opened, named c
		otherBlock.Col = c
		rootsSwapped := assign(t, honest)
		rootsSwapped.InRoot, rootsSwapped.WRoot = rootsSwapped.WRoot, rootsSwapped.InRoot
		outRoot := assign(t, honest)
		outRoot.OutRoot = 1

		invalid := map[string]*Circuit{
			"matrices differ at the intersection": assign(t, mismatch),
			"values swapped in the block":         assign(t, swapped),
			"row not the challenged":              otherRow,
			"block not the challenged":            otherBlock,
			"roots swapped":                       rootsSwapped,
			"nonzero output root":                 outRoot,
		}
		for name, w := range bindingAttacks(t, honest, st.inner) {
			invalid[name] = w
		}
		opts := append([]test.TestingOption{test.WithValidAssignment(assign(t, honest)), test.WithValidAssignment(assign(t, notSeen))}, solverOnly...)
		for name, w := range invalid {
			require.Error(t, test.IsSolved(shape, w, ecc.BN254.ScalarField()), "%s: %s", s, name)
			opts = append(opts, test.WithInvalidAssignment(w))
		}
		assert.Run(func(assert *test.Assert) { assert.CheckCircuit(shape, opts...) }, s.String())
	}
}

// TestTieOpenRefuses checks the native side names a mismatched commitment
// or challenge.
func TestTieOpenRefuses(t *testing.T) {
	s := tieShapes[1]
	st := newTieStep(rand.New(rand.NewPCG(13, 14)), s)
	sc := Scheme()
	rows, err := sc.CommitQuantized(commit.Rows, s.Inner, s.Outer, st.rows, commit.Seed{})
	require.NoError(t, err)
	cols, err := sc.CommitQuantized(commit.Columns, s.Inner, s.Outer, st.cols, commit.Seed{})
	require.NoError(t, err)
	_, err = OpenTie(s, testBinding(1, 1), cols, cols, 0, 0)
	require.ErrorContains(t, err, "rows commitment has layout")
	_, err = OpenTie(s, testBinding(1, 1), rows, rows, 0, 0)
	require.ErrorContains(t, err, "columns commitment has layout")
	_, err = OpenTie(s, testBinding(1, 1), rows, cols, s.Rows, 0)
	require.ErrorContains(t, err, "outside")
	_, err = OpenTie(s, testBinding(1, 1), rows, cols, 0, s.Blocks())
	require.ErrorContains(t, err, "outside")
	_, err = OpenTie(tinyShapes[0], testBinding(1, 1), rows, cols, 0, 0)
	require.ErrorContains(t, err, "OpenTie of a forward shape")
	_, err = Open(s, testBinding(1, 1), rows, cols, cols, 0, 0)
	require.ErrorContains(t, err, "OpenTie")
	o, err := OpenTie(s, testBinding(1, 1), rows, cols, s.Rows-1, s.Blocks()-1)
	require.NoError(t, err)
	require.NoError(t, o.Check())
	_, err = o.Deviations()
	require.ErrorContains(t, err, "no deviations")
}

// TestTieProveVerify proves a tiny tie tile for real with the deterministic
// test keys and checks the verifier refuses it under another challenge.
func TestTieProveVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("real Groth16 setup and proving")
	}
	s := tieShapes[0]
	keys := testKeys(t, s)
	vk, err := keys.MarshalVerifyingKey()
	require.NoError(t, err)
	require.Len(t, vk, VerifyingKeySize)
	st := newTieStep(rand.New(rand.NewPCG(15, 16)), s)
	o := st.open(t, 5, 2)
	proof, err := Prove(o, keys)
	require.NoError(t, err)
	require.Len(t, proof, ProofSize)
	pub := o.Public()
	require.Equal(t, [32]byte{}, pub.OutRoot)
	require.NoError(t, Verify(vk, proof, pub))
	for name, p := range map[string]PublicInputs{
		"another row":   func() PublicInputs { p := pub; p.Row = 4; return p }(),
		"another block": func() PublicInputs { p := pub; p.Col = 1; return p }(),
		"roots swapped": func() PublicInputs { p := pub; p.InRoot, p.WRoot = p.WRoot, p.InRoot; return p }(),
		"output root":   func() PublicInputs { p := pub; p.OutRoot[31] = 1; return p }(),
	} {
		require.ErrorContains(t, Verify(vk, proof, p), "does not verify", name)
	}
	// Proving refuses commitments that differ at the challenge, naming it.
	st.rows[5*s.Outer+2*s.T+3]--
	_, err = Prove(st.open(t, 5, 2), keys)
	require.ErrorContains(t, err, "weight (5, 11) is")
}
