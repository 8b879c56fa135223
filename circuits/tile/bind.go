package tile

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Tensor names one of the tensors a step commits. Its number is hashed into
// the tensor's tag, so a root committed as one tensor cannot be opened as
// another.
type Tensor uint8

// The six committed tensors of a step's designated layer Y = X·W, and stage
// 0's embedding.
const (
	TensorX     Tensor = iota + 1 // input X (Rows)
	TensorWCols                   // weights W (Columns): forward and tie tiles
	TensorY                       // output Y (Rows)
	TensorDY                      // output gradient dY (Rows)
	TensorWRows                   // weights W again (Rows): backward and tie tiles
	TensorDX                      // input gradient dX (Rows)
	// TensorE is stage 0's embedding E_small (vocab×k, Rows, [EmbedScheme])
	// as it was before the step's update: the embed tile's coordinates. It
	// is the last number below tensorTagShift, so the tag packing 8·step + t
	// stays injective; an eighth tensor needs a wider shift (a new tag for
	// every root, a protocol upgrade).
	TensorE
)

// A tensor number must stay below tensorTagShift, or two (step, tensor)
// pairs could share a tag; this fails to compile otherwise.
const _ = tensorTagShift - 1 - TensorE

func (t Tensor) String() string {
	switch t {
	case TensorX:
		return "X"
	case TensorWCols:
		return "Wcols"
	case TensorY:
		return "Y"
	case TensorDY:
		return "dY"
	case TensorWRows:
		return "Wrows"
	case TensorDX:
		return "dX"
	case TensorE:
		return "E"
	default:
		return fmt.Sprintf("tensor(%d)", uint8(t))
	}
}

// Tensors are the tensors a tile of this shape opens: s.Kind.Tensors().
func (s Shape) Tensors() (in, w, out Tensor) { return s.Kind.Tensors() }

// Tensors are the tensors a tile of this kind opens, as (input, weights,
// output): forward X, Wcols, Y; backward dY, Wrows, dX; tie Wrows, Wcols and
// no output (0); input and embed X and nothing else (0, 0). The circuit binds
// each root to its tensor, and the chain takes the public roots by this
// table. An input tile's WRoot and OutRoot are no step roots: WRoot is the
// model's subspace root ([Tables.Root]) and OutRoot the digest of the token
// and coordinates the stage received ([InputDigest]), which the chain
// supplies itself. An embed tile's WRoot is the subspace root too, and its
// OutRoot [EmbedDigest] of the step's bound [TensorE] root and the token id:
// computed from a step root, but not the root itself, so not in this table.
func (k Kind) Tensors() (in, w, out Tensor) {
	switch k {
	case Forward:
		return TensorX, TensorWCols, TensorY
	case Backward:
		return TensorDY, TensorWRows, TensorDX
	case Input, Embed:
		return TensorX, 0, 0
	default:
		return TensorWRows, TensorWCols, 0
	}
}

// Binding ties a proof to one challenge of one commitment. Both parts are
// private witnesses; the proof's public input is their hash
// f(Step, Challenge) ([Binding.Public]).
//
//   - Step is the tag of the committed step (in x/verify: chain, model, stage,
//     worker and step), below 2^250 ([commit.HashToField]). Every root of the
//     step is bound to it: the root of tensor t is f(8·Step + t, Merkle root)
//     ([BoundRoot]), and the circuit recomputes that from the opened leaves,
//     so the roots of one step cannot be opened for another step, nor as
//     another tensor. With t ≤ 7 < 8 ([TensorE] the last) and Step < 2^250,
//     8·Step + t < 2^253 is an exact packing of (Step, t), and costs no
//     constraint.
//   - Challenge digests the challenge (attestation, challenge id, kind, row,
//     block), so a proof answers that challenge and no other.
//
// With f collision resistant, a verifying proof for public input f(Step,
// Challenge) shows knowledge of openings of roots bound to exactly that Step,
// for exactly that Challenge: the verifier computes both from its own state.
type Binding struct {
	Step, Challenge fr.Element
}

// Public is the binding's public input, f(Step, Challenge).
func (b Binding) Public() [32]byte {
	e := Scheme().Hash.Compress(&b.Step, &b.Challenge)
	return e.Bytes()
}

// Check reports a step tag of more than [commit.TagBits] bits, for which the
// tensor tags 8·Step + t would not be an injective packing.
func (b Binding) Check() error {
	var bi big.Int
	if b.Step.BigInt(&bi).BitLen() > commit.TagBits {
		return fmt.Errorf("tile: step tag of %d bits, at most %d", bi.BitLen(), commit.TagBits)
	}
	return nil
}

// tensorTagShift multiplies a step tag to make room for the tensor number.
const tensorTagShift = 8

// TensorTag is 8·step + t: the tag the root of tensor t of the step tagged
// step is bound to (linear, so free in the circuit).
func TensorTag(step fr.Element, t Tensor) fr.Element {
	var te, k fr.Element
	te.SetUint64(uint64(t))
	k.SetUint64(tensorTagShift)
	k.Mul(&k, &step)
	return *k.Add(&k, &te)
}

// BoundRoot is the root that goes on chain for tensor t of the step tagged
// step, whose Merkle root is inner: f(8·step + t, inner).
func BoundRoot(step fr.Element, t Tensor, inner fr.Element) [32]byte {
	r := Scheme().BindRoot(TensorTag(step, t), inner)
	return r.Bytes()
}
