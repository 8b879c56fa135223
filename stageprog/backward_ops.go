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
func (o RowRMS) Reads(i int) []Ref {
	refs := make([]Ref, o.D)
	for d := range o.D {
		refs[d] = Ref{o.X, i*o.D + d}
	}
	return refs
}

func (o RowRMS) At(r Reader, i int) (float64, error) {
	x, err := readAll(r, o.Reads(i))
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

func (o RMSNormBackX) Reads(i int) []Ref {
	row := i / o.D
	refs := make([]Ref, 0, 3*o.D+1)
	for d := range o.D {
		refs = append(refs, Ref{o.X, row*o.D + d}, Ref{o.G, d}, Ref{o.DY, row*o.D + d})
	}
	return append(refs, Ref{o.RMS, row})
}

func (o RMSNormBackX) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
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
// X[r, c]/RMS[r].
type RMSNormBackG struct {
	X, DY, RMS int
	R, D       int
}

func (o RMSNormBackG) Dims() []int   { return []int{o.D} }
func (o RMSNormBackG) Inputs() []int { return []int{o.X, o.DY, o.RMS} }

func (o RMSNormBackG) Reads(i int) []Ref {
	refs := make([]Ref, 0, 3*o.R)
	for row := range o.R {
		refs = append(refs, Ref{o.DY, row*o.D + i}, Ref{o.X, row*o.D + i}, Ref{o.RMS, row})
	}
	return refs
}

func (o RMSNormBackG) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
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
	return encoder(nil).str("rmsnorm_back_g").ints(o.X, o.DY, o.RMS, o.R, o.D)
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
func (o SwiGLUBack) Reads(i int) []Ref { return []Ref{{o.Gate, i}, {o.Up, i}, {o.DAct, i}} }
func (o SwiGLUBack) Encode() []byte {
	return encoder(nil).str("swiglu_back").ints(o.Gate, o.Up, o.DAct, boolInt(o.WrtUp)).ints(o.Of...)
}

func (o SwiGLUBack) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
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

// attn holds the shape of a causal attention: B sequences of N positions, Heads heads of
// HeadDim; rows of activations are b·N + position, columns head·HeadDim + j, and the [B, Heads,
// N, N] tensors of scores and probabilities are flat in that order.
type attn struct{ B, N, Heads, HeadDim int }

func (a attn) d() int { return a.Heads * a.HeadDim }

// act is the flat index of activation (b, pos, head, j).
func (a attn) act(b, pos, head, j int) int { return (b*a.N+pos)*a.d() + head*a.HeadDim + j }

// prob is the flat index of (b, head, q, k) in a scores or probabilities tensor.
func (a attn) prob(b, head, q, k int) int { return ((b*a.Heads+head)*a.N+q)*a.N + k }

// ofProb splits a flat [B, Heads, N, N] index.
func (a attn) ofProb(i int) (b, head, q, k int) {
	k, q = i%a.N, (i/a.N)%a.N
	head = (i / (a.N * a.N)) % a.Heads
	return i / (a.N * a.N * a.Heads), head, q, k
}

// ofAct splits a flat [B·N, Heads·HeadDim] index.
func (a attn) ofAct(i int) (b, pos, head, j int) {
	row, col := i/a.d(), i%a.d()
	return row / a.N, row % a.N, col / a.HeadDim, col % a.HeadDim
}

// AttnMixBackP is the gradient of AttnMix with respect to the probabilities: dP[b, h, q, k] =
// Σ_j DAtt[b·N+q, h·hd+j]·V[b·N+k, h·hd+j] for k ≤ q, 0 after (P is 0 there).
type AttnMixBackP struct {
	DAtt, V int
	attn
}

func NewAttnMixBackP(dAtt, v, b, n, heads, headDim int) AttnMixBackP {
	return AttnMixBackP{dAtt, v, attn{b, n, heads, headDim}}
}

func (o AttnMixBackP) Dims() []int   { return []int{o.B, o.Heads, o.N, o.N} }
func (o AttnMixBackP) Inputs() []int { return []int{o.DAtt, o.V} }

func (o AttnMixBackP) Reads(i int) []Ref {
	b, h, q, k := o.ofProb(i)
	if k > q {
		return nil
	}
	refs := make([]Ref, 0, 2*o.HeadDim)
	for j := range o.HeadDim {
		refs = append(refs, Ref{o.DAtt, o.act(b, q, h, j)}, Ref{o.V, o.act(b, k, h, j)})
	}
	return refs
}

func (o AttnMixBackP) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
	if err != nil {
		return 0, err
	}
	var sum float64
	for j := 0; j < len(v); j += 2 {
		sum += mul(v[j], v[j+1])
	}
	return sum, nil
}

func (o AttnMixBackP) Encode() []byte {
	return encoder(nil).str("attn_mix_back_p").ints(o.DAtt, o.V, o.B, o.N, o.Heads, o.HeadDim)
}

// AttnMixBackV is the gradient of AttnMix with respect to the values: dV[b·N+k, h·hd+j] =
// Σ_{q≥k} P[b, h, q, k]·DAtt[b·N+q, h·hd+j].
type AttnMixBackV struct {
	P, DAtt int
	attn
}

func NewAttnMixBackV(p, dAtt, b, n, heads, headDim int) AttnMixBackV {
	return AttnMixBackV{p, dAtt, attn{b, n, heads, headDim}}
}

func (o AttnMixBackV) Dims() []int   { return []int{o.B * o.N, o.d()} }
func (o AttnMixBackV) Inputs() []int { return []int{o.P, o.DAtt} }

func (o AttnMixBackV) Reads(i int) []Ref {
	b, k, h, j := o.ofAct(i)
	refs := make([]Ref, 0, 2*(o.N-k))
	for q := k; q < o.N; q++ {
		refs = append(refs, Ref{o.P, o.prob(b, h, q, k)}, Ref{o.DAtt, o.act(b, q, h, j)})
	}
	return refs
}

func (o AttnMixBackV) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
	if err != nil {
		return 0, err
	}
	var sum float64
	for n := 0; n < len(v); n += 2 {
		sum += mul(v[n], v[n+1])
	}
	return sum, nil
}

func (o AttnMixBackV) Encode() []byte {
	return encoder(nil).str("attn_mix_back_v").ints(o.P, o.DAtt, o.B, o.N, o.Heads, o.HeadDim)
}

// SoftmaxBack is the gradient of CausalSoftmax: dS[row, k] = P[row, k]·(dP[row, k] −
// Σ_{j≤q} P[row, j]·dP[row, j]) for k ≤ q (the row's position), 0 after.
type SoftmaxBack struct {
	P, DP   int
	Rows, N int
}

func (o SoftmaxBack) Dims() []int   { return []int{o.Rows, o.N} }
func (o SoftmaxBack) Inputs() []int { return []int{o.P, o.DP} }

func (o SoftmaxBack) Reads(i int) []Ref {
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
	v, err := readAll(r, o.Reads(i))
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

// ScoresBack is the gradient of Scores with respect to the queries (WrtK false: dQ[b·N+q, h·hd
// +j] = Σ_{k≤q} dS[b, h, q, k]·K[b·N+k, h·hd+j] / √hd) or the keys (dK[b·N+k, h·hd+j] =
// Σ_{q≥k} dS[b, h, q, k]·Q[b·N+q, h·hd+j] / √hd); Other is K or Q.
type ScoresBack struct {
	DS, Other int
	WrtK      bool
	attn
}

func NewScoresBack(dS, other int, wrtK bool, b, n, heads, headDim int) ScoresBack {
	return ScoresBack{dS, other, wrtK, attn{b, n, heads, headDim}}
}

func (o ScoresBack) Dims() []int   { return []int{o.B * o.N, o.d()} }
func (o ScoresBack) Inputs() []int { return []int{o.DS, o.Other} }

func (o ScoresBack) Reads(i int) []Ref {
	b, pos, h, j := o.ofAct(i)
	var refs []Ref
	if o.WrtK {
		for q := pos; q < o.N; q++ {
			refs = append(refs, Ref{o.DS, o.prob(b, h, q, pos)}, Ref{o.Other, o.act(b, q, h, j)})
		}
		return refs
	}
	for k := 0; k <= pos; k++ {
		refs = append(refs, Ref{o.DS, o.prob(b, h, pos, k)}, Ref{o.Other, o.act(b, k, h, j)})
	}
	return refs
}

func (o ScoresBack) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.Reads(i))
	if err != nil {
		return 0, err
	}
	var sum float64
	for n := 0; n < len(v); n += 2 {
		sum += mul(v[n], v[n+1])
	}
	return mul(sum, 1/math.Sqrt(float64(o.HeadDim))), nil
}

func (o ScoresBack) Encode() []byte {
	return encoder(nil).str("scores_back").ints(o.DS, o.Other, boolInt(o.WrtK), o.B, o.N, o.Heads, o.HeadDim)
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
