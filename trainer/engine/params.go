package engine

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Parameters: initialized from the spec's seed, named by block and role, in the store's order.

func (st *Stage) initParams() {
	s := st.spec
	d, h := s.DModel, s.FFNHidden()
	resid := 1 / math.Sqrt(2*float64(s.NLayers)) // scales the projections that write into the residual stream
	root := st.store.RootScope()
	out := d // the output width of the projections into the residual stream
	if st.lowRank() {
		out = s.CompressionRank // W_small; the projection is W_small·Uᵀ
	}
	if st.info.First {
		if s.Compressed() {
			st.param(root, "embed_small", 1, s.Vocab, s.CompressionRank)
		} else {
			st.param(root, "embed", 1, s.Vocab, d)
		}
	}
	for l := st.info.FirstLayer; l < st.info.FirstLayer+st.info.Layers; l++ {
		sc := root.In("layer_%03d", l)
		st.param(sc, "attn_norm", -1, d)
		st.param(sc, "wq", 1/math.Sqrt(float64(d)), d, d)
		st.param(sc, "wk", 1/math.Sqrt(float64(d)), d, d)
		st.param(sc, "wv", 1/math.Sqrt(float64(d)), d, d)
		st.param(sc, projName("wo", st.lowRank()), resid/math.Sqrt(float64(d)), d, out)
		st.param(sc, "mlp_norm", -1, d)
		st.param(sc, "w_gate", 1/math.Sqrt(float64(d)), d, h)
		st.param(sc, "w_up", 1/math.Sqrt(float64(d)), d, h)
		st.param(sc, projName("w_down", st.lowRank()), resid/math.Sqrt(float64(h)), h, out)
	}
	if st.info.Last {
		st.param(root, "final_norm", -1, d)
		st.param(root, "lm_head", 1/math.Sqrt(float64(d)), d, s.Vocab)
	}
}

// projName is the name of an output projection: name_small when it is
// parameterized as W_small·Uᵀ.
func projName(name string, small bool) string {
	if small {
		return name + "_small"
	}
	return name
}

// param creates a trainable variable drawn from N(0, std²), or all ones when
// std < 0, from a generator keyed by the seed and the variable's path.
func (st *Stage) param(sc *model.Scope, name string, std float64, dims ...int) {
	hash := fnv.New64a()
	_, _ = hash.Write([]byte(sc.Scope() + "/" + name))
	rng := rand.New(rand.NewPCG(st.spec.Seed, hash.Sum64()))
	n := 1
	for _, x := range dims {
		n *= x
	}
	vals := make([]float64, n)
	for i := range vals {
		if std < 0 {
			vals[i] = 1
		} else {
			vals[i] = std * rng.NormFloat64()
		}
	}
	v := sc.VariableWithValue(name, st.tensor(vals, dims...))
	st.params = append(st.params, v)
}

func (st *Stage) tensor(vals []float64, dims ...int) *tensors.Tensor {
	if st.dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(vals, dims...)
	}
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f, dims...)
}

func (st *Stage) get(sc *model.Scope, g *Graph, name string) *Node {
	v := sc.GetVariable(name)
	if v == nil {
		panic(fmt.Sprintf("engine: no variable %s/%s", sc.Scope(), name))
	}
	return v.NodeValue(g)
}
