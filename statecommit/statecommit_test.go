package statecommit

import (
	"math/rand/v2"
	"testing"

	"github.com/protolearn/protolearn/merkle"
)

func randomState(rng *rand.Rand) []Tensor {
	var ts []Tensor
	for i, n := range []int{0, 3, ChunkBytes, ChunkBytes + 4, 5*ChunkBytes - 8, 12 * ChunkBytes} {
		raw := make([]byte, n)
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		ts = append(ts, Tensor{Path: "stage/w" + string(rune('a'+i)), DType: "Float32", Dims: []uint64{uint64(n / 4), 1}, Raw: raw})
	}
	return ts
}

// Streaming the raw values in pieces of any size gives the chunk root of the whole.
func TestChunksStreamed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range randomState(rng) {
		var c Chunks
		for p := tt.Raw; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(3*ChunkBytes))
			c.Write(p[:n])
			p = p[n:]
		}
		if c.Len() != uint64(len(tt.Raw)) || TensorLeaf(tt.header(), c.Root()) != tt.Leaf() {
			t.Fatalf("%s: streamed leaf differs from the whole's", tt.Path)
		}
	}
}

// Every chunk of every tensor opens against the root, and its bytes are the tensor's.
func TestOpenEveryChunk(t *testing.T) {
	ts := randomState(rand.New(rand.NewPCG(3, 4)))
	root := Root(ts)
	for i, tt := range ts {
		for off := uint64(0); off < uint64(len(tt.Raw)); off += 4 {
			o, err := Open(ts, i, off)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Verify(root); err != nil {
				t.Fatalf("%s offset %d: %v", tt.Path, off, err)
			}
			got, err := o.Bytes(off, min(4, uint64(len(tt.Raw))-off))
			if err != nil || string(got) != string(tt.Raw[off:off+uint64(len(got))]) {
				t.Fatalf("%s offset %d: bytes %x, %v", tt.Path, off, got, err)
			}
		}
	}
	if _, err := Open(ts, 0, 0); err == nil {
		t.Fatal("an empty tensor has no byte to open")
	}
	if _, err := Open(ts, len(ts), 0); err == nil {
		t.Fatal("a tensor beyond the state opened")
	}
}

// An opening changed in any part does not verify: another value, another tensor's header or
// place, another chunk index or a shortened chunk.
func TestOpeningTampered(t *testing.T) {
	ts := randomState(rand.New(rand.NewPCG(5, 6)))
	root := Root(ts)
	o, err := Open(ts, 4, 2*ChunkBytes+8)
	if err != nil {
		t.Fatal(err)
	}
	clone := func() Opening {
		c := o
		c.Data = append([]byte(nil), o.Data...)
		c.Header.Dims = append([]uint64(nil), o.Header.Dims...)
		return c
	}
	for name, mutate := range map[string]func(*Opening){
		"a value":         func(c *Opening) { c.Data[8] ^= 1 },
		"the path":        func(c *Opening) { c.Header.Path = "stage/wz" },
		"the dtype":       func(c *Opening) { c.Header.DType = "Float64" },
		"the dims":        func(c *Opening) { c.Header.Dims[1] = 2 },
		"the length":      func(c *Opening) { c.Header.RawLen += 4 },
		"the chunk index": func(c *Opening) { c.Chunk = 1 },
		"the tensor":      func(c *Opening) { c.Tensor = 3 },
		"the state size":  func(c *Opening) { c.Tensors = 7 },
		"a short chunk":   func(c *Opening) { c.Data = c.Data[:len(c.Data)-4] },
		"a chunk path":    func(c *Opening) { c.ChunkPath = c.ChunkPath[1:] },
		"a state path":    func(c *Opening) { c.StatePath[0][0] ^= 1 },
	} {
		c := clone()
		c.StatePath = append([]merkle.Hash(nil), o.StatePath...)
		mutate(&c)
		if err := c.Verify(root); err == nil {
			t.Errorf("%s changed: verified", name)
		}
	}
	if err := o.Verify(root); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Bytes(ChunkBytes, 4); err == nil {
		t.Fatal("bytes outside the opened chunk read")
	}
}
