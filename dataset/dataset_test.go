package dataset

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func stream(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestProveVerify: every window of streams of awkward lengths (one byte, exactly one chunk, one
// byte over, odd numbers of chunks) opens against the root to exactly its bytes.
func TestProveVerify(t *testing.T) {
	for _, n := range []int{1, 100, ChunkSize, ChunkSize + 1, 3*ChunkSize + 7, 5 * ChunkSize, 9*ChunkSize - 1} {
		s := stream(n)
		root := Root(s)
		for _, w := range [][2]int{{0, 1}, {0, n}, {n - 1, 1}, {ChunkSize - 3, 10}, {n / 2, min(65, n-n/2)}} {
			off, ln := w[0], w[1]
			if off < 0 || ln <= 0 || off+ln > n {
				continue
			}
			p, err := Prove(s, uint64(off), uint64(ln))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(root, uint64(off), uint64(ln), p)
			if err != nil {
				t.Fatalf("len %d window [%d,+%d): %v", n, off, ln, err)
			}
			if !bytes.Equal(got, s[off:off+ln]) {
				t.Fatalf("len %d window [%d,+%d): wrong bytes", n, off, ln)
			}
		}
	}
}

// TestForgedOpenings: a prover cannot open bytes that are not the committed stream's, nor the
// right bytes at another place, nor claim another length.
func TestForgedOpenings(t *testing.T) {
	s := stream(7*ChunkSize + 123)
	root := Root(s)
	off, n := uint64(2*ChunkSize-20), uint64(65) // spans chunks 1 and 2
	honest, err := Prove(s, off, n)
	if err != nil {
		t.Fatal(err)
	}
	clone := func() Proof {
		p := Proof{Len: honest.Len}
		for _, c := range honest.Chunks {
			p.Chunks = append(p.Chunks, ChunkProof{Index: c.Index, Data: append([]byte(nil), c.Data...), Siblings: append([][32]byte(nil), c.Siblings...)})
		}
		return p
	}
	for name, forge := range map[string]func(*Proof) (uint64, uint64){
		"a byte changed":    func(p *Proof) (uint64, uint64) { p.Chunks[1].Data[5] ^= 1; return off, n },
		"another length":    func(p *Proof) (uint64, uint64) { p.Len++; return off, n },
		"a sibling changed": func(p *Proof) (uint64, uint64) { p.Chunks[0].Siblings[0][0] ^= 1; return off, n },
		"a sibling dropped": func(p *Proof) (uint64, uint64) { p.Chunks[0].Siblings = p.Chunks[0].Siblings[1:]; return off, n },
		"a sibling added": func(p *Proof) (uint64, uint64) {
			p.Chunks[0].Siblings = append(p.Chunks[0].Siblings, [32]byte{})
			return off, n
		},
		"chunks swapped":       func(p *Proof) (uint64, uint64) { p.Chunks[0], p.Chunks[1] = p.Chunks[1], p.Chunks[0]; return off, n },
		"one chunk missing":    func(p *Proof) (uint64, uint64) { p.Chunks = p.Chunks[:1]; return off, n },
		"the window moved":     func(p *Proof) (uint64, uint64) { return off + ChunkSize, n },
		"a chunk cut short":    func(p *Proof) (uint64, uint64) { p.Chunks[1].Data = p.Chunks[1].Data[:100]; return off, n },
		"past the end":         func(p *Proof) (uint64, uint64) { return p.Len - 10, n },
		"an empty window":      func(p *Proof) (uint64, uint64) { return off, 0 },
		"another chunk's path": func(p *Proof) (uint64, uint64) { p.Chunks[1].Index = 5; return off, n },
	} {
		p := clone()
		o, ln := forge(&p)
		if _, err := Verify(root, o, ln, p); !errors.Is(err, ErrProof) {
			t.Errorf("%s: %v, want ErrProof", name, err)
		}
	}
	if _, err := Verify(Root(s[:len(s)-1]), off, n, honest); !errors.Is(err, ErrProof) {
		t.Errorf("another stream's root: %v", err)
	}
}

// TestRootBindsTheStream: a changed byte, a truncation or an extension changes the root.
func TestRootBindsTheStream(t *testing.T) {
	s := stream(3 * ChunkSize)
	r := Root(s)
	for name, o := range map[string][]byte{
		"a byte":    append(append([]byte(nil), s[:100]...), append([]byte{s[100] ^ 1}, s[101:]...)...),
		"truncated": s[:len(s)-1],
		"extended":  append(append([]byte(nil), s...), 0),
		"empty":     nil,
	} {
		if Root(o) == r {
			t.Errorf("%s: same root", name)
		}
	}
}

// TestWindowStart: the starts are deterministic, in range, differ by row, id and seed, and
// spread over the stream.
func TestWindowStart(t *testing.T) {
	const starts = 1_000_003
	if WindowStart(7, 11, 2, starts) != WindowStart(7, 11, 2, starts) {
		t.Fatal("not deterministic")
	}
	seen := map[uint64]bool{}
	var buckets [10]int
	for id := range uint64(2000) {
		for r := range uint32(2) {
			s := WindowStart(7, id, r, starts)
			if s >= starts {
				t.Fatalf("start %d out of range", s)
			}
			seen[s] = true
			buckets[s*10/starts]++
		}
	}
	if len(seen) < 3990 {
		t.Errorf("%d distinct starts of 4000", len(seen))
	}
	for i, b := range buckets {
		if b < 300 || b > 500 {
			t.Errorf("bucket %d holds %d of 4000 starts: not uniform", i, b)
		}
	}
	if WindowStart(7, 1, 0, starts) == WindowStart(8, 1, 0, starts) || WindowStart(7, 1, 0, starts) == WindowStart(7, 1, 1, starts) {
		t.Error("seed or row does not change the start")
	}
	if WindowStart(7, 1, 0, 0) != 0 {
		t.Error("no starts: want 0")
	}
}

// TestProveRefuses: a window outside the stream is an error, not a panic.
func TestProveRefuses(t *testing.T) {
	s := stream(100)
	for _, w := range [][2]uint64{{0, 0}, {100, 1}, {50, 51}, {1 << 63, 1 << 63}} {
		if _, err := Prove(s, w[0], w[1]); err == nil {
			t.Errorf("window %v accepted", w)
		}
	}
}
