// Package optim holds the trainer's optimizers as GoMLX graph updates that
// take the gradients a stage computed (the engine's backward graph calls
// UpdateGraphWithGradients with them).
//
// NAdam is the optimizer of the asynchronous pipeline: arXiv 2505.01099
// corrects the staleness of a gradient that is τ steps old with Nesterov
// momentum, the stale gradient discounted by (1 − γ) and applied at the
// look-ahead point; its authors' code is NAdam with decoupled weight decay
// and β₁ = 0.99, whose update carries exactly that (1 − β₁)·g term
// (docs/ALGORITHMS.md). With the learning-rate warm-up, cosine decay
// and global-norm gradient clipping they use.
package optim

import (
	"fmt"
	"math"
	"path"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with dot-imported ops.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// NAdamConfig configures [NAdam]. Zero fields take the defaults of
// [DefaultNAdam] where noted.
type NAdamConfig struct {
	// LearningRate is the peak learning rate (after warm-up).
	LearningRate float64
	// Beta1 is the momentum γ (default 0.99), Beta2 the second-moment decay
	// (default 0.999), Epsilon the denominator's floor (default 1e-8).
	Beta1, Beta2, Epsilon float64
	// WeightDecay is decoupled: w −= lr·λ·w each step; 0 disables it.
	WeightDecay float64
	// WarmupSteps ramp the learning rate linearly from lr/WarmupSteps to lr.
	WarmupSteps int
	// DecaySteps, when > 0, is the step at which the cosine decay reaches
	// MinLRFraction·lr (it stays there after); 0 keeps lr after warm-up.
	DecaySteps int
	// MinLRFraction is the floor of the cosine decay (default 0.1).
	MinLRFraction float64
	// ClipNorm, when > 0, scales the gradients down so their global L2 norm
	// is at most ClipNorm.
	ClipNorm float64
}

// DefaultNAdam is the configuration of the paper's code: lr 3e-4, β₁ 0.99,
// β₂ 0.999, ε 1e-8, gradient clipping at 1, 10% floor for the cosine decay.
func DefaultNAdam() NAdamConfig {
	return NAdamConfig{LearningRate: 3e-4, Beta1: 0.99, Beta2: 0.999, Epsilon: 1e-8, MinLRFraction: 0.1, ClipNorm: 1}
}

// Validate reports a configuration that cannot train, naming the field.
func (c NAdamConfig) Validate() error {
	switch {
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("optim: learning rate %v must be positive and finite", c.LearningRate)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: beta1 %v must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: beta2 %v must be in [0, 1)", c.Beta2)
	case !(c.Epsilon > 0):
		return fmt.Errorf("optim: epsilon %v must be positive", c.Epsilon)
	case c.WeightDecay < 0:
		return fmt.Errorf("optim: weight decay %v must be ≥ 0", c.WeightDecay)
	case c.WarmupSteps < 0 || c.DecaySteps < 0:
		return fmt.Errorf("optim: warm-up %d and decay %d steps must be ≥ 0", c.WarmupSteps, c.DecaySteps)
	case c.DecaySteps > 0 && c.DecaySteps <= c.WarmupSteps:
		return fmt.Errorf("optim: decay steps %d must exceed warm-up steps %d", c.DecaySteps, c.WarmupSteps)
	case !(c.MinLRFraction >= 0 && c.MinLRFraction <= 1):
		return fmt.Errorf("optim: min learning-rate fraction %v must be in [0, 1]", c.MinLRFraction)
	case c.ClipNorm < 0:
		return fmt.Errorf("optim: clip norm %v must be ≥ 0 (0 disables clipping)", c.ClipNorm)
	}
	return nil
}

// NAdam applies the NAdam update with decoupled weight decay to a scope's
// trainable variables. For step t = 1, 2, … and gradient g (clipped):
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	m̂ = β₁m/(1−β₁^(t+1)) + (1−β₁)g/(1−β₁^t),  v̂ = v/(1−β₂^t)
//	w ← w − lr_t·(m̂/(√v̂ + ε) + λw)
//
// (Dozat's NAdam without the momentum schedule, as in Optax.) Its state —
// the step and the two moments of each variable — lives in the store under
// "nadam", non-trainable, so it is saved with the stage.
type NAdam struct{ cfg NAdamConfig }

// NewNAdam checks cfg, filling unset β₁, β₂, ε and floor from [DefaultNAdam].
func NewNAdam(cfg NAdamConfig) (*NAdam, error) {
	def := DefaultNAdam()
	if cfg.Beta1 == 0 {
		cfg.Beta1 = def.Beta1
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = def.Beta2
	}
	if cfg.Epsilon == 0 {
		cfg.Epsilon = def.Epsilon
	}
	if cfg.MinLRFraction == 0 {
		cfg.MinLRFraction = def.MinLRFraction
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &NAdam{cfg: cfg}, nil
}

// Config is the optimizer's configuration, defaults filled in.
func (o *NAdam) Config() NAdamConfig { return o.cfg }

const scopeName = "nadam"

// StepPath is the store path of the optimizer's step counter.
const StepPath = "/" + scopeName + "/step"

// MomentPaths are the store paths of the first and second moments of the parameter at path
// (e.g. /layer_000/wq: /nadam/layer_000/wq_m and _v).
func MomentPaths(param string) (m, v string) {
	p := "/" + scopeName + param
	return p + "_m", p + "_v"
}

// LearningRate is the schedule's rate at step t (1-based), the same formula
// the graph computes, for logs and metrics.
func (o *NAdam) LearningRate(t int) float64 {
	c := o.cfg
	lr := c.LearningRate
	if c.WarmupSteps > 0 {
		lr *= math.Min(1, float64(t)/float64(c.WarmupSteps))
	}
	if c.DecaySteps > 0 {
		p := math.Min(1, math.Max(0, float64(t-c.WarmupSteps)/float64(c.DecaySteps-c.WarmupSteps)))
		lr *= c.MinLRFraction + (1-c.MinLRFraction)*0.5*(1+math.Cos(math.Pi*p))
	}
	return lr
}

// UpdateGraphWithGradients adds the update to the graph of grads. grads are
// the gradients of the scope's variables that are trainable and used by the
// graph, in the store's order: the order the engine builds them in.
func (o *NAdam) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		panic("optim: no gradients: the stage has no trainable variable in this graph")
	}
	g := grads[0].Graph()
	dtype := lossDType
	c := o.cfg
	cnst := func(x float64) *Node { return Scalar(g, dtype, x) }

	step := optimizer.IncrementCounter(scope.At("%s", scopeName), g, "step", dtype)
	lr := cnst(c.LearningRate)
	if c.WarmupSteps > 0 {
		lr = Mul(lr, Min(cnst(1), Div(step, cnst(float64(c.WarmupSteps)))))
	}
	if c.DecaySteps > 0 {
		p := Div(Sub(step, cnst(float64(c.WarmupSteps))), cnst(float64(c.DecaySteps-c.WarmupSteps)))
		p = Min(cnst(1), Max(cnst(0), p))
		cosine := MulScalar(OnePlus(Cos(MulScalar(p, math.Pi))), 0.5)
		lr = Mul(lr, Add(cnst(c.MinLRFraction), MulScalar(cosine, 1-c.MinLRFraction)))
	}

	for i := range grads {
		if grads[i].DType() != dtype {
			grads[i] = ConvertDType(grads[i], dtype)
		}
	}
	if c.ClipNorm > 0 {
		var sq *Node
		for _, gr := range grads {
			s := ReduceAllSum(Square(gr))
			if sq == nil {
				sq = s
			} else {
				sq = Add(sq, s)
			}
		}
		scale := Min(cnst(1), Div(cnst(c.ClipNorm), Add(Sqrt(sq), cnst(1e-12))))
		for i := range grads {
			grads[i] = Mul(grads[i], scale)
		}
	}

	beta1, beta2 := cnst(c.Beta1), cnst(c.Beta2)
	nextMomentumDebias := Reciprocal(OneMinus(Pow(beta1, OnePlus(step)))) // 1/(1−β₁^(t+1))
	gradDebias := Reciprocal(OneMinus(Pow(beta1, step)))                  // 1/(1−β₁^t)
	varDebias := Reciprocal(OneMinus(Pow(beta2, step)))                   // 1/(1−β₂^t)

	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			panic(fmt.Sprintf("optim: more trainable variables in the graph than the %d gradients given", len(grads)))
		}
		grad := grads[i]
		i++
		m1, m2 := moments(scope, v, dtype)
		m := Add(Mul(beta1, m1.NodeValue(g)), MulScalar(grad, 1-c.Beta1))
		s := Add(Mul(beta2, m2.NodeValue(g)), MulScalar(Square(grad), 1-c.Beta2))
		m1.SetNodeValue(m)
		m2.SetNodeValue(s)
		mHat := Add(Mul(MulScalar(m, c.Beta1), nextMomentumDebias), Mul(MulScalar(grad, 1-c.Beta1), gradDebias))
		vHat := Mul(s, varDebias)
		w := v.NodeValue(g)
		if w.DType() != dtype {
			w = ConvertDType(w, dtype)
		}
		upd := Div(mHat, Add(Sqrt(vHat), cnst(c.Epsilon)))
		if c.WeightDecay > 0 {
			upd = Add(upd, MulScalar(w, c.WeightDecay))
		}
		next := Sub(w, Mul(lr, upd))
		if v.Shape().DType != dtype {
			next = ConvertDType(next, v.Shape().DType)
		}
		v.SetNodeValue(next)
	}
	if i != len(grads) {
		panic(fmt.Sprintf("optim: %d gradients given for %d trainable variables in the graph", len(grads), i))
	}
}

// moments are the first and second moment variables of v, created at zero.
func moments(scope *model.Scope, v *model.Variable, dtype dtypes.DType) (m1, m2 *model.Variable) {
	shape := v.Shape().Clone()
	shape.DType = dtype
	sc := scope.Store().Scope(path.Join("/", scopeName, v.Scope())).WithInitializer(initializer.Zero)
	m1 = sc.VariableWithShape(v.Name()+"_m", shape).SetTrainable(false)
	m2 = sc.VariableWithShape(v.Name()+"_v", shape).SetTrainable(false)
	return m1, m2
}
