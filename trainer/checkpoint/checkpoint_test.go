package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/spec"
)

// backend is the test binary's shared Go backend.
var backend = testbackend.Go

const batch, seq = 2, testspec.SeqLen

// tiny is a compressed 3-stage model, so stages past 0 need the ids too.
func tiny() spec.Spec { return testspec.Tiny(4) }

func stages(t *testing.T) []*engine.Stage {
	t.Helper()
	opt, err := optim.NewNAdam(optim.NAdamConfig{LearningRate: 1e-2, WarmupSteps: 3, ClipNorm: 1})
	require.NoError(t, err)
	var out []*engine.Stage
	for i := range tiny().Stages {
		st, err := engine.New(backend(), tiny(), i, engine.Options{Optimizer: opt})
		require.NoError(t, err)
		out = append(out, st)
	}
	return out
}

func tokens(off int) *tensors.Tensor {
	const text = "checkpoints resume training exactly. "
	v := make([]int32, batch*seq)
	for i := range v {
		v[i] = int32(text[(off+i)%len(text)])
	}
	return tensors.FromFlatDataAndDimensions(v, batch, seq)
}

// step trains the pipeline one step on the data of step s and returns the loss.
func step(t *testing.T, st []*engine.Stage, s int) float64 {
	t.Helper()
	in, tg := tokens(3*s), tokens(3*s+1)
	a0, err := st[0].Forward(in, nil)
	require.NoError(t, err)
	a1, err := st[1].Forward(a0, in)
	require.NoError(t, err)
	d1, loss, err := st[2].BackwardLoss(a1, in, tg)
	require.NoError(t, err)
	d0, err := st[1].Backward(a0, in, d1)
	require.NoError(t, err)
	_, err = st[0].Backward(in, nil, d0)
	require.NoError(t, err)
	return loss
}

// TestResumeContinuesExactly trains 4 steps, saves every stage, trains 4 more;
// fresh stages loaded from the files must produce the same 4 losses, bit for
// bit (parameters and NAdam's moments and step all restored).
func TestResumeContinuesExactly(t *testing.T) {
	dir := t.TempDir()
	st := stages(t)
	for s := range 4 {
		step(t, st, s)
	}
	for i, x := range st {
		require.NoError(t, Save(filepath.Join(dir, stageFile(i)), x, 4))
	}
	var want []float64
	for s := 4; s < 8; s++ {
		want = append(want, step(t, st, s))
	}

	fresh := stages(t)
	for i, x := range fresh {
		got, err := Load(filepath.Join(dir, stageFile(i)), x)
		require.NoError(t, err)
		require.Equal(t, uint64(4), got)
	}
	var got []float64
	for s := 4; s < 8; s++ {
		got = append(got, step(t, fresh, s))
	}
	require.Equal(t, want, got)

	// A fresh pipeline that did not resume gives other losses: the test can fail.
	other := stages(t)
	require.NotEqual(t, want[0], step(t, other, 4))

	h, err := ReadHeader(filepath.Join(dir, stageFile(1)))
	require.NoError(t, err)
	require.Equal(t, 1, h.Stage)
	require.Equal(t, uint64(4), h.Step)
	var params, state int
	for _, v := range h.Variables {
		if v.Trainable {
			params++
		} else {
			state++
		}
	}
	require.Equal(t, len(st[1].Params()), params)
	require.Greater(t, state, 2*params, "moments of every parameter and the step counters")
}

func stageFile(i int) string { return "stage-" + string(rune('0'+i)) + ".ckpt" }

// TestLoadRefusesBadFiles checks every refusal leaves the stage untouched.
func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	st := stages(t)
	step(t, st, 0)
	good := filepath.Join(dir, "s1.ckpt")
	require.NoError(t, Save(good, st[1], 1))
	data, err := os.ReadFile(good)
	require.NoError(t, err)

	target := stages(t)[1]
	before := tensors.MustCopyFlatData[float32](target.Params()[0].MustValue())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)-3] ^= 1
	for want, p := range map[string]string{
		"no such file":               filepath.Join(dir, "missing.ckpt"),
		"not a stage checkpoint":     write("junk.ckpt", []byte("hello, world")),
		"too short":                  write("short.ckpt", []byte("PL")),
		"truncated header":           write("cut-header.ckpt", data[:20]),
		"values truncated":           write("cut-values.ckpt", data[:len(data)-5]),
		"trailing bytes":             write("long.ckpt", append(append([]byte(nil), data...), 0)),
		"do not match their SHA-256": write("flip.ckpt", flipped),
	} {
		_, err := Load(p, target)
		require.ErrorContains(t, err, want)
	}
	stage0 := filepath.Join(dir, "s0.ckpt")
	require.NoError(t, Save(stage0, st[0], 1))
	_, err = Load(stage0, target)
	require.ErrorContains(t, err, "is of stage 0, not stage 1")

	otherSpec := tiny()
	otherSpec.Seed = 8
	other, err := engine.New(backend(), otherSpec, 1, engine.Options{})
	require.NoError(t, err)
	_, err = Load(good, other)
	require.ErrorContains(t, err, "is of model")

	require.Equal(t, before, tensors.MustCopyFlatData[float32](target.Params()[0].MustValue()), "a refused load changed the stage")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".tmp-", "temporary file left behind")
	}
}

// TestAccumulators: a stage that accumulates gradients saves without its
// accumulators, refuses to save mid-step, and resumes exactly.
func TestAccumulators(t *testing.T) {
	dir := t.TempDir()
	st := stages(t)
	accStep := func(st []*engine.Stage, s int) float64 {
		in, tg := tokens(3*s), tokens(3*s+1)
		a0, err := st[0].Forward(in, nil)
		require.NoError(t, err)
		a1, err := st[1].Forward(a0, in)
		require.NoError(t, err)
		d1, loss, err := st[2].AccumulateBackwardLoss(a1, in, tg)
		require.NoError(t, err)
		d0, err := st[1].AccumulateBackward(a0, in, d1)
		require.NoError(t, err)
		_, err = st[0].AccumulateBackward(in, nil, d0)
		require.NoError(t, err)
		require.Error(t, Save(filepath.Join(dir, "mid.ckpt"), st[1], 0), "saved with gradients pending")
		for _, x := range st {
			require.NoError(t, x.ApplyAccumulated())
		}
		return loss
	}
	for s := range 2 {
		accStep(st, s)
	}
	for i, x := range st {
		require.NoError(t, Save(filepath.Join(dir, stageFile(i)), x, 2))
		h, err := ReadHeader(filepath.Join(dir, stageFile(i)))
		require.NoError(t, err)
		for _, v := range h.Variables {
			require.False(t, engine.IsAccumulator(v.Path), "accumulator %s saved", v.Path)
		}
	}
	var want []float64
	for s := 2; s < 4; s++ {
		want = append(want, accStep(st, s))
	}
	fresh := stages(t)
	for i, x := range fresh {
		_, err := Load(filepath.Join(dir, stageFile(i)), x)
		require.NoError(t, err)
	}
	for s := 2; s < 4; s++ {
		require.Equal(t, want[s-2], accStep(fresh, s), "step %d after resume", s)
	}
}

func paramValues(t *testing.T, st *engine.Stage) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range st.Params() {
		v, err := p.Value()
		require.NoError(t, err)
		out = append(out, tensors.MustCopyFlatData[float32](v))
	}
	return out
}

// TestStreamSelectionsAndAverage: a Params stream carries the parameters
// only and restores them; the limit refuses a large stream before reading
// it; Average moves every parameter to the weighted mean, checked first.
func TestStreamSelectionsAndAverage(t *testing.T) {
	a, b := stages(t), stages(t)
	for s := range 3 {
		step(t, a, s) // a trains, b stays at the initial weights
	}
	var full, params bytes.Buffer
	require.NoError(t, Write(&full, a[1], 3, Full))
	require.NoError(t, Write(&params, a[1], 3, Params))
	require.Less(t, params.Len(), full.Len(), "a params stream must leave the optimizer state out")
	h, _, err := readHeader(bytes.NewReader(params.Bytes()), "params")
	require.NoError(t, err)
	for _, v := range h.Variables {
		require.True(t, v.Trainable, "params stream holds %s", v.Path)
	}
	require.Len(t, h.Variables, len(a[1].Params()))

	// The limit: refused before the values are read, nothing changed.
	before := paramValues(t, b[1])
	_, err = Read(bytes.NewReader(full.Bytes()), b[1], 16)
	require.ErrorContains(t, err, "more than the 16 allowed")
	require.Equal(t, before, paramValues(t, b[1]))

	// Average with weight ½: exactly the float32 rounding of the mean.
	own, other := paramValues(t, b[1]), paramValues(t, a[1])
	got, err := Average(bytes.NewReader(params.Bytes()), b[1], 1<<30, 0.5)
	require.NoError(t, err)
	require.Equal(t, uint64(3), got)
	mixed := paramValues(t, b[1])
	for i := range mixed {
		for j := range mixed[i] {
			want := float32(0.5*float64(own[i][j]) + 0.5*float64(other[i][j]))
			if mixed[i][j] != want {
				t.Fatalf("parameter %d[%d] = %v, want %v", i, j, mixed[i][j], want)
			}
		}
	}
	// A Params stream restores the parameters (the optimizer state stays).
	_, err = Read(bytes.NewReader(params.Bytes()), b[1], 1<<30)
	require.NoError(t, err)
	require.Equal(t, other, paramValues(t, b[1]))
	// Another stage's stream, or a bad weight, is refused.
	_, err = Average(bytes.NewReader(params.Bytes()), b[2], 1<<30, 0.5)
	require.ErrorContains(t, err, "not stage 2")
	_, err = Average(bytes.NewReader(params.Bytes()), b[1], 1<<30, 2)
	require.ErrorContains(t, err, "weight")
	require.Error(t, Write(&bytes.Buffer{}, a[1], 0, Selection(9)))
}

// stateBytes is every non-trainable variable of the stage (its optimizer
// state), by path.
func stateBytes(t *testing.T, st *engine.Stage) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range st.Store().IterVariables() {
		if v.Trainable {
			continue
		}
		val, err := v.Value()
		require.NoError(t, err)
		require.NoError(t, val.ConstBytes(func(b []byte) { out[v.Path()] = append([]byte(nil), b...) }))
	}
	return out
}

// TestReadParamsKeepsOptimizerState: reading a Params stream sets the
// parameters and nothing else; the optimizer state the stage built itself
// stays as it was.
func TestReadParamsKeepsOptimizerState(t *testing.T) {
	a, c := stages(t), stages(t)
	for s := range 3 {
		step(t, a, s)
	}
	for s := 5; s < 7; s++ {
		step(t, c, s) // different data: different moments
	}
	var params bytes.Buffer
	require.NoError(t, Write(&params, a[1], 3, Params))
	state := stateBytes(t, c[1])
	require.NotEmpty(t, state, "the trained stage has no optimizer state")
	require.NotEqual(t, state, stateBytes(t, a[1]))
	got, err := Read(bytes.NewReader(params.Bytes()), c[1], 1<<30)
	require.NoError(t, err)
	require.Equal(t, uint64(3), got)
	require.Equal(t, paramValues(t, a[1]), paramValues(t, c[1]))
	require.Equal(t, state, stateBytes(t, c[1]), "a Params read changed the optimizer state")

	// A stream with a byte after its values, or the limit on Average:
	// refused, nothing changed.
	before := paramValues(t, c[1])
	_, err = Read(bytes.NewReader(append(append([]byte(nil), params.Bytes()...), 0)), c[1], 1<<30)
	require.ErrorContains(t, err, "trailing bytes")
	_, err = Average(bytes.NewReader(params.Bytes()), c[1], 16, 0.5)
	require.ErrorContains(t, err, "more than the 16 allowed")
	require.Equal(t, before, paramValues(t, c[1]))
}

// TestAverageFloat64: on a float64 stage the average is exactly
// (1−w)·own + w·other in float64.
func TestAverageFloat64(t *testing.T) {
	newStage := func() *engine.Stage {
		st, err := engine.New(backend(), tiny(), 2, engine.Options{DType: dtypes.Float64})
		require.NoError(t, err)
		return st
	}
	values := func(st *engine.Stage) [][]float64 {
		var out [][]float64
		for _, p := range st.Params() {
			out = append(out, tensors.MustCopyFlatData[float64](p.MustValue()))
		}
		return out
	}
	mine, theirs := newStage(), newStage()
	for _, p := range theirs.Params() { // move the other replica off the shared initialization
		v := tensors.MustCopyFlatData[float64](p.MustValue())
		for j := range v {
			v[j] = 3*v[j] + 0.1*float64(j%7)
		}
		require.NoError(t, p.SetValue(tensors.FromFlatDataAndDimensions(v, p.Shape().Dimensions...)))
	}
	var params bytes.Buffer
	require.NoError(t, Write(&params, theirs, 9, Params))
	own, other := values(mine), values(theirs)
	const w = 0.25
	got, err := Average(bytes.NewReader(params.Bytes()), mine, 1<<30, w)
	require.NoError(t, err)
	require.Equal(t, uint64(9), got)
	mixed := values(mine)
	for i := range mixed {
		for j := range mixed[i] {
			if want := (1-w)*own[i][j] + w*other[i][j]; mixed[i][j] != want {
				t.Fatalf("parameter %d[%d] = %v, want %v", i, j, mixed[i][j], want)
			}
		}
	}
	// A float32 stage's stream does not fit a float64 stage: refused.
	var f32 bytes.Buffer
	require.NoError(t, Write(&f32, stages(t)[2], 0, Params))
	_, err = Average(bytes.NewReader(f32.Bytes()), mine, 1<<30, w)
	require.ErrorContains(t, err, "the stage has")
	require.Equal(t, mixed, values(mine))
}
