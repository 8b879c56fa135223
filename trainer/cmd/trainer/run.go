package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/node"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/roster"
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
	serve          bool
	serveRefresh   time.Duration
	serveSessions  int
	chainFlags
	natFlags
}

// newRunCmd is `trainer run`; closing leave is the second interrupt (node.Config.Leave).
func newRunCmd(leave <-chan struct{}) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one stage of a model as a swarm worker over libp2p",
		Long: `run trains one stage of a model in this process and exchanges activations and
gradients with the workers of the neighbouring stages over libp2p
(/protolearn/pipeline/3.0.0). Who may send what comes from the roster (--roster,
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
			return runWorker(cmd.Context(), cmd, f, leave)
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
	f.natFlags.add(fl, true)
	fl.StringVar(&f.dataDir, "data", "", "directory of text files (default: the Go source tree); stage 0 and the last stage read it")
	fl.StringVar(&f.maxBytes, "max-bytes", "64MiB", "cap on the corpus bytes loaded (e.g. 64MiB; 0 = no cap)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the data sampling (a microbatch's tokens come from its id and this seed)")
	fl.IntVar(&f.rows, "rows", 4, "sequences per microbatch")
	fl.IntVar(&f.microbatches, "microbatches", 4, "microbatches per step (with --chain: the model's microbatches_per_step, which this flag, if given, must equal)")
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
	fl.BoolVar(&f.serve, "serve", false, "also serve inference (/protolearn/infer/1.0.0) from a copy of the stage's weights; a gateway (trainer gateway) routes completions through one worker per stage")
	fl.DurationVar(&f.serveRefresh, "serve-refresh", 5*time.Minute, "with --serve: how often the serving copy takes the training weights (sessions opened after see them)")
	fl.IntVar(&f.serveSessions, "serve-sessions", 64, "with --serve: open inference sessions at most")
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

// config turns the flags into the node's configuration, naming the flag at fault.
func (f *runFlags) config(cmd *cobra.Command, leave <-chan struct{}) (node.Config, error) {
	c := node.Config{
		Model: f.model, SpecName: f.spec, Stage: f.stage, Listen: f.listen, Announce: f.announce, DataDir: f.dataDir, Seed: f.seed,
		Rows: f.rows, Microbatches: f.microbatches, Steps: f.steps, Depth: f.depth,
		AckTimeout: f.ackTimeout, Timeout: f.timeout, Drain: f.drain, Out: f.out, MetricsAddr: f.metricsAddr,
		LogEvery: f.logEvery, EvalEvery: f.evalEvery, EvalBatches: f.evalBatches, Join: f.join, DHT: f.dht,
		HeartbeatEvery: f.heartbeatEvery, AverageEvery: f.averageEvery, Backend: f.backend,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), Leave: leave,
	}
	nat, err := f.natFlags.config()
	if err != nil {
		return c, err
	}
	c.NAT = nat
	if f.serve {
		if f.serveRefresh <= 0 || f.serveSessions <= 0 {
			return c, fmt.Errorf("--serve-refresh %s and --serve-sessions %d must be positive", f.serveRefresh, f.serveSessions)
		}
		c.Serve = &node.ServeConfig{Refresh: f.serveRefresh, MaxSessions: f.serveSessions}
	}
	if f.chainFlags.enabled() {
		if c.Chain, err = f.chainFlags.config(); err != nil {
			return c, err
		}
		if !cmd.Flags().Changed("microbatches") {
			c.Microbatches = 0 // the model's
		}
		for _, name := range []string{"lr", "warmup", "decay-steps", "weight-decay", "depth"} {
			if cmd.Flags().Changed(name) {
				return c, fmt.Errorf("--%s: with --chain the model fixes the optimizer and the pipeline depth, so that a replica can replay another's updates (protolearnd query models model %d shows them); drop the flag", name, f.model)
			}
		}
	} else {
		if c.Spec, err = f.modelFlags.resolve(cmd); err != nil {
			return c, err
		}
		if n := len(c.Spec.Stages); n < 2 {
			return c, fmt.Errorf("--spec %s has one stage; a swarm needs at least two (--stages)", f.spec)
		} else if f.stage < 0 || f.stage >= n {
			return c, fmt.Errorf("--stage %d: required, one of 0…%d", f.stage, n-1)
		}
		if f.roster == "" {
			return c, errors.New("--roster is required (a JSON file naming the peer id and stage of every worker), or --chain")
		}
		c.Roster = roster.File{Path: f.roster}
	}
	if f.key == "" {
		return c, errors.New("--key is required (trainer peer-id --key FILE prints the peer id to put in the roster)")
	}
	if f.rows <= 0 {
		return c, fmt.Errorf("--rows %d: must be positive", f.rows)
	}
	if f.microbatches <= 0 {
		return c, fmt.Errorf("--microbatches %d: must be positive", f.microbatches)
	}
	if f.stage == 0 && f.steps == 0 {
		return c, errors.New("--steps 0: stage 0 needs a positive step count")
	}
	if f.evalEvery > 0 && (f.evalBatches <= 0 || f.evalBatches >= 1<<20) {
		return c, fmt.Errorf("--eval-batches %d: must be in 1…%d when --eval-every is set", f.evalBatches, 1<<20-1)
	}
	if f.depth < 0 {
		return c, fmt.Errorf("--depth %d: must not be negative", f.depth)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--ack-timeout", f.ackTimeout}, {"--timeout", f.timeout}, {"--drain", f.drain}, {"--log-every", f.logEvery}, {"--heartbeat-every", f.heartbeatEvery}} {
		if d.v <= 0 {
			return c, fmt.Errorf("%s %s: must be positive", d.name, d.v)
		}
	}
	if c.Link, err = f.wireFlags.link(); err != nil {
		return c, err
	}
	if f.stage >= 0 {
		c.Link.Seed = uint64(f.stage) + 1 // (with --chain and no --stage: the seat's, in node.New)
	}
	if c.Payload, err = f.wireFlags.payload(); err != nil {
		return c, err
	}
	if f.warmup < 0 || f.decaySteps < 0 || f.weightDecay < 0 || !(f.lr > 0) || math.IsInf(f.lr, 0) {
		return c, errors.New("--lr must be positive; --warmup, --decay-steps and --weight-decay must not be negative")
	}
	if c.Chain == nil { // on chain the model's optimizer and depth
		// In steps: the node counts them in updates once it knows the microbatches of a step.
		c.NAdam = optim.DefaultNAdam()
		c.NAdam.LearningRate, c.NAdam.WeightDecay = f.lr, f.weightDecay
		c.NAdam.WarmupSteps, c.NAdam.DecaySteps = f.warmup, f.decaySteps
		c.NAdam.Beta1 = 0 // the base momentum: each stage gets pipeline.StageMomentum of it
		if err := c.NAdam.Validate(); err != nil {
			return c, fmt.Errorf("optimizer: %w", err)
		}
	} else {
		c.Depth = 0
	}
	if c.MaxBytes, err = parseBytes(f.maxBytes); err != nil {
		return c, fmt.Errorf("--max-bytes: %w", err)
	}
	if c.DataDir == "" {
		if c.DataDir, err = data.DefaultDir(); err != nil {
			return c, fmt.Errorf("no default corpus (%w); pass --data DIR", err)
		}
	}
	for _, a := range f.bootstrap {
		ai, err := peer.AddrInfoFromString(a)
		if err != nil {
			return c, fmt.Errorf("--bootstrap %q: want a multiaddr ending in /p2p/<peer id>: %w", a, err)
		}
		c.Bootstrap = append(c.Bootstrap, *ai)
	}
	if c.Key, err = p2p.LoadOrCreateKey(f.key); err != nil {
		return c, fmt.Errorf("--key: %w", err)
	}
	return c, nil
}

// runWorker runs one stage until it finishes (stage 0) or is interrupted.
func runWorker(ctx context.Context, cmd *cobra.Command, f *runFlags, leave <-chan struct{}) error {
	cfg, err := f.config(cmd, leave)
	if err != nil {
		return err
	}
	n, err := node.New(ctx, cfg)
	if errors.Is(err, node.ErrHalted) {
		return nil // halted while away: what it kept is deleted, and the log says so
	}
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Run(ctx); !errors.Is(err, node.ErrHalted) {
		return err
	}
	return nil // the holders' decision, carried out and logged: not a failure of the worker
}
