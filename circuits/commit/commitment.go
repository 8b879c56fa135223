package commit

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Commitment is a committed matrix as its owner keeps it: the quantized values
// in leaf order, every level of the tree, and the seed the salts derive from
// (salts are regenerated on opening rather than stored: 32 bytes a leaf saved).
// Memory is about 4 bytes a value plus 64 bytes a padded leaf.
type Commitment struct {
	scheme Scheme
	layout Layout
	seed   Seed
	values []int32 // NumLeaves·LeafLen, leaf after leaf
	tree   tree
}

// Commit quantizes a row-major rows×cols float32 matrix and commits it as
// kind, in parallel over all cores. It fails, naming the index, on a value the
// format cannot hold (see [Quantize]).
func (s Scheme) Commit(kind Kind, rows, cols int, values []float32, seed Seed) (*Commitment, error) {
	return s.commit(kind, rows, cols, seed, len(values), runtime.NumCPU(), func(l Layout, dst []int32, workers int) error {
		qz, err := newQuantizer(s.Params.FracBits, s.Params.ValueBits)
		if err != nil {
			return err
		}
		return arrange(l, values, dst, workers, func(i int, x float32) (int32, error) {
			v, err := qz.value(i, x)
			return int32(v), err
		})
	})
}

// CommitQuantized commits a row-major matrix of values already quantized to
// the scheme's format; it fails, naming the index, on a value out of range.
func (s Scheme) CommitQuantized(kind Kind, rows, cols int, values []int64, seed Seed) (*Commitment, error) {
	lo, hi := -s.Params.bias(), s.Params.bias()
	return s.commit(kind, rows, cols, seed, len(values), runtime.NumCPU(), func(l Layout, dst []int32, workers int) error {
		return arrange(l, values, dst, workers, func(i int, v int64) (int32, error) {
			if v < lo || v >= hi {
				return 0, fmt.Errorf("value[%d] = %d outside the %d-bit range [%d, %d)", i, v, s.Params.ValueBits, lo, hi)
			}
			return int32(v), nil
		})
	})
}

func (s Scheme) commit(kind Kind, rows, cols int, seed Seed, n, workers int,
	fill func(l Layout, dst []int32, workers int) error,
) (*Commitment, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	l, err := s.Layout(kind, rows, cols)
	if err != nil {
		return nil, err
	}
	if n != rows*cols {
		return nil, fmt.Errorf("commit: %d values for a %dx%d matrix", n, rows, cols)
	}
	c := &Commitment{scheme: s, layout: l, seed: seed, values: make([]int32, l.NumLeaves*l.LeafLen)}
	if err := fill(l, c.values, workers); err != nil {
		return nil, fmt.Errorf("commit %dx%d %s: %w", rows, cols, kind, err)
	}
	leaves := make([]fr.Element, 1<<l.Depth) // padding leaves stay zero
	parallelFor(l.NumLeaves, workers, func(lo, hi int) {
		s.hashLeaves(leaves[lo:hi], lo, c.values, l.LeafLen, newSalts(seed))
	})
	c.tree = buildTree(s.Hash, leaves, workers)
	return c, nil
}

// hashLeaves sets dst[i] to the digest of leaf first+i (see [Scheme.LeafHash]),
// batchSize leaves at a time through the batched hash.
func (s Scheme) hashLeaves(dst []fr.Element, first int, values []int32, leafLen int, salts salts) {
	m := s.Params.PackedLen(leafLen)
	bt := newBatcher(s.Hash)
	elems := make([]fr.Element, batchSize*m) // leaf g's elements at [g·m, (g+1)·m)
	for g0 := 0; g0 < len(dst); g0 += batchSize {
		n := min(batchSize, len(dst)-g0)
		state := dst[g0 : g0+n]
		for g := range n {
			leaf := first + g0 + g
			packInto(s.Params, elems[g*m:(g+1)*m], values[leaf*leafLen:(leaf+1)*leafLen])
			state[g] = salts.salt(leaf)
		}
		bt.leaves(state, elems[:n*m], m)
	}
}

// LeafHash is a leaf's digest, the hash's [Hash.Leaf] of its packed values
// keyed by its salt, H_salt(e_1, …, e_m).
func (s Scheme) LeafHash(salt fr.Element, values []int64) (fr.Element, error) {
	elems, err := s.Params.Pack(values)
	if err != nil {
		return fr.Element{}, err
	}
	return s.Hash.Leaf(salt, elems), nil
}

// arrange converts a row-major matrix into leaf order (see [Kind]), in
// parallel; conv gets the row-major index for its errors.
func arrange[S any](l Layout, src []S, dst []int32, workers int, conv func(i int, x S) (int32, error)) error {
	var units int   // rows, or tiles of columns
	const tile = 16 // columns read together, so each cache line of src is used whole
	if l.Kind == Columns {
		units = (l.Cols + tile - 1) / tile
	} else {
		units = l.Rows
	}
	var (
		mu       sync.Mutex
		firstErr error
		firstLo  = units
	)
	parallelFor(units, workers, func(lo, hi int) {
		var err error
		switch l.Kind {
		case Columns:
			err = arrangeColumns(l, src, dst, lo*tile, min(hi*tile, l.Cols), conv)
		default:
			stride := l.LeafLen * max(l.LeavesPerRow, 1) // values a row occupies in dst
		rows:
			for r := lo; r < hi; r++ {
				for j := range l.Cols {
					if dst[r*stride+j], err = conv(r*l.Cols+j, src[r*l.Cols+j]); err != nil {
						break rows
					}
				}
			}
		}
		if err != nil {
			// Report the error of the lowest range, whatever the scheduling.
			mu.Lock()
			if lo < firstLo {
				firstLo, firstErr = lo, err
			}
			mu.Unlock()
		}
	})
	return firstErr
}

// arrangeColumns writes columns [c0, c1) of a row-major src as leaves of
// l.Rows values each.
func arrangeColumns[S any](l Layout, src []S, dst []int32, c0, c1 int, conv func(int, S) (int32, error)) error {
	for k := range l.Rows {
		row := src[k*l.Cols : (k+1)*l.Cols]
		for j := c0; j < c1; j++ {
			v, err := conv(k*l.Cols+j, row[j])
			if err != nil {
				return err
			}
			dst[j*l.Rows+k] = v
		}
	}
	return nil
}

// Layout is the commitment's leaf geometry.
func (c *Commitment) Layout() Layout { return c.layout }

// Scheme is the scheme the commitment was made with.
func (c *Commitment) Scheme() Scheme { return c.scheme }

// Root is the tree's root, the public commitment.
func (c *Commitment) Root() fr.Element { return c.tree.root() }

// RootBytes is the root as 32 canonical big-endian bytes, the form that goes
// on chain.
func (c *Commitment) RootBytes() [32]byte {
	r := c.tree.root()
	return r.Bytes()
}

// ParseRoot reads a root from its 32-byte big-endian form, refusing a
// non-canonical encoding (one value, one byte string).
func ParseRoot(b []byte) (fr.Element, error) {
	var e fr.Element
	if err := e.SetBytesCanonical(b); err != nil {
		return fr.Element{}, fmt.Errorf("commit: root: %w", err)
	}
	return e, nil
}
