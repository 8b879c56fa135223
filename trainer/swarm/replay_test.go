package swarm

import (
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/spec"
)

// A replica that holds the state a worker of a real swarm started from, and the inputs the
// worker took in, replays the worker's updates exactly: the same gradient sent back for every
// microbatch, the same state root at the end, on every stage (with the attester's taps taken,
// as on chain). A stage-1 worker that skips one of its layers, or never moves its weights,
// does not replay: its first differing gradient and its state root give it away.
func TestReplayOfARealSwarm(t *testing.T) {
	cases := []struct {
		name  string
		cheat func(*testing.T, *Config) // on stage 1's worker, before it starts
		want  replay.Mismatch
	}{
		{"honest", nil, replay.Mismatch{Update: -1}},
		{"skips a layer", func(t *testing.T, c *Config) {
			c.Stage = newStage(t, c.Stage.Spec(), 1, lr, []int{c.Stage.Info().FirstLayer + 1})
		}, replay.Mismatch{Update: 0, Root: true}},
		{"never updates its weights", func(t *testing.T, c *Config) {
			// The optimizer runs, but a step of 1e-30 leaves every float32 weight where it was.
			c.Stage = newStage(t, c.Stage.Spec(), 1, 1e-30, nil)
		}, replay.Mismatch{Update: 1, Root: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const steps, m = 3, 2
			sw, hosts := newSwarm(t, []int{1, 1, 1})
			sw.spec.NLayers, sw.spec.Stages = 6, []int{2, 2, 2} // a layer to skip beside the designated one
			logs := make([][]replay.Update, 3)
			nodes := make([]*node, 3)
			for s := range hosts {
				nodes[s] = sw.start(hosts[s][0], s, steps, m, func(c *Config) {
					c.OnTap = func(Step) {} // the attester's taps, as on chain
					c.OnUpdate = func(u replay.Update) { logs[s] = append(logs[s], u) }
					if s == 1 && tc.cheat != nil {
						tc.cheat(t, c)
					}
				})
			}
			sw.wait(2 * time.Minute)
			for s, n := range nodes {
				if s > 0 {
					<-n.done // stopped: its state is final
					n.done <- nil
				}
				if len(logs[s]) != steps*m {
					t.Fatalf("stage %d applied %d updates, want %d", s, len(logs[s]), steps*m)
				}
				// The worker's own state, or the cheater's engine's.
				st := n.w.cfg.Stage
				root, err := checkpoint.StateRoot(st)
				if err != nil {
					t.Fatal(err)
				}
				referee := newStage(t, st.Spec(), s, lr, nil)
				got, ok, err := replay.Check(referee, n.w.codec, logs[s], root)
				if err != nil {
					t.Fatal(err)
				}
				want := replay.Mismatch{Update: -1}
				if s == 1 {
					want = tc.want
				}
				if got != want || ok != (want == replay.Mismatch{Update: -1}) {
					t.Errorf("stage %d: replay says %v (ok %t), want %v", s, got, ok, want)
				}
			}
		})
	}
}

// newStage is a fresh stage of the swarm tests' optimizer at learning rate rate (skipping
// layers skip): a referee's, or a cheater's.
func newStage(t *testing.T, s spec.Spec, index int, rate float64, skip []int) *engine.Stage {
	t.Helper()
	opt, err := pipeline.StageNAdam(optim.NAdamConfig{LearningRate: rate}, len(s.Stages), depth)(index)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.New(testbackend.Go(), s, index, engine.Options{Optimizer: opt, CheatSkipLayers: skip})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
