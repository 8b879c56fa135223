package engine

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// The tap of a backward pass is the first block's query projection: W is the query weights
// before the update, and DY = ∂obj/∂Q, so Xᵀ·DY must equal the gradient of those weights; the
// update itself is the one Backward makes.
func TestBackwardTapIsTheQueryProjection(t *testing.T) {
	s := tinySpec()
	o := Options{DType: dtypes.Float64}
	tapped, plain := newStages(t, s, o), newStages(t, s, o)
	text := "the quick brown fox jumps over the lazy dog"
	in := ids(text, 0, batch, seq)
	mid, err := tapped[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	dOut := tensors.FromFlatDataAndDimensions(func() []float64 {
		v := make([]float64, batch*seq*s.BoundaryWidth())
		for i := range v {
			v[i] = math.Sin(float64(i))
		}
		return v
	}(), batch, seq, s.BoundaryWidth())

	// The gradient of the first block's query weights, before any update.
	_, _, grads, err := tapped[1].Gradients(mid, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	var gWq []float64
	var wqBefore []float64
	for i, p := range tapped[1].Params() {
		if p.Name() == "wq" {
			gWq = flat64(t, grads[i])
			wqBefore = flat64(t, p.MustValue())
			break
		}
	}
	if gWq == nil {
		t.Fatal("no wq parameter")
	}

	dIn, tap, err := tapped[1].BackwardTap(mid, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain[1].Backward(mid, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := flat64(t, dIn), flat64(t, want); !close64(a, b, 1e-12) {
		t.Fatal("BackwardTap's input gradient differs from Backward's")
	}
	for i, p := range tapped[1].Params() {
		if !close64(flat64(t, p.MustValue()), flat64(t, plain[1].Params()[i].MustValue()), 1e-12) {
			t.Fatalf("parameter %s updated differently", p.Name())
		}
	}
	d := s.DModel
	if tap.Rows != batch*seq || tap.D != d || len(tap.X) != tap.Rows*d || len(tap.G) != d || len(tap.W) != d*d || len(tap.DY) != tap.Rows*d {
		t.Fatalf("tap of %d rows, width %d, lengths %d/%d/%d/%d", tap.Rows, tap.D, len(tap.X), len(tap.G), len(tap.W), len(tap.DY))
	}
	// X̂ is normalized: every row's mean square is 1 (up to the 1e-6 in the norm).
	for r := range tap.Rows {
		var ms float64
		for _, v := range tap.X[r*d : (r+1)*d] {
			ms += float64(v) * float64(v)
		}
		if ms /= float64(d); math.Abs(ms-1) > 1e-3 {
			t.Fatalf("row %d of X̂ has mean square %v", r, ms)
		}
	}
	for i, w := range tap.W {
		if math.Abs(float64(w)-wqBefore[i]) > 1e-6 {
			t.Fatalf("tapped W[%d] = %v, query weights before the update %v", i, w, wqBefore[i])
		}
	}
	// (X̂ ⊙ G)ᵀ·DY = ∂obj/∂W.
	for k := range d {
		for j := range d {
			var sum float64
			for r := range tap.Rows {
				sum += float64(tap.X[r*d+k]) * float64(tap.G[k]) * float64(tap.DY[r*d+j])
			}
			if g := gWq[k*d+j]; math.Abs(sum-g) > 1e-4*(1+math.Abs(g)) {
				t.Fatalf("((X̂⊙G)ᵀ·DY)[%d,%d] = %v, gradient of wq %v", k, j, sum, g)
			}
		}
	}
}

func close64(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*(1+math.Abs(b[i])) {
			return false
		}
	}
	return true
}
