// Package merkle is the share-balance Merkle tree of x/anchor: a keccak256
// tree that Go (the chain, the relayer, the CLI) and Solidity (the anchor
// contract, contracts/ShareAnchor.sol) compute byte for byte alike, so that a
// holder can prove its balance of share/N on Ethereum.
//
// # Encoding
//
// A holder leaf of model N is
//
//	keccak256(0x00 ‖ uint64be(N) ‖ uint8(len(holder)) ‖ holder ‖ uint256be(balance))
//
// (holder: the account's address bytes, 1 to 255 of them; in Solidity
// keccak256(abi.encodePacked(bytes1(0x00), modelId, uint8(holder.length),
// holder, balance)) with modelId a uint64 and balance a uint256). A model
// leaf of the checkpoint's models tree is keccak256(0x02 ‖ uint64be(N) ‖
// root). An inner node is keccak256(0x01 ‖ min(a, b) ‖ max(a, b)): the two
// children sorted as unsigned 256-bit numbers, so a proof is just the
// sibling hashes, bottom up, without left/right bits. The prefixes keep a
// leaf from being read as an inner node or as the other kind of leaf.
//
// Two tree shapes share these hashes. Build/ModelTree pair leaves ordered
// by holder bytes (models by id) level by level, a level with an odd count
// passing its last node up unchanged: a full rebuild, used for the models
// tree and as the reference. Treap keeps a model's holders up to date one
// change at a time (O(log n) per changed holder; its shape depends only on
// the holders). Because inner nodes hash a sorted pair, a proof is the
// sibling list for either shape and Verify (like the contract) needs no
// shape. The root of no leaves is the zero hash.
package merkle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"golang.org/x/crypto/sha3"
)

// Hash is a 32-byte keccak256 digest.
type Hash [32]byte

const (
	prefixLeaf  = 0x00
	prefixNode  = 0x01
	prefixModel = 0x02
)

func keccak(parts ...[]byte) Hash {
	k := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		k.Write(p)
	}
	var h Hash
	k.Sum(h[:0])
	return h
}

// Balance is one holder's balance of a model's shares.
type Balance struct {
	Holder []byte
	Amount *big.Int
}

// Leaf is the leaf of a holder's balance of model's shares.
func Leaf(model uint64, holder []byte, amount *big.Int) (Hash, error) {
	if len(holder) == 0 || len(holder) > 255 {
		return Hash{}, fmt.Errorf("merkle: holder of %d bytes; want 1 to 255", len(holder))
	}
	if amount == nil || amount.Sign() < 0 || amount.BitLen() > 256 {
		return Hash{}, fmt.Errorf("merkle: balance %v is not a uint256", amount)
	}
	var m [8]byte
	binary.BigEndian.PutUint64(m[:], model)
	var a [32]byte
	amount.FillBytes(a[:])
	return keccak([]byte{prefixLeaf}, m[:], []byte{byte(len(holder))}, holder, a[:]), nil
}

// ModelLeaf is the leaf of a model's root in a checkpoint's models tree.
func ModelLeaf(model uint64, root Hash) Hash {
	var m [8]byte
	binary.BigEndian.PutUint64(m[:], model)
	return keccak([]byte{prefixModel}, m[:], root[:])
}

// Node hashes two children, sorted.
func Node(a, b Hash) Hash {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	return keccak([]byte{prefixNode}, a[:], b[:])
}

// Tree is a built tree: every level, leaves first.
type Tree struct {
	levels [][]Hash
}

// Build builds the tree of leaves in the given order.
func Build(leaves []Hash) *Tree {
	t := &Tree{levels: [][]Hash{append([]Hash(nil), leaves...)}}
	for cur := t.levels[0]; len(cur) > 1; {
		next := make([]Hash, 0, (len(cur)+1)/2)
		for i := 0; i+1 < len(cur); i += 2 {
			next = append(next, Node(cur[i], cur[i+1]))
		}
		if len(cur)%2 == 1 {
			next = append(next, cur[len(cur)-1])
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t
}

// Root is the tree's root (zero for no leaves).
func (t *Tree) Root() Hash {
	top := t.levels[len(t.levels)-1]
	if len(top) == 0 {
		return Hash{}
	}
	return top[0]
}

// Proof is the sibling hashes of leaf i, bottom up.
func (t *Tree) Proof(i int) ([]Hash, error) {
	if i < 0 || i >= len(t.levels[0]) {
		return nil, fmt.Errorf("merkle: leaf %d of %d", i, len(t.levels[0]))
	}
	var proof []Hash
	for _, level := range t.levels[:len(t.levels)-1] {
		sib := i ^ 1
		if sib < len(level) {
			proof = append(proof, level[sib])
		}
		i /= 2
	}
	return proof, nil
}

// Verify reports whether proof leads from leaf to root.
func Verify(root, leaf Hash, proof []Hash) bool {
	h := leaf
	for _, p := range proof {
		h = Node(h, p)
	}
	return h == root
}

// SortBalances orders balances by holder bytes and refuses duplicates.
func SortBalances(bs []Balance) error {
	sort.Slice(bs, func(i, j int) bool { return bytes.Compare(bs[i].Holder, bs[j].Holder) < 0 })
	for i := 1; i < len(bs); i++ {
		if bytes.Equal(bs[i-1].Holder, bs[i].Holder) {
			return fmt.Errorf("merkle: holder %x twice", bs[i].Holder)
		}
	}
	return nil
}

// ModelTree builds the holder tree of a model's balances (sorted in place
// by holder) and returns it with the leaves in tree order.
func ModelTree(model uint64, bs []Balance) (*Tree, error) {
	if err := SortBalances(bs); err != nil {
		return nil, err
	}
	leaves := make([]Hash, len(bs))
	for i, b := range bs {
		l, err := Leaf(model, b.Holder, b.Amount)
		if err != nil {
			return nil, fmt.Errorf("holder %x: %w", b.Holder, err)
		}
		leaves[i] = l
	}
	return Build(leaves), nil
}

// ErrNotFound is returned for a holder or model not in a tree.
var ErrNotFound = errors.New("merkle: not in the tree")
