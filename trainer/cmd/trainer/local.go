package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/local"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/pipeline"
)

// schedules are the pipeline schedules `trainer local` accepts.
var schedules = map[string]pipeline.Schedule{"gpipe": pipeline.GPipe, "async": pipeline.Async1F1B}

// scheduleNames lists the accepted --schedule values, sorted.
func scheduleNames() string { return "async, gpipe" }

// localFlags are `trainer local`'s flags, as given.
type localFlags struct {
	modelFlags
	dataDir      string
	maxBytes     string
	steps        int
	batch        int
	microbatches int
	lr           float64
	warmup       int
	decaySteps   int
	weightDecay  float64
	optimizer    string
	schedule     string
	asyncDepth   int
	wireFlags
	evalEvery       int
	evalBatches     int
	seed            uint64
	out             string
	checkpointEvery int
	resume          bool
	metricsAddr     string
	quiet           bool
	backend         string
}

func newLocalCmd() *cobra.Command {
	f := &localFlags{}
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Train every stage of a model in one process (GPipe or async 1F1B over emulated links)",
		Long: `local trains all the stages of a model in one process with trainer/pipeline:
one goroutine per stage, joined only by emulated network links (--link-*), so the
bytes each stage boundary carries are what a network would carry.

--steps is the step count to reach: with --resume, training continues from the
checkpoints' step up to --steps, appending to --out/loss.csv.

Speed: build with GOEXPERIMENT=simd (make build does) for a 2-5x faster CPU backend.`,
		Example: `  trainer local --spec tiny --steps 200 --out /tmp/run
  trainer local --spec small --link-bandwidth 80Mbit --link-latency 20ms --payload bf16 --out /tmp/small
  trainer local --spec tiny --steps 400 --out /tmp/run --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLocal(cmd.Context(), cmd, f)
		},
	}
	fl := cmd.Flags()
	f.modelFlags.add(fl)
	fl.StringVar(&f.dataDir, "data", "", "directory of text files to train on (default: the Go source tree, $(go env GOROOT)/src)")
	fl.StringVar(&f.maxBytes, "max-bytes", "64MiB", "cap on the corpus bytes loaded (e.g. 64MiB, 1000000; 0 = no cap)")
	fl.IntVar(&f.steps, "steps", 200, "train until this step count")
	fl.IntVar(&f.batch, "batch", 8, "sequences per step")
	fl.IntVar(&f.microbatches, "microbatches", 2, "microbatches per step (must divide --batch)")
	fl.Float64Var(&f.lr, "lr", 3e-3, "learning rate (peak, after warm-up)")
	fl.IntVar(&f.warmup, "warmup", 0, "learning-rate warm-up steps (nadam only)")
	fl.IntVar(&f.decaySteps, "decay-steps", 0, "nadam: the step at which the cosine decay reaches its floor (0 = --steps; keep it fixed across runs that --resume to a later --steps)")
	fl.Float64Var(&f.weightDecay, "weight-decay", 0, "decoupled weight decay")
	fl.StringVar(&f.optimizer, "optimizer", "adamw", "optimizer: adamw|nadam (nadam: warm-up, cosine decay to --steps, clipping at 1)")
	fl.StringVar(&f.schedule, "schedule", "gpipe", "pipeline schedule: gpipe (synchronous, one update per step) or async (1F1B, an update per microbatch, needs --optimizer nadam: NAdam with the stage-dependent momentum of the delay correction)")
	fl.IntVar(&f.asyncDepth, "async-depth", 1, "async only: stage s keeps depth·(stages−1−s) microbatches in flight beyond the classic 1F1B's one; raise it (2-3) when link round trips are longer than a microbatch's compute")
	f.wireFlags.add(fl, "every boundary link")
	fl.IntVar(&f.evalEvery, "eval-every", 50, "validation every N steps and at the end (0 = never)")
	fl.IntVar(&f.evalBatches, "eval-batches", 4, "validation batches per evaluation")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the training data sampling")
	fl.StringVar(&f.out, "out", "", "output directory: loss.csv, loss.png, checkpoints/stage-N.ckpt (empty: write nothing)")
	fl.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "also checkpoint every N steps (0 = only at the end)")
	fl.BoolVar(&f.resume, "resume", false, "continue from --out/checkpoints and --out/loss.csv")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address, e.g. 127.0.0.1:9464 (default off)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fl.StringVar(&f.backend, "backend", "go", "tensor backend: go (GoMLX's pure-Go CPU backend) or xla[:PLUGIN[,OPTIONS]] (XLA/PJRT, e.g. xla:cuda or xla:/abs/path/xla_cuda_plugin.so; needs a binary built with make trainer-xla)")
	return cmd
}

// config checks the flags and resolves them into the run's configuration, naming the flag at
// fault.
func (f *localFlags) config(cmd *cobra.Command) (local.Config, error) {
	r := local.Config{
		SpecName: f.spec, ScheduleName: f.schedule, Seed: f.seed, Steps: f.steps, Batch: f.batch, Microbatches: f.microbatches,
		Optimizer: f.optimizer, Depth: f.asyncDepth, EvalEvery: f.evalEvery, EvalBatches: f.evalBatches,
		Out: f.out, CheckpointEvery: f.checkpointEvery, Resume: f.resume, MetricsAddr: f.metricsAddr, Backend: f.backend,
	}
	s, err := f.modelFlags.resolve(cmd)
	if err != nil {
		return r, err
	}
	r.Spec = s

	sched, ok := schedules[f.schedule]
	if !ok {
		return r, fmt.Errorf("--schedule %q: accepted values: %s", f.schedule, scheduleNames())
	}
	r.Schedule = sched
	if f.asyncDepth < 1 {
		return r, fmt.Errorf("--async-depth %d: must be at least 1", f.asyncDepth)
	}
	if f.asyncDepth > 1 && sched != pipeline.Async1F1B {
		return r, errors.New("--async-depth needs --schedule async")
	}
	if f.steps <= 0 {
		return r, fmt.Errorf("--steps %d: must be positive", f.steps)
	}
	if f.batch <= 0 {
		return r, fmt.Errorf("--batch %d: must be positive", f.batch)
	}
	if f.microbatches <= 0 || f.batch%f.microbatches != 0 {
		return r, fmt.Errorf("--microbatches %d: must be positive and divide --batch %d", f.microbatches, f.batch)
	}
	if !(f.lr > 0) || math.IsInf(f.lr, 0) {
		return r, fmt.Errorf("--lr %g: must be positive", f.lr)
	}
	if f.warmup < 0 {
		return r, fmt.Errorf("--warmup %d: must not be negative", f.warmup)
	}
	if f.decaySteps < 0 {
		return r, fmt.Errorf("--decay-steps %d: must not be negative", f.decaySteps)
	}
	if f.decaySteps > 0 && f.optimizer != "nadam" {
		return r, errors.New("--decay-steps needs --optimizer nadam (the engine's AdamW keeps a constant learning rate)")
	}
	if f.weightDecay < 0 {
		return r, fmt.Errorf("--weight-decay %g: must not be negative", f.weightDecay)
	}
	switch f.optimizer {
	case "adamw":
		if f.warmup > 0 {
			return r, errors.New("--warmup needs --optimizer nadam (the engine's AdamW keeps a constant learning rate)")
		}
		if sched == pipeline.Async1F1B {
			return r, errors.New("--schedule async needs --optimizer nadam (the delay correction is NAdam's per-stage momentum)")
		}
		r.Engine = engine.Options{LearningRate: f.lr, WeightDecay: f.weightDecay}
	case "nadam":
		cfg := optim.DefaultNAdam()
		decay := f.decaySteps
		if decay == 0 {
			decay = f.steps
		}
		cfg.LearningRate, cfg.WeightDecay, cfg.WarmupSteps, cfg.DecaySteps = f.lr, f.weightDecay, f.warmup, decay
		if err := cfg.Validate(); err != nil {
			return r, fmt.Errorf("--optimizer nadam: %w", err)
		}
		r.NewOptimizer = func(int) (engine.Optimizer, error) { return optim.NewNAdam(cfg) }
		if sched == pipeline.Async1F1B {
			// The optimizer counts its own updates, one per microbatch here,
			// so the schedule's steps are counted in updates.
			cfg.WarmupSteps, cfg.DecaySteps = f.warmup*f.microbatches, decay*f.microbatches
			cfg.Beta1 = 0 // the base momentum: each stage gets pipeline.StageMomentum of it
			r.NewOptimizer = pipeline.StageNAdam(cfg, len(r.Spec.Stages), f.asyncDepth)
		}
	default:
		return r, fmt.Errorf("--optimizer %q: accepted values: adamw, nadam", f.optimizer)
	}
	if r.Payload, err = f.wireFlags.payload(); err != nil {
		return r, err
	}
	lc, err := f.wireFlags.link()
	if err != nil {
		return r, err
	}
	for i := 0; i < len(s.Stages)-1; i++ {
		lc.Seed = uint64(i) + 1
		r.Links = append(r.Links, lc)
	}
	if f.evalEvery < 0 {
		return r, fmt.Errorf("--eval-every %d: must not be negative", f.evalEvery)
	}
	if f.evalEvery > 0 && f.evalBatches <= 0 {
		return r, fmt.Errorf("--eval-batches %d: must be positive when --eval-every is set", f.evalBatches)
	}
	if f.checkpointEvery < 0 {
		return r, fmt.Errorf("--checkpoint-every %d: must not be negative", f.checkpointEvery)
	}
	if f.resume && f.out == "" {
		return r, errors.New("--resume needs --out (the directory holding checkpoints/ and loss.csv)")
	}
	if r.MaxBytes, err = parseBytes(f.maxBytes); err != nil {
		return r, fmt.Errorf("--max-bytes: %w", err)
	}
	r.DataDir = f.dataDir
	if r.DataDir == "" {
		if r.DataDir, err = data.DefaultDir(); err != nil {
			return r, fmt.Errorf("no default corpus (%w); pass --data DIR", err)
		}
	} else if st, err := os.Stat(r.DataDir); err != nil {
		return r, fmt.Errorf("--data %s: %w", r.DataDir, err)
	} else if !st.IsDir() {
		return r, fmt.Errorf("--data %s: not a directory", r.DataDir)
	}
	return r, nil
}

// runLocal trains.
func runLocal(ctx context.Context, cmd *cobra.Command, f *localFlags) error {
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	bar := newProgress(stderr, f.steps, !f.quiet && isTerminal(stderr))
	cfg.Log, cfg.Progress = slog.New(slog.NewTextHandler(bar, nil)), bar
	r, err := local.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Run(ctx)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
