package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/discovery"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/payload"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/spec"
	"github.com/protolearn/protolearn/trainer/statesync"
	"github.com/protolearn/protolearn/trainer/swarm"
)

// runFlags are `trainer run`'s flags, as given.
type runFlags struct {
	modelFlags
	model        uint64
	stage        int
	roster       string
	key          string
	listen       []string
	announce     []string
	dataDir      string
	maxBytes     string
	seed         uint64
	rows         int
	microbatches int
	steps        uint64
	depth        int
	lr           float64
	warmup       int
	decaySteps   int
	weightDecay  float64
	wireFlags
	ackTimeout     time.Duration
	timeout        time.Duration
	drain          time.Duration
	out            string
	metricsAddr    string
	logEvery       time.Duration
	evalEvery      uint64
	evalBatches    int
	join           bool
	dht            bool
	bootstrap      []string
	heartbeatEvery time.Duration
	averageEvery   uint64
	quiet          bool
	backend        string
	chainFlags
	// chain is set by runWorker in --chain mode before validation: the spec and stage come from it.
	chain *chainSetup
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one stage of a model as a swarm worker over libp2p",
		Long: `run trains one stage of a model in this process and exchanges activations and
gradients with the workers of the neighbouring stages over libp2p
(/protolearn/pipeline/1.0.0). Who may send what comes from the roster (--roster,
a JSON file: model, stages, members with peer id, stage and addresses; the chain's
stage roster later). Several workers may hold the same stage (replicas): each
microbatch goes to the least-loaded live replica of the next stage, and a failed
one's microbatches are re-sent elsewhere.

Stage 0 draws --steps × --microbatches microbatches and exits when all have come
back; the other stages run until interrupted (SIGINT/SIGTERM), then drain: they
refuse new work, hand back what they had queued, and return the gradients still
outstanding before they exit.

Every worker of a swarm must be given the same --spec, --model, --seed, --rows,
--data and learning-rate flags.`,
		Example: `  trainer peer-id --key /tmp/w0.key          # print the peer id for the roster
  trainer run --stage 0 --key /tmp/w0.key --roster roster.json --listen /ip4/127.0.0.1/tcp/4100 --steps 100
  trainer run --stage 1 --key /tmp/w1.key --roster roster.json --listen /ip4/127.0.0.1/tcp/4101 --link-bandwidth 80Mbit --link-latency 50ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), cmd, f)
		},
	}
	fl := cmd.Flags()
	f.modelFlags.add(fl)
	fl.Uint64Var(&f.model, "model", 1, "the model's id (frames and rosters of other models are refused)")
	fl.IntVar(&f.stage, "stage", -1, "the stage this worker trains (required)")
	fl.StringVar(&f.roster, "roster", "", "roster JSON file: who holds which stage (required; re-read every 10 s)")
	fl.StringVar(&f.key, "key", "", "identity key file, created (0600) if missing (required: the roster names its peer id)")
	fl.StringSliceVar(&f.listen, "listen", []string{"/ip4/127.0.0.1/tcp/0"}, "multiaddrs to listen on (TCP and/or QUIC)")
	fl.StringSliceVar(&f.announce, "announce", nil, "multiaddrs to advertise instead of the listen addresses (NAT, containers)")
	fl.StringVar(&f.dataDir, "data", "", "directory of text files (default: the Go source tree); stage 0 and the last stage read it")
	fl.StringVar(&f.maxBytes, "max-bytes", "64MiB", "cap on the corpus bytes loaded (e.g. 64MiB; 0 = no cap)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the data sampling (a microbatch's tokens come from its id and this seed)")
	fl.IntVar(&f.rows, "rows", 4, "sequences per microbatch")
	fl.IntVar(&f.microbatches, "microbatches", 4, "microbatches per step")
	fl.Uint64Var(&f.steps, "steps", 100, "stage 0: steps to train before finishing")
	fl.IntVar(&f.depth, "depth", 0, "stage 0: microbatches in flight (0 = 2 × stages)")
	fl.Float64Var(&f.lr, "lr", 3e-3, "NAdam learning rate (peak, after warm-up)")
	fl.IntVar(&f.warmup, "warmup", 0, "learning-rate warm-up, in steps")
	fl.IntVar(&f.decaySteps, "decay-steps", 0, "the step at which the cosine decay reaches its floor (0 = constant after warm-up)")
	fl.Float64Var(&f.weightDecay, "weight-decay", 0, "decoupled weight decay")
	f.wireFlags.add(fl, "this worker's outgoing streams")
	fl.DurationVar(&f.ackTimeout, "ack-timeout", 10*time.Second, "connect, open and acknowledgement timeout")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "a microbatch held longer by the next stage is re-sent elsewhere")
	fl.DurationVar(&f.drain, "drain", 30*time.Second, "on shutdown, how long to wait for outstanding gradients")
	fl.StringVar(&f.out, "out", "", "output directory: losses.csv and eval.csv (last stage) and stage-N.ckpt at exit (empty: write nothing)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address, e.g. 127.0.0.1:9464 (default off)")
	fl.Uint64Var(&f.evalEvery, "eval-every", 0, "stage 0: send a validation round every N steps, forward only; the last stage writes eval.csv (0 = never; give every worker the same value)")
	fl.IntVar(&f.evalBatches, "eval-batches", 4, "microbatches (of --rows sequences) per validation round")
	fl.DurationVar(&f.logEvery, "log-every", 5*time.Second, "interval of the progress log line")
	fl.BoolVar(&f.dht, "dht", true, "run the Kademlia DHT (prefix /protolearn): advertise this stage's rendezvous, find roster members listed without addresses")
	fl.StringSliceVar(&f.bootstrap, "bootstrap", nil, "DHT bootstrap peers as /…/p2p/<id> multiaddrs (default: the roster's members with addresses)")
	fl.DurationVar(&f.heartbeatEvery, "heartbeat-every", 2*time.Second, "interval of the signed gossipsub heartbeats (stage, step, queue, throughput) that routing reads")
	fl.BoolVar(&f.join, "join", false, "before taking work, download the stage's weights and optimizer state from a live replica of the same stage (a worker joining mid-run)")
	fl.Uint64Var(&f.averageEvery, "average-every", 0, "every N updates, average parameters with a replica of the same stage (round robin; 0 = never)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress line on a terminal")
	fl.StringVar(&f.backend, "backend", "go", "tensor backend: go or xla[:PLUGIN] (see trainer local --help)")
	f.chainFlags.add(fl)
	return cmd
}

func newPeerIDCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "peer-id",
		Short: "Print the libp2p peer id of an identity key file (created if missing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return errors.New("--key is required")
			}
			k, err := p2p.LoadOrCreateKey(key)
			if err != nil {
				return err
			}
			id, err := p2p.PeerID(k)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "identity key file (required)")
	return cmd
}

// workerRun is a validated `trainer run` configuration.
type workerRun struct {
	spec     spec.Spec
	link     link.Config
	payload  payload.DType
	nadam    optim.NAdamConfig
	maxBytes int64
	dataDir  string
}

func (f *runFlags) validate(cmd *cobra.Command) (*workerRun, error) {
	r := &workerRun{}
	var err error
	if f.chain != nil {
		r.spec, f.stage = f.chain.spec, f.chain.stage
		if err := r.spec.Validate(); err != nil {
			return nil, fmt.Errorf("model %d on chain: %w", f.model, err)
		}
	} else if r.spec, err = f.modelFlags.resolve(cmd); err != nil {
		return nil, err
	}
	n := len(r.spec.Stages)
	if n < 2 {
		return nil, fmt.Errorf("--spec %s has one stage; a swarm needs at least two (--stages)", f.spec)
	}
	if f.stage < 0 || f.stage >= n {
		return nil, fmt.Errorf("--stage %d: required, one of 0…%d", f.stage, n-1)
	}
	if f.roster == "" && f.chain == nil {
		return nil, errors.New("--roster is required (a JSON file naming the peer id and stage of every worker), or --chain")
	}
	if f.key == "" {
		return nil, errors.New("--key is required (trainer peer-id --key FILE prints the peer id to put in the roster)")
	}
	if f.rows <= 0 {
		return nil, fmt.Errorf("--rows %d: must be positive", f.rows)
	}
	if f.microbatches <= 0 {
		return nil, fmt.Errorf("--microbatches %d: must be positive", f.microbatches)
	}
	if f.stage == 0 && f.steps == 0 {
		return nil, errors.New("--steps 0: stage 0 needs a positive step count")
	}
	if f.evalEvery > 0 && (f.evalBatches <= 0 || f.evalBatches >= 1<<20) {
		return nil, fmt.Errorf("--eval-batches %d: must be in 1…%d when --eval-every is set", f.evalBatches, 1<<20-1)
	}
	if f.depth < 0 {
		return nil, fmt.Errorf("--depth %d: must not be negative", f.depth)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--ack-timeout", f.ackTimeout}, {"--timeout", f.timeout}, {"--drain", f.drain}, {"--log-every", f.logEvery}, {"--heartbeat-every", f.heartbeatEvery}} {
		if d.v <= 0 {
			return nil, fmt.Errorf("%s %s: must be positive", d.name, d.v)
		}
	}
	if r.link, err = f.wireFlags.link(); err != nil {
		return nil, err
	}
	r.link.Seed = uint64(f.stage) + 1
	if r.payload, err = f.wireFlags.payload(); err != nil {
		return nil, err
	}
	if f.warmup < 0 || f.decaySteps < 0 || f.weightDecay < 0 || !(f.lr > 0) || math.IsInf(f.lr, 0) {
		return nil, errors.New("--lr must be positive; --warmup, --decay-steps and --weight-decay must not be negative")
	}
	// One update per microbatch: the optimizer's schedule counts updates.
	c := optim.DefaultNAdam()
	c.LearningRate, c.WeightDecay = f.lr, f.weightDecay
	c.WarmupSteps, c.DecaySteps = f.warmup*f.microbatches, f.decaySteps*f.microbatches
	c.Beta1 = 0 // the base momentum: each stage gets pipeline.StageMomentum of it
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("optimizer: %w", err)
	}
	r.nadam = c
	if r.maxBytes, err = parseBytes(f.maxBytes); err != nil {
		return nil, fmt.Errorf("--max-bytes: %w", err)
	}
	r.dataDir = f.dataDir
	if r.dataDir == "" {
		if r.dataDir, err = data.DefaultDir(); err != nil {
			return nil, fmt.Errorf("no default corpus (%w); pass --data DIR", err)
		}
	}
	return r, nil
}

// runWorker runs one stage until it finishes (stage 0) or is interrupted.
func runWorker(ctx context.Context, cmd *cobra.Command, f *runFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	stderr := cmd.ErrOrStderr()
	base := slog.New(slog.NewTextHandler(stderr, nil)) // the worker adds its stage
	if f.chainFlags.enabled() {
		cs, err := f.chainFlags.connect(ctx, f.model, f.stage, base)
		if err != nil {
			return err
		}
		defer cs.client.Close()
		f.chain = cs
	}
	r, err := f.validate(cmd)
	if err != nil {
		return err
	}
	log := base.With("stage", f.stage)
	first, last := f.stage == 0, f.stage == len(r.spec.Stages)-1

	reg := prometheus.NewRegistry()
	key, err := p2p.LoadOrCreateKey(f.key)
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	h, err := p2p.New(p2p.Config{Key: key, Listen: f.listen, Announce: f.announce, Metrics: reg})
	if err != nil {
		return err
	}
	defer h.Close()
	log.Info("host", "peer", h.ID(), "addrs", fmt.Sprint(h.Addrs()))

	var sampler *data.Sampler
	var evalSet []data.Batch
	if first || last {
		corpus, err := data.Load(r.dataDir, data.Options{MaxBytes: r.maxBytes})
		if err != nil {
			return fmt.Errorf("--data %s: %w", r.dataDir, err)
		}
		if sampler, err = corpus.Sampler(data.Train, r.spec.SeqLen, f.rows, f.seed); err != nil {
			return fmt.Errorf("--data %s: %w", r.dataDir, err)
		}
		if f.evalEvery > 0 {
			if evalSet, err = corpus.EvalBatches(r.spec.SeqLen, f.rows, f.evalBatches); err != nil {
				return fmt.Errorf("--data %s: validation batches: %w", r.dataDir, err)
			}
		}
		st := corpus.Stats()
		log.Info("corpus", "dir", st.Dir, "train_bytes", st.TrainBytes, "train_sha256", fmt.Sprintf("%x", st.TrainDigest[:8]))
	}

	be, err := backend.New(f.backend)
	if err != nil {
		return fmt.Errorf("--backend: %w", err)
	}
	defer be.Finalize()
	depth := f.depth
	if depth == 0 {
		depth = 2 * len(r.spec.Stages)
	}
	opt, err := pipeline.StageNAdam(r.nadam, len(r.spec.Stages), depth)(f.stage)
	if err != nil {
		return err
	}
	st, err := engine.New(be, r.spec, f.stage, engine.Options{Optimizer: opt})
	if err != nil {
		return err
	}

	t0 := time.Now()
	var src roster.Source = roster.File{Path: f.roster}
	if f.chain != nil {
		src = chain.Roster{Client: f.chain.client, Model: f.model, Stages: len(r.spec.Stages)}
	}
	cfg := swarm.Config{
		Host: h, Model: f.model, Stage: st, Roster: src, Data: sampler, Rows: f.rows,
		Microbatches: f.microbatches, Steps: f.steps, Depth: depth, Wire: r.payload, Link: r.link,
		AckTimeout: f.ackTimeout, Timeout: f.timeout, Drain: f.drain, Log: base, Metrics: reg,
		EvalEvery: f.evalEvery, Eval: evalSet,
	}
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if last {
			losses, err := openCSV(filepath.Join(f.out, "losses.csv"), t0, "microbatch", "step", "loss")
			if err != nil {
				return err
			}
			defer losses.close()
			cfg.OnLoss = func(l swarm.Loss) {
				losses.add(strconv.FormatUint(l.Microbatch, 10), strconv.FormatUint(l.Step, 10), strconv.FormatFloat(l.Loss, 'f', 6, 64))
			}
			evals, err := openCSV(filepath.Join(f.out, "eval.csv"), t0, "round", "step", "val_loss")
			if err != nil {
				return err
			}
			defer evals.close()
			cfg.OnEval = func(e swarm.Eval) {
				evals.add(strconv.FormatUint(e.Round, 10), strconv.FormatUint(e.Step, 10), strconv.FormatFloat(e.Loss, 'f', 6, 64))
				log.Info("validation", "step", e.Step, "val_loss", strconv.FormatFloat(e.Loss, 'f', 4, 64))
			}
		}
	}
	var att *attest.Attester
	var commits *checkpointCommitter
	if f.chain != nil {
		if att, err = f.chainFlags.attester(ctx, f.chain, f.model, f.rows*r.spec.SeqLen, f.out, reg, log); err != nil {
			return err
		}
		cfg.OnTap = att.Tap
		if commits, err = f.chainFlags.committer(ctx, f.chain, f.model, f.microbatches, log); err != nil {
			return err
		}
	}
	// Heartbeats feed routing (cfg.Load); the validator checks them against
	// the worker's roster, which exists once the worker does.
	var w *swarm.Worker
	ps, err := discovery.NewPubSub(ctx, h)
	if err != nil {
		return err
	}
	hb, err := discovery.NewHeartbeats(ctx, ps, f.model, func() *roster.Roster {
		if w == nil {
			return nil
		}
		return w.Roster()
	}, nil, 10*f.heartbeatEvery, base)
	if err != nil {
		return err
	}
	defer hb.Close()
	cfg.Load = hb.Load
	cfg.SeenElsewhere = statesync.SeenByReplicas(h, f.model, f.stage, func() []peer.ID { return replicas(h, w, f.stage) }, f.ackTimeout/2)
	var dht *discovery.DHT
	if f.dht {
		boot, err := bootstrapPeers(ctx, f.bootstrap, src, h)
		if err != nil {
			return err
		}
		if dht, err = discovery.NewDHT(ctx, h, boot); err != nil {
			log.Warn("DHT not started; roster addresses only", "err", err)
		} else {
			defer dht.Close()
			cfg.Resolve = dht.Resolve
		}
	}
	w, err = swarm.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer w.Close()
	if dht != nil {
		dht.Advertise(ctx, f.model, f.stage)
	}
	stopHeartbeats := startHeartbeats(ctx, hb, w, f.heartbeatEvery, log)
	defer stopHeartbeats()
	srv := statesync.Serve(h, f.model, f.stage, w.Access, func(p peer.ID) error { return w.Roster().Check(p, f.stage) }, log)
	srv.SetSeen(w.Seen)
	defer srv.Close()
	if f.join {
		if err := joinReplica(ctx, h, w, f.model, st, log); err != nil {
			return err
		}
	}
	if f.averageEvery > 0 {
		stopAveraging := startAveraging(ctx, h, w, f.model, f.stage, f.averageEvery, log)
		defer stopAveraging()
	}
	if f.metricsAddr != "" {
		srv, err := serveMetrics(f.metricsAddr, reg)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer srv.shutdown()
		log.Info("metrics", "url", "http://"+srv.addr+"/metrics")
	}
	log.Info("worker", "model", f.model, "spec", f.spec, "stages", fmt.Sprint(r.spec.Stages), "params", st.NumParams(),
		"compression_rank", r.spec.CompressionRank, "rows", f.rows, "depth", depth, "link", fmt.Sprintf("%+v", r.link))

	stopProgress := startProgress(ctx, w, log, f.logEvery, f.rows*r.spec.SeqLen)
	stopAttester := func() {}
	if att != nil {
		// The attester outlives training: when training ends, finished (stage 0) or interrupted,
		// it attests what it committed and stays to answer challenges until every attestation is
		// final, since an unanswered challenge is slashed like a cheat. A second interrupt leaves
		// at once (a restarted trainer still answers from the stored layers, if in time).
		actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := att.Run(actx); err != nil {
				log.Error("attester", "err", err)
			}
		}()
		stopAttester = func() {
			again := make(chan os.Signal, 1)
			signal.Notify(again, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(again)
			if ctx.Err() == nil {
				log.Info("training done; waiting for the attestations' verdicts (interrupt to leave now)")
			} else {
				log.Info("interrupted; answering challenges until the attestations are final (interrupt again to leave now: an unanswered challenge is slashed)")
			}
			att.Finish()
			select {
			case <-done:
			case <-again:
				log.Warn("leaving before every attestation is final")
				cancel()
				<-done
			}
			cancel()
			s := att.Stats()
			log.Info("attester stopped", "steps", s.Steps, "dropped", s.Dropped, "attestations", s.Attestations, "finalized", s.Finalized,
				"voided", s.Voided, "answered", s.Answered, "unprovable", s.Unprovable, "commit_time", s.CommitTime.Round(time.Millisecond))
		}
	}
	stopCommits := func(bool) {}
	if commits != nil {
		stopCommits = commits.start(ctx, w)
	}
	err = w.Run(ctx)
	stopProgress()
	stopCommits(err == nil)
	stopAttester()
	if err != nil {
		return err
	}
	s := w.Status()
	log.Info("stopped", "updates", s.Updates, "completed", s.Completed, "elapsed", time.Since(t0).Round(time.Millisecond),
		"frame_bytes", s.FrameBytes, "payload_bytes", s.PayloadBytes, "control_bytes", s.ControlBytes)
	if f.out != "" {
		path := filepath.Join(f.out, fmt.Sprintf("stage-%d.ckpt", f.stage))
		if err := w.Access(context.Background(), func(st *engine.Stage, updates uint64) error {
			return checkpoint.Save(path, st, updates)
		}); err != nil {
			return err
		}
		log.Info("checkpoint", "path", path)
	}
	return nil
}

// stateLimit bounds a stage state download.
const stateLimit = 8 << 30

// replicas are the other workers of the stage, in roster order.
func replicas(h host.Host, w *swarm.Worker, stage int) []peer.ID {
	return swarm.Replicas(w.Roster(), stage, h.ID())
}

// joinReplica downloads the stage's state from the first replica that
// answers.
func joinReplica(ctx context.Context, h host.Host, w *swarm.Worker, model uint64, st *engine.Stage, log *slog.Logger) error {
	peers := replicas(h, w, st.Info().Index)
	if len(peers) == 0 {
		return fmt.Errorf("--join: the roster lists no other worker of stage %d to download the state from", st.Info().Index)
	}
	var errs []error
	for _, p := range peers {
		jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		step, err := statesync.Join(jctx, h, p, model, st, stateLimit)
		cancel()
		if err == nil {
			log.Info("joined: stage state downloaded", "from", p, "replica_updates", step)
			return nil
		}
		log.Warn("join: replica did not give its state", "peer", p, "err", err)
		errs = append(errs, err)
	}
	return fmt.Errorf("--join: no replica of stage %d gave its state: %w", st.Info().Index, errors.Join(errs...))
}

// startAveraging averages parameters with the stage's replicas, one at a
// time in turn, every `every` updates, until stopped.
func startAveraging(ctx context.Context, h host.Host, w *swarm.Worker, model uint64, stage int, every uint64, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		next, turn := every, 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if w.Status().Updates < next {
				continue
			}
			next += every
			peers := replicas(h, w, stage)
			if len(peers) == 0 {
				continue
			}
			p := peers[turn%len(peers)]
			turn++
			actx, acancel := context.WithTimeout(ctx, time.Minute)
			err := statesync.AverageWith(actx, h, p, model, stage, w.Access, stateLimit, 0.5)
			acancel()
			if err != nil {
				log.Warn("averaging with a replica failed", "peer", p, "err", err)
				continue
			}
			log.Info("averaged parameters with a replica", "peer", p, "updates", w.Status().Updates)
		}
	}()
	return func() { cancel(); <-done }
}

// bootstrapPeers are the --bootstrap addresses, or else the roster's
// members with addresses.
func bootstrapPeers(ctx context.Context, flags []string, src roster.Source, h host.Host) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	if len(flags) > 0 {
		for _, a := range flags {
			ai, err := peer.AddrInfoFromString(a)
			if err != nil {
				return nil, fmt.Errorf("--bootstrap %q: want a multiaddr ending in /p2p/<peer id>: %w", a, err)
			}
			out = append(out, *ai)
		}
		return out, nil
	}
	r, err := src.Roster(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	for _, m := range r.Members() {
		if m.Peer != h.ID() && len(m.Addrs) > 0 {
			out = append(out, m.AddrInfo())
		}
	}
	return out, nil
}

// startHeartbeats publishes the worker's status every interval until
// stopped, and once more at the end (Done for a finished stage 0).
func startHeartbeats(ctx context.Context, hb *discovery.Heartbeats, w *swarm.Worker, every time.Duration, log *slog.Logger) (stop func()) {
	publish := func(ctx context.Context) {
		s := w.Status()
		err := hb.Publish(ctx, discovery.Heartbeat{
			Stage: s.Stage, Step: s.Step, Updates: s.Updates, Queue: s.Queue, Throughput: s.Throughput, Loss: s.Loss, Done: s.Done,
		})
		if err != nil && ctx.Err() == nil {
			log.Debug("heartbeat not published", "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				publish(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		publish(pctx)
		pcancel()
	}
}

// startProgress logs the worker's status every interval until stopped.
func startProgress(ctx context.Context, w *swarm.Worker, log *slog.Logger, every time.Duration, tokensPerMB int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				s := w.Status()
				log.Info("progress", "step", s.Step, "updates", s.Updates, "completed", s.Completed, "pending", s.Pending,
					"queue", s.Queue, "mb_per_s", strconv.FormatFloat(s.Throughput, 'f', 2, 64),
					"tokens_per_s", int(s.Throughput*float64(tokensPerMB)), "loss", strconv.FormatFloat(s.Loss, 'f', 4, 64))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// csvLog is one of the last stage's CSV files (losses.csv: a row per
// microbatch; eval.csv: a row per evaluation round), each row ending with
// the seconds since the worker started and the Unix time.
type csvLog struct {
	mu sync.Mutex
	f  *os.File
	w  *csv.Writer
	t0 time.Time
}

func openCSV(path string, t0 time.Time, header ...string) (*csvLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	l := &csvLog{f: f, w: csv.NewWriter(f), t0: t0}
	_ = l.w.Write(append(header, "elapsed_s", "unix_s"))
	return l, nil
}

func (l *csvLog) add(fields ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Write(append(fields,
		strconv.FormatFloat(time.Since(l.t0).Seconds(), 'f', 3, 64),
		strconv.FormatFloat(float64(time.Now().UnixMilli())/1e3, 'f', 3, 64)))
	l.w.Flush()
}

func (l *csvLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	_ = l.f.Close()
}
