package tile

import (
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
)

var solverOnly = []test.TestingOption{test.WithCurves(ecc.BN254), test.WithBackends(backend.GROTH16)}

// tinyShapes are small enough for the solver in milliseconds and for real
// proving in about a second.
var tinyShapes = []Shape{
	{Kind: Forward, Rows: 4, Inner: 32, Outer: 8, T: 4, TolULP: 2},
	{Kind: Backward, Rows: 4, Inner: 32, Outer: 16, T: 4, TolULP: 2},
}

// step is one matrix product of the trainer, quantized: a (rows×Inner), the
// weights in their natural K×N form, and the output (rows×Outer) computed as
// round(a·b/2^F) + shift ULP on the challenged output (row, col·T+shiftAt).
type step struct {
	s       Shape
	a, w, o []int64
	// inner is the Merkle root (unbound) of the input's last commitment.
	inner fr.Element
}

func newStep(t testing.TB, rng *rand.Rand, s Shape) *step {
	t.Helper()
	st := &step{s: s, a: small(rng, s.Rows*s.Inner), w: small(rng, s.Inner*s.Outer)}
	st.o = make([]int64, s.Rows*s.Outer)
	f := Scheme().Params.FracBits
	for r := range s.Rows {
		for j := range s.Outer {
			var dot int64
			for k := range s.Inner {
				dot += st.a[r*s.Inner+k] * st.weight(k, j)
			}
			st.o[r*s.Outer+j] = (dot + 1<<(f-1)) >> f // round half up, |error| ≤ ½ ULP
		}
	}
	return st
}

// weight is b_j[k]: W[k][j] forward (W is K×N = Inner×Outer), W[j][k]
// backward (W is K×N = Outer×Inner).
func (st *step) weight(k, j int) int64 {
	if st.s.Kind == Forward {
		return st.w[k*st.s.Outer+j]
	}
	return st.w[j*st.s.Inner+k]
}

func small(rng *rand.Rand, n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = rng.Int64N(129) - 64
	}
	return v
}

// commit commits the three matrices with the shape's layouts and opens (r, c).
func (st *step) open(t testing.TB, r, c int) *Openings {
	t.Helper()
	s := st.s
	sc := Scheme()
	wRows, wCols, wKind := s.Inner, s.Outer, commit.Columns
	if s.Kind == Backward {
		wRows, wCols, wKind = s.Outer, s.Inner, commit.Rows
	}
	in, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Inner, st.a, commit.DeriveSeed([]byte("k"), "in"))
	require.NoError(t, err)
	w, err := sc.CommitQuantized(wKind, wRows, wCols, st.w, commit.DeriveSeed([]byte("k"), "w"))
	require.NoError(t, err)
	out, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Outer, st.o, commit.DeriveSeed([]byte("k"), "out"))
	require.NoError(t, err)
	o, err := Open(s, testBinding(1, 1), in, w, out, r, c)
	require.NoError(t, err)
	st.inner = in.Root()
	return o
}

// testBinding is the binding of test step step to test challenge ch.
func testBinding(step, ch uint64) Binding {
	return Binding{
		Step:      commit.HashToField("tile test step", binary.BigEndian.AppendUint64(nil, step)),
		Challenge: commit.HashToField("tile test challenge", binary.BigEndian.AppendUint64(nil, ch)),
	}
}

func assign(t testing.TB, o *Openings) *Circuit {
	t.Helper()
	a, err := o.Assignment()
	require.NoError(t, err)
	return a
}

func TestTileCircuit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	assert := test.NewAssert(t)
	for _, s := range tinyShapes {
		shape, err := NewCircuit(s)
		require.NoError(t, err)
		r, c := 2, s.Blocks()-1
		st := newStep(t, rng, s)
		honest := st.open(t, r, c)
		require.NoError(t, honest.Check())

		// Drift inside the tolerance is accepted: (Tol−1) ULP plus the ½ ULP
		// of rounding.
		drift := newStep(t, rng, s)
		drift.o[r*s.Outer+c*s.T+1] += int64(s.TolULP - 1)
		drift.o[r*s.Outer+c*s.T+2] -= int64(s.TolULP - 1)
		inTol := drift.open(t, r, c)
		require.NoError(t, inTol.Check())

		// An output (Tol+1) ULP off, committed honestly: outside the tolerance.
		off := newStep(t, rng, s)
		off.o[r*s.Outer+c*s.T+3] -= int64(s.TolULP + 1)
		outTol := off.open(t, r, c)
		require.ErrorContains(t, outTol.Check(), "off by")

		weight := assign(t, honest) // a weight changed after committing
		weight.W.Values[1][3] = frontend.Variable(honest.W.Values[1][3] + 1)
		firstWeight := assign(t, honest)
		firstWeight.W.Values[0][0] = frontend.Variable(honest.W.Values[0][0] + 1)
		path := assign(t, honest) // a wrong Merkle sibling
		path.W.Path[0] = honest.In.Path[0]
		inPath := assign(t, honest)
		inPath.In.Path[0] = honest.In.Path[1]
		other := st.open(t, r+1, c) // the opening of another row
		wrongRow := assign(t, other)
		wrongRow.Row = r
		wrongCol := assign(t, honest) // openings of block c named as block c-1
		wrongCol.Col = c - 1
		swapped := assign(t, honest) // roots in the wrong order
		swapped.InRoot, swapped.WRoot = swapped.WRoot, swapped.InRoot

		invalid := map[string]*Circuit{
			"output outside tolerance": assign(t, outTol),
			"weight changed":           weight,
			"first weight changed":     firstWeight,
			"wrong weight path":        path,
			"wrong input path":         inPath,
			"row not the challenged":   wrongRow,
			"block not the challenged": wrongCol,
			"roots swapped":            swapped,
		}
		for name, w := range bindingAttacks(t, honest, st.inner) {
			invalid[name] = w
		}
		opts := append([]test.TestingOption{test.WithValidAssignment(assign(t, honest)), test.WithValidAssignment(assign(t, inTol))}, solverOnly...)
		for name, w := range invalid {
			require.Error(t, test.IsSolved(shape, w, ecc.BN254.ScalarField()), "%s: %s", s, name)
			opts = append(opts, test.WithInvalidAssignment(w))
		}
		assert.Run(func(assert *test.Assert) { assert.CheckCircuit(shape, opts...) }, s.String())
	}
}

// bindingAttacks are assignments of honest's openings that answer another
// step or another challenge than the one they were made for: each must fail.
func bindingAttacks(t testing.TB, honest *Openings, inner fr.Element) map[string]*Circuit {
	t.Helper()
	other := testBinding(2, 2)
	b := func(step, ch fr.Element) fr.Element {
		e, err := commit.ParseRoot(func() []byte { p := (Binding{Step: step, Challenge: ch}).Public(); return p[:] }())
		require.NoError(t, err)
		return e
	}
	// The roots of step 1, proved as step 2's (as a second worker copying
	// them, or the same worker reusing them at another step, would).
	stepTag := assign(t, honest)
	stepTag.StepTag = other.Step
	stepTag.Binding = b(other.Step, honest.Binding.Challenge)
	// The openings of one challenge sent for another.
	challenge := assign(t, honest)
	challenge.Binding = b(honest.Binding.Step, other.Challenge)
	// The other challenge's digest with this challenge's public binding.
	digest := assign(t, honest)
	digest.ChallengeTag = other.Challenge
	// Roots posted without their binding: the Merkle roots themselves.
	unbound := assign(t, honest)
	unbound.InRoot = inner
	return map[string]*Circuit{
		"roots of another step":        stepTag,
		"binding of another challenge": challenge,
		"digest of another challenge":  digest,
		"unbound input root":           unbound,
	}
}

// TestTileOpenRefuses checks the native side names a mismatched commitment
// or challenge.
func TestTileOpenRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := tinyShapes[0]
	st := newStep(t, rng, s)
	sc := Scheme()
	in, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Inner, st.a, commit.Seed{})
	require.NoError(t, err)
	wRows, err := sc.CommitQuantized(commit.Rows, s.Inner, s.Outer, st.w, commit.Seed{})
	require.NoError(t, err)
	out, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Outer, st.o, commit.Seed{})
	require.NoError(t, err)
	_, err = Open(s, testBinding(1, 1), in, wRows, out, 0, 0)
	require.ErrorContains(t, err, "weights commitment has layout")
	wCols, err := sc.CommitQuantized(commit.Columns, s.Inner, s.Outer, st.w, commit.Seed{})
	require.NoError(t, err)
	_, err = Open(s, testBinding(1, 1), in, wCols, out, s.Rows, 0)
	require.ErrorContains(t, err, "outside")
	_, err = Open(s, testBinding(1, 1), in, wCols, out, 0, s.Blocks())
	require.ErrorContains(t, err, "outside")
}

func TestShapeValidate(t *testing.T) {
	ok := Shape{Kind: Forward, Rows: 4, Inner: 8, Outer: 8, T: 4, TolULP: 1}
	require.NoError(t, ok.Validate())
	for _, bad := range []Shape{
		{Kind: 0, Rows: 4, Inner: 8, Outer: 8, T: 4, TolULP: 1},
		{Kind: Forward, Rows: 0, Inner: 8, Outer: 8, T: 4, TolULP: 1},
		{Kind: Forward, Rows: 4, Inner: 8, Outer: 12, T: 3, TolULP: 1},
		{Kind: Forward, Rows: 4, Inner: 8, Outer: 12, T: 8, TolULP: 1},
		{Kind: Forward, Rows: 4, Inner: 8, Outer: 8, T: 4, TolULP: 0},
		{Kind: Tie, Rows: 8, Inner: 8, Outer: 16, T: 4, TolULP: 1},
		{Kind: Tie, Rows: 4, Inner: 8, Outer: 16, T: 4},
		{Kind: Tie, Rows: 8, Inner: 8, Outer: 12, T: 8},
		{Kind: Tie + 1, Rows: 8, Inner: 8, Outer: 16, T: 4},
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
	for _, s := range append(StandardShapes(), tieShapes...) {
		require.NoError(t, s.Validate(), s.String())
	}
}

// TestBindingTags checks the tags of a step: every tensor's tag differs, a
// step tag wider than commit.TagBits is refused (its packing 8·tag + tensor
// would not be injective), and the public binding depends on both halves.
func TestBindingTags(t *testing.T) {
	b := testBinding(1, 1)
	require.NoError(t, b.Check())
	seen := map[fr.Element]Tensor{}
	// Every tensor of two consecutive step tags: 8·step + t is injective only
	// while t < 8, which TensorE, the seventh, still is.
	next := b.Step
	next.Add(&next, new(fr.Element).SetOne())
	for _, step := range []fr.Element{b.Step, next} {
		for tn := TensorX; tn <= TensorE; tn++ {
			tag := TensorTag(step, tn)
			_, dup := seen[tag]
			require.False(t, dup, tn.String())
			seen[tag] = tn
		}
	}
	require.Len(t, seen, 14)
	require.Equal(t, "E", TensorE.String())
	require.NotEqual(t, b.Public(), testBinding(1, 2).Public())
	require.NotEqual(t, b.Public(), testBinding(2, 1).Public())
	var inner fr.Element
	inner.SetUint64(7)
	require.NotEqual(t, BoundRoot(b.Step, TensorX, inner), BoundRoot(testBinding(2, 1).Step, TensorX, inner))
	wide := b
	wide.Step.SetBigInt(new(big.Int).Lsh(big.NewInt(1), commit.TagBits))
	require.ErrorContains(t, wide.Check(), "251 bits")
	st := newStep(t, rand.New(rand.NewPCG(1, 1)), tinyShapes[0])
	sc := Scheme()
	in, err := sc.CommitQuantized(commit.Rows, 4, 32, st.a, commit.Seed{})
	require.NoError(t, err)
	w, err := sc.CommitQuantized(commit.Columns, 32, 8, st.w, commit.Seed{})
	require.NoError(t, err)
	out, err := sc.CommitQuantized(commit.Rows, 4, 8, st.o, commit.Seed{})
	require.NoError(t, err)
	_, err = Open(tinyShapes[0], wide, in, w, out, 0, 0)
	require.ErrorContains(t, err, "step tag")
}

// TestConstraintCounts pins the size of each circuit shape, so a change that
// doubles one is seen.
func TestConstraintCounts(t *testing.T) {
	// The binding (one compression for f(step tag, challenge digest), one per
	// bound root) adds 4·186 + 1 constraints to a forward or backward tile and
	// 3·186 + 1 to a tie tile: before it, 5032, 5545, 8902, 13384, 25238, 3024
	// and 3538.
	pinned := map[Shape]int{
		tinyShapes[0]: 5777,
		tinyShapes[1]: 6290,
		{Kind: Forward, Rows: 16, Inner: 64, Outer: 64, T: 4, TolULP: 4}:     9647,
		{Kind: Backward, Rows: 16, Inner: 64, Outer: 64, T: 8, TolULP: 4}:    14129,
		{Kind: Forward, Rows: 256, Inner: 256, Outer: 256, T: 4, TolULP: 16}: 25983,
		tieShapes[0]: 3583,
		tieShapes[1]: 4097,
	}
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

func TestParseShape(t *testing.T) {
	for _, s := range append(append(StandardShapes(), tinyShapes...), tieShapes...) {
		got, err := ParseShape(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	for _, bad := range []string{"", "forward", "sideways-1x4x4-T4-tol1", "forward-1x4x4-T4-tol1x", "forward-1x4x4-T3-tol1", "forward-01x4x4-T4-tol1", "tie-8x8x16-T4-tol1", "tie-4x8x16-T4-tol0", "tie-8x8x16-T4-tol-0"} {
		_, err := ParseShape(bad)
		require.Error(t, err, bad)
	}
}
