package commit

import (
	"fmt"
	"math/bits"
)

// fieldBits is how many low bits of a BN254 scalar can hold packed data without
// wrapping: the modulus is a 254-bit number, so any 253-bit integer is below it
// and the packing map stays injective.
const fieldBits = 253

// Params fixes the number format and the chunking shared by the trainer and the
// circuits. Changing any field changes every root and every circuit.
type Params struct {
	// ValueBits (B) is the width of a quantized value: the signed range is
	// [-2^(B-1), 2^(B-1)). It is also the width of the in-circuit range check
	// that makes the packing sound.
	ValueBits int
	// FracBits (F) is the number of fraction bits: a value v stands for v/2^F.
	FracBits int
	// ChunkLen is the number of consecutive row values in one [RowChunks] leaf,
	// a power of two: the narrowest row block that can be opened.
	ChunkLen int
}

// DefaultParams are the parameters of the layout trial (circuits/README.md): 16-bit
// values with 8 fraction bits cover ±128 at a resolution of 1/256, enough for
// activations and weights of a normalized layer, and pack 15 to an element;
// Y is chunked by 4 so a 4-column block can be challenged.
func DefaultParams() Params {
	return Params{ValueBits: 16, FracBits: 8, ChunkLen: 4}
}

// Validate reports parameters the scheme cannot use.
func (p Params) Validate() error {
	// 32 bits at most keeps quantized values, their products and sums of a few
	// thousand products inside int64 arithmetic in the trainer and the circuits.
	if p.ValueBits < 2 || p.ValueBits > 32 {
		return fmt.Errorf("commit: value bits %d outside [2, 32]", p.ValueBits)
	}
	if p.FracBits < 0 || p.FracBits >= p.ValueBits {
		return fmt.Errorf("commit: fraction bits %d outside [0, %d)", p.FracBits, p.ValueBits)
	}
	if p.ChunkLen < 1 || bits.OnesCount(uint(p.ChunkLen)) != 1 {
		return fmt.Errorf("commit: chunk length %d is not a power of two", p.ChunkLen)
	}
	return nil
}

// PerElement is how many values one field element holds: floor(253/B).
func (p Params) PerElement() int { return fieldBits / p.ValueBits }

// PackedLen is the number of field elements n values pack into.
func (p Params) PackedLen(n int) int {
	per := p.PerElement()
	return (n + per - 1) / per
}

// bias shifts a signed value into [0, 2^B) before packing.
func (p Params) bias() int64 { return int64(1) << (p.ValueBits - 1) }
