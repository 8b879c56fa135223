package subspace

import (
	"math"
	"testing"
)

// TestNormal: the deterministic draws are standard Gaussians (moments and tails of 200,000).
func TestNormal(t *testing.T) {
	n := &normal{rng: seededRNG(1, "test")}
	const count = 200_000
	var sum, sq, quart float64
	beyond := 0
	for range count {
		x := n.next()
		sum += x
		sq += x * x
		quart += x * x * x * x
		if math.Abs(x) > 3 {
			beyond++
		}
	}
	mean, variance, kurt := sum/count, sq/count, quart/count
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.02 || math.Abs(kurt-3) > 0.1 {
		t.Errorf("mean %.4f, variance %.4f, fourth moment %.3f: want 0, 1, 3", mean, variance, kurt)
	}
	// P(|x| > 3) = 0.0027.
	if got := float64(beyond) / count; got < 0.0020 || got > 0.0034 {
		t.Errorf("%.4f of the draws beyond 3σ, want 0.0027", got)
	}
}

// TestBasisOrthonormal: U's columns are orthonormal, one seed gives the same bits every time,
// another seed another U.
func TestBasisOrthonormal(t *testing.T) {
	for _, c := range []struct{ d, k int }{{16, 4}, {64, 2}, {128, 20}, {7, 6}} {
		u := Basis(7, c.d, c.k)
		worst := 0.0
		for i := range c.k {
			for j := range c.k {
				dot := 0.0
				for r := range c.d {
					dot += u[r*c.k+i] * u[r*c.k+j]
				}
				if i == j {
					dot--
				}
				worst = math.Max(worst, math.Abs(dot))
			}
		}
		t.Logf("d %d k %d: max |UᵀU − I| = %.3g", c.d, c.k, worst)
		if worst > 1e-13 {
			t.Errorf("d %d k %d: max |UᵀU − I| = %g", c.d, c.k, worst)
		}
	}
	a, b := Basis(7, 16, 4), Basis(7, 16, 4)
	c := Basis(8, 16, 4)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("U[%d] differs between two runs: %v vs %v", i, a[i], b[i])
		}
	}
	if a[0] == c[0] {
		t.Fatal("seeds 7 and 8 gave the same U")
	}
}
