package engine

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/protolearn/protolearn/subspace"
)

// Subspace compression (docs/ALGORITHMS.md, "Subspace compression
// between stages"): the fixed basis U and the fixed token table T_fixed, both
// derived from the spec's seed alone, so that every stage of every replica
// holds the same two tensors without sending them. Neither is a variable:
// they enter the graphs as constants, so no optimizer sees them and no
// weight exchange carries them.

// initSubspace builds U and T_fixed in the stage's dtype when the spec is
// compressed.
func (st *Stage) initSubspace() {
	if !st.spec.Compressed() {
		return
	}
	s := st.spec
	st.u = st.tensor(subspace.Basis(s.Seed, s.DModel, s.CompressionRank), s.DModel, s.CompressionRank)
	st.tFixed = st.tensor(subspace.TokenTable(s.Seed, s.Vocab, s.DModel), s.Vocab, s.DModel)
}

// Subspace is U [d_model, k] and T_fixed [vocab, d_model] as the stage computes with them
// (rounded to its dtype), flat; nil for an uncompressed model.
func (st *Stage) Subspace() (u, tFixed []float64) {
	if st.u == nil {
		return nil, nil
	}
	return Float64s(st.u), Float64s(st.tFixed)
}

// Float64s is a tensor's values as float64, exactly: a stage's float32 or float64 values, or
// int32 token ids.
func Float64s(t *tensors.Tensor) []float64 {
	switch t.Shape().DType {
	case dtypes.Float64:
		return tensors.MustCopyFlatData[float64](t)
	case dtypes.Int32:
		return widen(tensors.MustCopyFlatData[int32](t))
	}
	return widen(tensors.MustCopyFlatData[float32](t))
}

func widen[T int32 | float32](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// fixedTokens is T_fixed[ids], [b, n, d].
func (st *Stage) fixedTokens(ids *Node) *Node {
	b, n := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	return Gather(Const(ids.Graph(), st.tFixed), Reshape(ids, b, n, 1))
}

// fromSubspace is c·Uᵀ for c [..., k]: a vector of span(U) in the residual
// stream's coordinates [..., d].
func (st *Stage) fromSubspace(c *Node) *Node {
	u := Const(c.Graph(), st.u)
	switch c.Rank() {
	case 2:
		return Einsum("nk,dk->nd", c, u)
	case 3:
		return Einsum("bnk,dk->bnd", c, u)
	}
	panic("engine: fromSubspace of rank " + c.Shape().String())
}

// compress is the boundary payload C = (X − T_fixed[ids])·U, [b, n, k].
func (st *Stage) compress(x, ids *Node) *Node {
	return Einsum("bnd,dk->bnk", Sub(x, st.fixedTokens(ids)), Const(x.Graph(), st.u))
}

// decompress rebuilds X = C·Uᵀ + T_fixed[ids], [b, n, d]; its gradient with
// respect to C is dX·U.
func (st *Stage) decompress(c, ids *Node) *Node {
	return Add(st.fromSubspace(c), st.fixedTokens(ids))
}

// lowRank reports whether the stage's blocks write into the residual stream
// through U only (their outputs cross a later boundary).
func (st *Stage) lowRank() bool { return st.spec.Compressed() && !st.info.Last }
