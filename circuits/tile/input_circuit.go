package tile

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/std/selector"

	"github.com/protolearn/protolearn/circuits/commit"
)

// defineInput proves that the T values X̂[Row, Col·T:(Col+1)·T) of the row
// opened under InRoot are [Tables.InputRow] of the token whose digest is
// OutRoot, over the tables under WRoot:
//
//  1. the row of X̂ opens under InRoot bound to the step as [TensorX];
//  2. f(SubRoots) = WRoot, U's rows [Col·T, (Col+1)·T) open under SubRoots[0]
//     and T_ext's row id under SubRoots[1] (unbound: the tables are a model
//     constant), so the table row is the token's;
//  3. the chain of (id, c) is OutRoot, each c_i is 32-bit;
//  4. OutBlock and TBlock are block Col of the X̂ row and of the T_fixed row
//     (packed equalities, as in Define);
//  5. S = Σ t_j² + 2·Σ c_i·p_i + Σ c_i² equals q·d + r' with q < 2^64 and
//     0 ≤ r' < d: q = floor(S/d) and S ≥ 0;
//  6. with M = q + E: 0 ≤ M − R² and 0 ≤ (R+1)² − 1 − M, R < 2^32: R = floor(√M);
//  7. for each j: e_j = 2·V_j + R·2^8 − X̂_j·R·2^9 ∈ [0, R·2^9), so
//     X̂_j = floor((2·V_j + R·2^8) / (R·2^9)).
//
// r' and e_j are linear in the witness, so they need no hint of their own.
// The widths, and why no equation wraps the modulus, are at qBits (input.go).
// Steps 1, 2 and 4–7 are shared with the embed tile (openInputRows,
// assertInputRow); only where (id, c) come from differs.
func (c *Circuit) defineInput(api frontend.API) error {
	if err := c.checkInputVars(); err != nil {
		return err
	}
	if len(c.Token) != 1+c.shape.Inner {
		return fmt.Errorf("tile: input witness shapes do not match %s", c.shape)
	}
	tag, err := c.bind(api)
	if err != nil {
		return err
	}
	id, coords := c.Token[0], c.Token[1:]
	h, err := c.openInputRows(api, tag, id)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Chain(0, c.Token...), c.OutRoot)
	rc := rangecheck.New(api)
	for _, x := range coords {
		rc.Check(api.Add(x, pow2(CoordBits-1)), CoordBits)
	}
	c.assertInputRow(api, rc, coords)
	return nil
}

// checkInputVars reports witness slices of the wrong size for an input or
// embed shape (a circuit built by hand rather than by NewCircuit).
func (c *Circuit) checkInputVars() error {
	s := c.shape
	d, k := s.Outer, s.Inner
	if len(c.In.Values) != 1 || len(c.In.Values[0]) != d || len(c.W.Values) != s.T || len(c.Table.Values) != 1 ||
		len(c.Table.Values[0]) != d+k || len(c.OutBlock) != s.T || len(c.TBlock) != s.T ||
		len(c.SubRoots) != 2 || len(c.Norm) != 2 {
		return fmt.Errorf("tile: %s witness shapes do not match %s", s.Kind, s)
	}
	for j, u := range c.W.Values {
		if len(u) != k {
			return fmt.Errorf("tile: row %d of the U block has %d values, expected %d", j, len(u), k)
		}
	}
	return nil
}

// openInputRows is steps 1 and 2 of defineInput: the X̂ row under InRoot
// bound as [TensorX], the U block at Col and the T_ext row at id under the
// subspace root WRoot. It returns the hash gadget for the caller's digest.
func (c *Circuit) openInputRows(api frontend.API, tag func(Tensor) frontend.Variable, id frontend.Variable) (commit.HashGadget, error) {
	sc, ts := Scheme(), TablesScheme()
	tIn, _, _ := c.shape.Tensors()
	if err := sc.AssertBoundOpening(api, c.InRoot, tag(tIn), c.Row, c.In); err != nil {
		return nil, fmt.Errorf("tile: X̂ opening: %w", err)
	}
	h, err := sc.Hash.Gadget(api)
	if err != nil {
		return nil, err
	}
	uRoot, textRoot := c.SubRoots[0], c.SubRoots[1]
	api.AssertIsEqual(h.Compress(uRoot, textRoot), c.WRoot)
	if err := ts.AssertOpening(api, uRoot, c.Col, c.W); err != nil {
		return nil, fmt.Errorf("tile: U opening: %w", err)
	}
	if err := ts.AssertOpening(api, textRoot, id, c.Table); err != nil {
		return nil, fmt.Errorf("tile: T_ext opening: %w", err)
	}
	return h, nil
}

// assertInputRow is steps 4–7 of defineInput for coordinates the caller has
// range-checked to [CoordBits] bits: the X̂ and t blocks, S = q·d + r', R =
// floor(√(q + E)) and each X̂_j of the block.
func (c *Circuit) assertInputRow(api frontend.API, rc frontend.Rangechecker, coords []frontend.Variable) {
	s := c.shape
	d := s.Outer
	xBits, tBits := Scheme().Params.ValueBits, TablesScheme().Params.ValueBits
	for j := range s.T {
		rc.Check(api.Add(c.OutBlock[j], pow2(xBits-1)), xBits)
		rc.Check(api.Add(c.TBlock[j], pow2(tBits-1)), tBits)
	}
	ext := c.Table.Values[0]
	tRow, pRow := ext[:d], ext[d:]
	f := selector.Decoder(api, s.Blocks(), c.Col)
	assertBlock(api, s, f, c.In.Values[0], c.OutBlock, xBits)
	assertBlock(api, s, f, tRow, c.TBlock, tBits)

	// S and its division by d.
	var tt, cp, cc frontend.Variable = 0, 0, 0
	for _, t := range tRow {
		tt = api.Add(tt, api.Mul(t, t))
	}
	for i, x := range coords {
		cp = api.Add(cp, api.Mul(x, pRow[i]))
		cc = api.Add(cc, api.Mul(x, x))
	}
	sum := api.Add(tt, api.Mul(cp, 2), cc)
	q, root := c.Norm[0], c.Norm[1]
	rem := api.Sub(sum, api.Mul(q, d))
	rc.Check(q, qBits)
	dBits := bits.Len(uint(d - 1))
	rc.Check(rem, dBits)
	if d&(d-1) != 0 { // r' < 2^dBits = d already when d is a power of two
		rc.Check(api.Sub(d-1, rem), dBits)
	}

	// R = floor(√M). With the two checks on M − R² and (R+1)² − 1 − M, the
	// bound on q implies the one on R and conversely; both are kept (a few
	// constraints) so that neither rests on the other.
	m := api.Add(q, NormEpsilon)
	r2 := api.Mul(root, root)
	rc.Check(root, rootBits)
	rc.Check(api.Sub(m, r2), sqrtBits)
	rc.Check(api.Sub(api.Add(r2, api.Mul(root, 2)), m), sqrtBits) // (R+1)² − 1 − M

	// X̂_j = floor((2·V_j + R·2^8) / (R·2^9)).
	den := api.Mul(root, 1<<9)
	for j, u := range c.W.Values {
		v := api.Mul(c.TBlock[j], 1<<CoordFracBits)
		for i, x := range coords {
			v = api.Add(v, api.Mul(x, u[i]))
		}
		e := api.Sub(api.Add(api.Mul(v, 2), api.Mul(root, 1<<8)), api.Mul(c.OutBlock[j], den))
		rc.Check(e, remBits)
		rc.Check(api.Sub(den, 1, e), remBits)
	}
}

func pow2(n int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(n)) }
