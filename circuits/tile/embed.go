package tile

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
)

// EmbedScheme is the commitment scheme of stage 0's embedding E_small
// (vocab×k): the boundary coordinates' format ([CoordBits]-bit values at
// 2^-[CoordFracBits], as [QuantizeCoordinates]) with the tiles' hash. An
// opened row is then exactly the c of [Tables.InputRow], and the opening's
// own range check is the input tile's check on c. ChunkLen is unused (Rows
// only).
func EmbedScheme() commit.Scheme {
	return commit.Scheme{Params: commit.Params{ValueBits: CoordBits, FracBits: CoordFracBits, ChunkLen: 1}, Hash: Scheme().Hash}
}

// CommitEmbedding quantizes and commits stage 0's embedding E_small (e:
// vocab×k, row-major) as commit.Rows with [EmbedScheme], so leaf id is
// E_small[id]: each value round-half-even at 2^16 exactly as
// [QuantizeCoordinates], refused, naming the index id·k+i, when the result
// falls outside [−2^31, 2^31) (|v| ≳ 2^15) or on NaN and ±Inf. The trainer
// commits E_small as it was before the step's update and binds it as
// [TensorE] (BoundRoot(step, TensorE, root)). Unlike the public tables, the
// seed must come from the trainer's secret (commit.DeriveSeed): E_small is a
// private weight, and known salts would let anyone confirm a guessed row.
func CommitEmbedding(e []float32, vocab, k int, seed commit.Seed) (*commit.Commitment, error) {
	switch {
	case vocab <= 0 || vocab > maxVocab:
		return nil, fmt.Errorf("tile: embedding with a vocabulary of %d outside [1, 2^24]", vocab)
	case k <= 0 || k >= maxTableDim:
		return nil, fmt.Errorf("tile: embedding with k=%d outside [1, 2^20)", k)
	case len(e) != vocab*k:
		return nil, fmt.Errorf("tile: embedding has %d values, expected vocab·k = %d·%d", len(e), vocab, k)
	}
	c, err := EmbedScheme().Commit(commit.Rows, vocab, k, e, seed)
	if err != nil {
		return nil, fmt.Errorf("tile: embedding E_small (index id·k+i): %w", err)
	}
	return c, nil
}

// EmbeddingRow is row id of a committed embedding, quantized: the
// coordinates c of token id, from which the trainer computes its X̂ row
// ([Tables.InputRow](id, c)) so that it is the row the embed tile checks.
func EmbeddingRow(e *commit.Commitment, id int) ([]int64, error) {
	if err := checkEmbedding(e); err != nil {
		return nil, err
	}
	op, err := e.OpenRow(id)
	if err != nil {
		return nil, fmt.Errorf("tile: row %d of the embedding: %w", id, err)
	}
	return op.Values[0], nil
}

// checkEmbedding reports a commitment not made by [CommitEmbedding]: another
// number format or hash, or another layout than Rows, gives openings the
// embed tile refuses. (Hashes are compared by name: an interface holding an
// incomparable value would make == panic.)
func checkEmbedding(e *commit.Commitment) error {
	if e == nil {
		return errors.New("tile: no embedding commitment")
	}
	got, want := e.Scheme(), EmbedScheme()
	if got.Params != want.Params || got.Hash == nil || got.Hash.Name() != want.Hash.Name() {
		return fmt.Errorf("tile: embedding committed with %d-bit values at 2^-%d, expected EmbedScheme's %d-bit at 2^-%d with %s",
			got.Params.ValueBits, got.Params.FracBits, CoordBits, CoordFracBits, want.Hash.Name())
	}
	if l := e.Layout(); l.Kind != commit.Rows {
		return fmt.Errorf("tile: embedding committed as %s, expected rows (leaf id = E_small[id])", l.Kind)
	}
	return nil
}

// embedLayout is the layout of an embed shape's E_small: Rows(vocab×k).
func (s Shape) embedLayout() (commit.Layout, error) {
	if s.Kind != Embed {
		return commit.Layout{}, fmt.Errorf("tile: %s is not an embed shape", s)
	}
	if err := s.Validate(); err != nil {
		return commit.Layout{}, err
	}
	return EmbedScheme().Layout(commit.Rows, s.Vocab, s.Inner)
}

// EmbedDigest is the embed tile's OutRoot, f(eBound, id): the tiles'
// 2-to-1 compression of E_small's bound root (BoundRoot(step, TensorE,
// root), the step's e_root on chain) and the token id. The chain computes
// it from the stored e_root and the id it derived from its dataset opening,
// so the proof is about that token of that embedding. It refuses a
// non-canonical root and a negative id; the circuit bounds id by the
// vocabulary (an opened leaf of E_small and T_ext).
func EmbedDigest(eBound [32]byte, id int) ([32]byte, error) {
	root, err := commit.ParseRoot(eBound[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("tile: embedding root: %w", err)
	}
	if id < 0 {
		return [32]byte{}, fmt.Errorf("tile: negative token id %d", id)
	}
	var e fr.Element
	e.SetUint64(uint64(id))
	d := Scheme().Hash.Compress(&root, &e)
	return d.Bytes(), nil
}
