package payload

import (
	"errors"
	"testing"
)

// TestDigestOpensEveryToken: every token of activations and gradients payloads, f32 and bf16,
// with token counts that leave odd nodes in the tree, opens against the digest to exactly its
// id and values.
func TestDigestOpensEveryToken(t *testing.T) {
	for _, c := range []struct {
		kind       Kind
		dt         DType
		batch, seq uint32
		vocab      uint32
	}{{Activations, BF16, 2, 3, 256}, {Activations, F32, 1, 7, 70000}, {Gradients, F32, 3, 5, 0}, {Gradients, BF16, 1, 1, 0}} {
		p := sample(c.kind, c.dt, true, c.batch, c.seq, 4, c.vocab, 7)
		b, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Digest(b)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := Decode(b, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for tok := range uint64(c.batch * c.seq) {
			o, err := OpenToken(b, tok)
			if err != nil {
				t.Fatal(err)
			}
			got, err := o.Verify(d)
			if err != nil {
				t.Fatalf("%v %v token %d: %v", c.kind, c.dt, tok, err)
			}
			wantID := int32(-1)
			if c.kind == Activations {
				wantID = dec.IDs[tok]
			}
			if got.ID != wantID || got.Index != tok || got.Step != p.Step || got.Microbatch != p.Microbatch || got.Shape != dec.Shape() {
				t.Fatalf("token %d opened as %+v", tok, got)
			}
			for i, v := range got.Values {
				if v != dec.Data[int(tok)*4+i] {
					t.Fatalf("token %d value %d = %v, decoded %v", tok, i, v, dec.Data[int(tok)*4+i])
				}
			}
		}
	}
}

// TestDigestBindsEveryByte: flipping any byte of an encoding changes its digest (or makes it
// malformed), and an opening refuses any change of its header, leaf, index or path.
func TestDigestBindsEveryByte(t *testing.T) {
	b, err := Encode(sample(Activations, BF16, true, 2, 3, 4, 256, 1))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Digest(b)
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x10
		if d2, err := Digest(c); err == nil && d2 == d {
			t.Fatalf("byte %d flipped, same digest", i)
		}
	}
	o, err := OpenToken(b, 4)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(name string, o TokenOpening) {
		t.Helper()
		if _, err := o.Verify(d); err == nil {
			t.Fatalf("%s: accepted", name)
		} else if !errors.Is(err, ErrOpening) && !errors.Is(err, ErrNonFinite) {
			t.Fatalf("%s: %v, want ErrOpening", name, err)
		}
	}
	clone := func() TokenOpening {
		c := o
		c.Header = append([]byte(nil), o.Header...)
		c.Leaf = append([]byte(nil), o.Leaf...)
		c.Siblings = append([][32]byte(nil), o.Siblings...)
		return c
	}
	for i := range o.Header {
		c := clone()
		c.Header[i] ^= 1
		refused("header byte", c)
	}
	for i := range o.Leaf {
		c := clone()
		c.Leaf[i] ^= 1
		refused("leaf byte", c)
	}
	for _, tok := range []uint64{3, 5, 6, 1 << 40} {
		c := clone()
		c.Token = tok
		refused("another index", c)
	}
	c := clone()
	c.Siblings = c.Siblings[1:]
	refused("a short path", c)
	c = clone()
	c.Siblings = append(c.Siblings, [32]byte{})
	refused("a long path", c)
	c = clone()
	c.Leaf = c.Leaf[:len(c.Leaf)-1]
	refused("a short leaf", c)
	if _, err := o.Verify([32]byte{1}); !errors.Is(err, ErrOpening) {
		t.Fatalf("another digest: %v", err)
	}
	if _, err := Digest(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated encoding has a digest")
	}
	if _, err := OpenToken(b, 6); err == nil {
		t.Fatal("token 6 of 6 opened")
	}
}

// TestDigestStreams: the digest holds no leaf per token (a hostile header can declare millions of
// them): its allocations do not grow with the token count.
func TestDigestStreams(t *testing.T) {
	allocs := func(tokens uint32) float64 {
		b, err := Encode(sample(Activations, BF16, true, 1, tokens, 1, 256, 3))
		if err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(5, func() {
			if _, err := Digest(b); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(64), allocs(1<<16)
	if large > small+4 {
		t.Fatalf("digest of 64 tokens allocates %v times, of 65536 tokens %v times", small, large)
	}
}
