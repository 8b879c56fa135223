package optim

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/trainer/internal/testbackend"
)

// backend is the test binary's shared Go backend.
var backend = testbackend.Go

// reference is the NAdam update of the package doc in plain float64.
type reference struct {
	o    *NAdam
	w    [][]float64
	m, v [][]float64
	t    int
}

func (r *reference) step(grads [][]float64) {
	c := r.o.cfg
	r.t++
	t := float64(r.t)
	scale := 1.0
	if c.ClipNorm > 0 {
		var sq float64
		for _, g := range grads {
			for _, x := range g {
				sq += x * x
			}
		}
		scale = math.Min(1, c.ClipNorm/(math.Sqrt(sq)+1e-12))
	}
	lr := r.o.LearningRate(r.t)
	for i, g := range grads {
		for j := range g {
			gr := g[j] * scale
			r.m[i][j] = c.Beta1*r.m[i][j] + (1-c.Beta1)*gr
			r.v[i][j] = c.Beta2*r.v[i][j] + (1-c.Beta2)*gr*gr
			mHat := c.Beta1*r.m[i][j]/(1-math.Pow(c.Beta1, t+1)) + (1-c.Beta1)*gr/(1-math.Pow(c.Beta1, t))
			vHat := r.v[i][j] / (1 - math.Pow(c.Beta2, t))
			r.w[i][j] -= lr * (mHat/(math.Sqrt(vHat)+c.Epsilon) + c.WeightDecay*r.w[i][j])
		}
	}
}

func TestNAdamMatchesReference(t *testing.T) {
	o, err := NewNAdam(NAdamConfig{LearningRate: 0.1, WeightDecay: 0.01, WarmupSteps: 2, DecaySteps: 6, ClipNorm: 0.5})
	require.NoError(t, err)
	require.Equal(t, 0.99, o.Config().Beta1)

	store := model.NewStore()
	root := store.RootScope()
	w0 := []float64{1, -2, 3}
	w1 := []float64{0.5, 0.25}
	root.VariableWithValue("a", tensors.FromFlatDataAndDimensions(append([]float64(nil), w0...), 3))
	root.In("block").VariableWithValue("b", tensors.FromFlatDataAndDimensions(append([]float64(nil), w1...), 2))
	exec, err := model.NewExec(backend(), store, func(scope *model.Scope, in []*Node) []*Node {
		g := in[0].Graph()
		a := scope.GetVariable("a")
		b := scope.In("block").GetVariable("b")
		_, _ = a.NodeValue(g), b.NodeValue(g) // used by the graph, as in a stage
		o.UpdateGraphWithGradients(scope, []*Node{in[0], in[1]}, dtypes.Float64)
		return []*Node{a.NodeValue(g), b.NodeValue(g)}
	})
	require.NoError(t, err)

	ref := &reference{
		o: o, w: [][]float64{append([]float64(nil), w0...), append([]float64(nil), w1...)},
		m: [][]float64{make([]float64, 3), make([]float64, 2)}, v: [][]float64{make([]float64, 3), make([]float64, 2)},
	}
	grads := [][][]float64{
		{{0.3, -0.1, 2}, {1, -1}}, // norm > 0.5: clipped
		{{0.01, 0.02, -0.03}, {0.0, 0.04}},
		{{-1, 0.5, 0.2}, {0.3, 0.3}},
		{{0.2, 0.2, 0.2}, {-0.2, 0.1}},
		{{0, 0, 0}, {0, 0}},
		{{0.1, -0.3, 0.05}, {0.02, -0.01}},
		{{0.4, 0.1, -0.2}, {0.3, 0.2}}, // past the decay: lr at the floor
	}
	for s, gr := range grads {
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(gr[0], 3), tensors.FromFlatDataAndDimensions(gr[1], 2))
		require.NoError(t, err)
		ref.step(gr)
		for i := range 2 {
			got := tensors.MustCopyFlatData[float64](out[i])
			require.InDeltaSlice(t, ref.w[i], got, 1e-12, "step %d variable %d", s+1, i)
		}
	}
	require.InDelta(t, 0.01, o.LearningRate(7), 1e-15)
	require.InDelta(t, 0.05, o.LearningRate(1), 1e-15)
}

func TestNAdamConfigErrors(t *testing.T) {
	for want, c := range map[string]NAdamConfig{
		"learning rate 0":              {},
		"beta1 1 must":                 {LearningRate: 1, Beta1: 1},
		"beta2 -0.5":                   {LearningRate: 1, Beta2: -0.5},
		"weight decay -1":              {LearningRate: 1, WeightDecay: -1},
		"decay steps 5 must exceed":    {LearningRate: 1, WarmupSteps: 5, DecaySteps: 5},
		"warm-up -1":                   {LearningRate: 1, WarmupSteps: -1},
		"min learning-rate fraction 2": {LearningRate: 1, MinLRFraction: 2},
		"clip norm -1":                 {LearningRate: 1, ClipNorm: -1},
	} {
		_, err := NewNAdam(c)
		require.ErrorContains(t, err, want)
	}
	require.NoError(t, DefaultNAdam().Validate())
}
