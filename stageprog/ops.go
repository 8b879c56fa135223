package stageprog

import "math"

// MatMul is out[i, j] = Σ_k A[i, k]·B[k, j] (B[j, k] when TransB), A of M×K, B of K×N
// (N×K), summed in k order.
type MatMul struct {
	A, B    int
	M, K, N int
	TransB  bool
}

func (o MatMul) Dims() []int   { return []int{o.M, o.N} }
func (o MatMul) Inputs() []int { return []int{o.A, o.B} }

func (o MatMul) b(k, j int) int {
	if o.TransB {
		return j*o.K + k
	}
	return k*o.N + j
}

func (o MatMul) Reads(i int) []Ref {
	row, col := i/o.N, i%o.N
	refs := make([]Ref, 0, 2*o.K)
	for k := range o.K {
		refs = append(refs, Ref{o.A, row*o.K + k}, Ref{o.B, o.b(k, col)})
	}
	return refs
}

func (o MatMul) At(r Reader, i int) (float64, error) {
	row, col := i/o.N, i%o.N
	var sum float64
	for k := range o.K {
		a, err := r(Ref{o.A, row*o.K + k})
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
	t := 0
	if o.TransB {
		t = 1
	}
	return encoder(nil).str("matmul").ints(o.A, o.B, o.M, o.K, o.N, t)
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

func (o RMSNorm) Reads(i int) []Ref {
	row, col := i/o.D, i%o.D
	refs := make([]Ref, 0, o.D+1)
	for d := range o.D {
		refs = append(refs, Ref{o.X, row*o.D + d})
	}
	return append(refs, Ref{o.G, col})
}

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

func (o Add) Dims() []int       { return o.Of }
func (o Add) Inputs() []int     { return []int{o.A, o.B} }
func (o Add) Reads(i int) []Ref { return []Ref{{o.A, i}, {o.B, i}} }
func (o Add) Encode() []byte    { return encoder(nil).str("add").ints(o.A, o.B).ints(o.Of...) }
func (o Add) At(r Reader, i int) (float64, error) {
	a, err := r(Ref{o.A, i})
	if err != nil {
		return 0, err
	}
	b, err := r(Ref{o.B, i})
	if err != nil {
		return 0, err
	}
	return a + b, nil
}
