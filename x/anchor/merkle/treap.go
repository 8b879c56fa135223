package merkle

import (
	"bytes"
	"errors"
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
//
// Nodes live in a NodeStore: in memory (NewTreap) or in the chain's KV store
// (x/anchor's keeper), one entry per holder, each with its children's keys
// and subtree hashes so that a change reads and writes one path only.
type Treap struct {
	model uint64
	store NodeStore
}

// TreapNode is one holder's node.
type TreapNode struct {
	Holder  []byte
	Balance *big.Int
	Leaf    Hash
	// Left and Right are the children's holder keys (nil: none); LeftHash and
	// RightHash their subtree hashes.
	Left, Right         []byte
	LeftHash, RightHash Hash
	Hash                Hash
}

// NodeStore keeps a treap's nodes by holder and its root key and size.
type NodeStore interface {
	// Node returns holder's node, or an error wrapping ErrNotFound.
	Node(holder []byte) (*TreapNode, error)
	SetNode(n *TreapNode) error
	DeleteNode(holder []byte) error
	// Meta is the root node's holder key (nil when empty) and the size.
	Meta() (root []byte, size uint64, err error)
	SetMeta(root []byte, size uint64) error
}

// NewTreap is an empty tree of model, in memory.
func NewTreap(model uint64) *Treap { return &Treap{model: model, store: NewMemStore()} }

// OpenTreap is model's tree over store.
func OpenTreap(model uint64, store NodeStore) *Treap { return &Treap{model: model, store: store} }

// Len is the number of holders.
func (t *Treap) Len() (int, error) {
	_, n, err := t.store.Meta()
	return int(n), err
}

// Root is the tree's root hash.
func (t *Treap) Root() (Hash, error) {
	root, _, err := t.store.Meta()
	if err != nil || root == nil {
		return Hash{}, err
	}
	n, err := t.store.Node(root)
	if err != nil {
		return Hash{}, fmt.Errorf("merkle: root node: %w", err)
	}
	return n.Hash, nil
}

// Get is holder's node, or an error wrapping ErrNotFound.
func (t *Treap) Get(holder []byte) (*TreapNode, error) { return t.store.Node(holder) }

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

func (n *TreapNode) rehash() { n.Hash = combine(combine(n.LeftHash, n.Leaf), n.RightHash) }

func (n *TreapNode) setLeft(c *TreapNode) {
	n.Left, n.LeftHash = keyOf(c), hashOf(c)
}

func (n *TreapNode) setRight(c *TreapNode) {
	n.Right, n.RightHash = keyOf(c), hashOf(c)
}

func keyOf(n *TreapNode) []byte {
	if n == nil {
		return nil
	}
	return n.Holder
}

func hashOf(n *TreapNode) Hash {
	if n == nil {
		return Hash{}
	}
	return n.Hash
}

// Set sets holder's balance; a zero balance removes the holder.
func (t *Treap) Set(holder []byte, amount *big.Int) error {
	root, size, err := t.store.Meta()
	if err != nil {
		return err
	}
	o := &op{store: t.store, nodes: map[string]*TreapNode{}, size: size}
	var top *TreapNode
	if amount != nil && amount.Sign() == 0 {
		top, err = o.remove(root, holder)
	} else {
		leaf, lerr := Leaf(t.model, holder, amount)
		if lerr != nil {
			return lerr
		}
		x := &TreapNode{Holder: append([]byte(nil), holder...), Balance: new(big.Int).Set(amount), Leaf: leaf}
		top, err = o.insert(root, x)
	}
	if err != nil {
		return err
	}
	return o.flush(keyOf(top))
}

// op is one update: the nodes it read or wrote, written back at the end.
type op struct {
	store   NodeStore
	nodes   map[string]*TreapNode
	dirty   []*TreapNode
	deleted [][]byte
	size    uint64
}

func (o *op) get(k []byte) (*TreapNode, error) {
	if n, ok := o.nodes[string(k)]; ok {
		return n, nil
	}
	n, err := o.store.Node(k)
	if err != nil {
		return nil, fmt.Errorf("merkle: node %x: %w", k, err)
	}
	o.nodes[string(k)] = n
	return n, nil
}

// put rehashes n and marks it for writing.
func (o *op) put(n *TreapNode) *TreapNode {
	n.rehash()
	o.nodes[string(n.Holder)] = n
	o.dirty = append(o.dirty, n)
	return n
}

func (o *op) flush(root []byte) error {
	gone := map[string]bool{}
	for _, k := range o.deleted {
		gone[string(k)] = true
		if err := o.store.DeleteNode(k); err != nil {
			return err
		}
	}
	written := map[string]bool{}
	for _, n := range o.dirty {
		k := string(n.Holder)
		if gone[k] || written[k] {
			continue
		}
		written[k] = true
		if err := o.store.SetNode(n); err != nil {
			return err
		}
	}
	return o.store.SetMeta(root, o.size)
}

func (o *op) insert(k []byte, x *TreapNode) (*TreapNode, error) {
	if k == nil {
		o.size++
		return o.put(x), nil
	}
	n, err := o.get(k)
	if err != nil {
		return nil, err
	}
	switch c := bytes.Compare(x.Holder, n.Holder); {
	case c == 0:
		n.Leaf, n.Balance = x.Leaf, x.Balance
	case c < 0:
		l, err := o.insert(n.Left, x)
		if err != nil {
			return nil, err
		}
		n.setLeft(l)
		if higher(l, n) {
			n.Left, n.LeftHash = l.Right, l.RightHash
			l.setRight(o.put(n))
			n = l
		}
	default:
		r, err := o.insert(n.Right, x)
		if err != nil {
			return nil, err
		}
		n.setRight(r)
		if higher(r, n) {
			n.Right, n.RightHash = r.Left, r.LeftHash
			r.setLeft(o.put(n))
			n = r
		}
	}
	return o.put(n), nil
}

func (o *op) remove(k, holder []byte) (*TreapNode, error) {
	if k == nil {
		return nil, nil // not a holder: nothing to remove
	}
	n, err := o.get(k)
	if err != nil {
		return nil, err
	}
	switch c := bytes.Compare(holder, n.Holder); {
	case c < 0:
		l, err := o.remove(n.Left, holder)
		if err != nil {
			return nil, err
		}
		n.setLeft(l)
	case c > 0:
		r, err := o.remove(n.Right, holder)
		if err != nil {
			return nil, err
		}
		n.setRight(r)
	default:
		o.size--
		o.deleted = append(o.deleted, n.Holder)
		return o.merge(n.Left, n.Right)
	}
	return o.put(n), nil
}

// merge joins two subtrees, every key of a below every key of b.
func (o *op) merge(ak, bk []byte) (*TreapNode, error) {
	switch {
	case ak == nil && bk == nil:
		return nil, nil
	case ak == nil:
		return o.get(bk)
	case bk == nil:
		return o.get(ak)
	}
	a, err := o.get(ak)
	if err != nil {
		return nil, err
	}
	b, err := o.get(bk)
	if err != nil {
		return nil, err
	}
	if higher(a, b) {
		r, err := o.merge(a.Right, bk)
		if err != nil {
			return nil, err
		}
		a.setRight(r)
		return o.put(a), nil
	}
	l, err := o.merge(ak, b.Left)
	if err != nil {
		return nil, err
	}
	b.setLeft(l)
	return o.put(b), nil
}

// higher orders priorities keccak256(holder); holders are distinct, so ties
// cannot happen unless keccak256 collides.
func higher(a, b *TreapNode) bool {
	pa, pb := keccak(a.Holder), keccak(b.Holder)
	return bytes.Compare(pa[:], pb[:]) > 0
}

// Proof is holder's node and the sibling hashes from it to the root.
func (t *Treap) Proof(holder []byte) (*TreapNode, []Hash, error) {
	k, _, err := t.store.Meta()
	if err != nil {
		return nil, nil, err
	}
	var path []*TreapNode
	var n *TreapNode
	for k != nil {
		if n, err = t.store.Node(k); err != nil {
			return nil, nil, fmt.Errorf("merkle: node %x: %w", k, err)
		}
		path = append(path, n)
		c := bytes.Compare(holder, n.Holder)
		if c == 0 {
			break
		}
		if c < 0 {
			k = n.Left
		} else {
			k = n.Right
		}
	}
	if k == nil {
		return nil, nil, fmt.Errorf("%w: holder %x", ErrNotFound, holder)
	}
	var proof []Hash
	add := func(h Hash) {
		if h != (Hash{}) {
			proof = append(proof, h)
		}
	}
	// Inside the holder's node: leaf with left, then with right.
	add(n.LeftHash)
	add(n.RightHash)
	// Up the path: as a left child the parent adds its leaf, then its right
	// subtree; as a right child, its left subtree combined with its leaf.
	for i := len(path) - 2; i >= 0; i-- {
		p, child := path[i], path[i+1]
		if bytes.Equal(p.Left, child.Holder) {
			add(p.Leaf)
			add(p.RightHash)
		} else {
			add(combine(p.LeftHash, p.Leaf))
		}
	}
	return n, proof, nil
}

// MemStore is a NodeStore in memory.
type MemStore struct {
	nodes map[string]*TreapNode
	root  []byte
	size  uint64
}

// NewMemStore is an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{nodes: map[string]*TreapNode{}} }

// Node implements NodeStore.
func (m *MemStore) Node(holder []byte) (*TreapNode, error) {
	n, ok := m.nodes[string(holder)]
	if !ok {
		return nil, fmt.Errorf("%w: holder %x", ErrNotFound, holder)
	}
	return n, nil
}

// SetNode implements NodeStore.
func (m *MemStore) SetNode(n *TreapNode) error {
	m.nodes[string(n.Holder)] = n
	return nil
}

// DeleteNode implements NodeStore.
func (m *MemStore) DeleteNode(holder []byte) error {
	delete(m.nodes, string(holder))
	return nil
}

// Meta implements NodeStore.
func (m *MemStore) Meta() ([]byte, uint64, error) { return m.root, m.size, nil }

// SetMeta implements NodeStore.
func (m *MemStore) SetMeta(root []byte, size uint64) error {
	m.root, m.size = root, size
	return nil
}

// IsNotFound reports whether err says a holder or node is missing.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
