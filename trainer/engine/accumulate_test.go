package engine

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/protolearn/protolearn/trainer/optim"
)

// rows returns rows [lo, hi) of x [batch, ...] as a new tensor.
func rows[T float64 | int32](x *tensors.Tensor, lo, hi int) *tensors.Tensor {
	dims := append([]int(nil), x.Shape().Dimensions...)
	per := x.Shape().Size() / dims[0]
	flat := tensors.MustCopyFlatData[T](x)
	dims[0] = hi - lo
	return tensors.FromFlatDataAndDimensions(append([]T(nil), flat[lo*per:hi*per]...), dims...)
}

// TestAccumulateMatchesFullBatch: M microbatches accumulated and applied once
// make the same update as one Backward on the whole batch (float64), for raw
// and compressed specs, with AdamW and with NAdam.
func TestAccumulateMatchesFullBatch(t *testing.T) {
	const text = "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. "
	const b, m = 4, 2
	for _, tc := range []struct {
		name string
		k    int
		opt  string
	}{{"raw", 0, "adamw"}, {"compressed", 4, "adamw"}, {"compressed-nadam", 4, "nadam"}, {"raw-sgd", 0, "sgd"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySpec()
			s.CompressionRank = tc.k
			opts := func() Options {
				o := Options{DType: dtypes.Float64, LearningRate: 1e-2, WeightDecay: 0.01}
				switch tc.opt {
				case "sgd": // unlike Adam, SGD is not invariant to the gradient's scale
					o.Optimizer = optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(0.1)
				case "nadam":
					c := optim.DefaultNAdam()
					c.LearningRate = 1e-2
					opt, err := optim.NewNAdam(c)
					if err != nil {
						t.Fatal(err)
					}
					o.Optimizer = opt
				}
				return o
			}
			full, micro := newStages(t, s, opts()), newStages(t, s, opts())
			for step := range 3 {
				in := ids(text, 5*step, b, seq)
				tg := ids(text, 5*step+1, b, seq)
				// Full batch.
				acts := []*tensors.Tensor{in}
				for _, st := range full[:len(full)-1] {
					y, err := st.Forward(acts[len(acts)-1], in)
					if err != nil {
						t.Fatal(err)
					}
					acts = append(acts, y)
				}
				d, lossFull, err := full[len(full)-1].BackwardLoss(acts[len(acts)-1], in, tg)
				if err != nil {
					t.Fatal(err)
				}
				for k := len(full) - 2; k >= 0; k-- {
					if d, err = full[k].Backward(acts[k], in, d); err != nil {
						t.Fatal(err)
					}
				}
				// M microbatches, accumulated.
				lossMicro := 0.0
				for j := range m {
					lo, hi := j*b/m, (j+1)*b/m
					mi, mt := rows[int32](in, lo, hi), rows[int32](tg, lo, hi)
					acts := []*tensors.Tensor{mi}
					for _, st := range micro[:len(micro)-1] {
						y, err := st.Forward(acts[len(acts)-1], mi)
						if err != nil {
							t.Fatal(err)
						}
						acts = append(acts, y)
					}
					d, l, err := micro[len(micro)-1].AccumulateBackwardLoss(acts[len(acts)-1], mi, mt)
					if err != nil {
						t.Fatal(err)
					}
					lossMicro += l / m
					for k := len(micro) - 2; k >= 0; k-- {
						if d, err = micro[k].AccumulateBackward(acts[k], mi, d); err != nil {
							t.Fatal(err)
						}
					}
				}
				for _, st := range micro {
					if st.Accumulated() != m {
						t.Fatalf("stage %d accumulated %d, want %d", st.Info().Index, st.Accumulated(), m)
					}
					if err := st.ApplyAccumulated(); err != nil {
						t.Fatal(err)
					}
				}
				if math.Abs(lossFull-lossMicro) > 1e-13 {
					t.Fatalf("step %d: full-batch loss %.17g, mean microbatch loss %.17g", step, lossFull, lossMicro)
				}
				for i := range full {
					pf, pm := full[i].Params(), micro[i].Params()
					for p := range pf {
						a, c := flat64(t, mustValue(t, pf[p])), flat64(t, mustValue(t, pm[p]))
						for e := range a {
							if math.Abs(a[e]-c[e]) > 1e-11 {
								t.Fatalf("step %d stage %d %s[%d]: full %.17g, accumulated %.17g", step, i, pf[p].Name(), e, a[e], c[e])
							}
						}
					}
				}
			}
			// The accumulators are zero again, and applying nothing fails.
			for _, st := range micro {
				for _, a := range st.accum {
					for _, x := range flat64(t, mustValue(t, a)) {
						if x != 0 {
							t.Fatalf("stage %d: accumulator %s not zeroed", st.Info().Index, a.Path())
						}
					}
				}
				if err := st.ApplyAccumulated(); err == nil {
					t.Fatal("ApplyAccumulated with nothing accumulated did not fail")
				}
			}
		})
	}
}

func mustValue(t *testing.T, v interface {
	Value() (*tensors.Tensor, error)
},
) *tensors.Tensor {
	t.Helper()
	x, err := v.Value()
	if err != nil {
		t.Fatal(err)
	}
	return x
}
