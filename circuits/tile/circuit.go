package tile

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Circuit is a tile of shape Shape. Public inputs, in this order: the roots
// of the input A, the weights W and the output, then the challenged row and
// column block. Everything opened is private: the weights never leave the
// prover.
type Circuit struct {
	shape Shape

	InRoot  frontend.Variable `gnark:",public"`
	WRoot   frontend.Variable `gnark:",public"`
	OutRoot frontend.Variable `gnark:",public"`
	Row     frontend.Variable `gnark:",public"`
	Col     frontend.Variable `gnark:",public"`

	// In is row Row of A (one leaf of Inner values).
	In commit.OpeningVars
	// W is block Col of T leaves of the weights: columns (forward) or rows
	// (backward) [Col·T, (Col+1)·T), each Inner values.
	W commit.OpeningVars
	// Out is the T-wide row block (Row, Col) of the output.
	Out commit.OpeningVars
}

// NewCircuit allocates the circuit of a shape, for compiling.
func NewCircuit(s Shape) (*Circuit, error) {
	in, w, out, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	return &Circuit{
		shape: s,
		In:    in.NewOpeningVars(1),
		W:     w.NewOpeningVars(s.T),
		Out:   out.NewOpeningVars(s.T / out.LeafLen),
	}, nil
}

// Define checks the three openings against their roots at the challenged
// indices (which range-checks every opened value to B bits), then for each
// output j: D_j = o_j·2^F − Σ_k a_k·b_j[k] with D_j + Tol and Tol − D_j
// range-checked to tolBits. |Σ a·b| < Inner·2^(2B−2) ≤ 2^50 and the outputs
// are B-bit, so no sum wraps the modulus.
func (c *Circuit) Define(api frontend.API) error {
	s := c.shape
	_, _, outL, err := s.Layouts()
	if err != nil {
		return err
	}
	sc := Scheme()
	if err := sc.AssertOpening(api, c.InRoot, c.Row, c.In); err != nil {
		return fmt.Errorf("tile: input opening: %w", err)
	}
	if err := sc.AssertOpening(api, c.WRoot, c.Col, c.W); err != nil {
		return fmt.Errorf("tile: weight opening: %w", err)
	}
	if err := sc.AssertOpening(api, c.OutRoot, outL.RowBlockIndex(api, c.Row, c.Col, s.T), c.Out); err != nil {
		return fmt.Errorf("tile: output opening: %w", err)
	}
	a := c.In.Values[0]
	outs := make([]frontend.Variable, 0, s.T)
	for _, leaf := range c.Out.Values {
		outs = append(outs, leaf...)
	}
	if len(a) != s.Inner || len(c.W.Values) != s.T || len(outs) != s.T {
		return fmt.Errorf("tile: opening shapes do not match %s", s)
	}
	rc := rangecheck.New(api)
	tol := big.NewInt(s.tol())
	scale := new(big.Int).Lsh(big.NewInt(1), uint(sc.Params.FracBits))
	for j, b := range c.W.Values {
		if len(b) != s.Inner {
			return fmt.Errorf("tile: weight leaf %d has %d values, expected %d", j, len(b), s.Inner)
		}
		var dot frontend.Variable = 0
		for k := range a {
			dot = api.Add(dot, api.Mul(a[k], b[k]))
		}
		d := api.Sub(api.Mul(outs[j], scale), dot)
		rc.Check(api.Add(d, tol), s.tolBits())
		rc.Check(api.Sub(tol, d), s.tolBits())
	}
	return nil
}
