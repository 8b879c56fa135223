// Package attest is the trainer's side of x/verify: it quantizes and commits each step's
// designated layer (the query projection of the stage's first block, Y = X·W), keeps what it
// needs on disk to answer challenges during the challenge window, and proves challenged tiles
// with the circuits' Groth16 keys.
package attest

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Layer is one step's designated layer, quantized to the commitment format (circuits/commit):
// X (Rows×D), W (D×D), Y = X·W (Rows×D), the output gradient DY (Rows×D) and the input gradient
// DX = DY·Wᵀ (Rows×D), all row-major.
type Layer struct {
	Step    uint64
	Rows, D int
	X, W, Y []int64
	DY, DX  []int64
	// Input is the payload encoding X derives from (NewDerivedLayer), kept to open a token of
	// it for an input challenge; nil elsewhere.
	Input []byte
	// On stage 0 of a compressed model (NewEmbedLayer): E is the embedding (Vocab × Rank,
	// quantized as coordinates) X derives from, IDs the draw's tokens (one a row) and
	// Microbatch the draw. nil and zero elsewhere.
	E           []int64
	IDs         []int32
	Microbatch  uint64
	Vocab, Rank int
}

// scheme is the commitment scheme of every tile.
func scheme() commit.Scheme { return tile.Scheme() }

// NewLayer quantizes the layer's input, weights and output gradient and computes its output and
// input gradient from the quantized values, so that what is committed is exactly what the
// circuit checks: exact integer dot products, rounded half to even once to the format. It fails,
// naming the tensor and index, on a value the format cannot hold (NaN, ±Inf, overflow).
func NewLayer(step uint64, rows, d int, x, w, dy []float32) (*Layer, error) {
	if rows <= 0 || d <= 0 {
		return nil, fmt.Errorf("attest: layer of %d rows and width %d", rows, d)
	}
	for _, t := range []struct {
		name string
		n    int
		want int
	}{{"x", len(x), rows * d}, {"w", len(w), d * d}, {"dy", len(dy), rows * d}} {
		if t.n != t.want {
			return nil, fmt.Errorf("attest: %s has %d values, want %d", t.name, t.n, t.want)
		}
	}
	xq, err := scheme().Params.Quantize(x)
	if err != nil {
		return nil, fmt.Errorf("attest: step %d input: %w", step, err)
	}
	return newLayer(step, rows, d, xq, w, dy)
}

// newLayer is NewLayer with X already in the commitment format.
func newLayer(step uint64, rows, d int, xq []int64, w, dy []float32) (*Layer, error) {
	p := scheme().Params
	l := &Layer{Step: step, Rows: rows, D: d, X: xq}
	var err error
	if l.W, err = p.Quantize(w); err != nil {
		return nil, fmt.Errorf("attest: step %d weights: %w", step, err)
	}
	if l.DY, err = p.Quantize(dy); err != nil {
		return nil, fmt.Errorf("attest: step %d output gradient: %w", step, err)
	}
	if l.Y, err = matmul(l.X, l.W, rows, d, d, false, p); err != nil {
		return nil, fmt.Errorf("attest: step %d output: %w", step, err)
	}
	if l.DX, err = matmul(l.DY, l.W, rows, d, d, true, p); err != nil {
		return nil, fmt.Errorf("attest: step %d input gradient: %w", step, err)
	}
	return l, nil
}

// matmul returns round(A·B / 2^F) (or A·Bᵀ) for A of rows×inner and B of inner×outer (or
// outer×inner, transposed), failing on an output the format cannot hold.
func matmul(a, b []int64, rows, inner, outer int, transposed bool, p commit.Params) ([]int64, error) {
	out := make([]int64, rows*outer)
	lo, hi := -(int64(1) << (p.ValueBits - 1)), int64(1)<<(p.ValueBits-1)
	acc := make([]int64, outer)
	for r := range rows {
		ar := a[r*inner : (r+1)*inner]
		if transposed {
			for j := range outer {
				br := b[j*inner : (j+1)*inner]
				var s int64
				for k, v := range ar {
					s += v * br[k]
				}
				acc[j] = s
			}
		} else {
			// Row by row of B (contiguous), not column by column: a strided walk through B
			// costs several times more.
			clear(acc)
			for k, v := range ar {
				if v == 0 {
					continue
				}
				bk := b[k*outer : (k+1)*outer]
				for j, w := range bk {
					acc[j] += v * w
				}
			}
		}
		for j, s := range acc {
			q := roundShift(s, p.FracBits)
			if q < lo || q >= hi {
				return nil, fmt.Errorf("value[%d] = %d outside the %d-bit range", r*outer+j, q, p.ValueBits)
			}
			out[r*outer+j] = q
		}
	}
	return out, nil
}

// roundShift is round_half_even(s / 2^f).
func roundShift(s int64, f int) int64 {
	if f == 0 {
		return s
	}
	q := s >> f // floor
	rem := s - q<<f
	half := int64(1) << (f - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// Fake replaces the layer's output and input gradient with random values, as a worker that
// skipped the computation would commit. It is the --cheat test tool's only effect on commitments.
func (l *Layer) Fake(rng *rand.Rand) {
	p := scheme().Params
	span := int64(1) << (p.ValueBits - 2) // stay well inside the format
	for i := range l.Y {
		l.Y[i] = rng.Int64N(2*span) - span
	}
	for i := range l.DX {
		l.DX[i] = rng.Int64N(2*span) - span
	}
}

// Owner names whose work a layer is: the chain, model, stage and worker (operator address) its
// roots are bound to, with the step (verifytypes.StepTag). The chain rebuilds the same tag when
// it checks a proof, so the roots answer for this worker at this step only.
type Owner struct {
	ChainID string
	ModelID uint64
	Stage   uint32
	Worker  string
}

// StepTag is the tag of the owner's step.
func (o Owner) StepTag(step uint64) fr.Element {
	return verifytypes.StepTag(o.ChainID, o.ModelID, o.Stage, o.Worker, step)
}

// Committed is a layer with its six commitments: forward X (Rows), W (Columns), Y (Rows);
// backward DY (Rows), W (Rows), DX (Rows), and the tag of its step that their roots are bound to.
type Committed struct {
	Layer                      *Layer
	X, WCols, Y, DY, WRows, DX *commit.Commitment
	// E is stage 0's embedding (tile.EmbedScheme, Rows), nil elsewhere.
	E   *commit.Commitment
	Tag fr.Element
}

// Commit commits l for owner with salts derived from secret and a label naming the model, stage,
// step and tensor, so the trainer can recommit from the stored layer and get the same roots.
func Commit(secret []byte, owner Owner, l *Layer) (*Committed, error) {
	if len(secret) == 0 {
		return nil, errors.New("attest: empty commitment secret")
	}
	if owner.ChainID == "" || owner.Worker == "" {
		return nil, errors.New("attest: the chain id and the worker address name whose roots these are")
	}
	s := scheme()
	c := &Committed{Layer: l, Tag: owner.StepTag(l.Step)}
	for _, t := range []struct {
		name       string
		dst        **commit.Commitment
		kind       commit.Kind
		rows, cols int
		values     []int64
	}{
		{"X", &c.X, commit.Rows, l.Rows, l.D, l.X},
		{"Wcols", &c.WCols, commit.Columns, l.D, l.D, l.W},
		{"Y", &c.Y, commit.Rows, l.Rows, l.D, l.Y},
		{"dY", &c.DY, commit.Rows, l.Rows, l.D, l.DY},
		{"Wrows", &c.WRows, commit.Rows, l.D, l.D, l.W},
		{"dX", &c.DX, commit.Rows, l.Rows, l.D, l.DX},
	} {
		seed := commit.DeriveSeed(secret, fmt.Sprintf("model/%d/stage/%d/step/%d/%s", owner.ModelID, owner.Stage, l.Step, t.name))
		var err error
		if *t.dst, err = s.CommitQuantized(t.kind, t.rows, t.cols, t.values, seed); err != nil {
			return nil, fmt.Errorf("attest: step %d: committing %s: %w", l.Step, t.name, err)
		}
	}
	if l.E != nil {
		seed := commit.DeriveSeed(secret, fmt.Sprintf("model/%d/stage/%d/step/%d/E", owner.ModelID, owner.Stage, l.Step))
		var err error
		if c.E, err = tile.EmbedScheme().CommitQuantized(commit.Rows, l.Vocab, l.Rank, l.E, seed); err != nil {
			return nil, fmt.Errorf("attest: step %d: committing the embedding: %w", l.Step, err)
		}
	}
	return c, nil
}

// Roots are the bound roots that go on chain in the attestation (tile.BoundRoot).
func (c *Committed) Roots() verifytypes.StepCommitment {
	b := func(t tile.Tensor, x *commit.Commitment) []byte { r := tile.BoundRoot(c.Tag, t, x.Root()); return r[:] }
	sc := verifytypes.StepCommitment{
		Step: c.Layer.Step, XRoot: b(tile.TensorX, c.X), WColsRoot: b(tile.TensorWCols, c.WCols), YRoot: b(tile.TensorY, c.Y),
		DyRoot: b(tile.TensorDY, c.DY), WRowsRoot: b(tile.TensorWRows, c.WRows), DxRoot: b(tile.TensorDX, c.DX),
	}
	if c.E != nil {
		sc.Sample = &verifytypes.Sample{Microbatch: c.Layer.Microbatch, ERoot: b(tile.TensorE, c.E)}
	}
	return sc
}

// Open opens the tile challenge ch asks for, of the attestation's tiles t (their rows are the
// layer's), bound to ch: the proof made from it answers ch and no other challenge. An input
// challenge opens the model's public tables too (nil when the stage has no input tile).
func (c *Committed) Open(ch verifytypes.Challenge, t verifytypes.Tiles, tables *tile.Tables) (*tile.Openings, error) {
	if ch.Step != c.Layer.Step {
		return nil, fmt.Errorf("attest: challenge %d is for step %d, the layer is step %d's", ch.Id, ch.Step, c.Layer.Step)
	}
	t.DModel, t.Rows = uint32(c.Layer.D), uint32(c.Layer.Rows)
	s, err := t.Shape(ch.Kind)
	if err != nil {
		return nil, err
	}
	b := tile.Binding{Step: c.Tag, Challenge: verifytypes.ChallengeTag(ch)}
	row, col := int(ch.Row), int(ch.Col)
	switch ch.Kind {
	case verifytypes.CHALLENGE_KIND_FORWARD:
		return tile.Open(s, b, c.X, c.WCols, c.Y, row, col)
	case verifytypes.CHALLENGE_KIND_BACKWARD:
		return tile.Open(s, b, c.DY, c.WRows, c.DX, row, col)
	case verifytypes.CHALLENGE_KIND_INPUT:
		if tables == nil {
			return nil, fmt.Errorf("attest: input challenge %d, and this worker has no compression tables", ch.Id)
		}
		if s.Kind == tile.Embed {
			if c.E == nil || row >= len(c.Layer.IDs) {
				return nil, fmt.Errorf("attest: input challenge %d of stage 0, and step %d kept no embedding or draw", ch.Id, c.Layer.Step)
			}
			return tile.OpenEmbed(s, b, c.X, c.E, tables, row, col, int(c.Layer.IDs[row]))
		}
		id, coords, err := c.Layer.inputToken(row)
		if err != nil {
			return nil, err
		}
		return tile.OpenInput(s, b, c.X, tables, row, col, id, coords)
	default:
		return tile.OpenTie(s, b, c.WRows, c.WCols, row, col)
	}
}
