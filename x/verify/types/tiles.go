package types

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
)

// ChallengeKinds are the tiles a spot check draws from, equally likely. A step's forward and
// backward products are each one kind; the tie kind keeps the two commitments of W honest (a
// worker passing forward checks with W and backward checks with another W′ is caught by it).
var ChallengeKinds = []ChallengeKind{CHALLENGE_KIND_FORWARD, CHALLENGE_KIND_BACKWARD, CHALLENGE_KIND_TIE}

// TileShape is the circuit that checks a challenge of kind on an attestation of a model with
// width dModel: the designated layer is Y = X·W with X of rows×d and W of d×d.
func TileShape(kind ChallengeKind, dModel, rows, width uint32) (tile.Shape, error) {
	d, r, t := int(dModel), int(rows), int(width)
	k, err := kind.Tile()
	if err != nil {
		return tile.Shape{}, err
	}
	s := tile.Shape{Kind: k, Rows: r, Inner: d, Outer: d, T: t, TolULP: tile.DefaultTolULP(d)}
	if k == tile.Tie {
		s.Rows, s.TolULP = d, 0
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s tile for d_model %d, %d rows, width %d: %w", kind, dModel, rows, width, err)
	}
	return s, nil
}

// TileShapes are the three shapes an attestation's challenges may use; each needs a verifying key.
func TileShapes(dModel, rows, width uint32) ([]tile.Shape, error) {
	out := make([]tile.Shape, 0, len(ChallengeKinds))
	for _, k := range ChallengeKinds {
		s, err := TileShape(k, dModel, rows, width)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
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
	in, w, out := k.Tensors()
	p := tile.PublicInputs{Row: uint64(c.Row), Col: uint64(c.Col), Binding: ChallengeBinding(chainID, a, c).Public()}
	copy(p.InRoot[:], step.Root(in))
	copy(p.WRoot[:], step.Root(w))
	copy(p.OutRoot[:], step.Root(out)) // a tie tile has no output: zero
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
