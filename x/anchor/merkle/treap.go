package merkle

import (
	"bytes"
	"fmt"
	"math/big"
)

// Treap is a model's share tree kept up to date holder by holder: a Merkle
// treap ordered by holder bytes, each node's priority keccak256(holder), so
// its shape depends only on the set of holders, never on the order of
// updates (every validator computes the same root), and an insert, delete or
// balance change rehashes one path, O(log n) expected.
//
// A node holds one holder's leaf (Leaf) and hashes as
//
//	Node(Node(left, leaf), right)
//
// where a missing child is skipped (Node(x, ∅) = x). Because Node sorts its
// two inputs, a proof is just the sibling hashes from the holder's node to
// the root, and Verify — like ShareAnchor.verifyShares — folds them without
// knowing the shape. The root of no holders is the zero hash.
type Treap struct {
	model uint64
	root  *tnode
	size  int
}

type tnode struct {
	holder      []byte
	prio        Hash
	leaf        Hash
	left, right *tnode
	hash        Hash
}

// NewTreap is the empty tree of model.
func NewTreap(model uint64) *Treap { return &Treap{model: model} }

// Len is the number of holders.
func (t *Treap) Len() int { return t.size }

// Root is the tree's root.
func (t *Treap) Root() Hash { return hashOf(t.root) }

func hashOf(n *tnode) Hash {
	if n == nil {
		return Hash{}
	}
	return n.hash
}

// combine is Node with the empty hash as the identity.
func combine(a, b Hash) Hash {
	switch {
	case a == Hash{}:
		return b
	case b == Hash{}:
		return a
	}
	return Node(a, b)
}

func (n *tnode) rehash() { n.hash = combine(combine(hashOf(n.left), n.leaf), hashOf(n.right)) }

// Set sets holder's balance; a zero balance removes the holder.
func (t *Treap) Set(holder []byte, amount *big.Int) error {
	if amount != nil && amount.Sign() == 0 {
		t.root = t.remove(t.root, holder)
		return nil
	}
	leaf, err := Leaf(t.model, holder, amount)
	if err != nil {
		return err
	}
	n := &tnode{holder: append([]byte(nil), holder...), prio: keccak(holder), leaf: leaf}
	t.root = t.insert(t.root, n)
	return nil
}

func (t *Treap) insert(n, x *tnode) *tnode {
	if n == nil {
		x.rehash()
		t.size++
		return x
	}
	switch c := bytes.Compare(x.holder, n.holder); {
	case c == 0:
		n.leaf = x.leaf
	case c < 0:
		n.left = t.insert(n.left, x)
		if higher(n.left, n) {
			n = rotateRight(n)
		}
	default:
		n.right = t.insert(n.right, x)
		if higher(n.right, n) {
			n = rotateLeft(n)
		}
	}
	n.rehash()
	return n
}

func (t *Treap) remove(n *tnode, holder []byte) *tnode {
	if n == nil {
		return nil
	}
	switch c := bytes.Compare(holder, n.holder); {
	case c < 0:
		n.left = t.remove(n.left, holder)
	case c > 0:
		n.right = t.remove(n.right, holder)
	default:
		t.size--
		return merge(n.left, n.right)
	}
	n.rehash()
	return n
}

// merge joins two treaps, every key of a below every key of b.
func merge(a, b *tnode) *tnode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case higher(a, b):
		a.right = merge(a.right, b)
		a.rehash()
		return a
	default:
		b.left = merge(a, b.left)
		b.rehash()
		return b
	}
}

// higher orders priorities; holders are distinct, so ties cannot happen
// unless keccak256 collides.
func higher(a, b *tnode) bool { return bytes.Compare(a.prio[:], b.prio[:]) > 0 }

func rotateRight(n *tnode) *tnode {
	l := n.left
	n.left = l.right
	n.rehash()
	l.right = n
	return l // rehashed by the caller
}

func rotateLeft(n *tnode) *tnode {
	r := n.right
	n.right = r.left
	n.rehash()
	r.left = n
	return r
}

// Proof is holder's leaf and the sibling hashes from its node to the root.
func (t *Treap) Proof(holder []byte) (Hash, []Hash, error) {
	var path []*tnode
	n := t.root
	for n != nil {
		path = append(path, n)
		c := bytes.Compare(holder, n.holder)
		if c == 0 {
			break
		}
		if c < 0 {
			n = n.left
		} else {
			n = n.right
		}
	}
	if n == nil {
		return Hash{}, nil, fmt.Errorf("%w: holder %x", ErrNotFound, holder)
	}
	var proof []Hash
	add := func(h Hash) {
		if h != (Hash{}) {
			proof = append(proof, h)
		}
	}
	// Inside the holder's node: leaf with left, then with right.
	add(hashOf(n.left))
	add(hashOf(n.right))
	// Up the path: as a left child the parent adds its leaf, then its right
	// subtree; as a right child, its left subtree combined with its leaf.
	for i := len(path) - 2; i >= 0; i-- {
		p, child := path[i], path[i+1]
		if p.left == child {
			add(p.leaf)
			add(hashOf(p.right))
		} else {
			add(combine(hashOf(p.left), p.leaf))
		}
	}
	return n.leaf, proof, nil
}
