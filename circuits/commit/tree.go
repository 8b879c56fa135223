package commit

import "github.com/consensys/gnark-crypto/ecc/bn254/fr"

// tree keeps every level of a Merkle tree, leaves (padded to a power of two)
// first and the root last, so an opening is a lookup instead of a rehash.
type tree struct {
	levels [][]fr.Element
}

// buildTree hashes the levels above leaves (len a power of two), each level in
// parallel over workers goroutines.
func buildTree(h Hash, leaves []fr.Element, workers int) tree {
	levels := [][]fr.Element{leaves}
	for cur := leaves; len(cur) > 1; {
		next := make([]fr.Element, len(cur)/2)
		parallelFor(len(next), workers, func(lo, hi int) {
			bt := newBatcher(h)
			var left, right [batchSize]fr.Element
			for b0 := lo; b0 < hi; b0 += batchSize {
				n := min(batchSize, hi-b0)
				for j := range n {
					left[j], right[j] = cur[2*(b0+j)], cur[2*(b0+j)+1]
				}
				bt.compress(next[b0:b0+n], left[:n], right[:n])
			}
		})
		levels = append(levels, next)
		cur = next
	}
	return tree{levels: levels}
}

func (t tree) root() fr.Element { return t.levels[len(t.levels)-1][0] }

// path returns the siblings of node index at level, bottom-up, up to (not
// including) the root.
func (t tree) path(level, index int) []fr.Element {
	var p []fr.Element
	for ; level < len(t.levels)-1; level++ {
		p = append(p, t.levels[level][index^1])
		index >>= 1
	}
	return p
}

// climb hashes node up a path; bit k of index says whether the node is the
// right child at step k.
func climb(h Hash, node fr.Element, index int, path []fr.Element) fr.Element {
	for _, sib := range path {
		if index&1 == 0 {
			node = h.Compress(&node, &sib)
		} else {
			node = h.Compress(&sib, &node)
		}
		index >>= 1
	}
	return node
}

// subtreeRoot folds 2^k nodes into their root.
func subtreeRoot(h Hash, nodes []fr.Element) fr.Element {
	cur := append([]fr.Element(nil), nodes...)
	for len(cur) > 1 {
		for i := range len(cur) / 2 {
			cur[i] = h.Compress(&cur[2*i], &cur[2*i+1])
		}
		cur = cur[:len(cur)/2]
	}
	return cur[0]
}
