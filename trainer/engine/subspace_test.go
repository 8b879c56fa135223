package engine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/subspace"
	"github.com/protolearn/protolearn/trainer/spec"
)

// compSpec is tinySpec compressed to k = 4 (d = 16).
func compSpec() spec.Spec {
	s := tinySpec()
	s.CompressionRank = 4
	return s
}

// TestSubspaceSharedAcrossStages: every stage holds the same U and T_fixed,
// from the seed alone, and neither is a variable of the store.
func TestSubspaceSharedAcrossStages(t *testing.T) {
	s := compSpec()
	st := newStages(t, s, Options{DType: dtypes.Float64})
	wantU := subspace.Basis(s.Seed, s.DModel, s.CompressionRank)
	wantT := subspace.TokenTable(s.Seed, s.Vocab, s.DModel)
	for _, x := range st {
		gotU, gotT := flat64(t, x.u), flat64(t, x.tFixed)
		for i := range wantU {
			if gotU[i] != wantU[i] {
				t.Fatalf("stage %d U[%d] = %v, want %v", x.info.Index, i, gotU[i], wantU[i])
			}
		}
		for i := range wantT {
			if gotT[i] != wantT[i] {
				t.Fatalf("stage %d T_fixed[%d] = %v, want %v", x.info.Index, i, gotT[i], wantT[i])
			}
		}
		for v := range x.Store().RootScope().IterVariables() {
			if sh := v.Shape(); strings.Contains(v.Path(), "subspace") ||
				(sh.Rank() == 2 && sh.Dimensions[0] == s.Vocab && sh.Dimensions[1] == s.DModel) {
				t.Errorf("stage %d stores %s %s", x.info.Index, v.Path(), sh)
			}
		}
	}
	var names []string
	for _, v := range st[0].Params() {
		names = append(names, v.Name())
	}
	want := "embed_small attn_norm wq wk wv wo_small mlp_norm w_gate w_up w_down_small"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("stage 0 params %q, want %q", got, want)
	}
	names = names[:0]
	for _, v := range st[2].Params() {
		names = append(names, v.Name())
	}
	want = "attn_norm wq wk wv wo mlp_norm w_gate w_up w_down final_norm lm_head"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("last stage params %q, want %q (full rank)", got, want)
	}
}

// subspaceError measures, for a stage's residual stream x (flat [b, n, d])
// and its compressed form c (flat [b, n, k]): the largest component of
// x − T_fixed[ids] outside span(U), and the largest error of the receiver's
// reconstruction c·Uᵀ + T_fixed[ids] against x, both in float64 on the host.
func subspaceError(s spec.Spec, x, c []float64, tokens []int32) (outside, recon float64) {
	d, k := s.DModel, s.CompressionRank
	u := subspace.Basis(s.Seed, d, k)
	tf := subspace.TokenTable(s.Seed, s.Vocab, d)
	for p, id := range tokens {
		r := make([]float64, d)
		for i := range d {
			r[i] = x[p*d+i] - tf[int(id)*d+i]
		}
		coef := make([]float64, k) // Uᵀ r
		for j := range k {
			for i := range d {
				coef[j] += u[i*k+j] * r[i]
			}
		}
		for i := range d {
			proj, rec := 0.0, 0.0
			for j := range k {
				proj += u[i*k+j] * coef[j]
				rec += u[i*k+j] * c[p*k+j]
			}
			outside = math.Max(outside, math.Abs(r[i]-proj))
			recon = math.Max(recon, math.Abs(rec+tf[int(id)*d+i]-x[p*d+i]))
		}
	}
	return outside, recon
}

// compTrain runs steps synchronous steps of a compressed 3-stage pipeline
// and returns the losses; after each step it calls check (if not nil).
func compTrain(t *testing.T, st []*Stage, steps int, check func(step int, in *tensors.Tensor)) []float64 {
	t.Helper()
	const text = "protolearn trains models. "
	var losses []float64
	for step := range steps {
		in := ids(text, step*3, batch, seq)
		tg := ids(text, step*3+1, batch, seq)
		c0, err := st[0].Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		c1, err := st[1].Forward(c0, in)
		if err != nil {
			t.Fatal(err)
		}
		d1, loss, err := st[2].BackwardLoss(c1, in, tg)
		if err != nil {
			t.Fatal(err)
		}
		d0, err := st[1].Backward(c0, in, d1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st[0].Backward(in, nil, d0); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
		if check != nil {
			check(step, in)
		}
	}
	return losses
}

// TestCompressedExact: the residual stream leaving stages 0 and 1 minus
// T_fixed[ids] lies in span(U), and C·Uᵀ + T_fixed[ids] rebuilds it, to
// float64 rounding, before training and after optimizer steps (with weight
// decay, which also moves every parameter).
func TestCompressedExact(t *testing.T) {
	s := compSpec()
	st := newStages(t, s, Options{DType: dtypes.Float64, LearningRate: 1e-2, WeightDecay: 0.1})
	check := func(step int, in *tensors.Tensor) {
		tokens := tensors.MustCopyFlatData[int32](in)
		c0, err := st[0].Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w := c0.Shape().Dimensions[2]; w != s.CompressionRank || w != st[0].OutWidth() {
			t.Fatalf("stage 0 output width %d, want k = %d", w, s.CompressionRank)
		}
		for i, x := range st[:2] {
			var input, ids *tensors.Tensor = in, nil
			if i == 1 {
				input, ids = c0, in
			}
			xs, err := x.forwardStream(input, ids)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x.Forward(input, ids)
			if err != nil {
				t.Fatal(err)
			}
			outside, recon := subspaceError(s, flat64(t, xs), flat64(t, c), tokens)
			t.Logf("step %d stage %d: max |(I−UUᵀ)(X−T[ids])| = %.3g, max |C·Uᵀ+T[ids]−X| = %.3g", step, i, outside, recon)
			if outside > 1e-12 || recon > 1e-12 {
				t.Errorf("step %d stage %d: outside span(U) %g, reconstruction error %g", step, i, outside, recon)
			}
		}
	}
	in := ids("exactness of the boundary", 0, batch, seq)
	check(-1, in)
	compTrain(t, st, 5, func(step int, in *tensors.Tensor) {
		if step == 4 {
			check(step, in)
		}
	})

	// The check is not vacuous: the last stage's full-rank blocks leave
	// span(U).
	c0, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := st[1].Forward(c0, in)
	if err != nil {
		t.Fatal(err)
	}
	x2, err := st[2].forwardStream(c1, in)
	if err != nil {
		t.Fatal(err)
	}
	dummy := make([]float64, batch*seq*s.CompressionRank)
	outside, _ := subspaceError(s, flat64(t, x2), dummy, tensors.MustCopyFlatData[int32](in))
	t.Logf("last stage (full rank): max |(I−UUᵀ)(X−T[ids])| = %.3g", outside)
	if outside < 1e-3 {
		t.Errorf("the last stage's stream is in span(U) (%g): the exactness check cannot fail", outside)
	}
}

// TestCompressedExactFloat32 measures the boundary's rebuild error in the
// default float32: C·Uᵀ + T_fixed[ids] against X, relative to max |X|.
func TestCompressedExactFloat32(t *testing.T) {
	s := compSpec()
	st := newStages(t, s, Options{})
	in := ids("exactness in float32", 0, batch, seq)
	x, err := st[0].forwardStream(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	f64 := func(v []float32) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	xv := f64(tensors.MustCopyFlatData[float32](x))
	scale := 0.0
	for _, v := range xv {
		scale = math.Max(scale, math.Abs(v))
	}
	outside, recon := subspaceError(s, xv, f64(tensors.MustCopyFlatData[float32](c)), tensors.MustCopyFlatData[int32](in))
	t.Logf("float32: max |X| = %.3g, outside span(U) %.3g, rebuild error %.3g (relative %.3g)", scale, outside, recon, recon/scale)
	if outside > 1e-5*scale || recon > 1e-5*scale {
		t.Errorf("float32: outside span(U) %g, rebuild error %g, max |X| %g", outside, recon, scale)
	}
}

// TestCompressedGradCheck compares a compressed middle stage's dC and the
// gradients of its W_small projections with central finite differences of
// ⟨dOut, C_out⟩, and the last stage's dC with finite differences of the
// loss, in float64.
func TestCompressedGradCheck(t *testing.T) {
	s := compSpec()
	k := s.CompressionRank
	st := newStages(t, s, Options{DType: dtypes.Float64})
	in := ids("the quick brown fox", 0, batch, seq)
	c0, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	mid := st[1]
	cv := flat64(t, c0)
	dims := []int{batch, seq, k}
	dOutV := make([]float64, len(cv))
	for i := range dOutV {
		dOutV[i] = math.Sin(float64(i)*0.7) + 0.1
	}
	dOut := tensors.FromFlatDataAndDimensions(dOutV, dims...)
	obj := func(c []float64) float64 {
		y, err := mid.Forward(tensors.FromFlatDataAndDimensions(c, dims...), in)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, v := range flat64(t, y) {
			sum += v * dOutV[i]
		}
		return sum
	}
	_, dC, pg, err := mid.Gradients(c0, in, dOut)
	if err != nil {
		t.Fatal(err)
	}
	if got := dC.Shape().Dimensions; got[2] != k {
		t.Fatalf("dC shape %v, want width %d", got, k)
	}
	dv := flat64(t, dC)
	const eps = 1e-5
	for _, i := range []int{0, 5, 17, len(cv) - 1} {
		p := append([]float64(nil), cv...)
		p[i] += eps
		m := append([]float64(nil), cv...)
		m[i] -= eps
		fd := (obj(p) - obj(m)) / (2 * eps)
		t.Logf("dC[%d] = %.10g, finite difference %.10g", i, dv[i], fd)
		if !near(fd, dv[i]) {
			t.Errorf("dC[%d] = %.10g, finite difference %.10g", i, dv[i], fd)
		}
	}
	for _, c := range []struct {
		p    int
		name string
	}{{4, "wo_small"}, {8, "w_down_small"}} {
		if got := mid.Params()[c.p].Name(); got != c.name {
			t.Fatalf("param %d is %s, want %s", c.p, got, c.name)
		}
		n := mid.Params()[c.p].Shape().Size()
		checkParam(t, mid, c.p, pg[c.p], func() float64 { return obj(cv) }, 0, 7, n-1)
	}

	// Stage 0's embed_small, against the surrogate on C.
	first := st[0]
	_, _, pg0, err := first.Gradients(in, nil, dOut)
	if err != nil {
		t.Fatal(err)
	}
	surrogate := func() float64 {
		y, err := first.Forward(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, v := range flat64(t, y) {
			sum += v * dOutV[i]
		}
		return sum
	}
	checkParam(t, first, 0, pg0[0], surrogate, int('q')*k, int('q')*k+3, int(' ')*k+1)

	// The last stage's dC against the loss.
	last := st[2]
	tg := ids("the quick brown fox", 1, batch, seq)
	lossAt := func(c []float64) float64 {
		l, err := last.Loss(tensors.FromFlatDataAndDimensions(c, dims...), in, tg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	_, dCl, _, err := last.Gradients(c0, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	dl := flat64(t, dCl)
	for _, i := range []int{1, 30, len(cv) - 2} {
		p := append([]float64(nil), cv...)
		p[i] += eps
		m := append([]float64(nil), cv...)
		m[i] -= eps
		fd := (lossAt(p) - lossAt(m)) / (2 * eps)
		if !near(fd, dl[i]) {
			t.Errorf("last dC[%d] = %.10g, finite difference %.10g", i, dl[i], fd)
		}
	}
}

// TestCompressedTrain: a compressed 3-stage pipeline (k = 4 of d = 16)
// learns, bit-identically across two runs, and its boundary payloads have
// width k.
func TestCompressedTrain(t *testing.T) {
	s := compSpec()
	const steps = 40
	run := func() []float64 {
		return compTrain(t, newStages(t, s, Options{LearningRate: 1e-2}), steps, nil)
	}
	start := time.Now()
	losses := run()
	t.Logf("%d steps in %v", steps, time.Since(start))
	for i := 0; i < steps; i += 10 {
		t.Logf("step %d loss %.4f", i, losses[i])
	}
	first, last := losses[0], losses[steps-1]
	t.Logf("step %d loss %.4f", steps-1, last)
	if !(last < first-1.5) {
		t.Fatalf("loss %.3f -> %.3f: did not fall by 1.5", first, last)
	}
	again := run()
	for i := range losses {
		if losses[i] != again[i] {
			t.Fatalf("step %d: loss %v, then %v", i, losses[i], again[i])
		}
	}

	// Payloads: activations C and gradients ∂L/∂C are k wide.
	st := newStages(t, s, Options{})
	in, tg := ids("payload width", 0, batch, seq), ids("payload width", 1, batch, seq)
	c0, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := st[1].Forward(c0, in)
	if err != nil {
		t.Fatal(err)
	}
	dC, _, err := st[2].BackwardLoss(c1, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind payload.Kind
		x    *tensors.Tensor
	}{{payload.Activations, c0}, {payload.Gradients, dC}} {
		dims := c.x.Shape().Dimensions
		p := &payload.Payload{
			Kind: c.kind, DType: payload.F32, Compressed: s.Compressed(),
			Batch: uint32(dims[0]), Seq: uint32(dims[1]), Width: uint32(dims[2]),
			Data: tensors.MustCopyFlatData[float32](c.x),
		}
		if c.kind == payload.Activations {
			p.Vocab, p.IDs = uint32(s.Vocab), tensors.MustCopyFlatData[int32](in)
		}
		b, err := payload.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := payload.Decode(b, payload.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if q.Width != uint32(s.CompressionRank) || !q.Compressed || int(q.Width) != s.BoundaryWidth() {
			t.Errorf("%s payload width %d compressed %v, want %d", c.kind, q.Width, q.Compressed, s.CompressionRank)
		}
		t.Logf("%s payload: %d bytes (raw would carry %d floats per token, this %d)", c.kind, len(b), s.DModel, q.Width)
	}
	if _, err := st[1].Forward(c0, nil); err == nil {
		t.Error("a compressed stage 1 ran without token ids")
	}
}

// TestCompressedSplits: a compressed model of one stage (no boundary: the
// embedding is still T_fixed + E_small·Uᵀ, the blocks full rank) trains, and
// a split into stages of 1 and 2 layers runs forward and backward.
func TestCompressedSplits(t *testing.T) {
	s := compSpec()
	s.NLayers, s.Stages = 2, []int{2}
	one, err := New(backend(), s, 0, Options{LearningRate: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	if names := one.Params(); names[0].Name() != "embed_small" || names[5].Name() != "wo" {
		t.Fatalf("single compressed stage params start %s ... %s", names[0].Name(), names[5].Name())
	}
	in, tg := ids("one stage only. ", 0, batch, seq), ids("one stage only. ", 1, batch, seq)
	var first, last float64
	for i := range 20 {
		_, loss, err := one.BackwardLoss(in, nil, tg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < first-1) {
		t.Fatalf("single compressed stage: loss %.3f -> %.3f", first, last)
	}

	s.NLayers, s.Stages = 3, []int{1, 2}
	st := newStages(t, s, Options{})
	c, err := st[0].Forward(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	dC, _, err := st[1].BackwardLoss(c, in, tg)
	if err != nil {
		t.Fatal(err)
	}
	if dC.Shape().Dimensions[2] != s.CompressionRank {
		t.Fatalf("dC shape %s", dC.Shape())
	}
	if _, err := st[0].Backward(in, nil, dC); err != nil {
		t.Fatal(err)
	}
}
