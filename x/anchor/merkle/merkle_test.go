package merkle

import (
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestProofsForEveryLeaf(t *testing.T) {
	if (Build(nil).Root() != Hash{}) {
		t.Fatal("the root of no leaves must be zero")
	}
	for n := 1; n <= 33; n++ {
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i] = keccak([]byte{byte(i), byte(n)})
		}
		tree := Build(leaves)
		if n == 1 && tree.Root() != leaves[0] {
			t.Fatal("one leaf is its own root")
		}
		for i := range leaves {
			p, err := tree.Proof(i)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(tree.Root(), leaves[i], p) {
				t.Fatalf("n=%d: leaf %d does not verify", n, i)
			}
			if len(p) > 0 {
				p[0][0] ^= 1
				if Verify(tree.Root(), leaves[i], p) {
					t.Fatalf("n=%d: leaf %d verifies with a tampered proof", n, i)
				}
			}
		}
		if _, err := tree.Proof(n); err == nil {
			t.Fatal("a proof for a leaf past the end")
		}
	}
}

func TestLeavesRefuseBadInput(t *testing.T) {
	if _, err := Leaf(1, nil, big.NewInt(1)); err == nil {
		t.Error("empty holder accepted")
	}
	if _, err := Leaf(1, make([]byte, 256), big.NewInt(1)); err == nil {
		t.Error("256-byte holder accepted")
	}
	if _, err := Leaf(1, []byte{1}, big.NewInt(-1)); err == nil {
		t.Error("negative balance accepted")
	}
	if _, err := Leaf(1, []byte{1}, new(big.Int).Lsh(big.NewInt(1), 256)); err == nil {
		t.Error("balance above uint256 accepted")
	}
	a, _ := Leaf(1, []byte{1}, big.NewInt(5))
	b, _ := Leaf(2, []byte{1}, big.NewInt(5))
	c, _ := Leaf(1, []byte{1, 0}, big.NewInt(5))
	if a == b || a == c {
		t.Error("leaves of another model or holder collide")
	}
	_, err := ModelTree(1, []Balance{{Holder: []byte{2}, Amount: big.NewInt(1)}, {Holder: []byte{2}, Amount: big.NewInt(3)}})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a holder twice: %v", err)
	}
}

func TestModelTreeSortsByHolder(t *testing.T) {
	bs := []Balance{{Holder: []byte{3}, Amount: big.NewInt(1)}, {Holder: []byte{1}, Amount: big.NewInt(2)}, {Holder: []byte{2}, Amount: big.NewInt(3)}}
	tree, err := ModelTree(4, bs)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ModelTree(4, []Balance{bs[2], bs[0], bs[1]})
	if tree.Root() != again.Root() || bs[0].Holder[0] != 1 {
		t.Fatal("the root depends on the input order")
	}
}

// BenchmarkModelTree builds a model's tree from 1,000 and 100,000 balances:
// what a full rebuild at checkpoint time costs (leaves, sort, levels).
func BenchmarkModelTree(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		bs := make([]Balance, n)
		for i := range bs {
			h := keccak([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
			bs[i] = Balance{Holder: h[:20], Amount: big.NewInt(int64(i) + 1)}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ModelTree(1, bs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
