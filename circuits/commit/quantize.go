package commit

import (
	"fmt"
	"math"
)

// Quantize maps each value to the nearest multiple of 2^-fracBits (ties to
// even, so rounding has no bias over many values) and returns the integers
// v·2^fracBits. It fails, naming the first bad index and value, on NaN, ±Inf
// or a result outside the signed range [-2^(bits-1), 2^(bits-1)): a committed
// value that silently saturated would make the trainer's own proof fail later.
func Quantize(values []float32, fracBits, bits int) ([]int64, error) {
	qz, err := newQuantizer(fracBits, bits)
	if err != nil {
		return nil, err
	}
	q := make([]int64, len(values))
	for i, x := range values {
		if q[i], err = qz.value(i, x); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// CheckQuantizable reports the error [Quantize] would return for values, without keeping the
// quantized values: for a check on a hot path that needs only the verdict.
func CheckQuantizable(values []float32, fracBits, bits int) error {
	qz, err := newQuantizer(fracBits, bits)
	if err != nil {
		return err
	}
	for i, x := range values {
		if _, err := qz.value(i, x); err != nil {
			return err
		}
	}
	return nil
}

// QuantizeFloat64 is [Quantize] for float64 values (public tables computed on
// the host in float64, circuits/tile's subspace tables): the same rounding,
// the same errors. Scaling by 2^fracBits is exact in float64 too, so the only
// rounding is RoundToEven.
func QuantizeFloat64(values []float64, fracBits, bits int) ([]int64, error) {
	qz, err := newQuantizer(fracBits, bits)
	if err != nil {
		return nil, err
	}
	q := make([]int64, len(values))
	for i, x := range values {
		if q[i], err = quantizeOne(qz, i, x); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// Dequantize is the inverse of [Quantize] up to rounding: v / 2^fracBits.
func Dequantize(q []int64, fracBits int) []float32 {
	inv := math.Ldexp(1, -fracBits)
	out := make([]float32, len(q))
	for i, v := range q {
		out[i] = float32(float64(v) * inv)
	}
	return out
}

// Quantize is [Quantize] with the scheme's format.
func (p Params) Quantize(values []float32) ([]int64, error) {
	return Quantize(values, p.FracBits, p.ValueBits)
}

// Dequantize is [Dequantize] with the scheme's format.
func (p Params) Dequantize(q []int64) []float32 { return Dequantize(q, p.FracBits) }

// quantizer holds the constants of one format so the per-value path is a
// multiply, a rounding and two comparisons.
type quantizer struct {
	scale, lo, hi  float64
	fracBits, bits int
}

func newQuantizer(fracBits, bits int) (quantizer, error) {
	if bits < 2 || bits > 62 {
		return quantizer{}, fmt.Errorf("quantize: bits %d outside [2, 62]", bits)
	}
	if fracBits < 0 || fracBits > 62 {
		return quantizer{}, fmt.Errorf("quantize: fraction bits %d outside [0, 62]", fracBits)
	}
	return quantizer{
		// float32·2^F is exact in float64, so the only rounding is RoundToEven.
		scale:    math.Ldexp(1, fracBits),
		lo:       -math.Ldexp(1, bits-1),
		hi:       math.Ldexp(1, bits-1),
		fracBits: fracBits,
		bits:     bits,
	}, nil
}

// value quantizes x, the value at index i (named in the error).
func (q quantizer) value(i int, x float32) (int64, error) { return quantizeOne(q, i, x) }

// quantizeOne is [quantizer.value] for either float type; errors print x in
// its own type, so a float32 reads as the caller wrote it.
func quantizeOne[F float32 | float64](q quantizer, i int, x F) (int64, error) {
	f := float64(x)
	r := math.RoundToEven(f * q.scale)
	if r >= q.lo && r < q.hi { // false for NaN too
		return int64(r), nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("quantize: value[%d] = %v is not finite", i, x)
	}
	return 0, fmt.Errorf("quantize: value[%d] = %v is %v at scale 2^%d, outside the %d-bit range [%v, %v)",
		i, x, r, q.fracBits, q.bits, q.lo, q.hi)
}
