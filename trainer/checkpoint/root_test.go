package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/stretchr/testify/require"

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
	var level [][32]byte
	for _, v := range h.Variables {
		var b []byte
		b = append(b, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Path)))
		b = append(b, v.Path...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.DType)))
		b = append(b, v.DType...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Dims)))
		for _, d := range v.Dims {
			b = binary.BigEndian.AppendUint64(b, uint64(d))
		}
		b = append(b, values[v.Offset:v.Offset+v.Size]...)
		level = append(level, sha256.Sum256(b))
	}
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, sha256.Sum256(append(append([]byte{1}, level[i][:]...), level[i+1][:]...)))
		}
		level = next
	}
	return level[0]
}
