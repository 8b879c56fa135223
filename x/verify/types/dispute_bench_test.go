package types_test

import (
	"math/bits"
	"testing"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// smallModel is the trainer's "small" preset as a model on chain: d_model 128, four stages of
// two blocks, sequences of 64 tokens, compression rank 4, four microbatches a step.
func smallModel() modelstypes.Model {
	m := modelstypes.Model{
		Arch:                modelstypes.Architecture{Vocab: 256, DModel: 128, NLayers: 8, NHeads: 4, SeqLen: 64, CompressionRank: 4},
		MicrobatchesPerStep: 4,
	}
	for range 4 {
		m.Stages = append(m.Stages, modelstypes.StageSpec{Layers: 2})
	}
	return m
}

// ceilLog2 is the rounds a bisection over n items takes.
func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// BenchmarkDisputeProgramSmall measures what a validator does at each move of a dispute that
// builds the reference program (the stage's update program of stage 1 of "small", 4 sequences
// a microbatch) and reports the dispute's size there: the program's ops, the largest output's
// and the state's chunks, and the most rounds (a worker's move and the referee's answer) a
// dispute over one attestation of the default period (8 steps of 4 microbatches, and the
// period's snapshot) can take.
func BenchmarkDisputeProgramSmall(b *testing.B) {
	m := smallModel()
	var prog *stageprog.Program
	var up stageprog.Update
	for b.Loop() {
		s, c, err := types.DisputeProgram(m, 1, 4)
		if err != nil {
			b.Fatal(err)
		}
		if prog, _, up, err = stageprog.StageUpdate(s, c); err != nil {
			b.Fatal(err)
		}
	}
	chunksOf := func(dims []int, width int) int {
		return (stageprog.Size(dims)*width + statecommit.ChunkBytes - 1) / statecommit.ChunkBytes
	}
	outChunks, stateChunks := 0, 0
	for k := range prog.Ops {
		outChunks = max(outChunks, chunksOf(prog.Dims(len(prog.InputDims)+k), 8)) // the trace holds float64
	}
	for i := range types.StateTensors(up) {
		v, _ := types.StateOutput(up, i)
		stateChunks = max(stateChunks, chunksOf(prog.Dims(v), 4)) // the state is float32
	}
	const events = 8*4 + 1
	// The log's bisection and the reveal; then the trace's bisection, the output's leaf and its
	// chunk tree, the leaf: or the state's tensor pick, its chunk tree and the chunk.
	trace := ceilLog2(len(prog.Ops)) + 2 + ceilLog2(outChunks) + 1
	state := 1 + ceilLog2(types.StateTensors(up)) + 1 + ceilLog2(stateChunks) + 1
	b.ReportMetric(float64(len(prog.Ops)), "ops")
	b.ReportMetric(float64(outChunks), "output-chunks")
	b.ReportMetric(float64(stateChunks), "state-chunks")
	b.ReportMetric(float64(ceilLog2(events)+1+max(trace, state)), "max-rounds")
}
