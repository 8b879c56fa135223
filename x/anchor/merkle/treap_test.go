package merkle

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomHolders(rng *rand.Rand, n int) [][]byte {
	hs := make([][]byte, n)
	for i := range hs {
		h := make([]byte, 20)
		for j := range h {
			h[j] = byte(rng.Uint32())
		}
		hs[i] = h
	}
	return hs
}

// TestTreapIsCanonical: the root depends only on the final balances, not
// on the order of inserts, updates and deletes; every holder's proof
// verifies, a wrong balance does not.
func TestTreapIsCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	hs := randomHolders(rng, 300)
	final := map[string]int64{}
	a := NewTreap(5)
	for i, h := range hs {
		if err := a.Set(h, big.NewInt(int64(i)+1)); err != nil {
			t.Fatal(err)
		}
		final[string(h)] = int64(i) + 1
	}
	// Updates and deletes in a random order.
	for k := range 200 {
		h := hs[rng.IntN(len(hs))]
		if k%3 == 0 {
			if err := a.Set(h, big.NewInt(0)); err != nil {
				t.Fatal(err)
			}
			delete(final, string(h))
			continue
		}
		v := int64(rng.Uint32()) + 1
		if err := a.Set(h, big.NewInt(v)); err != nil {
			t.Fatal(err)
		}
		final[string(h)] = v
	}
	// The same final balances, inserted once each in another order.
	b := NewTreap(5)
	perm := rng.Perm(len(hs))
	for _, i := range perm {
		if v, ok := final[string(hs[i])]; ok {
			if err := b.Set(hs[i], big.NewInt(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ra, rb := mustRoot(t, a), mustRoot(t, b)
	la, lb := mustLen(t, a), mustLen(t, b)
	if ra != rb || la != len(final) || lb != len(final) {
		t.Fatalf("roots %x / %x, sizes %d / %d / %d: the tree depends on history", ra, rb, la, lb, len(final))
	}
	for h, v := range final {
		node, proof, err := a.Proof([]byte(h))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Leaf(5, []byte(h), big.NewInt(v))
		if node.Leaf != want || node.Balance.Int64() != v || !Verify(ra, node.Leaf, proof) {
			t.Fatalf("holder %x: proof does not verify", h)
		}
		wrong, _ := Leaf(5, []byte(h), big.NewInt(v+1))
		if Verify(ra, wrong, proof) {
			t.Fatalf("holder %x: a wrong balance verifies", h)
		}
	}
	if _, _, err := a.Proof([]byte("nobody")); err == nil {
		t.Fatal("a proof for a holder not in the tree")
	}
	empty := NewTreap(5)
	if mustRoot(t, empty) != (Hash{}) {
		t.Fatal("the empty tree's root must be zero")
	}
	if err := empty.Set([]byte{1}, big.NewInt(0)); err != nil || mustLen(t, empty) != 0 {
		t.Fatal("removing a holder not there must be a no-op")
	}
	// Emptied again after holders came and went: zero root, no nodes left.
	for _, h := range hs[:5] {
		if err := empty.Set(h, big.NewInt(3)); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hs[:5] {
		if err := empty.Set(h, big.NewInt(0)); err != nil {
			t.Fatal(err)
		}
	}
	if mustRoot(t, empty) != (Hash{}) || mustLen(t, empty) != 0 || len(empty.store.(*MemStore).nodes) != 0 {
		t.Fatal("a tree whose holders all left must be empty")
	}
}

func mustRoot(t testing.TB, tr *Treap) Hash {
	t.Helper()
	r, err := tr.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustLen(t testing.TB, tr *Treap) int {
	t.Helper()
	n, err := tr.Len()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// failingStore fails every read after the first few: a store error is
// returned, never a panic or a half-written tree reported as success.
type failingStore struct {
	*MemStore
	reads int
}

func (f *failingStore) Node(h []byte) (*TreapNode, error) {
	f.reads--
	if f.reads < 0 {
		return nil, errors.New("disk on fire")
	}
	return f.MemStore.Node(h)
}

func TestTreapStoreErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hs := randomHolders(rng, 50)
	fs := &failingStore{MemStore: NewMemStore(), reads: 1 << 30}
	tr := OpenTreap(1, fs)
	for _, h := range hs {
		if err := tr.Set(h, big.NewInt(1)); err != nil {
			t.Fatal(err)
		}
	}
	fs.reads = 0
	if err := tr.Set(hs[3], big.NewInt(2)); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("update over a failing store: %v", err)
	}
	if _, _, err := tr.Proof(hs[3]); err == nil {
		t.Fatal("proof over a failing store succeeded")
	}
}

// BenchmarkTreapUpdate changes one balance in a tree of 100,000 holders:
// the incremental cost per changed holder at checkpoint time.
func BenchmarkTreapUpdate(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	hs := randomHolders(rng, 100_000)
	t := NewTreap(1)
	for i, h := range hs {
		if err := t.Set(h, big.NewInt(int64(i)+1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := t.Set(hs[i%len(hs)], big.NewInt(int64(i)+7)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
