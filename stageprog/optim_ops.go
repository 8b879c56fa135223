package stageprog

import "math"

// The optimizer step's ops: global-norm clipping by sums in chunks of bounded fan-in, and
// NAdam with decoupled weight decay elementwise (trainer/optim: the same formulas).

// SumChunks sums the concatenation of its inputs (each flat, of the given sizes), or of their
// squares, in chunks of Chunk values: out[c] = Σ V[c·Chunk … (c+1)·Chunk). Applied again to
// its own output it reduces any number of values with at most Chunk read per value.
type SumChunks struct {
	Values, Sizes []int
	Chunk         int
	Square        bool
}

func (o SumChunks) total() int {
	n := 0
	for _, s := range o.Sizes {
		n += s
	}
	return n
}

func (o SumChunks) Dims() []int   { return []int{(o.total() + o.Chunk - 1) / o.Chunk} }
func (o SumChunks) Inputs() []int { return o.Values }

func (o SumChunks) reads(i int) []Ref {
	lo, hi := i*o.Chunk, min((i+1)*o.Chunk, o.total())
	refs := make([]Ref, 0, hi-lo)
	base := 0
	for k, v := range o.Values {
		for j := max(lo, base); j < min(hi, base+o.Sizes[k]); j++ {
			refs = append(refs, Ref{v, j - base})
		}
		base += o.Sizes[k]
	}
	return refs
}

func (o SumChunks) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, x := range v {
		if o.Square {
			x = mul(x, x)
		}
		sum += x
	}
	return sum, nil
}

func (o SumChunks) Encode() []byte {
	return encoder(nil).str("sum_chunks").ints(o.Values...).ints(o.Sizes...).ints(o.Chunk, boolInt(o.Square))
}

// ClipScale is min(1, Clip/(√SumSq + 10⁻¹²)): the factor that brings the gradients' global norm
// down to Clip (SumSq is one value, their squares' sum).
type ClipScale struct {
	SumSq int
	Clip  float64
}

func (o ClipScale) Dims() []int    { return []int{1} }
func (o ClipScale) Inputs() []int  { return []int{o.SumSq} }
func (o ClipScale) Encode() []byte { return encoder(nil).str("clip_scale").ints(o.SumSq).float(o.Clip) }
func (o ClipScale) At(r Reader, _ int) (float64, error) {
	sq, err := r(Ref{o.SumSq, 0})
	if err != nil {
		return 0, err
	}
	return min(1, o.Clip/(math.Sqrt(sq)+1e-12)), nil
}

// Increment is X + 1 (the optimizer's step counter, one value).
type Increment struct{ X int }

func (o Increment) Dims() []int    { return []int{1} }
func (o Increment) Inputs() []int  { return []int{o.X} }
func (o Increment) Encode() []byte { return encoder(nil).str("increment").ints(o.X) }
func (o Increment) At(r Reader, _ int) (float64, error) {
	x, err := r(Ref{o.X, 0})
	return x + 1, err
}

// NAdam is the optimizer's configuration (trainer/optim NAdamConfig, defaults filled in).
type NAdam struct {
	LearningRate, Beta1, Beta2, Epsilon, WeightDecay float64
	WarmupSteps, DecaySteps                          int
	MinLRFraction, ClipNorm                          float64
}

func (c NAdam) encode(e encoder) encoder {
	return e.float(c.LearningRate).float(c.Beta1).float(c.Beta2).float(c.Epsilon).float(c.WeightDecay).
		ints(c.WarmupSteps, c.DecaySteps).float(c.MinLRFraction).float(c.ClipNorm)
}

// rate is the schedule's learning rate at step t: linear warm-up, then cosine decay to the floor.
func (c NAdam) rate(t float64) float64 {
	lr := c.LearningRate
	if c.WarmupSteps > 0 {
		lr = mul(lr, min(1, t/float64(c.WarmupSteps)))
	}
	if c.DecaySteps > 0 {
		p := min(1, max(0, (t-float64(c.WarmupSteps))/float64(c.DecaySteps-c.WarmupSteps)))
		_, cos := SinCos(mul(p, math.Pi))
		lr = mul(lr, c.MinLRFraction+mul(mul(1+cos, 0.5), 1-c.MinLRFraction))
	}
	return lr
}

// pow is b^t for the debiasing terms, by the deterministic Exp and Log.
func pow(b, t float64) float64 { return Exp(mul(t, Log(b))) }

// Const is one constant value (the clipping scale 1 when the optimizer does not clip).
type Const struct{ Value float64 }

func (o Const) Dims() []int                     { return []int{1} }
func (o Const) Inputs() []int                   { return nil }
func (o Const) Encode() []byte                  { return encoder(nil).str("const").float(o.Value) }
func (o Const) At(Reader, int) (float64, error) { return o.Value, nil }

// NAdamMoment is one of a parameter's moments after the step: the first, β₁m + (1−β₁)g, or the
// second (Second), β₂v + (1−β₂)g², with g = G·Scale, the clipped gradient (Scale one value).
type NAdamMoment struct {
	M, G, Scale int
	Second      bool
	Of          []int
	Config      NAdam
}

func (o NAdamMoment) Dims() []int       { return o.Of }
func (o NAdamMoment) Inputs() []int     { return []int{o.M, o.G, o.Scale} }
func (o NAdamMoment) reads(i int) []Ref { return []Ref{{o.M, i}, {o.G, i}, {o.Scale, 0}} }

func (o NAdamMoment) Encode() []byte {
	return o.Config.encode(encoder(nil).str("nadam_moment").ints(o.M, o.G, o.Scale, boolInt(o.Second)).ints(o.Of...))
}

func (o NAdamMoment) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	m, g := v[0], mul(v[1], v[2])
	if o.Second {
		return mul(o.Config.Beta2, m) + mul(mul(g, g), 1-o.Config.Beta2), nil
	}
	return mul(o.Config.Beta1, m) + mul(g, 1-o.Config.Beta1), nil
}

// NAdamWeight is a parameter after the step: w − lr_t·(m̂/(√v̂ + ε) + λw), m̂ = β₁m/(1−β₁^(t+1))
// + (1−β₁)g/(1−β₁^t), v̂ = v/(1−β₂^t), with the moments M and V after the step, t the step
// counter after it and g = G·Scale (Step and Scale one value each).
type NAdamWeight struct {
	W, M, V, G, Scale, Step int
	Of                      []int
	Config                  NAdam
}

func (o NAdamWeight) Dims() []int   { return o.Of }
func (o NAdamWeight) Inputs() []int { return []int{o.W, o.M, o.V, o.G, o.Scale, o.Step} }
func (o NAdamWeight) reads(i int) []Ref {
	return []Ref{{o.W, i}, {o.M, i}, {o.V, i}, {o.G, i}, {o.Scale, 0}, {o.Step, 0}}
}

func (o NAdamWeight) Encode() []byte {
	return o.Config.encode(encoder(nil).str("nadam_weight").ints(o.W, o.M, o.V, o.G, o.Scale, o.Step).ints(o.Of...))
}

func (o NAdamWeight) At(r Reader, i int) (float64, error) {
	v, err := readAll(r, o.reads(i))
	if err != nil {
		return 0, err
	}
	c := o.Config
	w, m, s, g, t := v[0], v[1], v[2], mul(v[3], v[4]), v[5]
	mHat := mul(mul(m, c.Beta1), 1/(1-pow(c.Beta1, t+1))) + mul(mul(g, 1-c.Beta1), 1/(1-pow(c.Beta1, t)))
	vHat := mul(s, 1/(1-pow(c.Beta2, t)))
	upd := mHat / (math.Sqrt(vHat) + c.Epsilon)
	if c.WeightDecay > 0 {
		upd += mul(w, c.WeightDecay)
	}
	return w - mul(c.rate(t), upd), nil
}
