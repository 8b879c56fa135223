package types

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/dataset"
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
// compressed model (Rank < DModel), whose X derives from subspace coordinates: received from
// the stage before (tile.Input), or on stage 0 its own embedding of a dataset token
// (tile.Embed). An uncompressed model's boundary is d_model wide: it has no input tile yet.
func (t Tiles) Kinds() []ChallengeKind {
	if t.HasInput() {
		return ChallengeKinds
	}
	return ChallengeKinds[:3]
}

// HasInput reports whether the input kind applies: on every stage of a compressed model (stage
// 0's input tile is the embed tile).
func (t Tiles) HasInput() bool { return t.Rank > 0 && t.Rank < t.DModel }

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
			return s, fmt.Errorf("no input tile on a model with d_model %d and compression rank %d: only compressed models have one", t.DModel, t.Rank)
		}
		s.Inner, s.TolULP, s.Vocab = int(t.Rank), 0, int(t.Vocab)
		if t.Stage == 0 {
			s.Kind = tile.Embed
		}
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

// ModelShapes are the shapes every stage of the model needs keys for: Shapes of stage 0 and of a
// later stage together (they differ in the input tile only: embed on stage 0, input after).
func (t Tiles) ModelShapes() ([]tile.Shape, error) {
	t.Stage = 0
	out, err := t.Shapes()
	if err != nil {
		return nil, err
	}
	t.Stage = 1
	later, err := t.Shapes()
	if err != nil {
		return nil, err
	}
	for _, s := range later {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
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

// InputPublic rebuilds the public inputs of input challenge c of attestation a of model m:
// the step's x_root, the model's subspace root, and a digest of the challenged token, which the
// response opens. After the first stage the token is the challenged row of the step's input
// payload, opened (in) against the payload digest its receipt signed; its coordinates are
// quantized by the chain (tile.QuantizeCoordinates), so the proof is about exactly what the
// sender signed. On stage 0 it is the dataset token the step's sample drew at the challenged row,
// opened (ds) against the model's dataset_commitment, with the step's embedding root
// (tile.EmbedDigest).
func InputPublic(chainID string, a Attestation, c Challenge, t Tiles, m modelstypes.Model, in *TokenOpening, ds *DatasetOpening) (tile.PublicInputs, error) {
	step, ok := a.Commitment(c.Step)
	if !ok {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d names step %d, which attestation %d does not hold", c.Id, c.Step, a.Id)
	}
	if c.Kind != CHALLENGE_KIND_INPUT {
		return tile.PublicInputs{}, fmt.Errorf("challenge %d is a %s challenge, not an input one", c.Id, c.Kind)
	}
	if len(m.SubspaceRoot) != 32 {
		return tile.PublicInputs{}, fmt.Errorf("model %d has a %d-byte subspace_root, want 32", m.Id, len(m.SubspaceRoot))
	}
	var digest [32]byte
	var err error
	if a.Stage == 0 {
		if in != nil {
			return tile.PublicInputs{}, errors.New("stage 0 received no payload: answer its input challenge with dataset_opening, not input_opening")
		}
		digest, err = sampleToken(step, c, t, m, ds)
	} else {
		if ds != nil {
			return tile.PublicInputs{}, errors.New("a stage after the first takes its input from the stage before: answer with input_opening, not dataset_opening")
		}
		digest, err = payloadToken(step, c, t, in)
	}
	if err != nil {
		return tile.PublicInputs{}, err
	}
	p := tile.PublicInputs{
		Row: uint64(c.Row), Col: uint64(c.Col), Binding: ChallengeBinding(chainID, a, c).Public(), OutRoot: digest,
	}
	copy(p.InRoot[:], step.XRoot)
	copy(p.WRoot[:], m.SubspaceRoot)
	return p, nil
}

// payloadToken is the digest of the challenged token of a later stage's input payload, which o
// opens against the step's receipt.
func payloadToken(step StepCommitment, c Challenge, t Tiles, o *TokenOpening) ([32]byte, error) {
	if step.Input == nil {
		return [32]byte{}, fmt.Errorf("step %d names no input receipt", c.Step)
	}
	if o == nil {
		return [32]byte{}, errors.New("an input challenge is answered with input_opening: the challenged token of the step's input payload")
	}
	if len(step.Input.PayloadDigest) != 32 {
		return [32]byte{}, fmt.Errorf("step %d's receipt has a %d-byte payload digest", c.Step, len(step.Input.PayloadDigest))
	}
	sibs := make([][32]byte, len(o.Siblings))
	for i, b := range o.Siblings {
		if len(b) != 32 {
			return [32]byte{}, fmt.Errorf("input_opening: sibling %d is %d bytes, want 32", i, len(b))
		}
		sibs[i] = [32]byte(b)
	}
	tok, err := payload.TokenOpening{Header: o.Header, Token: o.Token, Leaf: o.Leaf, Siblings: sibs}.Verify([32]byte(step.Input.PayloadDigest))
	if err != nil {
		return [32]byte{}, fmt.Errorf("input_opening: %w", err)
	}
	sh := tok.Shape
	switch {
	case tok.Index != uint64(c.Row):
		return [32]byte{}, fmt.Errorf("input_opening opens token %d; the challenge is of row %d", tok.Index, c.Row)
	case sh.Kind != payload.Activations || !sh.Compressed:
		return [32]byte{}, fmt.Errorf("input_opening: the payload is %v (compressed %t), want compressed activations", sh.Kind, sh.Compressed)
	case sh.Width != t.Rank || sh.Vocab != t.Vocab || uint64(sh.Batch)*uint64(sh.Seq) != uint64(t.Rows):
		return [32]byte{}, fmt.Errorf("input_opening: a payload of %d×%d tokens of width %d over vocabulary %d; the attestation's tiles want %d tokens of width %d over %d",
			sh.Batch, sh.Seq, sh.Width, sh.Vocab, t.Rows, t.Rank, t.Vocab)
	}
	coords, err := tile.QuantizeCoordinates(tok.Values)
	if err != nil {
		return [32]byte{}, fmt.Errorf("input_opening: token %d: %w", tok.Index, err)
	}
	return tile.InputDigest(int(tok.ID), coords), nil
}

// sampleToken is the embed tile's digest of the challenged token of stage 0: the byte of the
// model's dataset at the challenged row of the step's sample (row r is position r mod seq_len of
// window r div seq_len, whose start dataset.WindowStart gives), which o opens, with the step's
// embedding root.
func sampleToken(step StepCommitment, c Challenge, t Tiles, m modelstypes.Model, o *DatasetOpening) ([32]byte, error) {
	if step.Sample == nil {
		return [32]byte{}, fmt.Errorf("step %d names no sample", c.Step)
	}
	if o == nil {
		return [32]byte{}, errors.New("an input challenge of stage 0 is answered with dataset_opening: the challenged token of the model's dataset")
	}
	seq := uint64(m.Arch.SeqLen)
	if seq == 0 || uint64(t.Rows)%seq != 0 {
		return [32]byte{}, fmt.Errorf("%d tile rows are not whole windows of seq_len %d", t.Rows, seq)
	}
	window, pos := uint64(c.Row)/seq, uint64(c.Row)%seq
	b, err := openDataset(m, step.Sample.Microbatch, uint32(window), pos, 1, o)
	if err != nil {
		return [32]byte{}, fmt.Errorf("dataset_opening: %w", err)
	}
	if uint32(b[0]) >= t.Vocab {
		return [32]byte{}, fmt.Errorf("dataset byte %d of row %d is %d, outside the vocabulary of %d", pos, c.Row, b[0], t.Vocab)
	}
	return tile.EmbedDigest([32]byte(step.Sample.ERoot), int(b[0]))
}

// DatasetWindow is the window of model m's dataset that row `row` of microbatch mb trains on,
// as o opens it: seq_len token ids, then each one's label (seq_len + 1 bytes; dataset.WindowStart
// of the model's seed).
func DatasetWindow(m modelstypes.Model, mb uint64, row uint32, o *DatasetOpening) ([]byte, error) {
	return openDataset(m, mb, row, 0, uint64(m.Arch.SeqLen)+1, o)
}

// openDataset opens n bytes at pos of the window of row `row` of microbatch mb of model m's
// dataset (committed by its dataset_commitment) from o, whose length the commitment binds.
func openDataset(m modelstypes.Model, mb uint64, row uint32, pos, n uint64, o *DatasetOpening) ([]byte, error) {
	seq := uint64(m.Arch.SeqLen)
	if o == nil {
		return nil, errors.New("no dataset opening")
	}
	if o.Len <= seq {
		return nil, fmt.Errorf("a %d-byte dataset holds no window of %d tokens and a label", o.Len, seq)
	}
	if len(m.DatasetCommitment) != 32 {
		return nil, fmt.Errorf("model %d has a %d-byte dataset_commitment", m.Id, len(m.DatasetCommitment))
	}
	proof := dataset.Proof{Len: o.Len}
	for i, ch := range o.Chunks {
		cp := dataset.ChunkProof{Index: ch.Index, Data: ch.Data}
		for j, b := range ch.Siblings {
			if len(b) != 32 {
				return nil, fmt.Errorf("chunk %d sibling %d is %d bytes, want 32", i, j, len(b))
			}
			cp.Siblings = append(cp.Siblings, [32]byte(b))
		}
		proof.Chunks = append(proof.Chunks, cp)
	}
	off := dataset.WindowStart(m.Seed, mb, row, o.Len-seq) + pos
	b, err := dataset.Verify([32]byte(m.DatasetCommitment), off, n, proof)
	if err != nil {
		return nil, fmt.Errorf("bytes %d to %d (row %d of microbatch %d): %w", off, off+n, row, mb, err)
	}
	return b, nil
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

// Roots lists the step's roots with their field names: the six of its layer, and stage 0's
// embedding root when it names a sample.
func (c StepCommitment) Roots() []NamedRoot {
	roots := []NamedRoot{
		{"x_root", tile.TensorX, c.XRoot},
		{"w_cols_root", tile.TensorWCols, c.WColsRoot},
		{"y_root", tile.TensorY, c.YRoot},
		{"dy_root", tile.TensorDY, c.DyRoot},
		{"w_rows_root", tile.TensorWRows, c.WRowsRoot},
		{"dx_root", tile.TensorDX, c.DxRoot},
	}
	if c.Sample != nil {
		roots = append(roots, NamedRoot{"sample.e_root", tile.TensorE, c.Sample.ERoot})
	}
	return roots
}

// sampleDomain separates sample digests from payload digests in the index of counted inputs.
const sampleDomain = "protolearn/verify/stage0-sample/v1"

// SampleDigest is what counts a stage-0 draw in the index of counted inputs (beside the payload
// digests of later stages): SHA-256 of a domain, the worker's address and the microbatch id, so
// that no payload's digest can be one. The worker is in it: a draw counts once per worker, so
// that no one can claim another replica's ids first (from the mempool, or by predicting its
// numbering) and have its attestations refused.
func SampleDigest(worker string, microbatch uint64) []byte {
	d := workerHash(sampleDomain, worker, binary.BigEndian.AppendUint64(nil, microbatch))
	return d[:]
}

// workerHash is SHA-256 of a domain, the length and bytes of a worker's address, and tail: the
// shape of every per-worker digest of this package.
func workerHash(domain, worker string, tail []byte) [32]byte {
	b := append([]byte(domain), byte(len(worker)))
	b = append(b, worker...)
	return sha256.Sum256(append(b, tail...))
}

// InputKey is the key of an input digest (a receipt's payload digest, or a SampleDigest) in the
// index of counted inputs: SHA-256 of a domain, the attesting worker's address and the digest.
// Per worker: a receipt is made out to one receiver, so no other worker can show it anyway, and
// a global index would let a colluding sender and receiver count an honest worker's payload
// first (a sender can sign any digest for its partner) and have the honest attestation refused.
func InputKey(worker string, digest []byte) []byte {
	d := workerHash(inputKeyDomain, worker, digest)
	return d[:]
}

const inputKeyDomain = "protolearn/verify/input-key/v1"

// DrawID is the microbatch id of draw k of a stage-0 worker: the first 8 bytes of SHA-256 of
// a domain, the worker's address and k, the top bit cleared (the swarm's evaluation ids have it
// set). The dataset windows a microbatch holds are dataset.WindowStart of the model's seed and
// this id, so a worker's k-th draw is fixed by the seed, its address and k: it cannot grind ids
// for windows it prefers, only use its sequence in order (the chain bounds how far it may skip:
// MaxDrawAhead).
func DrawID(worker string, k uint64) uint64 {
	d := workerHash(drawDomain, worker, binary.BigEndian.AppendUint64(nil, k))
	return binary.BigEndian.Uint64(d[:8]) &^ (1 << 63)
}

const drawDomain = "protolearn/verify/draw/v1"

// MaxDrawAhead is how far a stage-0 worker's draws may run ahead of the draws it has counted: a
// draw index must be below n + MaxDrawAhead(M, lead, n), n the worker's draws counted on the
// model (those of the attestation that names it included), M the model's microbatches_per_step
// and lead the max_stage_lead param. Every index counts once, so a worker that has counted n
// draws used n distinct indices below that bound: it skipped at most lead·M of its sequence plus
// one in 64 of its draws. Room for honest gaps (microbatches in flight when it restarted, taps
// dropped, an attestation refused: a restarted trainer resumes past its highest counted index,
// Attestation.next_draw), too little to choose its data by: it trains on the windows its
// sequence gives it, but for the worst one in 64 at most. Counted draws, not steps: a worker that
// attested steps on another stage first gains nothing.
func MaxDrawAhead(microbatches uint32, lead, counted uint64) uint64 {
	return lead*uint64(microbatches) + counted/64
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
	if c.Input != nil {
		if err := validateReceipt(c.Step, "input", c.Input); err != nil {
			return err
		}
	}
	if len(c.OtherInputs) > MaxOtherInputs {
		return fmt.Errorf("step %d: %d other_inputs; a step has at most %d microbatches", c.Step, len(c.OtherInputs), MaxOtherInputs)
	}
	if c.Sample != nil && len(c.Sample.OtherDraws) > MaxOtherInputs {
		return fmt.Errorf("step %d: %d sample.other_draws; a step has at most %d microbatches", c.Step, len(c.Sample.OtherDraws), MaxOtherInputs+1)
	}
	if len(c.GradInputs) > MaxOtherInputs+1 {
		return fmt.Errorf("step %d: %d grad_inputs; a step has at most %d microbatches", c.Step, len(c.GradInputs), MaxOtherInputs+1)
	}
	for _, list := range []struct {
		name string
		rs   []*BoundaryReceipt
	}{{"other_inputs", c.OtherInputs}, {"grad_inputs", c.GradInputs}} {
		name := list.name
		for j, in := range list.rs {
			if in == nil {
				return fmt.Errorf("step %d: %s[%d] is empty", c.Step, name, j)
			}
			if err := validateReceipt(c.Step, fmt.Sprintf("%s[%d]", name, j), in); err != nil {
				return err
			}
		}
	}
	return nil
}

// MaxOtherInputs bounds a step's other_inputs before anything is verified: x/models caps
// microbatches_per_step at 32, the designated one and 31 others.
const MaxOtherInputs = 31

func validateReceipt(step uint64, name string, in *BoundaryReceipt) error {
	switch {
	case len(in.PayloadDigest) != 32:
		return fmt.Errorf("step %d: %s.payload_digest is %d bytes, want 32 (SHA-256)", step, name, len(in.PayloadDigest))
	case len(in.Signature) != ReceiptSignatureSize:
		return fmt.Errorf("step %d: %s.signature is %d bytes, want %d (Ed25519)", step, name, len(in.Signature), ReceiptSignatureSize)
	case in.Sender == "":
		return fmt.Errorf("step %d: %s.sender is empty, want the sender's peer id", step, name)
	case len(in.Sender) > MaxPeerIDLen:
		return fmt.Errorf("step %d: %s.sender is %d characters, at most %d (an Ed25519 peer id is 52)", step, name, len(in.Sender), MaxPeerIDLen)
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

// ClaimedUnits are the work units a finalizes for (before the model's target cuts them): its
// work units, less one step's share of them (rounded up) where it opens a gap in its worker's
// log (LogGap): what leaving a step unattested would have cost.
func (a Attestation) ClaimedUnits() uint64 {
	if !a.LogGap {
		return a.WorkUnits
	}
	steps := a.Steps()
	if steps == 0 { // not a stored attestation's shape; nothing to take
		return a.WorkUnits
	}
	step := a.WorkUnits / steps // one step's share, rounded up (no overflow near the top)
	if a.WorkUnits%steps != 0 {
		step++
	}
	return a.WorkUnits - step
}
