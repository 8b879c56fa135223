// Package subspace derives a compressed model's public tables from its seed alone
// (docs/ALGORITHMS.md, "Subspace compression between stages"): the basis U that boundaries are
// kept in and the fixed token table T_fixed. Every replica of every stage, the circuits' tables
// (circuits/tile) and the chain at a dispute's leaf (x/verify) compute the same values from the
// model's seed, so neither is ever sent. It links no more than the standard library and
// stageprog's deterministic math.
package subspace

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/protolearn/protolearn/stageprog"
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
// (the Gaussian draws use stageprog's deterministic Log and SinCos, not package math's, which
// has assembly on some architectures): the chain judges a dispute's values from them.
func Basis(seed uint64, d, k int) []float64 {
	nrm := &normal{rng: seededRNG(seed, "subspace:U")}
	a := make([]float64, d*k)
	for i := range a {
		a[i] = nrm.next()
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
	nrm := &normal{rng: seededRNG(seed, "subspace:T_fixed")}
	t := make([]float64, vocab*d)
	for i := range t {
		t[i] = nrm.next()
	}
	return t
}

// normal draws standard Gaussians by the Box–Muller transform, two at a time, with the
// deterministic Log and SinCos of package stageprog and explicitly rounded products, so that
// every platform draws the same bits (math/rand's NormFloat64 calls math.Log and math.Exp,
// which differ in the last bit between architectures).
type normal struct {
	rng   *rand.Rand
	spare float64
	held  bool
}

func (n *normal) next() float64 {
	if n.held {
		n.held = false
		return n.spare
	}
	const ulp = 1.0 / (1 << 53)
	u1 := float64(n.rng.Uint64()>>11+1) * ulp // (0, 1]: the logarithm is finite
	u2 := float64(n.rng.Uint64()>>11) * ulp   // [0, 1)
	r := math.Sqrt(float64(-2 * stageprog.Log(u1)))
	sin, cos := stageprog.SinCos(float64(2 * math.Pi * u2))
	n.spare, n.held = float64(r*sin), true
	return float64(r * cos)
}
