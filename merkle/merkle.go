// Package merkle is the SHA-256 binary Merkle tree the protocol's byte commitments share: the
// dataset root (package dataset), the boundary payload digest (package payload) and the
// weights root of a checkpoint (trainer/checkpoint).
//
//	leaf = SHA-256(0x00 | data…)
//	node = SHA-256(0x01 | left | right)
//
// An odd node at the end of a level is promoted unchanged, so no padding leaf exists that
// someone could claim to open. The domain bytes keep a leaf from ever passing for a node.
package merkle

import "crypto/sha256"

// Hash is a 32-byte digest of a leaf, a node or a root.
type Hash = [32]byte

// Leaf is the leaf hash of the concatenation of parts.
func Leaf(parts ...[]byte) Hash {
	var l Leafer
	return l.Leaf(parts...)
}

// Leafer hashes many leaves with one buffer, reused: no allocation a leaf once it has grown.
type Leafer struct{ buf []byte }

// Leaf is the leaf hash of the concatenation of parts.
func (l *Leafer) Leaf(parts ...[]byte) Hash {
	l.buf = append(l.buf[:0], 0)
	for _, p := range parts {
		l.buf = append(l.buf, p...)
	}
	return sha256.Sum256(l.buf)
}

// Node is the hash of two children.
func Node(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// Parents is the level above level: pairs hashed together, an odd last node promoted.
func Parents(level []Hash) []Hash {
	next := make([]Hash, 0, (len(level)+1)/2)
	for i := 0; i < len(level); i += 2 {
		if i+1 == len(level) {
			next = append(next, level[i])
		} else {
			next = append(next, Node(level[i], level[i+1]))
		}
	}
	return next
}

// Root folds the leaves up to the tree's top node (zero for no leaves).
func Root(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return Hash{}
	}
	for len(leaves) > 1 {
		leaves = Parents(leaves)
	}
	return leaves[0]
}

// Levels are every level of the tree from the leaves up to the top, built once for opening
// several leaves.
func Levels(leaves []Hash) [][]Hash {
	levels := [][]Hash{leaves}
	for l := leaves; len(l) > 1; {
		l = Parents(l)
		levels = append(levels, l)
	}
	return levels
}

// Path is the sibling hashes from leaf i up to the top (a level where the node was promoted
// has no sibling and adds nothing).
func Path(levels [][]Hash, i uint64) []Hash {
	var sibs []Hash
	for _, level := range levels[:max(len(levels)-1, 0)] {
		if sib := i ^ 1; sib < uint64(len(level)) {
			sibs = append(sibs, level[sib])
		}
		i /= 2
	}
	return sibs
}

// Fold climbs from leaf hash h at index i of a tree of n leaves with the siblings and returns
// the top; a path of the wrong length, or an index outside the tree, gives the zero hash,
// which no tree has as its top.
func Fold(h Hash, i, n uint64, siblings []Hash) Hash {
	if i >= n {
		return Hash{}
	}
	k := 0
	for n > 1 {
		if sib := i ^ 1; sib < n {
			if k == len(siblings) {
				return Hash{}
			}
			if i&1 == 0 {
				h = Node(h, siblings[k])
			} else {
				h = Node(siblings[k], h)
			}
			k++
		}
		i, n = i/2, (n+1)/2
	}
	if k != len(siblings) {
		return Hash{}
	}
	return h
}

// Builder folds leaves into the root as they come, holding one node a level (O(log n) memory),
// for trees too large to keep: Root(leaves) == the root of the same leaves pushed in order.
type Builder struct {
	stack []level
}

type level struct {
	height int
	h      Hash
}

// Push adds the next leaf hash.
func (b *Builder) Push(h Hash) {
	n := level{0, h}
	for len(b.stack) > 0 && b.stack[len(b.stack)-1].height == n.height {
		top := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		n = level{n.height + 1, Node(top.h, n.h)}
	}
	b.stack = append(b.stack, n)
}

// Root is the root of the leaves pushed so far (zero for none). The subtrees left on the stack
// are complete and of decreasing height; folding them from the right is what promoting an odd
// node level by level gives.
func (b *Builder) Root() Hash {
	if len(b.stack) == 0 {
		return Hash{}
	}
	h := b.stack[len(b.stack)-1].h
	for i := len(b.stack) - 2; i >= 0; i-- {
		h = Node(b.stack[i].h, h)
	}
	return h
}
