package commit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

// refRoot is a deliberately naive commitment: leaves built straight from the
// definitions in layout.go, one at a time, and a recursive root.
func refRoot(t *testing.T, s Scheme, kind Kind, rows, cols int, q []int64, seed Seed) fr.Element {
	var leaves [][]int64
	switch kind {
	case Rows:
		for r := range rows {
			leaves = append(leaves, q[r*cols:(r+1)*cols])
		}
	case Columns:
		for j := range cols {
			col := make([]int64, rows)
			for k := range rows {
				col[k] = q[k*cols+j]
			}
			leaves = append(leaves, col)
		}
	case RowChunks:
		L := s.Params.ChunkLen
		for r := range rows {
			for start := 0; start < cols; start += L {
				chunk := make([]int64, L) // zero-filled past the row's end
				copy(chunk, q[r*cols+start:r*cols+min(start+L, cols)])
				leaves = append(leaves, chunk)
			}
		}
	}
	n := 1
	for n < len(leaves) {
		n *= 2
	}
	digests := make([]fr.Element, n)
	for i, vals := range leaves {
		elems, err := s.Params.Pack(vals)
		require.NoError(t, err)
		digests[i] = s.Hash.Leaf(seed.Salt(i), elems)
	}
	var rootOf func([]fr.Element) fr.Element
	rootOf = func(nodes []fr.Element) fr.Element {
		if len(nodes) == 1 {
			return nodes[0]
		}
		l, r := rootOf(nodes[:len(nodes)/2]), rootOf(nodes[len(nodes)/2:])
		return s.Hash.Compress(&l, &r)
	}
	return rootOf(digests)
}

func randValues(rng *rand.Rand, p Params, n int) []int64 {
	q := make([]int64, n)
	for i := range q {
		switch rng.IntN(8) {
		case 0:
			q[i] = -p.bias() // extremes are where packing bugs live
		case 1:
			q[i] = p.bias() - 1
		default:
			q[i] = rng.Int64N(2*p.bias()) - p.bias()
		}
	}
	return q
}

func randSeed(rng *rand.Rand) Seed {
	var s Seed
	for i := range s {
		s[i] = byte(rng.Uint32())
	}
	return s
}

func TestCommitMatchesNaiveReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, h := range Hashes() {
		s := Scheme{Params: DefaultParams(), Hash: h}
		for _, kind := range []Kind{Rows, Columns, RowChunks} {
			for _, shape := range [][2]int{{1, 1}, {1, 17}, {5, 3}, {3, 31}, {8, 16}, {6, 10}} {
				rows, cols := shape[0], shape[1]
				name := fmt.Sprintf("%s/%s/%dx%d", h.Name(), kind, rows, cols)
				q, seed := randValues(rng, s.Params, rows*cols), randSeed(rng)
				want := refRoot(t, s, kind, rows, cols, q, seed)

				c, err := s.CommitQuantized(kind, rows, cols, q, seed)
				require.NoError(t, err, name)
				got := c.Root()
				require.True(t, got.Equal(&want), name)

				// The float path commits the same values.
				c, err = s.Commit(kind, rows, cols, s.Params.Dequantize(q), seed)
				require.NoError(t, err, name)
				got = c.Root()
				require.True(t, got.Equal(&want), name)
			}
		}
	}
}

// TestCommitParallelMatchesSequential runs the parallel paths with more
// goroutines than this machine has cores, against one goroutine and the
// reference.
func TestCommitParallelMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s := DefaultScheme()
	const rows, cols = 64, 64
	q, seed := randValues(rng, s.Params, rows*cols), randSeed(rng)
	floats := s.Params.Dequantize(q)
	for _, kind := range []Kind{Rows, Columns, RowChunks} {
		want := refRoot(t, s, kind, rows, cols, q, seed)
		for _, workers := range []int{1, 3, 8} {
			c, err := s.commit(kind, rows, cols, seed, len(floats), workers, func(l Layout, dst []int32, w int) error {
				qz, err := newQuantizer(s.Params.FracBits, s.Params.ValueBits)
				if err != nil {
					return err
				}
				return arrange(l, floats, dst, w, func(i int, x float32) (int32, error) {
					v, err := qz.value(i, x)
					return int32(v), err
				})
			})
			require.NoError(t, err)
			got := c.Root()
			require.True(t, got.Equal(&want), "%s with %d workers", kind, workers)
		}
	}
}

func TestCommitErrorsNameTheValue(t *testing.T) {
	s := DefaultScheme()
	vals := make([]float32, 4*6)
	vals[3*6+5] = float32(math.NaN())
	for _, kind := range []Kind{Rows, Columns, RowChunks} {
		_, err := s.Commit(kind, 4, 6, vals, Seed{})
		require.ErrorContains(t, err, "value[23]", kind)
	}
	vals[3*6+5] = 200
	_, err := s.Commit(Columns, 4, 6, vals, Seed{})
	require.ErrorContains(t, err, "value[23] = 200")

	q := make([]int64, 6)
	q[4] = 1 << 15
	_, err = s.CommitQuantized(Rows, 2, 3, q, Seed{})
	require.ErrorContains(t, err, "value[4] = 32768")

	_, err = s.Commit(Rows, 2, 3, make([]float32, 5), Seed{})
	require.ErrorContains(t, err, "5 values for a 2x3 matrix")
	_, err = s.Commit(Rows, 0, 3, nil, Seed{})
	require.Error(t, err)
	_, err = Scheme{Params: DefaultParams()}.Commit(Rows, 1, 1, []float32{0}, Seed{})
	require.ErrorContains(t, err, "without a hash")
}

func TestRootsHideAndBind(t *testing.T) {
	s := DefaultScheme()
	vals := []float32{1, 2, 3, 4, 5, 6}
	a, err := s.Commit(Rows, 2, 3, vals, Seed{1})
	require.NoError(t, err)
	b, err := s.Commit(Rows, 2, 3, vals, Seed{2})
	require.NoError(t, err)
	require.NotEqual(t, a.RootBytes(), b.RootBytes(), "the same tensor under two seeds must not be linkable")

	vals[5] += 1.0 / 256
	c, err := s.Commit(Rows, 2, 3, vals, Seed{1})
	require.NoError(t, err)
	require.NotEqual(t, a.RootBytes(), c.RootBytes())

	rb := a.RootBytes()
	root, err := ParseRoot(rb[:])
	require.NoError(t, err)
	want := a.Root()
	require.True(t, root.Equal(&want))
	_, err = ParseRoot(make([]byte, 31))
	require.Error(t, err)
	ff := make([]byte, 32)
	for i := range ff {
		ff[i] = 0xff
	}
	_, err = ParseRoot(ff)
	require.Error(t, err, "non-canonical root")
}

func TestSalts(t *testing.T) {
	seed := DeriveSeed([]byte("secret"), "model/1/stage/0/step/7/W")
	require.Equal(t, seed, DeriveSeed([]byte("secret"), "model/1/stage/0/step/7/W"))
	require.NotEqual(t, seed, DeriveSeed([]byte("secret"), "model/1/stage/0/step/8/W"))
	seen := map[fr.Element]bool{}
	for i := range 1000 {
		s := seed.Salt(i)
		require.False(t, seen[s], "salt %d repeats", i)
		seen[s] = true
		b := s.Bytes()
		require.Zero(t, b[0], "salt above 2^248")
	}
	other, err := NewSeed()
	require.NoError(t, err)
	a, b := seed.Salt(0), other.Salt(0)
	require.False(t, a.Equal(&b))
}
