package engine

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Gradient accumulation (microbatches of a synchronous pipeline step):
// AccumulateBackward and AccumulateBackwardLoss run the same backward pass as
// Backward and BackwardLoss but, instead of updating the parameters, add the
// parameter gradients into accumulators; ApplyAccumulated then runs the
// optimizer once with the mean of the accumulated gradients (the sum divided
// by the number of backward passes added) and zeroes the accumulators.
//
// When every microbatch has the same number of rows and each backward pass
// differentiates its microbatch's mean loss (on the last stage; the dOut that
// reaches earlier stages is then ∂(microbatch loss)/∂out), the mean gradient
// is the gradient of the full batch's mean loss, so M accumulated
// microbatches and one ApplyAccumulated make the same update as one Backward
// on the whole batch, up to float rounding.
//
// The accumulators are non-trainable store variables under AccumulatorScope,
// one per parameter with its path and shape, created by the first
// accumulating call (a stage that never accumulates holds no copy of its
// parameters). They are zero between steps and not part of the stage's
// state: trainer/checkpoint skips them.

// AccumulatorScope is the store scope of the gradient accumulators.
const AccumulatorScope = "/accumulated"

// IsAccumulator reports whether a store path is a gradient accumulator's.
func IsAccumulator(varPath string) bool { return strings.HasPrefix(varPath, AccumulatorScope+"/") }

// ensureAccumulators creates a zero accumulator per trainable parameter, once.
func (st *Stage) ensureAccumulators() {
	if st.accum != nil {
		return
	}
	st.accum = make(map[*model.Variable]*model.Variable, len(st.params))
	for _, p := range st.params {
		sc := st.store.Scope(path.Join(AccumulatorScope, p.Scope()))
		zero := tensors.FromShape(p.Shape())
		v := sc.VariableWithValue(p.Name(), zero).SetTrainable(false)
		st.accum[p] = v
	}
}

// Accumulated is the number of backward passes added to the accumulators
// since the last ApplyAccumulated.
func (st *Stage) Accumulated() int { return st.accumulated }

// AccumulateBackward is Backward without the optimizer step: the parameter
// gradients are added to the stage's accumulators. It returns the gradient
// with respect to in (nil on stage 0).
func (st *Stage) AccumulateBackward(in, ids, dOut *tensors.Tensor) (*tensors.Tensor, error) {
	if st.info.Last {
		return nil, errors.New("engine: AccumulateBackward on the last stage; use AccumulateBackwardLoss with the targets")
	}
	st.ensureAccumulators()
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	out, err := st.acc.Call(append(args, dOut)...)
	if err != nil {
		return nil, err
	}
	st.accumulated++
	if st.info.First {
		return nil, nil
	}
	return out[0], nil
}

// AccumulateBackwardLoss is BackwardLoss without the optimizer step: the
// parameter gradients of the mean cross-entropy of in against targets are
// added to the stage's accumulators. It returns the gradient with respect to
// in (nil when the stage is also the first) and the loss.
func (st *Stage) AccumulateBackwardLoss(in, ids, targets *tensors.Tensor) (dIn *tensors.Tensor, loss float64, err error) {
	if !st.info.Last {
		return nil, 0, errors.New("engine: AccumulateBackwardLoss on a stage that is not the last")
	}
	st.ensureAccumulators()
	args, err := st.args(in, ids)
	if err != nil {
		return nil, 0, err
	}
	out, err := st.acc.Call(append(args, targets)...)
	if err != nil {
		return nil, 0, err
	}
	st.accumulated++
	if st.info.First {
		return nil, scalar(out[0]), nil
	}
	return out[0], scalar(out[1]), nil
}

// ApplyAccumulated runs one optimizer step with the accumulated gradients
// divided by the number of backward passes accumulated, and zeroes the
// accumulators. It is an error when nothing was accumulated.
func (st *Stage) ApplyAccumulated() error {
	if st.accumulated == 0 {
		return fmt.Errorf("engine: stage %d: ApplyAccumulated with no accumulated gradients", st.info.Index)
	}
	scale := 1 / float64(st.accumulated)
	var arg *tensors.Tensor
	if st.dtype == dtypes.Float64 {
		arg = tensors.FromScalar(scale)
	} else {
		arg = tensors.FromScalar(float32(scale))
	}
	if _, err := st.apply.Call(arg); err != nil {
		return err
	}
	st.accumulated = 0
	return nil
}

// accumulateGraph is backwardGraph with the parameter gradients added to the
// accumulators instead of applied.
func (st *Stage) accumulateGraph(scope *model.Scope, in []*Node) []*Node {
	obj, grads, vars, dx := st.gradientsOf(scope, in)
	g := obj.Graph()
	for i, v := range vars {
		a, ok := st.accum[v]
		if !ok {
			panic(fmt.Sprintf("engine: no accumulator for %s", v.Path()))
		}
		a.SetNodeValue(Add(a.NodeValue(g), grads[i]))
	}
	var out []*Node
	if dx != nil {
		out = append(out, dx)
	}
	return append(out, obj)
}

// applyGraph runs the optimizer with accumulator·scale as the gradients of
// the trainable variables (in the store's order, the order the optimizer
// walks) and zeroes the accumulators. It returns scale (a graph needs an
// output).
func (st *Stage) applyGraph(scope *model.Scope, scale *Node) *Node {
	g := scale.Graph()
	var grads []*Node
	var accs []*model.Variable
	for v := range scope.IterVariables() {
		if !v.Trainable {
			continue
		}
		a, ok := st.accum[v]
		if !ok {
			panic(fmt.Sprintf("engine: no accumulator for %s", v.Path()))
		}
		_ = v.NodeValue(g) // in use: the optimizer updates the variables the graph uses
		grads = append(grads, Mul(a.NodeValue(g), scale))
		accs = append(accs, a)
	}
	st.opt.UpdateGraphWithGradients(scope, grads, st.dtype)
	for _, a := range accs {
		a.SetNodeValue(ZerosLike(a.NodeValue(g)))
	}
	return scale
}
