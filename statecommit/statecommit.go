// Package statecommit is the commitment to a stage's state (its weights, or its whole state
// with the optimizer's) that trainers compute and the chain keeps: a SHA-256 Merkle tree over
// the state's tensors whose every tensor is itself a Merkle tree over 1 KiB chunks of its raw
// values, so that any single value can be opened against the root with about 1 KiB and two
// short paths, while the root of a whole state costs one pass of SHA-256 over its bytes.
//
//	chunk leaf  = SHA-256(0x00 | up to ChunkBytes raw little-endian bytes)
//	tensor leaf = SHA-256(0x00 | uint32 len(path) | path | uint32 len(dtype) | dtype |
//	                      uint32 rank | uint64 dims… | uint64 len(raw) | chunks root)
//	node        = SHA-256(0x01 | left | right)
//
// (package merkle: an odd node at the end of a level is carried up unchanged; integers are
// big-endian.) The chunk size is a multiple of every element width, so no value straddles two
// chunks. Openings are what a dispute over a stage's computation shows the chain: the value of
// one weight or one optimizer moment behind an agreed state root, and nothing else of it.
package statecommit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/protolearn/protolearn/merkle"
)

// ChunkBytes is the size of a chunk of a tensor's raw values (the last one may be shorter).
const ChunkBytes = 1024

// Header is what the tree commits about a tensor besides its values: its variable path, dtype
// name, dimensions and the length of its raw values in bytes.
type Header struct {
	Path   string
	DType  string
	Dims   []uint64
	RawLen uint64
}

func (h Header) encode() []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.Path)))
	b = append(b, h.Path...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.DType)))
	b = append(b, h.DType...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.Dims)))
	for _, d := range h.Dims {
		b = binary.BigEndian.AppendUint64(b, d)
	}
	return binary.BigEndian.AppendUint64(b, h.RawLen)
}

// Chunks hashes a tensor's raw values as they stream in (Write may be called with pieces of
// any size) into the root of its chunk tree.
type Chunks struct {
	b    merkle.Builder
	h    hash.Hash // SHA-256, reused: a chunk's leaf hashed without copying it
	buf  []byte
	size uint64
}

// leaf is merkle.Leaf(chunk), computed in place.
func (c *Chunks) leaf(chunk []byte) merkle.Hash {
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()
	c.h.Write([]byte{0})
	c.h.Write(chunk)
	var out merkle.Hash
	c.h.Sum(out[:0])
	return out
}

// Write adds the next raw bytes. It never fails.
func (c *Chunks) Write(p []byte) (int, error) {
	n := len(p)
	c.size += uint64(n)
	for len(p) > 0 {
		if len(c.buf) == 0 && len(p) >= ChunkBytes {
			c.b.Push(c.leaf(p[:ChunkBytes]))
			p = p[ChunkBytes:]
			continue
		}
		take := min(ChunkBytes-len(c.buf), len(p))
		c.buf = append(c.buf, p[:take]...)
		p = p[take:]
		if len(c.buf) == ChunkBytes {
			c.b.Push(c.leaf(c.buf))
			c.buf = c.buf[:0]
		}
	}
	return n, nil
}

// Len is how many raw bytes were written.
func (c *Chunks) Len() uint64 { return c.size }

// Root is the chunk tree's root over what was written (zero for nothing). It ends the stream:
// write nothing after it.
func (c *Chunks) Root() merkle.Hash {
	if len(c.buf) > 0 {
		c.b.Push(c.leaf(c.buf))
		c.buf = c.buf[:0]
	}
	return c.b.Root()
}

// TensorLeaf is a tensor's leaf in the state tree: its header (h.RawLen the bytes written to
// chunks) and its chunks' root.
func TensorLeaf(h Header, chunksRoot merkle.Hash) merkle.Hash {
	return merkle.Leaf(h.encode(), chunksRoot[:])
}

// Tensor is one tensor of a state, its raw little-endian values held whole.
type Tensor struct {
	Path  string
	DType string
	Dims  []uint64
	Raw   []byte
}

func (t Tensor) header() Header {
	return Header{Path: t.Path, DType: t.DType, Dims: t.Dims, RawLen: uint64(len(t.Raw))}
}

func chunkLeaves(raw []byte) []merkle.Hash {
	var l merkle.Leafer
	var out []merkle.Hash
	for off := 0; off < len(raw); off += ChunkBytes {
		out = append(out, l.Leaf(raw[off:min(off+ChunkBytes, len(raw))]))
	}
	return out
}

// Leaf is t's leaf in the state tree.
func (t Tensor) Leaf() merkle.Hash { return TensorLeaf(t.header(), merkle.Root(chunkLeaves(t.Raw))) }

// Root is the root of a state made of ts, in order.
func Root(ts []Tensor) merkle.Hash {
	leaves := make([]merkle.Hash, len(ts))
	for i, t := range ts {
		leaves[i] = t.Leaf()
	}
	return merkle.Root(leaves)
}

// Opening shows the chunk of one tensor of a state that holds the byte at some offset, and the
// paths from it to the state's root.
type Opening struct {
	// Tensor is the tensor's index in the state, Tensors how many the state has.
	Tensor, Tensors uint64
	Header          Header
	// Chunk is the chunk's index in the tensor; Data its bytes.
	Chunk uint64
	Data  []byte
	// ChunkPath leads from the chunk's leaf to the tensor's chunks root, StatePath from the
	// tensor's leaf to the state's root (merkle.Path).
	ChunkPath, StatePath []merkle.Hash
}

// Open opens the chunk of ts[tensor] that holds byte offset of its raw values.
func Open(ts []Tensor, tensor int, offset uint64) (Opening, error) {
	if tensor < 0 || tensor >= len(ts) {
		return Opening{}, fmt.Errorf("statecommit: tensor %d of a state of %d", tensor, len(ts))
	}
	t := ts[tensor]
	if offset >= uint64(len(t.Raw)) {
		return Opening{}, fmt.Errorf("statecommit: offset %d beyond %s's %d bytes", offset, t.Path, len(t.Raw))
	}
	leaves := make([]merkle.Hash, len(ts))
	for i, x := range ts {
		leaves[i] = x.Leaf()
	}
	chunk := offset / ChunkBytes
	end := min((chunk+1)*ChunkBytes, uint64(len(t.Raw)))
	return Opening{
		Tensor: uint64(tensor), Tensors: uint64(len(ts)), Header: t.header(),
		Chunk: chunk, Data: bytes.Clone(t.Raw[chunk*ChunkBytes : end]),
		ChunkPath: merkle.Path(merkle.Levels(chunkLeaves(t.Raw)), chunk),
		StatePath: merkle.Path(merkle.Levels(leaves), uint64(tensor)),
	}, nil
}

// ErrNotOpened: an opening does not lead to the root it is checked against.
var ErrNotOpened = errors.New("statecommit: the opening does not lead to the committed root")

// VerifyIn checks that o opens a chunk of tensor o.Tensor of a state of exactly tensors tensors
// committed by root. The root does not commit how many tensors the state has, and a node
// carried up unchanged at an odd level lets one tensor's path pass for another index in a state
// of another size: a verifier that knows the state's size (a stage's state has a fixed number of
// tensors) must check with it.
func (o Opening) VerifyIn(root merkle.Hash, tensors uint64) error {
	if o.Tensors != tensors {
		return fmt.Errorf("statecommit: the opening is of a state of %d tensors, not %d", o.Tensors, tensors)
	}
	return o.Verify(root)
}

// Verify checks that o opens a chunk of a state committed by root, of o.Tensors tensors (which
// the caller must know to be the state's size: VerifyIn).
func (o Opening) Verify(root merkle.Hash) error {
	chunks := (o.Header.RawLen + ChunkBytes - 1) / ChunkBytes
	if o.Chunk >= chunks {
		return fmt.Errorf("statecommit: chunk %d of a tensor of %d chunks", o.Chunk, chunks)
	}
	want := uint64(ChunkBytes)
	if o.Chunk == chunks-1 {
		want = o.Header.RawLen - o.Chunk*ChunkBytes
	}
	if uint64(len(o.Data)) != want {
		return fmt.Errorf("statecommit: chunk %d of %s holds %d bytes, want %d", o.Chunk, o.Header.Path, len(o.Data), want)
	}
	chunksRoot := merkle.Fold(merkle.Leaf(o.Data), o.Chunk, chunks, o.ChunkPath)
	if chunksRoot == (merkle.Hash{}) {
		return ErrNotOpened
	}
	if merkle.Fold(TensorLeaf(o.Header, chunksRoot), o.Tensor, o.Tensors, o.StatePath) != root {
		return ErrNotOpened
	}
	return nil
}

// Bytes are the n bytes of the tensor's raw values at offset, which must lie in the opened
// chunk.
func (o Opening) Bytes(offset, n uint64) ([]byte, error) {
	start := o.Chunk * ChunkBytes
	if offset < start || offset+n > start+uint64(len(o.Data)) || offset+n < offset {
		return nil, fmt.Errorf("statecommit: bytes [%d, %d) of %s are not in the opened chunk %d", offset, offset+n, o.Header.Path, o.Chunk)
	}
	return o.Data[offset-start : offset-start+n], nil
}
