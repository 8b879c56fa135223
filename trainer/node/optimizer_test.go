package node

import (
	"strings"
	"testing"

	"github.com/protolearn/protolearn/trainer/optim"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
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
