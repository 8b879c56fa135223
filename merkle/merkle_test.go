package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// The streaming Builder gives Root's root for every tree size, and every leaf of every size
// folds back to it along its Path.
func TestBuilderAndPathsMatchRoot(t *testing.T) {
	for n := range 70 {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = Leaf(binary.BigEndian.AppendUint64(nil, uint64(i)))
		}
		var b Builder
		for _, l := range leaves {
			b.Push(l)
		}
		root := Root(leaves)
		if b.Root() != root {
			t.Fatalf("%d leaves: builder %x, root %x", n, b.Root(), root)
		}
		levels := Levels(leaves)
		for i, l := range leaves {
			if got := Fold(l, uint64(i), uint64(n), Path(levels, uint64(i))); got != root {
				t.Fatalf("%d leaves: leaf %d folds to %x", n, i, got)
			}
			if n > 1 && Fold(l, uint64((i+1)%n), uint64(n), Path(levels, uint64(i))) == root {
				t.Fatalf("%d leaves: leaf %d folds to the root at another index", n, i)
			}
		}
		if Fold(Hash{}, uint64(n), uint64(n), nil) != (Hash{}) {
			t.Fatalf("an index outside %d leaves folds", n)
		}
	}
	// A leaf is never a node: the domain bytes differ.
	l, r := Leaf([]byte("a")), Leaf([]byte("b"))
	var cat [64]byte
	copy(cat[:], l[:])
	copy(cat[32:], r[:])
	if Leaf(cat[:]) == Node(l, r) || sha256.Sum256(cat[:]) == Node(l, r) {
		t.Fatal("a leaf of two hashes equals their node")
	}
}
