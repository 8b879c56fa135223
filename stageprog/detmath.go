package stageprog

import "math"

// Deterministic elementary functions. A replay dispute compares bits: the worker, the referee
// and every validator evaluating a leaf must get the same float64 from the same inputs, on
// amd64 and arm64 alike. IEEE 754 makes +, −, ×, ÷ and √ exact-rounded everywhere, but Go's
// math.Exp, math.Log, math.Sin and math.Cos use assembly on some architectures, and the Go
// compiler may fuse x*y + z into one rounding on arm64. So these use only the basic operations,
// each product rounded explicitly (float64(x*y) keeps the compiler from fusing it), and exact
// bit manipulation (math.Frexp, math.Ldexp). They are accurate to a few ulp, which is all the
// reference program needs: both sides compute the same function.

const (
	// ln2Hi + ln2Lo = ln 2, ln2Hi with its low bits zero so that k·ln2Hi is exact for |k| < 2^11.
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	invLn2 = 1.44269504088896338700e+00
)

// mul is x·y rounded to float64 on its own: never fused with a following addition.
func mul(x, y float64) float64 { return float64(x * y) }

// Exp is e^x.
func Exp(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x > 709.78:
		return math.Inf(1)
	case x < -745.2:
		return 0
	}
	k := math.Floor(mul(x, invLn2) + 0.5)
	r := (x - mul(k, ln2Hi)) - mul(k, ln2Lo) // |r| ≤ ln2/2 + a little
	// e^r by its Taylor series to r^15/15! in Horner's form, 1 + r(1 + r/2(1 + r/3(…))): the
	// remainder is below 2^-60 for |r| < 0.35.
	p := 1.0
	for n := 15; n >= 1; n-- {
		p = 1 + mul(r, p)/float64(n)
	}
	return math.Ldexp(p, int(k))
}

// Log is the natural logarithm of x (NaN for x < 0, −Inf for 0).
func Log(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	case math.IsInf(x, 1):
		return x
	}
	f, e := math.Frexp(x) // x = f·2^e, f in [0.5, 1)
	if f < math.Sqrt2/2 {
		f, e = f*2, e-1 // f in [√½, √2): exact
	}
	// ln f = 2·atanh(s), s = (f−1)/(f+1), |s| ≤ 0.1716: the series to s^41 converges below 2^-60.
	s := (f - 1) / (f + 1)
	s2 := mul(s, s)
	term, sum := s, s
	for n := 3; n <= 41; n += 2 {
		term = mul(term, s2)
		sum += term / float64(n)
	}
	fe := float64(e)
	return (mul(fe, ln2Hi) + (mul(2, sum) + mul(fe, ln2Lo)))
}

// Sigmoid is 1/(1+e^−x).
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + Exp(-x))
	}
	e := Exp(x)
	return e / (1 + e)
}

// SinCos is sin x and cos x, for the rotary embedding's angles (|x| up to about the context
// length). The argument is reduced by π/2 in two parts (Cody and Waite), which keeps a few ulp
// of accuracy for |x| below about 10^5.
func SinCos(x float64) (sin, cos float64) {
	const (
		pio2Hi = 1.5707963267341256e+00 // π/2's high 33 bits: k·pio2Hi is exact for |k| < 2^20
		pio2Lo = 6.0771005065061922e-11
		twoPi  = 0.63661977236758134308 // 2/π
	)
	k := math.Floor(mul(x, twoPi) + 0.5)
	r := (x - mul(k, pio2Hi)) - mul(k, pio2Lo) // |r| ≤ π/4 + a little
	r2 := mul(r, r)
	// Taylor series to r^21 and r^20: remainders below 2^-60 for |r| ≤ 0.8.
	s, c := r, 1.0
	ts, tc := r, 1.0
	for n := 1; n <= 10; n++ {
		ts = mul(ts, r2) / float64((2*n)*(2*n+1))
		tc = mul(tc, r2) / float64((2*n-1)*(2*n))
		if n%2 == 1 {
			s, c = s-ts, c-tc
		} else {
			s, c = s+ts, c+tc
		}
	}
	switch int64(k) & 3 {
	case 0:
		return s, c
	case 1:
		return c, -s
	case 2:
		return -s, -c
	default:
		return -c, s
	}
}
