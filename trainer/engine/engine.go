package engine

import (
	"errors"
	"fmt"

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
	// CheatSkipLayers are global layer indices this stage computes as the
	// identity, forward and backward, saving their work: a cheater's stage, a
	// test tool (trainer run --cheat-skip-layer) for the replay that catches
	// it (package replay). Honest trainers never set it.
	CheatSkipLayers []int
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
	dec    *model.Exec // Decode: inference with a KV cache (decode.go), built on first use
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
	// skip are Options.CheatSkipLayers.
	skip []int
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
	for _, l := range o.CheatSkipLayers {
		if l <= info.FirstLayer || l >= info.FirstLayer+info.Layers {
			return nil, fmt.Errorf("engine: cannot skip layer %d: stage %d holds layers %d…%d and its first is the designated layer", l, index, info.FirstLayer, info.FirstLayer+info.Layers-1)
		}
	}
	st := &Stage{spec: s, info: info, dtype: o.DType, store: model.NewStore(), backend: backend, skip: o.CheatSkipLayers}
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
	return st, nil
}

// Spec is the model the stage belongs to.
func (st *Stage) Spec() spec.Spec { return st.spec }

// Info is the stage's place in the pipeline.
func (st *Stage) Info() spec.Stage { return st.info }

// DType is the stage's float type.
func (st *Stage) DType() dtypes.DType { return st.dtype }

// Backend is the backend the stage runs on.
func (st *Stage) Backend() compute.Backend { return st.backend }

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
