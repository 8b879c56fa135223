package engine

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/protolearn/protolearn/trainer/spec"
)

// Options are a stage's numeric settings; the zero value is usable.
type Options struct {
	// DType of parameters and activations: dtypes.Float32 (the default) or
	// dtypes.Float64 (for gradient checks).
	DType dtypes.DType
	// LearningRate of AdamW; 0 means 1e-3.
	LearningRate float64
	// WeightDecay is AdamW's decoupled weight decay (applied to every
	// parameter, gains and embeddings included); 0 disables it.
	WeightDecay float64
	// Optimizer, when set, replaces AdamW (LearningRate and WeightDecay are
	// then ignored): e.g. trainer/optim's NAdam for the asynchronous pipeline.
	Optimizer Optimizer
}

// Optimizer applies the gradients of a backward graph to the scope's
// trainable variables that the graph uses, given in the store's order.
// GoMLX's Adam and SGD implement it (optimizer.Interface only takes a loss),
// and so does trainer/optim's NAdam. Its state must live in the store, so
// that it is saved with the stage.
type Optimizer interface {
	UpdateGraphWithGradients(scope *model.Scope, grads []*Node, lossDType dtypes.DType)
}

// Stage is one pipeline stage: its parameters, optimizer state and compiled
// graphs. It is not safe for concurrent use.
type Stage struct {
	spec   spec.Spec
	info   spec.Stage
	dtype  dtypes.DType
	store  *model.Store
	params []*model.Variable
	opt    Optimizer
	fwd    *model.Exec
	loss   *model.Exec // last stage only
	bwd    *model.Exec
	grad   *model.Exec
	acc    *model.Exec // AccumulateBackward(Loss): backward into the accumulators
	apply  *model.Exec // ApplyAccumulated: optimizer step with the mean gradient
	stream *model.Exec // the residual stream before compression (tests)
	// tapExec is the backward with the designated layer's tap (tap.go), built on first use;
	// tapping is set while its graph is being built.
	tapExec *model.Exec
	tapping *tapState
	// accum are the gradient accumulators, one per trainable parameter in
	// the store's order (non-trainable variables under /accumulated), and
	// accumulated the number of backward passes added since the last
	// ApplyAccumulated.
	accum       map[*model.Variable]*model.Variable
	accumulated int
	backend     compute.Backend
	// u (d×k) and tFixed (vocab×d) are the subspace basis and the fixed
	// token table when the spec is compressed (subspace.go), else nil.
	u, tFixed *tensors.Tensor
}

// New builds stage index of s on backend, with its parameters initialized
// from s.Seed. Graphs compile on first use and are cached per input shape.
func New(backend compute.Backend, s spec.Spec, index int, o Options) (*Stage, error) {
	info, err := s.Stage(index)
	if err != nil {
		return nil, err
	}
	if o.DType == dtypes.InvalidDType {
		o.DType = dtypes.Float32
	}
	if o.DType != dtypes.Float32 && o.DType != dtypes.Float64 {
		return nil, fmt.Errorf("engine: dtype %s not supported; use Float32 or Float64", o.DType)
	}
	if o.LearningRate == 0 {
		o.LearningRate = 1e-3
	}
	st := &Stage{spec: s, info: info, dtype: o.DType, store: model.NewStore(), backend: backend}
	st.initSubspace()
	st.initParams()
	st.opt = o.Optimizer
	if st.opt == nil {
		opt, ok := optimizer.Adam().LearningRate(o.LearningRate).WeightDecay(o.WeightDecay).Done().(Optimizer)
		if !ok {
			return nil, errors.New("engine: GoMLX's Adam no longer takes gradients directly")
		}
		st.opt = opt
	}
	if st.fwd, err = model.NewExec(backend, st.store, st.forwardGraph); err != nil {
		return nil, err
	}
	if info.Last {
		if st.loss, err = model.NewExec(backend, st.store, st.lossGraph); err != nil {
			return nil, err
		}
	}
	if st.bwd, err = model.NewExec(backend, st.store, st.backwardGraph); err != nil {
		return nil, err
	}
	if st.grad, err = model.NewExec(backend, st.store, st.gradGraph); err != nil {
		return nil, err
	}
	if st.acc, err = model.NewExec(backend, st.store, st.accumulateGraph); err != nil {
		return nil, err
	}
	if st.apply, err = model.NewExec(backend, st.store, st.applyGraph); err != nil {
		return nil, err
	}
	if st.stream, err = model.NewExec(backend, st.store, st.streamGraph); err != nil {
		return nil, err
	}
	return st, nil
}

// Spec is the model the stage belongs to.
func (st *Stage) Spec() spec.Spec { return st.spec }

// Info is the stage's place in the pipeline.
func (st *Stage) Info() spec.Stage { return st.info }

// DType is the stage's float type.
func (st *Stage) DType() dtypes.DType { return st.dtype }

// Store is the stage's parameter and optimizer-state store.
func (st *Stage) Store() *model.Store { return st.store }

// Params are the stage's trainable parameters, in creation order.
func (st *Stage) Params() []*model.Variable { return st.params }

// NumParams is the number of trainable scalars.
func (st *Stage) NumParams() int {
	n := 0
	for _, v := range st.params {
		n += v.Shape().Size()
	}
	return n
}

// NeedsIDs reports whether Forward, Backward and the rest need the
// microbatch's token ids beside their input: on a stage after the first of a
// compressed spec, which rebuilds X = C·Uᵀ + T_fixed[ids].
func (st *Stage) NeedsIDs() bool { return st.spec.Compressed() && !st.info.First }

// OutWidth is the last dimension of a non-last stage's Forward output (and of
// the dIn a later stage's backward returns): k compressed, d_model raw.
func (st *Stage) OutWidth() int { return st.spec.BoundaryWidth() }

// Forward runs the stage. in is int32 token ids [batch, seq] on stage 0 and
// the previous stage's output otherwise: activations X [batch, seq, d_model]
// raw, or the subspace coordinates C = (X − T_fixed[ids])·U [batch, seq, k]
// when compressed. ids are the microbatch's int32 token ids [batch, seq],
// required when NeedsIDs and ignored (may be nil) otherwise. It returns the
// same kind of boundary tensor for the next stage (C when compressed, X raw),
// or on the last stage the logits [batch, seq, vocab].
func (st *Stage) Forward(in, ids *tensors.Tensor) (*tensors.Tensor, error) {
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	out, err := st.fwd.Call(args...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// forwardStream is Forward's residual stream X [batch, seq, d_model] after the
// stage's blocks and before any compression or LM head (tests).
func (st *Stage) forwardStream(in, ids *tensors.Tensor) (*tensors.Tensor, error) {
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	out, err := st.stream.Call(args...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Loss is the last stage's mean cross-entropy of in (with ids, see Forward)
// against int32 targets [batch, seq], without training.
func (st *Stage) Loss(in, ids, targets *tensors.Tensor) (float64, error) {
	if !st.info.Last {
		return 0, errors.New("engine: Loss on a stage that is not the last")
	}
	args, err := st.args(in, ids)
	if err != nil {
		return 0, err
	}
	out, err := st.loss.Call(append(args, targets)...)
	if err != nil {
		return 0, err
	}
	return scalar(out[0]), nil
}

// Backward recomputes the forward pass from in (with ids, see Forward),
// back-propagates dOut (the gradient of the loss with respect to Forward's
// output: [batch, seq, d_model] raw, ∂L/∂C [batch, seq, k] compressed) and
// applies one AdamW step to the stage's parameters. It returns the gradient
// with respect to in (∂L/∂C_in = ∂L/∂X_in·U when compressed), or nil on stage
// 0 (token ids have none). The last stage must use BackwardLoss.
func (st *Stage) Backward(in, ids, dOut *tensors.Tensor) (*tensors.Tensor, error) {
	if st.info.Last {
		return nil, errors.New("engine: Backward on the last stage; use BackwardLoss with the targets")
	}
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	out, err := st.bwd.Call(append(args, dOut)...)
	if err != nil || st.info.First {
		return nil, err
	}
	return out[0], nil
}

// BackwardLoss is the last stage's backward: the mean cross-entropy of in
// (with ids, see Forward) against int32 targets [batch, seq], its gradient
// with respect to in (nil when the stage is also the first), and one AdamW
// step. The loss is the one before the step.
func (st *Stage) BackwardLoss(in, ids, targets *tensors.Tensor) (dIn *tensors.Tensor, loss float64, err error) {
	if !st.info.Last {
		return nil, 0, errors.New("engine: BackwardLoss on a stage that is not the last")
	}
	args, err := st.args(in, ids)
	if err != nil {
		return nil, 0, err
	}
	out, err := st.bwd.Call(append(args, targets)...)
	if err != nil {
		return nil, 0, err
	}
	if st.info.First {
		return nil, scalar(out[0]), nil
	}
	return out[0], scalar(out[1]), nil
}

// Gradients computes what Backward (in, ids, dOut) or BackwardLoss (in, ids,
// targets) would, without any update: the objective (the loss on the last
// stage, Σ out·dOut otherwise), the gradient with respect to in (nil on stage
// 0) and the gradient of each of Params, in order.
func (st *Stage) Gradients(in, ids, dOutOrTargets *tensors.Tensor) (obj float64, dIn *tensors.Tensor, params []*tensors.Tensor, err error) {
	args, err := st.args(in, ids)
	if err != nil {
		return 0, nil, nil, err
	}
	out, err := st.grad.Call(append(args, dOutOrTargets)...)
	if err != nil {
		return 0, nil, nil, err
	}
	obj, out = scalar(out[0]), out[1:]
	if !st.info.First {
		dIn, out = out[0], out[1:]
	}
	if len(out) != len(st.params) {
		return 0, nil, nil, fmt.Errorf("engine: %d parameter gradients for %d parameters", len(out), len(st.params))
	}
	return obj, dIn, out, nil
}

// args checks a stage's input and returns the graphs' leading arguments:
// in, then ids when NeedsIDs.
func (st *Stage) args(in, ids *tensors.Tensor) ([]any, error) {
	if in == nil {
		return nil, fmt.Errorf("engine: stage %d: nil input", st.info.Index)
	}
	sh := in.Shape()
	if st.info.First {
		if sh.DType != dtypes.Int32 || sh.Rank() != 2 {
			return nil, fmt.Errorf("engine: stage 0 takes int32 token ids [batch, seq], got %s", sh)
		}
		return []any{in}, nil
	}
	w := st.spec.BoundaryWidth()
	if sh.DType != st.dtype || sh.Rank() != 3 || sh.Dimensions[2] != w {
		what := "activations"
		if st.spec.Compressed() {
			what = "subspace coordinates"
		}
		return nil, fmt.Errorf("engine: stage %d takes %s %s [batch, seq, %d], got %s", st.info.Index, st.dtype, what, w, sh)
	}
	if !st.NeedsIDs() {
		return []any{in}, nil
	}
	if ids == nil {
		return nil, fmt.Errorf("engine: stage %d of a compressed model needs the token ids", st.info.Index)
	}
	if is := ids.Shape(); is.DType != dtypes.Int32 || is.Rank() != 2 || is.Dimensions[0] != sh.Dimensions[0] || is.Dimensions[1] != sh.Dimensions[1] {
		return nil, fmt.Errorf("engine: stage %d takes int32 token ids [%d, %d], got %s", st.info.Index, sh.Dimensions[0], sh.Dimensions[1], is)
	}
	return []any{in, ids}, nil
}

func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("engine: scalar of %s", t.Shape()))
}

// Parameters.

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

// Graphs. Every graph's inputs start with the stage input x and, when
// NeedsIDs, the token ids; split separates them from the rest.

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

func (st *Stage) streamGraph(scope *model.Scope, in []*Node) []*Node {
	x, ids, _ := st.split(in)
	return []*Node{st.body(scope, x, ids)}
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
	g := x.Graph()
	switch {
	case st.info.First:
		b, n := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
		idx := Reshape(x, b, n, 1)
		if st.spec.Compressed() {
			x = Add(st.fixedTokens(ids), st.fromSubspace(Gather(st.get(scope, g, "embed_small"), idx)))
		} else {
			x = Gather(st.get(scope, g, "embed"), idx)
		}
	case st.spec.Compressed():
		x = st.decompress(x, ids)
	}
	for l := st.info.FirstLayer; l < st.info.FirstLayer+st.info.Layers; l++ {
		x = st.block(scope.In("layer_%03d", l), x)
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
	xn := rmsNorm(x, st.get(sc, g, "attn_norm"))
	wq := st.get(sc, g, "wq")
	q := Reshape(st.tapQuery(xn, wq, Einsum("bnd,de->bne", xn, wq)), b, n, nh, hd)
	k := Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wk")), b, n, nh, hd)
	v := Reshape(Einsum("bnd,de->bne", xn, st.get(sc, g, "wv")), b, n, nh, hd)
	cos, sin := st.ropeTables(g, n)
	q, k = rope(q, cos, sin), rope(k, cos, sin)
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(hd)))
	p := Softmax(Add(scores, st.causalMask(g, n)), -1)
	att := Reshape(Einsum("bhqk,bkhd->bqhd", p, v), b, n, d)
	x = Add(x, st.project(Einsum("bnd,de->bne", att, st.get(sc, g, projName("wo", st.lowRank())))))

	// SwiGLU MLP.
	xn = rmsNorm(x, st.get(sc, g, "mlp_norm"))
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
