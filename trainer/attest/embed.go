package attest

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/dataset"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Stage 0 of a compressed model takes no payload in: its designated input X̂ derives from the
// tokens its sampler drew from the model's dataset and from its own token embedding E_small,
// X̂ = RMSNorm(T_fixed[id] + E_small[id]·Uᵀ) (the embed tile). The attester commits E_small with
// each step (a secret-salted root, like the layer's) and names the step's draw (its microbatch
// id), so that an input challenge can be answered with the dataset's byte at the challenged row
// and a proof that X̂ derives from it.

// Sampled is what stage 0's attester needs to open its draws: the train split it samples from
// (whose root is the model's dataset_commitment), the model's seed and the window length.
type Sampled struct {
	Stream []byte
	Seed   uint64
	SeqLen int
}

// NewEmbedLayer is NewLayer for stage 0 of a compressed model: X is the embed tile's exact
// integer function of each token's id and its row of the embedding e (vocab × k, quantized as
// boundary coordinates are), checked against the engine's X̂ (x) as NewDerivedLayer does.
// microbatch is the draw the rows come from, ids its tokens.
func NewEmbedLayer(step uint64, tables *tile.Tables, microbatch uint64, ids []int32, e, x, w, dy []float32) (*Layer, error) {
	d, k, vocab := tables.D(), tables.K(), tables.Vocab()
	rows := len(ids)
	switch {
	case len(e) != vocab*k:
		return nil, fmt.Errorf("attest: step %d: an embedding of %d values, want %d×%d", step, len(e), vocab, k)
	case rows == 0 || len(x) != rows*d:
		return nil, fmt.Errorf("attest: step %d: %d token ids and a tapped input of %d values of width %d", step, rows, len(x), d)
	}
	eq, err := tile.QuantizeCoordinates(e)
	if err != nil {
		return nil, fmt.Errorf("attest: step %d embedding: %w", step, err)
	}
	xq, err := deriveX(step, tables, rows, x, "the embedding", "the tap is not this draw's", func(r int) (int, []int64, error) {
		id := int(ids[r])
		if id < 0 || id >= vocab {
			return 0, nil, fmt.Errorf("id %d outside the vocabulary of %d", id, vocab)
		}
		return id, eq[id*k : (id+1)*k], nil
	})
	if err != nil {
		return nil, err
	}
	l, err := newLayer(step, rows, d, xq, w, dy)
	if err != nil {
		return nil, err
	}
	l.E, l.IDs, l.Microbatch, l.Vocab, l.Rank = eq, append([]int32(nil), ids...), microbatch, vocab, k
	return l, nil
}

// OpenSample opens the dataset byte of row of the layer's draw, as stage 0's response to an
// input challenge carries it.
func (l *Layer) OpenSample(src *Sampled, row int) (*verifytypes.DatasetOpening, error) {
	if src == nil || l.IDs == nil {
		return nil, fmt.Errorf("attest: step %d: no draw to open (stage 0 of a compressed model keeps one)", l.Step)
	}
	seq := src.SeqLen
	if seq <= 0 || len(src.Stream) <= seq || row < 0 || row >= len(l.IDs) {
		return nil, fmt.Errorf("attest: step %d: row %d of %d, windows of %d in a %d-byte stream", l.Step, row, len(l.IDs), seq, len(src.Stream))
	}
	start, err := src.windowStart(l.Microbatch, uint32(row/seq))
	if err != nil {
		return nil, err
	}
	off := start + uint64(row%seq)
	if got := src.Stream[off]; int32(got) != l.IDs[row] {
		return nil, fmt.Errorf("attest: step %d row %d: the dataset has byte %d at %d, the draw trained on token %d: not the model's sampler", l.Step, row, got, off, l.IDs[row])
	}
	return src.open(off, 1)
}

// open opens n bytes at off of the stream against its dataset root.
func (src *Sampled) open(off, n uint64) (*verifytypes.DatasetOpening, error) {
	p, err := dataset.Prove(src.Stream, off, n)
	if err != nil {
		return nil, err
	}
	out := &verifytypes.DatasetOpening{Len: p.Len}
	for _, c := range p.Chunks {
		ch := &verifytypes.DatasetChunk{Index: c.Index, Data: c.Data}
		for _, s := range c.Siblings {
			ch.Siblings = append(ch.Siblings, s[:])
		}
		out.Chunks = append(out.Chunks, ch)
	}
	return out, nil
}

// windowStart is where row `row` of microbatch mb starts in the stream (dataset.WindowStart).
func (src *Sampled) windowStart(mb uint64, row uint32) (uint64, error) {
	if src.SeqLen <= 0 || len(src.Stream) <= src.SeqLen {
		return 0, fmt.Errorf("attest: no window of %d tokens and a label in a %d-byte stream", src.SeqLen, len(src.Stream))
	}
	return dataset.WindowStart(src.Seed, mb, row, uint64(len(src.Stream)-src.SeqLen)), nil
}

// Window is the window row `row` of microbatch mb trains on: seq_len token ids, then each
// one's label (seq_len + 1 bytes).
func (src *Sampled) Window(mb uint64, row uint32) ([]byte, error) {
	off, err := src.windowStart(mb, row)
	if err != nil {
		return nil, err
	}
	return src.Stream[off : off+uint64(src.SeqLen)+1], nil
}

// OpenWindow opens that window against the stream's dataset root (what a referee shows the
// chain, x/verify MsgDisputeRespond.dataset).
func (src *Sampled) OpenWindow(mb uint64, row uint32) (*verifytypes.DatasetOpening, error) {
	off, err := src.windowStart(mb, row)
	if err != nil {
		return nil, err
	}
	return src.open(off, uint64(src.SeqLen)+1)
}
