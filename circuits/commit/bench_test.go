package commit

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkCompress measures each hash's 2-to-1 compression (one absorbed
// element, or one tree node) on one core: one call at a time, and batched as
// the commit path runs it.
func BenchmarkCompress(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, h := range Hashes() {
		b.Run(h.Name()+"/scalar", func(b *testing.B) {
			in := randElems(rng, 2)
			for b.Loop() {
				in[0] = h.Compress(&in[0], &in[1])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
		})
		b.Run(h.Name()+"/batched", func(b *testing.B) {
			bt := newBatcher(h)
			left, right := randElems(rng, batchSize), randElems(rng, batchSize)
			for b.Loop() {
				bt.compress(left, left, right)
			}
			b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// BenchmarkLeaf measures each hash's batched leaf hashing on one core, per
// absorbed element, for a leaf of 274 packed elements (a row of 4096 values:
// an X row or a W column at K=4096).
func BenchmarkLeaf(b *testing.B) {
	const m = 274
	rng := rand.New(rand.NewPCG(3, 3))
	for _, h := range Hashes() {
		b.Run(h.Name(), func(b *testing.B) {
			bt := newBatcher(h)
			state, elems := randElems(rng, batchSize), randElems(rng, batchSize*m)
			for b.Loop() {
				bt.leaves(state, elems, m)
			}
			b.ReportMetric(float64(b.N*batchSize*m)/b.Elapsed().Seconds(), "elements/s")
		})
	}
}

// BenchmarkCommit4096x4096 commits a 4096×4096 float32 matrix in each layout
// over all cores, as the trainer does every attested step, and reports
// values/s per core. Run it on its own:
//
//	go test ./circuits/commit -run '^$' -bench Commit4096 -benchtime 1x
func BenchmarkCommit4096x4096(b *testing.B) {
	benchCommit(b, 4096, 4096, []Hash{Poseidon2}, nil)
}

// BenchmarkCommit1024x1024 is the same at a size where both hashes finish
// quickly, for comparing them, and with wider Y chunks (ChunkLen 8, 16).
func BenchmarkCommit1024x1024(b *testing.B) {
	benchCommit(b, 1024, 1024, Hashes(), []int{8, 16})
}

func benchCommit(b *testing.B, rows, cols int, hashes []Hash, chunkLens []int) {
	if testing.Short() {
		b.Skip("commit benchmark skipped under -short")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(rng.NormFloat64()) // well inside ±128
	}
	cores := runtime.NumCPU()
	for _, h := range hashes {
		s := Scheme{Params: DefaultParams(), Hash: h}
		for _, kind := range []Kind{Rows, Columns, RowChunks} {
			b.Run(fmt.Sprintf("%s/%s", h.Name(), kind), func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Commit(kind, rows, cols, vals, Seed{1}); err != nil {
						b.Fatal(err)
					}
				}
				perCore := float64(b.N*rows*cols) / b.Elapsed().Seconds() / float64(cores)
				b.ReportMetric(perCore, "values/s/core")
				b.ReportMetric(float64(cores), "cores")
			})
		}
		for _, L := range chunkLens {
			s := s
			s.Params.ChunkLen = L
			b.Run(fmt.Sprintf("%s/%s-%d", h.Name(), RowChunks, L), func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Commit(RowChunks, rows, cols, vals, Seed{1}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*rows*cols)/b.Elapsed().Seconds()/float64(cores), "values/s/core")
			})
		}
	}
}
