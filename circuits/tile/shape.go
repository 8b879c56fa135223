// Package tile holds the spot-check circuits of training work (docs/ARCHITECTURE.md,
// "Commitments and proofs"): a forward tile (Y = X·W) and a backward tile
// (dX = dY·Wᵀ), each proving that one challenged tile of a committed matrix
// product is right within a tolerance, plus the Groth16 prover and the
// strict verifier the chain calls.
//
// Both tiles are the same circuit over a different layout of the weights:
// an opened row a of an input matrix A (rows×Inner, committed as Rows), T
// opened weight vectors b_0…b_{T-1} of length Inner (one aligned subtree of
// W's commitment), and T outputs o_j (block Col of the opened row of the
// output, committed as Rows), with |o_j·2^F − Σ_k a_k·b_j[k]| ≤ Tol.
//
//   - Forward: A = X (rows×K), W (K×N) committed as Columns so leaf j is
//     column j, output Y (rows×N). Inner = K, Outer = N.
//   - Backward: A = dY (rows×N), W (K×N) committed a second time as Rows so
//     leaf j is row j of W, output dX (rows×K). Inner = N, Outer = K.
//
// A third circuit, the tie tile, binds the two commitments of W to the same
// matrix: for a challenged row k and column block c it opens row k of W-Rows
// and columns [c·T, (c+1)·T) of W-Columns and checks the T values where they
// cross are equal (see [Tie]).
//
// A fourth, the input tile, proves that T values of a committed row of the
// layer's input X̂ are an exact integer function of the token and boundary
// coordinates the stage received and of public tables ([Input], [Tables]).
// A fifth, the embed tile, is the same function for stage 0, whose
// coordinates are its own committed embedding row of the token ([Embed]).
package tile

import (
	"fmt"
	"math/bits"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Kind says which product a tile checks.
type Kind uint8

const (
	// Forward checks Y = X·W: W committed as commit.Columns.
	Forward Kind = iota + 1
	// Backward checks dX = dY·Wᵀ: W committed as commit.Rows.
	Backward
	// Tie checks that W committed as commit.Rows (the backward tile's) and W
	// committed as commit.Columns (the forward tile's) agree on T values:
	// W_rows[k][c·T+j] == W_cols[j][k] for j < T, exactly. Without it a
	// worker could pass the forward checks with W and the backward checks
	// with another W'.
	Tie
	// Input checks that T values of a row of X̂ (the forward tile's X) are
	// [Tables.InputRow] of a token id and its boundary coordinates C, over
	// the model's public subspace tables: X̂ derives from what the stage
	// received. Exact.
	Input
	// Embed is Input for stage 0, which receives nothing: C is row id of the
	// worker's own embedding E_small, committed as [TensorE], and id a token
	// of the dataset that the chain supplies ([EmbedDigest]). Exact.
	Embed
)

func (k Kind) String() string {
	switch k {
	case Forward:
		return "forward"
	case Backward:
		return "backward"
	case Tie:
		return "tie"
	case Input:
		return "input"
	case Embed:
		return "embed"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// Shape fixes a tile circuit at compile time: one compiled circuit, and one
// pair of keys, per Shape.
//
// For a [Tie] shape of a K×N weight matrix the fields read: Rows = Inner = K
// (a challenge names a row k < Rows, and W is Inner×Outer as in the forward
// tile), Outer = N, T the width of the column block, and TolULP = 0 (the
// check is exact), e.g. "tie-1024x1024x1024-T4-tol0".
//
// For an [Input] shape: Rows are X̂'s rows, Inner = k (the subspace
// dimension), Outer = d (the width of X̂), Vocab the number of tokens, T the
// width of the checked block of X̂'s row, and TolULP = 0, e.g.
// "input-256x20x2048-V256-T4-tol0". An [Embed] shape reads the same, e.g.
// "embed-256x20x2048-V256-T4-tol0", and also fixes the layout of E_small
// (Vocab rows of Inner values).
type Shape struct {
	Kind Kind
	// Rows is the number of rows of the input A and the output (batch×seq).
	Rows int
	// Inner is the length of a dot product: K forward, N backward.
	Inner int
	// Outer is the number of output columns: N forward, K backward.
	Outer int
	// T is the tile width: T outputs are checked, a power of two dividing
	// Outer.
	T int
	// TolULP is the tolerance in units in the last place of the output
	// (2^-F): the circuit accepts |o·2^F − Σ a·b| ≤ TolULP·2^F, where Σ a·b
	// carries 2F fraction bits. See [DefaultTolULP].
	TolULP int
	// Vocab is the number of tokens, for an [Input] or [Embed] shape only (0
	// for the others).
	Vocab int
}

// Scheme is the commitment scheme of every tile: commit.DefaultScheme.
func Scheme() commit.Scheme { return commit.DefaultScheme() }

// DefaultTolULP is the tolerance the standard shapes use for dot products of
// length inner: max(4, inner/16) ULP of the output.
//
// Rounding the exact product to the output format costs ½ ULP. The rest is
// the GPU's float32 accumulation (not bit-reproducible: order and fused
// multiply-adds vary), whose error grows with the length of the sum: about
// inner·2^-24 relative to Σ|a·b|, and in practice ~√inner of that. With values
// below ±128 at 1/256 resolution, inner/16 ULP (= inner/4096 in value) leaves
// room for that drift while a cheat must stay within a few hundredths of a
// unit per output of a 1024-long sum. The trainer must compute the attested
// layer on the dequantized values it commits: the error of quantizing the
// inputs is not covered (it grows like inner·ULP and would swamp any
// meaningful tolerance).
func DefaultTolULP(inner int) int { return max(4, inner/16) }

// Validate reports a shape no circuit can be built for.
func (s Shape) Validate() error {
	if s.Kind < Forward || s.Kind > Embed {
		return fmt.Errorf("tile: unknown kind %d", s.Kind)
	}
	exact := s.Kind == Tie || s.Kind.usesTables()
	tolOK := s.TolULP > 0 && s.TolULP <= 1<<20
	if exact {
		tolOK = s.TolULP == 0
	}
	switch {
	case s.Rows <= 0 || s.Inner <= 0 || s.Outer <= 0:
		return fmt.Errorf("tile: %s shape %dx%d·%d: dimensions must be positive", s.Kind, s.Rows, s.Inner, s.Outer)
	case s.T <= 0 || s.T&(s.T-1) != 0 || s.Outer%s.T != 0:
		return fmt.Errorf("tile: width %d must be a power of two and divide %d", s.T, s.Outer)
	case !tolOK && exact:
		return fmt.Errorf("tile: %s shape with tolerance %d ULP: the check is exact, tolerance must be 0", s.Kind, s.TolULP)
	case !tolOK:
		return fmt.Errorf("tile: tolerance %d ULP outside [1, 2^20]", s.TolULP)
	case s.Kind == Tie && s.Rows != s.Inner:
		return fmt.Errorf("tile: tie shape with %d rows and inner dimension %d: both are K, the rows of W", s.Rows, s.Inner)
	case s.Inner > 1<<20:
		return fmt.Errorf("tile: inner dimension %d above 2^20", s.Inner)
	case !s.Kind.usesTables() && s.Vocab != 0:
		return fmt.Errorf("tile: %s shape with a vocabulary of %d: only input and embed shapes have one", s.Kind, s.Vocab)
	case s.Kind.usesTables():
		if err := s.validateInput(); err != nil {
			return err
		}
	}
	for _, l := range s.layoutsNoCheck() {
		if l.kind == 0 {
			continue
		}
		if _, err := Scheme().Layout(l.kind, l.rows, l.cols); err != nil {
			return fmt.Errorf("tile: %w", err)
		}
	}
	return nil
}

// usesTables reports the kinds that check [Tables.InputRow] over the
// subspace tables: input and embed.
func (k Kind) usesTables() bool { return k == Input || k == Embed }

// validateInput checks what only an input or embed shape needs: the bounds
// its integer function is proved for (input.go), k < d ≤ 2^20, and a
// vocabulary.
func (s Shape) validateInput() error {
	switch {
	case s.Vocab <= 0 || s.Vocab > maxVocab:
		return fmt.Errorf("tile: %s shape with a vocabulary of %d outside [1, 2^24]", s.Kind, s.Vocab)
	case s.Inner >= s.Outer:
		return fmt.Errorf("tile: %s shape with k=%d and d=%d: the subspace dimension must be below d", s.Kind, s.Inner, s.Outer)
	case s.Outer > maxTableDim:
		return fmt.Errorf("tile: %s shape with d=%d above 2^20", s.Kind, s.Outer)
	}
	return nil
}

// String names the shape, e.g. "forward-256x1024x1024-T4-tol64",
// "tie-1024x1024x1024-T4-tol0", "input-256x20x2048-V256-T4-tol0" or
// "embed-256x20x2048-V256-T4-tol0".
func (s Shape) String() string {
	if s.Kind.usesTables() {
		return fmt.Sprintf("%s-%dx%dx%d-V%d-T%d-tol%d", s.Kind, s.Rows, s.Inner, s.Outer, s.Vocab, s.T, s.TolULP)
	}
	return fmt.Sprintf("%s-%dx%dx%d-T%d-tol%d", s.Kind, s.Rows, s.Inner, s.Outer, s.T, s.TolULP)
}

type layoutSpec struct {
	kind       commit.Kind
	rows, cols int
}

// layoutsNoCheck are the specs of the three layouts; a tie shape has no
// output, and its spec is the zero one. An input or embed shape's second and
// third are the tables' (Uᵀ and T_ext), committed with [TablesScheme]: Rows
// and Columns layouts do not depend on the number format, so [Scheme]'s
// Layout gives the same geometry. (An embed shape's fourth, E_small, is
// [Shape.embedLayout].)
func (s Shape) layoutsNoCheck() [3]layoutSpec {
	switch s.Kind {
	case Tie:
		return [3]layoutSpec{{commit.Rows, s.Inner, s.Outer}, {commit.Columns, s.Inner, s.Outer}, {}}
	case Input, Embed:
		return [3]layoutSpec{{commit.Rows, s.Rows, s.Outer}, {commit.Columns, s.Inner, s.Outer}, {commit.Rows, s.Vocab, s.Outer + s.Inner}}
	}
	in := layoutSpec{commit.Rows, s.Rows, s.Inner}
	out := layoutSpec{commit.Rows, s.Rows, s.Outer}
	if s.Kind == Forward {
		return [3]layoutSpec{in, {commit.Columns, s.Inner, s.Outer}, out}
	}
	return [3]layoutSpec{in, {commit.Rows, s.Outer, s.Inner}, out}
}

// Layouts are the commitment layouts of the input A, the weights and the
// output: forward X Rows(rows×K), W Columns(K×N), Y Rows(rows×N);
// backward dY Rows(rows×N), W Rows(K×N), dX Rows(rows×K); tie W
// Rows(K×N), W Columns(K×N) and the zero Layout (no output); input X̂
// Rows(rows×d), Uᵀ Columns(k×d) and T_ext Rows(vocab×(d+k)), and the same
// for embed.
func (s Shape) Layouts() (in, w, out commit.Layout, err error) {
	if err = s.Validate(); err != nil {
		return
	}
	ls := s.layoutsNoCheck()
	sc := Scheme()
	in, _ = sc.Layout(ls[0].kind, ls[0].rows, ls[0].cols)
	w, _ = sc.Layout(ls[1].kind, ls[1].rows, ls[1].cols)
	if ls[2].kind != 0 {
		out, _ = sc.Layout(ls[2].kind, ls[2].rows, ls[2].cols)
	}
	return
}

// Blocks is the number of column blocks: a challenge names a row in
// [0, Rows) and a column block in [0, Blocks()) (for a tie shape, a row k < K
// of W and a block of T of its N columns).
func (s Shape) Blocks() int { return s.Outer / s.T }

// tol is the tolerance in units of 2^-2F, and tolBits the width of the two
// range checks: both D+Tol and Tol−D in [0, 2^tolBits) force |D| ≤ Tol,
// because their sum is exactly 2·Tol < 2^(tolBits+1), far below the modulus.
func (s Shape) tol() int64 { return int64(s.TolULP) << Scheme().Params.FracBits }

func (s Shape) tolBits() int { return bits.Len64(uint64(2 * s.tol())) }

// CheckChallenge reports a challenge outside the shape.
func (s Shape) CheckChallenge(row, col uint64) error {
	if row >= uint64(s.Rows) || col >= uint64(s.Blocks()) {
		return fmt.Errorf("tile: challenge (row %d, block %d) outside %d rows and %d blocks", row, col, s.Rows, s.Blocks())
	}
	return nil
}

// StandardShapes are the shapes of the spot checks for square layers of
// width d ∈ {256, 1024, 2048, 4096} at 256 rows and T = 4: forward and
// backward (K = N = d, so the backward tile has the forward one's
// dimensions) at [DefaultTolULP], and the tie between W's two commitments.
// 2048 is the d_model of the trainer's GPU configuration; the others bracket
// the benchmark grid.
func StandardShapes() []Shape {
	var out []Shape
	for _, d := range []int{256, 1024, 2048, 4096} {
		for _, k := range []Kind{Forward, Backward} {
			out = append(out, Shape{Kind: k, Rows: 256, Inner: d, Outer: d, T: 4, TolULP: DefaultTolULP(d)})
		}
		out = append(out, Shape{Kind: Tie, Rows: d, Inner: d, Outer: d, T: 4})
	}
	return out
}
