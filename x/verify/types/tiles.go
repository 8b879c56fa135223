package types

import (
	"errors"
	"fmt"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/payload"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// ChallengeKinds are every kind of tile; an attestation is checked with the kinds its Tiles
// allow (Tiles.Kinds), each equally likely in a spot check. A step's forward and backward
// products are each one kind; the tie kind keeps the two commitments of W honest (a worker
// passing forward checks with W and backward checks with another W′ is caught by it); the input
// kind ties X to the boundary payload the step's receipt names.
var ChallengeKinds = []ChallengeKind{CHALLENGE_KIND_FORWARD, CHALLENGE_KIND_BACKWARD, CHALLENGE_KIND_TIE, CHALLENGE_KIND_INPUT}

// Tiles is what fixes the tiles of an attestation: the model's width, compression rank and
// vocabulary, the attested stage, and the attestation's tile rows and width. The designated
// layer is Y = X·W with X of Rows×DModel and W of DModel×DModel.
type Tiles struct {
	DModel, Rank, Vocab uint32
	Stage               uint32
	Rows, Width         uint32
}

// Kinds are the challenge kinds of these tiles: forward, backward and tie always; input on a
// stage after the first of a compressed model (Rank < DModel), whose X derives from a received
// payload of subspace coordinates. Stage 0's input is its own embedding of the dataset, and an
// uncompressed model's boundary is d_model wide: neither has an input tile yet.
func (t Tiles) Kinds() []ChallengeKind {
	if t.HasInput() {
		return ChallengeKinds
	}
	return ChallengeKinds[:3]
}

// HasInput reports whether the input kind applies.
func (t Tiles) HasInput() bool { return t.Stage > 0 && t.Rank > 0 && t.Rank < t.DModel }

// Shape is the circuit that checks a challenge of kind.
func (t Tiles) Shape(kind ChallengeKind) (tile.Shape, error) {
	d, r, w := int(t.DModel), int(t.Rows), int(t.Width)
	k, err := kind.Tile()
	if err != nil {
		return tile.Shape{}, err
	}
	s := tile.Shape{Kind: k, Rows: r, Inner: d, Outer: d, T: w, TolULP: tile.DefaultTolULP(d)}
	switch k {
	case tile.Tie:
		s.Rows, s.TolULP = d, 0
	case tile.Input:
		if !t.HasInput() {
			return s, fmt.Errorf("no input tile on stage %d of a model with d_model %d and compression rank %d: only stages after the first of a compressed model have one", t.Stage, t.DModel, t.Rank)
		}
		s.Inner, s.TolULP, s.Vocab = int(t.Rank), 0, int(t.Vocab)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s tile for d_model %d, %d rows, width %d: %w", kind, t.DModel, t.Rows, t.Width, err)
	}
	return s, nil
}

// Shapes are the shapes an attestation's challenges may use; each needs a verifying key.
func (t Tiles) Shapes() ([]tile.Shape, error) {
	kinds := t.Kinds()
	out := make([]tile.Shape, 0, len(kinds))
	for _, k := range kinds {
		s, err := t.Shape(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// AttestationTiles are the tiles of attestation a of a model with the given width, rank and
// vocabulary.
func AttestationTiles(a Attestation, dModel, rank, vocab uint32) Tiles {
	return Tiles{DModel: dModel, Rank: rank, Vocab: vocab, Stage: a.Stage, Rows: a.TileRows, Width: a.TileWidth}
}

// ModelTiles are the tiles of attestation a of model m.
func ModelTiles(a Attestation, m modelstypes.Model) Tiles {
	return AttestationTiles(a, m.Arch.DModel, m.Arch.CompressionRank, m.Arch.Vocab)
}

// ChallengePublic rebuilds the public inputs of challenge c of attestation a on chain chainID from
// the step's stored roots, the challenge's own row and block, and the binding of (chain, model,
// stage, worker, step) to this challenge: never from anything the prover sends.
func ChallengePublic(chainID string, a Attestation, c Challenge) (tile.PublicInputs, error) {
	step, ok := a.Commitment(c.Step)
	if !ok {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d names step %d, which attestation %d does not hold", c.Id, c.Step, a.Id)
	}
	k, err := c.Kind.Tile()
	if err != nil {
		return tile.PublicInputs{}, err
	}
	if k == tile.Input {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d is an input challenge: its public inputs need the opened token (InputPublic)", c.Id)
	}
	in, w, out := k.Tensors()
	p := tile.PublicInputs{Row: uint64(c.Row), Col: uint64(c.Col), Binding: ChallengeBinding(chainID, a, c).Public()}
	copy(p.InRoot[:], step.Root(in))
	copy(p.WRoot[:], step.Root(w))
	copy(p.OutRoot[:], step.Root(out)) // a tie tile has no output: zero
	return p, nil
}

// InputPublic rebuilds the public inputs of input challenge c of attestation a: the step's
// x_root, the model's subspace root, and the digest of the challenged token of the step's input
// payload, which the response opens (o) against the payload digest the step's receipt signed.
// The token must be the challenged row of a compressed activations payload of the attestation's
// shape; its coordinates are quantized by the chain (tile.QuantizeCoordinates), so the proof is
// about exactly what the sender signed.
func InputPublic(chainID string, a Attestation, c Challenge, t Tiles, subspaceRoot []byte, o *TokenOpening) (tile.PublicInputs, error) {
	step, ok := a.Commitment(c.Step)
	if !ok {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d names step %d, which attestation %d does not hold", c.Id, c.Step, a.Id)
	}
	if c.Kind != CHALLENGE_KIND_INPUT {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d is a %s challenge, not an input one", c.Id, c.Kind)
	}
	if step.Input == nil {
		return tile.PublicInputs{}, fmt.Errorf("step %d of attestation %d names no input receipt", c.Step, a.Id)
	}
	if o == nil {
		return tile.PublicInputs{}, errors.New("an input challenge is answered with input_opening: the challenged token of the step's input payload")
	}
	if len(subspaceRoot) != 32 {
		return tile.PublicInputs{}, fmt.Errorf("the model has a %d-byte subspace_root, want 32", len(subspaceRoot))
	}
	if len(step.Input.PayloadDigest) != 32 {
		return tile.PublicInputs{}, fmt.Errorf("step %d's receipt has a %d-byte payload digest", c.Step, len(step.Input.PayloadDigest))
	}
	sibs := make([][32]byte, len(o.Siblings))
	for i, b := range o.Siblings {
		if len(b) != 32 {
			return tile.PublicInputs{}, fmt.Errorf("input_opening: sibling %d is %d bytes, want 32", i, len(b))
		}
		sibs[i] = [32]byte(b)
	}
	tok, err := payload.TokenOpening{Header: o.Header, Token: o.Token, Leaf: o.Leaf, Siblings: sibs}.Verify([32]byte(step.Input.PayloadDigest))
	if err != nil {
		return tile.PublicInputs{}, fmt.Errorf("input_opening: %w", err)
	}
	sh := tok.Shape
	switch {
	case tok.Index != uint64(c.Row):
		return tile.PublicInputs{}, fmt.Errorf("input_opening opens token %d; the challenge is of row %d", tok.Index, c.Row)
	case sh.Kind != payload.Activations || !sh.Compressed:
		return tile.PublicInputs{}, fmt.Errorf("input_opening: the payload is %v (compressed %t), want compressed activations", sh.Kind, sh.Compressed)
	case sh.Width != t.Rank || sh.Vocab != t.Vocab || uint64(sh.Batch)*uint64(sh.Seq) != uint64(t.Rows):
		return tile.PublicInputs{}, fmt.Errorf("input_opening: a payload of %d×%d tokens of width %d over vocabulary %d; the attestation's tiles want %d tokens of width %d over %d",
			sh.Batch, sh.Seq, sh.Width, sh.Vocab, t.Rows, t.Rank, t.Vocab)
	}
	coords, err := tile.QuantizeCoordinates(tok.Values)
	if err != nil {
		return tile.PublicInputs{}, fmt.Errorf("input_opening: token %d: %w", tok.Index, err)
	}
	p := tile.PublicInputs{
		Row: uint64(c.Row), Col: uint64(c.Col), Binding: ChallengeBinding(chainID, a, c).Public(),
		OutRoot: tile.InputDigest(int(tok.ID), coords),
	}
	copy(p.InRoot[:], step.XRoot)
	copy(p.WRoot[:], subspaceRoot)
	return p, nil
}

// Tile is the circuit kind that checks a challenge of this kind.
func (k ChallengeKind) Tile() (tile.Kind, error) {
	switch k {
	case CHALLENGE_KIND_FORWARD:
		return tile.Forward, nil
	case CHALLENGE_KIND_BACKWARD:
		return tile.Backward, nil
	case CHALLENGE_KIND_TIE:
		return tile.Tie, nil
	case CHALLENGE_KIND_INPUT:
		return tile.Input, nil
	default:
		return 0, fmt.Errorf("unknown challenge kind %v", k)
	}
}

// NamedRoot is one root of a step commitment with its field name.
type NamedRoot struct {
	Name   string
	Tensor tile.Tensor
	Root   []byte
}

// Roots lists the step's six roots with their field names.
func (c StepCommitment) Roots() []NamedRoot {
	return []NamedRoot{
		{"x_root", tile.TensorX, c.XRoot},
		{"w_cols_root", tile.TensorWCols, c.WColsRoot},
		{"y_root", tile.TensorY, c.YRoot},
		{"dy_root", tile.TensorDY, c.DyRoot},
		{"w_rows_root", tile.TensorWRows, c.WRowsRoot},
		{"dx_root", tile.TensorDX, c.DxRoot},
	}
}

// Root is the root of tensor t, or 32 zero bytes for no tensor (a tie tile's output).
func (c StepCommitment) Root(t tile.Tensor) []byte {
	for _, r := range c.Roots() {
		if r.Tensor == t {
			return r.Root
		}
	}
	return make([]byte, 32)
}

// Validate checks that every root is a canonical 32-byte field element.
func (c StepCommitment) Validate() error {
	for _, r := range c.Roots() {
		if len(r.Root) != 32 {
			return fmt.Errorf("step %d: %s is %d bytes, want 32", c.Step, r.Name, len(r.Root))
		}
		if _, err := commit.ParseRoot(r.Root); err != nil {
			return fmt.Errorf("step %d: %s: %w", c.Step, r.Name, err)
		}
	}
	if in := c.Input; in != nil {
		switch {
		case len(in.PayloadDigest) != 32:
			return fmt.Errorf("step %d: input.payload_digest is %d bytes, want 32 (SHA-256)", c.Step, len(in.PayloadDigest))
		case len(in.Signature) != ReceiptSignatureSize:
			return fmt.Errorf("step %d: input.signature is %d bytes, want %d (Ed25519)", c.Step, len(in.Signature), ReceiptSignatureSize)
		case in.Sender == "":
			return fmt.Errorf("step %d: input.sender is empty, want the sender's peer id", c.Step)
		case len(in.Sender) > MaxPeerIDLen:
			return fmt.Errorf("step %d: input.sender is %d characters, at most %d (an Ed25519 peer id is 52)", c.Step, len(in.Sender), MaxPeerIDLen)
		}
	}
	return nil
}

// Commitment returns the commitment of step, if the attestation covers it.
func (a Attestation) Commitment(step uint64) (StepCommitment, bool) {
	if step < a.StepFrom || step > a.StepTo {
		return StepCommitment{}, false
	}
	i := step - a.StepFrom
	if i >= uint64(len(a.Commitments)) || a.Commitments[i].Step != step {
		return StepCommitment{}, false
	}
	return a.Commitments[i], true
}

// Steps is the number of steps the attestation covers.
func (a Attestation) Steps() uint64 { return a.StepTo - a.StepFrom + 1 }
