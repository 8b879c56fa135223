package tile

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/std/selector"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Circuit is a tile of shape Shape. Public inputs, in this order: the bound
// roots of the input A, the weights W and the output, the challenged row and
// column block, and the binding of the step and challenge ([Binding]).
// Everything opened is private: the weights never leave the prover.
//
// A [Tie] tile uses the same six public inputs: InRoot is the root of W
// committed as Rows, WRoot the root of W committed as Columns, OutRoot is 0
// (asserted, so the public witness is canonical), Row the row k of W and Col
// the column block c. In is then row k of W-Rows (N values), W the columns
// [c·T, (c+1)·T) of W-Columns (K values each) and Out is empty.
//
// An [Input] tile too: InRoot is X̂'s bound root, WRoot the model's subspace
// root ([Tables.Root], not bound to a step), OutRoot the token digest
// [InputDigest], Row and Col the challenged row of X̂ and block of T of its d
// values. In is then row Row of X̂, W the rows [Col·T, (Col+1)·T) of U, Out
// is empty, OutBlock the T values of X̂ checked, and the fields below
// OutBlock hold the rest (see defineInput).
//
// An [Embed] tile is an input tile whose OutRoot is [EmbedDigest] of
// E_small's bound root and the token id; Embedding and EmbedKey replace
// Token (see defineEmbed).
type Circuit struct {
	shape Shape

	InRoot  frontend.Variable `gnark:",public"`
	WRoot   frontend.Variable `gnark:",public"`
	OutRoot frontend.Variable `gnark:",public"`
	Row     frontend.Variable `gnark:",public"`
	Col     frontend.Variable `gnark:",public"`
	// Binding is f(StepTag, ChallengeTag) ([Binding]): the only public input
	// that names the step and the challenge. It enters a constraint (the
	// hash equality), so its verifying-key term is not zero and a proof
	// verifies for this value only.
	Binding frontend.Variable `gnark:",public"`

	// StepTag and ChallengeTag are the two halves of the binding, private:
	// every root is recomputed as f(f(StepTag, tensor), Merkle root).
	StepTag, ChallengeTag frontend.Variable

	// In is row Row of A (one leaf of Inner values).
	In commit.OpeningVars
	// W is block Col of T leaves of the weights: columns (forward) or rows
	// (backward) [Col·T, (Col+1)·T), each Inner values.
	W commit.OpeningVars
	// Out is row Row of the output (one leaf of Outer values).
	Out commit.OpeningVars
	// OutBlock are the T outputs the tile checks: Out's values
	// [Col·T, (Col+1)·T) (input tile: In's).
	OutBlock []frontend.Variable

	// The input tile's other witnesses. They are slices, empty for the other
	// kinds, so those circuits keep their wires and their keys.
	//
	// Table is row Token[0] of T_ext: T_fixed[id] (d values), then P[id].
	Table commit.OpeningVars
	// TBlock are T_fixed[id][Col·T + j] for j < T.
	TBlock []frontend.Variable
	// SubRoots are the Merkle roots of Uᵀ and T_ext, whose compression is
	// WRoot.
	SubRoots []frontend.Variable
	// Token is (id, c_0, …, c_{k−1}), hashed into OutRoot.
	Token []frontend.Variable
	// Norm are the hints q = floor(S/d) and R = floor(√(q + E)), both
	// constrained.
	Norm []frontend.Variable

	// The embed tile's own witnesses, empty for the other kinds (after the
	// input tile's, so that no other circuit's wires move).
	//
	// Embedding is row EmbedKey[1] of E_small (k values): the coordinates.
	Embedding commit.OpeningVars
	// EmbedKey is (EBound, id): E_small's bound root and the token id, whose
	// compression is OutRoot.
	EmbedKey []frontend.Variable
}

// NewCircuit allocates the circuit of a shape, for compiling.
func NewCircuit(s Shape) (*Circuit, error) {
	in, w, out, err := s.Layouts()
	if err != nil {
		return nil, err
	}
	c := &Circuit{
		shape: s,
		In:    in.NewOpeningVars(1),
		W:     w.NewOpeningVars(s.T),
	}
	switch s.Kind {
	case Tie:
	case Input, Embed: // out is T_ext's layout
		c.Table = out.NewOpeningVars(1)
		c.OutBlock = make([]frontend.Variable, s.T)
		c.TBlock = make([]frontend.Variable, s.T)
		c.SubRoots = make([]frontend.Variable, 2)
		c.Norm = make([]frontend.Variable, 2)
		if s.Kind == Input {
			c.Token = make([]frontend.Variable, 1+s.Inner)
			break
		}
		e, err := s.embedLayout()
		if err != nil {
			return nil, err
		}
		c.Embedding = e.NewOpeningVars(1)
		c.EmbedKey = make([]frontend.Variable, 2)
	default:
		c.Out = out.NewOpeningVars(1)
		c.OutBlock = make([]frontend.Variable, s.T)
	}
	return c, nil
}

// Define checks the three openings against their roots at the challenged
// indices (which range-checks every opened value to B bits), selects the T
// outputs o_j of block Col from the opened output row (packed equality, as
// in defineTie), then
// for each output j: D_j = o_j·2^F − Σ_k a_k·b_j[k] with D_j + Tol and
// Tol − D_j range-checked to tolBits. |Σ a·b| < Inner·2^(2B−2) ≤ 2^50 and
// the outputs are B-bit, so no sum wraps the modulus.
//
// The output is opened as a whole row rather than as the T-wide block
// alone: committing it by rows costs the trainer one leaf per row instead of
// one per T/ChunkLen values, about a tenth of the hashing of a step
// (trainer/attest's overhead benchmark), for Outer more range-checked values
// here and a shorter Merkle path.
func (c *Circuit) Define(api frontend.API) error {
	s := c.shape
	switch s.Kind {
	case Tie:
		return c.defineTie(api)
	case Input:
		return c.defineInput(api)
	case Embed:
		return c.defineEmbed(api)
	}
	sc := Scheme()
	tag, err := c.bind(api)
	if err != nil {
		return err
	}
	tIn, tW, tOut := s.Tensors()
	if err := sc.AssertBoundOpening(api, c.InRoot, tag(tIn), c.Row, c.In); err != nil {
		return fmt.Errorf("tile: input opening: %w", err)
	}
	if err := sc.AssertBoundOpening(api, c.WRoot, tag(tW), c.Col, c.W); err != nil {
		return fmt.Errorf("tile: weight opening: %w", err)
	}
	if err := sc.AssertBoundOpening(api, c.OutRoot, tag(tOut), c.Row, c.Out); err != nil {
		return fmt.Errorf("tile: output opening: %w", err)
	}
	a := c.In.Values[0]
	outs := c.OutBlock
	if len(a) != s.Inner || len(c.W.Values) != s.T || len(c.Out.Values) != 1 || len(c.Out.Values[0]) != s.Outer || len(outs) != s.T {
		return fmt.Errorf("tile: opening shapes do not match %s", s)
	}
	rc := rangecheck.New(api)
	bias := new(big.Int).Lsh(big.NewInt(1), uint(sc.Params.ValueBits-1))
	for _, o := range outs {
		rc.Check(api.Add(o, bias), sc.Params.ValueBits)
	}
	// outs are the block Col of the output row: equal packed groups, which
	// the range checks make injective (see defineTie).
	f := selector.Decoder(api, s.Blocks(), c.Col)
	assertBlock(api, s, f, c.Out.Values[0], outs, sc.Params.ValueBits)
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

// defineTie opens row k (Row) of W-Rows under InRoot and the column block c
// (Col) of W-Columns under WRoot, asserts OutRoot = 0, and checks
// W_rows[k][c·T+j] == W_cols[j][k] for j < T.
//
// Selecting at the variable indices k and c: selector.Decoder builds the
// one-hot vectors e of k over [0, K) and f of c over [0, N/T) (one
// constraint an entry plus one for the sum, and no proof exists for an index
// out of range, so both are bounded exactly even when K or N/T is not a power
// of two; the openings alone bound them too, as padded leaves cannot be
// opened). Rather than selecting T values one by one (T·K products), the
// values are packed linearly, for free: P_i = Σ_j W_cols[j][i]·2^(B·j) for
// each position i of the columns, Q_b = Σ_j W_rows[k][b·T+j]·2^(B·j) for each
// block b of the row, over groups of at most PerElement values. Then
// Σ_i e_i·P_i = Σ_b f_b·Q_b costs K + N/T products a group (measured: 3K +
// 3N/T + 3 constraints in all for T ≤ PerElement, each Decoder entry costing
// two). The packing is
// injective: AssertOpening range-checks every value to v + 2^(B−1) ∈
// [0, 2^B), so the biased packings lie in [0, 2^253) below the modulus, and
// biased and unbiased packings differ by the same constant on both sides.
func (c *Circuit) defineTie(api frontend.API) error {
	s := c.shape
	sc := Scheme()
	tag, err := c.bind(api)
	if err != nil {
		return err
	}
	tIn, tW, _ := s.Tensors()
	if err := sc.AssertBoundOpening(api, c.InRoot, tag(tIn), c.Row, c.In); err != nil {
		return fmt.Errorf("tile: tie row opening: %w", err)
	}
	if err := sc.AssertBoundOpening(api, c.WRoot, tag(tW), c.Col, c.W); err != nil {
		return fmt.Errorf("tile: tie column opening: %w", err)
	}
	api.AssertIsEqual(c.OutRoot, 0)
	if len(c.In.Values) != 1 || len(c.In.Values[0]) != s.Outer || len(c.W.Values) != s.T || len(c.Out.Values) != 0 {
		return fmt.Errorf("tile: opening shapes do not match %s", s)
	}
	row := c.In.Values[0]
	for j, col := range c.W.Values {
		if len(col) != s.Inner {
			return fmt.Errorf("tile: column %d has %d values, expected %d", j, len(col), s.Inner)
		}
	}
	e := selector.Decoder(api, s.Inner, c.Row)
	f := selector.Decoder(api, s.Blocks(), c.Col)
	per := sc.Params.PerElement()
	for g := 0; g < s.T; g += per {
		n := min(per, s.T-g)
		var fromCols frontend.Variable = 0
		for i := range s.Inner {
			fromCols = api.Add(fromCols, api.Mul(e[i], packGroup(api, n, sc.Params.ValueBits, func(j int) frontend.Variable { return c.W.Values[g+j][i] })))
		}
		api.AssertIsEqual(fromCols, blockGroup(api, s, f, row, g, n, sc.Params.ValueBits))
	}
	return nil
}

// bind asserts Binding = f(StepTag, ChallengeTag) and returns the tag of each
// tensor, 8·StepTag + tensor ([TensorTag]), under which its root is opened.
// StepTag is not range-checked here: the hash equality already fixes it to
// the verifier's tag (any other value would be a collision of f), and that
// tag is below 2^250, so the packing is injective.
func (c *Circuit) bind(api frontend.API) (func(Tensor) frontend.Variable, error) {
	h, err := Scheme().Hash.Gadget(api)
	if err != nil {
		return nil, err
	}
	api.AssertIsEqual(h.Compress(c.StepTag, c.ChallengeTag), c.Binding)
	return func(t Tensor) frontend.Variable { return api.Add(api.Mul(c.StepTag, tensorTagShift), int(t)) }, nil
}

// assertBlock asserts vals = row[Col·T, (Col+1)·T) for the one-hot f of Col
// over Blocks(), as equal packings of groups of ⌊253/b⌋ values: Blocks()
// products a group. The caller range-checks vals and row to b bits (biased),
// which makes each packing injective (see defineTie).
func assertBlock(api frontend.API, s Shape, f, row, vals []frontend.Variable, b int) {
	per := commit.Params{ValueBits: b}.PerElement()
	for g := 0; g < s.T; g += per {
		n := min(per, s.T-g)
		api.AssertIsEqual(packGroup(api, n, b, func(j int) frontend.Variable { return vals[g+j] }), blockGroup(api, s, f, row, g, n, b))
	}
}

// packGroup packs n ≤ ⌊253/b⌋ values v(0)…v(n−1) of b bits into
// Σ_j v(j)·2^(b·j): linear, so free in constraints.
func packGroup(api frontend.API, n, b int, v func(j int) frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for j := range n {
		acc = api.Add(acc, api.Mul(v(j), new(big.Int).Lsh(big.NewInt(1), uint(b*j))))
	}
	return acc
}

// blockGroup is Σ_b f_b·packGroup(row[b·T+g+j], j < n): values g…g+n−1 of
// the T-wide block of row that the one-hot f selects, packed, for Blocks()
// products.
func blockGroup(api frontend.API, s Shape, f, row []frontend.Variable, g, n, b int) frontend.Variable {
	var acc frontend.Variable = 0
	for blk := range s.Blocks() {
		acc = api.Add(acc, api.Mul(f[blk], packGroup(api, n, b, func(j int) frontend.Variable { return row[blk*s.T+g+j] })))
	}
	return acc
}
