package tile

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Openings are the prover's answer to a challenge: the opened row of the
// input, the weight block and the opened row of the output (whose block Col
// the tile checks), with the challenge itself.
// For a [Tie] shape ([OpenTie]) In is row Row of W-Rows, W the column block
// Col of W-Columns, Out is nil and OutRoot zero. For an [Input] shape
// ([OpenInput]) In is row Row of X̂, W the rows [Col·T, (Col+1)·T) of U, Out
// is nil and Input holds the rest. An [Embed] shape ([OpenEmbed]) is an
// input one with Input.Coords nil and Embed holding E_small's row instead.
type Openings struct {
	Shape    Shape
	Row, Col int
	In, W    *commit.Opening
	Out      *commit.Opening
	// Input is the token and its table row, for an [Input] or [Embed] shape
	// only.
	Input *InputOpening
	// Embed is the token's row of E_small, for an [Embed] shape only.
	Embed *EmbedOpening
	// Binding is the step's tag and the challenge's digest.
	Binding Binding
	// Bound roots of the three commitments ([BoundRoot]), as they are on
	// chain.
	InRoot, WRoot, OutRoot [32]byte
}

// Open opens the tile (row, col) of the three commitments the trainer made
// of one step (forward: X, W as Columns, Y; backward: dY, W as Rows, dX),
// for the challenge and step of b, checking that their layouts are the
// shape's. The roots it proves for are the commitments' roots bound to b.Step.
// It does not check the tolerance: [Openings.Check] does.
func Open(s Shape, b Binding, in, w, out *commit.Commitment, row, col int) (*Openings, error) {
	switch s.Kind {
	case Tie:
		return nil, fmt.Errorf("tile: %s is a tie shape: open it with OpenTie", s)
	case Input:
		return nil, fmt.Errorf("tile: %s is an input shape: open it with OpenInput", s)
	case Embed:
		return nil, fmt.Errorf("tile: %s is an embed shape: open it with OpenEmbed", s)
	}
	inL, wL, outL, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name      string
		got, want commit.Layout
	}{{"input", in.Layout(), inL}, {"weights", w.Layout(), wL}, {"output", out.Layout(), outL}} {
		if p.got != p.want {
			return nil, fmt.Errorf("tile: %s commitment has layout %+v, shape %s needs %+v", p.name, p.got, s, p.want)
		}
	}
	if err := s.CheckChallenge(uint64(row), uint64(col)); err != nil {
		return nil, err
	}
	tIn, tW, tOut := s.Tensors()
	o := &Openings{
		Shape: s, Row: row, Col: col, Binding: b,
		InRoot: BoundRoot(b.Step, tIn, in.Root()), WRoot: BoundRoot(b.Step, tW, w.Root()), OutRoot: BoundRoot(b.Step, tOut, out.Root()),
	}
	if o.In, err = in.OpenRow(row); err != nil {
		return nil, err
	}
	if o.W, err = w.Open(commit.Block{Index: col, Leaves: s.T}); err != nil {
		return nil, err
	}
	if o.Out, err = out.OpenRow(row); err != nil {
		return nil, err
	}
	return o, nil
}

// OpenTie opens the tie tile (k, c) of the two commitments of a K×N weight
// matrix: row k of wRows (committed as commit.Rows) and the columns
// [c·T, (c+1)·T) of wCols (committed as commit.Columns), checking their
// layouts and the challenge, for the challenge and step of b. [Openings.Check]
// compares the values.
func OpenTie(s Shape, b Binding, wRows, wCols *commit.Commitment, k, c int) (*Openings, error) {
	if s.Kind != Tie {
		return nil, fmt.Errorf("tile: OpenTie of a %s shape", s.Kind)
	}
	rowsL, colsL, _, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if wRows.Layout() != rowsL {
		return nil, fmt.Errorf("tile: weight rows commitment has layout %+v, shape %s needs %+v", wRows.Layout(), s, rowsL)
	}
	if wCols.Layout() != colsL {
		return nil, fmt.Errorf("tile: weight columns commitment has layout %+v, shape %s needs %+v", wCols.Layout(), s, colsL)
	}
	if err := s.CheckChallenge(uint64(k), uint64(c)); err != nil {
		return nil, err
	}
	tIn, tW, _ := s.Tensors()
	o := &Openings{Shape: s, Row: k, Col: c, Binding: b, InRoot: BoundRoot(b.Step, tIn, wRows.Root()), WRoot: BoundRoot(b.Step, tW, wCols.Root())}
	if o.In, err = wRows.OpenRow(k); err != nil {
		return nil, err
	}
	if o.W, err = wCols.OpenColumnBlock(c, s.T); err != nil {
		return nil, err
	}
	return o, nil
}

// checkTie reports, naming it, a weight where the two commitments differ.
func (o *Openings) checkTie() error {
	s := o.Shape
	if len(o.In.Values) != 1 || len(o.In.Values[0]) != s.Outer || len(o.W.Values) != s.T || o.Out != nil {
		return fmt.Errorf("tile: openings do not have shape %s", s)
	}
	for j, col := range o.W.Values {
		if len(col) != s.Inner {
			return fmt.Errorf("tile: column %d has %d values, expected %d", j, len(col), s.Inner)
		}
		n := o.Col*s.T + j
		if r, c := o.In.Values[0][n], col[o.Row]; r != c {
			return fmt.Errorf("tile: weight (%d, %d) is %d in the rows commitment and %d in the columns commitment", o.Row, n, r, c)
		}
	}
	return nil
}

// Deviations are o_j·2^F − Σ_k a_k·b_j[k] for the T outputs, in units of
// 2^-2F: what the circuit bounds by the tolerance.
func (o *Openings) Deviations() ([]int64, error) {
	s := o.Shape
	if s.Kind != Forward && s.Kind != Backward {
		return nil, fmt.Errorf("tile: a %s tile (%s) has no deviations: it checks an exact relation", s.Kind, s)
	}
	if len(o.In.Values) != 1 || len(o.In.Values[0]) != s.Inner || len(o.W.Values) != s.T {
		return nil, fmt.Errorf("tile: openings do not have shape %s", s)
	}
	outs, err := o.outBlock()
	if err != nil {
		return nil, err
	}
	a := o.In.Values[0]
	d := make([]int64, s.T)
	for j, b := range o.W.Values {
		if len(b) != s.Inner {
			return nil, fmt.Errorf("tile: weight leaf %d has %d values, expected %d", j, len(b), s.Inner)
		}
		var dot int64
		for k := range a {
			dot += a[k] * b[k]
		}
		d[j] = outs[j]<<Scheme().Params.FracBits - dot
	}
	return d, nil
}

// outBlock are the T outputs the tile checks: block Col of the opened output
// row.
func (o *Openings) outBlock() ([]int64, error) {
	s := o.Shape
	if o.Out == nil || len(o.Out.Values) != 1 || len(o.Out.Values[0]) != s.Outer {
		return nil, fmt.Errorf("tile: the output opening is not one row of %d values (shape %s)", s.Outer, s)
	}
	return o.Out.Values[0][o.Col*s.T : (o.Col+1)*s.T], nil
}

// Check reports, natively, an output outside the tolerance (for a tie tile,
// a weight on which the two commitments differ; for an input or embed tile,
// an X̂ value that is not the function of the token, or a digest that is not
// the token's), naming it: the trainer's check before it spends time
// proving.
func (o *Openings) Check() error {
	switch o.Shape.Kind {
	case Tie:
		return o.checkTie()
	case Input, Embed:
		return o.checkInput()
	}
	d, err := o.Deviations()
	if err != nil {
		return err
	}
	tol := o.Shape.tol()
	for j, x := range d {
		if x < -tol || x > tol {
			return fmt.Errorf("tile: output (%d, %d) is off by %.2f ULP, tolerance %d ULP",
				o.Row, o.Col*o.Shape.T+j, float64(x)/float64(int64(1)<<Scheme().Params.FracBits), o.Shape.TolULP)
		}
	}
	return nil
}

// Public are the public inputs of the openings' challenge.
func (o *Openings) Public() PublicInputs {
	return PublicInputs{InRoot: o.InRoot, WRoot: o.WRoot, OutRoot: o.OutRoot, Row: uint64(o.Row), Col: uint64(o.Col), Binding: o.Binding.Public()}
}

// Assignment is the full witness assignment of the circuit.
func (o *Openings) Assignment() (*Circuit, error) {
	c, err := o.Public().assignment()
	if err != nil {
		return nil, err
	}
	if o.Shape.Kind.usesTables() {
		if err := o.assignInput(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	c.In, c.W = o.In.Assignment(), o.W.Assignment()
	c.StepTag, c.ChallengeTag = o.Binding.Step, o.Binding.Challenge
	if o.Shape.Kind != Tie {
		outs, err := o.outBlock()
		if err != nil {
			return nil, err
		}
		c.Out = o.Out.Assignment()
		for _, v := range outs {
			c.OutBlock = append(c.OutBlock, v)
		}
	}
	return c, nil
}

// PublicInputs are what the chain knows of a challenge: the three bound roots
// it stored from the attestation (32-byte big-endian, canonical), the row and
// column block it drew itself, and the binding f(step tag, challenge digest)
// it computes from its own state ([Binding.Public]).
//
// For a [Tie] tile: InRoot is the root of W committed as Rows (the backward
// tile's WRoot), WRoot the root of W committed as Columns (the forward tile's
// WRoot), OutRoot is zero (the circuit asserts it), Row the row k < K of W
// and Col the column block c < N/T.
//
// For an [Input] tile: InRoot is X̂'s bound root (the forward tile's InRoot),
// WRoot the model's subspace root ([Tables.Root]), OutRoot
// [InputDigest](id, c) of the challenged row's token, Row the row of X̂ and
// Col the block of T of its d values. An [Embed] tile reads the same, with
// OutRoot [EmbedDigest] of the step's bound e_root ([TensorE]) and the
// challenged row's token id, which the chain takes from its dataset.
type PublicInputs struct {
	InRoot, WRoot, OutRoot [32]byte
	Row, Col               uint64
	Binding                [32]byte
}

// assignment is the public part of the witness, built from the typed fields
// only; a non-canonical root is refused.
func (p PublicInputs) assignment() (*Circuit, error) {
	w, err := p.vector()
	if err != nil {
		return nil, err
	}
	return &Circuit{InRoot: w[0], WRoot: w[1], OutRoot: w[2], Row: w[3], Col: w[4], Binding: w[5]}, nil
}
