package commit

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Opening reveals one block (aligned subtree) of a commitment: everything a
// verifier, native or in circuit, needs to recompute the root from it.
type Opening struct {
	Block Block
	// Values[i] are the LeafLen values of leaf Block.Index·Block.Leaves + i:
	// a row of a [Rows] matrix, column c·T+i of a [Columns] matrix (top to
	// bottom), ChunkLen consecutive row values of a [RowChunks] matrix.
	Values [][]int64
	// Salts[i] is the salt of leaf i of the block.
	Salts []fr.Element
	// Path are the siblings from the block's subtree root up to the root,
	// bottom-up; bit k of Block.Index says whether the node at step k is a
	// right child.
	Path []fr.Element
}

// Open opens any block of the commitment.
func (c *Commitment) Open(b Block) (*Opening, error) {
	l := c.layout
	if err := l.checkBlock(b); err != nil {
		return nil, err
	}
	salts := newSalts(c.seed)
	op := &Opening{
		Block:  b,
		Values: make([][]int64, b.Leaves),
		Salts:  make([]fr.Element, b.Leaves),
		Path:   c.tree.path(log2Ceil(b.Leaves), b.Index),
	}
	for i := range b.Leaves {
		leaf := b.Index*b.Leaves + i
		vals := make([]int64, l.LeafLen)
		for k, v := range c.values[leaf*l.LeafLen : (leaf+1)*l.LeafLen] {
			vals[k] = int64(v)
		}
		op.Values[i] = vals
		op.Salts[i] = salts.salt(leaf)
	}
	return op, nil
}

// OpenRow opens row r of a [Rows] commitment (X).
func (c *Commitment) OpenRow(r int) (*Opening, error) {
	b, err := c.layout.Row(r)
	if err != nil {
		return nil, err
	}
	return c.Open(b)
}

// OpenColumnBlock opens columns [c·t, (c+1)·t) of a [Columns] commitment (W).
func (c *Commitment) OpenColumnBlock(col, t int) (*Opening, error) {
	b, err := c.layout.ColumnBlock(col, t)
	if err != nil {
		return nil, err
	}
	return c.Open(b)
}

// OpenRowBlock opens values [c·t, (c+1)·t) of row r of a [RowChunks]
// commitment (Y).
func (c *Commitment) OpenRowBlock(r, col, t int) (*Opening, error) {
	b, err := c.layout.RowBlock(r, col, t)
	if err != nil {
		return nil, err
	}
	return c.Open(b)
}

// Verify checks natively that op opens block b of the matrix with layout l
// committed to root. b comes from the verifier (from the challenge), not from
// the opening.
func (s Scheme) Verify(l Layout, root fr.Element, b Block, op *Opening) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := l.checkBlock(b); err != nil {
		return err
	}
	if op.Block != b {
		return fmt.Errorf("commit: opening of block %+v, expected %+v", op.Block, b)
	}
	if len(op.Values) != b.Leaves || len(op.Salts) != b.Leaves {
		return fmt.Errorf("commit: opening has %d leaves and %d salts, block has %d leaves", len(op.Values), len(op.Salts), b.Leaves)
	}
	if want := l.PathLen(b); len(op.Path) != want {
		return fmt.Errorf("commit: path of %d siblings, expected %d", len(op.Path), want)
	}
	leaves := make([]fr.Element, b.Leaves)
	for i, vals := range op.Values {
		if len(vals) != l.LeafLen {
			return fmt.Errorf("commit: leaf %d has %d values, expected %d", i, len(vals), l.LeafLen)
		}
		var err error
		if leaves[i], err = s.LeafHash(op.Salts[i], vals); err != nil {
			return fmt.Errorf("commit: leaf %d: %w", i, err)
		}
	}
	got := climb(s.Hash, subtreeRoot(s.Hash, leaves), b.Index, op.Path)
	if !got.Equal(&root) {
		return fmt.Errorf("commit: opening of block %d (%d leaves) does not match the root", b.Index, b.Leaves)
	}
	return nil
}
