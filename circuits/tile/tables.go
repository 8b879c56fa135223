package tile

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
)

// Limits of the subspace tables. The input tile's bounds (input.go) assume
// k < d ≤ 2^20; the vocabulary only sizes a tree.
const (
	maxTableDim = 1 << 20
	maxVocab    = 1 << 24
)

// tablesDomain names the public seed of the tables' salts.
const tablesDomain = "protolearn/subspace-tables/v1"

// TablesParams is the number format of the subspace tables: 24-bit values
// with 16 fraction bits, ±128 at a resolution of 2^-16, 256 times finer than
// X̂'s 2^-8 so that the tables' rounding stays well below X̂'s (measured in
// TestInputRowMatchesFloat). U is orthonormal, so |u| ≤ 1; T_fixed and P must
// lie in ±128. ChunkLen is unused (no RowChunks table).
func TablesParams() commit.Params { return commit.Params{ValueBits: 24, FracBits: 16, ChunkLen: 1} }

// TablesScheme is the commitment scheme of the subspace tables: [TablesParams]
// with the tiles' hash, so one hash gadget serves every opening of the input
// tile.
func TablesScheme() commit.Scheme { return commit.Scheme{Params: TablesParams(), Hash: Scheme().Hash} }

// Tables are the public tables of a model's pipeline boundary, derived from
// the model seed: the subspace U (d×k, orthonormal columns) in which the
// sender transmits the residual stream's coordinates C, and the fixed table
// T_fixed (vocab×d) the receiver adds back: v = T_fixed[id] + C·Uᵀ.
//
// They are committed once per model, quantized with [TablesParams]:
//
//   - Uᵀ (k×d) as commit.Columns, so leaf j is row j of U (k values) and the
//     rows [c·T, (c+1)·T) the input tile needs are one aligned subtree;
//   - T_ext = [T_fixed | P] (vocab × (d+k)) as commit.Rows, with
//     P = T_fixed·U: leaf id is the token's T_fixed row followed by its P
//     row, which gives ‖v‖² without opening all of U (see [Tables.InputRow]).
//
// The subspace root is f(root(Uᵀ), root(T_ext)), one compression. The salts
// come from a fixed public seed: the tables are public, so these roots are
// binding but, on purpose, not hiding, and anyone can recompute them from
// the model seed.
type Tables struct {
	d, k, vocab int
	u           []int32 // d×k row-major, U at 2^-16
	text        []int32 // vocab×(d+k) row-major, T_ext at 2^-16
	uCom, tCom  *commit.Commitment
	root        fr.Element
}

// NewTables quantizes and commits the tables: u is U (d×k) and tFixed is
// T_fixed (vocab×d), both row-major. P = T_fixed·U is computed here in
// float64, each product rounded on its own (float64(a·b) forbids a fused
// multiply-add) and summed over j in order, so every host gets the same P.
// It fails, naming the value, on a dimension out of range or a value the
// 24-bit format cannot hold.
func NewTables(u, tFixed []float64, d, k, vocab int) (*Tables, error) {
	switch {
	case d <= 0 || k <= 0 || vocab <= 0:
		return nil, fmt.Errorf("tile: subspace tables d=%d, k=%d, vocab=%d: dimensions must be positive", d, k, vocab)
	case k >= d:
		return nil, fmt.Errorf("tile: subspace of dimension k=%d in d=%d: k must be below d", k, d)
	case d > maxTableDim:
		return nil, fmt.Errorf("tile: subspace tables with d=%d above 2^20", d)
	case vocab > maxVocab:
		return nil, fmt.Errorf("tile: subspace tables with a vocabulary of %d above 2^24", vocab)
	case len(u) != d*k:
		return nil, fmt.Errorf("tile: U has %d values, expected d·k = %d·%d", len(u), d, k)
	case len(tFixed) != vocab*d:
		return nil, fmt.Errorf("tile: T_fixed has %d values, expected vocab·d = %d·%d", len(tFixed), vocab, d)
	}
	p := TablesParams()
	uq, err := commit.QuantizeFloat64(u, p.FracBits, p.ValueBits)
	if err != nil {
		return nil, fmt.Errorf("tile: U (index j·k+i): %w", err)
	}
	tq, err := commit.QuantizeFloat64(tFixed, p.FracBits, p.ValueBits)
	if err != nil {
		return nil, fmt.Errorf("tile: T_fixed (index id·d+j): %w", err)
	}
	t := &Tables{d: d, k: k, vocab: vocab, u: make([]int32, d*k), text: make([]int32, vocab*(d+k))}
	for i, x := range uq {
		t.u[i] = int32(x)
	}
	w := d + k
	pRow := make([]float64, k)
	for v := range vocab {
		row := tFixed[v*d : (v+1)*d]
		clear(pRow)
		for j, x := range row { // j ascending for every i: a fixed summation order
			for i, y := range u[j*k : (j+1)*k] {
				pRow[i] += float64(x * y)
			}
		}
		pq, err := commit.QuantizeFloat64(pRow, p.FracBits, p.ValueBits)
		if err != nil {
			return nil, fmt.Errorf("tile: P = T_fixed·U, row of token %d: %w", v, err)
		}
		for j := range d {
			t.text[v*w+j] = int32(tq[v*d+j])
		}
		for i, x := range pq {
			t.text[v*w+d+i] = int32(x)
		}
	}
	if err := t.commit(); err != nil {
		return nil, err
	}
	return t, nil
}

// commit commits Uᵀ and T_ext with their public seeds.
func (t *Tables) commit() error {
	ts := TablesScheme()
	uT := make([]int64, t.k*t.d) // Uᵀ row-major: Columns makes leaf j = U row j
	for j := range t.d {
		for i := range t.k {
			uT[i*t.d+j] = int64(t.u[j*t.k+i])
		}
	}
	var err error
	if t.uCom, err = ts.CommitQuantized(commit.Columns, t.k, t.d, uT, tablesSeed("U")); err != nil {
		return fmt.Errorf("tile: commit U: %w", err)
	}
	text := make([]int64, len(t.text))
	for i, x := range t.text {
		text[i] = int64(x)
	}
	if t.tCom, err = ts.CommitQuantized(commit.Rows, t.vocab, t.d+t.k, text, tablesSeed("T_ext")); err != nil {
		return fmt.Errorf("tile: commit T_ext: %w", err)
	}
	t.root = subspaceRoot(t.uCom.Root(), t.tCom.Root())
	return nil
}

// tablesSeed is the public seed of one table's salts.
func tablesSeed(table string) commit.Seed { return commit.DeriveSeed([]byte(tablesDomain), table) }

// subspaceRoot is f(uRoot, textRoot), which the input tile recomputes.
func subspaceRoot(uRoot, textRoot fr.Element) fr.Element {
	return Scheme().Hash.Compress(&uRoot, &textRoot)
}

// D is the model width d.
func (t *Tables) D() int { return t.d }

// K is the subspace dimension k.
func (t *Tables) K() int { return t.k }

// Vocab is the number of tokens.
func (t *Tables) Vocab() int { return t.vocab }

// Root is the subspace root, 32 canonical big-endian bytes: the input tile's
// WRoot, a constant of the model (not bound to any step).
func (t *Tables) Root() [32]byte { return t.root.Bytes() }

// URow is row j of U quantized (k values at 2^-16).
func (t *Tables) URow(j int) ([]int64, error) {
	if j < 0 || j >= t.d {
		return nil, fmt.Errorf("tile: row %d of U outside [0, %d)", j, t.d)
	}
	return widen(t.u[j*t.k : (j+1)*t.k]), nil
}

// TextRow is row id of T_ext quantized: T_fixed[id] (d values) then P[id]
// (k values), at 2^-16.
func (t *Tables) TextRow(id int) ([]int64, error) {
	if id < 0 || id >= t.vocab {
		return nil, fmt.Errorf("tile: token id %d outside the vocabulary [0, %d)", id, t.vocab)
	}
	w := t.d + t.k
	return widen(t.text[id*w : (id+1)*w]), nil
}

func widen(v []int32) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
