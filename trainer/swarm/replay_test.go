package swarm

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/spec"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// A replica that holds a worker's log (its snapshots and every update with what went into it,
// package replaylog) replays the worker's updates exactly and checks them against what the
// worker committed for each step (the state root before it, the inputs its neighbours signed):
// every stage of an honest real swarm passes (with the attester's taps taken, as on chain). A
// stage-1 worker that skips one of its layers, never moves its weights, resets its weights after
// a step, or logs an input other than the one it attested is found at the update where it
// cheated.
func TestRefereeOfARealSwarm(t *testing.T) {
	const steps, m, every = 3, 2, 4 // segments of two steps: [0, 4) and [4, 6)
	cases := []struct {
		name  string
		cheat func(*testing.T, *Config, *replaylog.Log) // on stage 1's worker (or cheater's), before it starts
		at    uint64                                    // the update the referee names
		// cheater is the cheating stage: 0 means stage 1, -1 stage 0, 2 stage 2.
		cheater int
	}{
		{"honest", nil, 0, 0},
		{"skips a layer", func(t *testing.T, c *Config, _ *replaylog.Log) {
			c.Stage = newStage(t, c.Stage.Spec(), 1, lr, []int{c.Stage.Info().FirstLayer + 1})
		}, 0, 0},
		{"never updates its weights", func(t *testing.T, c *Config, _ *replaylog.Log) {
			// The optimizer runs, but a step of 1e-30 leaves every float32 weight where it was.
			c.Stage = newStage(t, c.Stage.Spec(), 1, 1e-30, nil)
		}, 1, 0},
		{"resets its weights after a step", func(t *testing.T, c *Config, log *replaylog.Log) {
			// It trains, but goes back to where it started after its first step, then logs
			// on as if nothing happened (its next snapshot is the reset state).
			var start bytes.Buffer
			if err := checkpoint.Write(&start, c.Stage, 0, checkpoint.Full); err != nil {
				t.Fatal(err)
			}
			updates := 0
			c.OnUpdate = func(u replay.Update) {
				if updates++; updates == m {
					if _, err := checkpoint.Read(bytes.NewReader(start.Bytes()), c.Stage, 1<<30); err != nil {
						t.Error(err)
					}
				}
				if err := log.Updated(c.Stage, u); err != nil {
					t.Error(err)
				}
			}
		}, m, 0},
		{name: "stage 0 trains on text outside the dataset's draws", cheater: -1, at: 0, cheat: func(t *testing.T, c *Config, _ *replaylog.Log) {
			other, err := testCorpus(t).Sampler(data.Train, c.Stage.Spec().SeqLen, c.Rows, 2) // windows of its choosing
			if err != nil {
				t.Fatal(err)
			}
			c.Data = other
		}},
		{name: "the last stage trains on targets of its own", cheater: 2, at: 0, cheat: func(t *testing.T, c *Config, _ *replaylog.Log) {
			other, err := testCorpus(t).Sampler(data.Train, c.Stage.Spec().SeqLen, c.Rows, 2)
			if err != nil {
				t.Fatal(err)
			}
			c.Data = other
		}},
		{"logs an input it did not attest", func(t *testing.T, c *Config, log *replaylog.Log) {
			var first []byte
			c.OnUpdate = func(u replay.Update) {
				if first == nil {
					first = u.Input
				} else {
					u.Input = first // the second update "took in" the first one's activations
				}
				if err := log.Updated(c.Stage, u); err != nil {
					t.Error(err)
				}
			}
		}, 1, 0},
	}
	for _, tc := range cases {
		cheater := tc.cheater
		switch cheater {
		case 0:
			cheater = 1
		case -1:
			cheater = 0
		}
		t.Run(tc.name, func(t *testing.T) {
			sw, hosts := newSwarm(t, []int{1, 1, 1})
			sw.spec.NLayers, sw.spec.Stages = 6, []int{2, 2, 2} // a layer to skip beside the designated one
			logs := make([]*replaylog.Log, 3)
			claims := make([][]referee.Claim, 3)
			nodes := make([]*node, 3)
			for s := range hosts {
				nodes[s] = sw.start(hosts[s][0], s, steps, m, func(c *Config) {
					var err error
					if logs[s], err = replaylog.Open(t.TempDir(), every, 8); err != nil {
						t.Fatal(err)
					}
					c.StateRoots, c.LogHead = true, logs[s].Head
					c.OnTap = func(st Step) { // what the attester commits of each step
						cl := referee.Claim{Update: st.Step * m, Root: st.StateRoot, Head: st.LogHead}
						for _, in := range append([]*Input{st.Input}, others(st)...) {
							cl.Inputs = append(cl.Inputs, in.Receipt.Digest)
						}
						claims[s] = append(claims[s], cl)
					}
					if s == cheater && tc.cheat != nil {
						tc.cheat(t, c, logs[s])
					}
					if err := logs[s].Start(c.Stage, 0, nil); err != nil {
						t.Fatal(err)
					}
					if c.OnUpdate == nil {
						log := logs[s]
						c.OnUpdate = func(u replay.Update) {
							if err := log.Updated(c.Stage, u); err != nil {
								t.Error(err)
							}
						}
					}
				})
			}
			sw.wait(2 * time.Minute)
			for s, n := range nodes {
				if s > 0 {
					<-n.done // stopped: its log is complete
					n.done <- nil
				}
				if len(claims[s]) != steps {
					t.Fatalf("stage %d committed %d steps, want %d", s, len(claims[s]), steps)
				}
				segs, err := logs[s].Decoded()
				if err != nil {
					t.Fatal(err)
				}
				if len(segs) != steps*m/every+1 {
					t.Fatalf("stage %d: %d segments, want %d", s, len(segs), steps*m/every+1)
				}
				// The worker's final state closes its last step (a claim the replay must reach).
				end, err := checkpoint.StateRoot(n.w.cfg.Stage)
				if err != nil {
					t.Fatal(err)
				}
				claims[s] = append(claims[s], referee.Claim{Update: steps * m, Root: end, Head: logs[s].Head()})
				fresh := newStage(t, n.w.cfg.Stage.Spec(), s, lr, nil)
				initial, err := checkpoint.StateRoot(fresh)
				if err != nil {
					t.Fatal(err)
				}
				opts := referee.Options{Limit: 1 << 30, Stage: s, Initial: initial}
				if s != 1 { // the model's microbatches: stage 0's tokens and the last stage's targets
					opts.Batch = func(mb uint64, rows int) ([]int32, []int32, error) {
						smp, err := testCorpus(t).Sampler(data.Train, fresh.Spec().SeqLen, rows, 1)
						if err != nil {
							return nil, nil, err
						}
						b := smp.At(mb)
						return b.Inputs, b.Targets, nil
					}
				}
				rep, err := referee.Audit(context.Background(), fresh, n.w.codec, segs, claims[s], opts)
				if err != nil {
					t.Fatal(err)
				}
				if s != cheater || tc.cheat == nil {
					if rep.Finding != nil || rep.Updates != steps*m || rep.Claims != steps+1 {
						t.Errorf("stage %d (honest): %+v, finding %v; want every update and claim checked and nothing found", s, rep, rep.Finding)
					}
					continue
				}
				if rep.Finding == nil || rep.Finding.Update != tc.at {
					t.Errorf("stage %d: finding %v, want one at update %d", s, rep.Finding, tc.at)
				} else {
					t.Logf("stage %d caught: %v", s, rep.Finding)
				}
			}
		})
	}
}

// others are the receipts of a step's updates beside the designated one.
func others(st Step) []*Input {
	var out []*Input
	for _, o := range st.Others {
		out = append(out, o.Input)
	}
	return out
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

// Every payload a worker signs is in its log: each receipt its neighbours accepted names a
// send number and digest that an update of the sender's log records (logevent.Update.Signed:
// the activations sent forward and the gradients recomputed since the update before, and the
// gradient it sent back), unless the sender made no update after it; and a worker's numbers
// only grow. A receipt whose number an attestation covers with another digest is then the
// sender's proof of equivocation (x/verify MsgReportEquivocation). Evaluation microbatches,
// signed too, are covered.
func TestEverySignedPayloadIsLogged(t *testing.T) {
	sw, hosts := newSwarm(t, []int{1, 2, 1})
	var mu sync.Mutex
	logged := map[peer.ID][]logevent.Send{}
	var receipts []verifytypes.Receipt
	for s := range hosts {
		for _, h := range hosts[s] {
			sw.start(h, s, 4, 2, func(c *Config) {
				if s == 0 { // evaluation rounds too (not waited for: they are fire and forget)
					var err error
					c.EvalEvery = 1
					if c.Eval, err = testCorpus(t).EvalBatches(sw.spec.SeqLen, rows, 3); err != nil {
						t.Fatal(err)
					}
				}
				c.OnUpdate = func(u replay.Update) {
					mu.Lock()
					logged[h.ID()] = append(logged[h.ID()], u.Signed()...)
					mu.Unlock()
				}
				c.OnReceipt = func(r verifytypes.Receipt, _ []byte) {
					mu.Lock()
					receipts = append(receipts, r)
					mu.Unlock()
				}
			})
		}
	}
	sw.wait(2 * time.Minute)
	mu.Lock()
	defer mu.Unlock()
	for p, sends := range logged {
		for i := 1; i < len(sends); i++ {
			if sends[i].Seq <= sends[i-1].Seq {
				t.Fatalf("%s's send numbers do not grow: %d after %d", p, sends[i].Seq, sends[i-1].Seq)
			}
		}
	}
	covered, tail := 0, 0
	for _, r := range receipts {
		sends := logged[r.Sender]
		if len(sends) == 0 || r.Seq > sends[len(sends)-1].Seq {
			tail++ // signed after its last update: in no update's record, nor any attestation
			continue
		}
		i := slices.IndexFunc(sends, func(s logevent.Send) bool { return s.Seq == r.Seq })
		if i < 0 || sends[i].Digest != r.Digest {
			t.Fatalf("%s signed send %d (%v microbatch %d) that its log does not record as signed", r.Sender, r.Seq, r.Direction, r.Microbatch)
		}
		covered++
	}
	t.Logf("%d receipts in their senders' logs, %d signed after the sender's last update", covered, tail)
	if covered == 0 || covered < 4*tail {
		t.Errorf("%d receipts covered, %d in tails: want most in the logs", covered, tail)
	}
}
