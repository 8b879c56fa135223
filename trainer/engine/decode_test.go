package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// fullLogits are the last stage's logits [n, vocab] of one sequence run through every stage
// by Forward, the training forward pass.
func fullLogits(t *testing.T, stages []*Stage, tokens []int32) [][]float32 {
	t.Helper()
	in := tensors.FromFlatDataAndDimensions(tokens, 1, len(tokens))
	x := in
	for _, st := range stages {
		var err error
		if x, err = st.Forward(x, in); err != nil {
			t.Fatal(err)
		}
	}
	flat := tensors.MustCopyFlatData[float32](x)
	v := stages[0].spec.Vocab
	out := make([][]float32, len(tokens))
	for i := range out {
		out[i] = flat[i*v : (i+1)*v]
	}
	return out
}

// decodeThrough runs new positions of one session through every stage's Decode and returns
// the last stage's logits of the last one.
func decodeThrough(t *testing.T, stages []*Stage, caches []*Cache, ids []int32) []float32 {
	t.Helper()
	var x []float32
	for i, st := range stages {
		out, err := st.Decode([]DecodeInput{{Cache: caches[i], IDs: ids, X: x}})
		if err != nil {
			t.Fatal(err)
		}
		x = out[0]
	}
	return x
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// The cached decode computes what the training forward computes: the prompt in one pass, then
// one token per call, give the logits of every position of the full sequence, raw and
// compressed, and two sessions of different lengths batched in one call give what each gives
// alone.
func TestDecodeMatchesForward(t *testing.T) {
	for _, rank := range []int{0, 2} {
		s := tinySpec()
		s.CompressionRank = rank
		stages := newStages(t, s, Options{})
		text := "the quick brown fox jumps over the lazy dog"
		tokens := make([]int32, s.SeqLen)
		for i := range tokens {
			tokens[i] = int32(text[i%len(text)])
		}
		want := fullLogits(t, stages, tokens)
		caches := make([]*Cache, len(stages))
		for i, st := range stages {
			caches[i] = st.NewCache()
		}
		const prompt = 5
		got := decodeThrough(t, stages, caches, tokens[:prompt])
		if d := maxDiff(got, want[prompt-1]); d > 1e-4 {
			t.Fatalf("rank %d: prefill logits differ from Forward's by %g", rank, d)
		}
		for p := prompt; p < len(tokens); p++ {
			got := decodeThrough(t, stages, caches, tokens[p:p+1])
			if d := maxDiff(got, want[p]); d > 1e-4 {
				t.Fatalf("rank %d: position %d's logits differ from Forward's by %g", rank, p, d)
			}
		}
		if caches[0].Len() != s.SeqLen {
			t.Fatalf("cache holds %d positions, want %d", caches[0].Len(), s.SeqLen)
		}

		// Two sessions in one call: one at 3 positions taking 1, one empty taking 6.
		a, b := make([]*Cache, len(stages)), make([]*Cache, len(stages))
		for i, st := range stages {
			a[i], b[i] = st.NewCache(), st.NewCache()
		}
		decodeThrough(t, stages, a, tokens[:3])
		var xa, xb []float32
		for i, st := range stages {
			out, err := st.Decode([]DecodeInput{{Cache: a[i], IDs: tokens[3:4], X: xa}, {Cache: b[i], IDs: tokens[:6], X: xb}})
			if err != nil {
				t.Fatal(err)
			}
			xa, xb = out[0], out[1]
		}
		if d := maxDiff(xa, want[3]); d > 1e-4 {
			t.Fatalf("rank %d: batched session a differs by %g", rank, d)
		}
		if d := maxDiff(xb, want[5]); d > 1e-4 {
			t.Fatalf("rank %d: batched session b differs by %g", rank, d)
		}
	}
}

// Bad input is refused with what is wrong, and a refused call leaves the cache as it was.
func TestDecodeRefusesBadInput(t *testing.T) {
	s := tinySpec()
	stages := newStages(t, s, Options{})
	c0, c1 := stages[0].NewCache(), stages[1].NewCache()
	if _, err := stages[0].Decode([]DecodeInput{{Cache: c0, IDs: []int32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	long := make([]int32, s.SeqLen-1)
	for _, tc := range []struct {
		name string
		st   *Stage
		in   DecodeInput
		want string
	}{
		{"past the context", stages[0], DecodeInput{Cache: c0, IDs: long}, "the context is"},
		{"token outside the vocabulary", stages[0], DecodeInput{Cache: c0, IDs: []int32{int32(s.Vocab)}}, "outside the vocabulary"},
		{"no positions", stages[0], DecodeInput{Cache: c0}, "no new positions"},
		{"input of the wrong width", stages[1], DecodeInput{Cache: c1, IDs: []int32{1}, X: []float32{1}}, "input values"},
		{"no cache", stages[0], DecodeInput{IDs: []int32{1}}, "cache"},
	} {
		_, err := tc.st.Decode([]DecodeInput{tc.in})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if c0.Len() != 2 || c1.Len() != 0 {
		t.Fatalf("refused calls changed the caches: %d and %d positions", c0.Len(), c1.Len())
	}
}

// A server batches any number of sessions with any number of new positions: the graphs it
// compiles for them stay within the executable's cache (one per power of two of each).
func TestDecodeAnyBatchShape(t *testing.T) {
	st := newStages(t, tinySpec(), Options{})[0]
	for b := 1; b <= 40; b++ {
		for rows := 1; rows <= st.Context(); rows++ {
			in := make([]DecodeInput, b)
			for i := range in {
				in[i] = DecodeInput{Cache: st.NewCache(), IDs: make([]int32, rows)}
			}
			if _, err := st.Decode(in); err != nil {
				t.Fatalf("%d sessions of %d positions: %v", b, rows, err)
			}
		}
	}
}
