package stageprog

import (
	"fmt"
	"math"
)

// MatMul is out[i, j] = Σ_k A[i, k]·B[k, j], A of M×K (K×M when TransA), B of K×N (N×K when
// TransB), summed in k order.
type MatMul struct {
	A, B           int
	M, K, N        int
	TransA, TransB bool
}

func (o MatMul) Dims() []int   { return []int{o.M, o.N} }
func (o MatMul) Inputs() []int { return []int{o.A, o.B} }

func (o MatMul) a(i, k int) int {
	if o.TransA {
		return k*o.M + i
	}
	return i*o.K + k
}

func (o MatMul) b(k, j int) int {
	if o.TransB {
		return j*o.K + k
	}
	return k*o.N + j
}

func (o MatMul) At(r Reader, i int) (float64, error) {
	row, col := i/o.N, i%o.N
	var sum float64
	for k := range o.K {
		a, err := r(Ref{o.A, o.a(row, k)})
		if err != nil {
			return 0, err
		}
		b, err := r(Ref{o.B, o.b(k, col)})
		if err != nil {
			return 0, err
		}
		sum += mul(a, b)
	}
	return sum, nil
}

func (o MatMul) Encode() []byte {
	return encoder(nil).str("matmul").ints(o.A, o.B, o.M, o.K, o.N, boolInt(o.TransA), boolInt(o.TransB))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RMSNorm is out[r, c] = X[r, c] / √(mean_d X[r, d]² + Eps) · G[c], X of R×D (the engine's
// rmsNorm: the gain after the division).
type RMSNorm struct {
	X, G int
	R, D int
	Eps  float64
}

func (o RMSNorm) Dims() []int   { return []int{o.R, o.D} }
func (o RMSNorm) Inputs() []int { return []int{o.X, o.G} }

func (o RMSNorm) At(r Reader, i int) (float64, error) {
	row, col := i/o.D, i%o.D
	var ss float64
	var x float64
	for d := range o.D {
		v, err := r(Ref{o.X, row*o.D + d})
		if err != nil {
			return 0, err
		}
		ss += mul(v, v)
		if d == col {
			x = v
		}
	}
	g, err := r(Ref{o.G, col})
	if err != nil {
		return 0, err
	}
	return mul(x/math.Sqrt(ss/float64(o.D)+o.Eps), g), nil
}

func (o RMSNorm) Encode() []byte {
	return encoder(nil).str("rmsnorm").ints(o.X, o.G, o.R, o.D).float(o.Eps)
}

// Add is out = A + B, elementwise, both of Dims.
type Add struct {
	A, B int
	Of   []int
}

func (o Add) Dims() []int    { return o.Of }
func (o Add) Inputs() []int  { return []int{o.A, o.B} }
func (o Add) Encode() []byte { return encoder(nil).str("add").ints(o.A, o.B).ints(o.Of...) }
func (o Add) At(r Reader, i int) (float64, error) {
	a, b, err := two(r, Ref{o.A, i}, Ref{o.B, i})
	return a + b, err
}

// two reads the two elements an elementwise op combines.
func two(r Reader, x, y Ref) (a, b float64, err error) {
	if a, err = r(x); err != nil {
		return 0, 0, err
	}
	b, err = r(y)
	return a, b, err
}

// Rope rotates the pairs (x_j, x_{j+hd/2}) of each head of X [B·N, Heads·HeadDim] by the
// angle pos·10000^(−2j/hd), pos the row's position in its sequence of N (the engine's rope).
type Rope struct {
	X                    int
	B, N, Heads, HeadDim int
}

func (o Rope) Dims() []int   { return []int{o.B * o.N, o.Heads * o.HeadDim} }
func (o Rope) Inputs() []int { return []int{o.X} }

// pair is the flat indices of the two elements output i mixes, and its angle's index j.
func (o Rope) pair(i int) (x1, x2, j int, second bool) {
	d := o.Heads * o.HeadDim
	row, col := i/d, i%d
	head, c := col/o.HeadDim, col%o.HeadDim
	half := o.HeadDim / 2
	j = c % half
	base := row*d + head*o.HeadDim
	return base + j, base + half + j, j, c >= half
}

// ropeLog10000 is ln 10000, by the deterministic Log.
var ropeLog10000 = Log(10000)

func (o Rope) At(r Reader, i int) (float64, error) {
	i1, i2, j, second := o.pair(i)
	x1, err := r(Ref{o.X, i1})
	if err != nil {
		return 0, err
	}
	x2, err := r(Ref{o.X, i2})
	if err != nil {
		return 0, err
	}
	sin, cos := o.angle(i, j)
	if second {
		return mul(x1, sin) + mul(x2, cos), nil
	}
	return mul(x1, cos) - mul(x2, sin), nil
}

// angle is sin and cos of output i's rotation, j its pair's index in the head's half.
func (o Rope) angle(i, j int) (sin, cos float64) {
	pos := float64((i / (o.Heads * o.HeadDim)) % o.N)
	theta := Exp(mul(-2*float64(j)/float64(o.HeadDim), ropeLog10000))
	return SinCos(mul(pos, theta))
}

func (o Rope) Encode() []byte {
	return encoder(nil).str("rope").ints(o.X, o.B, o.N, o.Heads, o.HeadDim)
}

// Scores are the attention logits S[b, h, q, k] = Σ_j Q[b·N+q, h·hd+j]·K[b·N+k, h·hd+j] / √hd,
// of dims [B, Heads, N, N].
type Scores struct {
	Q, K                 int
	B, N, Heads, HeadDim int
}

func (o Scores) Dims() []int   { return []int{o.B, o.Heads, o.N, o.N} }
func (o Scores) Inputs() []int { return []int{o.Q, o.K} }

func (o Scores) at(i int) (qBase, kBase int) {
	n, d := o.N, o.Heads*o.HeadDim
	k := i % n
	q := (i / n) % n
	h := (i / (n * n)) % o.Heads
	b := i / (n * n * o.Heads)
	return (b*n+q)*d + h*o.HeadDim, (b*n+k)*d + h*o.HeadDim
}

func (o Scores) At(r Reader, i int) (float64, error) {
	qb, kb := o.at(i)
	var sum float64
	for j := range o.HeadDim {
		q, err := r(Ref{o.Q, qb + j})
		if err != nil {
			return 0, err
		}
		k, err := r(Ref{o.K, kb + j})
		if err != nil {
			return 0, err
		}
		sum += mul(q, k)
	}
	return mul(sum, 1/math.Sqrt(float64(o.HeadDim))), nil
}

func (o Scores) Encode() []byte {
	return encoder(nil).str("scores").ints(o.Q, o.K, o.B, o.N, o.Heads, o.HeadDim)
}

// CausalSoftmax is the softmax of each row of S [Rows, N] over the keys k ≤ q, q the row's
// query position (row mod N); keys after it get 0 (the engine's causal mask of −10⁹).
type CausalSoftmax struct {
	S       int
	Rows, N int
}

func (o CausalSoftmax) Dims() []int   { return []int{o.Rows, o.N} }
func (o CausalSoftmax) Inputs() []int { return []int{o.S} }

func (o CausalSoftmax) At(r Reader, i int) (float64, error) {
	row, k := i/o.N, i%o.N
	q := row % o.N
	if k > q {
		return 0, nil
	}
	s := make([]float64, q+1)
	hi := math.Inf(-1)
	for j := range s {
		v, err := r(Ref{o.S, row*o.N + j})
		if err != nil {
			return 0, err
		}
		s[j], hi = v, max(hi, v)
	}
	var sum float64
	for _, v := range s {
		sum += Exp(v - hi)
	}
	return Exp(s[k]-hi) / sum, nil
}

func (o CausalSoftmax) Encode() []byte {
	return encoder(nil).str("causal_softmax").ints(o.S, o.Rows, o.N)
}

// HeadMix mixes, for each head, rows of a [B, Heads, N, N] tensor P with the positions of a
// head-transposed tensor XT [B·Heads·HeadDim, N] (HeadTranspose): out[b·N+q, h·hd+j] = Scale·
// Σ_k P[b, h, q, k]·XT[b, h, j, k] over k ≤ q (Causal) or k ≥ q, both reads contiguous. It is
// the attention's output (P the probabilities, XT the values), the gradient of the queries (P
// the scores' gradient, XT the keys, Scale 1/√hd), and with P transposed (BatchTranspose) and
// k ≥ q, the gradients of the values and of the keys.
type HeadMix struct {
	P, XT                int
	Causal               bool
	Scale                float64
	B, N, Heads, HeadDim int
}

func (o HeadMix) Dims() []int   { return []int{o.B * o.N, o.Heads * o.HeadDim} }
func (o HeadMix) Inputs() []int { return []int{o.P, o.XT} }
func (o HeadMix) Encode() []byte {
	return encoder(nil).str("head_mix").ints(o.P, o.XT, boolInt(o.Causal), o.B, o.N, o.Heads, o.HeadDim).float(o.Scale)
}

func (o HeadMix) At(r Reader, i int) (float64, error) {
	d := o.Heads * o.HeadDim
	row, col := i/d, i%d
	b, q := row/o.N, row%o.N
	h, j := col/o.HeadDim, col%o.HeadDim
	pRow := ((b*o.Heads+h)*o.N + q) * o.N
	xRow := ((b*o.Heads+h)*o.HeadDim + j) * o.N
	lo, hi := q, o.N-1
	if o.Causal {
		lo, hi = 0, q
	}
	var sum float64
	for k := lo; k <= hi; k++ {
		p, err := r(Ref{o.P, pRow + k})
		if err != nil {
			return 0, err
		}
		x, err := r(Ref{o.XT, xRow + k})
		if err != nil {
			return 0, err
		}
		sum += mul(p, x)
	}
	return mul(sum, o.Scale), nil
}

// Transpose is X [R, C] transposed: out[c, r] = X[r, c].
type Transpose struct{ X, R, C int }

func (o Transpose) Dims() []int    { return []int{o.C, o.R} }
func (o Transpose) Inputs() []int  { return []int{o.X} }
func (o Transpose) Encode() []byte { return encoder(nil).str("transpose").ints(o.X, o.R, o.C) }
func (o Transpose) At(r Reader, i int) (float64, error) {
	return r(Ref{o.X, (i%o.R)*o.C + i/o.R})
}

// BatchTranspose transposes each of Batches matrices [R, C] of X: out[t, c, r] = X[t, r, c].
type BatchTranspose struct{ X, Batches, R, C int }

func (o BatchTranspose) Dims() []int   { return []int{o.Batches * o.C, o.R} }
func (o BatchTranspose) Inputs() []int { return []int{o.X} }
func (o BatchTranspose) Encode() []byte {
	return encoder(nil).str("batch_transpose").ints(o.X, o.Batches, o.R, o.C)
}

func (o BatchTranspose) At(r Reader, i int) (float64, error) {
	t, rest := i/(o.R*o.C), i%(o.R*o.C)
	c, row := rest/o.R, rest%o.R
	return r(Ref{o.X, t*o.R*o.C + row*o.C + c})
}

// HeadTranspose lays each head of X [B·N, Heads·HeadDim] out by position: out[b, h, j, pos] =
// X[b·N+pos, h·hd+j], of dims [B·Heads·HeadDim, N].
type HeadTranspose struct{ X, B, N, Heads, HeadDim int }

func (o HeadTranspose) Dims() []int   { return []int{o.B * o.Heads * o.HeadDim, o.N} }
func (o HeadTranspose) Inputs() []int { return []int{o.X} }
func (o HeadTranspose) Encode() []byte {
	return encoder(nil).str("head_transpose").ints(o.X, o.B, o.N, o.Heads, o.HeadDim)
}

func (o HeadTranspose) At(r Reader, i int) (float64, error) {
	pos, rest := i%o.N, i/o.N
	j, rest := rest%o.HeadDim, rest/o.HeadDim
	h, b := rest%o.Heads, rest/o.Heads
	return r(Ref{o.X, (b*o.N+pos)*o.Heads*o.HeadDim + h*o.HeadDim + j})
}

// SwiGLU is gate·σ(gate)·up, elementwise.
type SwiGLU struct {
	Gate, Up int
	Of       []int
}

func (o SwiGLU) Dims() []int    { return o.Of }
func (o SwiGLU) Inputs() []int  { return []int{o.Gate, o.Up} }
func (o SwiGLU) Encode() []byte { return encoder(nil).str("swiglu").ints(o.Gate, o.Up).ints(o.Of...) }
func (o SwiGLU) At(r Reader, i int) (float64, error) {
	g, u, err := two(r, Ref{o.Gate, i}, Ref{o.Up, i})
	return mul(mul(g, Sigmoid(g)), u), err
}

// Sub is out = A − B, elementwise, both of Dims.
type Sub struct {
	A, B int
	Of   []int
}

func (o Sub) Dims() []int    { return o.Of }
func (o Sub) Inputs() []int  { return []int{o.A, o.B} }
func (o Sub) Encode() []byte { return encoder(nil).str("sub").ints(o.A, o.B).ints(o.Of...) }
func (o Sub) At(r Reader, i int) (float64, error) {
	a, b, err := two(r, Ref{o.A, i}, Ref{o.B, i})
	return a - b, err
}

// tokenID reads row's token id from ids (one value, a whole number below n).
func tokenID(r Reader, ids, row, n int) (int, error) {
	v, err := r(Ref{ids, row})
	if err != nil {
		return 0, err
	}
	if v != math.Trunc(v) || v < 0 || v >= float64(n) {
		return 0, fmt.Errorf("stageprog: token id %v at row %d is not one of %d", v, row, n)
	}
	return int(v), nil
}

// Gather is an embedding lookup: out[r, c] = Table[IDs[r], c], Table of [TableRows, Width],
// IDs one token id a row.
type Gather struct {
	Table, IDs             int
	Rows, TableRows, Width int
}

func (o Gather) Dims() []int   { return []int{o.Rows, o.Width} }
func (o Gather) Inputs() []int { return []int{o.Table, o.IDs} }
func (o Gather) Encode() []byte {
	return encoder(nil).str("gather").ints(o.Table, o.IDs, o.Rows, o.TableRows, o.Width)
}

func (o Gather) At(r Reader, i int) (float64, error) {
	id, err := tokenID(r, o.IDs, i/o.Width, o.TableRows)
	if err != nil {
		return 0, err
	}
	return r(Ref{o.Table, id*o.Width + i%o.Width})
}

// ScatterAdd is Gather's gradient: out[v, c] = Σ_{r: IDs[r] = v} Src[r, c], of dims [Rows,
// Width], summed in r order, from the source transposed: SrcT [Width, SrcRows] (so a value's
// reads lie in one row).
type ScatterAdd struct {
	SrcT, IDs            int
	SrcRows, Rows, Width int
}

func (o ScatterAdd) Dims() []int   { return []int{o.Rows, o.Width} }
func (o ScatterAdd) Inputs() []int { return []int{o.SrcT, o.IDs} }
func (o ScatterAdd) Encode() []byte {
	return encoder(nil).str("scatter_add").ints(o.SrcT, o.IDs, o.SrcRows, o.Rows, o.Width)
}

func (o ScatterAdd) At(r Reader, i int) (float64, error) {
	v, c := i/o.Width, i%o.Width
	var sum float64
	for row := range o.SrcRows {
		id, err := tokenID(r, o.IDs, row, o.Rows)
		if err != nil {
			return 0, err
		}
		if id != v {
			continue
		}
		x, err := r(Ref{o.SrcT, c*o.SrcRows + row})
		if err != nil {
			return 0, err
		}
		sum += x
	}
	return sum, nil
}

// CrossEntropyBack is the gradient of the mean cross-entropy of Logits [Rows, V] against the
// targets (one token id a row): (softmax(row) − onehot(target))/Rows.
type CrossEntropyBack struct {
	Logits, Targets int
	Rows, V         int
}

func (o CrossEntropyBack) Dims() []int   { return []int{o.Rows, o.V} }
func (o CrossEntropyBack) Inputs() []int { return []int{o.Logits, o.Targets} }
func (o CrossEntropyBack) Encode() []byte {
	return encoder(nil).str("cross_entropy_back").ints(o.Logits, o.Targets, o.Rows, o.V)
}

func (o CrossEntropyBack) At(r Reader, i int) (float64, error) {
	row, k := i/o.V, i%o.V
	target, err := tokenID(r, o.Targets, row, o.V)
	if err != nil {
		return 0, err
	}
	z := make([]float64, o.V)
	hi := math.Inf(-1)
	for v := range z {
		if z[v], err = r(Ref{o.Logits, row*o.V + v}); err != nil {
			return 0, err
		}
		hi = max(hi, z[v])
	}
	var sum float64
	for _, v := range z {
		sum += Exp(v - hi)
	}
	p := Exp(z[k]-hi) / sum
	if target == k {
		p--
	}
	return p / float64(o.Rows), nil
}
