package tile

import (
	"math/big"
	"math/bits"
)

// int128 is a two's-complement 128-bit integer. The input tile's exact sums
// (‖v‖² up to about 2^84, V_j up to about 2^75, see input.go) do not fit in
// int64, and math/big would cost an allocation per product on the trainer's
// path (rows·d·k products a microbatch).
type int128 struct{ hi, lo uint64 }

func from64(a int64) int128 { return int128{hi: uint64(a >> 63), lo: uint64(a)} }

// mul64 is a·b, exact.
func mul64(a, b int64) int128 {
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	p := int128{hi: hi, lo: lo}
	if (a < 0) != (b < 0) {
		return p.neg()
	}
	return p
}

// abs64 is |a| as a uint64 (exact for math.MinInt64 too).
func abs64(a int64) uint64 {
	if a < 0 {
		return -uint64(a)
	}
	return uint64(a)
}

func (x int128) add(y int128) int128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, c)
	return int128{hi: hi, lo: lo}
}

func (x int128) sub(y int128) int128 { return x.add(y.neg()) }

func (x int128) neg() int128 {
	lo, b := bits.Sub64(0, x.lo, 0)
	hi, _ := bits.Sub64(0, x.hi, b)
	return int128{hi: hi, lo: lo}
}

func (x int128) isNeg() bool { return int64(x.hi) < 0 }

// int64 is x and whether it fits in an int64.
func (x int128) int64() (int64, bool) {
	v := int64(x.lo)
	return v, x.hi == uint64(v>>63)
}

// divFloor is floor(x/d) and x − d·floor(x/d) ∈ [0, d), for d > 0: true
// floor division, also for negative x (Go's / truncates toward zero).
func (x int128) divFloor(d uint64) (int128, uint64) {
	if !x.isNeg() {
		return x.udiv(d)
	}
	q, r := x.neg().udiv(d) // |x| = q·d + r, so x = −(q+1)·d + (d − r) when r > 0
	if r != 0 {
		q, r = q.add(from64(1)), d-r
	}
	return q.neg(), r
}

// udiv divides x, read as unsigned, by d > 0.
func (x int128) udiv(d uint64) (int128, uint64) {
	qhi := x.hi / d
	qlo, r := bits.Div64(x.hi%d, x.lo, d) // x.hi%d < d, so Div64 cannot overflow
	return int128{hi: qhi, lo: qlo}, r
}

// big is x as a big.Int, for errors, field elements and tests.
func (x int128) big() *big.Int {
	b := new(big.Int).SetUint64(x.hi)
	b.Lsh(b, 64).Or(b, new(big.Int).SetUint64(x.lo))
	if x.isNeg() {
		b.Sub(b, new(big.Int).Lsh(big.NewInt(1), 128))
	}
	return b
}
