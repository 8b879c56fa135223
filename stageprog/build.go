package stageprog

// Arch is what the reference program of a stage needs of the model and the microbatch: the
// residual width, heads, the SwiGLU's hidden width, the microbatch's B sequences of N tokens,
// and the stage's number of blocks.
type Arch struct {
	DModel, Heads, FFN int
	B, N               int
	Layers             int
}

// Block's parameters, in the engine's store order (trainer/engine initParams).
const (
	ParamAttnNorm = iota
	ParamWQ
	ParamWK
	ParamWV
	ParamWO
	ParamMLPNorm
	ParamWGate
	ParamWUp
	ParamWDown
	ParamsPerBlock
)

// builder appends ops to a program and names their outputs by value index.
type builder struct{ p *Program }

func (b *builder) add(op Op) int {
	b.p.Ops = append(b.p.Ops, op)
	return len(b.p.InputDims) + len(b.p.Ops) - 1
}

// BlocksForward is the forward pass of a middle stage of an uncompressed model: input 0 is the
// activations X [B·N, DModel], then each block's ParamsPerBlock parameters in store order; the
// last value is the stage's output (the residual stream after its blocks), which is also
// returned.
func BlocksForward(a Arch) (*Program, int) {
	d, h, rows := a.DModel, a.FFN, a.B*a.N
	hd := d / a.Heads
	p := &Program{InputDims: [][]int{{rows, d}}}
	for range a.Layers {
		p.InputDims = append(p.InputDims, []int{d}, []int{d, d}, []int{d, d}, []int{d, d}, []int{d, d},
			[]int{d}, []int{d, h}, []int{d, h}, []int{h, d})
	}
	b := &builder{p}
	x := 0
	for l := range a.Layers {
		w := func(k int) int { return 1 + l*ParamsPerBlock + k }
		xn := b.add(RMSNorm{X: x, G: w(ParamAttnNorm), R: rows, D: d, Eps: 1e-6})
		q := b.add(MatMul{A: xn, B: w(ParamWQ), M: rows, K: d, N: d})
		k := b.add(MatMul{A: xn, B: w(ParamWK), M: rows, K: d, N: d})
		v := b.add(MatMul{A: xn, B: w(ParamWV), M: rows, K: d, N: d})
		q = b.add(Rope{X: q, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
		k = b.add(Rope{X: k, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
		s := b.add(Scores{Q: q, K: k, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
		pr := b.add(CausalSoftmax{S: s, Rows: a.B * a.Heads * a.N, N: a.N})
		att := b.add(AttnMix{P: pr, V: v, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
		o := b.add(MatMul{A: att, B: w(ParamWO), M: rows, K: d, N: d})
		x = b.add(Add{A: x, B: o, Of: []int{rows, d}})
		xn = b.add(RMSNorm{X: x, G: w(ParamMLPNorm), R: rows, D: d, Eps: 1e-6})
		gate := b.add(MatMul{A: xn, B: w(ParamWGate), M: rows, K: d, N: h})
		up := b.add(MatMul{A: xn, B: w(ParamWUp), M: rows, K: d, N: h})
		act := b.add(SwiGLU{Gate: gate, Up: up, Of: []int{rows, h}})
		down := b.add(MatMul{A: act, B: w(ParamWDown), M: rows, K: h, N: d})
		x = b.add(Add{A: x, B: down, Of: []int{rows, d}})
	}
	return p, x
}
