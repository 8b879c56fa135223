package swarm

import (
	"context"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/roster"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Config describes one worker.
type Config struct {
	// Host is the worker's libp2p host (trainer/p2p.New); the worker
	// registers the pipeline protocol on it and removes it on Close.
	Host host.Host
	// Model is the model's id (frames of other models are refused).
	Model uint64
	// Stage is the engine stage this worker trains (its index is the
	// worker's stage); the swarm needs at least two stages.
	Stage *engine.Stage
	// Roster says who may send what (trainer/roster); re-read every
	// RosterEvery.
	Roster      roster.Source
	RosterEvery time.Duration
	// Data gives a microbatch's tokens from its id (data.Sampler.At):
	// stage 0 its inputs, the last stage its targets. Every worker of the
	// swarm must use the same corpus, split, shape and seed. Middle stages
	// may leave it nil.
	Data *data.Sampler
	// Rows is the number of sequences per microbatch (Data's batch size).
	Rows int
	// Microbatches is the number of microbatches per step (for step
	// numbers and heartbeats); 0 means 1.
	Microbatches int
	// Steps is how many steps stage 0 runs before it finishes (Run
	// returns); 0 runs until the context ends. Other stages run until the
	// context ends.
	Steps uint64
	// FirstMicrobatch is where stage 0's count of the microbatches it
	// originated starts (0 for a fresh run): a restarted stage 0 continues
	// its numbering, so that its microbatch ids (and the data they draw) are
	// new, and the next stages, which remember the ids they applied, train on
	// them. Steps still counts this run's steps.
	FirstMicrobatch uint64
	// Depth is the number of microbatches stage 0 keeps in flight; 0
	// means 2 × the number of stages.
	Depth int
	// Wire is the payload value type (payload.F32 or payload.BF16).
	Wire payload.DType
	// Limits bound the payloads this worker decodes.
	Limits payload.Limits
	// MaxFrame is the largest frame accepted (0: wire.DefaultMaxSize).
	MaxFrame int
	// Link shapes this worker's outgoing streams (emulated WAN); the zero
	// value sends as fast as the transport does. Clock (nil: wall time) times
	// the links and the routing: send times, timeouts and the blacklist.
	Link  link.Config
	Clock link.Clock
	// QueueCap bounds the accepted activations (and, separately, the
	// gradients) waiting for the compute goroutine; a full queue answers
	// busy. 0 means 2 × Depth.
	QueueCap int
	// AckTimeout bounds connecting, opening a stream and waiting for an
	// ack; Timeout how long a microbatch may stay with the next stage
	// before it is re-sent elsewhere (the peer is deemed slow); Blacklist
	// how long a failed peer gets no work; Busy how long after a busy reply
	// a peer is skipped; Ban how long a cut-off peer's streams are refused;
	// Drain how long shutdown waits for outstanding gradients.
	AckTimeout, Timeout, Blacklist, Busy, Ban, Drain time.Duration
	// Load, when set, gives a peer's last announced queue length and
	// throughput (microbatches per second) from its heartbeats.
	Load func(peer.ID) (queue int, throughput float64, ok bool)
	// Resolve, when set, finds addresses of a peer the roster lists
	// without any (the DHT).
	Resolve func(ctx context.Context, p peer.ID) (peer.AddrInfo, error)
	// OnLoss, when set, is called by the last stage with each
	// microbatch's loss, once per microbatch, from the compute goroutine.
	OnLoss func(Loss)
	// EvalEvery, when > 0, makes stage 0 send an evaluation round every
	// EvalEvery steps: the batches of Eval (the same list on every worker,
	// e.g. data.Corpus.EvalBatches with Rows rows), forward only; the last
	// stage calls OnEval with the round's mean loss once all of them have
	// arrived. Stage 0 and the last stage need Eval.
	EvalEvery uint64
	Eval      []data.Batch
	OnEval    func(Eval)
	// SeenElsewhere, when set, asks the other replicas of this stage whether
	// one of them has taken a microbatch that arrives as a replay
	// (statesync.SeenByReplicas); if so this worker runs it without
	// updating. It is called from the stream handler, not the compute loop.
	SeenElsewhere func(ctx context.Context, mb uint64) bool
	// OnDone, when set, is called by stage 0 with each microbatch that has
	// completed (its gradient came back and was applied).
	OnDone func(mb uint64)
	// OnTap, when set, receives each of this worker's steps when its last update is made (every
	// Microbatches updates, counted locally: step k is updates k·Microbatches …
	// (k+1)·Microbatches−1), from the compute goroutine: the designated layer of its first
	// update and the signed receipts of all its microbatches' inputs, for x/verify's
	// commitments (trainer/attest). It must return quickly.
	OnTap func(Step)
	// StateRoots, when set, makes each Step handed to OnTap carry the root of the stage's whole
	// state before its first update (checkpoint.StateRoot, taken on the compute goroutine):
	// where an attestation starting with that step starts (x/verify's state_root).
	StateRoots bool
	// LogHead, when set with StateRoots, is the head of the worker's replay log
	// (replaylog.Log.Head), asked on the compute goroutine where each step's state root is taken:
	// each Step carries it (x/verify's log_head). It must be cheap.
	LogHead func() [32]byte
	// OnStepStart, when set with StateRoots, is called on the compute goroutine before the
	// first update of each of this worker's steps (local step, as OnTap numbers it) with the
	// state root and log head there: where a range of steps ending with the step before ends, so
	// that what the log holds between the two (an average) is in that range (trainer/attest
	// Attester.Started). It must return quickly.
	OnStepStart func(step uint64, root, head [32]byte)
	// Hold, when set, is asked by stage 0 before each new draw: while it returns true no
	// microbatch is drawn (the attester is behind, and a step it would drop is a run of draws
	// the chain counts as skipped for good). Checked on the compute goroutine; it must be cheap.
	Hold func() bool
	// Draw, when set, is stage 0's microbatch id of its k-th draw (on chain x/verify's
	// types.DrawID of the operator: the chain fixes which windows of the dataset a worker's
	// draws hold); unset, draw k is microbatch k·replicas + this replica's index.
	Draw func(k uint64) uint64
	// OnUpdate, when set, receives every update this worker applies, in order, with what went
	// into it and the digest of the gradient it sent back, from the compute goroutine: what
	// package replay re-executes from the state before the first. It must return quickly.
	OnUpdate func(replay.Update)
	// ChainID is the chain the swarm trains for (empty off-chain), signed into every
	// boundary receipt so that a receipt of one chain is no evidence on another.
	ChainID string
	// OnReceipt, when set, receives the receipt and its sender's signature of every tensor
	// frame this worker accepted (after the payload decoded), from the stream handler. It
	// must return quickly.
	OnReceipt func(r verifytypes.Receipt, sig []byte)
	// FirstSeq is the least send number this worker gives (its log's LastSeq + 1 on a restart:
	// numbers never repeat, whatever the wall clock did meanwhile).
	FirstSeq uint64
	// MaxSendSkew, when set, refuses a tensor frame whose send number (the sender's clock in
	// microseconds when it sent it: number) is further than this from this worker's clock, and
	// cuts its sender off. An honest sender numbers each copy as it sends it, so only a clock
	// that is off lands there, or a sender numbering payloads outside the span its attestations
	// commit (an old number, whose attestation is final; a far one no attestation will cover):
	// x/verify "What a worker signs is what it logs". The node sets it on chain.
	MaxSendSkew time.Duration
	// CheatEquivocate sends every payload ten times larger than the one it logs under the same
	// send number (OnUpdate's records): a test tool that shows a worker that signs one payload
	// and logs (so attests, and would defend) another slashed on its receiver's report.
	CheatEquivocate bool
	Log             *slog.Logger
	// Metrics, when set, receives the worker's Prometheus metrics.
	Metrics prometheus.Registerer
}

// Loss is one microbatch's loss on the last stage, before its update.
type Loss struct {
	Microbatch uint64
	Step       uint64
	Loss       float64
}

// Eval is one evaluation round's mean loss on the last stage.
type Eval struct {
	Round uint64 // 1, 2, …: sent after Round·EvalEvery steps were drawn
	Step  uint64
	Loss  float64
}

// Evaluation microbatches carry EvalBit in their id, with the stage-0
// replica that sent them, the round and the index of the batch in
// Config.Eval: EvalBit | replica<<44 | round<<20 | index. They run forward
// only and are never re-sent.
const (
	EvalBit       = uint64(1) << 63
	evalIdxBits   = 20
	evalRoundBits = 24
)

func isEval(mb uint64) bool { return mb&EvalBit != 0 }

func evalID(replica, round uint64, k int) uint64 {
	return EvalBit | replica<<(evalIdxBits+evalRoundBits) | (round&(1<<evalRoundBits-1))<<evalIdxBits | uint64(k)
}

// evalParts splits an evaluation id: its round key (sender and round, the
// unit the last stage averages), the round and the batch index.
func evalParts(mb uint64) (key, round uint64, k int) {
	return mb >> evalIdxBits, (mb >> evalIdxBits) & (1<<evalRoundBits - 1), int(mb & (1<<evalIdxBits - 1))
}

// Status is what a worker announces in its heartbeats.
type Status struct {
	Stage      int
	Step       uint64 // completed steps (stage 0) or updates ÷ microbatches
	Updates    uint64
	Completed  uint64 // stage 0: microbatches done
	Repeats    uint64 // microbatches seen again: gradient computed, no second update
	Late       uint64 // gradients of microbatches no longer outstanding, dropped
	Pending    int    // microbatches sent on, gradient not back yet
	Queue      int    // accepted frames waiting for the compute goroutine
	Throughput float64
	Loss       float64 // the last stage's last microbatch loss
	Done       bool    // stage 0 finished its steps
	// Bytes this worker wrote on pipeline streams: tensor frames (length
	// prefix, header, payload), their payloads alone, and the control
	// frames (ack, busy, reject) it answered with.
	FrameBytes, PayloadBytes, ControlBytes uint64
}
