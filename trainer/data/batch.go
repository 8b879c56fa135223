package data

import (
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/protolearn/protolearn/dataset"
)

// Batch is batch×seqLen tokens. Inputs and Targets are flattened row-major
// (row r is [r*SeqLen, (r+1)*SeqLen)); Targets[i] is the token after Inputs[i].
type Batch struct {
	Size    int // rows
	SeqLen  int
	Inputs  []int32
	Targets []int32
}

// Sampler draws training windows at uniformly random offsets. Not safe for
// concurrent use.
type Sampler struct {
	buf     []byte
	seqLen  int
	batch   int
	rng     *rand.Rand
	seed    uint64
	nStarts uint64 // valid window starts: len(buf) - seqLen
}

// pcgStream is the PCG's second seed word, fixed so that only seed matters.
const pcgStream = 0x70726f746f6c726e // "protolrn"

func checkShape(split Split, n, seqLen, batch int) error {
	if seqLen <= 0 {
		return fmt.Errorf("data: sequence length %d: it must be positive", seqLen)
	}
	if batch <= 0 {
		return fmt.Errorf("data: batch size %d: it must be positive", batch)
	}
	if n < seqLen+1 {
		return fmt.Errorf("data: %s split has %d bytes, fewer than sequence length + 1 = %d: use a shorter sequence length or a larger corpus", split, n, seqLen+1)
	}
	return nil
}

// Sampler returns a sampler over split. The same (corpus, split, seqLen,
// batch, seed) yields the same batch sequence on every machine.
func (c *Corpus) Sampler(split Split, seqLen, batch int, seed uint64) (*Sampler, error) {
	if split != Train && split != Validation {
		return nil, fmt.Errorf("data: unknown split %v", split)
	}
	buf := c.Bytes(split)
	if err := checkShape(split, len(buf), seqLen, batch); err != nil {
		return nil, err
	}
	return &Sampler{
		buf:     buf,
		seqLen:  seqLen,
		batch:   batch,
		rng:     rand.New(rand.NewPCG(seed, pcgStream)),
		seed:    seed,
		nStarts: uint64(len(buf) - seqLen),
	}, nil
}

// Next returns the next batch (freshly allocated).
func (s *Sampler) Next() Batch {
	b := newBatch(s.batch, s.seqLen)
	for r := range s.batch {
		fill(b, r, s.buf, int(s.rng.Uint64N(s.nStarts)))
	}
	return b
}

// At returns batch number id of a sequence that needs no shared state: its
// windows depend only on (corpus, split, shape, seed, id), so workers that
// never talk agree on the data of a microbatch from its id alone (the swarm's
// stage 0 draws the inputs, its last stage the targets). Row r starts at
// dataset.WindowStart(seed, id, r, len−seqLen): the rule the chain checks a
// revealed window of the committed dataset against. It does not move Next's
// sequence. Safe for concurrent use.
func (s *Sampler) At(id uint64) Batch {
	b := newBatch(s.batch, s.seqLen)
	for r := range s.batch {
		fill(b, r, s.buf, int(dataset.WindowStart(s.seed, id, uint32(r), s.nStarts)))
	}
	return b
}

// EvalBatches returns n batches of evenly spaced windows over the validation
// split: window i of n·batch starts at i·(len−seqLen−1)/(n·batch−1). They
// depend only on the corpus and the shape, so validation loss is comparable
// across runs. Windows overlap when the split is short.
func (c *Corpus) EvalBatches(seqLen, batch, n int) ([]Batch, error) {
	if n <= 0 {
		return nil, fmt.Errorf("data: eval batch count %d: it must be positive", n)
	}
	buf := c.val
	if err := checkShape(Validation, len(buf), seqLen, batch); err != nil {
		return nil, err
	}
	last := int64(len(buf) - seqLen - 1) // largest start
	w := int64(n) * int64(batch)
	out := make([]Batch, n)
	for k := range out {
		out[k] = newBatch(batch, seqLen)
		for r := range batch {
			i := int64(k)*int64(batch) + int64(r)
			var start uint64
			if w > 1 { // i·last/(w−1) without overflow; the quotient is ≤ last
				hi, lo := bits.Mul64(uint64(i), uint64(last))
				start, _ = bits.Div64(hi, lo, uint64(w-1))
			}
			fill(out[k], r, buf, int(start))
		}
	}
	return out, nil
}

func newBatch(batch, seqLen int) Batch {
	return Batch{
		Size:    batch,
		SeqLen:  seqLen,
		Inputs:  make([]int32, batch*seqLen),
		Targets: make([]int32, batch*seqLen),
	}
}

// fill writes the window buf[start : start+seqLen+1] into row r of b.
func fill(b Batch, r int, buf []byte, start int) {
	in := b.Inputs[r*b.SeqLen : (r+1)*b.SeqLen]
	tg := b.Targets[r*b.SeqLen : (r+1)*b.SeqLen]
	w := buf[start : start+b.SeqLen+1]
	for j := range b.SeqLen {
		in[j] = int32(w[j])
		tg[j] = int32(w[j+1])
	}
}
