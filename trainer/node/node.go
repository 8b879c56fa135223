// Package node is one trainer process in a swarm: it assembles the stage
// engine, the swarm worker, the discovery services, the metrics and, with
// Config.Chain, the chain client, the attester and the checkpoint committer,
// and owns their lifetimes.
//
//	n, err := node.New(ctx, cfg) // dial, load, listen: nothing is trained yet
//	defer n.Close()
//	err = n.Run(ctx)             // train until done (stage 0) or ctx ends, then drain
//
// Cancelling Run's context is the first interrupt: the worker drains, and an
// attesting worker stays to answer challenges until its attestations are
// final, since an unanswered challenge is slashed like a cheat. Closing
// Config.Leave is the second: it leaves at once. Interrupts wires both to
// SIGINT and SIGTERM.
package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/compute"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/custody"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/discovery"
	"github.com/protolearn/protolearn/trainer/dispute"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/equivocation"
	"github.com/protolearn/protolearn/trainer/forkseed"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/statesync"
	"github.com/protolearn/protolearn/trainer/swarm"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// ErrHalted is Run's error once the model's holders halted it: training stopped, and the stage's
// weights were deleted.
var ErrHalted = errors.New("the model's holders halted it: training stopped and the stage's weights were deleted")

// MaxSendSkew is how far from a worker's clock a frame's send number may be (swarm
// Config.MaxSendSkew): workers on chain must keep their clocks within it (NTP). It is below a
// challenge window at the default block time (30 blocks of about 5 s), so a number within it is
// still covered by a pending attestation when its receiver reports it.
const MaxSendSkew = time.Minute

// Node is a swarm worker with its services.
type Node struct {
	cfg  Config
	log  *slog.Logger // with the stage
	t0   time.Time
	life context.Context // the services'; ends at Close
	stop context.CancelFunc

	host   host.Host
	stage  *engine.Stage
	worker atomic.Pointer[swarm.Worker] // read by the heartbeat validator, which starts first
	hb     *discovery.Heartbeats
	dht    *discovery.DHT
	oc     *onChain
	att    *attest.Attester
	// defender plays this worker's side of the replay disputes over its attestations.
	defender *dispute.Defender
	// answerer answers log requests on chain over this worker's attestations.
	answerer *custody.Answerer
	// watcher holds the receipts of the payloads this worker received and reports a neighbour
	// whose attestation names another payload under a receipt's number.
	watcher *equivocation.Watcher
	// prosecutor plays the disputes this worker's referee opened (Config.Chain.Dispute).
	prosecutor *dispute.Prosecutor
	// unlogged is set once a change of the stage's state failed to reach the replay log: the
	// state then no longer replays from the log, so the worker attests nothing more (it could
	// not defend it in a dispute) until it restarts with a new epoch.
	unlogged atomic.Bool
	commits  *committer
	// replay is the log a referee replays this worker's updates from (on chain).
	replay *replaylog.Log
	// referee audits the stage's other replicas (Config.Chain.AuditRate > 0).
	referee *referee.Service
	metrics *promserve.Server
	depth   int
	// trainStream is the train split stage 0 samples from (nil on other stages): its attester
	// opens the dataset bytes a challenged draw holds.
	trainStream []byte
	// corpus is the loaded dataset (stage 0 and the last stage): a referee's source of the
	// microbatches another replica must have trained on.
	corpus *data.Corpus

	// paused is set while the model's holders have it paused (or halted): stage 0 draws
	// nothing. halted is set once they halted it (holders.go).
	paused, halted atomic.Bool
	// forkSeed, on a fork, is the file of the parameters its stage starts from (a
	// checkpoint.Params stream of the parent's, at the fork's root); seeds keeps those of the
	// roots this worker commits, for its model's forks (forks.go).
	forkSeed string
	seeds    *forkseed.Store
	// stopTraining ends the running training (a halt); served is the inference server, if any.
	stopTraining atomic.Pointer[context.CancelFunc]
	served       atomic.Pointer[infer.Server]

	closers   []func() // in the order of opening
	ran       atomic.Bool
	closeOnce sync.Once
}

// New checks cfg, learns the model and the seat from the chain (with
// cfg.Chain), loads the data, builds the stage and joins the swarm; training
// starts with Run. ctx bounds the setup only.
func New(ctx context.Context, cfg Config) (_ *Node, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base := cfg.Log
	if base == nil {
		base = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{cfg: cfg, t0: time.Now()}
	n.life, n.stop = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if cfg.Chain != nil {
		if n.oc, err = connect(ctx, cfg.Chain, cfg.Model, cfg.Stage, base); err != nil {
			if h := (*haltedModel)(nil); errors.As(err, &h) {
				deleteHalted(cfg, h, base)
			}
			return nil, err
		}
		n.closers = append(n.closers, func() { _ = n.oc.client.Close() })
		n.cfg.Spec, n.cfg.Stage = n.oc.spec, n.oc.stage
		n.cfg.Seed = n.oc.spec.Seed // the model's sampler: the chain checks windows drawn with its seed
		switch per := int(n.oc.microbatches); {
		case n.cfg.Microbatches == 0:
			n.cfg.Microbatches = per
		case n.cfg.Microbatches != per:
			return nil, fmt.Errorf("--microbatches %d: model %d's steps are %d microbatches (its microbatches_per_step; the chain pays a step only with that many inputs): drop the flag or give %d",
				n.cfg.Microbatches, cfg.Model, per, per)
		}
		n.cfg.Roster = chain.Roster{Client: n.oc.client, Model: cfg.Model, Stages: len(n.oc.spec.Stages)}
		n.cfg.NAdam, n.cfg.Depth = n.oc.nadam, n.oc.depth // the model's: a replica replays with the same
	}
	if err := n.cfg.checkModel(); err != nil {
		return nil, err
	}
	if n.cfg.Link.Seed == 0 {
		n.cfg.Link.Seed = uint64(n.cfg.Stage) + 1 // each stage's emulated link draws its own jitter and loss
	}
	cfg = n.cfg
	n.log = base.With("stage", cfg.Stage)
	first, last := cfg.Stage == 0, cfg.Stage == len(cfg.Spec.Stages)-1

	reg := prometheus.NewRegistry()
	if n.host, err = p2p.New(p2p.Config{Key: cfg.Key, Listen: cfg.Listen, Announce: cfg.Announce, NAT: cfg.NAT, Metrics: reg}); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() { _ = n.host.Close() })
	n.log.Info("host", "peer", n.host.ID(), "addrs", fmt.Sprint(n.host.Addrs()))

	var sampler *data.Sampler
	var evalSet []data.Batch
	if first || last {
		if sampler, evalSet, err = n.loadData(); err != nil {
			return nil, err
		}
	}

	be, err := backend.New(cfg.Backend)
	if err != nil {
		return nil, fmt.Errorf("--backend: %w", err)
	}
	n.closers = append(n.closers, be.Finalize)
	n.depth = cfg.Depth
	if n.depth == 0 {
		n.depth = 2 * len(cfg.Spec.Stages)
	}
	// The schedule counts updates, one per microbatch (the model's number of them, on chain).
	nadam := cfg.NAdam
	nadam.WarmupSteps *= cfg.Microbatches
	nadam.DecaySteps *= cfg.Microbatches
	newStage := func(be compute.Backend, skip []int) (*engine.Stage, error) {
		opt, err := pipeline.StageNAdam(nadam, len(cfg.Spec.Stages), n.depth)(cfg.Stage)
		if err != nil {
			return nil, err
		}
		st, err := engine.New(be, cfg.Spec, cfg.Stage, engine.Options{Optimizer: opt, CheatSkipLayers: skip})
		if err != nil {
			return nil, err
		}
		// A fork's stages (its own, and those it replays on) start from its parent's weights.
		return st, n.fromForkSeed(st)
	}
	if err := n.seedFork(ctx, func() (*engine.Stage, error) { return newStage(be, nil) }); err != nil {
		return nil, err
	}
	var skip []int
	if cfg.Chain != nil && cfg.Chain.CheatSkipLayer {
		info, err := cfg.Spec.Stage(cfg.Stage)
		if err != nil {
			return nil, err
		}
		if info.Layers < 2 {
			return nil, fmt.Errorf("cheat-skip-layer: stage %d has %d layer; the test tool skips the last of at least two", cfg.Stage, info.Layers)
		}
		skip = []int{info.FirstLayer + info.Layers - 1}
		n.log.Warn("CHEATING (test tool): skipping the stage's last layer", "layer", skip[0])
	}
	if n.stage, err = newStage(be, skip); err != nil {
		return nil, err
	}

	wcfg := swarm.Config{
		Host: n.host, Model: cfg.Model, Stage: n.stage, Roster: cfg.Roster, Data: sampler, Rows: cfg.Rows, FirstMicrobatch: n.firstMicrobatch(),
		Microbatches: cfg.Microbatches, Steps: cfg.Steps, Depth: n.depth, Wire: cfg.Payload, Link: cfg.Link,
		AckTimeout: cfg.AckTimeout, Timeout: cfg.Timeout, Drain: cfg.Drain, Log: base, Metrics: reg,
		EvalEvery: cfg.EvalEvery, Eval: evalSet,
	}
	if cfg.Out != "" {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return nil, fmt.Errorf("output directory (--out): %w", err)
		}
	}
	if cfg.Out != "" && last {
		if err := n.openOutputs(&wcfg); err != nil {
			return nil, err
		}
	}
	if n.oc != nil {
		wcfg.ChainID = cfg.Chain.Dial.ChainID // signed into every boundary receipt
		wcfg.StateRoots = true                // each attestation names the state it starts from
		if n.replay, err = openReplayLog(cfg.Chain, cfg.Out, cfg.Model, n.oc, cfg.Microbatches); err != nil {
			return nil, err
		}
		n.closers = append(n.closers, func() { _ = n.replay.Close() })
		// Replays must be exact: the Go backend, whatever the worker trains on.
		goBackend, err := backend.New("go")
		if err != nil {
			return nil, err
		}
		n.closers = append(n.closers, goBackend.Finalize)
		replayStage := func() (*engine.Stage, error) { return newStage(goBackend, nil) }
		opt, err := pipeline.StageNAdam(nadam, len(cfg.Spec.Stages), n.depth)(cfg.Stage)
		if err != nil {
			return nil, err
		}
		if cfg.Chain.AuditRate > 0 {
			if n.referee, err = newReferee(n, cfg, reg, replayStage, opt); err != nil {
				return nil, err
			}
		}
		// Every attesting worker defends its attestations in replay disputes. A cheater (the
		// test tool) defends its own arithmetic, as a rational one would, so that its log
		// replays to what it attested: the game must catch it all the same.
		defendStage := func() (*engine.Stage, error) { return newStage(goBackend, skip) }
		if n.defender, err = newDefender(n, cfg, defendStage, opt); err != nil {
			return nil, err
		}
		// Log requests on chain: this worker answers those over its own attestations with a
		// replica's custody, and takes custody of its stage's other logs when asked.
		if err := n.startCustody(cfg, reg); err != nil {
			return nil, err
		}
		// Its neighbours are held to what they signed: each receipt against their attestations.
		if len(cfg.Spec.Stages) > 1 {
			if n.watcher, err = equivocation.New(equivocation.Config{
				Chain: n.oc.client, Model: cfg.Model, Stage: cfg.Stage, Stages: len(cfg.Spec.Stages), Log: n.log, Metrics: reg,
			}); err != nil {
				return nil, err
			}
			wcfg.OnReceipt = n.watcher.Received
		}
		// A frame's send number must be near this worker's clock: a sender's numbers outside the
		// spans its attestations commit (old ones under final attestations, far ones) would
		// prove nothing (x/verify "What a worker signs is what it logs").
		wcfg.MaxSendSkew = MaxSendSkew
		wcfg.FirstSeq = n.replay.LastSeq() + 1
		wcfg.CheatEquivocate = cfg.Chain.CheatEquivocate
		if cfg.Chain.CheatEquivocate {
			n.log.Warn("CHEATING (test tool): signing payloads other than those logged")
		}
		// ... and the head of the log of its updates there (log_head).
		wcfg.LogHead = n.replay.Head
		wcfg.OnUpdate = func(u replay.Update) { // on the compute goroutine: the stage is ours
			if err := n.replay.Updated(n.stage, u); err != nil {
				n.logBroken("an update not recorded", err)
			}
		}
		if first {
			// The chain fixes stage 0's draws: the k-th is the operator's types.DrawID.
			operator := strings.ToLower(cfg.Chain.Dial.Operator) // bech32's canonical case, as the chain hashes it
			wcfg.Draw = func(k uint64) uint64 { return verifytypes.DrawID(operator, k) }
		}
		var sampled *attest.Sampled
		if first {
			sampled = n.sampled()
		}
		if n.att, err = newAttester(ctx, n.life, cfg.Chain, n.oc, cfg.Model, cfg.Rows*cfg.Spec.SeqLen, cfg.Out, sampled, n.replay, reg, n.log); err != nil {
			return nil, err
		}
		if first {
			// Stage 0 waits for its attester rather than have steps dropped: dropped draws
			// count against how far the chain lets its draws run ahead.
			wcfg.Hold = func() bool { return n.paused.Load() || n.att.Behind() }
		}
		wcfg.OnStepStart = func(step uint64, root, head [32]byte) {
			if !n.unlogged.Load() { // as OnTap: a state its log no longer replays to ends nothing
				n.att.Started(step, root, head) // where a full batch ending with the step before ends
			}
		}
		wcfg.OnTap = func(st swarm.Step) {
			if n.unlogged.Load() {
				return // its state is no longer what its log replays to: nothing to attest, or defend
			}
			r := inputReceipt(st.Input)
			if cfg.Chain.CheatInputs && r != nil && !first {
				r.PayloadDigest = otherPayload(r.PayloadDigest)
			}
			input := attest.Input{
				Receipt: r, Microbatch: st.Microbatch, Draw: st.Draw, StateRoot: st.StateRoot, LogHead: st.LogHead,
				EndRoot: st.EndRoot, EndHead: st.EndHead,
			}
			if st.Input != nil && !first {
				input.Payload = st.Input.Payload // the activations X̂ derives from
			}
			middle := st.Grad != nil // each update's gradient too, in the same order
			if middle {
				input.Grads = append(input.Grads, inputReceipt(st.Grad))
			}
			for _, o := range st.Others {
				input.Others = append(input.Others, inputReceipt(o.Input))
				if first {
					input.OtherDraws = append(input.OtherDraws, o.Draw)
				}
				if middle {
					input.Grads = append(input.Grads, inputReceipt(o.Grad))
				}
			}
			n.att.Tap(st.Step, st.Tap, input)
		}
		if cfg.Chain.CheatInputs {
			n.log.Warn("CHEATING (test tool): attesting inputs the neighbour never sent")
		}
		if n.commits, err = newCommitter(ctx, cfg.Chain, n.oc, cfg.Model, cfg.Microbatches, n.log); err != nil {
			return nil, err
		}
		// The roots it commits are where its model's forks may start: it keeps and serves them.
		if err := n.serveForkSeeds(); err != nil {
			return nil, err
		}
		n.commits.kept = n.keepSeed
		if cfg.Join {
			n.commits.seed = nil // it starts from a replica's state, not from the fork's root
		}
	}
	if err := n.startDiscovery(ctx, &wcfg, base); err != nil {
		return nil, err
	}
	w, err := swarm.New(ctx, wcfg)
	if err != nil {
		return nil, err
	}
	n.worker.Store(w)
	n.closers = append(n.closers, w.Close)
	if cfg.Serve != nil {
		if err := n.startServing(ctx, reg); err != nil {
			return nil, err
		}
	}
	if n.dht != nil {
		n.dht.Advertise(n.life, cfg.Model, cfg.Stage)
	}
	srv := statesync.Serve(n.host, cfg.Model, cfg.Stage, w.Access, func(p peer.ID) error { return w.Roster().Check(p, cfg.Stage) }, n.log)
	srv.SetSeen(w.Seen)
	if n.replay != nil && !cfg.Chain.CheatWithholdLog {
		srv.SetLog(n.replay.Serve(replayLimit))
	}
	n.closers = append(n.closers, srv.Close)
	if cfg.MetricsAddr != "" {
		if n.metrics, err = promserve.Serve(cfg.MetricsAddr, reg); err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		n.closers = append(n.closers, n.metrics.Close)
		n.log.Info("metrics", "url", n.metrics.URL())
	}
	return n, nil
}

// firstMicrobatch is where a stage-0 worker on chain resumes its sequence of draws: past the
// highest draw it has counted (Attestation.next_draw), so that a restart never draws a counted
// index again and skips only what was in flight. (On a model whose stage 0 counts no
// draws, an uncompressed one, past the steps it attested.)
func (n *Node) firstMicrobatch() uint64 {
	if n.oc == nil || n.cfg.Stage != 0 {
		return 0
	}
	if n.oc.spec.Compressed() {
		return n.oc.draws
	}
	return (n.oc.firstStep - 1) * uint64(n.cfg.Microbatches)
}

// sampled is the model's dataset as stage 0 and the last stage hold it (nil on the others):
// what stage 0's attester opens its draws from and a referee's Prosecutor judges data by.
func (n *Node) sampled() *attest.Sampled {
	if n.trainStream == nil {
		return nil
	}
	return &attest.Sampled{Stream: n.trainStream, Seed: n.oc.spec.Seed, SeqLen: n.cfg.Spec.SeqLen}
}

// loadData reads the corpus: the training sampler, and the validation batches when evaluating.
func (n *Node) loadData() (*data.Sampler, []data.Batch, error) {
	cfg := n.cfg
	corpus, err := data.Load(cfg.DataDir, data.Options{MaxBytes: cfg.MaxBytes})
	if err != nil {
		return nil, nil, fmt.Errorf("--data %s: %w", cfg.DataDir, err)
	}
	sampler, err := corpus.Sampler(data.Train, cfg.Spec.SeqLen, cfg.Rows, cfg.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("data %s: %w", cfg.DataDir, err)
	}
	var evalSet []data.Batch
	if cfg.EvalEvery > 0 {
		if evalSet, err = corpus.EvalBatches(cfg.Spec.SeqLen, cfg.Rows, cfg.EvalBatches); err != nil {
			return nil, nil, fmt.Errorf("data %s: validation batches: %w", cfg.DataDir, err)
		}
	}
	n.trainStream = corpus.Bytes(data.Train)
	n.corpus = corpus
	st := corpus.Stats()
	root := corpus.DatasetRoot()
	n.log.Info("corpus", "dir", st.Dir, "train_bytes", st.TrainBytes, "dataset_root", hex.EncodeToString(root[:]))
	if n.oc != nil && !bytes.Equal(root[:], n.oc.dataset) {
		return nil, nil, fmt.Errorf("data %s: its train split's root is %x, but model %d trains on the dataset with root %x (dataset_commitment): point --data and --max-bytes at the model's corpus (trainer dataset-root prints a corpus's root)",
			cfg.DataDir, root, cfg.Model, n.oc.dataset)
	}
	return sampler, evalSet, nil
}

// openOutputs writes the last stage's losses.csv and eval.csv.
func (n *Node) openOutputs(wcfg *swarm.Config) error {
	losses, err := openCSV(filepath.Join(n.cfg.Out, "losses.csv"), n.t0, "microbatch", "step", "loss")
	if err != nil {
		return err
	}
	n.closers = append(n.closers, losses.close)
	wcfg.OnLoss = func(l swarm.Loss) {
		losses.add(strconv.FormatUint(l.Microbatch, 10), strconv.FormatUint(l.Step, 10), strconv.FormatFloat(l.Loss, 'f', 6, 64))
	}
	evals, err := openCSV(filepath.Join(n.cfg.Out, "eval.csv"), n.t0, "round", "step", "val_loss")
	if err != nil {
		return err
	}
	n.closers = append(n.closers, evals.close)
	wcfg.OnEval = func(e swarm.Eval) {
		evals.add(strconv.FormatUint(e.Round, 10), strconv.FormatUint(e.Step, 10), strconv.FormatFloat(e.Loss, 'f', 6, 64))
		n.log.Info("validation", "step", e.Step, "val_loss", strconv.FormatFloat(e.Loss, 'f', 4, 64))
	}
	return nil
}

// startDiscovery starts the heartbeats that feed routing and, with DHT, the DHT that finds
// roster members listed without addresses.
func (n *Node) startDiscovery(ctx context.Context, wcfg *swarm.Config, base *slog.Logger) error {
	cfg := n.cfg
	ps, err := discovery.NewPubSub(n.life, n.host)
	if err != nil {
		return err
	}
	// The validator checks heartbeats against the worker's roster, which exists once the worker does.
	if n.hb, err = discovery.NewHeartbeats(n.life, ps, cfg.Model, func() *roster.Roster {
		if w := n.worker.Load(); w != nil {
			return w.Roster()
		}
		return nil
	}, nil, 10*cfg.HeartbeatEvery, base); err != nil {
		return err
	}
	n.closers = append(n.closers, n.hb.Close)
	wcfg.Load = n.hb.Load
	wcfg.SeenElsewhere = statesync.SeenByReplicas(n.host, cfg.Model, cfg.Stage, n.replicas, cfg.AckTimeout/2)
	if !cfg.DHT {
		return nil
	}
	boot := cfg.Bootstrap
	if len(boot) == 0 {
		if boot, err = rosterPeers(ctx, cfg.Roster, n.host); err != nil {
			return err
		}
	}
	if n.dht, err = discovery.NewDHT(n.life, n.host, boot); err != nil {
		n.log.Warn("DHT not started; roster addresses only", "err", err)
		n.dht = nil
		return nil
	}
	n.closers = append(n.closers, func() { _ = n.dht.Close() })
	wcfg.Resolve = n.dht.Resolve
	return nil
}

// replicas are the other workers of the stage, in roster order (none before the worker exists).
func (n *Node) replicas() []peer.ID {
	w := n.worker.Load()
	if w == nil {
		return nil
	}
	return swarm.Replicas(w.Roster(), n.cfg.Stage, n.host.ID())
}

// ID is the worker's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Stage is the stage this worker trains (with Chain: the seat the operator holds).
func (n *Node) Stage() int { return n.cfg.Stage }

// MetricsURL is the address of the metrics page, empty without Config.MetricsAddr.
func (n *Node) MetricsURL() string {
	if n.metrics == nil {
		return ""
	}
	return n.metrics.URL()
}

// Run trains until stage 0 has finished its steps or ctx ends, then drains; an attesting
// worker then waits for its attestations' verdicts (until Config.Leave). With Config.Out it
// saves the stage's checkpoint. Run may be called once.
func (n *Node) Run(ctx context.Context) error {
	if !n.ran.CompareAndSwap(false, true) {
		return errors.New("node: Run called twice")
	}
	cfg, w := n.cfg, n.worker.Load()
	train, stopTraining := context.WithCancel(ctx)
	defer stopTraining()
	n.stopTraining.Store(&stopTraining)
	if n.oc != nil {
		// The model's status before the first draw, then as its holders change it.
		if m, err := n.oc.client.Model(ctx, cfg.Model); err != nil {
			return fmt.Errorf("reading model %d: %w", cfg.Model, err)
		} else {
			n.follow(m.Status)
		}
		stopWatch := n.watchModel(n.life)
		defer stopWatch()
	}
	stopHeartbeats := startHeartbeats(ctx, n.hb, w, cfg.HeartbeatEvery, n.log)
	defer stopHeartbeats()
	var joined *replaylog.Joined
	if cfg.Join {
		j, err := joinReplica(ctx, n.host, w, cfg.Model, n.stage, n.log)
		if err != nil {
			return err
		}
		joined = &replaylog.Joined{State: j.State, From: []byte(j.From), Sig: j.Sig}
	}
	if n.replay != nil {
		// After any join: the log's epoch starts from the state the worker trains from, the
		// model's initial state or the one a replica signed.
		if err := w.Access(ctx, func(st *engine.Stage, updates uint64) error { return n.replay.Start(st, updates, joined) }); err != nil {
			return err
		}
	}
	if cfg.AverageEvery > 0 {
		var mixed func(statesync.Mix) error
		if n.replay != nil {
			mixed = func(m statesync.Mix) error {
				err := n.replay.Averaged(replaylog.Average{
					Weight: m.Weight, Sel: uint8(checkpoint.Params), Root: m.Root, Params: m.Params, From: []byte(m.From), Sig: m.Sig,
				})
				if err != nil {
					n.logBroken("an average not recorded", err)
				}
				return err
			}
		}
		stopAveraging := startAveraging(ctx, n.host, w, cfg.Model, cfg.Stage, cfg.AverageEvery, mixed, n.log)
		defer stopAveraging()
	}
	n.log.Info("worker", "model", cfg.Model, "spec", cfg.SpecName, "stages", fmt.Sprint(cfg.Spec.Stages), "params", n.stage.NumParams(),
		"compression_rank", cfg.Spec.CompressionRank, "rows", cfg.Rows, "depth", n.depth, "link", fmt.Sprintf("%+v", cfg.Link))

	stopProgress := startProgress(ctx, w, n.log, cfg.LogEvery, cfg.Rows*cfg.Spec.SeqLen)
	stopAttester := n.startAttester(ctx)
	stopDefender := n.startDefender()
	stopReferee := n.startReferee(ctx)
	defer stopReferee()
	stopCommits := func(bool) {}
	if n.commits != nil {
		stopCommits = n.commits.start(ctx, w)
	}
	err := w.Run(train)
	stopProgress()
	stopCommits(err == nil && !n.halted.Load())
	stopAttester()
	stopDefender()
	if n.halted.Load() {
		// The attestations are final (or the worker leaves): nothing more to answer for.
		n.deleteWeights()
		n.deleteEvidence()
		if err != nil {
			return err
		}
		return ErrHalted
	}
	if err != nil {
		return err
	}
	s := w.Status()
	n.log.Info("stopped", "updates", s.Updates, "completed", s.Completed, "elapsed", time.Since(n.t0).Round(time.Millisecond),
		"frame_bytes", s.FrameBytes, "payload_bytes", s.PayloadBytes, "control_bytes", s.ControlBytes)
	if path := n.checkpointPath(); path != "" {
		if err := w.Access(context.Background(), func(st *engine.Stage, updates uint64) error {
			return checkpoint.Save(path, st, updates)
		}); err != nil {
			return err
		}
		n.log.Info("checkpoint", "path", path)
	}
	return nil
}

// startAttester runs the attester beside training. It outlives training: when training ends,
// finished (stage 0) or interrupted, it attests what it committed and stays to answer
// challenges until every attestation is final, since an unanswered challenge is slashed like a
// cheat. Config.Leave leaves at once (a restarted trainer still answers from the stored
// layers, if in time).
func (n *Node) startAttester(ctx context.Context) (wait func()) {
	att := n.att
	if att == nil {
		return func() {}
	}
	actx, cancel := context.WithCancel(n.life)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := att.Run(actx); err != nil {
			n.log.Error("attester", "err", err)
		}
	}()
	return func() {
		// Leaving takes one more interrupt than training took: the first after a finished
		// training (ctx), the second after an interrupted one (Config.Leave).
		leave := n.cfg.Leave
		var interrupt <-chan struct{}
		if ctx.Err() == nil {
			interrupt = ctx.Done()
			n.log.Info("training done; waiting for the attestations' verdicts (interrupt to leave now)")
		} else {
			n.log.Info("interrupted; answering challenges until the attestations are final (interrupt again to leave now: an unanswered challenge is slashed)")
		}
		att.Finish()
		select {
		case <-done:
		case <-interrupt:
		case <-leave:
		}
		select {
		case <-done:
		default:
			n.log.Warn("leaving before every attestation is final")
			cancel()
			<-done
		}
		cancel()
		s := att.Stats()
		n.log.Info("attester stopped", "steps", s.Steps, "dropped", s.Dropped, "attestations", s.Attestations, "finalized", s.Finalized,
			"voided", s.Voided, "answered", s.Answered, "unprovable", s.Unprovable, "commit_time", s.CommitTime.Round(time.Millisecond))
	}
}

// Close stops every service, in the reverse order of their start. It is safe to call more
// than once, and after a failed New.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.stop()
		for i := len(n.closers) - 1; i >= 0; i-- {
			n.closers[i]()
		}
	})
}

// logBroken records that a change of the stage's state is missing from the replay log, and
// stops attesting.
func (n *Node) logBroken(what string, err error) {
	if !n.unlogged.Swap(true) {
		n.log.Error("replay log: "+what+"; this worker attests nothing more until it restarts (its later states would not replay from its log)", "err", err)
	}
}
