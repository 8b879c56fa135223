package engine

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Inference with a KV cache: a session's tokens run through the stage a few at a time (the
// prompt in one pass, then one token per call), and each layer keeps the keys and values of
// the positions it has seen, so a new position attends to them without recomputing them.
//
// The cache lives on the host, one per session, Context positions long (the model's seq_len:
// positions beyond it were never trained). A call takes the caches of a batch of sessions as
// inputs [b, Context, heads, head_dim] per layer, masked past each session's length, and
// returns the new positions' keys and values, which the host writes into the caches. The
// compiled graph depends only on the batch size and on the new rows rounded up to a power of
// two, so a session's decode steps reuse one graph. Padding rows sit after every real one:
// causal attention keeps them from the real rows, and the cache masks them out afterwards.

// MaxDecodeBatch bounds the sessions of one Decode call.
const MaxDecodeBatch = 256

// Cache is one session's keys and values on a stage: per layer, K and V [Context, heads,
// head_dim] flat, of which the first Len positions are filled.
type Cache struct {
	k, v [][]float32
	len  int
}

// NewCache is an empty cache for a session on the stage.
func (st *Stage) NewCache() *Cache {
	size := st.Context() * st.spec.DModel
	c := &Cache{k: make([][]float32, st.info.Layers), v: make([][]float32, st.info.Layers)}
	for l := range st.info.Layers {
		c.k[l], c.v[l] = make([]float32, size), make([]float32, size)
	}
	return c
}

// Len is the number of positions the cache holds.
func (c *Cache) Len() int { return c.len }

// Context is how many positions a session may hold: the model's training context.
func (st *Stage) Context() int { return st.spec.SeqLen }

// DecodeInput is one session's new positions through the stage: their token ids (every
// stage takes them; stage 0 embeds them, a compressed stage rebuilds its input with them) and,
// after stage 0, the previous stage's output rows for them, len(IDs)×OutWidth.
type DecodeInput struct {
	Cache *Cache
	IDs   []int32
	X     []float32
}

// Decode runs the new positions of a batch of sessions through the stage and appends their
// keys and values to each session's cache. It returns, per session, the next stage's input
// rows (len(IDs)×OutWidth) on a stage before the last, or on the last the logits (Vocab) of
// its last new position. Nothing is appended to any cache when it fails.
func (st *Stage) Decode(in []DecodeInput) ([][]float32, error) {
	if st.dtype != dtypes.Float32 {
		return nil, fmt.Errorf("engine: Decode runs float32 stages, this one is %s", st.dtype)
	}
	if len(in) == 0 || len(in) > MaxDecodeBatch {
		return nil, fmt.Errorf("engine: Decode of %d sessions; 1 to %d at once", len(in), MaxDecodeBatch)
	}
	w := st.OutWidth()
	rows := 0
	for i, s := range in {
		if s.Cache == nil || len(s.Cache.k) != st.info.Layers {
			return nil, fmt.Errorf("engine: session %d's cache is not one of stage %d's", i, st.info.Index)
		}
		if len(s.IDs) == 0 {
			return nil, fmt.Errorf("engine: session %d has no new positions", i)
		}
		if s.Cache.len+len(s.IDs) > st.Context() {
			return nil, fmt.Errorf("engine: session %d would hold %d positions; the context is %d", i, s.Cache.len+len(s.IDs), st.Context())
		}
		if !st.info.First && len(s.X) != len(s.IDs)*w {
			return nil, fmt.Errorf("engine: session %d has %d input values for %d positions of width %d", i, len(s.X), len(s.IDs), w)
		}
		for _, id := range s.IDs {
			if id < 0 || int(id) >= st.spec.Vocab {
				return nil, fmt.Errorf("engine: session %d: token id %d outside the vocabulary [0, %d)", i, id, st.spec.Vocab)
			}
		}
		rows = max(rows, len(s.IDs))
	}
	if st.dec == nil {
		var err error
		if st.dec, err = model.NewExec(st.backend, st.store, st.decodeGraph); err != nil {
			return nil, err
		}
		// One graph per power of two of sessions (up to MaxDecodeBatch) and of rows (up to the
		// context).
		st.dec.SetMaxCache(bits.Len(uint(MaxDecodeBatch)) * (bits.Len(uint(st.Context())) + 1))
	}
	// Rows and sessions are both padded to powers of two: the graphs compiled stay few.
	m, b := padRows(rows), padRows(len(in))
	ctx, d := st.Context(), st.spec.DModel
	ids := make([]int32, b*m)
	pos := make([]int32, b)
	var x []float32
	if !st.info.First {
		x = make([]float32, b*m*w)
	}
	for i, s := range in {
		copy(ids[i*m:], s.IDs)
		if x != nil {
			copy(x[i*m*w:], s.X)
		}
		pos[i] = int32(s.Cache.len)
	}
	args := []any{tensors.FromFlatDataAndDimensions(ids, b, m)}
	if !st.info.First {
		args = []any{tensors.FromFlatDataAndDimensions(x, b, m, w), args[0]}
	}
	args = append(args, tensors.FromFlatDataAndDimensions(pos, b))
	nh, hd := st.spec.NHeads, st.spec.HeadDim()
	for l := range st.info.Layers {
		for _, kv := range [][][]float32{pick(in, func(c *Cache) []float32 { return c.k[l] }), pick(in, func(c *Cache) []float32 { return c.v[l] })} {
			flat := make([]float32, b*ctx*d) // the padding sessions' caches stay zero
			for i, c := range kv {
				copy(flat[i*ctx*d:], c)
			}
			args = append(args, tensors.FromFlatDataAndDimensions(flat, b, ctx, nh, hd))
		}
	}
	out, err := st.dec.Call(args...)
	if err != nil {
		return nil, err
	}
	y := tensors.MustCopyFlatData[float32](out[0])
	res := make([][]float32, b)
	for i, s := range in {
		n := len(s.IDs)
		if st.info.Last {
			v := st.spec.Vocab
			res[i] = append([]float32(nil), y[(i*m+n-1)*v:(i*m+n)*v]...)
		} else {
			res[i] = append([]float32(nil), y[i*m*w:(i*m+n)*w]...)
		}
	}
	for l := range st.info.Layers {
		nk := tensors.MustCopyFlatData[float32](out[1+2*l])
		nv := tensors.MustCopyFlatData[float32](out[2+2*l])
		for i, s := range in {
			at, n := s.Cache.len*d, len(s.IDs)*d
			copy(s.Cache.k[l][at:at+n], nk[i*m*d:])
			copy(s.Cache.v[l][at:at+n], nv[i*m*d:])
		}
	}
	for _, s := range in {
		s.Cache.len += len(s.IDs)
	}
	return res, nil
}

func pick(in []DecodeInput, f func(*Cache) []float32) [][]float32 {
	out := make([][]float32, len(in))
	for i, s := range in {
		out[i] = f(s.Cache)
	}
	return out
}

// padRows is the number of rows a call of n new positions compiles for: n rounded up to a
// power of two, so that a session's calls reuse a handful of graphs.
func padRows(n int) int {
	m := 1
	for m < n {
		m *= 2
	}
	return m
}

// decodeGraph takes (x[, ids] | ids), the sessions' lengths pos [b] and each layer's cached K
// and V, and returns the stage's output for the new rows followed by each layer's new K and V.
func (st *Stage) decodeGraph(scope *model.Scope, in []*Node) []*Node {
	var x, ids *Node
	if st.info.First {
		ids, in = in[0], in[1:]
		x = ids
	} else {
		x, ids, in = in[0], in[1], in[2:]
	}
	pos, caches := in[0], in[1:]
	m := ids.Shape().Dimensions[1]
	y := st.input(scope, x, ids)
	cos, sin := st.ropeAt(pos, m)
	mask := st.cacheMask(pos, m)
	outs := []*Node{nil}
	for i := range st.info.Layers {
		var k, v *Node
		y, k, v = st.cachedBlock(scope.In("layer_%03d", st.info.FirstLayer+i), y, cos, sin, mask, caches[2*i], caches[2*i+1])
		outs = append(outs, k, v)
	}
	outs[0] = st.output(scope, y, ids)
	return outs
}

// cachedBlock is block for new rows that also attend to the cached keys and values; it
// returns the block's output and the new rows' (rotated) keys and values.
func (st *Stage) cachedBlock(sc *model.Scope, x, cos, sin, mask, cacheK, cacheV *Node) (y, k, v *Node) {
	g := x.Graph()
	b, m, d := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	nh, hd := st.spec.NHeads, st.spec.HeadDim()
	xn := rmsNorm(x, st.get(sc, g, "attn_norm"))
	q := Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wq")), b, m, nh, hd)
	k = Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wk")), b, m, nh, hd)
	v = Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wv")), b, m, nh, hd)
	q, k = rope(q, cos, sin), rope(k, cos, sin)
	keys, vals := Concatenate([]*Node{cacheK, k}, 1), Concatenate([]*Node{cacheV, v}, 1)
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, keys), 1/math.Sqrt(float64(hd)))
	p := Softmax(Add(scores, mask), -1)
	att := Reshape(Einsum("bhqk,bkhd->bqhd", p, vals), b, m, d)
	x = Add(x, st.project(Einsum("bnd,de->bne", att, st.get(sc, g, projName("wo", st.lowRank())))))
	return st.mlp(sc, x), k, v
}

// ropeAt are cos and sin of (pos_b + i)·θ_j for the new rows i of each session, [b, m, 1,
// hd/2], computed in float64 like ropeTables.
func (st *Stage) ropeAt(pos *Node, m int) (cos, sin *Node) {
	g := pos.Graph()
	b, half := pos.Shape().Dimensions[0], st.spec.HeadDim()/2
	theta := make([]float64, half)
	for j := range theta {
		theta[j] = math.Pow(10000, -2*float64(j)/float64(2*half))
	}
	at := Add(Reshape(ConvertDType(pos, dtypes.Float64), b, 1), Iota(g, shapes.Make(dtypes.Float64, 1, m), 1))
	angle := Mul(Reshape(at, b, m, 1, 1), Const(g, tensors.FromFlatDataAndDimensions(theta, 1, 1, 1, half)))
	return ConvertDType(Cos(angle), st.dtype), ConvertDType(Sin(angle), st.dtype)
}

// cacheMask is the additive attention mask [b, 1, m, Context+m]: a cached position j is seen
// when j < pos_b, a new row i' by the new rows i ≥ i'.
func (st *Stage) cacheMask(pos *Node, m int) *Node {
	g := pos.Graph()
	b, ctx := pos.Shape().Dimensions[0], st.Context()
	seen := LessThan(Iota(g, shapes.Make(dtypes.Int32, 1, ctx), 1), Reshape(pos, b, 1))
	zero, off := Const(g, st.tensor([]float64{0}, 1, 1)), Const(g, st.tensor([]float64{-1e9}, 1, 1))
	cached := Where(seen, BroadcastToDims(zero, b, ctx), BroadcastToDims(off, b, ctx))
	return Concatenate([]*Node{
		BroadcastToDims(Reshape(cached, b, 1, 1, ctx), b, 1, m, ctx),
		BroadcastToDims(st.causalMask(g, m), b, 1, m, m),
	}, 3)
}
