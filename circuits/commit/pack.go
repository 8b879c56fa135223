package commit

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Packing: value j of a group of PerElement() values is biased to
// u_j = v_j + 2^(B-1) ∈ [0, 2^B) and placed at bits [B·j, B·(j+1)) of the
// element, value 0 in the lowest bits. The last element of a leaf may hold
// fewer values; its unused high bits are zero.

// Pack packs signed B-bit values into field elements. It fails, naming the
// index, on a value outside [-2^(B-1), 2^(B-1)).
func (p Params) Pack(values []int64) ([]fr.Element, error) {
	if err := p.checkRange(values); err != nil {
		return nil, err
	}
	out := make([]fr.Element, p.PackedLen(len(values)))
	packInto(p, out, values)
	return out, nil
}

// Unpack is the inverse of [Params.Pack] for n values. It fails on an element
// that is not a packing of in-range values (bits above the last value).
func (p Params) Unpack(elems []fr.Element, n int) ([]int64, error) {
	if need := p.PackedLen(n); len(elems) != need {
		return nil, fmt.Errorf("unpack: %d values need %d elements, got %d", n, need, len(elems))
	}
	per, b := p.PerElement(), uint(p.ValueBits)
	mask := new(big.Int).Lsh(big.NewInt(1), b)
	mask.Sub(mask, big.NewInt(1))
	out := make([]int64, n)
	var x, u big.Int
	for k := range elems {
		elems[k].BigInt(&x)
		for j := 0; j < per && k*per+j < n; j++ {
			u.And(&x, mask)
			out[k*per+j] = u.Int64() - p.bias()
			x.Rsh(&x, b)
		}
		if x.Sign() != 0 {
			return nil, fmt.Errorf("unpack: element %d has bits beyond its values", k)
		}
	}
	return out, nil
}

func (p Params) checkRange(values []int64) error {
	lo, hi := -p.bias(), p.bias()
	for i, v := range values {
		if v < lo || v >= hi {
			return fmt.Errorf("pack: value[%d] = %d outside the %d-bit range [%d, %d)", i, v, p.ValueBits, lo, hi)
		}
	}
	return nil
}

// packInto packs in-range values into dst (len PackedLen(len(values))). It is
// the hot path of committing: limbs are filled with shifts and converted once
// per element, with no allocation.
func packInto[T int32 | int64](p Params, dst []fr.Element, values []T) {
	per, b := p.PerElement(), uint(p.ValueBits)
	bias := p.bias()
	var buf [fr.Bytes]byte
	for k := range dst {
		var limbs [4]uint64 // little-endian 64-bit limbs of a < 2^253 integer
		base := k * per
		for j := 0; j < per && base+j < len(values); j++ {
			u := uint64(int64(values[base+j]) + bias)
			off := b * uint(j)
			l, sh := off/64, off%64
			limbs[l] |= u << sh
			if sh+b > 64 {
				limbs[l+1] |= u >> (64 - sh)
			}
		}
		for i := range limbs {
			binary.BigEndian.PutUint64(buf[24-8*i:], limbs[i])
		}
		// Below 2^253 < r, so the encoding is canonical and this cannot fail.
		e, err := fr.BigEndian.Element(&buf)
		if err != nil {
			panic(fmt.Sprintf("pack: element %d not canonical: %v", k, err))
		}
		dst[k] = e
	}
}
