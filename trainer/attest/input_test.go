package attest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/subspace"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

const testRank, testVocab = 4, 16

// inputFixture is a stage-1 step of a compressed model: the tables, a received payload and the
// engine's float X̂ of it.
type inputFixture struct {
	tables *tile.Tables
	body   []byte
	xhat   []float32
}

func newInputFixture(t *testing.T, rng *rand.Rand) inputFixture {
	t.Helper()
	return inputFixtureOf(t, rng, testD, testRows, testRank, testVocab)
}

// inputFixtureOf is an input fixture of width d, rows tokens, rank k and vocabulary vocab.
func inputFixtureOf(t testing.TB, rng *rand.Rand, d, rows, k, vocab int) inputFixture {
	t.Helper()
	u := subspace.Basis(3, d, k)
	tf := subspace.TokenTable(3, vocab, d)
	tables, err := tile.NewTables(u, tf, d, k, vocab)
	require.NoError(t, err)
	pl := &payload.Payload{
		Kind: payload.Activations, DType: payload.BF16, Compressed: true, Step: 9, Microbatch: 2,
		Batch: 1, Seq: uint32(rows), Width: uint32(k), Vocab: uint32(vocab),
		Data: randoms(rng, rows*k, 3), IDs: make([]int32, rows),
	}
	for i := range pl.IDs {
		pl.IDs[i] = int32(rng.IntN(vocab))
	}
	body, err := payload.Encode(pl)
	require.NoError(t, err)
	dec, err := payload.Decode(body, payload.Limits{})
	require.NoError(t, err)
	// The engine's X̂: v = T_fixed[id] + C·Uᵀ, normalized, in float.
	xhat := make([]float32, 0, rows*d)
	for r := range rows {
		v := make([]float64, d)
		var ms float64
		for j := range d {
			v[j] = tf[int(dec.IDs[r])*d+j]
			for i := range k {
				v[j] += float64(dec.Data[r*k+i]) * u[j*k+i]
			}
			ms += v[j] * v[j] / float64(d)
		}
		for j := range d {
			xhat = append(xhat, float32(v[j]/math.Sqrt(ms+1e-6)))
		}
	}
	return inputFixture{tables: tables, body: body, xhat: xhat}
}

// A stage-1 layer derives X from the received payload: every tile kind, the input tile
// included, proves, and the chain's public inputs (InputPublic, from the opened token) verify
// the input proof. A worker that commits an X of its own (consistent Y = X·W, so forward,
// backward and tie tiles all prove) cannot prove the input tile; nor can one whose X comes from
// a payload other than the one its receipt names.
func TestDerivedLayerProvesItsInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f := newInputFixture(t, rng)
	tiles := verifytypes.Tiles{DModel: testD, Rank: testRank, Vocab: testVocab, Stage: 1, Rows: testRows, Width: testT}
	shape, err := tiles.Shape(verifytypes.CHALLENGE_KIND_INPUT)
	require.NoError(t, err)
	keys, err := tile.TestSetup(shape)
	require.NoError(t, err)
	p := NewProver("")
	p.Add(keys)
	vk, err := keys.MarshalVerifyingKey()
	require.NoError(t, err)

	w, dy := randoms(rng, testD*testD, 0.5), randoms(rng, testRows*testD, 1)
	l, err := NewDerivedLayer(7, f.tables, f.body, f.xhat, w, dy)
	require.NoError(t, err)
	owner := testOwner
	owner.Stage = 1
	c, err := Commit([]byte("secret"), owner, l)
	require.NoError(t, err)
	digest, err := payload.Digest(f.body)
	require.NoError(t, err)
	roots := c.Roots()
	roots.Input = &verifytypes.BoundaryReceipt{PayloadDigest: digest[:]}
	att := verifytypes.Attestation{
		Id: 1, Worker: owner.Worker, ModelId: owner.ModelID, Stage: 1, StepFrom: 7, StepTo: 7, TileRows: testRows, TileWidth: testT,
		Commitments: []verifytypes.StepCommitment{roots},
	}
	root := f.tables.Root()
	answer := func(l *Layer, row, col uint32) error {
		cm, err := Commit([]byte("secret"), owner, l)
		require.NoError(t, err)
		ch := verifytypes.Challenge{Id: 4, AttestationId: 1, Kind: verifytypes.CHALLENGE_KIND_INPUT, Step: 7, Row: row, Col: col}
		o, err := cm.Open(ch, tiles, f.tables)
		if err != nil {
			return err
		}
		proof, err := p.Prove(o)
		if err != nil {
			return err
		}
		opening, err := l.OpenInput(ch)
		require.NoError(t, err)
		pub, err := verifytypes.InputPublic(owner.ChainID, att, ch, tiles, modelstypes.Model{SubspaceRoot: root[:]}, opening, nil)
		require.NoError(t, err)
		return tile.Verify(vk, proof, pub)
	}
	for row := range uint32(testRows) {
		require.NoError(t, answer(l, row, row%uint32(testD/testT)), "row %d", row)
	}

	// Its own X, consistent outputs: the matrix-product tiles would prove, the input tile cannot.
	own, err := NewLayer(7, testRows, testD, randoms(rng, testRows*testD, 2), w, dy)
	require.NoError(t, err)
	own.Input = f.body
	require.Error(t, answer(own, 1, 0))

	// X derived from another payload than the received one: refused before committing (the
	// engine trained on this payload), and unprovable if committed anyway.
	g := newInputFixture(t, rand.New(rand.NewPCG(7, 8)))
	_, err = NewDerivedLayer(7, f.tables, g.body, f.xhat, w, dy)
	require.ErrorContains(t, err, "not the one this step trained on")
	other, err := NewDerivedLayer(7, f.tables, g.body, g.xhat, w, dy)
	require.NoError(t, err)
	other.Input = f.body // opens the received payload's token, X derived from another
	require.Error(t, answer(other, 2, 1))

	// The stored layer keeps its payload.
	store, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, store.Save(l))
	back, err := store.Load(7)
	require.NoError(t, err)
	require.Equal(t, l, back)
	require.NoError(t, answer(back, 3, 2))
}
