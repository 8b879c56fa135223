package attest

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/payload"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Input is what a tapped step received: the receipt its commitment carries (the activations
// the stage before sent; on stage 0 the gradient stage 1 sent back), and after the first stage
// the payload encoding the receipt's digest names (the tapped microbatch's activations), from
// which the attester derives X and opens a token when an input challenge comes.
type Input struct {
	Receipt *verifytypes.BoundaryReceipt
	Payload []byte
	// Microbatch is the tapped microbatch's id: on stage 0, the draw whose dataset windows it
	// holds (the step's sample), Draw its index in the worker's sequence (types.DrawID) and
	// OtherDraws those of the step's other microbatches.
	Microbatch, Draw uint64
	OtherDraws       []uint64
	// Others are the receipts of the step's other microbatches (the commitment's other_inputs).
	Others []*verifytypes.BoundaryReceipt
	// Grads are, on a middle stage, the receipts of the gradients the stage after sent back for
	// the designated microbatch and the others, in that order (grad_inputs).
	Grads []*verifytypes.BoundaryReceipt
	// StateRoot is the root of the stage's state before the step's first update: an
	// attestation starting with this step starts there (state_root). LogHead is the replay
	// log's head there (log_head).
	StateRoot, LogHead [32]byte
	// EndRoot and EndHead are the same after the step's last update: an attestation ending
	// with this step ends there (end_state_root, end_log_head).
	EndRoot, EndHead [32]byte
}

// withInputs is r with the input receipts of c (input, other_inputs, grad_inputs): a step's
// inputs are the same whatever number it is committed under.
func withInputs(r, c verifytypes.StepCommitment) verifytypes.StepCommitment {
	r.Input, r.OtherInputs, r.GradInputs = c.Input, c.OtherInputs, c.GradInputs
	if r.Sample != nil && c.Sample != nil {
		s := *r.Sample
		s.Draw, s.OtherDraws = c.Sample.Draw, c.Sample.OtherDraws
		r.Sample = &s
	}
	return r
}

// NewDerivedLayer is NewLayer for a stage whose designated input derives from a received payload
// of subspace coordinates: X is not the engine's X̂ but the input tile's exact integer function
// of each token's (id, coordinates) and the model's public tables (tile.Tables.InputRow), so that
// every row of X can be proven to come from the payload. The engine's X̂ (x, the same function in
// float) is the check that the payload is the one training used: a row that differs from it by
// more than maxDrift ULP means the payload is not this step's, and the layer is refused.
func NewDerivedLayer(step uint64, tables *tile.Tables, body []byte, x, w, dy []float32) (*Layer, error) {
	pl, err := payload.Decode(body, payload.Limits{})
	if err != nil {
		return nil, fmt.Errorf("attest: step %d input payload: %w", step, err)
	}
	d, k := tables.D(), tables.K()
	rows := int(pl.Batch) * int(pl.Seq)
	switch {
	case pl.Kind != payload.Activations || !pl.Compressed || int(pl.Width) != k:
		return nil, fmt.Errorf("attest: step %d input payload is %v of width %d (compressed %t); want compressed activations of width %d", step, pl.Kind, pl.Width, pl.Compressed, k)
	case len(x) != rows*d:
		return nil, fmt.Errorf("attest: step %d: the payload has %d tokens, the tapped input %d values of width %d", step, rows, len(x), d)
	}
	xq, err := deriveX(step, tables, rows, x, "the payload", "the payload is not the one this step trained on", func(r int) (int, []int64, error) {
		c, err := tile.QuantizeCoordinates(pl.Data[r*k : (r+1)*k])
		return int(pl.IDs[r]), c, err
	})
	if err != nil {
		return nil, err
	}
	l, err := newLayer(step, rows, d, xq, w, dy)
	if err != nil {
		return nil, err
	}
	l.Input = body
	return l, nil
}

// deriveX is the rows of X the input tile proves, token by token (token gives the id and the
// quantized coordinates of row r), each checked against the engine's float X̂ x: a row more than
// maxDrift from it means the input named (from, in the error) is not what training used (why).
func deriveX(step uint64, tables *tile.Tables, rows int, x []float32, from, why string, token func(r int) (int, []int64, error)) ([]int64, error) {
	d := tables.D()
	engine, err := scheme().Params.Quantize(x)
	if err != nil {
		return nil, fmt.Errorf("attest: step %d input: %w", step, err)
	}
	xq := make([]int64, 0, rows*d)
	for r := range rows {
		id, c, err := token(r)
		if err != nil {
			return nil, fmt.Errorf("attest: step %d token %d: %w", step, r, err)
		}
		row, err := tables.InputRow(id, c)
		if err != nil {
			return nil, fmt.Errorf("attest: step %d token %d: %w", step, r, err)
		}
		for j, v := range row {
			if e := engine[r*d+j]; v-e > maxDrift || e-v > maxDrift {
				return nil, fmt.Errorf("attest: step %d token %d: X[%d] derived from %s is %d, the engine computed %d (2^-8 units): %s", step, r, j, from, v, e, why)
			}
		}
		xq = append(xq, row...)
	}
	return xq, nil
}

// maxDrift is how far (in 2^-8 units) the derived X may be from the engine's float X̂: both
// compute v/‖v‖ of the same v, one in exact integers from 2^-16-quantized tables, one in the
// engine's float32, so they differ by rounding only; a different payload differs by far more.
const maxDrift = 8

// FoldGain is diag(g)·w for w of d×d row-major: the query weights with the norm's gain folded
// in, the W of the designated layer Y = X̂·W.
func FoldGain(g, w []float32, d int) ([]float32, error) {
	if len(g) != d || len(w) != d*d {
		return nil, fmt.Errorf("attest: a gain of %d and weights of %d values for width %d", len(g), len(w), d)
	}
	out := make([]float32, d*d)
	for i := range d {
		for j := range d {
			out[i*d+j] = float32(float64(g[i]) * float64(w[i*d+j]))
		}
	}
	return out, nil
}

// OpenInput is the token the input challenge ch asks for, opened from the stored payload, as
// the response carries it.
func (l *Layer) OpenInput(ch verifytypes.Challenge) (*verifytypes.TokenOpening, error) {
	if l.Input == nil {
		return nil, fmt.Errorf("attest: step %d kept no input payload to open for challenge %d", l.Step, ch.Id)
	}
	o, err := payload.OpenToken(l.Input, uint64(ch.Row))
	if err != nil {
		return nil, err
	}
	out := &verifytypes.TokenOpening{Header: o.Header, Token: o.Token, Leaf: o.Leaf}
	for _, s := range o.Siblings {
		out.Siblings = append(out.Siblings, s[:])
	}
	return out, nil
}

// inputToken is the id and quantized coordinates of token row of the stored payload.
func (l *Layer) inputToken(row int) (int, []int64, error) {
	if l.Input == nil {
		return 0, nil, fmt.Errorf("attest: step %d kept no input payload", l.Step)
	}
	pl, err := payload.Decode(l.Input, payload.Limits{})
	if err != nil {
		return 0, nil, fmt.Errorf("attest: step %d input payload: %w", l.Step, err)
	}
	k := int(pl.Width)
	if row < 0 || row >= len(pl.IDs) {
		return 0, nil, fmt.Errorf("attest: step %d: token %d of %d", l.Step, row, len(pl.IDs))
	}
	c, err := tile.QuantizeCoordinates(pl.Data[row*k : (row+1)*k])
	return int(pl.IDs[row]), c, err
}
