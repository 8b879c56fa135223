package data

import (
	"reflect"
	"testing"

	"github.com/protolearn/protolearn/dataset"
)

func testCorpus(t *testing.T) *Corpus {
	t.Helper()
	return mustLoad(t, writeTree(t, textTree(200)), Options{ValFraction: 0.2})
}

func TestSamplerDeterministic(t *testing.T) {
	c := testCorpus(t)
	a, err := c.Sampler(Train, 32, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Sampler(Train, 32, 4, 7)
	d, _ := c.Sampler(Train, 32, 4, 8)
	same, diff := true, false
	for range 10 {
		x, y, z := a.Next(), b.Next(), d.Next()
		same = same && reflect.DeepEqual(x, y)
		diff = diff || !reflect.DeepEqual(x, z)
	}
	if !same {
		t.Error("same seed gave different batches")
	}
	if !diff {
		t.Error("seeds 7 and 8 gave identical batches")
	}
}

// checkWindows verifies shapes, the shift by one, and that every row is a
// contiguous window of buf.
func checkWindows(t *testing.T, b Batch, buf []byte, batch, seqLen int) {
	t.Helper()
	if b.Size != batch || b.SeqLen != seqLen || len(b.Inputs) != batch*seqLen || len(b.Targets) != batch*seqLen {
		t.Fatalf("shape %d×%d, lens %d/%d", b.Size, b.SeqLen, len(b.Inputs), len(b.Targets))
	}
	for r := range batch {
		in := b.Inputs[r*seqLen : (r+1)*seqLen]
		tg := b.Targets[r*seqLen : (r+1)*seqLen]
		for j := 0; j+1 < seqLen; j++ {
			if tg[j] != in[j+1] {
				t.Fatalf("row %d: target[%d]=%d, input[%d]=%d", r, j, tg[j], j+1, in[j+1])
			}
		}
		w := make([]byte, seqLen+1)
		for j, v := range in {
			if v < 0 || v > 255 {
				t.Fatalf("token %d out of range", v)
			}
			w[j] = byte(v)
		}
		w[seqLen] = byte(tg[seqLen-1])
		if !containsBytes(buf, w) {
			t.Fatalf("row %d is not a window of the split", r)
		}
	}
}

func containsBytes(buf, w []byte) bool {
	for i := 0; i+len(w) <= len(buf); i++ {
		if string(buf[i:i+len(w)]) == string(w) {
			return true
		}
	}
	return false
}

func TestTargetsShiftedByOne(t *testing.T) {
	c := testCorpus(t)
	for _, split := range []Split{Train, Validation} {
		s, err := c.Sampler(split, 16, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			checkWindows(t, s.Next(), c.Bytes(split), 3, 16)
		}
	}
}

func TestSamplerCoversEnds(t *testing.T) {
	// With a split of exactly seqLen+1..seqLen+3 bytes every start is reachable.
	c := testCorpus(t)
	n := len(c.Bytes(Validation))
	s, err := c.Sampler(Validation, n-2, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int32]bool{}
	for range 200 {
		seen[s.Next().Inputs[0]] = true
	}
	if len(seen) < 2 {
		t.Errorf("only %d distinct window starts", len(seen))
	}
	if _, err := c.Sampler(Validation, n-1, 1, 3); err != nil {
		t.Errorf("seqLen = len−1 should fit exactly: %v", err)
	}
}

func TestEvalBatchesFixed(t *testing.T) {
	c := testCorpus(t)
	a, err := c.EvalBatches(24, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.EvalBatches(24, 4, 3)
	if !reflect.DeepEqual(a, b) || len(a) != 3 {
		t.Fatal("EvalBatches not fixed")
	}
	val := c.Bytes(Validation)
	for _, x := range a {
		checkWindows(t, x, val, 4, 24)
	}
	// First window starts at 0, last ends at the end of the split.
	if a[0].Inputs[0] != int32(val[0]) {
		t.Error("first eval window does not start at 0")
	}
	last := a[2]
	if last.Targets[len(last.Targets)-1] != int32(val[len(val)-1]) {
		t.Error("last eval window does not end at the end of the split")
	}
	// A single window is fine too.
	if one, err := c.EvalBatches(24, 1, 1); err != nil || len(one) != 1 {
		t.Errorf("one window: %v", err)
	}
}

func TestBatchErrors(t *testing.T) {
	c := testCorpus(t)
	n := len(c.Bytes(Validation))
	_, err := c.Sampler(Train, 0, 4, 1)
	wantErr(t, err, "sequence length 0", "positive")
	_, err = c.Sampler(Train, 8, -1, 1)
	wantErr(t, err, "batch size -1", "positive")
	_, err = c.Sampler(Validation, n, 1, 1)
	wantErr(t, err, "validation split", "shorter sequence length")
	_, err = c.Sampler(Split(9), 8, 1, 1)
	wantErr(t, err, "unknown split")
	_, err = c.EvalBatches(8, 1, 0)
	wantErr(t, err, "eval batch count 0")
	_, err = c.EvalBatches(n, 1, 1)
	wantErr(t, err, "validation split", "fewer than")
	_, err = c.EvalBatches(-3, 1, 1)
	wantErr(t, err, "sequence length -3")
}

func TestSamplerAtDependsOnlyOnID(t *testing.T) {
	c := testCorpus(t)
	a, _ := c.Sampler(Train, 16, 3, 7)
	b, _ := c.Sampler(Train, 16, 3, 7)
	other, _ := c.Sampler(Train, 16, 3, 8)
	a.Next() // Next's position must not matter
	x := a.At(41)
	if !reflect.DeepEqual(x, b.At(41)) {
		t.Fatal("At(41) differs between two samplers of the same seed")
	}
	if !reflect.DeepEqual(b.Next(), func() Batch { s, _ := c.Sampler(Train, 16, 3, 7); return s.Next() }()) {
		t.Fatal("At moved Next's sequence")
	}
	if reflect.DeepEqual(x, a.At(42)) || reflect.DeepEqual(x, other.At(41)) {
		t.Fatal("At ignores the id or the seed")
	}
	checkWindows(t, x, c.Bytes(Train), 3, 16)
}

// TestAtIsTheCommittedWindow: the rows of a microbatch are the windows dataset.WindowStart
// names in the committed train stream, so a window revealed with a dataset proof against the
// corpus's DatasetRoot is exactly what the sampler trained on (inputs and labels).
func TestAtIsTheCommittedWindow(t *testing.T) {
	c := testCorpus(t)
	const seqLen, rows, seed = 16, 3, 42
	s, err := c.Sampler(Train, seqLen, rows, seed)
	if err != nil {
		t.Fatal(err)
	}
	train := c.Bytes(Train)
	root := c.DatasetRoot()
	if root != dataset.Root(train) {
		t.Fatal("DatasetRoot is not the root of the train split")
	}
	for _, id := range []uint64{0, 1, 977, 1 << 40} {
		b := s.At(id)
		for r := range rows {
			start := dataset.WindowStart(seed, id, uint32(r), uint64(len(train)-seqLen))
			p, err := dataset.Prove(train, start, seqLen+1)
			if err != nil {
				t.Fatal(err)
			}
			w, err := dataset.Verify(root, start, seqLen+1, p)
			if err != nil {
				t.Fatal(err)
			}
			for j := range seqLen {
				if b.Inputs[r*seqLen+j] != int32(w[j]) || b.Targets[r*seqLen+j] != int32(w[j+1]) {
					t.Fatalf("microbatch %d row %d token %d is not the committed window's", id, r, j)
				}
			}
		}
	}
}
