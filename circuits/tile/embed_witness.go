package tile

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/protolearn/protolearn/circuits/commit"
)

// EmbedOpening is what an [Embed] tile opens beyond an input tile's
// (Openings.Input, with Coords nil): row ID of the worker's embedding
// E_small, whose k values are the coordinates. Both stay private.
type EmbedOpening struct {
	// Row opens row ID of E_small ([EmbedScheme], k values at 2^-16).
	Row *commit.Opening
	// Root is E_small's Merkle root; on chain is its bound root
	// BoundRoot(step, TensorE, Root).
	Root fr.Element
}

// OpenEmbed opens the embed tile (row, col) for token id, stage 0's input
// tile: row `row` of X̂ (x, committed as Rows rows×d with the tiles' scheme,
// bound to b.Step as [TensorX]), row id of E_small (e, from
// [CommitEmbedding], bound to b.Step as [TensorE]), and the rows
// [col·T, (col+1)·T) of U and row id of T_ext from tables. The coordinates
// are E_small[id]. The public inputs are X̂'s bound root, the subspace root
// and [EmbedDigest](BoundRoot(b.Step, TensorE, e's root), id). It checks
// layouts, dimensions and ranges; [Openings.Check] checks that X̂ is the
// function of (id, E_small[id]).
func OpenEmbed(s Shape, b Binding, x, e *commit.Commitment, tables *Tables, row, col, id int) (*Openings, error) {
	if s.Kind != Embed {
		return nil, fmt.Errorf("tile: OpenEmbed needs an embed shape, got %s", s)
	}
	eL, err := s.embedLayout()
	if err != nil {
		return nil, err
	}
	if err := checkEmbedding(e); err != nil {
		return nil, err
	}
	if e.Layout() != eL {
		return nil, fmt.Errorf("tile: embedding commitment has layout %+v, shape %s needs %+v (vocab×k)", e.Layout(), s, eL)
	}
	o, err := openInputTile(s, b, x, tables, row, col, id)
	if err != nil {
		return nil, err
	}
	o.Embed = &EmbedOpening{Root: e.Root()}
	if o.Embed.Row, err = e.OpenRow(id); err != nil {
		return nil, err
	}
	// E_small's values are in the coordinates' range: EmbedScheme is their
	// format, which checkEmbedding enforced.
	if o.OutRoot, err = EmbedDigest(BoundRoot(b.Step, TensorE, o.Embed.Root), id); err != nil {
		return nil, err
	}
	return o, nil
}

// eBound is E_small's bound root for the openings' step.
func (o *Openings) eBound() fr.Element {
	return Scheme().BindRoot(TensorTag(o.Binding.Step, TensorE), o.Embed.Root)
}

// checkEmbed reports, natively, what the embed circuit adds to the input
// relation: OutRoot that is not EmbedDigest of the step's E_small and the
// token, or an E_small row that does not open at the token under its root.
// inputParts has checked the row's shape.
func (o *Openings) checkEmbed() error {
	id := o.Input.ID
	eb := o.eBound()
	want, err := EmbedDigest(eb.Bytes(), id)
	if err != nil {
		return err
	}
	if want != o.OutRoot {
		return fmt.Errorf("tile: OutRoot is not the digest of token %d and the step's bound E_small root", id)
	}
	l, err := o.Shape.embedLayout()
	if err != nil {
		return err
	}
	b, err := l.Row(id)
	if err != nil {
		return fmt.Errorf("tile: token %d: %w", id, err)
	}
	if err := EmbedScheme().Verify(l, o.Embed.Root, b, o.Embed.Row); err != nil {
		return fmt.Errorf("tile: row %d of E_small: %w", id, err)
	}
	return nil
}

// assignEmbed sets the embed tile's own witness: E_small's row and
// (EBound, id).
func (o *Openings) assignEmbed(a *Circuit) {
	var id fr.Element
	id.SetInt64(int64(o.Input.ID))
	a.Embedding = o.Embed.Row.Assignment()
	a.EmbedKey = []frontend.Variable{o.eBound(), id}
}
