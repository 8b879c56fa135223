package engine

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// The residual stream before compression, for the subspace tests: built on first use, never
// part of a production stage.

// forwardStream is Forward's residual stream X [batch, seq, d_model] after the
// stage's blocks and before any compression or LM head (tests).
func (st *Stage) forwardStream(in, ids *tensors.Tensor) (*tensors.Tensor, error) {
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	exec, err := model.NewExec(st.backend, st.store, st.streamGraph)
	if err != nil {
		return nil, err
	}
	out, err := exec.Call(args...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (st *Stage) streamGraph(scope *model.Scope, in []*Node) []*Node {
	x, ids, _ := st.split(in)
	return []*Node{st.body(scope, x, ids)}
}
