package commit

import (
	"fmt"
	"math/bits"
)

// Kind says how a row-major matrix is cut into leaves.
type Kind uint8

const (
	// Rows: leaf i is row i (Cols values). X of Y = X·W, so a challenged row
	// of X is one leaf.
	Rows Kind = iota + 1
	// Columns: leaf j is column j (Rows values), so the T columns
	// [cT, (c+1)T) of W are one aligned subtree for any power-of-two T.
	Columns
	// RowChunks: row r is cut into leaves of ChunkLen consecutive values (the
	// last one zero-filled), numbered row after row, so T values of a row
	// starting at a multiple of T are one aligned subtree (Y's row block).
	RowChunks
)

func (k Kind) String() string {
	switch k {
	case Rows:
		return "rows"
	case Columns:
		return "columns"
	case RowChunks:
		return "row-chunks"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// Layout is the leaf geometry of one committed matrix. The prover and the
// verifier derive it from public data (kind, shape, params), never from a
// message.
type Layout struct {
	Kind       Kind
	Rows, Cols int
	// LeafLen is the number of values in a leaf.
	LeafLen int
	// LeavesPerRow is the number of leaves a row spans (RowChunks only).
	LeavesPerRow int
	// NumLeaves is the number of real leaves; the tree is padded to 2^Depth
	// leaves with zero digests, which have no known preimage and so can never
	// be opened.
	NumLeaves int
	// Depth is log2 of the padded leaf count: the path length of one leaf.
	Depth int
}

// NewLayout returns the layout of a rows×cols matrix committed as kind.
func NewLayout(kind Kind, rows, cols int, p Params) (Layout, error) {
	if err := p.Validate(); err != nil {
		return Layout{}, err
	}
	if rows <= 0 || cols <= 0 {
		return Layout{}, fmt.Errorf("commit: %s layout of a %dx%d matrix: dimensions must be positive", kind, rows, cols)
	}
	l := Layout{Kind: kind, Rows: rows, Cols: cols}
	switch kind {
	case Rows:
		l.LeafLen, l.NumLeaves = cols, rows
	case Columns:
		l.LeafLen, l.NumLeaves = rows, cols
	case RowChunks:
		l.LeafLen = p.ChunkLen
		l.LeavesPerRow = (cols + p.ChunkLen - 1) / p.ChunkLen
		l.NumLeaves = rows * l.LeavesPerRow
	default:
		return Layout{}, fmt.Errorf("commit: unknown layout kind %d", kind)
	}
	l.Depth = log2Ceil(l.NumLeaves)
	if l.Depth > 40 {
		return Layout{}, fmt.Errorf("commit: %s layout of a %dx%d matrix has 2^%d leaves", kind, rows, cols, l.Depth)
	}
	return l, nil
}

// Block is a set of 2^k consecutive leaves starting at a multiple of 2^k: one
// aligned subtree, identified by its index among the subtrees of that size.
type Block struct {
	// Index of the subtree at its level: leaves [Index·Leaves, (Index+1)·Leaves).
	Index int
	// Leaves is the number of leaves, a power of two.
	Leaves int
}

// PathLen is the number of siblings from the block's subtree root to the root.
func (l Layout) PathLen(b Block) int { return l.Depth - log2Ceil(b.Leaves) }

// Row is the block holding row r of a [Rows] matrix.
func (l Layout) Row(r int) (Block, error) {
	if l.Kind != Rows {
		return Block{}, fmt.Errorf("commit: row opening of a %s layout", l.Kind)
	}
	if r < 0 || r >= l.Rows {
		return Block{}, fmt.Errorf("commit: row %d outside [0, %d)", r, l.Rows)
	}
	return Block{Index: r, Leaves: 1}, nil
}

// ColumnBlock is the block holding columns [c·t, (c+1)·t) of a [Columns]
// matrix; t must be a power of two and the block must lie inside the matrix.
func (l Layout) ColumnBlock(c, t int) (Block, error) {
	if l.Kind != Columns {
		return Block{}, fmt.Errorf("commit: column-block opening of a %s layout", l.Kind)
	}
	if !isPow2(t) {
		return Block{}, fmt.Errorf("commit: column block width %d is not a power of two", t)
	}
	if c < 0 || (c+1)*t > l.Cols {
		return Block{}, fmt.Errorf("commit: column block %d of width %d outside %d columns", c, t, l.Cols)
	}
	return Block{Index: c, Leaves: t}, nil
}

// RowBlock is the block holding values [c·t, (c+1)·t) of row r of a
// [RowChunks] matrix. t must be ChunkLen times a power of two, and a row must
// span a whole number of such blocks (LeavesPerRow a multiple of t/ChunkLen,
// true whenever t divides Cols) so that no block straddles two rows.
func (l Layout) RowBlock(r, c, t int) (Block, error) {
	if l.Kind != RowChunks {
		return Block{}, fmt.Errorf("commit: row-block opening of a %s layout", l.Kind)
	}
	leaves, err := l.rowBlockLeaves(t)
	if err != nil {
		return Block{}, err
	}
	if r < 0 || r >= l.Rows || c < 0 || (c+1)*t > l.Cols {
		return Block{}, fmt.Errorf("commit: row block (%d, %d) of width %d outside a %dx%d matrix", r, c, t, l.Rows, l.Cols)
	}
	return Block{Index: r*l.BlocksPerRow(t) + c, Leaves: leaves}, nil
}

// BlocksPerRow is the number of t-wide row blocks per row of a [RowChunks]
// matrix: the block index of (r, c) is r·BlocksPerRow(t) + c.
func (l Layout) BlocksPerRow(t int) int {
	leaves, err := l.rowBlockLeaves(t)
	if err != nil {
		return 0
	}
	return l.LeavesPerRow / leaves
}

func (l Layout) rowBlockLeaves(t int) (int, error) {
	if t <= 0 || t%l.LeafLen != 0 || !isPow2(t/l.LeafLen) {
		return 0, fmt.Errorf("commit: row block width %d is not %d times a power of two", t, l.LeafLen)
	}
	leaves := t / l.LeafLen
	if l.LeavesPerRow%leaves != 0 {
		return 0, fmt.Errorf("commit: rows of %d leaves cannot be cut into blocks of %d leaves (width %d)", l.LeavesPerRow, leaves, t)
	}
	return leaves, nil
}

func (l Layout) checkBlock(b Block) error {
	if !isPow2(b.Leaves) || b.Leaves > 1<<l.Depth {
		return fmt.Errorf("commit: block of %d leaves in a tree of 2^%d", b.Leaves, l.Depth)
	}
	if b.Index < 0 || (b.Index+1)*b.Leaves > l.NumLeaves {
		return fmt.Errorf("commit: block %d of %d leaves outside %d leaves", b.Index, b.Leaves, l.NumLeaves)
	}
	return nil
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// log2Ceil is the smallest k with 2^k ≥ n (0 for n ≤ 1).
func log2Ceil(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}
