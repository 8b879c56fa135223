package commit

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

func TestPackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, b := range []int{2, 8, 12, 16, 17, 31, 32} {
		p := Params{ValueBits: b, FracBits: 0, ChunkLen: 1}
		lo, hi := -p.bias(), p.bias()-1
		per := p.PerElement()
		for _, n := range []int{1, per - 1, per, per + 1, 3*per + 2} {
			if n < 1 {
				continue
			}
			cases := map[string][]int64{"min": fill(n, lo), "max": fill(n, hi), "zero": fill(n, 0), "random": make([]int64, n)}
			for i := range cases["random"] {
				cases["random"][i] = lo + rng.Int64N(hi-lo+1)
			}
			for name, vals := range cases {
				elems, err := p.Pack(vals)
				require.NoError(t, err)
				require.Len(t, elems, p.PackedLen(n))
				got, err := p.Unpack(elems, n)
				require.NoError(t, err, "B=%d n=%d %s", b, n, name)
				require.Equal(t, vals, got, "B=%d n=%d %s", b, n, name)
			}
		}
	}
}

func TestPackLayout(t *testing.T) {
	// Value j sits at bits [16j, 16j+16) after biasing by 2^15.
	p := DefaultParams()
	elems, err := p.Pack([]int64{-32768, 0, 32767, 1})
	require.NoError(t, err)
	want := new(big.Int)
	for j, u := range []int64{0, 32768, 65535, 32769} {
		want.Add(want, new(big.Int).Lsh(big.NewInt(u), uint(16*j)))
	}
	var got big.Int
	elems[0].BigInt(&got)
	require.Equal(t, want, &got)

	// All-max 15 values use 240 bits: below the modulus.
	elems, err = p.Pack(fill(15, 32767))
	require.NoError(t, err)
	elems[0].BigInt(&got)
	require.Equal(t, 240, got.BitLen())
}

func TestPackRejectsOutOfRange(t *testing.T) {
	p := DefaultParams()
	for _, v := range []int64{32768, -32769, 1 << 40} {
		_, err := p.Pack([]int64{0, v})
		require.Error(t, err)
		require.Contains(t, err.Error(), "value[1]")
	}
}

func TestUnpackRejectsForeignElements(t *testing.T) {
	p := DefaultParams()
	var e fr.Element
	e.SetInt64(-1) // r-1: bits far above 2 values
	_, err := p.Unpack([]fr.Element{e}, 2)
	require.Error(t, err)
	_, err = p.Unpack([]fr.Element{e, e}, 2)
	require.Error(t, err)
}

func fill(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
