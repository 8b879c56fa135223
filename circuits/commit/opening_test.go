package commit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

// blocksOf lists every block a challenge can name for a layout, with the
// opening function the prover would call.
func blocksOf(t *testing.T, c *Commitment, width int) (blocks []Block, open []func() (*Opening, error)) {
	l := c.Layout()
	switch l.Kind {
	case Rows:
		for r := range l.Rows {
			b, err := l.Row(r)
			require.NoError(t, err)
			blocks = append(blocks, b)
			open = append(open, func() (*Opening, error) { return c.OpenRow(r) })
		}
	case Columns:
		for col := 0; (col+1)*width <= l.Cols; col++ {
			b, err := l.ColumnBlock(col, width)
			require.NoError(t, err)
			blocks = append(blocks, b)
			open = append(open, func() (*Opening, error) { return c.OpenColumnBlock(col, width) })
		}
	case RowChunks:
		for r := range l.Rows {
			for col := 0; (col+1)*width <= l.Cols; col++ {
				b, err := l.RowBlock(r, col, width)
				require.NoError(t, err)
				blocks = append(blocks, b)
				open = append(open, func() (*Opening, error) { return c.OpenRowBlock(r, col, width) })
			}
		}
	}
	return blocks, open
}

func TestOpeningsVerify(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s := DefaultScheme()
	cases := []struct {
		kind       Kind
		rows, cols int
		width      int
	}{
		{Rows, 5, 20, 0},
		{Rows, 1, 3, 0},
		{Columns, 7, 12, 4},
		{Columns, 3, 8, 8},
		{Columns, 3, 5, 1},
		{RowChunks, 3, 16, 4},
		{RowChunks, 5, 24, 8},
		{RowChunks, 2, 32, 16},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s/%dx%d/T=%d", tc.kind, tc.rows, tc.cols, tc.width)
		q := randValues(rng, s.Params, tc.rows*tc.cols)
		c, err := s.CommitQuantized(tc.kind, tc.rows, tc.cols, q, randSeed(rng))
		require.NoError(t, err, name)
		l, root := c.Layout(), c.Root()
		blocks, open := blocksOf(t, c, tc.width)
		require.NotEmpty(t, blocks, name)
		for i, b := range blocks {
			op, err := open[i]()
			require.NoError(t, err, name)
			require.NoError(t, s.Verify(l, root, b, op), "%s block %d", name, b.Index)
			checkOpenedValues(t, tc.kind, tc.cols, q, b, op, s.Params.ChunkLen)

			// Every kind of tampering fails.
			bad := cloneOpening(op)
			bad.Values[0][0] ^= 1
			require.Error(t, s.Verify(l, root, b, bad), name)
			bad = cloneOpening(op)
			bad.Salts[len(bad.Salts)-1].SetUint64(7)
			require.Error(t, s.Verify(l, root, b, bad), name)
			if len(op.Path) > 0 {
				bad = cloneOpening(op)
				bad.Path[len(bad.Path)-1].SetUint64(7)
				require.Error(t, s.Verify(l, root, b, bad), name)
			}
			if len(blocks) > 1 {
				other := blocks[(i+1)%len(blocks)]
				bad = cloneOpening(op)
				bad.Block = other
				require.Error(t, s.Verify(l, root, other, bad), "%s: block %d's opening passed as %d", name, b.Index, other.Index)
			}
		}
	}
}

// checkOpenedValues ties an opening back to the matrix: the values it reveals
// are the ones the challenge named.
func checkOpenedValues(t *testing.T, kind Kind, cols int, q []int64, b Block, op *Opening, chunk int) {
	for i, vals := range op.Values {
		leaf := b.Index*b.Leaves + i
		for k, v := range vals {
			var want int64
			switch kind {
			case Rows:
				want = q[leaf*cols+k]
			case Columns:
				want = q[k*cols+leaf]
			case RowChunks:
				perRow := (cols + chunk - 1) / chunk
				r, j := leaf/perRow, (leaf%perRow)*chunk+k
				want = q[r*cols+j]
			}
			require.Equal(t, want, v, "leaf %d value %d", leaf, k)
		}
	}
}

func TestPackingAliasIsRejected(t *testing.T) {
	// v0+2^B, v1-1 pack to the same element as v0, v1: only the range check
	// tells them apart, natively as in the circuit.
	s := DefaultScheme()
	c, err := s.CommitQuantized(Rows, 1, 4, []int64{5, 6, 7, 8}, Seed{3})
	require.NoError(t, err)
	op, err := c.OpenRow(0)
	require.NoError(t, err)
	op.Values[0][0] += 1 << 16
	op.Values[0][1]--
	require.ErrorContains(t, s.Verify(c.Layout(), c.Root(), op.Block, op), "outside the 16-bit range")
}

func TestBlockGeometry(t *testing.T) {
	s := DefaultScheme()
	x, err := s.Layout(Rows, 6, 10)
	require.NoError(t, err)
	require.Equal(t, 3, x.Depth)
	_, err = x.Row(6)
	require.Error(t, err)
	_, err = x.ColumnBlock(0, 2)
	require.Error(t, err)

	w, err := s.Layout(Columns, 10, 12)
	require.NoError(t, err)
	require.Equal(t, 4, w.Depth)
	b, err := w.ColumnBlock(2, 4)
	require.NoError(t, err)
	require.Equal(t, Block{Index: 2, Leaves: 4}, b)
	require.Equal(t, 2, w.PathLen(b))
	_, err = w.ColumnBlock(3, 4) // columns 12..15 do not exist
	require.Error(t, err)
	_, err = w.ColumnBlock(0, 3)
	require.Error(t, err)

	y, err := s.Layout(RowChunks, 3, 24)
	require.NoError(t, err)
	require.Equal(t, 6, y.LeavesPerRow)
	require.Equal(t, 18, y.NumLeaves)
	require.Equal(t, 5, y.Depth)
	b, err = y.RowBlock(2, 1, 8) // values 8..15 of row 2: leaves 12+2, 12+3
	require.NoError(t, err)
	require.Equal(t, Block{Index: 7, Leaves: 2}, b)
	require.Equal(t, 3, y.BlocksPerRow(8))
	_, err = y.RowBlock(0, 0, 16) // 6 leaves a row do not split into blocks of 4
	require.Error(t, err)
	_, err = y.RowBlock(0, 0, 6)
	require.Error(t, err)
	_, err = y.RowBlock(3, 0, 8)
	require.Error(t, err)

	ragged, err := s.Layout(RowChunks, 2, 6) // last chunk of a row zero-filled
	require.NoError(t, err)
	require.Equal(t, 2, ragged.LeavesPerRow)
	_, err = ragged.RowBlock(0, 1, 4)
	require.Error(t, err, "a block over the zero fill")
}

func cloneOpening(op *Opening) *Opening {
	c := &Opening{Block: op.Block, Salts: append([]fr.Element(nil), op.Salts...), Path: append([]fr.Element(nil), op.Path...)}
	for _, v := range op.Values {
		c.Values = append(c.Values, append([]int64(nil), v...))
	}
	return c
}
