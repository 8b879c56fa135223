package tile

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/protolearn/protolearn/circuits/commit"
)

// InputOpening is what an [Input] tile opens beyond the row of X̂
// (Openings.In) and the rows [Col·T, (Col+1)·T) of U (Openings.W, leaves of
// Uᵀ committed as Columns): the token, its coordinates and its row of T_ext,
// with the two table roots under the subspace root.
type InputOpening struct {
	// ID is the token id and Coords its k boundary coordinates at 2^-16:
	// public on chain once proved (OutRoot is their digest). An embed tile
	// leaves Coords nil: its coordinates are Openings.Embed's row, private.
	ID     int
	Coords []int64
	// Table is row ID of T_ext: T_fixed[ID] (d values) then P[ID] (k values).
	Table *commit.Opening
	// URoot and TextRoot are the Merkle roots of Uᵀ and T_ext.
	URoot, TextRoot fr.Element
}

// OpenInput opens the input tile (row, col) for token id with quantized
// coordinates c: row `row` of X̂ (x, committed as Rows rows×d with the tiles'
// scheme, bound to b.Step as [TensorX]), the rows [col·T, (col+1)·T) of U and
// row id of T_ext from tables. The public inputs are X̂'s bound root, the
// subspace root and [InputDigest](id, c). It checks layouts, dimensions and
// ranges; [Openings.Check] checks that X̂ is the function of (id, c).
func OpenInput(s Shape, b Binding, x *commit.Commitment, tables *Tables, row, col, id int, c []int64) (*Openings, error) {
	if s.Kind != Input {
		return nil, fmt.Errorf("tile: OpenInput needs an input shape, got %s", s)
	}
	if err := checkCoordinates(c, s.Inner); err != nil {
		return nil, err
	}
	o, err := openInputTile(s, b, x, tables, row, col, id)
	if err != nil {
		return nil, err
	}
	o.OutRoot = InputDigest(id, c)
	o.Input.Coords = append([]int64(nil), c...)
	return o, nil
}

// openInputTile is what OpenInput and OpenEmbed share: the checks of x, the
// tables and the challenge, and the openings of the X̂ row, the U block and
// T_ext's row id. OutRoot and the coordinates are the caller's.
func openInputTile(s Shape, b Binding, x *commit.Commitment, tables *Tables, row, col, id int) (*Openings, error) {
	if x == nil || tables == nil {
		return nil, fmt.Errorf("tile: open %s without the X̂ commitment or the tables", s)
	}
	xL, _, _, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if x.Layout() != xL {
		return nil, fmt.Errorf("tile: X̂ commitment has layout %+v, shape %s needs %+v", x.Layout(), s, xL)
	}
	if tables.d != s.Outer || tables.k != s.Inner || tables.vocab != s.Vocab {
		return nil, fmt.Errorf("tile: tables of d=%d, k=%d, vocab=%d for shape %s", tables.d, tables.k, tables.vocab, s)
	}
	if err := s.CheckChallenge(uint64(row), uint64(col)); err != nil {
		return nil, err
	}
	if id < 0 || id >= s.Vocab {
		return nil, fmt.Errorf("tile: token id %d outside the vocabulary [0, %d)", id, s.Vocab)
	}
	tIn, _, _ := s.Tensors()
	o := &Openings{
		Shape: s, Row: row, Col: col, Binding: b,
		InRoot: BoundRoot(b.Step, tIn, x.Root()), WRoot: tables.Root(),
		Input: &InputOpening{ID: id, URoot: tables.uCom.Root(), TextRoot: tables.tCom.Root()},
	}
	if o.In, err = x.OpenRow(row); err != nil {
		return nil, err
	}
	if o.W, err = tables.uCom.OpenColumnBlock(col, s.T); err != nil {
		return nil, err
	}
	if o.Input.Table, err = tables.tCom.OpenRow(id); err != nil {
		return nil, err
	}
	return o, nil
}

// inputParts are the openings of an input or embed tile split as the
// circuit uses them: the X̂ block, the T_fixed row, the P row, the U rows of
// the block and the coordinates (an embed tile's opened E_small row).
type inputParts struct {
	xBlock, tRow, pRow []int64
	uRows              [][]int64
	coords             []int64
}

// inputParts checks the openings' shapes and splits them.
func (o *Openings) inputParts() (inputParts, error) {
	s, in := o.Shape, o.Input
	d, k := s.Outer, s.Inner
	switch {
	case in == nil || in.Table == nil || o.In == nil || o.W == nil:
		return inputParts{}, fmt.Errorf("tile: %s openings of %s incomplete", s.Kind, s)
	case o.Col < 0 || o.Col >= s.Blocks():
		return inputParts{}, fmt.Errorf("tile: block %d outside the %d blocks of shape %s", o.Col, s.Blocks(), s)
	case len(o.In.Values) != 1 || len(o.In.Values[0]) != d:
		return inputParts{}, fmt.Errorf("tile: the X̂ opening is not one row of %d values (shape %s)", d, s)
	case len(o.W.Values) != s.T:
		return inputParts{}, fmt.Errorf("tile: the U opening has %d rows, expected %d (shape %s)", len(o.W.Values), s.T, s)
	case len(in.Table.Values) != 1 || len(in.Table.Values[0]) != d+k:
		return inputParts{}, fmt.Errorf("tile: the T_ext opening is not one row of %d values (shape %s)", d+k, s)
	}
	coords := in.Coords
	if s.Kind == Embed {
		if o.Embed == nil || o.Embed.Row == nil || len(o.Embed.Row.Values) != 1 {
			return inputParts{}, fmt.Errorf("tile: the E_small opening of %s is not one row", s)
		}
		coords = o.Embed.Row.Values[0]
	}
	if len(coords) != k {
		return inputParts{}, fmt.Errorf("tile: %d coordinates, shape %s has k=%d", len(coords), s, k)
	}
	for j, u := range o.W.Values {
		if len(u) != k {
			return inputParts{}, fmt.Errorf("tile: row %d of U has %d values, expected %d", o.Col*s.T+j, len(u), k)
		}
	}
	ext := in.Table.Values[0]
	lo, hi := o.Col*s.T, (o.Col+1)*s.T
	return inputParts{xBlock: o.In.Values[0][lo:hi], tRow: ext[:d], pRow: ext[d:], uRows: o.W.Values, coords: coords}, nil
}

// checkInput reports, naming it, an X̂ value of the block that is not the
// function of the opened token ([Tables.InputRow]), or a digest that is not
// the token's (for an embed tile, see checkEmbed).
func (o *Openings) checkInput() error {
	p, err := o.inputParts()
	if err != nil {
		return err
	}
	in := o.Input
	if err := checkCoordinates(p.coords, o.Shape.Inner); err != nil {
		return err
	}
	if o.Shape.Kind == Embed {
		if err := o.checkEmbed(); err != nil {
			return err
		}
	} else if InputDigest(in.ID, in.Coords) != o.OutRoot {
		return fmt.Errorf("tile: OutRoot is not the digest of token %d and its coordinates", in.ID)
	}
	n, err := newRowNorm(p.tRow, p.pRow, p.coords)
	if err != nil {
		return fmt.Errorf("tile: token %d: %w", in.ID, err)
	}
	for j, got := range p.xBlock {
		col := o.Col*o.Shape.T + j
		want, err := xhatOf(numerator(p.tRow[col], p.uRows[j], p.coords, n.root), n.root)
		if err != nil {
			return fmt.Errorf("tile: token %d: X̂[%d] = %w", in.ID, col, err)
		}
		if got != want {
			return fmt.Errorf("tile: X̂ (%d, %d) is %d, token %d with its coordinates gives %d", o.Row, col, got, in.ID, want)
		}
	}
	return nil
}

// assignInput sets the private witness of an input or embed tile on a: the
// openings, the token (an embed tile: E_small's row and key), the selected
// blocks and the hints q and R. The hints are computed from the openings as
// they are, so openings that break the relation still give an assignment
// (which the circuit then refuses).
func (o *Openings) assignInput(a *Circuit) error {
	p, err := o.inputParts()
	if err != nil {
		return err
	}
	in := o.Input
	n, err := newRowNorm(p.tRow, p.pRow, p.coords)
	if err != nil {
		return fmt.Errorf("tile: token %d: %w", in.ID, err)
	}
	a.In, a.W, a.Table = o.In.Assignment(), o.W.Assignment(), in.Table.Assignment()
	a.StepTag, a.ChallengeTag = o.Binding.Step, o.Binding.Challenge
	a.SubRoots = []frontend.Variable{in.URoot, in.TextRoot}
	if o.Shape.Kind == Embed {
		o.assignEmbed(a)
	} else {
		for _, e := range tokenElements(in.ID, in.Coords) {
			a.Token = append(a.Token, e)
		}
	}
	for j, x := range p.xBlock {
		a.OutBlock = append(a.OutBlock, x)
		a.TBlock = append(a.TBlock, p.tRow[o.Col*o.Shape.T+j])
	}
	a.Norm = []frontend.Variable{n.q, n.root}
	return nil
}
