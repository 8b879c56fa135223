package payload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// sample builds a valid payload with deterministic contents.
func sample(kind Kind, dt DType, compressed bool, batch, seq, width, vocab uint32, seed int64) *Payload {
	r := rand.New(rand.NewSource(seed))
	p := &Payload{
		Kind: kind, DType: dt, Compressed: compressed, Step: 1<<40 + 7, Microbatch: 3,
		Batch: batch, Seq: seq, Width: width,
	}
	p.Data = make([]float32, int(batch*seq*width))
	for i := range p.Data {
		p.Data[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.Intn(9)-4)))
	}
	if kind == Activations {
		p.Vocab = vocab
		p.IDs = make([]int32, int(batch*seq))
		for i := range p.IDs {
			p.IDs[i] = int32(r.Int63n(int64(vocab)))
		}
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	for _, kind := range []Kind{Activations, Gradients} {
		for _, dt := range []DType{F32, BF16} {
			for _, vocab := range []uint32{256, 1, 300, 65536, 65537, 1 << 31} {
				for _, compressed := range []bool{false, true} {
					if kind == Gradients && vocab != 256 {
						continue
					}
					p := sample(kind, dt, compressed, 2, 5, 3, vocab, int64(vocab))
					b, err := Encode(p)
					if err != nil {
						t.Fatal(err)
					}
					n, err := EncodedSize(p.Shape())
					if err != nil || n != len(b) {
						t.Fatalf("EncodedSize = %d, %v; len(encoding) = %d", n, err, len(b))
					}
					q, err := Decode(b, Limits{})
					if err != nil {
						t.Fatalf("%v %v vocab %d: %v", kind, dt, vocab, err)
					}
					if q.Shape() != p.Shape() || q.Step != p.Step || q.Microbatch != p.Microbatch {
						t.Fatalf("header mismatch: %+v vs %+v", q.Shape(), p.Shape())
					}
					if err := q.Check(p.Shape()); err != nil {
						t.Fatal(err)
					}
					if len(q.IDs) != len(p.IDs) || (kind == Gradients && q.IDs != nil) {
						t.Fatalf("ids: %d vs %d", len(q.IDs), len(p.IDs))
					}
					for i := range p.IDs {
						if q.IDs[i] != p.IDs[i] {
							t.Fatalf("id %d: %d vs %d", i, q.IDs[i], p.IDs[i])
						}
					}
					for i, want := range p.Data {
						got := q.Data[i]
						if dt == F32 && math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("f32 value %d: %v vs %v", i, got, want)
						}
						if dt == BF16 && math.Abs(float64(got-want)) > math.Abs(float64(want))/256 {
							t.Fatalf("bf16 value %d: %v vs %v, rel err > 2^-8", i, got, want)
						}
					}
					b2, err := Encode(q)
					if err != nil || !bytes.Equal(b, b2) {
						t.Fatalf("re-encode differs (%v)", err)
					}
				}
			}
		}
	}
}

func TestByteCounts(t *testing.T) {
	// Byte-level model: 1 byte per id. d=512 raw vs k=8 compressed, bf16.
	raw := Shape{Kind: Activations, DType: BF16, Batch: 4, Seq: 128, Width: 512, Vocab: 256}
	comp := raw
	comp.Compressed, comp.Width = true, 8
	grad := Shape{Kind: Gradients, DType: F32, Compressed: true, Batch: 4, Seq: 128, Width: 8}
	for _, c := range []struct {
		s    Shape
		want int
	}{
		{raw, 40 + 512 + 512*512*2},
		{comp, 40 + 512 + 512*8*2},
		{grad, 40 + 512*8*4},
		{Shape{Kind: Activations, DType: F32, Batch: 1, Seq: 3, Width: 1, Vocab: 65536}, 40 + 3*2 + 3*4},
		{Shape{Kind: Activations, DType: F32, Batch: 1, Seq: 3, Width: 1, Vocab: 65537}, 40 + 3*4 + 3*4},
	} {
		if n, err := EncodedSize(c.s); err != nil || n != c.want {
			t.Errorf("EncodedSize(%+v) = %d, %v; want %d", c.s, n, err, c.want)
		}
	}
	for _, bad := range []Shape{
		{Kind: 0, DType: F32, Batch: 1, Seq: 1, Width: 1},
		{Kind: Gradients, DType: 0, Batch: 1, Seq: 1, Width: 1},
		{Kind: Gradients, DType: F32, Batch: 0, Seq: 1, Width: 1},
		{Kind: Gradients, DType: F32, Batch: 1, Seq: 1, Width: 1, Vocab: 256},
		{Kind: Activations, DType: F32, Batch: 1, Seq: 1, Width: 1, Vocab: 0},
		{Kind: Activations, DType: F32, Batch: 1, Seq: 1, Width: 1, Vocab: 1<<31 + 1},
		{Kind: Gradients, DType: F32, Batch: math.MaxUint32, Seq: math.MaxUint32, Width: math.MaxUint32},
	} {
		if _, err := EncodedSize(bad); err == nil {
			t.Errorf("EncodedSize(%+v) accepted", bad)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(p *Payload)
		is   error
		msg  string
	}{
		{"nan", func(p *Payload) { p.Data[7] = float32(math.NaN()) }, ErrNonFinite, "value 7 (batch 0, pos 2, col 1)"},
		{"inf", func(p *Payload) { p.Data[29] = float32(math.Inf(-1)) }, ErrNonFinite, "value 29 (batch 1, pos 4, col 2)"},
		{"bf16 overflow", func(p *Payload) { p.DType = BF16; p.Data[3] = math.MaxFloat32 }, ErrNonFinite, "overflows bfloat16"},
		{"short data", func(p *Payload) { p.Data = p.Data[:29] }, ErrInvalid, "len(data) = 29"},
		{"long ids", func(p *Payload) { p.IDs = append(p.IDs, 0) }, ErrInvalid, "len(ids) = 11"},
		{"no ids", func(p *Payload) { p.IDs = nil }, ErrInvalid, "len(ids) = 0"},
		{"id range", func(p *Payload) { p.IDs[6] = 256 }, ErrInvalid, "id 6 (batch 1, pos 1) = 256 not in [0, 256)"},
		{"negative id", func(p *Payload) { p.IDs[0] = -1 }, ErrInvalid, "= -1 not in"},
		{"kind", func(p *Payload) { p.Kind = 9 }, ErrInvalid, "unknown kind 9"},
		{"dtype", func(p *Payload) { p.DType = 0 }, ErrInvalid, "unknown dtype 0"},
		{"zero dim", func(p *Payload) { p.Seq = 0 }, ErrInvalid, "zero dimension"},
		{"vocab", func(p *Payload) { p.Vocab = 0 }, ErrInvalid, "vocab 0"},
		{"grad ids", func(p *Payload) { p.Kind, p.Vocab = Gradients, 0 }, ErrInvalid, "gradients carry no ids"},
	} {
		p := sample(Activations, F32, true, 2, 5, 3, 256, 1)
		c.mod(p)
		dst := []byte("keep")
		out, err := AppendEncode(dst, p)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.is, c.msg)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst modified on error", c.name)
		}
		if err2 := p.Validate(); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: Validate = %v, Encode = %v", c.name, err2, err)
		}
	}
}

func TestCheck(t *testing.T) {
	p := sample(Activations, BF16, true, 2, 5, 3, 256, 1)
	want := p.Shape()
	if err := p.Check(want); err != nil {
		t.Fatal(err)
	}
	anyDT := want
	anyDT.DType = 0
	if err := p.Check(anyDT); err != nil {
		t.Fatalf("DType 0 should accept any: %v", err)
	}
	for _, c := range []struct {
		mod func(s *Shape)
		msg string
	}{
		{func(s *Shape) { s.Kind = Gradients }, "kind: expected gradients, got activations"},
		{func(s *Shape) { s.DType = F32 }, "dtype: expected f32, got bf16"},
		{func(s *Shape) { s.Compressed = false }, "compressed: expected false, got true"},
		{func(s *Shape) { s.Batch = 4 }, "batch: expected 4, got 2"},
		{func(s *Shape) { s.Seq = 6 }, "seq: expected 6, got 5"},
		{func(s *Shape) { s.Width = 512 }, "width: expected 512, got 3"},
		{func(s *Shape) { s.Vocab = 300 }, "vocab: expected 300, got 256"},
	} {
		s := want
		c.mod(&s)
		err := p.Check(s)
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Check: err = %v, want %q", err, c.msg)
		}
	}
	p.Data = p.Data[1:]
	if err := p.Check(want); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "len(data)") {
		t.Errorf("Check with short data: %v", err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	p := sample(Activations, BF16, true, 2, 3, 2, 256, 5)
	good, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	ids := HeaderSize
	vals := ids + 6
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	put32 := func(off int, v uint32) func(b []byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	}
	set := func(off int, v byte) func(b []byte) []byte {
		return func(b []byte) []byte { b[off] = v; return b }
	}
	for _, c := range []struct {
		name   string
		b      []byte
		limits Limits
		is     error
		msg    string
	}{
		{"empty", nil, Limits{}, ErrMalformed, "shorter than the 40-byte header"},
		{"magic", mut(set(0, 'X')), Limits{}, ErrMalformed, "magic"},
		{"version", mut(set(4, 2)), Limits{}, ErrMalformed, "version 2"},
		{"kind", mut(set(5, 0)), Limits{}, ErrMalformed, "unknown kind 0"},
		{"dtype", mut(set(6, 3)), Limits{}, ErrMalformed, "unknown dtype 3"},
		{"flags", mut(set(7, 3)), Limits{}, ErrMalformed, "unknown flags"},
		{"id width", mut(set(8, 2)), Limits{}, ErrMalformed, "id width 2"},
		{"reserved", mut(set(10, 1)), Limits{}, ErrMalformed, "reserved"},
		{"zero batch", mut(put32(24, 0)), Limits{}, ErrMalformed, "zero dimension"},
		{"vocab 0", mut(put32(36, 0)), Limits{}, ErrMalformed, "vocab 0"},
		{"vocab too big for ids of 1 byte", mut(put32(36, 257)), Limits{}, ErrMalformed, "id width 1 (byte 8), want 2"},
		{"overflow", mut(func(b []byte) []byte {
			put32(24, math.MaxUint32)(b)
			put32(28, math.MaxUint32)(b)
			return put32(32, math.MaxUint32)(b)
		}), Limits{MaxTokens: math.MaxUint64, MaxValues: math.MaxUint64, MaxWidth: math.MaxUint32}, ErrLimit, "MaxValues"},
		{"max tokens", mut(put32(28, 1<<30)), Limits{}, ErrLimit, "MaxTokens"},
		{"max values", good, Limits{MaxValues: 11}, ErrLimit, "MaxValues 11"},
		{"max width", good, Limits{MaxWidth: 1}, ErrLimit, "MaxWidth 1"},
		{"max vocab", good, Limits{MaxVocab: 255}, ErrLimit, "MaxVocab 255"},
		{"huge header, small body", mut(put32(28, 1<<20)), Limits{}, ErrMalformed, "truncated"},
		{"trailing", append(bytes.Clone(good), 0), Limits{}, ErrMalformed, "trailing bytes"},
		{"truncated", good[:len(good)-1], Limits{}, ErrMalformed, "truncated"},
		{"id out of range", mut(set(ids+4, 0)), Limits{}, nil, ""}, // 0 is fine
		{"grad with ids", mut(set(5, byte(Gradients))), Limits{}, ErrMalformed, "vocab 256 for gradients"},
		{"bf16 nan", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[vals+2*5:], 0x7fc0); return b }), Limits{}, ErrNonFinite, "value 5 (batch 0, pos 2, col 1) (byte 56) is NaN"},
		{"bf16 -inf", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[vals:], 0xff80); return b }), Limits{}, ErrNonFinite, "value 0 (batch 0, pos 0, col 0) (byte 46) is -Inf"},
	} {
		_, err := Decode(c.b, c.limits)
		if c.is == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v containing %q", c.name, err, c.is, c.msg)
		}
	}

	// ids out of range: vocab 10 with 1-byte ids.
	q := sample(Activations, F32, false, 1, 4, 1, 10, 2)
	b, _ := Encode(q)
	b[HeaderSize+3] = 10
	if _, err := Decode(b, Limits{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "id 3 (batch 0, pos 3, byte 43) = 10 not in [0, 10)") {
		t.Errorf("id out of range: %v", err)
	}
	// f32 NaN and Inf.
	g := sample(Gradients, F32, false, 1, 2, 2, 0, 3)
	b, _ = Encode(g)
	binary.LittleEndian.PutUint32(b[HeaderSize+8:], math.Float32bits(float32(math.Inf(1))))
	if _, err := Decode(b, Limits{}); !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "value 2 (batch 0, pos 1, col 0) (byte 48) is +Inf") {
		t.Errorf("f32 inf: %v", err)
	}
	binary.LittleEndian.PutUint32(b[HeaderSize+8:], 0x7f800001)
	if _, err := Decode(b, Limits{}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("f32 nan: %v", err)
	}
}

// Every proper prefix and every one-byte extension of valid encodings must
// fail cleanly.
func TestDecodeEveryPrefix(t *testing.T) {
	for _, p := range []*Payload{
		sample(Activations, BF16, true, 2, 3, 2, 256, 1),
		sample(Activations, F32, false, 1, 3, 2, 70000, 2),
		sample(Gradients, BF16, true, 2, 2, 3, 0, 3),
	} {
		b, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			if _, err := Decode(b[:n], Limits{}); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix %d/%d: err = %v", n, len(b), err)
			}
		}
		if _, err := Decode(append(bytes.Clone(b), 0), Limits{}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("extension accepted: %v", err)
		}
	}
}

// Random corruption (header flips, body flips, random bytes) never panics,
// and whatever still decodes re-encodes to the same bytes.
func TestDecodeCorruption(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	seeds := corpus(t)
	for range 200000 {
		b := bytes.Clone(seeds[r.Intn(len(seeds))])
		for range 1 + r.Intn(3) {
			i := r.Intn(len(b))
			if r.Intn(4) != 0 {
				i = r.Intn(HeaderSize) // mostly the header
			}
			b[i] ^= byte(1 << r.Intn(8))
			if r.Intn(8) == 0 {
				b[i] = byte(r.Intn(256))
			}
		}
		roundTrips(t, b)
	}
}

func roundTrips(t *testing.T, b []byte) {
	t.Helper()
	p, err := Decode(b, Limits{MaxValues: 1 << 16})
	if err != nil {
		if err.Error() == "" || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrLimit) || errors.Is(err, ErrNonFinite)) {
			t.Fatalf("uncategorised error %v", err)
		}
		return
	}
	b2, err := Encode(p)
	if err != nil {
		t.Fatalf("decoded payload does not encode: %v", err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
	}
}

func corpus(tb testing.TB) [][]byte {
	var out [][]byte
	for i, p := range []*Payload{
		sample(Activations, BF16, true, 2, 3, 2, 256, 1),
		sample(Activations, F32, false, 1, 3, 2, 70000, 2),
		sample(Activations, F32, true, 1, 2, 1, 300, 4),
		sample(Gradients, BF16, true, 2, 2, 3, 0, 3),
		sample(Gradients, F32, false, 1, 1, 4, 0, 5),
	} {
		b, err := Encode(p)
		if err != nil {
			tb.Fatal(i, err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { roundTrips(t, b) })
}

func BenchmarkEncodeBF16(b *testing.B) {
	p := sample(Activations, BF16, false, 8, 256, 512, 256, 1)
	buf := make([]byte, 0, 4<<20)
	b.SetBytes(int64(len(p.Data) * 4))
	for b.Loop() {
		buf, _ = AppendEncode(buf[:0], p)
	}
}

func BenchmarkDecodeBF16(b *testing.B) {
	p := sample(Activations, BF16, false, 8, 256, 512, 256, 1)
	enc, _ := Encode(p)
	b.SetBytes(int64(len(p.Data) * 4))
	for b.Loop() {
		if _, err := Decode(enc, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
