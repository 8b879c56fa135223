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
	p := &Program{InputDims: blockInputs(a)}
	b := &builder{p}
	x := 0
	for l := range a.Layers {
		x = b.block(a, x, l).y
	}
	return p, x
}

// blockInputs are the program's inputs: X, then every block's parameters.
func blockInputs(a Arch) [][]int {
	d, h := a.DModel, a.FFN
	in := [][]int{{a.B * a.N, d}}
	for range a.Layers {
		in = append(in, []int{d}, []int{d, d}, []int{d, d}, []int{d, d}, []int{d, d},
			[]int{d}, []int{d, h}, []int{d, h}, []int{h, d})
	}
	return in
}

// blockValues are the values of one block's forward pass that its backward pass reads.
type blockValues struct {
	w                                  func(role int) int
	x, xn1, qr, kr, v, p, att, x2, xn2 int
	gate, up, act, y                   int
}

// block appends block l's forward pass on x.
func (b *builder) block(a Arch, x, l int) blockValues {
	d, h, rows := a.DModel, a.FFN, a.B*a.N
	hd := d / a.Heads
	bv := blockValues{w: func(k int) int { return 1 + l*ParamsPerBlock + k }, x: x}
	w := bv.w
	bv.xn1 = b.add(RMSNorm{X: x, G: w(ParamAttnNorm), R: rows, D: d, Eps: 1e-6})
	q := b.add(MatMul{A: bv.xn1, B: w(ParamWQ), M: rows, K: d, N: d})
	k := b.add(MatMul{A: bv.xn1, B: w(ParamWK), M: rows, K: d, N: d})
	bv.v = b.add(MatMul{A: bv.xn1, B: w(ParamWV), M: rows, K: d, N: d})
	bv.qr = b.add(Rope{X: q, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
	bv.kr = b.add(Rope{X: k, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
	s := b.add(Scores{Q: bv.qr, K: bv.kr, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
	bv.p = b.add(CausalSoftmax{S: s, Rows: a.B * a.Heads * a.N, N: a.N})
	bv.att = b.add(AttnMix{P: bv.p, V: bv.v, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd})
	o := b.add(MatMul{A: bv.att, B: w(ParamWO), M: rows, K: d, N: d})
	bv.x2 = b.add(Add{A: x, B: o, Of: []int{rows, d}})
	bv.xn2 = b.add(RMSNorm{X: bv.x2, G: w(ParamMLPNorm), R: rows, D: d, Eps: 1e-6})
	bv.gate = b.add(MatMul{A: bv.xn2, B: w(ParamWGate), M: rows, K: d, N: h})
	bv.up = b.add(MatMul{A: bv.xn2, B: w(ParamWUp), M: rows, K: d, N: h})
	bv.act = b.add(SwiGLU{Gate: bv.gate, Up: bv.up, Of: []int{rows, h}})
	down := b.add(MatMul{A: bv.act, B: w(ParamWDown), M: rows, K: h, N: d})
	bv.y = b.add(Add{A: bv.x2, B: down, Of: []int{rows, d}})
	return bv
}

// Grads names the values of a backward program: the gradient of the stage's input and of each
// parameter, in the inputs' (store) order.
type Grads struct {
	DX     int
	Params []int
}

// BlocksBackward is the backward pass of a middle stage of an uncompressed model: its inputs
// are BlocksForward's and then dOut [B·N, DModel], the gradient of the stage's output that the
// next stage sent back (the objective is Σ out·dOut, as in the engine); it recomputes the
// forward pass and returns the gradients.
func BlocksBackward(a Arch) (*Program, Grads) {
	p := &Program{InputDims: append(blockInputs(a), []int{a.B * a.N, a.DModel})}
	b := &builder{p}
	return p, b.backward(a, len(p.InputDims)-1)
}

// backward appends the forward pass and then the backward pass of the blocks, on the inputs
// blockInputs lays out, with dOut the value of the output's gradient.
func (b *builder) backward(a Arch, dOut int) Grads {
	d, h, rows := a.DModel, a.FFN, a.B*a.N
	hd := d / a.Heads
	blocks := make([]blockValues, a.Layers)
	x := 0
	for l := range a.Layers {
		blocks[l] = b.block(a, x, l)
		x = blocks[l].y
	}
	grads := Grads{Params: make([]int, a.Layers*ParamsPerBlock)}
	dy := dOut
	mm := func(x, y, m, k, n int, ta, tb bool) int {
		return b.add(MatMul{A: x, B: y, M: m, K: k, N: n, TransA: ta, TransB: tb})
	}
	add := func(x, y int, dims ...int) int { return b.add(Add{A: x, B: y, Of: dims}) }
	norm := func(x, g, dy int) (dx, dg int) {
		rms := b.add(RowRMS{X: x, R: rows, D: d, Eps: 1e-6})
		return b.add(RMSNormBackX{X: x, G: g, DY: dy, RMS: rms, R: rows, D: d}),
			b.add(RMSNormBackG{X: x, DY: dy, RMS: rms, R: rows, D: d})
	}
	for l := a.Layers - 1; l >= 0; l-- {
		bv := blocks[l]
		w := bv.w
		g := func(role, v int) { grads.Params[l*ParamsPerBlock+role] = v }
		// SwiGLU MLP.
		g(ParamWDown, mm(bv.act, dy, h, rows, d, true, false))
		dact := mm(dy, w(ParamWDown), rows, d, h, false, true)
		dgate := b.add(SwiGLUBack{Gate: bv.gate, Up: bv.up, DAct: dact, Of: []int{rows, h}})
		dup := b.add(SwiGLUBack{Gate: bv.gate, Up: bv.up, DAct: dact, WrtUp: true, Of: []int{rows, h}})
		g(ParamWGate, mm(bv.xn2, dgate, d, rows, h, true, false))
		g(ParamWUp, mm(bv.xn2, dup, d, rows, h, true, false))
		dxn2 := add(mm(dgate, w(ParamWGate), rows, h, d, false, true), mm(dup, w(ParamWUp), rows, h, d, false, true), rows, d)
		dxNorm, dg := norm(bv.x2, w(ParamMLPNorm), dxn2)
		g(ParamMLPNorm, dg)
		dx2 := add(dy, dxNorm, rows, d)
		// Attention.
		g(ParamWO, mm(bv.att, dx2, d, rows, d, true, false))
		datt := mm(dx2, w(ParamWO), rows, d, d, false, true)
		dp := b.add(NewAttnMixBackP(datt, bv.v, a.B, a.N, a.Heads, hd))
		dv := b.add(NewAttnMixBackV(bv.p, datt, a.B, a.N, a.Heads, hd))
		ds := b.add(SoftmaxBack{P: bv.p, DP: dp, Rows: a.B * a.Heads * a.N, N: a.N})
		dqr := b.add(NewScoresBack(ds, bv.kr, false, a.B, a.N, a.Heads, hd))
		dkr := b.add(NewScoresBack(ds, bv.qr, true, a.B, a.N, a.Heads, hd))
		dq := b.add(RopeBack{Rope{X: dqr, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd}})
		dk := b.add(RopeBack{Rope{X: dkr, B: a.B, N: a.N, Heads: a.Heads, HeadDim: hd}})
		g(ParamWQ, mm(bv.xn1, dq, d, rows, d, true, false))
		g(ParamWK, mm(bv.xn1, dk, d, rows, d, true, false))
		g(ParamWV, mm(bv.xn1, dv, d, rows, d, true, false))
		dxn1 := add(add(mm(dq, w(ParamWQ), rows, d, d, false, true), mm(dk, w(ParamWK), rows, d, d, false, true), rows, d),
			mm(dv, w(ParamWV), rows, d, d, false, true), rows, d)
		dxNorm, dg = norm(bv.x, w(ParamAttnNorm), dxn1)
		g(ParamAttnNorm, dg)
		dy = add(dx2, dxNorm, rows, d)
	}
	grads.DX = dy
	return grads
}

// Update names the values of an update program: the gradient sent back, and the stage's state
// after the update, each tensor where the engine's store keeps it: the parameters, the step
// counter, and each parameter's first and second moments.
type Update struct {
	DX      int
	Params  []int
	Step    int
	Moments [][2]int
}

// SumFanIn is how many values a sum of the clipping's global norm reads at most per value.
const SumFanIn = 1024

// StageUpdate is one update of a middle stage of an uncompressed model as the swarm applies it
// (engine Backward with trainer/optim's NAdam): the backward pass, the gradients clipped to a
// global norm, and the optimizer step. Its inputs are BlocksBackward's (X, the parameters,
// dOut), then the step counter (one value) and each parameter's two moments, in store order.
func StageUpdate(a Arch, c NAdam) (*Program, Update) {
	in := append(blockInputs(a), []int{a.B * a.N, a.DModel}, []int{1})
	params := in[1 : 1+a.Layers*ParamsPerBlock]
	for _, dims := range params {
		in = append(in, dims, dims)
	}
	p := &Program{InputDims: in}
	b := &builder{p}
	dOut, step := 1+len(params), 2+len(params)
	grads := b.backward(a, dOut)
	u := Update{DX: grads.DX}
	scale := b.add(Const{Value: 1})
	if c.ClipNorm > 0 {
		sizes := make([]int, len(params))
		for i, dims := range params {
			sizes[i] = Size(dims)
		}
		sum := b.add(SumChunks{Values: grads.Params, Sizes: sizes, Chunk: SumFanIn, Square: true})
		for n := Size(p.Dims(sum)); n > 1; n = Size(p.Dims(sum)) {
			sum = b.add(SumChunks{Values: []int{sum}, Sizes: []int{n}, Chunk: SumFanIn})
		}
		scale = b.add(ClipScale{SumSq: sum, Clip: c.ClipNorm})
	}
	u.Step = b.add(Increment{X: step})
	for i, dims := range params {
		m, v := step+1+2*i, step+2+2*i
		g := grads.Params[i]
		m = b.add(NAdamMoment{M: m, G: g, Scale: scale, Of: dims, Config: c})
		v = b.add(NAdamMoment{M: v, G: g, Scale: scale, Second: true, Of: dims, Config: c})
		u.Moments = append(u.Moments, [2]int{m, v})
		u.Params = append(u.Params, b.add(NAdamWeight{W: 1 + i, M: m, V: v, G: g, Scale: scale, Step: u.Step, Of: dims, Config: c}))
	}
	return p, u
}
