package tile

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
)

// The input tile's exact integer function (see [Tables.InputRow]) and the
// widths of its range checks. With every opened table value below 2^23 in
// magnitude (24-bit, checked by the openings), |c_i| ≤ 2^31, k < d ≤ 2^20:
//
//   - S = Σ t_j² + 2·Σ c_i·p_i + Σ c_i² < d·2^46 + k·2^55 + k·2^62, so
//     q = floor(S/d) < 2^46 + 2^55 + 2^62 < 2^63 (as k < d): qBits = 64;
//   - M = q + E < 2^64, so R = floor(√M) < 2^32: rootBits = 32;
//   - M − R² and (R+1)² − 1 − M are at most 2R < 2^33: sqrtBits = 33;
//   - e_j < R·2^9 < 2^41: remBits = 41;
//   - |S| < 2^84, |V_j| < 2^39 + k·2^54 < 2^75, |X̂_j·R·2^9| < 2^56.
//
// Every quantity the circuit equates is thus below 2^86 in magnitude, far
// from the BN254 modulus (≈ 2^253.6), so each field equation is the integer
// equation, and a range check fails on a negative integer (it reads as
// ≈ 2^253). The integer bounds stay inside int128 natively.
const (
	// CoordFracBits is the scale of the boundary coordinates C: c = round(C·2^16).
	CoordFracBits = 16
	// CoordBits is their width: c ∈ [−2^31, 2^31).
	CoordBits = 32
	// NormEpsilon is round(1e-6·2^32): the 1e-6 of x̂ = v / √(mean(v²) + 1e-6)
	// at the scale of S.
	NormEpsilon = 4295

	qBits    = 64
	rootBits = 32
	sqrtBits = 33
	remBits  = 41
)

// QuantizeCoordinates quantizes one token's boundary coordinates:
// round-half-even(c·2^16), in [−2^31, 2^31). It fails naming the index on a
// value out of range, NaN or ±Inf.
func QuantizeCoordinates(c []float32) ([]int64, error) {
	q, err := commit.Quantize(c, CoordFracBits, CoordBits)
	if err != nil {
		return nil, fmt.Errorf("tile: boundary coordinates: %w", err)
	}
	return q, nil
}

// CheckCoordinates reports the error QuantizeCoordinates would return for c, without allocating.
func CheckCoordinates(c []float32) error {
	if err := commit.CheckQuantizable(c, CoordFracBits, CoordBits); err != nil {
		return fmt.Errorf("tile: boundary coordinates: %w", err)
	}
	return nil
}

// checkCoordinates reports a quantized coordinate outside [−2^31, 2^31).
func checkCoordinates(c []int64, k int) error {
	if len(c) != k {
		return fmt.Errorf("tile: %d boundary coordinates, the subspace has k=%d", len(c), k)
	}
	for i, x := range c {
		if x < -1<<(CoordBits-1) || x >= 1<<(CoordBits-1) {
			return fmt.Errorf("tile: boundary coordinate c[%d] = %d outside the %d-bit range", i, x, CoordBits)
		}
	}
	return nil
}

// InputDigest is h_in, the input tile's OutRoot: the hash chain of the tiles'
// compression over (id, c_0, …, c_{k−1}) from the zero state
// (commit.Sum), each a field element (a negative value x as r − |x|). It
// names what the receiver got for one token; the chain computes it from the
// revealed (id, C) row. It hashes whatever it is given: range checks are
// [Tables.InputRow]'s and the circuit's.
func InputDigest(id int, c []int64) [32]byte {
	e := commit.Sum(Scheme().Hash, tokenElements(id, c)...)
	return e.Bytes()
}

func tokenElements(id int, c []int64) []fr.Element {
	in := make([]fr.Element, 1+len(c))
	in[0].SetInt64(int64(id))
	for i, x := range c {
		in[1+i].SetInt64(x)
	}
	return in
}

// rowNorm is the part of the function shared by a row's d outputs:
// q = floor(S/d), its remainder, and R = floor(√(q + E)).
type rowNorm struct {
	s    int128
	q    uint64
	rem  uint64
	root int64
}

// newRowNorm computes S from a token's T_fixed row t (d values), P row p and
// coordinates c (k values each), then q and R.
func newRowNorm(t, p, c []int64) (rowNorm, error) {
	var sq, cp int128
	for _, x := range t {
		sq = sq.add(mul64(x, x))
	}
	for i, x := range c {
		cp = cp.add(mul64(x, p[i]))
		sq = sq.add(mul64(x, x))
	}
	n := rowNorm{s: sq.add(cp).add(cp)}
	if n.s.isNeg() {
		// Σ t² + 2c·p + c² = ‖t + c·Uᵀ‖² ≥ 0 when P = T_fixed·U; only a P row
		// far from its T row can make it negative.
		return rowNorm{}, fmt.Errorf("tile: ‖v‖² estimate S = %s is negative: the P row does not match its T_fixed row", n.s.big())
	}
	q, rem := n.s.udiv(uint64(len(t)))
	if q.hi != 0 || q.lo >= 1<<(qBits-1) {
		return rowNorm{}, fmt.Errorf("tile: mean square %s at 2^-32 above 2^63 (values out of the tables' range?)", q.big())
	}
	n.q, n.rem = q.lo, rem
	m := new(big.Int).SetUint64(n.q + NormEpsilon)
	n.root = m.Sqrt(m).Int64() // √(2^63 + E) < 2^32
	return n, nil
}

// numerator is 2·V_j + R·2^8 with V_j = t_j·2^16 + Σ_i c_i·u_ji (scale 2^32):
// X̂_j = floor(numerator / (R·2^9)).
func numerator(tj int64, uj, c []int64, root int64) int128 {
	v := from64(tj << CoordFracBits)
	for i, x := range c {
		v = v.add(mul64(x, uj[i]))
	}
	return v.add(v).add(from64(root << 8))
}

// xhatOf is floor(num / (R·2^9)) (round half up of V_j / (R·2^8)), refused
// outside the tiles' value range.
func xhatOf(num int128, root int64) (int64, error) {
	q, _ := num.divFloor(uint64(root) << 9)
	bias := int64(1) << (Scheme().Params.ValueBits - 1)
	if x, ok := q.int64(); ok && x >= -bias && x < bias {
		return x, nil
	}
	return 0, fmt.Errorf("%s at 2^-%d outside the %d-bit range", q.big(), Scheme().Params.FracBits, Scheme().Params.ValueBits)
}

// InputRow is the row of X̂ the receiver computes for token id with quantized
// coordinates c ([QuantizeCoordinates]): all d values at the tiles' scale
// 2^-8, exactly as the input tile checks them. With t_j, p_i the token's
// T_fixed and P rows and u_ji = U[j][i] (scale 2^-16):
//
//	S   = Σ_j t_j² + 2·Σ_i c_i·p_i + Σ_i c_i²   (scale 2^-32; = ‖v‖² as U is orthonormal)
//	M   = floor(S/d) + E,  E = 4295 = round(1e-6·2^32)
//	R   = floor(√M)
//	V_j = t_j·2^16 + Σ_i c_i·u_ji               (scale 2^-32)
//	X̂_j = floor((2·V_j + R·2^8) / (R·2^9))      (V_j/(R·2^8) rounded half up)
//
// so X̂_j ≈ v_j / √(mean(v²) + 1e-6). It fails on an id outside the
// vocabulary, coordinates out of range and a value X̂ cannot hold.
func (t *Tables) InputRow(id int, c []int64) ([]int64, error) {
	ext, err := t.TextRow(id)
	if err != nil {
		return nil, err
	}
	if err := checkCoordinates(c, t.k); err != nil {
		return nil, err
	}
	n, err := newRowNorm(ext[:t.d], ext[t.d:], c)
	if err != nil {
		return nil, fmt.Errorf("tile: token %d: %w", id, err)
	}
	out := make([]int64, t.d)
	uj := make([]int64, t.k)
	for j := range t.d {
		for i, x := range t.u[j*t.k : (j+1)*t.k] {
			uj[i] = int64(x)
		}
		if out[j], err = xhatOf(numerator(ext[j], uj, c, n.root), n.root); err != nil {
			return nil, fmt.Errorf("tile: token %d: X̂[%d] = %w", id, j, err)
		}
	}
	return out, nil
}
