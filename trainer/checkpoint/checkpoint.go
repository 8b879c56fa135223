// Package checkpoint saves and restores one pipeline stage: its parameters
// and its optimizer state, never the whole model (a worker only ever holds its
// own stage). Resuming from a checkpoint continues training exactly where it
// stopped.
//
// A checkpoint is one file (Save, Load) or stream (Write, Read: the state
// protocol sends them between replicas), with all of the stage's state
// (Full) or its trainable parameters only (Params, for weight averaging):
//
//	"PLCK" | uint32 LE header length | header (JSON) | values
//
// The header names the format version, the model spec, the stage index, the
// training step and every variable of the stage's store in store order (path,
// dtype, dimensions, trainable, byte offset), with the SHA-256 of the values.
// The values are each variable's raw little-endian bytes, back to back.
// Files are written to a temporary name, synced and renamed, so a crash never
// leaves a torn checkpoint under the final name. Average mixes another
// replica's parameters into a stage.
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/spec"
)

const (
	magic   = "PLCK"
	version = 1
	// maxHeader bounds the JSON header read from a file.
	maxHeader = 16 << 20
)

// Header is a checkpoint's description of its contents.
type Header struct {
	Version   int        `json:"version"`
	Spec      spec.Spec  `json:"spec"`
	Stage     int        `json:"stage"`
	Step      uint64     `json:"step"`
	Variables []Variable `json:"variables"`
	// ValuesSHA256 is the hex SHA-256 of the values section.
	ValuesSHA256 string `json:"values_sha256"`
}

// Variable is one variable of the stage's store.
type Variable struct {
	Path      string `json:"path"`
	DType     string `json:"dtype"`
	Dims      []int  `json:"dims"`
	Trainable bool   `json:"trainable"`
	Offset    int64  `json:"offset"`
	Size      int64  `json:"size"`
}

var dtypeByName = map[string]dtypes.DType{
	dtypes.Float32.String(): dtypes.Float32,
	dtypes.Float64.String(): dtypes.Float64,
	dtypes.Int32.String():   dtypes.Int32,
	dtypes.Int64.String():   dtypes.Int64,
}

// Selection is what a checkpoint holds.
type Selection uint8

const (
	// Full is the parameters and the optimizer state: what resuming or a
	// joining replica needs.
	Full Selection = logevent.SelectionFull
	// Params is the trainable parameters only: what weight averaging
	// between replicas needs.
	Params Selection = logevent.SelectionParams
)

func (s Selection) String() string {
	switch s {
	case Full:
		return "full"
	case Params:
		return "params"
	}
	return fmt.Sprintf("Selection(%d)", uint8(s))
}

// Save writes the stage's parameters and optimizer state at step to path
// (Write with Full), atomically: a crash never leaves a torn file.
func Save(path string, st *engine.Stage, step uint64) error {
	var out bytes.Buffer
	if err := Write(&out, st, step, Full); err != nil {
		return err
	}
	return WriteFile(path, out.Bytes())
}

// Write writes a checkpoint of the stage at step to w: the parameters and,
// with Full, the optimizer state; never the gradient accumulators
// (engine.AccumulatorScope), which are zero between steps: Write refuses a
// stage holding gradients not yet applied.
func Write(w io.Writer, st *engine.Stage, step uint64, sel Selection) error {
	if sel != Full && sel != Params {
		return fmt.Errorf("checkpoint: unknown selection %v", sel)
	}
	if n := st.Accumulated(); n > 0 {
		return fmt.Errorf("checkpoint: stage %d holds %d accumulated gradients not yet applied; save between steps", st.Info().Index, n)
	}
	h := Header{Version: version, Spec: st.Spec(), Stage: st.Info().Index, Step: step}
	var values bytes.Buffer
	for v := range st.Store().IterVariables() {
		if engine.IsAccumulator(v.Path()) || (sel == Params && !v.Trainable) {
			continue // accumulators are zero between steps: not state
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("checkpoint: variable %s: %w", v.Path(), err)
		}
		shape := v.Shape()
		if _, ok := dtypeByName[shape.DType.String()]; !ok {
			return fmt.Errorf("checkpoint: variable %s has dtype %s, which checkpoints do not store", v.Path(), shape.DType)
		}
		off := int64(values.Len())
		if err := t.ConstBytes(func(b []byte) { values.Write(b) }); err != nil {
			return fmt.Errorf("checkpoint: variable %s: %w", v.Path(), err)
		}
		h.Variables = append(h.Variables, Variable{
			Path: v.Path(), DType: shape.DType.String(), Dims: append([]int(nil), shape.Dimensions...),
			Trainable: v.Trainable, Offset: off, Size: int64(values.Len()) - off,
		})
	}
	sum := sha256.Sum256(values.Bytes())
	h.ValuesSHA256 = hex.EncodeToString(sum[:])
	head, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("checkpoint: header: %w", err)
	}
	var pre [8]byte
	copy(pre[:], magic)
	binary.LittleEndian.PutUint32(pre[4:], uint32(len(head)))
	for _, b := range [][]byte{pre[:], head, values.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("checkpoint: write: %w", err)
		}
	}
	return nil
}

// WriteFile writes a checkpoint stream (Write's output, or one fetched) to path atomically:
// a crash never leaves a torn file.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename it no longer exists
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// ReadHeader reads and checks a checkpoint's header, without its values.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	h, _, err := readHeader(f, path)
	return h, err
}

func readHeader(r io.Reader, path string) (*Header, int64, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, 0, fmt.Errorf("checkpoint: %s: too short for a checkpoint: %w", path, err)
	}
	if string(pre[:4]) != magic {
		return nil, 0, fmt.Errorf("checkpoint: %s is not a stage checkpoint (no %q magic)", path, magic)
	}
	n := binary.LittleEndian.Uint32(pre[4:])
	if n == 0 || n > maxHeader {
		return nil, 0, fmt.Errorf("checkpoint: %s: header of %d bytes (at most %d)", path, n, maxHeader)
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, 0, fmt.Errorf("checkpoint: %s: truncated header: %w", path, err)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, 0, fmt.Errorf("checkpoint: %s: header: %w", path, err)
	}
	if h.Version != version {
		return nil, 0, fmt.Errorf("checkpoint: %s: format version %d, this trainer reads %d", path, h.Version, version)
	}
	var end int64
	for i, v := range h.Variables {
		dt, ok := dtypeByName[v.DType]
		if !ok {
			return nil, 0, fmt.Errorf("checkpoint: %s: variable %s: unknown dtype %q", path, v.Path, v.DType)
		}
		size := int64(dt.Size())
		for _, d := range v.Dims {
			if d < 0 || (d > 0 && size > (1<<40)/int64(d)) {
				return nil, 0, fmt.Errorf("checkpoint: %s: variable %s: bad dimensions %v", path, v.Path, v.Dims)
			}
			size *= int64(d)
		}
		if v.Offset != end || v.Size != size {
			return nil, 0, fmt.Errorf("checkpoint: %s: variable %d (%s) at offset %d with %d bytes, expected %d and %d", path, i, v.Path, v.Offset, v.Size, end, size)
		}
		end += size
	}
	return &h, end, nil
}

// Load restores a stage from a checkpoint file written by Save for the same
// model and stage and returns its step (Read from a file).
func Load(path string, st *engine.Stage) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	return read(f, path, st, math.MaxInt64)
}

// Read restores a stage from a checkpoint stream (Full or Params) of the
// same model and stage and returns its step. Everything is checked before
// the stage is touched (spec, stage, every variable's shape, the values'
// length and SHA-256), so a bad stream leaves the stage as it was; values
// of more than limit bytes are refused before they are read. r must end
// after the checkpoint.
func Read(r io.Reader, st *engine.Stage, limit int64) (uint64, error) {
	return read(r, "stream", st, limit)
}

// readValues reads a checkpoint's header and values and checks them against
// the stage's model and index.
func readValues(r io.Reader, name string, st *engine.Stage, limit int64) (*Header, []byte, error) {
	h, size, err := readHeader(r, name)
	if err != nil {
		return nil, nil, err
	}
	if size > limit {
		return nil, nil, fmt.Errorf("checkpoint: %s holds %d bytes of values, more than the %d allowed", name, size, limit)
	}
	if !reflect.DeepEqual(h.Spec, st.Spec()) {
		return nil, nil, fmt.Errorf("checkpoint: %s is of model %+v, the stage is of %+v", name, h.Spec, st.Spec())
	}
	if h.Stage != st.Info().Index {
		return nil, nil, fmt.Errorf("checkpoint: %s is of stage %d, not stage %d", name, h.Stage, st.Info().Index)
	}
	vals := make([]byte, size)
	if _, err := io.ReadFull(r, vals); err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %s: values truncated (%d bytes expected): %w", name, size, err)
	}
	// The stream must end here: io.ReadFull, not one Read, since a Reader
	// may return no bytes and no error.
	switch n, err := io.ReadFull(r, make([]byte, 1)); {
	case n != 0:
		return nil, nil, fmt.Errorf("checkpoint: %s: trailing bytes after %d bytes of values", name, size)
	case !errors.Is(err, io.EOF):
		return nil, nil, fmt.Errorf("checkpoint: %s: after the values: %w", name, err)
	}
	sum := sha256.Sum256(vals)
	if hex.EncodeToString(sum[:]) != h.ValuesSHA256 {
		return nil, nil, fmt.Errorf("checkpoint: %s: values do not match their SHA-256 (corrupted)", name)
	}
	return h, vals, nil
}

func read(r io.Reader, path string, st *engine.Stage, limit int64) (uint64, error) {
	h, values, err := readValues(r, path, st, limit)
	if err != nil {
		return 0, err
	}
	store := st.Store()
	type restore struct {
		v     Variable
		shape shapes.Shape
		have  *model.Variable
	}
	plan := make([]restore, 0, len(h.Variables))
	seen := map[string]bool{}
	for _, v := range h.Variables {
		if seen[v.Path] {
			return 0, fmt.Errorf("checkpoint: %s: variable %s twice", path, v.Path)
		}
		seen[v.Path] = true
		shape := shapes.Make(dtypeByName[v.DType], v.Dims...)
		have := store.GetVariable(v.Path)
		if have != nil && !have.Shape().Equal(shape) {
			return 0, fmt.Errorf("checkpoint: %s: variable %s is %s, the stage has %s", path, v.Path, shape, have.Shape())
		}
		if have != nil && have.Trainable != v.Trainable {
			return 0, fmt.Errorf("checkpoint: %s: variable %s trainable=%v, the stage has %v", path, v.Path, v.Trainable, have.Trainable)
		}
		if have == nil && v.Trainable {
			return 0, fmt.Errorf("checkpoint: %s: parameter %s does not exist in the stage", path, v.Path)
		}
		plan = append(plan, restore{v: v, shape: shape, have: have})
	}
	for _, p := range st.Params() {
		if !seen[p.Path()] {
			return 0, fmt.Errorf("checkpoint: %s: parameter %s of the stage is missing", path, p.Path())
		}
	}

	// Checked: now apply. Optimizer state that the stage has not built yet
	// is created here, non-trainable, and found by the optimizer later.
	for _, p := range plan {
		t := tensors.FromShape(p.shape)
		if err := t.MutableBytes(func(b []byte) { copy(b, values[p.v.Offset:p.v.Offset+p.v.Size]) }); err != nil {
			return 0, fmt.Errorf("checkpoint: variable %s: %w", p.v.Path, err)
		}
		if p.have != nil {
			if err := p.have.SetValue(t); err != nil {
				return 0, fmt.Errorf("checkpoint: variable %s: %w", p.v.Path, err)
			}
			continue
		}
		store.VariableWithValue(p.v.Path, t).SetTrainable(false)
	}
	return h.Step, nil
}

// Average reads a checkpoint stream of another replica of the same stage
// (Params or Full; only its parameters are used) and moves every trainable
// parameter of st to (1−weight)·own + weight·other (float32 values by
// logevent.Mix, which the chain recomputes): weight ½ is the mean of two
// replicas. All of it is checked before any parameter changes. It
// returns the other replica's step.
func Average(r io.Reader, st *engine.Stage, limit int64, weight float64) (uint64, error) {
	if !(weight >= 0 && weight <= 1) {
		return 0, fmt.Errorf("checkpoint: averaging weight %g: want 0 ≤ weight ≤ 1", weight)
	}
	h, values, err := readValues(r, "replica state", st, limit)
	if err != nil {
		return 0, err
	}
	byPath := map[string]Variable{}
	for _, v := range h.Variables {
		if v.Trainable {
			byPath[v.Path] = v
		}
	}
	params := st.Params()
	mixed := make([]*tensors.Tensor, len(params))
	for i, p := range params {
		v, ok := byPath[p.Path()]
		if !ok {
			return 0, fmt.Errorf("checkpoint: replica state lacks parameter %s", p.Path())
		}
		shape := shapes.Make(dtypeByName[v.DType], v.Dims...)
		if !p.Shape().Equal(shape) {
			return 0, fmt.Errorf("checkpoint: replica parameter %s is %s, the stage has %s", v.Path, shape, p.Shape())
		}
		own, err := p.Value()
		if err != nil {
			return 0, fmt.Errorf("checkpoint: parameter %s: %w", p.Path(), err)
		}
		other := values[v.Offset : v.Offset+v.Size]
		var t *tensors.Tensor
		switch shape.DType {
		case dtypes.Float32:
			a, b := tensors.MustCopyFlatData[float32](own), make([]float32, len(other)/4)
			for j := range b {
				b[j] = logevent.Mix(a[j], math.Float32frombits(binary.LittleEndian.Uint32(other[4*j:])), weight)
			}
			t = tensors.FromFlatDataAndDimensions(b, v.Dims...)
		case dtypes.Float64:
			a, b := tensors.MustCopyFlatData[float64](own), make([]float64, len(other)/8)
			for j := range b {
				b[j] = math.Float64frombits(binary.LittleEndian.Uint64(other[8*j:]))
				b[j] = (1-weight)*a[j] + weight*b[j]
			}
			t = tensors.FromFlatDataAndDimensions(b, v.Dims...)
		default:
			return 0, fmt.Errorf("checkpoint: parameter %s has dtype %s; only float parameters are averaged", v.Path, shape.DType)
		}
		mixed[i] = t
	}
	for i, p := range params {
		if err := p.SetValue(mixed[i]); err != nil {
			return 0, fmt.Errorf("checkpoint: parameter %s: %w", p.Path(), err)
		}
	}
	return h.Step, nil
}
