package engine

import (
	"math"
	"slices"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.

	"github.com/gomlx/gomlx/ml/model"
)

// The compiled graphs of a stage: forward, loss, backward (with the optimizer), gradients, and
// the LLaMA-style block they are made of (docs/ALGORITHMS.md, "The model").

// split separates a graph's inputs: every graph's inputs start with the stage input x and, when
// NeedsIDs, the token ids, then the rest.
func (st *Stage) split(in []*Node) (x, ids *Node, rest []*Node) {
	x = in[0]
	switch {
	case st.info.First:
		ids = x
	case st.NeedsIDs():
		ids, in = in[1], in[1:]
	}
	return x, ids, in[1:]
}

func (st *Stage) forwardGraph(scope *model.Scope, in []*Node) []*Node {
	x, ids, _ := st.split(in)
	return []*Node{st.output(scope, st.body(scope, x, ids), ids)}
}

func (st *Stage) lossGraph(scope *model.Scope, in []*Node) []*Node {
	x, ids, rest := st.split(in)
	return []*Node{st.crossEntropy(st.logits(scope, st.body(scope, x, ids)), rest[0])}
}

// output turns the stage's residual stream y into what Forward returns: the
// logits on the last stage, C = (y − T_fixed[ids])·U on a compressed
// boundary, y itself raw.
func (st *Stage) output(scope *model.Scope, y, ids *Node) *Node {
	switch {
	case st.info.Last:
		return st.logits(scope, y)
	case st.spec.Compressed():
		return st.compress(y, ids)
	}
	return y
}

// gradients builds the objective of a backward pass from inputs (x[, ids],
// dOut) or, on the last stage, (x[, ids], targets): the surrogate
// Σ out·stop_gradient(dOut) or the loss. It returns it with the gradients of
// the trainable variables (in the store's order, which the optimizer walks
// too) and of x (nil on stage 0).
func (st *Stage) gradients(scope *model.Scope, in []*Node) (obj *Node, params []*Node, dx *Node) {
	obj, params, _, dx = st.gradientsOf(scope, in)
	return obj, params, dx
}

// gradientsOf is gradients that also returns the variables of the parameter
// gradients, in the same order.
func (st *Stage) gradientsOf(scope *model.Scope, in []*Node) (obj *Node, params []*Node, vars []*model.Variable, dx *Node) {
	x, ids, rest := st.split(in)
	g := x.Graph()
	y := st.body(scope, x, ids)
	if st.info.Last {
		obj = st.crossEntropy(st.logits(scope, y), rest[0])
	} else {
		obj = ReduceAllSum(Mul(st.output(scope, y, ids), StopGradient(rest[0])))
	}
	var wrt []*Node
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			wrt = append(wrt, v.NodeValue(g))
			vars = append(vars, v)
		}
	}
	n := len(wrt)
	if !st.info.First {
		wrt = append(wrt, x)
	}
	if st.tapping != nil {
		wrt = append(wrt, st.tapping.z)
	}
	grads := Gradient(obj, wrt...)
	if !st.info.First {
		dx = grads[n]
	}
	if st.tapping != nil {
		st.tapping.dz = grads[len(grads)-1]
	}
	return obj, grads[:n], vars, dx
}

// backwardGraph outputs dX (absent on stage 0), then the objective (the loss
// on the last stage) and applies the optimizer update.
func (st *Stage) backwardGraph(scope *model.Scope, in []*Node) []*Node {
	obj, grads, dx := st.gradients(scope, in)
	st.opt.UpdateGraphWithGradients(scope, grads, st.dtype)
	var out []*Node
	if dx != nil {
		out = append(out, dx)
	}
	return append(out, obj)
}

// gradGraph outputs the objective, dX (absent on stage 0) and the parameter
// gradients, without updating anything.
func (st *Stage) gradGraph(scope *model.Scope, in []*Node) []*Node {
	obj, grads, dx := st.gradients(scope, in)
	out := []*Node{obj}
	if dx != nil {
		out = append(out, dx)
	}
	return append(out, grads...)
}

// body is the stage's residual stream [b, n, d] after its blocks: from the
// token embedding on stage 0 (T_fixed[ids] + E_small[ids]·Uᵀ when
// compressed), from X = C·Uᵀ + T_fixed[ids] on a later compressed stage, from
// the raw activations x otherwise.
func (st *Stage) body(scope *model.Scope, x, ids *Node) *Node {
	x = st.input(scope, x, ids)
	for l := st.info.FirstLayer; l < st.info.FirstLayer+st.info.Layers; l++ {
		if slices.Contains(st.skip, l) {
			continue
		}
		x = st.block(scope.In("layer_%03d", l), x)
	}
	return x
}

// input is the residual stream [b, n, d] the stage's blocks start from: the embedded ids on
// stage 0, the rebuilt X on a later compressed stage, x itself raw.
func (st *Stage) input(scope *model.Scope, x, ids *Node) *Node {
	g := ids.Graph()
	switch {
	case st.info.First:
		b, n := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
		idx := Reshape(ids, b, n, 1)
		if st.spec.Compressed() {
			return Add(st.fixedTokens(ids), st.fromSubspace(Gather(st.get(scope, g, "embed_small"), idx)))
		}
		return Gather(st.get(scope, g, "embed"), idx)
	case st.spec.Compressed():
		return st.decompress(x, ids)
	}
	return x
}

func (st *Stage) logits(scope *model.Scope, h *Node) *Node {
	g := h.Graph()
	h = rmsNorm(h, st.get(scope, g, "final_norm"))
	return Einsum("bnd,dv->bnv", h, st.get(scope, g, "lm_head"))
}

func (st *Stage) crossEntropy(logits, targets *Node) *Node {
	logp := LogSoftmax(logits, -1)
	oh := OneHot(targets, st.spec.Vocab, st.dtype)
	return Neg(ReduceAllMean(ReduceSum(Mul(oh, logp), -1)))
}

func rmsNorm(x, gain *Node) *Node {
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	y := Div(x, Sqrt(AddScalar(ms, 1e-6))) // Rsqrt has no gradient in GoMLX v0.28
	return Mul(y, Reshape(gain, 1, 1, gain.Shape().Dimensions[0]))
}

func (st *Stage) block(sc *model.Scope, x *Node) *Node {
	g := x.Graph()
	b, n, d := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	nh, hd := st.spec.NHeads, st.spec.HeadDim()

	// Attention.
	gain := st.get(sc, g, "attn_norm")
	xn := rmsNorm(x, gain)
	wq := st.get(sc, g, "wq")
	q := Reshape(st.tapQuery(x, gain, wq, Einsum("bnd,de->bne", xn, wq)), b, n, nh, hd)
	k := Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wk")), b, n, nh, hd)
	v := Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wv")), b, n, nh, hd)
	cos, sin := st.ropeTables(g, n)
	q, k = rope(q, cos, sin), rope(k, cos, sin)
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(hd)))
	p := Softmax(Add(scores, st.causalMask(g, n)), -1)
	att := Reshape(Einsum("bhqk,bkhd->bqhd", p, v), b, n, d)
	x = Add(x, st.project(Einsum("bnd,de->bne", att, st.get(sc, g, projName("wo", st.lowRank())))))
	return st.mlp(sc, x)
}

// mlp is a block's second half, x + SwiGLU(RMSNorm(x)).
func (st *Stage) mlp(sc *model.Scope, x *Node) *Node {
	g := x.Graph()
	xn := rmsNorm(x, st.get(sc, g, "mlp_norm"))
	gate := Einsum("bnd,dh->bnh", xn, st.get(sc, g, "w_gate"))
	up := Einsum("bnd,dh->bnh", xn, st.get(sc, g, "w_up"))
	act := Mul(Mul(gate, Sigmoid(gate)), up)
	return Add(x, st.project(Einsum("bnh,hd->bnd", act, st.get(sc, g, projName("w_down", st.lowRank())))))
}

// project maps the output of a projection into the residual stream: y·Uᵀ when
// the projection is W_small (y [b, n, k] are coordinates in span(U)), y
// itself when it is full rank.
func (st *Stage) project(y *Node) *Node {
	if st.lowRank() {
		return st.fromSubspace(y)
	}
	return y
}

// ropeTables are cos and sin of pos·θ_j, θ_j = 10000^(−2j/hd), shaped
// [1, n, 1, hd/2] to broadcast over [batch, n, heads, hd/2].
func (st *Stage) ropeTables(g *Graph, n int) (cos, sin *Node) {
	half := st.spec.HeadDim() / 2
	c := make([]float64, n*half)
	s := make([]float64, n*half)
	for pos := range n {
		for j := range half {
			a := float64(pos) * math.Pow(10000, -2*float64(j)/float64(2*half))
			c[pos*half+j], s[pos*half+j] = math.Cos(a), math.Sin(a)
		}
	}
	return Const(g, st.tensor(c, 1, n, 1, half)), Const(g, st.tensor(s, 1, n, 1, half))
}

// rope rotates the pairs (x_j, x_{j+hd/2}) of x [b, n, h, hd].
func rope(x, cos, sin *Node) *Node {
	halves := Split(x, 3, 2)
	x1, x2 := halves[0], halves[1]
	return Concatenate([]*Node{
		Sub(Mul(x1, cos), Mul(x2, sin)),
		Add(Mul(x1, sin), Mul(x2, cos)),
	}, 3)
}

// causalMask is 0 where key ≤ query and −1e9 elsewhere, [1, 1, n, n].
func (st *Stage) causalMask(g *Graph, n int) *Node {
	m := make([]float64, n*n)
	for q := range n {
		for k := q + 1; k < n; k++ {
			m[q*n+k] = -1e9
		}
	}
	return Const(g, st.tensor(m, 1, 1, n, n))
}
