package tile

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
)

// inputShapes are tiny input shapes: d = 16, k = 4, 8 tokens, 4 rows, T = 4
// (4 blocks), and d = 24 (6 blocks, not a power of two) with 5 tokens.
var inputShapes = []Shape{
	{Kind: Input, Rows: 4, Inner: 4, Outer: 16, T: 4, Vocab: 8},
	{Kind: Input, Rows: 3, Inner: 3, Outer: 24, T: 4, Vocab: 5},
}

// inputStep is one microbatch as the receiving stage holds it: the tables,
// each row's token and quantized coordinates, and X̂ computed from them
// (rows×d), which may be tampered with before committing.
type inputStep struct {
	s      Shape
	tables *Tables
	ids    []int
	c      [][]int64
	x      []int64
	inner  fr.Element // X̂'s Merkle root (unbound), after open
}

func newInputStep(t testing.TB, rng *rand.Rand, s Shape) *inputStep {
	t.Helper()
	st := &inputStep{s: s, tables: newBoundary(rng, s.Outer, s.Inner, s.Vocab, 1).tables(t), x: make([]int64, 0, s.Rows*s.Outer)}
	for range s.Rows {
		c, err := QuantizeCoordinates(coords(rng, s.Inner, 1))
		require.NoError(t, err)
		st.ids = append(st.ids, rng.IntN(s.Vocab))
		st.c = append(st.c, c)
		st.x = append(st.x, st.row(t, st.ids[len(st.ids)-1], c)...)
	}
	return st
}

// row is InputRow(id, c) of the step's tables.
func (st *inputStep) row(t testing.TB, id int, c []int64) []int64 {
	t.Helper()
	x, err := st.tables.InputRow(id, c)
	require.NoError(t, err)
	return x
}

// commitX commits X̂ as the trainer does (Rows, the tiles' scheme).
func (st *inputStep) commitX(t testing.TB) *commit.Commitment {
	t.Helper()
	x, err := Scheme().CommitQuantized(commit.Rows, st.s.Rows, st.s.Outer, st.x, commit.DeriveSeed([]byte("k"), "xhat"))
	require.NoError(t, err)
	st.inner = x.Root()
	return x
}

// open opens (r, col) for row r's own token and coordinates.
func (st *inputStep) open(t testing.TB, r, col int) *Openings {
	t.Helper()
	return st.openAs(t, r, col, st.ids[r], st.c[r])
}

// openAs opens (r, col) claiming token id with coordinates c.
func (st *inputStep) openAs(t testing.TB, r, col, id int, c []int64) *Openings {
	t.Helper()
	o, err := OpenInput(st.s, testBinding(1, 1), st.commitX(t), st.tables, r, col, id, c)
	require.NoError(t, err)
	return o
}

func TestInputCircuit(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	assert := test.NewAssert(t)
	for _, s := range inputShapes {
		shape, err := NewCircuit(s)
		require.NoError(t, err)
		r, col := s.Rows-2, s.Blocks()-2
		st := newInputStep(t, rng, s)
		honest := st.open(t, r, col)
		require.NoError(t, honest.Check())
		id, c := st.ids[r], st.c[r]
		otherID := (id + 1) % s.Vocab
		lo := r*s.Outer + col*s.T // X̂[r, col·T] in st.x

		// X̂ off outside the challenged block: a spot check does not see it.
		elsewhere := *st
		elsewhere.x = append([]int64(nil), st.x...)
		elsewhere.x[lo+s.T]++
		elsewhere.x[lo-1]--
		notSeen := elsewhere.open(t, r, col)
		require.NoError(t, notSeen.Check())

		// X̂ committed for another token, or one value one ULP off.
		swapped := *st
		swapped.x = append([]int64(nil), st.x...)
		copy(swapped.x[r*s.Outer:], st.row(t, otherID, c))
		anotherToken := swapped.open(t, r, col)
		require.ErrorContains(t, anotherToken.Check(), "X̂ (")
		offByOne := *st
		offByOne.x = append([]int64(nil), st.x...)
		offByOne.x[lo+1]++
		oneULP := offByOne.open(t, r, col)
		require.ErrorContains(t, oneULP.Check(), "X̂ (")
		offByOne.x[lo+1] -= 2
		oneULPLow := offByOne.open(t, r, col)
		require.ErrorContains(t, oneULPLow.Check(), "X̂ (")

		// Coordinates changed by 1.0 along each axis, their digest made for
		// them: public and consistent, but X̂ is not theirs.
		moved := append([]int64(nil), c...)
		for i := range moved {
			moved[i] += 1 << 16
		}
		otherC := st.openAs(t, r, col, id, moved)
		require.ErrorContains(t, otherC.Check(), "X̂ (")
		// Another token claimed, with its digest and its T_ext row.
		otherTok := st.openAs(t, r, col, otherID, c)
		require.ErrorContains(t, otherTok.Check(), "X̂ (")

		// X̂ proved against another model's tables.
		other := newInputStep(t, rng, s)
		other.x, other.ids, other.c = st.x, st.ids, st.c
		otherTables := other.open(t, r, col)
		require.Error(t, otherTables.Check())

		wrongID := assign(t, honest) // id changed, digest as public
		wrongID.Token[0] = otherID
		wrongC := assign(t, honest)
		wrongC.Token[1] = frontend.Variable(c[0] + 1)
		textRow, err := st.tables.tCom.OpenRow(otherID)
		require.NoError(t, err)
		textOther := assign(t, honest) // T_ext row of another token
		textOther.Table = textRow.Assignment()
		uBlock, err := st.tables.uCom.OpenColumnBlock(col+1, s.T)
		require.NoError(t, err)
		uOther := assign(t, honest) // U rows of the next block
		uOther.W = uBlock.Assignment()
		wrongRoot := assign(t, honest)
		wrongRoot.WRoot = mustRoot(t, otherTables.WRoot)
		rootUp, rootDown, qUp, qDown := assign(t, honest), assign(t, honest), assign(t, honest), assign(t, honest)
		rootUp.Norm[1] = frontend.Variable(rootOf(t, honest) + 1)
		rootDown.Norm[1] = frontend.Variable(rootOf(t, honest) - 1)
		qUp.Norm[0] = new(fr.Element).Add(mustElement(t, qUp.Norm[0]), new(fr.Element).SetOne())
		qDown.Norm[0] = new(fr.Element).Sub(mustElement(t, qDown.Norm[0]), new(fr.Element).SetOne())
		otherDigest := assign(t, honest) // everything of (id, c), the digest of (id, c')
		otherDigest.OutRoot = mustRoot(t, InputDigest(id, moved))
		xBlock := assign(t, oneULP) // the honest X̂ block beside a row that differs in it
		xBlock.OutBlock = assign(t, honest).OutBlock
		tBlock := assign(t, honest) // t_j one unit off: V_j moves by 2^16, far less than R·2^8
		tBlock.TBlock[1] = frontend.Variable(honest.Input.Table.Values[0][col*s.T+1] + 1)
		wrongRow := assign(t, st.open(t, r+1, col)) // X̂ row r+1 named r
		wrongRow.Row = r
		wrongCol := assign(t, honest) // block col named col−1
		wrongCol.Col = col - 1

		invalid := map[string]*Circuit{
			"X̂ of another token":              assign(t, anotherToken),
			"X̂ one ULP high":                  assign(t, oneULP),
			"X̂ one ULP low":                   assign(t, oneULPLow),
			"coordinate of 2^31":               wideCoordinate(t, st, r, col),
			"coordinates moved, digest redone": assign(t, otherC),
			"another token, digest redone":     assign(t, otherTok),
			"tables of another model":          assign(t, otherTables),
			"wrong id":                         wrongID,
			"wrong coordinate":                 wrongC,
			"digest of other coordinates":      otherDigest,
			"X̂ block not the opened row's":    xBlock,
			"t block not the opened row's":     tBlock,
			"T_ext row of another token":       textOther,
			"U rows of another block":          uOther,
			"wrong subspace root":              wrongRoot,
			"R + 1":                            rootUp,
			"R − 1":                            rootDown,
			"q + 1":                            qUp,
			"q − 1":                            qDown,
			"row not the challenged":           wrongRow,
			"block not the challenged":         wrongCol,
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

// TestInputRemainderBound checks the upper bound r′ ≤ d − 1 when d is not a
// power of two: at d = 24, q − 1 with r′ + 24 < 32 passes the 5-bit check on
// r′ and, R unchanged, every other constraint.
func TestInputRemainderBound(t *testing.T) {
	s := inputShapes[1]
	shape, err := NewCircuit(s)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(39, 40))
	for range 100 {
		st := newInputStep(t, rng, s)
		o := st.open(t, 0, 0)
		p, err := o.inputParts()
		require.NoError(t, err)
		n, err := newRowNorm(p.tRow, p.pRow, o.Input.Coords)
		require.NoError(t, err)
		if n.rem >= 8 || n.q == 0 || rootOfM(n.q-1) != n.root {
			continue
		}
		a := assign(t, o)
		require.NoError(t, test.IsSolved(shape, a, ecc.BN254.ScalarField()))
		a.Norm[0] = n.q - 1
		require.Error(t, test.IsSolved(shape, a, ecc.BN254.ScalarField()))
		return
	}
	t.Fatal("no row with r′ < 8 in 100 draws")
}

// rootOfM is floor(√(q + E)).
func rootOfM(q uint64) int64 {
	m := new(big.Int).SetUint64(q + NormEpsilon)
	return m.Sqrt(m).Int64()
}

// wideCoordinate is the input tile (r, col) of st for row r's token with c_0
// = 2^31, one past the 32-bit range, and everything else consistent with it:
// X̂'s row computed from it, the digest of it. Only the range check on the
// coordinates refuses it.
func wideCoordinate(t testing.TB, st *inputStep, r, col int) *Circuit {
	t.Helper()
	s, id := st.s, st.ids[r]
	c := append([]int64(nil), st.c[r]...)
	c[0] = 1 << 31
	ext, err := st.tables.TextRow(id)
	require.NoError(t, err)
	n, err := newRowNorm(ext[:s.Outer], ext[s.Outer:], c)
	require.NoError(t, err)
	wide := *st
	wide.x = append([]int64(nil), st.x...)
	for j := range s.Outer {
		u, err := st.tables.URow(j)
		require.NoError(t, err)
		wide.x[r*s.Outer+j], err = xhatOf(numerator(ext[j], u, c, n.root), n.root)
		require.NoError(t, err)
	}
	o := wide.open(t, r, col)
	o.Input.Coords, o.OutRoot = c, InputDigest(id, c)
	require.ErrorContains(t, o.Check(), "c[0] = 2147483648")
	return assign(t, o)
}

// rootOf is the R the honest witness of o carries.
func rootOf(t testing.TB, o *Openings) int64 {
	t.Helper()
	p, err := o.inputParts()
	require.NoError(t, err)
	n, err := newRowNorm(p.tRow, p.pRow, o.Input.Coords)
	require.NoError(t, err)
	return n.root
}

func mustRoot(t testing.TB, b [32]byte) fr.Element {
	t.Helper()
	e, err := commit.ParseRoot(b[:])
	require.NoError(t, err)
	return e
}

func mustElement(t testing.TB, v frontend.Variable) *fr.Element {
	t.Helper()
	var e fr.Element
	_, err := e.SetInterface(v)
	require.NoError(t, err)
	return &e
}

// digestCircuit checks the in-circuit chain of the input tile against
// [InputDigest].
type digestCircuit struct {
	Token  []frontend.Variable
	Digest frontend.Variable `gnark:",public"`
}

func (c *digestCircuit) Define(api frontend.API) error {
	h, err := Scheme().Hash.Gadget(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Chain(0, c.Token...), c.Digest)
	return nil
}

func TestInputDigestGadget(t *testing.T) {
	id, c := 5, []int64{-1 << 31, 1<<31 - 1, -3, 0}
	d := InputDigest(id, c)
	w := &digestCircuit{Digest: mustRoot(t, d)}
	for _, e := range tokenElements(id, c) {
		w.Token = append(w.Token, e)
	}
	shape := &digestCircuit{Token: make([]frontend.Variable, 5)}
	require.NoError(t, test.IsSolved(shape, w, ecc.BN254.ScalarField()))
	other := InputDigest(id, []int64{-1 << 31, 1<<31 - 1, 3, 0})
	w.Digest = mustRoot(t, other)
	require.Error(t, test.IsSolved(shape, w, ecc.BN254.ScalarField()))
}

// TestInputOpenRefuses checks the native side names a mismatched commitment,
// table or challenge.
func TestInputOpenRefuses(t *testing.T) {
	s := inputShapes[0]
	st := newInputStep(t, rand.New(rand.NewPCG(33, 34)), s)
	x := st.commitX(t)
	b := testBinding(1, 1)
	c := st.c[0]
	_, err := OpenInput(tinyShapes[0], b, x, st.tables, 0, 0, 0, c)
	require.ErrorContains(t, err, "OpenInput needs an input shape, got forward-")
	cols, err := Scheme().CommitQuantized(commit.Columns, s.Rows, s.Outer, st.x, commit.Seed{})
	require.NoError(t, err)
	_, err = OpenInput(s, b, cols, st.tables, 0, 0, 0, c)
	require.ErrorContains(t, err, "X̂ commitment has layout")
	small := newInputStep(t, rand.New(rand.NewPCG(35, 36)), inputShapes[1])
	_, err = OpenInput(s, b, x, small.tables, 0, 0, 0, c)
	require.ErrorContains(t, err, "tables of d=24")
	_, err = OpenInput(s, b, x, st.tables, s.Rows, 0, 0, c)
	require.ErrorContains(t, err, "outside")
	_, err = OpenInput(s, b, x, st.tables, 0, s.Blocks(), 0, c)
	require.ErrorContains(t, err, "outside")
	_, err = OpenInput(s, b, x, st.tables, 0, 0, s.Vocab, c)
	require.ErrorContains(t, err, "token id 8 outside")
	_, err = OpenInput(s, b, x, st.tables, 0, 0, 0, c[1:])
	require.ErrorContains(t, err, "3 boundary coordinates")
	_, err = OpenInput(s, b, x, st.tables, 0, 0, 0, []int64{0, 1 << 31, 0, 0})
	require.ErrorContains(t, err, "c[1]")
	_, err = Open(s, b, x, x, x, 0, 0)
	require.ErrorContains(t, err, "OpenInput")

	o, err := OpenInput(s, b, x, st.tables, 0, 1, st.ids[0], c)
	require.NoError(t, err)
	require.NoError(t, o.Check())
	_, err = o.Deviations()
	require.ErrorContains(t, err, "no deviations")
	o.OutRoot = InputDigest(st.ids[0]+1, c)
	require.ErrorContains(t, o.Check(), "not the digest")
	o.Input.Table.Values[0] = o.Input.Table.Values[0][1:]
	require.ErrorContains(t, o.Check(), "T_ext opening")
	_, err = o.Assignment()
	require.ErrorContains(t, err, "T_ext opening")
}

func TestInputShape(t *testing.T) {
	for _, s := range inputShapes {
		require.NoError(t, s.Validate())
		got, err := ParseShape(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	require.Equal(t, "input-4x4x16-V8-T4-tol0", inputShapes[0].String())
	in, w, out := Input.Tensors()
	require.Equal(t, [3]Tensor{TensorX, 0, 0}, [3]Tensor{in, w, out})
	ok := inputShapes[0]
	for name, bad := range map[string]func(*Shape){
		"tolerance":          func(s *Shape) { s.TolULP = 1 },
		"no vocabulary":      func(s *Shape) { s.Vocab = 0 },
		"k = d":              func(s *Shape) { s.Inner = s.Outer },
		"T not dividing d":   func(s *Shape) { s.T = 32 },
		"vocabulary forward": func(s *Shape) { s.Kind, s.TolULP = Forward, 1 },
		"vocabulary tie":     func(s *Shape) { s.Kind, s.Rows, s.Inner = Tie, 16, 16 },
		"d above 2^20":       func(s *Shape) { s.Outer = 1<<20 + 4 },
		"kind past embed":    func(s *Shape) { s.Kind = Embed + 1 },
	} {
		s := ok
		bad(&s)
		require.Error(t, s.Validate(), name)
	}
	for _, bad := range []string{
		"input-4x4x16-T4-tol0", "input-4x4x16-V8-T4-tol1", "input-4x4x16-V0-T4-tol0",
		"input-4x4x16-V08-T4-tol0", "input-4x16x16-V8-T4-tol0", "forward-4x4x16-V8-T4-tol1",
	} {
		_, err := ParseShape(bad)
		require.Error(t, err, bad)
	}
}

// TestInputProveVerify proves a tiny input tile for real with the
// deterministic test keys and checks the verifier refuses it for another
// token digest, subspace root or challenge.
func TestInputProveVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("real Groth16 setup and proving")
	}
	s := inputShapes[0]
	keys := testKeys(t, s)
	vk, err := keys.MarshalVerifyingKey()
	require.NoError(t, err)
	require.Len(t, vk, VerifyingKeySize)
	rng := rand.New(rand.NewPCG(37, 38))
	st := newInputStep(t, rng, s)
	o := st.open(t, 3, 1)
	proof, err := Prove(o, keys)
	require.NoError(t, err)
	require.Len(t, proof, ProofSize)
	pub := o.Public()
	require.Equal(t, InputDigest(st.ids[3], st.c[3]), pub.OutRoot)
	require.NoError(t, Verify(vk, proof, pub))
	moved := append([]int64(nil), st.c[3]...)
	moved[2]++
	otherTables := newInputStep(t, rng, s).tables.Root()
	for name, p := range map[string]PublicInputs{
		"another digest":    func() PublicInputs { p := pub; p.OutRoot = InputDigest(st.ids[3], moved); return p }(),
		"another token":     func() PublicInputs { p := pub; p.OutRoot = InputDigest(st.ids[3]^1, st.c[3]); return p }(),
		"other tables":      func() PublicInputs { p := pub; p.WRoot = otherTables; return p }(),
		"another row":       func() PublicInputs { p := pub; p.Row = 2; return p }(),
		"another block":     func() PublicInputs { p := pub; p.Col = 0; return p }(),
		"another challenge": func() PublicInputs { p := pub; p.Binding = testBinding(1, 2).Public(); return p }(),
	} {
		require.ErrorContains(t, Verify(vk, proof, p), "does not verify", name)
	}
	// Proving refuses an X̂ that is not the token's, naming it.
	st.x[3*s.Outer+4+2]--
	_, err = Prove(st.open(t, 3, 1), keys)
	require.ErrorContains(t, err, "X̂ (3, 6) is")
}

// TestInputConstraintCounts pins the input tile's size at the tiny shapes,
// at the demo's small model (d = 128, k = 4, 256 tokens) and, without
// -short, at d = 2048, k = 20 (compiles in seconds).
func TestInputConstraintCounts(t *testing.T) {
	pinned := map[Shape]int{
		inputShapes[0]: 5650,
		inputShapes[1]: 5712,
		{Kind: Input, Rows: 256, Inner: 4, Outer: 128, T: 4, Vocab: 256}: 11534,
	}
	if !testing.Short() {
		pinned[Shape{Kind: Input, Rows: 256, Inner: 20, Outer: 2048, T: 4, Vocab: 256}] = 72657
	}
	requireConstraints(t, pinned)
}

// requireConstraints compiles each shape and checks its pinned constraint count.
func requireConstraints(t *testing.T, pinned map[Shape]int) {
	t.Helper()
	for s, want := range pinned {
		c, err := NewCircuit(s)
		require.NoError(t, err)
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
		require.NoError(t, err, s.String())
		if got := ccs.GetNbConstraints(); got != want {
			t.Errorf("%s: %d constraints, pinned %d", s, got, want)
		}
	}
}
