package stageprog

import (
	"fmt"
	"math"
)

// Arch is what the reference program of a stage needs of the model and the microbatch: the
// residual width, heads, the SwiGLU's hidden width, the microbatch's B sequences of N tokens,
// and the stage's number of blocks.
type Arch struct {
	DModel, Heads, FFN int
	B, N               int
	Layers             int
}

// Stage is the stage a program is for (trainer/engine's graphs, from the model's spec and the
// stage's place): its blocks, the vocabulary, the compression rank of the boundaries (0: raw
// activations), and whether it is the first or the last.
type Stage struct {
	Arch
	Vocab, Rank int
	First, Last bool
}

// lowRank: the blocks write into the residual stream through U (their outputs cross a later
// boundary).
func (s Stage) lowRank() bool { return s.Rank > 0 && !s.Last }

// width is the boundary's: k compressed, d_model raw.
func (s Stage) width() int {
	if s.Rank > 0 {
		return s.Rank
	}
	return s.DModel
}

func (s Stage) rows() int { return s.B * s.N }

// Check reports a stage the builders cannot make a program for.
func (s Stage) Check() error {
	switch {
	case s.DModel <= 0 || s.Heads <= 0 || s.DModel%s.Heads != 0 || (s.DModel/s.Heads)%2 != 0:
		return fmt.Errorf("stageprog: d_model %d must split into %d heads of an even width", s.DModel, s.Heads)
	case s.FFN <= 0 || s.B <= 0 || s.N <= 0 || s.Layers < 0 || s.Vocab <= 0 || s.Rank < 0 || s.Rank > s.DModel:
		return fmt.Errorf("stageprog: a stage of ffn %d, %d×%d tokens, %d layers, vocab %d, rank %d", s.FFN, s.B, s.N, s.Layers, s.Vocab, s.Rank)
	}
	return nil
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

// paramDims are the stage's parameters' dims in store order: stage 0's embedding (E_small when
// compressed), each block's, the last stage's final norm and LM head.
func (s Stage) paramDims() [][]int {
	d, h, out := s.DModel, s.FFN, s.DModel
	if s.lowRank() {
		out = s.Rank
	}
	var ps [][]int
	if s.First {
		ps = append(ps, []int{s.Vocab, s.width()})
	}
	for range s.Layers {
		ps = append(ps, []int{d}, []int{d, d}, []int{d, d}, []int{d, d}, []int{d, out},
			[]int{d}, []int{d, h}, []int{d, h}, []int{h, out})
	}
	if s.Last {
		ps = append(ps, []int{d}, []int{d, s.Vocab})
	}
	return ps
}

// Layout names a program's inputs by value index; −1 where the program has no such input.
type Layout struct {
	// In is the stage's input (activations, or subspace coordinates C when compressed).
	In int
	// IDs are the microbatch's token ids (stage 0 and compressed stages), Targets the next
	// tokens the last stage is trained on: B·N whole numbers each, from the signed payload or
	// the dataset.
	IDs, Targets int
	// Params are the parameters, in store order.
	Params []int
	// DOut is the gradient of the stage's output the next stage sent back.
	DOut int
	// U [d_model, k] and T [vocab, d_model] are the model's subspace basis and fixed token
	// table (compressed models: public, from the seed).
	U, T int
	// Step and Moments are the optimizer's state: its step counter and each parameter's two
	// moments.
	Step    int
	Moments [][2]int
}

// builder appends ops to a program and names their outputs by value index.
type builder struct {
	p *Program
	s Stage
	l Layout
	// rearranged holds each value's rearrangements (transposes, T's gather by the ids), by
	// kind, made once.
	rearranged map[rearrangement]int
}

func (b *builder) add(op Op) int {
	b.p.Ops = append(b.p.Ops, op)
	return len(b.p.InputDims) + len(b.p.Ops) - 1
}

func (b *builder) input(dims ...int) int {
	b.p.InputDims = append(b.p.InputDims, dims)
	return len(b.p.InputDims) - 1
}

// newBuilder lays out the inputs: the stage's input, the parameters, dOut (with grads, but on
// the last stage), U and T, and (with the optimizer) the step counter and the moments.
func newBuilder(s Stage, grads, opt bool) (*builder, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	b := &builder{p: &Program{}, s: s, l: Layout{In: -1, IDs: -1, Targets: -1, DOut: -1, U: -1, T: -1, Step: -1}, rearranged: map[rearrangement]int{}}
	if !s.First {
		b.l.In = b.input(s.rows(), s.width())
	}
	if s.First || s.Rank > 0 {
		b.l.IDs = b.input(s.rows())
	}
	if s.Last {
		b.l.Targets = b.input(s.rows())
	}
	ps := s.paramDims()
	for _, dims := range ps {
		b.l.Params = append(b.l.Params, b.input(dims...))
	}
	if grads && !s.Last {
		b.l.DOut = b.input(s.rows(), s.width())
	}
	if s.Rank > 0 {
		b.l.U = b.input(s.DModel, s.Rank)
		b.l.T = b.input(s.Vocab, s.DModel)
	}
	if opt {
		b.l.Step = b.input(1)
		for _, dims := range ps {
			b.l.Moments = append(b.l.Moments, [2]int{b.input(dims...), b.input(dims...)})
		}
	}
	return b, nil
}

// mm is the product of x [m, k] (or [k, m] when transA) and y [k, n] (or [n, k] when transB).
// Its leaves read a row of each factor: a factor whose rows are not what the product reads is
// transposed first (once), so that no value reads a strided column (a leaf's cost on chain is
// the chunks it opens).
func (b *builder) mm(x, y, m, k, n int, transA, transB bool) int {
	if transA {
		x = b.transpose(x, k, m)
	}
	if !transB {
		y = b.transpose(y, k, n)
	}
	return b.add(MatMul{A: x, B: y, M: m, K: k, N: n, TransB: true})
}

// transpose is x [r, c] transposed, made once per value.
func (b *builder) transpose(x, r, c int) int { return b.once(x, Transpose{X: x, R: r, C: c}) }

// rearrangement names a value's rearrangement: the value and the op's type.
type rearrangement struct {
	value int
	kind  string
}

// headT is x [B·N, d] laid out by head and position (HeadTranspose), made once per value.
func (b *builder) headT(x int) int {
	s := b.s
	return b.once(x, HeadTranspose{X: x, B: s.B, N: s.N, Heads: s.Heads, HeadDim: s.DModel / s.Heads})
}

// pairsT is a [B, Heads, N, N] tensor with each N×N matrix transposed, made once per value.
func (b *builder) pairsT(x int) int {
	s := b.s
	return b.once(x, BatchTranspose{X: x, Batches: s.B * s.Heads, R: s.N, C: s.N})
}

// once adds op, made from x alone, unless an op of its kind was made from x already.
func (b *builder) once(x int, op Op) int {
	key := rearrangement{x, fmt.Sprintf("%T", op)}
	if t, ok := b.rearranged[key]; ok {
		return t
	}
	t := b.add(op)
	b.rearranged[key] = t
	return t
}

// headMix is HeadMix over the builder's attention shape.
func (b *builder) headMix(p, xT int, causal bool, scale float64) int {
	s := b.s
	return b.add(HeadMix{P: p, XT: xT, Causal: causal, Scale: scale, B: s.B, N: s.N, Heads: s.Heads, HeadDim: s.DModel / s.Heads})
}

func (b *builder) sum(x, y int, dims ...int) int { return b.add(Add{A: x, B: y, Of: dims}) }

// fixed is T[ids] [rows, d_model], gathered once.
func (b *builder) fixed() int {
	return b.once(b.l.T, Gather{Table: b.l.T, IDs: b.l.IDs, Rows: b.s.rows(), TableRows: b.s.Vocab, Width: b.s.DModel})
}

// fromSubspace is c·Uᵀ [rows, d_model] for c [rows, k].
func (b *builder) fromSubspace(c int) int {
	return b.mm(c, b.l.U, b.s.rows(), b.s.Rank, b.s.DModel, false, true)
}

// toSubspace is x·U [rows, k] for x [rows, d_model].
func (b *builder) toSubspace(x int) int {
	return b.mm(x, b.l.U, b.s.rows(), b.s.DModel, b.s.Rank, false, false)
}

// blockParam is the store index of block l's parameter role (stage 0's embedding comes first).
func (b *builder) blockParam(l, role int) int {
	if b.s.First {
		return 1 + l*ParamsPerBlock + role
	}
	return l*ParamsPerBlock + role
}

// param is the value of block l's parameter role.
func (b *builder) param(l, role int) int { return b.l.Params[b.blockParam(l, role)] }

// headParam is the store index of the last stage's parameter i: 0 the final norm, 1 the LM
// head.
func (b *builder) headParam(i int) int { return len(b.l.Params) - 2 + i }

// head is the value of the last stage's parameter i.
func (b *builder) head(i int) int { return b.l.Params[b.headParam(i)] }

// body is the residual stream entering the first block.
func (b *builder) body() int {
	s := b.s
	switch {
	case s.First && s.Rank > 0:
		e := b.add(Gather{Table: b.l.Params[0], IDs: b.l.IDs, Rows: s.rows(), TableRows: s.Vocab, Width: s.Rank})
		return b.sum(b.fixed(), b.fromSubspace(e), s.rows(), s.DModel)
	case s.First:
		return b.add(Gather{Table: b.l.Params[0], IDs: b.l.IDs, Rows: s.rows(), TableRows: s.Vocab, Width: s.DModel})
	case s.Rank > 0:
		return b.sum(b.fromSubspace(b.l.In), b.fixed(), s.rows(), s.DModel)
	}
	return b.l.In
}

// forward is the stage's forward pass: the body, the blocks, and what the stage hands on
// (logits on the last stage, C compressed, the activations raw). It returns the blocks' values
// for the backward pass, the residual stream after them, the final norm's output (last stage)
// and the output.
func (b *builder) forward() (blocks []blockValues, y, xnF, out int) {
	s := b.s
	x := b.body()
	for l := range s.Layers {
		blocks = append(blocks, b.block(x, l))
		x = blocks[l].y
	}
	xnF = -1
	switch {
	case s.Last:
		xnF = b.add(RMSNorm{X: x, G: b.head(0), R: s.rows(), D: s.DModel, Eps: 1e-6})
		out = b.mm(xnF, b.head(1), s.rows(), s.DModel, s.Vocab, false, false)
	case s.Rank > 0:
		out = b.toSubspace(b.add(Sub{A: x, B: b.fixed(), Of: []int{s.rows(), s.DModel}}))
	default:
		out = x
	}
	return blocks, x, xnF, out
}

// blockValues are the values of one block's forward pass that its backward pass reads.
type blockValues struct {
	l                                  int
	x, xn1, qr, kr, v, p, att, x2, xn2 int
	gate, up, act, y                   int
}

// project writes z [rows, out] into the residual stream: z·Uᵀ when the projection is low rank.
func (b *builder) project(z int) int {
	if b.s.lowRank() {
		return b.fromSubspace(z)
	}
	return z
}

// out is the width of the blocks' output projections: k low rank, d_model else.
func (b *builder) out() int {
	if b.s.lowRank() {
		return b.s.Rank
	}
	return b.s.DModel
}

// block appends block l's forward pass on x.
func (b *builder) block(x, l int) blockValues {
	s := b.s
	d, h, rows := s.DModel, s.FFN, s.rows()
	hd := d / s.Heads
	w := func(role int) int { return b.param(l, role) }
	bv := blockValues{l: l, x: x}
	bv.xn1 = b.add(RMSNorm{X: x, G: w(ParamAttnNorm), R: rows, D: d, Eps: 1e-6})
	q := b.mm(bv.xn1, w(ParamWQ), rows, d, d, false, false)
	k := b.mm(bv.xn1, w(ParamWK), rows, d, d, false, false)
	bv.v = b.mm(bv.xn1, w(ParamWV), rows, d, d, false, false)
	bv.qr = b.add(Rope{X: q, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd})
	bv.kr = b.add(Rope{X: k, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd})
	sc := b.add(Scores{Q: bv.qr, K: bv.kr, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd})
	bv.p = b.add(CausalSoftmax{S: sc, Rows: s.B * s.Heads * s.N, N: s.N})
	bv.att = b.headMix(bv.p, b.headT(bv.v), true, 1)
	o := b.project(b.mm(bv.att, w(ParamWO), rows, d, b.out(), false, false))
	bv.x2 = b.sum(x, o, rows, d)
	bv.xn2 = b.add(RMSNorm{X: bv.x2, G: w(ParamMLPNorm), R: rows, D: d, Eps: 1e-6})
	bv.gate = b.mm(bv.xn2, w(ParamWGate), rows, d, h, false, false)
	bv.up = b.mm(bv.xn2, w(ParamWUp), rows, d, h, false, false)
	bv.act = b.add(SwiGLU{Gate: bv.gate, Up: bv.up, Of: []int{rows, h}})
	down := b.project(b.mm(bv.act, w(ParamWDown), rows, h, b.out(), false, false))
	bv.y = b.sum(bv.x2, down, rows, d)
	return bv
}

// Grads names the values of a backward program: the gradient of the stage's input (−1 on
// stage 0) and of each parameter, in store order.
type Grads struct {
	DX     int
	Params []int
}

// norm appends RMSNorm's backward pass: the gradients of x and of the gain g given dy.
func (b *builder) norm(x, g, dy int) (dx, dg int) {
	rows, d := b.s.rows(), b.s.DModel
	rms := b.add(RowRMS{X: x, R: rows, D: d, Eps: 1e-6})
	return b.add(RMSNormBackX{X: x, G: g, DY: dy, RMS: rms, R: rows, D: d}),
		b.add(RMSNormBackG{XT: b.transpose(x, rows, d), DYT: b.transpose(dy, rows, d), RMS: rms, R: rows, D: d})
}

// projectBack is the backward pass of an output projection z = a·W (then ·Uᵀ when low rank)
// given the gradient dOut of what it wrote into the residual stream: W's gradient and a's.
func (b *builder) projectBack(a, w, dOut, inner int) (dW, dA int) {
	rows, out := b.s.rows(), b.out()
	dz := dOut
	if b.s.lowRank() {
		dz = b.toSubspace(dOut)
	}
	return b.mm(a, dz, inner, rows, out, true, false), b.mm(dz, w, rows, out, inner, false, true)
}

// backward appends the forward pass and then the backward pass.
func (b *builder) backward() Grads {
	s := b.s
	d, h, rows := s.DModel, s.FFN, s.rows()
	hd := d / s.Heads
	blocks, y, xnF, logits := b.forward()
	grads := Grads{DX: -1, Params: make([]int, len(b.l.Params))}
	set := func(param, grad int) { grads.Params[param] = grad }
	var dy int
	switch {
	case s.Last:
		dLogits := b.add(CrossEntropyBack{Logits: logits, Targets: b.l.Targets, Rows: rows, V: s.Vocab})
		set(b.headParam(1), b.mm(xnF, dLogits, d, rows, s.Vocab, true, false))
		dxn := b.mm(dLogits, b.head(1), rows, s.Vocab, d, false, true)
		var dg int
		dy, dg = b.norm(y, b.head(0), dxn)
		set(b.headParam(0), dg)
	case s.Rank > 0:
		dy = b.fromSubspace(b.l.DOut)
	default:
		dy = b.l.DOut
	}
	for l := s.Layers - 1; l >= 0; l-- {
		bv := blocks[l]
		w := func(role int) int { return b.param(l, role) }
		// SwiGLU MLP.
		dWDown, dact := b.projectBack(bv.act, w(ParamWDown), dy, h)
		set(b.blockParam(l, ParamWDown), dWDown)
		dgate := b.add(SwiGLUBack{Gate: bv.gate, Up: bv.up, DAct: dact, Of: []int{rows, h}})
		dup := b.add(SwiGLUBack{Gate: bv.gate, Up: bv.up, DAct: dact, WrtUp: true, Of: []int{rows, h}})
		set(b.blockParam(l, ParamWGate), b.mm(bv.xn2, dgate, d, rows, h, true, false))
		set(b.blockParam(l, ParamWUp), b.mm(bv.xn2, dup, d, rows, h, true, false))
		dxn2 := b.sum(b.mm(dgate, w(ParamWGate), rows, h, d, false, true), b.mm(dup, w(ParamWUp), rows, h, d, false, true), rows, d)
		dxNorm, dg := b.norm(bv.x2, w(ParamMLPNorm), dxn2)
		set(b.blockParam(l, ParamMLPNorm), dg)
		dx2 := b.sum(dy, dxNorm, rows, d)
		// Attention.
		dWO, datt := b.projectBack(bv.att, w(ParamWO), dx2, d)
		set(b.blockParam(l, ParamWO), dWO)
		dp := b.add(AttnMixBackP{DAtt: datt, V: bv.v, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd})
		dv := b.headMix(b.pairsT(bv.p), b.headT(datt), false, 1)
		ds := b.add(SoftmaxBack{P: bv.p, DP: dp, Rows: s.B * s.Heads * s.N, N: s.N})
		scale := 1 / math.Sqrt(float64(hd))
		dqr := b.headMix(ds, b.headT(bv.kr), true, scale)
		dkr := b.headMix(b.pairsT(ds), b.headT(bv.qr), false, scale)
		dq := b.add(RopeBack{Rope{X: dqr, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd}})
		dk := b.add(RopeBack{Rope{X: dkr, B: s.B, N: s.N, Heads: s.Heads, HeadDim: hd}})
		set(b.blockParam(l, ParamWQ), b.mm(bv.xn1, dq, d, rows, d, true, false))
		set(b.blockParam(l, ParamWK), b.mm(bv.xn1, dk, d, rows, d, true, false))
		set(b.blockParam(l, ParamWV), b.mm(bv.xn1, dv, d, rows, d, true, false))
		dxn1 := b.sum(b.sum(b.mm(dq, w(ParamWQ), rows, d, d, false, true), b.mm(dk, w(ParamWK), rows, d, d, false, true), rows, d),
			b.mm(dv, w(ParamWV), rows, d, d, false, true), rows, d)
		dxNorm, dg = b.norm(bv.x, w(ParamAttnNorm), dxn1)
		set(b.blockParam(l, ParamAttnNorm), dg)
		dy = b.sum(dx2, dxNorm, rows, d)
	}
	switch {
	case s.First && s.Rank > 0:
		set(0, b.add(ScatterAdd{SrcT: b.transpose(b.toSubspace(dy), rows, s.Rank), IDs: b.l.IDs, SrcRows: rows, Rows: s.Vocab, Width: s.Rank}))
	case s.First:
		set(0, b.add(ScatterAdd{SrcT: b.transpose(dy, rows, d), IDs: b.l.IDs, SrcRows: rows, Rows: s.Vocab, Width: d}))
	case s.Rank > 0:
		grads.DX = b.toSubspace(dy)
	default:
		grads.DX = dy
	}
	return grads
}

// Forward is the stage's forward pass; it returns the program, its inputs and the output's
// value: what the stage hands on (logits on the last stage).
func Forward(s Stage) (*Program, Layout, int, error) {
	b, err := newBuilder(s, false, false)
	if err != nil {
		return nil, Layout{}, 0, err
	}
	_, _, _, out := b.forward()
	return b.p, b.l, out, nil
}

// Backward is the stage's backward pass as the engine runs it (the forward pass recomputed):
// the gradients of the objective Σ out·dOut, or on the last stage of the mean cross-entropy
// against the targets.
func Backward(s Stage) (*Program, Layout, Grads, error) {
	b, err := newBuilder(s, true, false)
	if err != nil {
		return nil, Layout{}, Grads{}, err
	}
	return b.p, b.l, b.backward(), nil
}

// Update names the values of an update program: the gradient sent back (−1 on stage 0), and the
// stage's state after the update, each tensor where the engine's store keeps it: the
// parameters, the step counter, and each parameter's first and second moments.
type Update struct {
	DX      int
	Params  []int
	Step    int
	Moments [][2]int
}

// SumFanIn is how many values a sum of the clipping's global norm reads at most per value.
const SumFanIn = 1024

// StageUpdate is one update of the stage as the swarm applies it (engine Backward, or
// BackwardLoss on the last stage, with trainer/optim's NAdam): the backward pass, the gradients
// clipped to a global norm, and the optimizer step.
func StageUpdate(s Stage, c NAdam) (*Program, Layout, Update, error) {
	b, err := newBuilder(s, true, true)
	if err != nil {
		return nil, Layout{}, Update{}, err
	}
	grads := b.backward()
	u := Update{DX: grads.DX}
	scale := b.add(Const{Value: 1})
	if c.ClipNorm > 0 {
		sizes := make([]int, len(b.l.Params))
		for i, v := range b.l.Params {
			sizes[i] = Size(b.p.Dims(v))
		}
		sum := b.add(SumChunks{Values: grads.Params, Sizes: sizes, Chunk: SumFanIn, Square: true})
		for n := Size(b.p.Dims(sum)); n > 1; n = Size(b.p.Dims(sum)) {
			sum = b.add(SumChunks{Values: []int{sum}, Sizes: []int{n}, Chunk: SumFanIn})
		}
		scale = b.add(ClipScale{SumSq: sum, Clip: c.ClipNorm})
	}
	u.Step = b.add(Increment{X: b.l.Step})
	for i, w := range b.l.Params {
		dims := b.p.Dims(w)
		g := grads.Params[i]
		m := b.add(NAdamMoment{M: b.l.Moments[i][0], G: g, Scale: scale, Of: dims, Config: c})
		v := b.add(NAdamMoment{M: b.l.Moments[i][1], G: g, Scale: scale, Second: true, Of: dims, Config: c})
		u.Moments = append(u.Moments, [2]int{m, v})
		u.Params = append(u.Params, b.add(NAdamWeight{W: w, M: m, V: v, G: g, Scale: scale, Step: u.Step, Of: dims, Config: c}))
	}
	return b.p, b.l, u, nil
}
