// Package dataset is the commitment to a model's training data and the rule that says which
// bytes each microbatch trains on: what a designer publishes on chain (x/models
// dataset_commitment), what the trainer checks its corpus against and samples from, and what the
// chain needs to check a revealed window of data. It is a leaf shared by the chain and the
// trainer, with no dependency on either.
//
// # The commitment
//
// The training stream (trainer/data's train split: the corpus's training files, concatenated
// in order with their separators) is cut into chunks of ChunkSize bytes (the last may be
// shorter). Leaves and inner nodes are SHA-256 with domain bytes, an odd node is promoted, and the
// root binds the stream's length:
//
//	leaf_i = SHA-256(0x00 ‖ chunk_i)
//	node   = SHA-256(0x01 ‖ left ‖ right)
//	Root   = SHA-256("protolearn/dataset/v1" ‖ uint64be(len) ‖ top)
//
// # The windows
//
// Row r of microbatch id trains on the window stream[s : s+seqLen+1] (inputs, then each input's
// next byte as its label) with s = WindowStart(seed, id, r, len−seqLen): a hash of (seed, id, r)
// reduced to the window starts, the same on every machine and in every Go version.
package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/protolearn/protolearn/merkle"
)

// ChunkSize is the size of the stream's chunks, the leaves of the Merkle tree: a window of a
// sequence up to ChunkSize−1 tokens spans at most two chunks.
const ChunkSize = 4096

const rootDomain = "protolearn/dataset/v1"

// Root is the commitment to stream: its Merkle root over ChunkSize chunks, bound to its length.
func Root(stream []byte) [32]byte {
	return bindLength(uint64(len(stream)), merkle.Root(leaves(stream)))
}

// leaves are the leaf hashes of stream's chunks.
func leaves(stream []byte) [][32]byte {
	out := make([][32]byte, 0, (len(stream)+ChunkSize-1)/ChunkSize)
	for off := 0; off < len(stream); off += ChunkSize {
		out = append(out, merkle.Leaf(stream[off:min(off+ChunkSize, len(stream))]))
	}
	return out
}

func bindLength(n uint64, top [32]byte) [32]byte {
	b := make([]byte, 0, len(rootDomain)+8+32)
	b = append(b, rootDomain...)
	b = binary.BigEndian.AppendUint64(b, n)
	b = append(b, top[:]...)
	return sha256.Sum256(b)
}

// Proof opens the chunks that hold a window of the stream: each chunk's bytes and the sibling
// hashes from its leaf to the top (an empty sibling level, where the node was promoted, is
// skipped). Len is the stream's length.
type Proof struct {
	Len    uint64
	Chunks []ChunkProof
}

// ChunkProof is one chunk and its Merkle path.
type ChunkProof struct {
	Index    uint64
	Data     []byte
	Siblings [][32]byte
}

// Prove opens stream[off : off+n].
func Prove(stream []byte, off, n uint64) (Proof, error) {
	if n == 0 || off > uint64(len(stream)) || n > uint64(len(stream))-off {
		return Proof{}, fmt.Errorf("dataset: window [%d, %d) is not inside the %d-byte stream", off, off+n, len(stream))
	}
	levels := merkle.Levels(leaves(stream)) // built once for all the chunks opened
	p := Proof{Len: uint64(len(stream))}
	for i := off / ChunkSize; i <= (off+n-1)/ChunkSize; i++ {
		start := i * ChunkSize
		cp := ChunkProof{Index: i, Data: append([]byte(nil), stream[start:min(start+ChunkSize, uint64(len(stream)))]...)}
		cp.Siblings = merkle.Path(levels, i)
		p.Chunks = append(p.Chunks, cp)
	}
	return p, nil
}

// ErrProof is a proof that does not open the claimed window of the committed stream.
var ErrProof = errors.New("dataset: the proof does not open this window of the committed data")

// Verify checks that p opens the n bytes at off of the stream committed by root, and returns them.
func Verify(root [32]byte, off, n uint64, p Proof) ([]byte, error) {
	if n == 0 || off > p.Len || n > p.Len-off {
		return nil, fmt.Errorf("%w: window [%d, %d) is not inside the %d-byte stream", ErrProof, off, off+n, p.Len)
	}
	leaves := (p.Len + ChunkSize - 1) / ChunkSize
	first, last := off/ChunkSize, (off+n-1)/ChunkSize
	if uint64(len(p.Chunks)) != last-first+1 {
		return nil, fmt.Errorf("%w: %d chunks, the window spans %d", ErrProof, len(p.Chunks), last-first+1)
	}
	var window []byte
	for k, c := range p.Chunks {
		if c.Index != first+uint64(k) {
			return nil, fmt.Errorf("%w: chunk %d where chunk %d belongs", ErrProof, c.Index, first+uint64(k))
		}
		want := uint64(ChunkSize)
		if c.Index == leaves-1 {
			want = p.Len - c.Index*ChunkSize
		}
		if uint64(len(c.Data)) != want {
			return nil, fmt.Errorf("%w: chunk %d has %d bytes, want %d", ErrProof, c.Index, len(c.Data), want)
		}
		if bindLength(p.Len, merkle.Fold(merkle.Leaf(c.Data), c.Index, leaves, c.Siblings)) != root {
			return nil, fmt.Errorf("%w: chunk %d", ErrProof, c.Index)
		}
		window = append(window, c.Data...)
	}
	start := off - first*ChunkSize
	return window[start : start+n], nil
}

// WindowStart is where row r of microbatch id starts in a stream with starts window starts
// (len − seqLen, so that a window holds seqLen inputs and their labels): the first 8 bytes of
// SHA-256(seed, id, r) reduced by a 128-bit multiply (Lemire's method, bias below 2⁻³² for any
// stream under 4 GiB).
func WindowStart(seed, id uint64, row uint32, starts uint64) uint64 {
	if starts == 0 {
		return 0
	}
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], seed)
	binary.BigEndian.PutUint64(b[8:], id)
	binary.BigEndian.PutUint32(b[16:], row)
	h := sha256.Sum256(b[:])
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(h[:8]), starts)
	return hi
}
