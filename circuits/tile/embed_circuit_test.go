package tile

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"
)

// withEmbedKey is an assignment of o with E_small's bound root eBound and id
// as the private key, and OutRoot = EmbedDigest(eBound, digestID): what a
// prover controls around the embedding.
func withEmbedKey(t testing.TB, o *Openings, eBound [32]byte, id, digestID int) *Circuit {
	t.Helper()
	a := assign(t, o)
	var e fr.Element
	e.SetInt64(int64(id))
	a.EmbedKey = []frontend.Variable{mustRoot(t, eBound), e}
	d, err := EmbedDigest(eBound, digestID)
	require.NoError(t, err)
	a.OutRoot = mustRoot(t, d)
	return a
}

func TestEmbedCircuit(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	assert := test.NewAssert(t)
	for _, s := range embedShapes {
		shape, err := NewCircuit(s)
		require.NoError(t, err)
		r, col := s.Rows-2, s.Blocks()-2
		st := newEmbedStep(t, rng, s)
		honest := st.open(t, r, col)
		require.NoError(t, honest.Check())
		b := honest.Binding
		id := st.ids[r]
		otherID := (id + 1) % s.Vocab
		c, cOther := st.embedding(t, id), st.embedding(t, otherID)
		lo := r*s.Outer + col*s.T // X̂[r, col·T] in st.x

		// X̂ built from another token's embedding row, on the claimed token's
		// T_fixed row; and X̂ of another token altogether.
		fromOther := st.setRow(r, st.row(t, id, cOther)).open(t, r, col)
		require.ErrorContains(t, fromOther.Check(), "X̂ (")
		anotherToken := st.setRow(r, st.row(t, otherID, cOther)).open(t, r, col)
		require.ErrorContains(t, anotherToken.Check(), "X̂ (")
		// The claimed id's digest with another id's E_small row under it: X̂
		// is consistent with that row, only the opening index is wrong.
		rowOfOther := st.setRow(r, st.row(t, id, cOther)).open(t, r, col)
		otherRow, err := st.eCom.OpenRow(otherID)
		require.NoError(t, err)
		rowOfOther.Embed.Row = otherRow
		require.ErrorContains(t, rowOfOther.Check(), "E_small")
		// One coordinate one unit off, X̂ computed from it: the committed row
		// no longer opens.
		moved := append([]int64(nil), c...)
		moved[1]++
		offC := st.setRow(r, st.row(t, id, moved)).open(t, r, col)
		offC.Embed.Row.Values[0][1]++
		require.ErrorContains(t, offC.Check(), "does not match the root")
		// X̂ one ULP off in the block.
		oneULP := st.setRow(r, st.x[r*s.Outer:(r+1)*s.Outer])
		oneULP.x[lo+1]++
		offX := oneULP.open(t, r, col)
		require.ErrorContains(t, offX.Check(), "X̂ (")
		// Another token claimed throughout (its T_ext row, its E_small row,
		// its digest) for X̂ of row r's token.
		claimOther := st.openAs(t, r, col, otherID)
		require.ErrorContains(t, claimOther.Check(), "X̂ (")

		eBound := BoundRoot(b.Step, TensorE, st.eCom.Root())
		// E_small bound to another step (an e_root posted at another step),
		// or as another tensor, with the digest of that root.
		otherStep := withEmbedKey(t, honest, BoundRoot(testBinding(2, 1).Step, TensorE, st.eCom.Root()), id, id)
		asX := withEmbedKey(t, honest, BoundRoot(b.Step, TensorX, st.eCom.Root()), id, id)
		unbound := withEmbedKey(t, honest, st.eCom.RootBytes(), id, id)
		// The digest of another id, everything else for id; and the other
		// way round.
		digestID := withEmbedKey(t, honest, eBound, id, otherID)
		keyID := withEmbedKey(t, honest, eBound, otherID, id)
		// Another model's tables.
		foreign := newEmbedStep(t, rng, s)
		foreign.x, foreign.ids, foreign.eCom = st.x, st.ids, st.eCom
		otherTables := foreign.open(t, r, col)
		require.Error(t, otherTables.Check())
		textRow, err := st.tables.tCom.OpenRow(otherID)
		require.NoError(t, err)
		textOther := assign(t, honest)
		textOther.Table = textRow.Assignment()
		wrongRow := assign(t, st.open(t, r+1, col))
		wrongRow.Row = r
		wrongCol := assign(t, honest)
		wrongCol.Col = col - 1

		invalid := map[string]*Circuit{
			"X̂ from another token's embedding": assign(t, fromOther),
			"X̂ of another token":               assign(t, anotherToken),
			"E_small row of another token":      assign(t, rowOfOther),
			"coordinate one unit off":           assign(t, offC),
			"X̂ one ULP off":                    assign(t, offX),
			"another token claimed":             assign(t, claimOther),
			"E_small bound to another step":     otherStep,
			"E_small bound as X":                asX,
			"E_small root unbound":              unbound,
			"digest of another id":              digestID,
			"private id not the digest's":       keyID,
			"tables of another model":           assign(t, otherTables),
			"T_ext row of another token":        textOther,
			"row not the challenged":            wrongRow,
			"block not the challenged":          wrongCol,
		}
		for name, w := range bindingAttacks(t, honest, st.inner) {
			invalid[name] = w
		}
		opts := append([]test.TestingOption{test.WithValidAssignment(assign(t, honest))}, solverOnly...)
		for name, w := range invalid {
			require.Error(t, test.IsSolved(shape, w, ecc.BN254.ScalarField()), "%s: %s", s, name)
			opts = append(opts, test.WithInvalidAssignment(w))
		}
		// The honest key, rebuilt by hand, passes: the attacks above fail
		// for what they change, not for how withEmbedKey assigns.
		require.NoError(t, test.IsSolved(shape, withEmbedKey(t, honest, eBound, id, id), ecc.BN254.ScalarField()))
		assert.Run(func(assert *test.Assert) { assert.CheckCircuit(shape, opts...) }, s.String())
	}
}

// TestEmbedProveVerify proves a tiny embed tile for real with the
// deterministic test keys and checks the verifier refuses it for another
// OutRoot (another token, another step's e_root), tables or challenge.
func TestEmbedProveVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("real Groth16 setup and proving")
	}
	s := embedShapes[0]
	keys := testKeys(t, s)
	vk, err := keys.MarshalVerifyingKey()
	require.NoError(t, err)
	require.Len(t, vk, VerifyingKeySize)
	rng := rand.New(rand.NewPCG(49, 50))
	st := newEmbedStep(t, rng, s)
	o := st.open(t, 2, 3)
	proof, err := Prove(o, keys)
	require.NoError(t, err)
	require.Len(t, proof, ProofSize)
	pub := o.Public()
	// The chain's view: the stored e_root and the dataset's token.
	eRoot := BoundRoot(o.Binding.Step, TensorE, st.eCom.Root())
	want, err := EmbedDigest(eRoot, st.ids[2])
	require.NoError(t, err)
	require.Equal(t, want, pub.OutRoot)
	require.NoError(t, Verify(vk, proof, pub))

	anotherToken, _ := EmbedDigest(eRoot, st.ids[2]^1)
	anotherStep, _ := EmbedDigest(BoundRoot(testBinding(2, 1).Step, TensorE, st.eCom.Root()), st.ids[2])
	otherTables := newEmbedStep(t, rng, s).tables.Root()
	for name, p := range map[string]PublicInputs{
		"another token":     func() PublicInputs { p := pub; p.OutRoot = anotherToken; return p }(),
		"another step's E":  func() PublicInputs { p := pub; p.OutRoot = anotherStep; return p }(),
		"the e_root itself": func() PublicInputs { p := pub; p.OutRoot = eRoot; return p }(),
		"other tables":      func() PublicInputs { p := pub; p.WRoot = otherTables; return p }(),
		"another row":       func() PublicInputs { p := pub; p.Row = 1; return p }(),
		"another block":     func() PublicInputs { p := pub; p.Col = 0; return p }(),
		"another challenge": func() PublicInputs { p := pub; p.Binding = testBinding(1, 2).Public(); return p }(),
		"input tile's input": func() PublicInputs {
			p := pub
			p.OutRoot = InputDigest(st.ids[2], st.embedding(t, st.ids[2]))
			return p
		}(),
	} {
		require.ErrorContains(t, Verify(vk, proof, p), "does not verify", name)
	}
	// Proving refuses an X̂ that is not the token's, naming it.
	st.x[2*s.Outer+3*4+1]++
	_, err = Prove(st.open(t, 2, 3), keys)
	require.ErrorContains(t, err, "X̂ (2, 13) is")
}

// TestEmbedConstraintCounts pins the embed tile's size at the tiny shapes,
// at the demo's small model (d = 128, k = 4, 256 tokens) and, without
// -short, at d = 2048, k = 20.
func TestEmbedConstraintCounts(t *testing.T) {
	pinned := map[Shape]int{
		embedShapes[0]: 5844,
		embedShapes[1]: 6220,
		{Kind: Embed, Rows: 256, Inner: 4, Outer: 128, T: 4, Vocab: 256}: 12668,
	}
	if !testing.Short() {
		pinned[Shape{Kind: Embed, Rows: 256, Inner: 20, Outer: 2048, T: 4, Vocab: 256}] = 71109
	}
	requireConstraints(t, pinned)
}
