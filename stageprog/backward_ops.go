package stageprog

import "math"

// The backward pass's ops: each the gradient of a forward op with respect to one of its
// inputs, given the gradient of its output.

// reads is a helper for ops that read a list of refs in order: it returns their values.
func readAll(r Reader, refs []Ref) ([]float64, error) {
	out := make([]float64, len(refs))
	for i, ref := range refs {
		v, err := r(ref)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// RowRMS is √(mean_d X[r, d]² + Eps) for each row r of X [R×D], of dims [R].
type RowRMS struct {
	X    int
	R, D int
	Eps  float64
}

func (o RowRMS) Dims() []int   { return []int{o.R} }
func (o RowRMS) Inputs() []int { return []int{o.X} }
func (o RowRMS) reads(i int) []Ref {
	refs := make([]Ref, o.D)
	for d := range o.D {
		refs[d] = Ref{o.X, i*o.D + d}
	}
	return refs
}

func (o RowRMS) At(r Reader, i int) (float64, error) {
	x, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	var ss float64
	for _, v := range x {
		ss += mul(v, v)
	}
	return math.Sqrt(ss/float64(o.D) + o.Eps), nil
}

func (o RowRMS) Encode() []byte { return encoder(nil).str("row_rms").ints(o.X, o.R, o.D).float(o.Eps) }

// RMSNormBackX is the gradient of RMSNorm with respect to X: for row r with ρ = RMS[r],
// dX[r, c] = G[c]·DY[r, c]/ρ − X[r, c]·Σ_d G[d]·DY[r, d]·X[r, d] / (D·ρ³).
type RMSNormBackX struct {
	X, G, DY, RMS int
	R, D          int
}

func (o RMSNormBackX) Dims() []int   { return []int{o.R, o.D} }
func (o RMSNormBackX) Inputs() []int { return []int{o.X, o.G, o.DY, o.RMS} }

func (o RMSNormBackX) reads(i int) []Ref {
	row := i / o.D
	refs := make([]Ref, 0, 3*o.D+1)
	for d := range o.D {
		refs = append(refs, Ref{o.X, row*o.D + d}, Ref{o.G, d}, Ref{o.DY, row*o.D + d})
	}
	return append(refs, Ref{o.RMS, row})
}

func (o RMSNormBackX) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	col := i % o.D
	rho := v[3*o.D]
	var dot float64
	for d := range o.D {
		dot += mul(mul(v[3*d+1], v[3*d+2]), v[3*d])
	}
	x, g, dy := v[3*col], v[3*col+1], v[3*col+2]
	return mul(g, dy)/rho - mul(x, dot)/mul(float64(o.D), mul(rho, mul(rho, rho))), nil
}

func (o RMSNormBackX) Encode() []byte {
	return encoder(nil).str("rmsnorm_back_x").ints(o.X, o.G, o.DY, o.RMS, o.R, o.D)
}

// RMSNormBackG is the gradient of RMSNorm with respect to its gain: dG[c] = Σ_r DY[r, c]·
// X[r, c]/RMS[r], read from X and DY transposed (XT, DYT [D, R]: one row each).
type RMSNormBackG struct {
	XT, DYT, RMS int
	R, D         int
}

func (o RMSNormBackG) Dims() []int   { return []int{o.D} }
func (o RMSNormBackG) Inputs() []int { return []int{o.XT, o.DYT, o.RMS} }

func (o RMSNormBackG) reads(i int) []Ref {
	refs := make([]Ref, 0, 3*o.R)
	for row := range o.R {
		refs = append(refs, Ref{o.DYT, i*o.R + row}, Ref{o.XT, i*o.R + row}, Ref{o.RMS, row})
	}
	return refs
}

func (o RMSNormBackG) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	var sum float64
	for row := range o.R {
		sum += mul(v[3*row], v[3*row+1]) / v[3*row+2]
	}
	return sum, nil
}

func (o RMSNormBackG) Encode() []byte {
	return encoder(nil).str("rmsnorm_back_g").ints(o.XT, o.DYT, o.RMS, o.R, o.D)
}

// SwiGLUBack is the gradient of gate·σ(gate)·up given DAct: with respect to the gate (WrtUp
// false), DAct·up·(σ + gate·σ·(1−σ)), or to up, DAct·gate·σ.
type SwiGLUBack struct {
	Gate, Up, DAct int
	WrtUp          bool
	Of             []int
}

func (o SwiGLUBack) Dims() []int       { return o.Of }
func (o SwiGLUBack) Inputs() []int     { return []int{o.Gate, o.Up, o.DAct} }
func (o SwiGLUBack) reads(i int) []Ref { return []Ref{{o.Gate, i}, {o.Up, i}, {o.DAct, i}} }
func (o SwiGLUBack) Encode() []byte {
	return encoder(nil).str("swiglu_back").ints(o.Gate, o.Up, o.DAct, boolInt(o.WrtUp)).ints(o.Of...)
}

func (o SwiGLUBack) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	g, u, da := v[0], v[1], v[2]
	s := Sigmoid(g)
	if o.WrtUp {
		return mul(da, mul(g, s)), nil
	}
	return mul(mul(da, u), s+mul(mul(g, s), 1-s)), nil
}

// AttnMixBackP is the gradient of the attention's output with respect to the probabilities:
// dP[b, h, q, k] = Σ_j DAtt[b·N+q, h·hd+j]·V[b·N+k, h·hd+j] for k ≤ q, 0 after (P is 0 there);
// both reads are one head's row.
type AttnMixBackP struct {
	DAtt, V              int
	B, N, Heads, HeadDim int
}

func (o AttnMixBackP) Dims() []int   { return []int{o.B, o.Heads, o.N, o.N} }
func (o AttnMixBackP) Inputs() []int { return []int{o.DAtt, o.V} }
func (o AttnMixBackP) Encode() []byte {
	return encoder(nil).str("attn_mix_back_p").ints(o.DAtt, o.V, o.B, o.N, o.Heads, o.HeadDim)
}

func (o AttnMixBackP) At(r Reader, i int) (float64, error) {
	k, q := i%o.N, (i/o.N)%o.N
	h, b := (i/(o.N*o.N))%o.Heads, i/(o.N*o.N*o.Heads)
	if k > q {
		return 0, nil
	}
	d := o.Heads * o.HeadDim
	var sum float64
	for j := range o.HeadDim {
		a, err := r(Ref{o.DAtt, (b*o.N+q)*d + h*o.HeadDim + j})
		if err != nil {
			return 0, err
		}
		v, err := r(Ref{o.V, (b*o.N+k)*d + h*o.HeadDim + j})
		if err != nil {
			return 0, err
		}
		sum += mul(a, v)
	}
	return sum, nil
}

// SoftmaxBack is the gradient of CausalSoftmax: dS[row, k] = P[row, k]·(dP[row, k] −
// Σ_{j≤q} P[row, j]·dP[row, j]) for k ≤ q (the row's position), 0 after.
type SoftmaxBack struct {
	P, DP   int
	Rows, N int
}

func (o SoftmaxBack) Dims() []int   { return []int{o.Rows, o.N} }
func (o SoftmaxBack) Inputs() []int { return []int{o.P, o.DP} }

func (o SoftmaxBack) reads(i int) []Ref {
	row, k := i/o.N, i%o.N
	q := row % o.N
	if k > q {
		return nil
	}
	refs := make([]Ref, 0, 2*(q+1))
	for j := 0; j <= q; j++ {
		refs = append(refs, Ref{o.P, row*o.N + j}, Ref{o.DP, row*o.N + j})
	}
	return refs
}

func (o SoftmaxBack) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil || len(v) == 0 {
		return 0, err
	}
	var dot float64
	for j := 0; j < len(v); j += 2 {
		dot += mul(v[j], v[j+1])
	}
	k := i % o.N
	return mul(v[2*k], v[2*k+1]-dot), nil
}

func (o SoftmaxBack) Encode() []byte {
	return encoder(nil).str("softmax_back").ints(o.P, o.DP, o.Rows, o.N)
}

// RopeBack is the gradient of Rope: the inverse rotation of DY's pairs.
type RopeBack struct{ Rope }

func (o RopeBack) Encode() []byte {
	return encoder(nil).str("rope_back").ints(o.X, o.B, o.N, o.Heads, o.HeadDim)
}

func (o RopeBack) At(r Reader, i int) (float64, error) {
	i1, i2, j, second := o.pair(i)
	d1, err := r(Ref{o.X, i1})
	if err != nil {
		return 0, err
	}
	d2, err := r(Ref{o.X, i2})
	if err != nil {
		return 0, err
	}
	sin, cos := o.angle(i, j)
	if second {
		return mul(d2, cos) - mul(d1, sin), nil
	}
	return mul(d1, cos) + mul(d2, sin), nil
}
