package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/trainer/engine"
)

// TestWeightsRoot checks the root against the documented tree rebuilt from a Params checkpoint,
// that replicas with the same weights agree, and that training or loading changes it as it
// should.
func TestWeightsRoot(t *testing.T) {
	a, b := stages(t), stages(t)
	for i := range a {
		ra, err := WeightsRoot(a[i])
		require.NoError(t, err)
		rb, err := WeightsRoot(b[i])
		require.NoError(t, err)
		require.Equal(t, ra, rb, "stage %d: same seed, same weights, same root", i)
		require.Equal(t, ra, rootOfParamsCheckpoint(t, a[i]), "stage %d: the documented tree", i)
	}
	r0, _ := WeightsRoot(a[0])
	r1, _ := WeightsRoot(a[1])
	require.NotEqual(t, r0, r1)

	before, err := WeightsRoot(a[1])
	require.NoError(t, err)
	step(t, a, 0)
	after, err := WeightsRoot(a[1])
	require.NoError(t, err)
	require.NotEqual(t, before, after, "a training step moves the weights")
	require.Equal(t, after, rootOfParamsCheckpoint(t, a[1]))

	// Loading the trained weights into the untouched replica makes the roots agree again.
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, a[1], 1, Params))
	_, err = Read(&buf, b[1], 1<<30)
	require.NoError(t, err)
	loaded, err := WeightsRoot(b[1])
	require.NoError(t, err)
	require.Equal(t, after, loaded)

	// One element of one tensor changes the root.
	v := b[1].Params()[len(b[1].Params())-1]
	flat := tensors.MustCopyFlatData[float32](v.MustValue())
	flat[len(flat)/2] += 1e-3
	require.NoError(t, v.SetValue(tensors.FromFlatDataAndDimensions(flat, v.Shape().Dimensions...)))
	changed, err := WeightsRoot(b[1])
	require.NoError(t, err)
	require.NotEqual(t, after, changed)
}

// rootOfParamsCheckpoint rebuilds the root from a Params checkpoint's header and values, as a
// verifier holding only the file would.
func rootOfParamsCheckpoint(t *testing.T, st *engine.Stage) [32]byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, st, 0, Params))
	raw := buf.Bytes()
	h, _, err := readHeader(bytes.NewReader(raw), "mem")
	require.NoError(t, err)
	values := raw[8+binary.LittleEndian.Uint32(raw[4:8]):]
	var ts []statecommit.Tensor
	for _, v := range h.Variables {
		dims := make([]uint64, len(v.Dims))
		for i, d := range v.Dims {
			dims[i] = uint64(d)
		}
		ts = append(ts, statecommit.Tensor{Path: v.Path, DType: v.DType, Dims: dims, Raw: values[v.Offset : v.Offset+v.Size]})
	}
	return statecommit.Root(ts)
}

// One value of a weight, or of the optimizer's state, opens against the stage's roots, with
// the bytes the stage holds; an unknown variable, an element beyond the tensor, or a moment
// against the weights root do not.
func TestOpen(t *testing.T) {
	ss := stages(t)
	step(t, ss, 0) // the optimizer's state exists from the first update
	st := ss[1]
	weights, err := WeightsRoot(st)
	require.NoError(t, err)
	state, err := StateRoot(st)
	require.NoError(t, err)
	v := st.Params()[len(st.Params())-1]
	flat := tensors.MustCopyFlatData[float32](v.MustValue())
	for _, i := range []uint64{0, uint64(len(flat) / 2), uint64(len(flat) - 1)} {
		for _, c := range []struct {
			sel  Selection
			root [32]byte
		}{{Params, weights}, {Full, state}} {
			o, err := Open(st, c.sel, v.Path(), i)
			require.NoError(t, err)
			require.NoError(t, o.Verify(c.root), "%s element %d against the %s root", v.Path(), i, c.sel)
			b, err := o.Bytes(4*i, 4)
			require.NoError(t, err)
			require.Equal(t, flat[i], math.Float32frombits(binary.LittleEndian.Uint32(b)))
		}
	}
	_, err = Open(st, Params, "no/such/variable", 0)
	require.ErrorContains(t, err, "no variable")
	_, err = Open(st, Params, v.Path(), uint64(len(flat)))
	require.Error(t, err)
	var moment string
	for mv := range st.Store().IterVariables() {
		if !mv.Trainable && !engine.IsAccumulator(mv.Path()) {
			moment = mv.Path()
		}
	}
	require.NotEmpty(t, moment, "the stage has optimizer state")
	_, err = Open(st, Params, moment, 0)
	require.ErrorContains(t, err, "no variable", "the optimizer's state is not in the weights root")
	o, err := Open(st, Full, moment, 0)
	require.NoError(t, err)
	require.NoError(t, o.Verify(state))
	require.ErrorIs(t, o.Verify(weights), statecommit.ErrNotOpened)
}
