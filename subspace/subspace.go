// Package subspace derives a compressed model's public tables from its seed alone
// (docs/ALGORITHMS.md, "Subspace compression between stages"): the basis U that boundaries are
// kept in and the fixed token table T_fixed. Every replica of every stage, the circuits' tables
// (circuits/tile) and the chain at a dispute's leaf (x/verify) compute the same values from the
// model's seed, so neither is ever sent. It imports only the standard library.
package subspace

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// seededRNG is a PCG generator keyed by seed and a name. The names used here
// ("subspace:...") cannot collide with a parameter path ("/layer_000/wq").
func seededRNG(seed uint64, name string) *rand.Rand {
	hash := fnv.New64a()
	_, _ = hash.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, hash.Sum64()))
}

// Basis is U, d×k row-major with orthonormal columns: the Q factor of
// a seeded standard Gaussian d×k matrix (drawn row-major), by modified
// Gram-Schmidt with one re-orthogonalization pass, in float64 on the host.
// Every product is rounded explicitly (float64(a*b)) so that no compiler may
// fuse it into an FMA: the result is the same bits on every architecture
// whose math.Log/Exp agree (NormFloat64 uses them only in its rare tails).
func Basis(seed uint64, d, k int) []float64 {
	rng := seededRNG(seed, "subspace:U")
	a := make([]float64, d*k)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	cols := make([][]float64, k)
	for j := range k {
		v := make([]float64, d)
		for r := range d {
			v[r] = a[r*k+j]
		}
		for range 2 {
			for _, q := range cols[:j] {
				dot := 0.0
				for r := range d {
					dot += float64(q[r] * v[r])
				}
				for r := range d {
					v[r] -= float64(dot * q[r])
				}
			}
		}
		norm := 0.0
		for r := range d {
			norm += float64(v[r] * v[r])
		}
		norm = math.Sqrt(norm)
		for r := range d {
			v[r] /= norm
		}
		cols[j] = v
	}
	u := make([]float64, d*k)
	for r := range d {
		for j := range k {
			u[r*k+j] = cols[j][r]
		}
	}
	return u
}

// TokenTable is T_fixed, vocab×d row-major, standard Gaussian entries
// from the seed: a high-rank token embedding that is never trained.
func TokenTable(seed uint64, vocab, d int) []float64 {
	rng := seededRNG(seed, "subspace:T_fixed")
	t := make([]float64, vocab*d)
	for i := range t {
		t[i] = rng.NormFloat64()
	}
	return t
}
