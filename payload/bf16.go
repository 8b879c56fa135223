package payload

import (
	"fmt"
	"math"
)

// BF16MaxFinite is the largest finite bfloat16 value, 0x7F7F = (2 − 2^-7)·2^127.
const BF16MaxFinite = float32(3.3895313892515355e38)

// F32ToBF16 rounds f to bfloat16 with round-to-nearest-even. It is the raw
// IEEE conversion: finite values at or beyond BF16MaxFinite + half an ulp
// become ±Inf, ±Inf stays ±Inf and a NaN becomes a quiet NaN with its sign.
// Use ToBF16 to refuse those cases instead.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep sign, force quiet bit
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToF32 widens a bfloat16 value to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bf16NonFinite reports whether h is ±Inf or NaN.
func bf16NonFinite(h uint16) bool { return h&0x7f80 == 0x7f80 }

// ToBF16 converts src to bfloat16 into dst (len(dst) must be ≥ len(src)),
// rounding to nearest even. It refuses, with an error naming the index, a NaN
// or ±Inf in src and a finite value that would round to ±Inf (|x| ≥
// BF16MaxFinite + 2^119): a boundary tensor never saturates silently. Values
// converted before the offending index are already written to dst.
func ToBF16(dst []uint16, src []float32) error {
	if len(dst) < len(src) {
		return fmt.Errorf("payload: ToBF16: dst has %d elements, src %d", len(dst), len(src))
	}
	dst = dst[:len(src)]
	for i, f := range src {
		b := math.Float32bits(f)
		if b&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("%w: element %d is %v", ErrNonFinite, i, f)
		}
		h := uint16((b + 0x7fff + (b>>16)&1) >> 16)
		if bf16NonFinite(h) {
			return fmt.Errorf("%w: element %d = %v overflows bfloat16 (max finite %v)", ErrNonFinite, i, f, BF16MaxFinite)
		}
		dst[i] = h
	}
	return nil
}

// FromBF16 widens src into dst (len(dst) must be ≥ len(src); it panics otherwise,
// like copy with a short destination would be a programming error).
func FromBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}
