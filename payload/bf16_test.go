package payload

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// refBF16 rounds f to bfloat16 by brute force in float64: the two bf16
// neighbours of f (truncation and the next value away from zero, with +Inf
// standing for 2^128 as IEEE overflow rounding does), nearest wins, ties go
// to the even mantissa. float64 holds f and both neighbours exactly.
func refBF16(f float32) uint16 {
	b := math.Float32bits(f)
	lo := uint16(b >> 16)
	if b&0xffff == 0 {
		return lo
	}
	hi := lo + 1
	mag := func(h uint16) float64 {
		if h&0x7fff == 0x7f80 {
			return math.Ldexp(1, 128)
		}
		return math.Abs(float64(BF16ToF32(h)))
	}
	x := math.Abs(float64(f))
	dl, dh := x-mag(lo), mag(hi)-x
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	case lo&1 == 0:
		return lo
	}
	return hi
}

func TestF32ToBF16Reference(t *testing.T) {
	check := func(f float32) {
		t.Helper()
		if got, want := F32ToBF16(f), refBF16(f); got != want {
			t.Fatalf("F32ToBF16(%v = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// Every rounding case at the bottom 17 bits for a spread of high halves:
	// normals, subnormals, near max, both signs.
	for _, hi := range []uint32{
		0x0000, 0x0001, 0x007f, 0x0080, 0x3f80, 0x3f81, 0x4049, 0x7f7e, 0x7f7f,
		0x8000, 0x8001, 0x807f, 0xbf80, 0xff7f,
	} {
		for lo := uint32(0); lo < 1<<16; lo++ {
			check(math.Float32frombits(hi<<16 | lo))
		}
	}
	r := rand.New(rand.NewSource(1))
	for range 1 << 20 {
		f := math.Float32frombits(r.Uint32())
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		check(f)
	}
}

func TestBF16Special(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3f80},
		{-2, 0xc000},
		{1 + 1.0/256, 0x3f80},        // tie, even stays
		{1 + 3.0/256, 0x3f82},        // tie, odd rounds up
		{BF16MaxFinite, 0x7f7f},      // max finite
		{math.Float32frombits(1), 0}, // smallest f32 subnormal rounds to 0
		{math.Float32frombits(0x8000_0001), 0x8000},
		{math.Float32frombits(0x0001_8000), 0x0002}, // subnormal tie to even (up)
		{math.Float32frombits(0x007f_ffff), 0x0080}, // largest subnormal rounds up to min normal
		{math.MaxFloat32, 0x7f80},                   // overflow → +Inf in the raw conversion
		{-math.MaxFloat32, 0xff80},
		{float32(math.Inf(1)), 0x7f80},
	}
	for _, c := range cases {
		if got := F32ToBF16(c.f); got != c.want {
			t.Errorf("F32ToBF16(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := F32ToBF16(float32(math.NaN())); !bf16NonFinite(h) || h&0x7f == 0 {
		t.Errorf("NaN → %#04x, not a NaN", h)
	}
	// The NaN whose payload lies only in the low 16 bits must stay NaN (not become Inf).
	if h := F32ToBF16(math.Float32frombits(0x7f800001)); h&0x7f == 0 {
		t.Errorf("signalling NaN → %#04x, not a NaN", h)
	}
	if v := BF16ToF32(0x8000); v != 0 || !math.Signbit(float64(v)) {
		t.Errorf("BF16ToF32(0x8000) = %v, want -0", v)
	}
	// Largest f32 that still rounds to max finite, and the smallest that overflows.
	edge := math.Float32frombits(0x7f7f7fff)
	if F32ToBF16(edge) != 0x7f7f || F32ToBF16(math.Nextafter32(edge, math.MaxFloat32)) != 0x7f80 {
		t.Errorf("overflow edge wrong")
	}
}

func TestToBF16Refuses(t *testing.T) {
	dst := make([]uint16, 3)
	for _, bad := range []float32{
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, math.Float32frombits(0x7f7f8000),
	} {
		err := ToBF16(dst, []float32{1, 2, bad})
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("ToBF16(%v): err = %v, want ErrNonFinite", bad, err)
		}
		if got := err.Error(); !strings.Contains(got, "element 2") {
			t.Errorf("error %q does not name element 2", got)
		}
	}
	if err := ToBF16(make([]uint16, 1), []float32{1, 2}); err == nil {
		t.Error("short dst accepted")
	}
	src := []float32{0, float32(math.Copysign(0, -1)), 1.5, -3.25e-40, BF16MaxFinite, -BF16MaxFinite, 1e-45}
	h := make([]uint16, len(src))
	if err := ToBF16(h, src); err != nil {
		t.Fatal(err)
	}
	back := make([]float32, len(src))
	FromBF16(back, h)
	for i := range src {
		if h[i] != F32ToBF16(src[i]) || back[i] != BF16ToF32(h[i]) {
			t.Errorf("element %d: slice and scalar conversions disagree", i)
		}
	}
	if !math.Signbit(float64(back[1])) {
		t.Error("-0 lost its sign")
	}
}
