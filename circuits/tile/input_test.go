package tile

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
)

// boundary is a model's pipeline boundary in float64, as the trainer derives
// it from the seed: U (d×k, orthonormal columns) and T_fixed (vocab×d).
type boundary struct {
	d, k, vocab int
	u, tFixed   []float64
}

// newBoundary draws U by Gram–Schmidt on Gaussian columns and T_fixed with
// entries of standard deviation sd.
func newBoundary(rng *rand.Rand, d, k, vocab int, sd float64) *boundary {
	b := &boundary{d: d, k: k, vocab: vocab, u: make([]float64, d*k), tFixed: make([]float64, vocab*d)}
	for i := range k {
		col := make([]float64, d)
		for j := range col {
			col[j] = rng.NormFloat64()
		}
		for p := range i { // remove the components along the earlier columns
			var dot float64
			for j := range d {
				dot += col[j] * b.u[j*k+p]
			}
			for j := range d {
				col[j] -= dot * b.u[j*k+p]
			}
		}
		var norm float64
		for _, x := range col {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for j := range d {
			b.u[j*k+i] = col[j] / norm
		}
	}
	for i := range b.tFixed {
		b.tFixed[i] = rng.NormFloat64() * sd
	}
	return b
}

func (b *boundary) tables(t testing.TB) *Tables {
	t.Helper()
	tb, err := NewTables(b.u, b.tFixed, b.d, b.k, b.vocab)
	require.NoError(t, err)
	return tb
}

// v is T_fixed[id] + C·Uᵀ in float64, from the unquantized tables.
func (b *boundary) v(id int, c []float32) []float64 {
	v := make([]float64, b.d)
	for j := range b.d {
		v[j] = b.tFixed[id*b.d+j]
		for i := range b.k {
			v[j] += float64(c[i]) * b.u[j*b.k+i]
		}
	}
	return v
}

// xhat is the float reference v / √(mean(v²) + 1e-6).
func xhat(v []float64) []float64 {
	var ms float64
	for _, x := range v {
		ms += x * x
	}
	inv := 1 / math.Sqrt(ms/float64(len(v))+1e-6)
	out := make([]float64, len(v))
	for j, x := range v {
		out[j] = x * inv
	}
	return out
}

func coords(rng *rand.Rand, k int, sd float64) []float32 {
	c := make([]float32, k)
	for i := range c {
		c[i] = float32(rng.NormFloat64() * sd)
	}
	return c
}

// TestInputRowMatchesFloat checks the exact integer function against the
// float definition of x̂ it stands for: within 2 ULP of 2^-8 everywhere, and
// the ‖v‖² it gets from P (without U) agrees with Σ v_j² of the rebuilt v.
func TestInputRowMatchesFloat(t *testing.T) {
	for _, tc := range []struct {
		d, k, vocab int
		sd, csd     float64
	}{{16, 4, 8, 1, 1}, {128, 8, 16, 0.5, 4}, {256, 20, 4, 0.05, 0.02}, {64, 4, 4, 0.01, 0.005}} {
		rng := rand.New(rand.NewPCG(uint64(tc.d), uint64(tc.k)))
		b := newBoundary(rng, tc.d, tc.k, tc.vocab, tc.sd)
		tb := b.tables(t)
		var worst float64
		for id := range tc.vocab {
			cf := coords(rng, tc.k, tc.csd)
			c, err := QuantizeCoordinates(cf)
			require.NoError(t, err)
			got, err := tb.InputRow(id, c)
			require.NoError(t, err)
			want := xhat(b.v(id, cf))
			for j := range got {
				diff := math.Abs(float64(got[j])/256 - want[j])
				worst = max(worst, diff*256)
				require.LessOrEqual(t, diff, 2.0/256, "d=%d token %d: X̂[%d] = %d/256, float %v", tc.d, id, j, got[j], want[j])
			}

			// S from the T and P rows against Σ v_j² of the quantized v.
			ext, err := tb.TextRow(id)
			require.NoError(t, err)
			n, err := newRowNorm(ext[:tc.d], ext[tc.d:], c)
			require.NoError(t, err)
			var direct float64
			for j := range tc.d {
				u, err := tb.URow(j)
				require.NoError(t, err)
				vj := float64(ext[j]) / (1 << 16)
				for i := range tc.k {
					vj += float64(c[i]) * float64(u[i]) / (1 << 32)
				}
				direct += vj * vj
			}
			s, _ := new(big.Float).SetInt(n.s.big()).Float64()
			s /= 1 << 32
			require.InDelta(t, direct, s, 1e-4*direct+float64(tc.d)*1e-9, "d=%d token %d: S", tc.d, id)
		}
		t.Logf("d=%d k=%d: worst |X̂ − x̂| = %.3f ULP", tc.d, tc.k, worst)
	}
}

// TestInputRowDefinition recomputes one row from the formula with math/big,
// independently of int128 and the helpers.
func TestInputRowDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	b := newBoundary(rng, 32, 5, 3, 2)
	tb := b.tables(t)
	for id := range 3 {
		// Large coordinates too, to reach well past int64 in S.
		c := []int64{1<<31 - 1, -1 << 31, 12345, -7, 0}
		if id > 0 {
			c, _ = QuantizeCoordinates(coords(rng, 5, 3))
		}
		got, err := tb.InputRow(id, c)
		require.NoError(t, err)
		ext, _ := tb.TextRow(id)
		bi := func(x int64) *big.Int { return big.NewInt(x) }
		s := new(big.Int)
		for j := range 32 {
			s.Add(s, new(big.Int).Mul(bi(ext[j]), bi(ext[j])))
		}
		for i := range 5 {
			s.Add(s, new(big.Int).Mul(bi(2*c[i]), bi(ext[32+i])))
			s.Add(s, new(big.Int).Mul(bi(c[i]), bi(c[i])))
		}
		m := new(big.Int).Div(s, bi(32))
		m.Add(m, bi(NormEpsilon))
		r := new(big.Int).Sqrt(m)
		den := new(big.Int).Lsh(r, 9)
		for j := range 32 {
			u, _ := tb.URow(j)
			v := new(big.Int).Lsh(bi(ext[j]), 16)
			for i := range 5 {
				v.Add(v, new(big.Int).Mul(bi(c[i]), bi(u[i])))
			}
			num := new(big.Int).Lsh(v, 1)
			num.Add(num, new(big.Int).Lsh(r, 8))
			want := new(big.Int).Div(num, den) // Euclidean: floor for den > 0
			require.Equal(t, want.Int64(), got[j], "token %d, X̂[%d]", id, j)
		}
	}
}

func TestInputRowRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tb := newBoundary(rng, 16, 4, 8, 1).tables(t)
	c := []int64{1, 2, 3, 4}
	_, err := tb.InputRow(8, c)
	require.ErrorContains(t, err, "token id 8 outside")
	_, err = tb.InputRow(-1, c)
	require.ErrorContains(t, err, "token id -1 outside")
	_, err = tb.InputRow(0, c[:3])
	require.ErrorContains(t, err, "3 boundary coordinates")
	_, err = tb.InputRow(0, []int64{0, 0, 1 << 31, 0})
	require.ErrorContains(t, err, "c[2]")

	// A single spike in a wide row: x̂ = √d = 181 > 128 does not fit X̂.
	const d = 1 << 15
	u, tf := make([]float64, d), make([]float64, d)
	u[0], tf[d-1] = 1, 0.5
	wide, err := NewTables(u, tf, d, 1, 1)
	require.NoError(t, err)
	_, err = wide.InputRow(0, []int64{0})
	require.ErrorContains(t, err, "X̂[32767]")
	require.ErrorContains(t, err, "outside the 16-bit range")

	// S < 0 only with a P row that is not T_fixed·U (tables built here
	// cannot have one).
	_, err = newRowNorm([]int64{1, 1}, []int64{-1 << 22}, []int64{1 << 20})
	require.ErrorContains(t, err, "negative")
}

func TestNewTablesRefuses(t *testing.T) {
	b := newBoundary(rand.New(rand.NewPCG(25, 26)), 8, 2, 4, 1)
	for name, tc := range map[string]struct {
		u, tf       []float64
		d, k, vocab int
		want        string
	}{
		"k = d":           {b.u, b.tFixed, 8, 8, 4, "k must be below d"},
		"zero vocabulary": {b.u, b.tFixed, 8, 2, 0, "must be positive"},
		"short U":         {b.u[1:], b.tFixed, 8, 2, 4, "U has 15 values"},
		"short T":         {b.u, b.tFixed[1:], 8, 2, 4, "T_fixed has 31 values"},
		"wide d":          {b.u, b.tFixed, 1<<20 + 1, 2, 4, "above 2^20"},
	} {
		_, err := NewTables(tc.u, tc.tf, tc.d, tc.k, tc.vocab)
		require.ErrorContains(t, err, tc.want, name)
	}
	tf := append([]float64(nil), b.tFixed...)
	tf[13] = 128
	_, err := NewTables(b.u, tf, 8, 2, 4)
	require.ErrorContains(t, err, "value[13]")
	tf[13] = math.NaN()
	_, err = NewTables(b.u, tf, 8, 2, 4)
	require.ErrorContains(t, err, "not finite")
	// P = T_fixed·U out of range while T_fixed is in range: token 1's row is
	// 200 times U's first column, whose entries are small at d = 64.
	wide := newBoundary(rand.New(rand.NewPCG(25, 27)), 64, 2, 2, 1)
	tf = make([]float64, 2*64)
	for j := range 64 {
		tf[64+j] = 200 * wide.u[j*2]
		require.Less(t, math.Abs(tf[64+j]), 128.0)
	}
	_, err = NewTables(wide.u, tf, 64, 2, 2)
	require.ErrorContains(t, err, "row of token 1")
}

// TestTablesRoot checks the subspace root is a pure function of the tables
// and the accessors.
func TestTablesRoot(t *testing.T) {
	b := newBoundary(rand.New(rand.NewPCG(27, 28)), 16, 4, 8, 1)
	tb := b.tables(t)
	require.Equal(t, tb.Root(), b.tables(t).Root(), "deterministic")
	require.Equal(t, 16, tb.D())
	require.Equal(t, 4, tb.K())
	require.Equal(t, 8, tb.Vocab())
	e := subspaceRoot(tb.uCom.Root(), tb.tCom.Root())
	require.Equal(t, e.Bytes(), tb.Root())
	u, err := tb.URow(15)
	require.NoError(t, err)
	require.Len(t, u, 4)
	require.Equal(t, int64(math.RoundToEven(b.u[15*4+3]*65536)), u[3])
	row, err := tb.TextRow(7)
	require.NoError(t, err)
	require.Len(t, row, 20)
	_, err = tb.URow(16)
	require.Error(t, err)
	_, err = tb.TextRow(8)
	require.Error(t, err)

	changed := *b
	changed.u = append([]float64(nil), b.u...)
	changed.u[5] += 1.0 / 65536
	require.NotEqual(t, tb.Root(), changed.tables(t).Root())
	changed.u = b.u
	changed.tFixed = append([]float64(nil), b.tFixed...)
	changed.tFixed[0] += 1.0 / 65536
	require.NotEqual(t, tb.Root(), changed.tables(t).Root())
}

func TestQuantizeCoordinates(t *testing.T) {
	c, err := QuantizeCoordinates([]float32{0, 1, -1.5, 0.5 / 65536, 1.5 / 65536, 32767})
	require.NoError(t, err)
	require.Equal(t, []int64{0, 65536, -98304, 0, 2, 32767 << 16}, c)
	_, err = QuantizeCoordinates([]float32{0, 32768})
	require.ErrorContains(t, err, "value[1]")
	_, err = QuantizeCoordinates([]float32{float32(math.Inf(-1))})
	require.ErrorContains(t, err, "value[0]")
}

func TestInputDigest(t *testing.T) {
	d := InputDigest(3, []int64{1, -2, 3})
	require.Equal(t, d, InputDigest(3, []int64{1, -2, 3}))
	require.NotEqual(t, d, InputDigest(4, []int64{1, -2, 3}))
	require.NotEqual(t, d, InputDigest(3, []int64{1, 2, 3}))
	require.NotEqual(t, d, InputDigest(3, []int64{1, -2, 3, 0}))
	_, err := commit.ParseRoot(d[:])
	require.NoError(t, err, "canonical")
}

// TestInt128 checks the 128-bit helpers against math/big.
func TestInt128(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	edge := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 40, -(1 << 40)}
	pick := func() int64 {
		if rng.IntN(4) == 0 {
			return edge[rng.IntN(len(edge))]
		}
		return int64(rng.Uint64()) >> rng.IntN(63)
	}
	for range 20000 {
		a, b, c := pick(), pick(), pick()
		x := mul64(a, b).sub(from64(c)).add(from64(c >> 1)) // |x| ≤ 2^126 + 2^63
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		want.Sub(want, big.NewInt(c))
		want.Add(want, big.NewInt(c>>1))
		require.Equal(t, want.String(), x.big().String())
		d := uint64(pick())&(1<<50-1) | 1
		q, r := x.divFloor(d)
		wq, wr := new(big.Int).DivMod(want, new(big.Int).SetUint64(d), new(big.Int)) // Euclidean = floor for d > 0
		require.Equal(t, wq.String(), q.big().String(), "%s / %d", want, d)
		require.Equal(t, wr.Uint64(), r)
		v, ok := x.int64()
		require.Equal(t, want.IsInt64(), ok)
		if ok {
			require.Equal(t, want.Int64(), v)
		}
	}
}
