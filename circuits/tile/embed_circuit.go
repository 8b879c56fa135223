package tile

import (
	"fmt"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
)

// defineEmbed proves that the T values X̂[Row, Col·T:(Col+1)·T) of the row
// opened under InRoot are [Tables.InputRow] of token id with coordinates
// c = E_small[id], the worker's own committed embedding row, over the
// tables under WRoot. EBound and id are private:
//
//  1. f(EBound, id) = OutRoot ([EmbedDigest]): the chain computes OutRoot
//     from the step's e_root and the id it drew from the dataset, so both
//     are the chain's, and id is the token of the challenged row;
//  2. row id of E_small opens under EBound bound to the step as [TensorE]
//     ([EmbedScheme]), which range-checks its k values to [CoordBits] bits:
//     the input tile's check on c, so its bounds (input.go) hold;
//  3. the input tile's relation with c the opened row: the X̂ row under
//     InRoot, U and T_ext under WRoot (T_ext's row id too), and X̂'s block
//     the function of them (openInputRows, assertInputRow).
//
// id is a Merkle index of both E_small and T_ext (vocab leaves each), so it
// is below the vocabulary: padded leaves cannot be opened.
func (c *Circuit) defineEmbed(api frontend.API) error {
	if err := c.checkInputVars(); err != nil {
		return err
	}
	s := c.shape
	if len(c.EmbedKey) != 2 || len(c.Embedding.Values) != 1 || len(c.Embedding.Values[0]) != s.Inner || len(c.Token) != 0 {
		return fmt.Errorf("tile: embed witness shapes do not match %s", s)
	}
	tag, err := c.bind(api)
	if err != nil {
		return err
	}
	eBound, id := c.EmbedKey[0], c.EmbedKey[1]
	h, err := c.openInputRows(api, tag, id)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(eBound, id), c.OutRoot)
	if err := EmbedScheme().AssertBoundOpening(api, eBound, tag(TensorE), id, c.Embedding); err != nil {
		return fmt.Errorf("tile: E_small opening: %w", err)
	}
	c.assertInputRow(api, rangecheck.New(api), c.Embedding.Values[0])
	return nil
}
