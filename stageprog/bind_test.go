package stageprog

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/statecommit"
)

// A state's float32 and float64 values open exactly under its root, at the tensor they belong
// to, and nowhere else.
func TestStateValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	f32 := make([]byte, 4*700)
	want32 := make([]float32, 700)
	for i := range want32 {
		want32[i] = float32(rng.NormFloat64())
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(want32[i]))
	}
	f64 := make([]byte, 8)
	binary.LittleEndian.PutUint64(f64, math.Float64bits(3))
	state := []statecommit.Tensor{
		{Path: "/layer_000/wq", DType: "Float32", Dims: []uint64{700}, Raw: f32},
		{Path: "/nadam/step", DType: "Float64", Raw: f64},
	}
	root := statecommit.Root(state)
	for _, i := range []int{0, 255, 256, 699} {
		o, err := statecommit.Open(state, 0, uint64(4*i))
		if err != nil {
			t.Fatal(err)
		}
		got, err := StateValue(o, root, 0, 2, i)
		if err != nil || got != float64(want32[i]) {
			t.Fatalf("element %d: %v, %v", i, got, err)
		}
		if _, err := StateValue(o, root, 1, 2, i); err == nil {
			t.Fatal("a value of tensor 0 read as tensor 1's")
		}
		if _, err := StateValue(o, root, 0, 2, i+256); err == nil {
			t.Fatal("a value outside the opened chunk read")
		}
	}
	o, err := statecommit.Open(state, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := StateValue(o, root, 1, 2, 0); err != nil || got != 3 {
		t.Fatalf("step: %v, %v", got, err)
	}
	root[0] ^= 1
	if _, err := StateValue(o, root, 1, 2, 0); err == nil {
		t.Fatal("an opening under another root read")
	}
}

// A state's root does not commit its size, and an odd node is carried up unchanged: an opening
// of the last of 7 tensors relabelled as the 6th of 6 folds to the same root. Read with the
// state's real size, it is refused (an attacker review's proof of concept).
func TestStateValueKnowsTheStateSize(t *testing.T) {
	var state []statecommit.Tensor
	for i, n := range []string{"/w0", "/w1", "/step", "/m_w0", "/v_w0", "/m_w1", "/v_w1"} {
		raw := make([]byte, 4)
		binary.LittleEndian.PutUint32(raw, math.Float32bits(float32(100+i)))
		state = append(state, statecommit.Tensor{Path: n, DType: "Float32", Dims: []uint64{1}, Raw: raw})
	}
	root := statecommit.Root(state)
	o, err := statecommit.Open(state, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	forged := o
	forged.Tensor, forged.Tensors = 5, 6
	if forged.Verify(root) != nil {
		t.Skip("the relabelled opening no longer folds to the root: nothing to refuse")
	}
	if got, err := StateValue(forged, root, 5, 7, 0); err == nil {
		t.Fatalf("tensor 5 (value 105) read from an opening of tensor 6: got %v", got)
	}
	if got, err := StateValue(o, root, 6, 7, 0); err != nil || got != 106 {
		t.Fatalf("tensor 6: %v, %v", got, err)
	}
}

// A payload's values and ids open under its digest at the row they belong to.
func TestPayloadValue(t *testing.T) {
	const b, n, w = 2, 3, 4
	p := &payload.Payload{Kind: payload.Activations, DType: payload.F32, Compressed: true, Batch: b, Seq: n, Width: w, Vocab: 9}
	for i := range b * n * w {
		p.Data = append(p.Data, float32(i)/8)
	}
	for i := range b * n {
		p.IDs = append(p.IDs, int32(i+1))
	}
	enc, err := payload.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := payload.Digest(enc)
	if err != nil {
		t.Fatal(err)
	}
	for row := range b * n {
		o, err := payload.OpenToken(enc, uint64(row))
		if err != nil {
			t.Fatal(err)
		}
		for c := range w {
			got, err := PayloadValue(o, d, w, row*w+c)
			if err != nil || got != float64(p.Data[row*w+c]) {
				t.Fatalf("row %d value %d: %v, %v", row, c, got, err)
			}
		}
		if id, err := PayloadID(o, d, row); err != nil || id != float64(row+1) {
			t.Fatalf("row %d id: %v, %v", row, id, err)
		}
		if _, err := PayloadValue(o, d, w, ((row+1)%(b*n))*w); err == nil {
			t.Fatal("a token's values read as another row's")
		}
		if _, err := PayloadValue(o, d, w+1, row*(w+1)); err == nil {
			t.Fatal("a payload of another width read")
		}
		other := d
		other[0] ^= 1
		if _, err := PayloadValue(o, other, w, row*w); err == nil {
			t.Fatal("a token under another digest read")
		}
	}
}

// Every state input of an update program names its tensor in the store's order, and nothing
// else does.
func TestLayoutStateTensor(t *testing.T) {
	_, l, _, err := StageUpdate(Stage{Arch: Arch{DModel: 8, Heads: 2, FFN: 12, B: 1, N: 2, Layers: 1}, Vocab: 7, Rank: 4}, testNAdam)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for v := range 64 {
		i, ok := l.StateTensor(v)
		if !ok {
			continue
		}
		if seen[i] {
			t.Fatalf("state tensor %d named twice", i)
		}
		seen[i] = true
	}
	if len(seen) != 3*len(l.Params)+1 {
		t.Fatalf("%d state tensors named, want %d", len(seen), 3*len(l.Params)+1)
	}
	for _, v := range []int{l.In, l.IDs, l.DOut, l.U, l.T} {
		if _, ok := l.StateTensor(v); ok {
			t.Fatalf("input %d is not state", v)
		}
	}
	if i, _ := l.StateTensor(l.Step); i != len(l.Params) {
		t.Fatalf("the step counter is state tensor %d, want %d", i, len(l.Params))
	}
	if i, _ := l.StateTensor(l.Moments[2][1]); i != len(l.Params)+1+2*2+1 {
		t.Fatalf("parameter 2's second moment is state tensor %d", i)
	}
}
