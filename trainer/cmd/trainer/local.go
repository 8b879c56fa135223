package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/payload"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/spec"
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

// testHooks let tests look inside a run; nil in the binary.
type testHooks struct {
	// beforeShutdown is called with the metrics server's base URL after the
	// last step, before the server shuts down.
	beforeShutdown func(metricsURL string)
}

func newLocalCmd(hooks *testHooks) *cobra.Command {
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
			return runLocal(cmd.Context(), cmd, f, hooks)
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

// localRun is a validated `trainer local` configuration.
type localRun struct {
	spec       spec.Spec
	dataDir    string
	maxBytes   int64
	links      []link.Config
	payload    payload.DType
	newOptim   func(stage int) (engine.Optimizer, error)
	engineOpts engine.Options
	schedule   pipeline.Schedule
}

// validate checks the flags and resolves them, naming the flag at fault.
func (f *localFlags) validate(cmd *cobra.Command) (*localRun, error) {
	r := &localRun{}
	s, err := f.modelFlags.resolve(cmd)
	if err != nil {
		return nil, err
	}
	r.spec = s

	sched, ok := schedules[f.schedule]
	if !ok {
		return nil, fmt.Errorf("--schedule %q: accepted values: %s", f.schedule, scheduleNames())
	}
	r.schedule = sched
	if f.asyncDepth < 1 {
		return nil, fmt.Errorf("--async-depth %d: must be at least 1", f.asyncDepth)
	}
	if f.asyncDepth > 1 && sched != pipeline.Async1F1B {
		return nil, errors.New("--async-depth needs --schedule async")
	}
	if f.steps <= 0 {
		return nil, fmt.Errorf("--steps %d: must be positive", f.steps)
	}
	if f.batch <= 0 {
		return nil, fmt.Errorf("--batch %d: must be positive", f.batch)
	}
	if f.microbatches <= 0 || f.batch%f.microbatches != 0 {
		return nil, fmt.Errorf("--microbatches %d: must be positive and divide --batch %d", f.microbatches, f.batch)
	}
	if !(f.lr > 0) || math.IsInf(f.lr, 0) {
		return nil, fmt.Errorf("--lr %g: must be positive", f.lr)
	}
	if f.warmup < 0 {
		return nil, fmt.Errorf("--warmup %d: must not be negative", f.warmup)
	}
	if f.decaySteps < 0 {
		return nil, fmt.Errorf("--decay-steps %d: must not be negative", f.decaySteps)
	}
	if f.decaySteps > 0 && f.optimizer != "nadam" {
		return nil, errors.New("--decay-steps needs --optimizer nadam (the engine's AdamW keeps a constant learning rate)")
	}
	if f.weightDecay < 0 {
		return nil, fmt.Errorf("--weight-decay %g: must not be negative", f.weightDecay)
	}
	switch f.optimizer {
	case "adamw":
		if f.warmup > 0 {
			return nil, errors.New("--warmup needs --optimizer nadam (the engine's AdamW keeps a constant learning rate)")
		}
		if sched == pipeline.Async1F1B {
			return nil, errors.New("--schedule async needs --optimizer nadam (the delay correction is NAdam's per-stage momentum)")
		}
		r.engineOpts = engine.Options{LearningRate: f.lr, WeightDecay: f.weightDecay}
	case "nadam":
		cfg := optim.DefaultNAdam()
		decay := f.decaySteps
		if decay == 0 {
			decay = f.steps
		}
		cfg.LearningRate, cfg.WeightDecay, cfg.WarmupSteps, cfg.DecaySteps = f.lr, f.weightDecay, f.warmup, decay
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("--optimizer nadam: %w", err)
		}
		r.newOptim = func(int) (engine.Optimizer, error) { return optim.NewNAdam(cfg) }
		if sched == pipeline.Async1F1B {
			// The optimizer counts its own updates, one per microbatch here,
			// so the schedule's steps are counted in updates.
			cfg.WarmupSteps, cfg.DecaySteps = f.warmup*f.microbatches, decay*f.microbatches
			cfg.Beta1 = 0 // the base momentum: each stage gets pipeline.StageMomentum of it
			r.newOptim = pipeline.StageNAdam(cfg, len(r.spec.Stages), f.asyncDepth)
		}
	default:
		return nil, fmt.Errorf("--optimizer %q: accepted values: adamw, nadam", f.optimizer)
	}
	if r.payload, err = f.wireFlags.payload(); err != nil {
		return nil, err
	}
	lc, err := f.wireFlags.link()
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(s.Stages)-1; i++ {
		lc.Seed = uint64(i) + 1
		r.links = append(r.links, lc)
	}
	if f.evalEvery < 0 {
		return nil, fmt.Errorf("--eval-every %d: must not be negative", f.evalEvery)
	}
	if f.evalEvery > 0 && f.evalBatches <= 0 {
		return nil, fmt.Errorf("--eval-batches %d: must be positive when --eval-every is set", f.evalBatches)
	}
	if f.checkpointEvery < 0 {
		return nil, fmt.Errorf("--checkpoint-every %d: must not be negative", f.checkpointEvery)
	}
	if f.resume && f.out == "" {
		return nil, errors.New("--resume needs --out (the directory holding checkpoints/ and loss.csv)")
	}
	if r.maxBytes, err = parseBytes(f.maxBytes); err != nil {
		return nil, fmt.Errorf("--max-bytes: %w", err)
	}
	r.dataDir = f.dataDir
	if r.dataDir == "" {
		if r.dataDir, err = data.DefaultDir(); err != nil {
			return nil, fmt.Errorf("no default corpus (%w); pass --data DIR", err)
		}
	} else if st, err := os.Stat(r.dataDir); err != nil {
		return nil, fmt.Errorf("--data %s: %w", r.dataDir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("--data %s: not a directory", r.dataDir)
	}
	return r, nil
}

// resolveSpec is the --spec with the --stages and --compression-rank
// overrides applied (rank only when the flag was given), validated.
func resolveSpec(cmd *cobra.Command, name string, stages, rank int) (spec.Spec, error) {
	s, err := loadSpec(name)
	if err != nil {
		return s, err
	}
	if stages < 0 {
		return s, fmt.Errorf("--stages %d: must be positive", stages)
	}
	if stages > 0 {
		if s.NLayers%stages != 0 {
			return s, fmt.Errorf("--stages %d does not divide the spec's %d layers evenly (try one of %s)", stages, s.NLayers, divisors(s.NLayers))
		}
		s.Stages = make([]int, stages)
		for i := range s.Stages {
			s.Stages[i] = s.NLayers / stages
		}
	}
	if cmd.Flags().Changed("compression-rank") {
		if rank < 0 {
			return s, fmt.Errorf("--compression-rank %d: must be 0 (raw) or positive", rank)
		}
		s.CompressionRank = rank
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("--spec %s: %w", name, err)
	}
	return s, nil
}

// linkConfig is the emulated path of the --link-* flags.
func linkConfig(bandwidth string, latency, jitter time.Duration, loss float64) (link.Config, error) {
	bw, err := parseBandwidth(bandwidth)
	if err != nil {
		return link.Config{}, fmt.Errorf("--link-bandwidth: %w", err)
	}
	if latency < 0 {
		return link.Config{}, fmt.Errorf("--link-latency %s: must not be negative", latency)
	}
	if jitter < 0 {
		return link.Config{}, fmt.Errorf("--link-jitter %s: must not be negative", jitter)
	}
	if !(loss >= 0 && loss < 1) {
		return link.Config{}, fmt.Errorf("--link-loss %g: must be in [0, 1)", loss)
	}
	return link.Config{Bandwidth: bw, Latency: latency, Jitter: jitter, Loss: loss}, nil
}

// loadSpec is a preset by name, or else a JSON spec file.
func loadSpec(name string) (spec.Spec, error) {
	if s, err := spec.Preset(name); err == nil {
		return s, nil
	}
	if _, err := os.Stat(name); err != nil {
		return spec.Spec{}, fmt.Errorf("--spec %q: not a preset (%s) nor a readable spec file", name, strings.Join(spec.PresetNames(), ", "))
	}
	s, err := spec.Load(name)
	if err != nil {
		return spec.Spec{}, fmt.Errorf("--spec %s: %w", name, err)
	}
	return s, nil
}

func divisors(n int) string {
	var d []string
	for i := 1; i <= n; i++ {
		if n%i == 0 {
			d = append(d, strconv.Itoa(i))
		}
	}
	return strings.Join(d, ", ")
}

// parseBandwidth reads bits per second: a number ("2.5e6") or a number with
// a unit: bit, kbit, Mbit, Gbit (also bps, kbps, Mbps, Gbps; decimal).
func parseBandwidth(s string) (float64, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{
		{"gbit/s", 1e9},
		{"mbit/s", 1e6},
		{"kbit/s", 1e3},
		{"bit/s", 1},
		{"gbit", 1e9},
		{"mbit", 1e6},
		{"kbit", 1e3},
		{"bit", 1},
		{"gbps", 1e9},
		{"mbps", 1e6},
		{"kbps", 1e3},
		{"bps", 1},
	} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a bandwidth: use bits per second (2.5e6) or a unit (80Mbit, 1Gbit, 500kbit)", s)
	}
	return v * mult, nil
}

// parseBytes reads a byte count: a number with an optional KiB, MiB, GiB (or
// K, M, G, binary) suffix.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a byte count: use e.g. 64MiB, 512KiB or 1000000", s)
	}
	return v * mult, nil
}

// runLocal trains.
func runLocal(ctx context.Context, cmd *cobra.Command, f *localFlags, hooks *testHooks) (retErr error) {
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := f.validate(cmd)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	bar := newProgress(stderr, f.steps, !f.quiet && isTerminal(stderr))
	log := slog.New(slog.NewTextHandler(bar, nil))

	t0 := time.Now()
	corpus, err := data.Load(r.dataDir, data.Options{MaxBytes: r.maxBytes})
	if err != nil {
		return fmt.Errorf("--data %s: %w", r.dataDir, err)
	}
	st := corpus.Stats()
	log.Info("corpus", "dir", st.Dir, "train_files", st.TrainFiles, "val_files", st.ValFiles,
		"train_bytes", st.TrainBytes, "val_bytes", st.ValBytes, "capped", st.Capped,
		"train_sha256", fmt.Sprintf("%x", st.TrainDigest[:8]), "load_time", time.Since(t0).Round(time.Millisecond))
	if st.TrainBytes <= int64(r.spec.SeqLen)+1 {
		return fmt.Errorf("--data %s: the train split has %d bytes, fewer than one %d-token window; add text files", r.dataDir, st.TrainBytes, r.spec.SeqLen+1)
	}
	var evalSet []data.Batch
	if f.evalEvery > 0 {
		if st.ValBytes <= int64(r.spec.SeqLen)+1 {
			return fmt.Errorf("--data %s: the validation split (files picked by path hash, 5%%) has %d bytes, too few for evaluation; use a larger corpus or --eval-every 0", r.dataDir, st.ValBytes)
		}
		if evalSet, err = corpus.EvalBatches(r.spec.SeqLen, f.batch, f.evalBatches); err != nil {
			return fmt.Errorf("validation batches: %w", err)
		}
	}
	sampler, err := corpus.Sampler(data.Train, r.spec.SeqLen, f.batch, f.seed)
	if err != nil {
		return fmt.Errorf("training sampler: %w", err)
	}

	be, err := backend.New(f.backend)
	if err != nil {
		return fmt.Errorf("--backend: %w", err)
	}
	defer be.Finalize()
	p, err := pipeline.New(pipeline.Config{
		Spec: r.spec, Backend: be, Microbatches: f.microbatches, Links: r.links,
		PayloadDType: r.payload, Options: r.engineOpts, NewOptimizer: r.newOptim, Schedule: r.schedule,
		Depth: f.asyncDepth,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	params := 0
	for _, s := range p.Stages() {
		params += s.NumParams()
	}
	rows := f.batch / f.microbatches
	actual, err := payload.EncodedSize(p.ActivationShape(rows, r.spec.SeqLen))
	if err != nil {
		return err
	}
	rawShape := p.ActivationShape(rows, r.spec.SeqLen)
	rawShape.DType, rawShape.Compressed, rawShape.Width = payload.F32, false, uint32(r.spec.DModel)
	rawSize, err := payload.EncodedSize(rawShape)
	if err != nil {
		return err
	}
	ratio := float64(rawSize) / float64(actual)
	log.Info("model", "spec", f.spec, "d_model", r.spec.DModel, "n_layers", r.spec.NLayers, "stages", fmt.Sprint(r.spec.Stages),
		"compression_rank", r.spec.CompressionRank, "params", params, "payload", f.payloadDType,
		"compression_ratio", fmt.Sprintf("%.1f", ratio), "schedule", f.schedule, "optimizer", f.optimizer, "backend", be.Name(),
		"batch", f.batch, "microbatches", f.microbatches, "seq_len", r.spec.SeqLen)

	var out *outputs
	if f.out != "" {
		if out, err = openOutputs(f.out); err != nil {
			return err
		}
	}
	start := uint64(0)
	if f.resume {
		if start, err = out.loadCheckpoints(p); err != nil {
			return err
		}
		if err := out.truncateCSV(start); err != nil {
			return err
		}
		for range start {
			sampler.Next() // the same batches an uninterrupted run would have drawn
		}
		log.Info("resumed", "dir", f.out, "step", start)
		if start >= uint64(f.steps) {
			log.Info("nothing to do: the checkpoints are at or past --steps", "step", start, "steps", f.steps)
			return nil
		}
	} else if out != nil {
		if err := out.startCSV(); err != nil {
			return err
		}
	}

	var met *metrics
	if f.metricsAddr != "" {
		if met, err = startMetrics(f.metricsAddr, len(r.spec.Stages)); err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", f.metricsAddr, err)
		}
		log.Info("metrics", "url", "http://"+met.addr+"/metrics")
		met.ratio.Set(ratio)
		defer met.shutdown()
	}

	tokens := float64(f.batch * r.spec.SeqLen)
	prev := p.Boundaries()
	elapsed := 0.0 // training seconds since step 0, evaluations excluded: loss.csv's elapsed_s
	if out != nil {
		elapsed = out.lastElapsed()
	}
	bar.start(int(start))
	var lastLoss, lastVal float64
	lastVal = math.NaN()
	type stepRow struct {
		step            uint64
		loss, tps, time float64
	}
	// Each stretch of steps up to the next evaluation, checkpoint or the end
	// is one pipeline stream (pipeline.Train): under --schedule async the
	// microbatches flow across its steps without draining, and a stream's
	// end is where evaluations and checkpoints see every stage at the same
	// step (and a resumed run cuts its streams at the same steps).
	for step := start; step < uint64(f.steps); {
		end := streamEnd(step, uint64(f.steps), f.evalEvery, f.checkpointEvery)
		n := int(end - step)
		rows := make([]stepRow, 0, n)
		last := time.Now()
		_, err := p.Train(ctx, n, func() (data.Batch, error) { return sampler.Next(), nil }, func(i int, loss float64) error {
			now := time.Now()
			dt := now.Sub(last).Seconds()
			last = now
			elapsed += dt
			s := step + uint64(i) + 1
			rows = append(rows, stepRow{s, loss, tokens / dt, elapsed})
			if met != nil {
				met.observe(loss, tokens/dt)
			}
			bar.update(int(s), loss, tokens/dt)
			return nil
		})
		if err != nil {
			return fmt.Errorf("steps %d-%d: %w", step+1, end, err)
		}
		// Every step carries the same bytes (M activation and M gradient
		// messages per boundary), so the stream's total divides evenly.
		bounds := p.Boundaries()
		var streamBytes int64
		for i, bs := range bounds {
			fw, bw := bs.Forward.Bytes-prev[i].Forward.Bytes, bs.Backward.Bytes-prev[i].Backward.Bytes
			streamBytes += fw + bw
			if met != nil {
				met.addBytes(i, fw, bw)
			}
		}
		prev = bounds
		bytesPerToken := float64(streamBytes) / float64(n) / tokens
		if met != nil {
			met.observeStages(p.StageTimes(), n)
		}
		val := math.NaN()
		lastLoss = rows[n-1].loss
		if f.evalEvery > 0 && (end%uint64(f.evalEvery) == 0 || end == uint64(f.steps)) {
			te := time.Now()
			if val, err = p.Eval(ctx, evalSet); err != nil {
				return fmt.Errorf("eval at step %d: %w", end, err)
			}
			lastVal = val
			// Count the evaluation's activations in the metrics, not in the next stream's rows.
			after := p.Boundaries()
			for i := range after {
				if met != nil {
					met.addBytes(i, after[i].Forward.Bytes-prev[i].Forward.Bytes, after[i].Backward.Bytes-prev[i].Backward.Bytes)
				}
			}
			prev = after
			if met != nil {
				met.val.Set(val)
			}
			log.Info("eval", "step", end, "train_loss", round(lastLoss), "val_loss", round(val),
				"tokens_per_s", math.Round(rows[n-1].tps), "bytes_per_token", round(bytesPerToken),
				"eval_time", time.Since(te).Round(time.Millisecond), "elapsed", time.Since(t0).Round(time.Second))
		}
		if out != nil {
			for k, row := range rows {
				v := math.NaN()
				if k == n-1 {
					v = val
				}
				if err := out.appendRow(row.step, row.loss, v, row.tps, bytesPerToken, row.time); err != nil {
					return err
				}
			}
			if f.checkpointEvery > 0 && end%uint64(f.checkpointEvery) == 0 && end != uint64(f.steps) {
				if err := out.saveCheckpoints(p, end); err != nil {
					return err
				}
				log.Info("checkpoint", "step", end, "dir", out.ckptDir)
			}
		}
		step = end
	}
	bar.finish()
	if out != nil {
		if err := out.saveCheckpoints(p, uint64(f.steps)); err != nil {
			return err
		}
		if err := out.plot(); err != nil {
			return err
		}
		if err := out.close(); err != nil {
			return err
		}
	}
	log.Info("done", "steps", f.steps, "train_loss", round(lastLoss), "val_loss", round(lastVal),
		"elapsed", time.Since(t0).Round(time.Millisecond), "out", f.out)
	if met != nil && hooks != nil && hooks.beforeShutdown != nil {
		hooks.beforeShutdown("http://" + met.addr)
	}
	return nil
}

// streamEnd is the step at which the stream starting after step ends: the
// next evaluation or checkpoint step, or total.
func streamEnd(step, total uint64, evalEvery, checkpointEvery int) uint64 {
	end := total
	for _, every := range []int{evalEvery, checkpointEvery} {
		if every > 0 {
			end = min(end, (step/uint64(every)+1)*uint64(every))
		}
	}
	return end
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
