package stageprog

import (
	"encoding/binary"
	"math"
	"sync"
	"testing"

	"github.com/protolearn/protolearn/merkle"
)

var (
	fuzzOnce  sync.Once
	fuzzProg  *Program
	fuzzVals  []Tensor
	fuzzTrace *Trace
)

// FuzzJudge: a referee shows the chain openings it chose; whatever it changes in them (an
// op's number, a chunk's index or bytes, a path, a header), an honest worker's value never
// loses its leaf, and a value one ulp off never wins it. Bad evidence is an error (the referee
// loses), never a panic and never a verdict against the truth.
func FuzzJudge(f *testing.F) {
	f.Add(uint16(7), uint16(0), []byte{0, 1, 2, 3})
	f.Add(uint16(40), uint16(3), []byte{9, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(uint16(120), uint16(17), []byte{4, 200, 7, 7, 7})
	f.Fuzz(func(t *testing.T, opPick, elemPick uint16, edits []byte) {
		fuzzOnce.Do(func() {
			fuzzProg, fuzzVals = updateRun(t)
			var err error
			if fuzzTrace, err = NewTrace(fuzzProg, fuzzVals); err != nil {
				t.Fatal(err)
			}
		})
		p, vals, tr := fuzzProg, fuzzVals, fuzzTrace
		k := int(opPick) % len(p.Ops)
		i := int(elemPick) % Size(p.Ops[k].Dims())
		e := evidence(t, p, tr, vals, k, i)
		mutate(&e, edits)
		honest := vals[len(p.InputDims)+k].Data[i]
		l := Leaf{Program: p, K: k, I: i, Agreed: tr.Root(k), Claimed: honest}
		if right, err := Judge(l, e); err == nil && !right {
			t.Fatalf("op %d element %d: the honest value lost its leaf to edited evidence", k, i)
		}
		l.Claimed = math.Nextafter(honest, math.Inf(1))
		if right, err := Judge(l, e); err == nil && right {
			t.Fatalf("op %d element %d: a value one ulp off won its leaf with edited evidence", k, i)
		}
	})
}

// mutate applies edits to the evidence's trace openings: each 3-byte instruction (what, which
// opening, a value) changes one field.
func mutate(e *Evidence, edits []byte) {
	for len(edits) >= 3 && len(e.Outputs) > 0 {
		what, j, v := edits[0]%8, int(edits[1])%len(e.Outputs), edits[2]
		edits = edits[3:]
		o := &e.Outputs[j]
		switch what {
		case 0:
			o.K += int(int8(v))
		case 1:
			o.Chunk.Chunk += uint64(v)
		case 2:
			if len(o.Chunk.Data) > 0 {
				data := append([]byte(nil), o.Chunk.Data...)
				data[int(v)%len(data)] ^= 1 + v%255
				o.Chunk.Data = data
			}
		case 3:
			if len(o.Path) > 0 {
				path := append([]merkle.Hash(nil), o.Path...)
				path[int(v)%len(path)][0] ^= 1
				o.Path = path
			} else {
				o.Path = append(o.Path, merkle.Hash{v})
			}
		case 4:
			o.Chunk.Header.RawLen = binary.BigEndian.Uint64(append(make([]byte, 7), v))
		case 5:
			o.Chunk.Header.Dims = append([]uint64{uint64(v)}, o.Chunk.Header.Dims...)
		case 6:
			o.Chunk.Data = o.Chunk.Data[:len(o.Chunk.Data)/2]
		case 7:
			e.Outputs = append(e.Outputs[:j:j], e.Outputs[j+1:]...)
		}
	}
}
