package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/subspace"
	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/custody"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/dispute"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/referee"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/spec"
	"github.com/protolearn/protolearn/trainer/swarm"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// onChain is what a worker learns from the chain before training.
type onChain struct {
	client *chain.Client
	spec   spec.Spec
	stage  int
	params verifytypes.Params
	// firstStep is the chain step of the worker's local step 0: one above the last step it
	// attested on the model, so that a restarted trainer never overlaps its past.
	firstStep uint64
	// dataset is the model's dataset_commitment: the root (package dataset) of the train split
	// its first and last stages must sample from.
	dataset []byte
	// subspaceRoot is the model's subspace_root: the root of its compression tables, which
	// this trainer's own (from the seed) must match.
	subspaceRoot []byte
	// microbatches is the model's microbatches_per_step.
	microbatches uint32
	// nadam and depth are the model's optimizer (its steps counted in steps) and pipeline depth.
	nadam optim.NAdamConfig
	depth int
	// draws is one above the highest stage-0 draw index the worker has counted on the model:
	// where its sequence of draws resumes (never a counted index again).
	draws uint64
	// parent and forkRoot, on a fork, are its parent model and the root of the parent's
	// weights its stage starts from (x/models fork_roots).
	parent   uint64
	forkRoot []byte
}

// connect dials the node and reads the model and the operator's seat, taking one in stage
// if asked to (JoinStage) and the operator holds none.
func connect(ctx context.Context, c *ChainConfig, model uint64, stage int, log *slog.Logger) (oc *onChain, err error) {
	cfg := c.Dial
	cfg.Log = log
	cl, err := chain.Dial(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cl.Close()
		}
	}()
	m, err := cl.Model(ctx, model)
	if err != nil {
		return nil, err
	}
	if m.Status == modelstypes.MODEL_STATUS_HALTED {
		// Halted while this trainer was away: it holds no seat, but may still hold weights.
		stage, _, held, err := cl.HeldStage(ctx, model, cfg.Operator)
		if err != nil {
			return nil, err
		}
		return nil, &haltedModel{stage: int(stage), held: held}
	}
	held, seated, err := cl.StageOf(ctx, model)
	if err != nil {
		return nil, err
	}
	operator := cfg.Operator
	if !seated && c.JoinStage {
		if stage < 0 {
			return nil, errors.New("--join-stage needs --stage: the stage to take a seat in")
		}
		if err := cl.JoinStage(ctx, model, uint32(stage)); err != nil {
			return nil, err
		}
		log.Info("joined a stage on chain", "model", model, "stage", stage, "operator", operator)
		held, seated = uint32(stage), true
	}
	switch {
	case !seated:
		return nil, fmt.Errorf("--operator %s holds no stage of model %d: join one first (--join-stage, or protolearnd tx models join-stage)", operator, model)
	case stage >= 0 && uint32(stage) != held:
		return nil, fmt.Errorf("--stage %d: %s holds stage %d of model %d", stage, operator, held, model)
	}
	p, err := cl.VerifyParams(ctx)
	if err != nil {
		return nil, err
	}
	first, draws := uint64(1), uint64(0)
	if last, ok, err := cl.LastAttestation(ctx, operator, model); err != nil {
		return nil, err
	} else if ok {
		first, draws = last.StepTo+1, last.NextDraw
	}
	nadam, depth, err := modelOptimizer(m.Optim())
	if err != nil {
		return nil, fmt.Errorf("model %d: %w", model, err)
	}
	return &onChain{
		client: cl, spec: chain.Spec(m), stage: int(held), params: p, firstStep: first, dataset: m.DatasetCommitment,
		subspaceRoot: m.SubspaceRoot, microbatches: m.Microbatches(), nadam: nadam, depth: depth, draws: draws,
		parent: m.ParentId, forkRoot: forkRoot(m, held),
	}, nil
}

// forkRoot is the root a fork's stage starts from (nil on a model trained from its seed).
func forkRoot(m modelstypes.Model, stage uint32) []byte {
	if m.ParentId == 0 || int(stage) >= len(m.ForkRoots) {
		return nil
	}
	return m.ForkRoots[stage]
}

// modelOptimizer is a model's optimizer as the trainer applies it: the base NAdam (pipeline.StageNAdam
// gives each stage the momentum of its delay), its schedule in steps, and the pipeline depth. The
// decimals parse to the same float64 on every machine (strconv rounds correctly).
func modelOptimizer(o modelstypes.Optimizer) (optim.NAdamConfig, int, error) {
	if err := o.Validate(); err != nil {
		return optim.NAdamConfig{}, 0, err
	}
	c := optim.DefaultNAdam()
	c.Beta1 = 0 // the base momentum: each stage gets pipeline.StageMomentum of it
	var err error
	if c.LearningRate, err = strconv.ParseFloat(o.LearningRate, 64); err != nil {
		return c, 0, fmt.Errorf("optimizer.learning_rate %q: %w", o.LearningRate, err)
	}
	if c.WeightDecay, err = strconv.ParseFloat(o.WeightDecay, 64); err != nil {
		return c, 0, fmt.Errorf("optimizer.weight_decay %q: %w", o.WeightDecay, err)
	}
	if o.WarmupSteps > math.MaxInt32 || o.DecaySteps > math.MaxInt32 {
		return c, 0, fmt.Errorf("optimizer: warm-up %d or decay %d steps beyond what a trainer counts", o.WarmupSteps, o.DecaySteps)
	}
	c.WarmupSteps, c.DecaySteps = int(o.WarmupSteps), int(o.DecaySteps)
	return c, int(o.PipelineDepth), c.Validate()
}

const (
	// replayLimit bounds the replay log a referee fetches (the segments from an attestation's
	// starting state on).
	replayLimit = 8 << 30
	// replayKeep is the segments of the replay log a worker keeps: snapshots are taken every
	// attestation_period steps, so this covers the attestations a referee may still audit
	// (pending ones, and a few beyond).
	replayKeep = 16
)

// openReplayLog opens the worker's replay log under the state directory (replaylog), a
// snapshot every attestation_period steps of the model's microbatches.
func openReplayLog(c *ChainConfig, out string, model uint64, oc *onChain, microbatches int) (*replaylog.Log, error) {
	every := max(oc.params.AttestationPeriod, 1) * uint64(max(microbatches, 1))
	// One directory per model and stage: a state directory reused for another seat never serves
	// the old stage's state to the new stage's replicas.
	return replaylog.Open(replayLogDir(c, out, model, oc.stage), every, replayKeep)
}

// replayLogDir is the replay log's directory for one model and stage.
func replayLogDir(c *ChainConfig, out string, model uint64, stage int) string {
	return filepath.Join(stateDir(c, out), "replaylog", fmt.Sprintf("model-%d-stage-%d", model, stage))
}

// stateDir is where the worker keeps its attestation state: --state-dir, or attest under --out.
func stateDir(c *ChainConfig, out string) string {
	if c.StateDir != "" {
		return c.StateDir
	}
	if out != "" {
		return filepath.Join(out, "attest")
	}
	return "attest"
}

// newAttester builds the worker's attester and recovers what an earlier run left to answer;
// tileRows is rows × seq_len of its microbatches.
// Recover runs under ctx (setup); the challenge watcher lives as long as life.
func newAttester(ctx, life context.Context, c *ChainConfig, oc *onChain, model uint64, tileRows int, out string, sampled *attest.Sampled, replay *replaylog.Log, reg prometheus.Registerer, log *slog.Logger) (*attest.Attester, error) {
	tables, err := oc.tables()
	if err != nil {
		return nil, err
	}
	tiles := verifytypes.Tiles{
		DModel: uint32(oc.spec.DModel), Rank: uint32(oc.spec.CompressionRank), Vocab: uint32(oc.spec.Vocab),
		Stage: uint32(oc.stage), Rows: uint32(tileRows), Width: uint32(c.TileWidth),
	}
	shapes, err := tiles.Shapes()
	if err != nil {
		return nil, fmt.Errorf("--tile-width %d with %d rows: %w", c.TileWidth, tileRows, err)
	}
	prover := attest.NewProver(c.Keys)
	for _, s := range shapes {
		if _, ok := oc.params.Key(s.String()); !ok {
			return nil, fmt.Errorf("the chain has no verifying key for %s: choose --rows so that rows × seq_len is a registered tile (protolearnd query verify verifying-keys)", s)
		}
		if _, err := prover.Keys(s); err != nil {
			return nil, err
		}
	}
	dir := stateDir(c, out)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, "commit.secret"))
	if err != nil {
		return nil, err
	}
	store, err := attest.OpenStore(filepath.Join(dir, "layers")) // Node.attestDir
	if err != nil {
		return nil, err
	}
	var wake <-chan struct{}
	if c.RPC != "" {
		wake = chain.WatchChallenges(life, c.RPC, c.Dial.Operator, log)
	}
	if c.Cheat > 0 {
		log.Warn("CHEATING (test tool): faking the designated layer on a fraction of steps", "fraction", c.Cheat)
	}
	rng := c.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	att, err := attest.NewAttester(attest.Config{
		Chain: oc.client, ChainID: c.Dial.ChainID, Worker: c.Dial.Operator, ModelID: model, Stage: uint32(oc.stage),
		Layers: uint32(oc.spec.Stages[oc.stage]), Period: oc.params.AttestationPeriod, FirstStep: oc.firstStep,
		TileWidth: c.TileWidth, Secret: secret, Store: store, Prover: prover, Tables: tables, Sampled: sampled, Cheat: c.Cheat, CheatOwnInput: c.CheatOwnInput,
		Rand: rng, Poll: c.Poll, Wake: wake, Log: log, Metrics: reg, Sends: logSends(replay),
	})
	if err != nil {
		return nil, err
	}
	return att, att.Recover(ctx)
}

// logSends lists what the log records as signed between two heads, as an attestation commits
// it.
func logSends(l *replaylog.Log) func(from, to [32]byte) ([]verifytypes.SentPayload, error) {
	return func(from, to [32]byte) ([]verifytypes.SentPayload, error) {
		signed, err := l.Sends(from, to)
		if err != nil {
			return nil, err
		}
		out := make([]verifytypes.SentPayload, len(signed))
		for i, s := range signed {
			out[i] = verifytypes.SentPayload{Event: s.Event, Seq: s.Seq, Digest: s.Digest[:]}
		}
		return out, nil
	}
}

// newCommitter commits the stage's weights root every CommitEvery steps; microbatches is the
// updates of one step.
func newCommitter(ctx context.Context, c *ChainConfig, oc *onChain, model uint64, microbatches int, log *slog.Logger) (*committer, error) {
	every := c.CommitEvery
	if every == 0 {
		every = oc.params.AttestationPeriod
	}
	last, _, committed, err := oc.client.LastCheckpoint(ctx, model, uint32(oc.stage))
	if err != nil {
		return nil, err
	}
	cm := &committer{oc: oc, model: model, microbatches: uint64(microbatches), every: every, log: log, last: last, committed: committed}
	if oc.parent != 0 && len(oc.forkRoot) == 32 {
		cm.seed = (*[32]byte)(oc.forkRoot)
	}
	return cm, nil
}

// loadOrCreateSecret reads the commitment secret, creating a random one (0600) on first use: it
// must survive restarts, or stored layers could not be recommitted to their roots.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s, err := commit.NewSeed()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, s[:], 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		return s[:], nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(b))
	}
	return b, nil
}

// inputReceipt is the receipt of a tapped microbatch's input as a step commitment carries it
// (nil on stage 0, whose input is the dataset).
func inputReceipt(in *swarm.Input) *verifytypes.BoundaryReceipt {
	if in == nil {
		return nil
	}
	return verifytypes.BoundaryReceiptOf(in.Receipt, in.Sig)
}

// tables are the model's compression tables, on a compressed model (every stage's designated
// input derives from subspace coordinates: received, or on stage 0 its own embedding), checked
// against the model's subspace_root: a trainer whose seed gives other tables would commit inputs
// no proof can tie to what it took in, and is refused before it trains. nil where the model has
// no input tile.
func (oc *onChain) tables() (*tile.Tables, error) {
	s := oc.spec
	if !s.Compressed() {
		return nil, nil
	}
	t, err := SubspaceTables(s)
	if err != nil {
		return nil, err
	}
	if root := t.Root(); !bytes.Equal(root[:], oc.subspaceRoot) {
		return nil, fmt.Errorf("the model's subspace_root is %x, but its seed %d gives compression tables with root %x: the model was created with another root (trainer subspace-root computes it)", oc.subspaceRoot, s.Seed, root)
	}
	return t, nil
}

// SubspaceTables are the compression tables of a compressed spec (U and T_fixed from its seed,
// as every stage's engine builds them), committed for the input tile.
func SubspaceTables(s spec.Spec) (*tile.Tables, error) {
	if !s.Compressed() {
		return nil, fmt.Errorf("spec with d_model %d is not compressed: it has no compression tables", s.DModel)
	}
	u := subspace.Basis(s.Seed, s.DModel, s.CompressionRank)
	tf := subspace.TokenTable(s.Seed, s.Vocab, s.DModel)
	t, err := tile.NewTables(u, tf, s.DModel, s.CompressionRank, s.Vocab)
	if err != nil {
		return nil, fmt.Errorf("compression tables: %w", err)
	}
	return t, nil
}

// otherPayload is the digest of a payload nobody sent: what --cheat-inputs claims a step took in.
func otherPayload(digest []byte) []byte {
	d := sha256.Sum256(append([]byte("not the payload that was sent: "), digest...))
	return d[:]
}

// newReferee is the worker's referee service: it audits the other replicas of its stage by
// replaying their logs on a fresh copy of the stage (on the Go backend). What it accepts is
// bounded by the stage's own size: a snapshot at most four times its parameters, a log at most
// a few snapshots and two attestations' updates of payloads up to 64 times its own.
func newReferee(n *Node, cfg Config, reg prometheus.Registerer, newStage func() (*engine.Stage, error), opt engine.Optimizer) (*referee.Service, error) {
	b, err := replayBoundsOf(n, cfg)
	if err != nil {
		return nil, err
	}
	codec := b.codec
	var batch func(mb uint64, rows int) ([]int32, []int32, error)
	if n.corpus != nil { // stage 0 or the last: the tokens or targets come from the dataset
		batch = func(mb uint64, rows int) ([]int32, []int32, error) {
			s, err := n.corpus.Sampler(data.Train, cfg.Spec.SeqLen, rows, cfg.Seed)
			if err != nil {
				return nil, nil, err
			}
			b := s.At(mb)
			return b.Inputs, b.Targets, nil
		}
	}
	var onFinding func(context.Context, verifytypes.Attestation, []replaylog.Segment)
	if cfg.Chain.Dispute {
		nadam, err := modelNAdam(opt)
		if err != nil {
			return nil, err
		}
		n.prosecutor = &dispute.Prosecutor{
			Chain: n.oc.client, Referee: strings.ToLower(cfg.Chain.Dial.Operator), NewStage: newStage,
			NAdam: nadam, Codec: codec, Limit: b.stateLimit(), Provenance: n.oc.client, Log: n.log.With("part", "dispute"),
		}
		if ds := n.sampled(); ds != nil { // stage 0 or the last: their tokens or targets are the dataset's
			n.prosecutor.Dataset = ds
		}
		onFinding = func(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment) {
			// The prosecutor logs why it opens none where it does not.
			if _, err := n.prosecutor.Prosecute(ctx, a, segs); err != nil {
				n.log.Warn("dispute not opened", "attestation", a.Id, "err", err)
			}
		}
	}
	var height func(context.Context) (int64, error)
	var ownRange func(context.Context, verifytypes.Attestation, []replaylog.Segment) error
	if n.prosecutor != nil {
		// A dispute judges an attestation's own range: where its successor is late, that is
		// judged before the attestation finalizes (Config.OwnRange).
		height = n.oc.client.Height
		ownRange = func(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment) error {
			_, err := n.prosecutor.Prosecute(ctx, a, segs)
			return err
		}
	}
	var requestLog func(context.Context, verifytypes.Attestation) error
	if cfg.Chain.Dispute {
		requestLog = func(ctx context.Context, a verifytypes.Attestation) error {
			_, err := n.oc.client.RequestLog(ctx, a.Id)
			return err
		}
	}
	s, err := referee.New(referee.Config{
		OnFinding: onFinding, OwnRange: ownRange, Height: height, RequestLog: requestLog, TryEvery: cfg.Chain.AuditRetry,
		Host: n.host, Chain: n.oc.client, Model: cfg.Model, Stage: cfg.Stage, Batch: batch,
		Self: strings.ToLower(cfg.Chain.Dial.Operator), Microbatches: cfg.Microbatches,
		NewStage: newStage, Codec: codec,
		MaxRows: 64 * cfg.Rows, Rate: cfg.Chain.AuditRate, Rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		StateLimit: b.stateLimit(), Limit: b.logLimit(n, cfg),
		Log: n.log, Metrics: reg,
	})
	if err != nil {
		return nil, err
	}
	if n.prosecutor != nil {
		// Disputes the operator opens from the CLI are played from the worker's log as the
		// referee fetches it for an audit.
		n.prosecutor.Fetch = s.Log
	}
	return s, nil
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// startReferee runs the referee beside training, polling the chain as often as the attester.
func (n *Node) startReferee(ctx context.Context) (stop func()) {
	if n.referee == nil {
		return func() {}
	}
	every := n.cfg.Chain.Poll
	if every <= 0 {
		every = 2 * time.Second
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.referee.Run(rctx, every)
	}()
	return func() { cancel(); <-done }
}

// newDefender builds the worker's defense in replay disputes: its replay log, replayed on
// replayStage (the Go backend) with the stage's optimizer opt.
func newDefender(n *Node, cfg Config, replayStage func() (*engine.Stage, error), opt engine.Optimizer) (*dispute.Defender, error) {
	nadam, err := modelNAdam(opt)
	if err != nil {
		return nil, err
	}
	b, err := replayBoundsOf(n, cfg)
	if err != nil {
		return nil, err
	}
	return &dispute.Defender{
		Chain: n.oc.client, Worker: strings.ToLower(cfg.Chain.Dial.Operator), Segments: func(root [32]byte) ([]replaylog.Segment, error) {
			b, err := n.replay.From(root, replayLimit)
			if err != nil {
				return nil, err
			}
			segs, _, err := replaylog.DecodeBundle(b)
			return segs, err
		},
		NewStage: replayStage, NAdam: nadam, Codec: b.codec, Limit: b.stateLimit(), Log: n.log.With("part", "dispute"),
	}, nil
}

// replayBounds are what a replay of a log of this stage accepts, bounded by the stage's own
// size: payloads of up to 64 times its microbatch's tokens, snapshots of a few times its state.
type replayBounds struct {
	tokens uint64
	state  countingWriter
	codec  boundary.Codec
}

func replayBoundsOf(n *Node, cfg Config) (replayBounds, error) {
	var b replayBounds
	if err := checkpoint.Write(&b.state, n.stage, 0, checkpoint.Full); err != nil {
		return b, err
	}
	width := cfg.Spec.BoundaryWidth()
	b.tokens = uint64(64 * cfg.Rows * cfg.Spec.SeqLen)
	limits := payload.Limits{MaxTokens: b.tokens, MaxValues: b.tokens * uint64(width), MaxWidth: uint32(width), MaxVocab: uint32(cfg.Spec.Vocab)}
	b.codec = boundary.Codec{Spec: cfg.Spec, Wire: cfg.Payload, Engine: n.stage.DType(), Limits: limits}
	return b, nil
}

// logLimit bounds a fetched log: a few snapshots and two attestations' updates (and room) of
// payloads up to 64 times the stage's own.
func (b replayBounds) logLimit(n *Node, cfg Config) int64 {
	updates := int64(4*max(n.oc.params.AttestationPeriod, 1)) * int64(cfg.Microbatches)
	perUpdate := int64(2*b.tokens*uint64(4*cfg.Spec.BoundaryWidth()+4)) + int64(b.tokens)*8
	return 4*b.stateLimit() + updates*perUpdate
}

// startCustody serves the log-custody protocol (taking custody of this stage's other logs asked
// for on chain; with --dispute the Prosecutor then judges each over its range) and makes the
// answerer of log requests over this worker's attestations (run beside the defense).
func (n *Node) startCustody(cfg Config, reg prometheus.Registerer) error {
	b, err := replayBoundsOf(n, cfg)
	if err != nil {
		return err
	}
	self := strings.ToLower(cfg.Chain.Dial.Operator)
	log := n.log.With("part", "custody")
	srv, err := custody.Serve(custody.ServerConfig{
		Host: n.host, Chain: n.oc.client, ChainID: cfg.Chain.Dial.ChainID, Model: cfg.Model, Stage: uint32(cfg.Stage),
		Self: self, Limit: b.logLimit(n, cfg), Log: log,
		Took: func(_ context.Context, a verifytypes.Attestation, segs []replaylog.Segment) {
			if n.prosecutor == nil {
				return
			}
			// Judged on the node's life, not the custody stream's: a replay takes a while.
			go func() {
				if _, err := n.prosecutor.Prosecute(n.life, a, segs); err != nil {
					log.Warn("custody: the log taken was not judged", "attestation", a.Id, "err", err)
				}
			}()
		},
	})
	if err != nil {
		return err
	}
	n.closers = append(n.closers, srv.Close)
	n.answerer = &custody.Answerer{Host: n.host, Chain: n.oc.client, Worker: self, Log: log}
	return n.answerer.Register(reg)
}

// stateLimit bounds a snapshot or an average: the stage before its first update holds no
// optimizer state yet, and a trained one's moments and accumulators are a few times the
// parameters.
func (b replayBounds) stateLimit() int64 { return 4*b.state.n + 1<<20 }

// modelNAdam is the configuration of the stage's optimizer, the model's NAdam.
func modelNAdam(opt engine.Optimizer) (optim.NAdamConfig, error) {
	nadam, ok := opt.(*optim.NAdam)
	if !ok {
		return optim.NAdamConfig{}, fmt.Errorf("node: the stage's optimizer %T is not the model's NAdam", opt)
	}
	return nadam.Config(), nil
}

// startDefender answers replay disputes over this worker's attestations, polling the chain as
// often as the attester, for the node's whole life: after training too, while its attestations
// can still be disputed. The prosecutor's disputes (--dispute) are played on a loop of their
// own, so that nothing a referee waits on (a worker's slow log, say) delays the defense.
func (n *Node) startDefender() (stop func()) {
	if n.defender == nil {
		return func() {}
	}
	every := n.cfg.Chain.Poll
	if every <= 0 {
		every = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(n.life)
	var wg sync.WaitGroup
	loop := func(what string, round func(context.Context) (int, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				if _, err := round(ctx); err != nil && ctx.Err() == nil {
					n.log.Warn(what, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	loop("dispute defense", n.defender.Round)
	if n.answerer != nil {
		loop("log requests", n.answerer.Round)
	}
	if n.prosecutor != nil {
		loop("dispute prosecution", n.prosecutor.Round)
	}
	if n.watcher != nil {
		loop("equivocation reports", n.watcher.Round)
	}
	return func() { cancel(); wg.Wait() }
}
