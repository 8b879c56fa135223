package commit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openingCircuit checks one opening against a public root and block index.
type openingCircuit struct {
	scheme Scheme
	Root   frontend.Variable `gnark:",public"`
	Index  frontend.Variable `gnark:",public"`
	Op     OpeningVars
}

func (c *openingCircuit) Define(api frontend.API) error {
	return c.scheme.AssertOpening(api, c.Root, c.Index, c.Op)
}

// rowBlockCircuit is the Y case as a challenge names it: public row and
// column block, the index computed in the circuit.
type rowBlockCircuit struct {
	scheme Scheme
	layout Layout
	width  int
	Root   frontend.Variable `gnark:",public"`
	Row    frontend.Variable `gnark:",public"`
	Col    frontend.Variable `gnark:",public"`
	Op     OpeningVars
}

func (c *rowBlockCircuit) Define(api frontend.API) error {
	return c.scheme.AssertOpening(api, c.Root, c.layout.RowBlockIndex(api, c.Row, c.Col, c.width), c.Op)
}

var solverOnly = []test.TestingOption{test.WithCurves(ecc.BN254), test.WithBackends(backend.GROTH16)}

// TestGadgetMatchesNative is the property test: for random small tensors of
// every layout, under both hashes, the in-circuit recomputation accepts the
// honest opening of a random block and rejects a changed value, aliased
// values, a changed salt, a wrong path element and a wrong index.
func TestGadgetMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	assert := test.NewAssert(t)
	for _, h := range Hashes() {
		s := Scheme{Params: DefaultParams(), Hash: h}
		for iter := range 3 {
			for _, kind := range []Kind{Rows, Columns, RowChunks} {
				rows, cols, width := 1+rng.IntN(6), 2+rng.IntN(24), 0
				switch kind {
				case Columns:
					width = 1 << rng.IntN(3)
					cols = width * (1 + rng.IntN(5))
				case RowChunks:
					width = s.Params.ChunkLen << rng.IntN(2)
					cols = width * (1 + rng.IntN(4))
				}
				name := fmt.Sprintf("%s/%d/%s/%dx%d/T=%d", h.Name(), iter, kind, rows, cols, width)
				c, err := s.CommitQuantized(kind, rows, cols, randValues(rng, s.Params, rows*cols), randSeed(rng))
				require.NoError(t, err, name)
				blocks, open := blocksOf(t, c, width)
				pick := rng.IntN(len(blocks))
				op, err := open[pick]()
				require.NoError(t, err, name)
				require.NoError(t, s.Verify(c.Layout(), c.Root(), blocks[pick], op), name)

				valid, invalid := assignments(rng, c, op)
				opts := append([]test.TestingOption{test.WithValidAssignment(valid)}, solverOpts(invalid)...)
				shape := &openingCircuit{scheme: s, Op: c.Layout().NewOpeningVars(op.Block.Leaves)}
				assert.Run(func(assert *test.Assert) {
					assert.CheckCircuit(shape, append(opts, solverOnly...)...)
				}, name)
			}
		}
	}
}

// assignments returns the honest witness of op and one witness per kind of
// cheating.
func assignments(rng *rand.Rand, c *Commitment, op *Opening) (*openingCircuit, []*openingCircuit) {
	root := c.Root()
	honest := func() *openingCircuit {
		return &openingCircuit{Root: root, Index: op.Block.Index, Op: op.Assignment()}
	}
	var bad []*openingCircuit
	leaf, k := rng.IntN(len(op.Values)), rng.IntN(len(op.Values[0]))

	w := honest() // a value changed inside its range
	v := op.Values[leaf][k]
	w.Op.Values[leaf][k] = felt(v ^ 1)
	bad = append(bad, w)

	if len(op.Values[0]) > 1 { // an alias: same packed element, values out of range
		w = honest()
		w.Op.Values[0][0] = felt(op.Values[0][0] + 1<<16)
		w.Op.Values[0][1] = felt(op.Values[0][1] - 1)
		bad = append(bad, w)
	}

	w = honest() // a changed salt
	var s fr.Element
	s.Add(&op.Salts[leaf], new(fr.Element).SetOne())
	w.Op.Salts[leaf] = s
	bad = append(bad, w)

	n := len(op.Path)
	if n > 0 { // a wrong sibling
		w = honest()
		var e fr.Element
		e.SetUint64(rng.Uint64())
		w.Op.Path[rng.IntN(n)] = e
		bad = append(bad, w)
	}

	w = honest() // a wrong index: another block's position
	w.Index = (op.Block.Index + 1) % max(1<<n, 2)
	bad = append(bad, w)

	w = honest() // the right low bits but past the tree: ToBinary must refuse it
	w.Index = op.Block.Index + 1<<n
	bad = append(bad, w)
	return honest(), bad
}

func solverOpts(invalid []*openingCircuit) []test.TestingOption {
	var opts []test.TestingOption
	for _, w := range invalid {
		opts = append(opts, test.WithInvalidAssignment(w))
	}
	return opts
}

func felt(v int64) fr.Element {
	var e fr.Element
	e.SetInt64(v)
	return e
}

func TestRowBlockGadgetTakesTheChallenge(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	s := DefaultScheme()
	const rows, cols, width = 3, 24, 8
	c, err := s.CommitQuantized(RowChunks, rows, cols, randValues(rng, s.Params, rows*cols), randSeed(rng))
	require.NoError(t, err)
	op, err := c.OpenRowBlock(2, 1, width)
	require.NoError(t, err)
	root := c.Root()
	shape := &rowBlockCircuit{scheme: s, layout: c.Layout(), width: width, Op: c.Layout().NewOpeningVars(width / s.Params.ChunkLen)}
	test.NewAssert(t).CheckCircuit(shape,
		append([]test.TestingOption{
			test.WithValidAssignment(&rowBlockCircuit{Root: root, Row: 2, Col: 1, Op: op.Assignment()}),
			test.WithInvalidAssignment(&rowBlockCircuit{Root: root, Row: 1, Col: 1, Op: op.Assignment()}),
			test.WithInvalidAssignment(&rowBlockCircuit{Root: root, Row: 2, Col: 2, Op: op.Assignment()}),
		}, solverOnly...)...)
}

// TestGadgetConstraints pins the constraint counts of the opening gadgets, so a
// change that inflates them is seen. Small shapes, and the trial's shapes
// (the trial's shape: K=256, N=1024, 256 rows, T=4).
func TestGadgetConstraints(t *testing.T) {
	cases := []struct {
		name       string
		kind       Kind
		rows, cols int
		leaves     int
		want       map[string]int // by hash
	}{
		{"X row 8x32", Rows, 8, 32, 1, map[string]int{"poseidon2": 1224, "poseidon2-chain": 1302, "mimc": 2166}},
		{"W block 32x16 T=4", Columns, 32, 16, 4, map[string]int{"poseidon2": 3498, "poseidon2-chain": 3810, "mimc": 6258}},
		{"Y block 4x16 T=8", RowChunks, 4, 16, 2, map[string]int{"poseidon2": 1182, "poseidon2-chain": 1182, "mimc": 2046}},
		{"X row 256x256", Rows, 256, 256, 1, map[string]int{"poseidon2": 4933, "poseidon2-chain": 5881, "mimc": 9626}},
		{"W block 256x1024 T=4", Columns, 256, 1024, 4, map[string]int{"poseidon2": 15000, "poseidon2-chain": 18792, "mimc": 30748}},
		{"Y block 256x1024 T=4", RowChunks, 256, 1024, 1, map[string]int{"poseidon2": 3234, "poseidon2-chain": 3234, "mimc": 5682}},
	}
	for _, tc := range cases {
		for _, h := range Hashes() {
			s := Scheme{Params: DefaultParams(), Hash: h}
			l, err := s.Layout(tc.kind, tc.rows, tc.cols)
			require.NoError(t, err)
			n := compileCount(t, &openingCircuit{scheme: s, Op: l.NewOpeningVars(tc.leaves)})
			t.Logf("%s %s: %d constraints", tc.name, h.Name(), n)
			assert.Equal(t, tc.want[h.Name()], n, "%s %s", tc.name, h.Name())
		}
	}
}
