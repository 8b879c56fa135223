package node

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Config is one swarm worker: which stage of which model it trains, on what
// data, how it talks to its neighbours, and (Chain) whether it proves its work.
type Config struct {
	// Model is the model's id: frames and rosters of other models are refused.
	Model uint64
	// Spec is the model; with Chain it is read from the chain instead. SpecName names it in
	// the logs.
	Spec     spec.Spec
	SpecName string
	// Stage is the stage this worker trains; with Chain, -1 takes the seat the
	// operator holds (any other value must be that seat).
	Stage int
	// Roster says who holds which stage; with Chain it is the chain's stage roster.
	Roster roster.Source

	// Key is the libp2p identity: the roster names its peer id.
	Key crypto.PrivKey
	// Listen are the multiaddrs to listen on; Announce, if set, are advertised instead.
	Listen, Announce []string
	// NAT is the host's NAT traversal (port mapping, hole punching, relays).
	NAT p2p.NATConfig

	// DataDir is the corpus, read by stage 0 and the last stage; MaxBytes caps
	// what is loaded (0: no cap).
	DataDir  string
	MaxBytes int64
	// Seed picks a microbatch's tokens from its id.
	Seed uint64
	// Rows are sequences per microbatch; Microbatches are microbatches per step: on chain the
	// model's microbatches_per_step, which 0 takes and any other value must equal (the chain
	// pays a step only with that many inputs).
	Rows, Microbatches int
	// Steps is the number of steps stage 0 trains before finishing.
	Steps uint64
	// Depth is stage 0's microbatches in flight (0: twice the stages; with Chain, the model's
	// optimizer.pipeline_depth, and it must be 0).
	Depth int
	// NAdam is the base optimizer, its warm-up and decay counted in steps (the
	// node counts them in updates, Microbatches a step, once the model's number
	// is known): each stage gets the momentum of its delay (pipeline.StageNAdam).
	// With Chain it must be the zero value: the model fixes its optimizer, so that a
	// replica can replay another's updates.
	NAdam optim.NAdamConfig

	// Link shapes this worker's outgoing streams; Payload is the wire type.
	Link    link.Config
	Payload payload.DType
	// AckTimeout bounds connects, opens and acknowledgements; a microbatch held
	// longer than Timeout by the next stage is re-sent elsewhere; Drain is how
	// long shutdown waits for outstanding gradients.
	AckTimeout, Timeout, Drain time.Duration

	// Out receives losses.csv and eval.csv (last stage) and stage-N.ckpt at
	// exit; empty writes nothing.
	Out string
	// MetricsAddr serves Prometheus /metrics when set (port 0 picks one).
	MetricsAddr string
	// LogEvery is the interval of the progress log line.
	LogEvery time.Duration
	// EvalEvery makes stage 0 send a validation round every N steps (0: never)
	// of EvalBatches microbatches.
	EvalEvery   uint64
	EvalBatches int

	// Join downloads the stage's state from a live replica before taking work.
	Join bool
	// DHT runs the Kademlia DHT; Bootstrap are its first peers (default: the
	// roster's members with addresses).
	DHT       bool
	Bootstrap []peer.AddrInfo
	// HeartbeatEvery is the interval of the gossiped heartbeats routing reads.
	HeartbeatEvery time.Duration
	// AverageEvery averages parameters with a replica every N updates (0: never).
	AverageEvery uint64
	// Backend is the tensor backend: go, or xla[:PLUGIN].
	Backend string

	// Chain, when set, reads the model and roster from the chain, attests the
	// work, answers challenges and commits checkpoints.
	Chain *ChainConfig

	// Serve, when set, also serves inference (package infer) from a copy of the stage's
	// weights, refreshed as training goes on.
	Serve *ServeConfig

	// Log receives the worker's logs (default: discarded).
	Log *slog.Logger
	// Leave, once closed, ends the wait for the attestations' verdicts that
	// follows training (the second interrupt): what is left unanswered is slashed.
	// After a training that finished, the end of Run's context ends it too; after
	// an interrupted one, only Leave does (nil: the wait lasts until every
	// attestation is final).
	Leave <-chan struct{}
}

// ChainConfig connects a worker to the chain.
type ChainConfig struct {
	// Dial is the node's gRPC address, the chain id, the hot key and the
	// operator it signs for.
	Dial chain.Config
	// RPC is the node's CometBFT RPC, for challenge events (empty: polling only).
	RPC string
	// Keys is the directory of the tiles' proving keys.
	Keys string
	// StateDir keeps the commitment secret and the layers kept for the
	// challenge window (default: Out/attest, or ./attest).
	StateDir string
	// TileWidth is T, the width of a challenged column block.
	TileWidth int
	// Poll is how often challenges and final attestations are checked, besides events
	// (0: the attester's default).
	Poll time.Duration
	// StatusPoll is how often the model's status is read besides events (0:
	// DefaultStatusPoll): its holders may pause, resume or halt it.
	StatusPoll time.Duration
	// JoinStage takes a seat in Stage first unless the operator holds one.
	JoinStage bool
	// ForkSeed, on a fork, is a checkpoint file (Full or Params) of the parent's stage at the
	// fork's root: the weights the stage starts from, instead of asking the parent's replicas.
	ForkSeed string
	// CommitEvery commits the weights' root at most once per this many steps
	// (0: the attestation period).
	CommitEvery uint64
	// Cheat fakes the designated layer on this fraction of steps. A test tool
	// that shows cheaters being caught: it loses stake.
	Cheat float64
	// CheatInputs attests every step's input as a payload its neighbour never sent (the digest
	// of data of the worker's own under the neighbour's signature). A test tool that shows such
	// steps refused: nothing is paid for them.
	CheatInputs bool
	// CheatOwnInput commits, on this fraction of steps, a designated input X of the worker's
	// own (random data, with Y = X·W computed honestly) beside the real receipt: a worker
	// training on inputs it did not receive. A test tool that shows such a worker slashed by an
	// input challenge (on a stage after the first of a compressed model).
	CheatOwnInput float64
	// CheatSkipLayer skips the stage's last layer in every forward and backward pass (a stage of
	// at least two layers). A test tool that shows a referee's replay finding such a worker.
	CheatSkipLayer bool
	// CheatWithholdLog serves no replay log to the stage's other replicas (nor to custodians of a
	// log request on chain). A test tool that shows such a worker slashed once a referee asks
	// for its log on chain.
	CheatWithholdLog bool
	// CheatEquivocate sends every payload other than the one it logs under the same send number
	// (swarm Config.CheatEquivocate). A test tool that shows such a worker slashed on its
	// receiver's report (x/verify MsgReportEquivocation).
	CheatEquivocate bool
	// AuditRate is the chance that this worker, as a referee, audits a pending attestation of
	// another replica of its stage by replaying it (package referee; 0: never). It costs that
	// fraction of the other replicas' compute, on a second copy of the stage.
	AuditRate float64
	// AuditRetry is the least time between two counted tries to fetch a log a worker does not
	// serve (0: referee.TryInterval); after referee.MaxTries a referee with Dispute asks for it
	// on chain.
	AuditRetry time.Duration
	// Dispute makes the referee open a replay dispute on chain over an audited attestation whose
	// own updates its replay finds wrong, and play it (dispute.Prosecutor): each posts
	// dispute_bond from the operator's account, so the hot key needs the operator's opt-in.
	Dispute bool
	// Rand draws the cheating steps, the audits and the attester's randomness (default: random).
	Rand *rand.Rand
}

// ServeConfig is a training worker's inference service.
type ServeConfig struct {
	// Refresh is how often the serving copy takes the training weights (0: five minutes):
	// sessions opened after a refresh see the new weights.
	Refresh time.Duration
	// MaxSessions bounds the open sessions (0: infer's default).
	MaxSessions int
}

// validate checks the settings that do not depend on the model; checkModel
// those that do, once the model is known.
func (c *Config) validate() error {
	if c.Key == nil {
		return errors.New("no identity key: the roster names the worker by its peer id")
	}
	if c.Roster == nil && c.Chain == nil {
		return errors.New("no roster: a roster file naming the peer id and stage of every worker, or the chain")
	}
	if c.Rows <= 0 {
		return fmt.Errorf("rows %d: must be positive", c.Rows)
	}
	if c.Microbatches < 0 || (c.Microbatches == 0 && c.Chain == nil) {
		return fmt.Errorf("microbatches %d: must be positive (0 takes the model's microbatches_per_step, on chain only)", c.Microbatches)
	}
	if c.EvalEvery > 0 && (c.EvalBatches <= 0 || c.EvalBatches >= 1<<20) {
		return fmt.Errorf("eval batches %d: must be in 1…%d when evaluating", c.EvalBatches, 1<<20-1)
	}
	if c.Depth < 0 {
		return fmt.Errorf("depth %d: must not be negative", c.Depth)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ack timeout", c.AckTimeout}, {"timeout", c.Timeout}, {"drain", c.Drain}, {"log interval", c.LogEvery}, {"heartbeat interval", c.HeartbeatEvery}} {
		if d.v <= 0 {
			return fmt.Errorf("%s %s: must be positive", d.name, d.v)
		}
	}
	if c.Serve != nil && (c.Serve.Refresh < 0 || c.Serve.MaxSessions < 0) {
		return fmt.Errorf("serve: refresh %s and max sessions %d must not be negative", c.Serve.Refresh, c.Serve.MaxSessions)
	}
	if c.Chain != nil {
		if c.NAdam != (optim.NAdamConfig{}) || c.Depth != 0 {
			return errors.New("optimizer: with the chain the model fixes the optimizer and the pipeline depth (its optimizer field); set neither")
		}
	} else if err := c.NAdam.Validate(); err != nil {
		return fmt.Errorf("optimizer: %w", err)
	}
	if ch := c.Chain; ch != nil {
		if ch.Cheat < 0 || ch.Cheat > 1 {
			return fmt.Errorf("cheat %v: a fraction in [0, 1]", ch.Cheat)
		}
		if ch.AuditRate < 0 || ch.AuditRate > 1 {
			return fmt.Errorf("audit rate %v: a fraction in [0, 1]", ch.AuditRate)
		}
		if ch.CheatOwnInput < 0 || ch.CheatOwnInput > 1 {
			return fmt.Errorf("cheat-own-input %v: a fraction in [0, 1]", ch.CheatOwnInput)
		}
	}
	return nil
}

// checkModel checks the stage against the model.
func (c *Config) checkModel() error {
	if err := c.Spec.Validate(); err != nil {
		return fmt.Errorf("model %d: %w", c.Model, err)
	}
	n := len(c.Spec.Stages)
	if n < 2 {
		return errors.New("the model has one stage; a swarm needs at least two")
	}
	if c.Stage < 0 || c.Stage >= n {
		return fmt.Errorf("stage %d: required, one of 0…%d", c.Stage, n-1)
	}
	if c.Stage == 0 && c.Steps == 0 {
		return errors.New("steps 0: stage 0 needs a positive step count")
	}
	return nil
}
