package tile

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
)

// embedShapes are tiny embed shapes: d = 16, k = 4, 8 tokens, 4 rows, T = 4,
// and 16 tokens (a deeper E_small tree).
var embedShapes = []Shape{
	{Kind: Embed, Rows: 4, Inner: 4, Outer: 16, T: 4, Vocab: 8},
	{Kind: Embed, Rows: 4, Inner: 4, Outer: 16, T: 4, Vocab: 16},
}

// embedStep is one microbatch of stage 0 as the worker holds it: the public
// tables, its embedding E_small (float, vocab×k) and its commitment, each
// row's token from the dataset, and X̂ computed from them (rows×d), which may
// be tampered with before committing.
type embedStep struct {
	s      Shape
	tables *Tables
	e      []float32
	eCom   *commit.Commitment
	ids    []int
	x      []int64
	inner  fr.Element // X̂'s Merkle root (unbound), after open
}

// embedSeed is the seed of E_small's salts: the trainer's secret, not public.
var embedSeed = commit.DeriveSeed([]byte("tile test trainer secret"), "E_small")

func newEmbedStep(t testing.TB, rng *rand.Rand, s Shape) *embedStep {
	t.Helper()
	st := &embedStep{s: s, tables: newBoundary(rng, s.Outer, s.Inner, s.Vocab, 1).tables(t), e: coords(rng, s.Vocab*s.Inner, 1)}
	var err error
	st.eCom, err = CommitEmbedding(st.e, s.Vocab, s.Inner, embedSeed)
	require.NoError(t, err)
	for range s.Rows {
		id := rng.IntN(s.Vocab)
		st.ids = append(st.ids, id)
		st.x = append(st.x, st.row(t, id, st.embedding(t, id))...)
	}
	return st
}

// embedding is E_small[id] as committed.
func (st *embedStep) embedding(t testing.TB, id int) []int64 {
	t.Helper()
	c, err := EmbeddingRow(st.eCom, id)
	require.NoError(t, err)
	return c
}

// row is InputRow(id, c) of the step's tables.
func (st *embedStep) row(t testing.TB, id int, c []int64) []int64 {
	t.Helper()
	x, err := st.tables.InputRow(id, c)
	require.NoError(t, err)
	return x
}

// setRow overwrites X̂'s row r, before committing.
func (st *embedStep) setRow(r int, x []int64) *embedStep {
	cp := *st
	cp.x = append([]int64(nil), st.x...)
	copy(cp.x[r*st.s.Outer:], x)
	return &cp
}

func (st *embedStep) commitX(t testing.TB) *commit.Commitment {
	t.Helper()
	x, err := Scheme().CommitQuantized(commit.Rows, st.s.Rows, st.s.Outer, st.x, commit.DeriveSeed([]byte("k"), "xhat"))
	require.NoError(t, err)
	st.inner = x.Root()
	return x
}

// open opens (r, col) for row r's own token, for step 1, challenge 1.
func (st *embedStep) open(t testing.TB, r, col int) *Openings {
	t.Helper()
	return st.openAs(t, r, col, st.ids[r])
}

// openAs opens (r, col) claiming token id.
func (st *embedStep) openAs(t testing.TB, r, col, id int) *Openings {
	t.Helper()
	o, err := OpenEmbed(st.s, testBinding(1, 1), st.commitX(t), st.eCom, st.tables, r, col, id)
	require.NoError(t, err)
	return o
}

// TestCommitEmbedding checks that E_small is quantized exactly as
// QuantizeCoordinates, with its errors, and salted by the trainer's seed.
func TestCommitEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const vocab, k = 8, 4
	e := coords(rng, vocab*k, 3)
	// Ties to even, and the largest float32 below 2^15 (2^31 − 2^7 at 2^-16).
	copy(e, []float32{0.5 / 65536, 1.5 / 65536, -2.5 / 65536, 32768 - 1.0/512})
	c, err := CommitEmbedding(e, vocab, k, embedSeed)
	require.NoError(t, err)
	require.Equal(t, EmbedScheme().Params, c.Scheme().Params)
	for id := range vocab {
		got, err := EmbeddingRow(c, id)
		require.NoError(t, err)
		want, err := QuantizeCoordinates(e[id*k : (id+1)*k])
		require.NoError(t, err)
		require.Equal(t, want, got, "row %d", id)
	}
	row0, _ := EmbeddingRow(c, 0)
	require.Equal(t, []int64{0, 2, -2, 1<<31 - 1<<7}, row0)
	_, err = EmbeddingRow(c, vocab)
	require.ErrorContains(t, err, "row 8 of the embedding")

	same, err := CommitEmbedding(e, vocab, k, embedSeed)
	require.NoError(t, err)
	require.Equal(t, c.Root(), same.Root(), "deterministic")
	other, err := CommitEmbedding(e, vocab, k, commit.DeriveSeed([]byte("another secret"), "E_small"))
	require.NoError(t, err)
	require.NotEqual(t, c.Root(), other.Root(), "salted by the seed")

	bad := append([]float32(nil), e...)
	bad[13] = 32768 // 2^31 at 2^-16
	_, err = CommitEmbedding(bad, vocab, k, embedSeed)
	require.ErrorContains(t, err, "value[13]")
	require.ErrorContains(t, err, "E_small")
	_, qerr := QuantizeCoordinates(bad[12:16])
	require.ErrorContains(t, qerr, "value[1]", "the same bound as the coordinates")
	bad[13] = -32768 - 1.0/256 // the next float32 below −2^15
	_, err = CommitEmbedding(bad, vocab, k, embedSeed)
	require.ErrorContains(t, err, "value[13]")
	bad[13] = -32768 // −2^31 fits
	_, err = CommitEmbedding(bad, vocab, k, embedSeed)
	require.NoError(t, err)
	bad[2] = float32(math.NaN())
	_, err = CommitEmbedding(bad, vocab, k, embedSeed)
	require.ErrorContains(t, err, "value[2]")

	for name, tc := range map[string]struct {
		e        []float32
		vocab, k int
		want     string
	}{
		"short":           {e[1:], vocab, k, "31 values"},
		"zero vocabulary": {nil, 0, k, "vocabulary of 0"},
		"zero k":          {nil, vocab, 0, "k=0"},
		"huge vocabulary": {nil, 1<<24 + 1, 1, "vocabulary of 16777217"},
	} {
		_, err := CommitEmbedding(tc.e, tc.vocab, tc.k, embedSeed)
		require.ErrorContains(t, err, tc.want, name)
	}
}

func TestEmbedDigest(t *testing.T) {
	var a, b fr.Element
	a.SetUint64(11)
	b.SetUint64(12)
	d, err := EmbedDigest(a.Bytes(), 3)
	require.NoError(t, err)
	want := Scheme().Hash.Compress(&a, new(fr.Element).SetUint64(3))
	require.Equal(t, want.Bytes(), d, "f(eBound, id)")
	again, _ := EmbedDigest(a.Bytes(), 3)
	require.Equal(t, d, again)
	otherID, _ := EmbedDigest(a.Bytes(), 4)
	require.NotEqual(t, d, otherID)
	otherRoot, _ := EmbedDigest(b.Bytes(), 3)
	require.NotEqual(t, d, otherRoot)
	_, err = commit.ParseRoot(d[:])
	require.NoError(t, err, "canonical")

	_, err = EmbedDigest(a.Bytes(), -1)
	require.ErrorContains(t, err, "negative token id -1")
	var wide [32]byte
	for i := range wide {
		wide[i] = 0xff
	}
	_, err = EmbedDigest(wide, 3)
	require.ErrorContains(t, err, "embedding root")
}

func TestEmbedShape(t *testing.T) {
	for _, s := range embedShapes {
		require.NoError(t, s.Validate())
		got, err := ParseShape(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	require.Equal(t, "embed-4x4x16-V8-T4-tol0", embedShapes[0].String())
	require.Equal(t, "input-4x4x16-V8-T4-tol0", inputShapes[0].String(), "the input name is unchanged")
	in, w, out := Embed.Tensors()
	require.Equal(t, [3]Tensor{TensorX, 0, 0}, [3]Tensor{in, w, out})
	l, err := embedShapes[1].embedLayout()
	require.NoError(t, err)
	require.Equal(t, [4]int{16, 4, 4, 4}, [4]int{l.Rows, l.Cols, l.LeafLen, l.Depth})
	_, err = inputShapes[0].embedLayout()
	require.ErrorContains(t, err, "not an embed shape")
	for name, bad := range map[string]func(*Shape){
		"tolerance":     func(s *Shape) { s.TolULP = 1 },
		"no vocabulary": func(s *Shape) { s.Vocab = 0 },
		"k = d":         func(s *Shape) { s.Inner = s.Outer },
		"T not dividing": func(s *Shape) {
			s.T = 32
		},
		"d above 2^20": func(s *Shape) { s.Outer = 1<<20 + 4 },
	} {
		s := embedShapes[0]
		bad(&s)
		require.Error(t, s.Validate(), name)
		_, err := NewCircuit(s)
		require.Error(t, err, name)
	}
	for _, bad := range []string{
		"embed-4x4x16-T4-tol0", "embed-4x4x16-V8-T4-tol1", "embed-4x4x16-V0-T4-tol0", "embed-4x4x16-V08-T4-tol0",
		"embed-4x16x16-V8-T4-tol0", "Embed-4x4x16-V8-T4-tol0", "embed-4x4x16-V8-T4-tol0 ",
	} {
		_, err := ParseShape(bad)
		require.Error(t, err, bad)
	}
}

// TestEmbedOpenRefuses checks the native side names a mismatched commitment,
// table or challenge, and Check a tampered opening.
func TestEmbedOpenRefuses(t *testing.T) {
	s := embedShapes[0]
	st := newEmbedStep(t, rand.New(rand.NewPCG(43, 44)), s)
	x, b := st.commitX(t), testBinding(1, 1)
	_, err := OpenEmbed(inputShapes[0], b, x, st.eCom, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "OpenEmbed needs an embed shape, got input-")
	_, err = OpenInput(s, b, x, st.tables, 0, 0, 0, []int64{0, 0, 0, 0})
	require.ErrorContains(t, err, "OpenInput needs an input shape, got embed-")
	_, err = Open(s, b, x, x, x, 0, 0)
	require.ErrorContains(t, err, "open it with OpenEmbed")
	_, err = OpenEmbed(s, b, x, nil, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "no embedding commitment")
	_, err = OpenEmbed(s, b, nil, st.eCom, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "without the X̂ commitment")
	q, err := QuantizeCoordinates(st.e)
	require.NoError(t, err)
	narrow, err := Scheme().Commit(commit.Rows, s.Vocab, s.Inner, st.e, embedSeed) // X̂'s 16-bit format
	require.NoError(t, err)
	_, err = OpenEmbed(s, b, x, narrow, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "16-bit values at 2^-8")
	cols, err := EmbedScheme().CommitQuantized(commit.Columns, s.Vocab, s.Inner, q, embedSeed)
	require.NoError(t, err)
	_, err = OpenEmbed(s, b, x, cols, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "committed as columns")
	_, err = EmbeddingRow(cols, 0)
	require.ErrorContains(t, err, "committed as columns")
	wide, err := CommitEmbedding(coords(rand.New(rand.NewPCG(1, 2)), 2*s.Vocab*s.Inner, 1), 2*s.Vocab, s.Inner, embedSeed)
	require.NoError(t, err)
	_, err = OpenEmbed(s, b, x, wide, st.tables, 0, 0, 0)
	require.ErrorContains(t, err, "embedding commitment has layout")
	_, err = OpenEmbed(s, b, x, st.eCom, st.tables, 0, 0, s.Vocab)
	require.ErrorContains(t, err, "token id 8 outside")
	_, err = OpenEmbed(s, b, x, st.eCom, st.tables, 0, 0, -1)
	require.ErrorContains(t, err, "token id -1 outside")
	_, err = OpenEmbed(s, b, x, st.eCom, st.tables, s.Rows, 0, 0)
	require.ErrorContains(t, err, "outside")
	other := newEmbedStep(t, rand.New(rand.NewPCG(45, 46)), embedShapes[1])
	_, err = OpenEmbed(s, b, x, st.eCom, other.tables, 0, 0, 0)
	require.ErrorContains(t, err, "tables of d=16, k=4, vocab=16")

	o := st.open(t, 1, 2)
	require.NoError(t, o.Check())
	require.Nil(t, o.Input.Coords, "the coordinates stay E_small's, private")
	eb := BoundRoot(b.Step, TensorE, st.eCom.Root())
	want, err := EmbedDigest(eb, st.ids[1])
	require.NoError(t, err)
	require.Equal(t, want, o.Public().OutRoot)
	_, err = o.Deviations()
	require.ErrorContains(t, err, "no deviations")

	tampered := *o
	tampered.OutRoot, _ = EmbedDigest(eb, st.ids[1]^1)
	require.ErrorContains(t, tampered.Check(), "not the digest of token")
	row := *o.Embed.Row
	row.Values = [][]int64{append([]int64(nil), row.Values[0]...)}
	row.Values[0][2]++
	tampered = *o
	tampered.Embed = &EmbedOpening{Row: &row, Root: o.Embed.Root}
	require.ErrorContains(t, tampered.Check(), "does not match the root")
	row.Values[0] = row.Values[0][1:]
	require.ErrorContains(t, tampered.Check(), "3 coordinates")
	_, err = tampered.Assignment()
	require.ErrorContains(t, err, "3 coordinates")
	tampered.Embed = nil
	require.ErrorContains(t, tampered.Check(), "E_small opening")
}
