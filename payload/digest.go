package payload

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/protolearn/protolearn/merkle"
)

// The digest of an encoding is what a boundary receipt signs (x/verify/types.Receipt): a
// commitment to the whole payload from which one token can be opened, so that the chain can
// check a challenged row of what a stage received without anyone sending it the payload.
//
//	digest = SHA-256("protolearn/payload/v1" | the 40-byte header | token root)
//	token root = merkle.Root over the b·n tokens, row-major [b][n]:
//	             leaf t = merkle.Leaf(the id bytes of token t | its w value bytes), as on the wire
//
// Every byte of the encoding is in exactly one place of the digest (the header, or one token's
// leaf), so two encodings with one digest would be a SHA-256 collision.
const digestDomain = "protolearn/payload/v1"

// Digest is the digest of encoding b, which must be a well-formed encoding (its header valid
// and its length the one the header gives; ids and values are not checked).
func Digest(b []byte) ([32]byte, error) {
	_, h, err := parseHeader(b, Limits{})
	if err != nil {
		return [32]byte{}, fmt.Errorf("payload digest: %w", err)
	}
	if len(b) != h.size {
		return [32]byte{}, fmt.Errorf("payload digest: %w: %d bytes, header says %d", ErrMalformed, len(b), h.size)
	}
	var tree merkle.Builder // streamed: a payload's tokens are not kept as leaves
	var leaf merkle.Leafer
	for t := range h.tokens {
		ids, vals := tokenBytes(b, h, t)
		tree.Push(leaf.Leaf(ids, vals))
	}
	return digest(b[:HeaderSize], tree.Root()), nil
}

func digest(hdr []byte, root merkle.Hash) [32]byte {
	d := sha256.New()
	d.Write([]byte(digestDomain))
	d.Write(hdr)
	d.Write(root[:])
	return [32]byte(d.Sum(nil))
}

// tokenLeaves are the leaf hashes of the tokens of a well-formed encoding.
func tokenLeaves(b []byte, h header) []merkle.Hash {
	leaves := make([]merkle.Hash, h.tokens)
	var leaf merkle.Leafer
	for t := range leaves {
		ids, vals := tokenBytes(b, h, uint64(t))
		leaves[t] = leaf.Leaf(ids, vals)
	}
	return leaves
}

// tokenBytes are token t's id bytes and value bytes in encoding b.
func tokenBytes(b []byte, h header, t uint64) (ids, vals []byte) {
	rowBytes := int(h.values/h.tokens) * DType(b[6]).Size()
	ids = b[HeaderSize+int(t)*h.iw : HeaderSize+int(t+1)*h.iw]
	start := HeaderSize + int(h.tokens)*h.iw + int(t)*rowBytes
	return ids, b[start : start+rowBytes]
}

// TokenOpening opens one token of a payload against its digest: the header, the token's index
// (row-major over [batch][seq]), its leaf bytes (id bytes then value bytes, as on the wire) and
// the Merkle path from the leaf to the token root.
type TokenOpening struct {
	Header   []byte
	Token    uint64
	Leaf     []byte
	Siblings [][32]byte
}

// Token is an opened token: the payload's shape and numbering from the header, the token's id
// (−1 in a gradients payload, which has none) and its values.
type Token struct {
	Shape      Shape
	Step       uint64
	Microbatch uint32
	Index      uint64
	ID         int32
	Values     []float32
}

// OpenToken opens token t of encoding b (a well-formed one, as for Digest).
func OpenToken(b []byte, t uint64) (TokenOpening, error) {
	_, h, err := parseHeader(b, Limits{})
	if err != nil {
		return TokenOpening{}, fmt.Errorf("payload: open token: %w", err)
	}
	if len(b) != h.size {
		return TokenOpening{}, fmt.Errorf("payload: open token: %w: %d bytes, header says %d", ErrMalformed, len(b), h.size)
	}
	if t >= h.tokens {
		return TokenOpening{}, fmt.Errorf("payload: open token %d of a payload of %d tokens", t, h.tokens)
	}
	ids, vals := tokenBytes(b, h, t)
	return TokenOpening{
		Header:   append([]byte(nil), b[:HeaderSize]...),
		Token:    t,
		Leaf:     append(append([]byte(nil), ids...), vals...),
		Siblings: merkle.Path(merkle.Levels(tokenLeaves(b, h)), t),
	}, nil
}

// ErrOpening is an opening that does not open a token of the payload with the given digest.
var ErrOpening = errors.New("payload: the opening does not match the payload digest")

// MaxOpeningSiblings bounds the path of an opening (a payload has at most 2^32 tokens).
const MaxOpeningSiblings = 32

// Verify checks that o opens a token of the payload whose digest is d and returns the token.
// It refuses a header or a leaf that is not well-formed (an id outside the vocabulary, a
// non-finite value), whatever the digest.
func (o TokenOpening) Verify(d [32]byte) (Token, error) {
	if len(o.Header) != HeaderSize {
		return Token{}, fmt.Errorf("%w: a %d-byte header, want %d", ErrOpening, len(o.Header), HeaderSize)
	}
	if len(o.Siblings) > MaxOpeningSiblings {
		return Token{}, fmt.Errorf("%w: %d siblings, at most %d", ErrOpening, len(o.Siblings), MaxOpeningSiblings)
	}
	p, h, err := parseHeader(o.Header, Limits{})
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrOpening, err)
	}
	if o.Token >= h.tokens {
		return Token{}, fmt.Errorf("%w: token %d of a payload of %d tokens", ErrOpening, o.Token, h.tokens)
	}
	width := int(h.values / h.tokens)
	if want := h.iw + width*p.DType.Size(); len(o.Leaf) != want {
		return Token{}, fmt.Errorf("%w: a %d-byte leaf, want %d", ErrOpening, len(o.Leaf), want)
	}
	ids, vals := o.Leaf[:h.iw], o.Leaf[h.iw:]
	if digest(o.Header, merkle.Fold(merkle.Leaf(ids, vals), o.Token, h.tokens, o.Siblings)) != d {
		return Token{}, fmt.Errorf("%w: token %d", ErrOpening, o.Token)
	}
	tok := Token{Shape: p.Shape(), Step: p.Step, Microbatch: p.Microbatch, Index: o.Token, ID: -1, Values: make([]float32, width)}
	le := binary.LittleEndian
	switch h.iw {
	case 1:
		tok.ID = int32(ids[0])
	case 2:
		tok.ID = int32(le.Uint16(ids))
	case 4:
		tok.ID = int32(le.Uint32(ids))
	}
	if h.iw > 0 && (tok.ID < 0 || uint32(tok.ID) >= p.Vocab) {
		return Token{}, fmt.Errorf("%w: token %d has id %d outside the vocabulary [0, %d)", ErrOpening, o.Token, uint32(tok.ID), p.Vocab)
	}
	for i := range tok.Values {
		var f float32
		if p.DType == F32 {
			f = math.Float32frombits(le.Uint32(vals[4*i:]))
		} else {
			f = BF16ToF32(le.Uint16(vals[2*i:]))
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return Token{}, fmt.Errorf("%w: token %d value %d is %v", ErrNonFinite, o.Token, i, f)
		}
		tok.Values[i] = f
	}
	return tok, nil
}
