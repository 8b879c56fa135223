package commit

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuantizeRoundsToNearestEven(t *testing.T) {
	const f, b = 8, 16
	ulp := float32(1.0 / 256)
	in := []float32{0, 1, -1, ulp, -ulp, 0.5 * ulp, 1.5 * ulp, 2.5 * ulp, -0.5 * ulp, -1.5 * ulp, 0.49 * ulp, 0.51 * ulp, 3.14159}
	want := []int64{0, 256, -256, 1, -1, 0, 2, 2, 0, -2, 0, 1, 804}
	q, err := Quantize(in, f, b)
	require.NoError(t, err)
	require.Equal(t, want, q)
}

func TestQuantizeRangeEdges(t *testing.T) {
	const f, b = 8, 16
	maxV := float32(32767.0 / 256) // largest representable: 2^15-1 ULPs
	q, err := Quantize([]float32{maxV, -128, float32(-32768.5 / 256), float32(32767.49 / 256)}, f, b)
	require.NoError(t, err)
	require.Equal(t, []int64{32767, -32768, -32768, 32767}, q) // -32768.5 ties to even -32768

	for _, bad := range []float32{128, float32(32767.6 / 256), float32(-32769.0 / 256), 1e30, -1e30} {
		_, err := Quantize([]float32{0, 0, bad}, f, b)
		require.Error(t, err, "%v", bad)
		require.Contains(t, err.Error(), "value[2]")
		require.Contains(t, err.Error(), "outside the 16-bit range")
	}
}

func TestQuantizeRejectsNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		_, err := Quantize([]float32{1, bad}, 8, 16)
		require.Error(t, err)
		require.Contains(t, err.Error(), "value[1]")
		require.Contains(t, err.Error(), "not finite")
	}
}

func TestQuantizeRejectsBadFormat(t *testing.T) {
	for _, fb := range [][2]int{{8, 1}, {8, 63}, {-1, 16}, {63, 16}} {
		_, err := Quantize([]float32{1}, fb[0], fb[1])
		require.Error(t, err, "%v", fb)
	}
}

func TestDequantizeInvertsQuantize(t *testing.T) {
	p := DefaultParams()
	in := []float32{0, 1.25, -3.5, 127.99609375, -128, 0.00390625}
	q, err := p.Quantize(in)
	require.NoError(t, err)
	require.Equal(t, in, p.Dequantize(q)) // all exactly representable
	// Anything in range comes back within half a ULP.
	x := []float32{0.123456, -77.7777, 12.3}
	q, err = p.Quantize(x)
	require.NoError(t, err)
	for i, y := range p.Dequantize(q) {
		require.LessOrEqual(t, math.Abs(float64(y-x[i])), 0.5/256+1e-9)
	}
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	require.Equal(t, 15, DefaultParams().PerElement())
	for _, p := range []Params{
		{ValueBits: 1, FracBits: 0, ChunkLen: 4},
		{ValueBits: 33, FracBits: 8, ChunkLen: 4},
		{ValueBits: 16, FracBits: 16, ChunkLen: 4},
		{ValueBits: 16, FracBits: -1, ChunkLen: 4},
		{ValueBits: 16, FracBits: 8, ChunkLen: 3},
		{ValueBits: 16, FracBits: 8, ChunkLen: 0},
	} {
		err := p.Validate()
		require.Error(t, err, "%+v", p)
		require.True(t, strings.HasPrefix(err.Error(), "commit: "))
	}
}

func TestQuantizeFloat64(t *testing.T) {
	const f, b = 16, 24
	ulp := math.Ldexp(1, -f)
	q, err := QuantizeFloat64([]float64{0, 1, -1, 0.5 * ulp, 1.5 * ulp, -2.5 * ulp, 127.99998474121094, -128, 1 / 3.0}, f, b)
	require.NoError(t, err)
	require.Equal(t, []int64{0, 65536, -65536, 0, 2, -2, 1<<23 - 1, -1 << 23, 21845}, q)
	for _, bad := range []float64{128, -128.00001, math.NaN(), math.Inf(1)} {
		_, err := QuantizeFloat64([]float64{0, bad}, f, b)
		require.ErrorContains(t, err, "value[1]", "%v", bad)
	}
	_, err = QuantizeFloat64([]float64{1}, 8, 1)
	require.Error(t, err)
}

// CheckQuantizable gives Quantize's verdict, the same error or none, without the values.
func TestCheckQuantizable(t *testing.T) {
	for _, v := range [][]float32{{0, 1.5, -127.9}, {1, 128}, {float32(math.NaN())}, {-128, 3, float32(math.Inf(1))}} {
		_, want := Quantize(v, 8, 16)
		got := CheckQuantizable(v, 8, 16)
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Fatalf("%v: Quantize %v, CheckQuantizable %v", v, want, got)
		}
	}
}
