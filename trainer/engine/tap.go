package engine

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Tap is the designated layer of one backward pass, the matrix product that x/verify spot-checks
// (trainer/attest commits it): the query projection of the stage's first block,
// Q = (X̂ ⊙ G)·W = X̂·(diag(G)·W), with X̂ the block's input normalized without its gain
// (x / sqrt(mean(x²) + 1e-6)), G the gain of that norm and W the query weights, as they were
// before this pass's update, and DY = ∂objective/∂Q. The attester checks X̂ against diag(G)·W, so
// that X̂ is a function of the block's input alone, which the input tile ties to the received
// payload. Rows is batch × seq (one row per token), D is d_model; all row-major.
//
// On stage 0 of a compressed model the tap also carries E, the token embedding E_small
// (vocab × k, row-major) as it was before the update, from which X̂'s rows derive; IDs are the
// microbatch's token ids (Rows of them) wherever the pass had ids.
type Tap struct {
	Rows, D int
	X, G, W []float32
	DY      []float32
	E       []float32
	IDs     []int32
}

// tapState is set only while the tap graph is being built: block reads it to expose the first
// block's query projection, and gradientsOf to differentiate with respect to z.
type tapState struct {
	z      *Node // zeros [b, n, d], added to Q so that ∂obj/∂z = ∂obj/∂Q
	xhat   *Node // the block's input normalized without gain
	gain   *Node
	w      *Node
	dz     *Node
	tapped bool
}

// BackwardTap is Backward that also returns the designated layer's Tap.
func (st *Stage) BackwardTap(in, ids, dOut *tensors.Tensor) (*tensors.Tensor, *Tap, error) {
	if st.info.Last {
		return nil, nil, errors.New("engine: BackwardTap on the last stage; use BackwardLossTap with the targets")
	}
	out, err := st.callTap(in, ids, dOut)
	if err != nil {
		return nil, nil, err
	}
	tap, err := st.readTap(out[len(out)-st.tapOutputs():], ids)
	if err != nil || st.info.First {
		return nil, tap, err
	}
	return out[0], tap, nil
}

// BackwardLossTap is BackwardLoss that also returns the designated layer's Tap.
func (st *Stage) BackwardLossTap(in, ids, targets *tensors.Tensor) (dIn *tensors.Tensor, loss float64, tap *Tap, err error) {
	if !st.info.Last {
		return nil, 0, nil, errors.New("engine: BackwardLossTap on a stage that is not the last")
	}
	out, err := st.callTap(in, ids, targets)
	if err != nil {
		return nil, 0, nil, err
	}
	if tap, err = st.readTap(out[len(out)-st.tapOutputs():], ids); err != nil {
		return nil, 0, nil, err
	}
	if st.info.First {
		return nil, scalar(out[0]), tap, nil
	}
	return out[0], scalar(out[1]), tap, nil
}

func (st *Stage) callTap(in, ids, dOutOrTargets *tensors.Tensor) ([]*tensors.Tensor, error) {
	if st.info.Layers == 0 {
		return nil, fmt.Errorf("engine: stage %d has no block to tap", st.info.Index)
	}
	args, err := st.args(in, ids)
	if err != nil {
		return nil, err
	}
	b, n := in.Shape().Dimensions[0], in.Shape().Dimensions[1]
	z := tensors.FromShape(shapes.Make(st.dtype, b, n, st.spec.DModel))
	if st.tapExec == nil {
		if st.tapExec, err = model.NewExec(st.backend, st.store, st.tapGraph); err != nil {
			return nil, err
		}
	}
	return st.tapExec.Call(append(args, dOutOrTargets, z)...)
}

// tapOutputs is the number of tensors the tap graph appends: X̂, G, W and DY, and E_small on
// stage 0 of a compressed model.
func (st *Stage) tapOutputs() int {
	if st.tapsEmbedding() {
		return 5
	}
	return 4
}

// tapsEmbedding: stage 0 of a compressed model taps its embedding.
func (st *Stage) tapsEmbedding() bool { return st.info.First && st.spec.Compressed() }

// tapGraph is backwardGraph with the tap's tensors appended: X̂, G, W and DY.
func (st *Stage) tapGraph(scope *model.Scope, in []*Node) []*Node {
	st.tapping = &tapState{z: in[len(in)-1]}
	defer func() { st.tapping = nil }()
	out := st.backwardGraph(scope, in[:len(in)-1])
	t := st.tapping
	if !t.tapped || t.dz == nil {
		panic("engine: the tap graph did not reach the first block") // Layers > 0 was checked
	}
	out = append(out, t.xhat, t.gain, t.w, t.dz)
	if st.tapsEmbedding() {
		out = append(out, st.get(scope, in[0].Graph(), "embed_small"))
	}
	return out
}

// tapQuery is called by block with the query projection q of a block, its input x, the gain of
// its norm and its query weights; the first call of a tap graph adds z and keeps the operands.
func (st *Stage) tapQuery(x, gain, w, q *Node) *Node {
	t := st.tapping
	if t == nil || t.tapped {
		return q
	}
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	t.tapped, t.xhat, t.gain, t.w = true, Div(x, Sqrt(AddScalar(ms, 1e-6))), gain, w
	return Add(q, t.z)
}

func (st *Stage) readTap(out []*tensors.Tensor, ids *tensors.Tensor) (*Tap, error) {
	x, g, w, dy := out[0], out[1], out[2], out[3]
	d := st.spec.DModel
	dims := x.Shape().Dimensions
	if len(dims) != 3 || dims[2] != d {
		return nil, fmt.Errorf("engine: tapped input has shape %s", x.Shape())
	}
	t := &Tap{Rows: dims[0] * dims[1], D: d, X: flat32(x), G: flat32(g), W: flat32(w), DY: flat32(dy)}
	if len(out) > 4 {
		t.E = flat32(out[4])
	}
	if ids != nil {
		t.IDs = tensors.MustCopyFlatData[int32](ids)
	}
	return t, nil
}

func flat32(t *tensors.Tensor) []float32 {
	if t.Shape().DType == dtypes.Float64 {
		f := tensors.MustCopyFlatData[float64](t)
		out := make([]float32, len(f))
		for i, v := range f {
			out[i] = float32(v)
		}
		return out
	}
	return tensors.MustCopyFlatData[float32](t)
}
