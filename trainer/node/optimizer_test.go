package node

import (
	"strings"
	"testing"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/dispute"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/pipeline"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// TestModelOptimizer: a trainer on chain applies exactly the model's optimizer (what a replica
// replays with), and refuses one it cannot apply rather than train with another.
func TestModelOptimizer(t *testing.T) {
	m := modelstypes.Model{Stages: make([]modelstypes.StageSpec, 3)}
	c, depth, err := modelOptimizer(m.Optim())
	if err != nil {
		t.Fatal(err)
	}
	want := optim.DefaultNAdam()
	want.Beta1, want.LearningRate = 0, 0.003
	if c != want || depth != 6 {
		t.Errorf("a model with no optimizer trains with %+v at depth %d, want the defaults %+v at depth 6", c, depth, want)
	}

	m.Optimizer = modelstypes.Optimizer{LearningRate: "0.00025", WeightDecay: "0.1", WarmupSteps: 20, DecaySteps: 500, PipelineDepth: 4}
	if c, depth, err = modelOptimizer(m.Optim()); err != nil {
		t.Fatal(err)
	}
	if c.LearningRate != 0.00025 || c.WeightDecay != 0.1 || c.WarmupSteps != 20 || c.DecaySteps != 500 || depth != 4 {
		t.Errorf("model optimizer %+v became %+v at depth %d", m.Optimizer, c, depth)
	}

	m.Optimizer.LearningRate = "1e-30" // only a designer's tx is checked by the chain; a trainer checks too
	if _, _, err := modelOptimizer(m.Optim()); err == nil || !strings.Contains(err.Error(), "learning_rate") {
		t.Errorf("a learning rate the chain refuses: %v, want an error naming it", err)
	}
}

// TestDisputeProgramIsTheTrainers: the chain builds a dispute's reference program from the model
// alone (x/verify/types.DisputeProgram); it must be the stage and the optimizer this trainer
// applies to every update, or an honest worker would lose a dispute over its own arithmetic.
func TestDisputeProgramIsTheTrainers(t *testing.T) {
	for _, m := range []modelstypes.Model{
		{
			Arch:   modelstypes.Architecture{Vocab: 256, DModel: 64, NLayers: 3, NHeads: 4, SeqLen: 32, CompressionRank: 8},
			Stages: []modelstypes.StageSpec{{Layers: 1}, {Layers: 1}, {Layers: 1}},
		},
		{
			Arch:   modelstypes.Architecture{Vocab: 256, DModel: 48, NLayers: 4, NHeads: 2, SeqLen: 16, CompressionRank: 48},
			Stages: []modelstypes.StageSpec{{Layers: 3}, {Layers: 1}}, MicrobatchesPerStep: 4,
			Optimizer: modelstypes.Optimizer{LearningRate: "0.00025", WeightDecay: "0.1", WarmupSteps: 20, DecaySteps: 500, PipelineDepth: 4},
		},
	} {
		s := chain.Spec(m)
		c, depth, err := modelOptimizer(m.Optim())
		if err != nil {
			t.Fatal(err)
		}
		c.WarmupSteps *= int(m.Microbatches())
		c.DecaySteps *= int(m.Microbatches())
		for stage := range m.Stages {
			opt, err := pipeline.StageNAdam(c, len(m.Stages), depth)(stage)
			if err != nil {
				t.Fatal(err)
			}
			want, err := dispute.NAdam(opt.(*optim.NAdam).Config())
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Stage(stage)
			if err != nil {
				t.Fatal(err)
			}
			gotStage, got, err := verifytypes.DisputeProgram(m, uint32(stage), 2)
			if err != nil {
				t.Fatal(err)
			}
			wantStage := stageprog.Stage{
				Arch:  stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: 2, N: s.SeqLen, Layers: info.Layers},
				Vocab: s.Vocab, Rank: s.CompressionRank, First: info.First, Last: info.Last,
			}
			if got != want || gotStage != wantStage {
				t.Errorf("model %+v stage %d: the chain builds %+v with %+v; the trainer runs %+v with %+v", m.Arch, stage, gotStage, got, wantStage, want)
			}
		}
	}
}
