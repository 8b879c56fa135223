// Package local trains every stage of a model in one process (trainer/pipeline: a goroutine
// per stage, joined by emulated network links), with what a run leaves behind: loss.csv,
// loss.png, per-stage checkpoints it can resume from, and Prometheus metrics.
//
//	r, err := local.New(ctx, cfg) // load the corpus, build the stages, resume
//	defer r.Close()
//	err = r.Run(ctx)
package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/gomlx/compute"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Config is one local run.
type Config struct {
	// Spec is the model; SpecName names it in the logs.
	Spec     spec.Spec
	SpecName string
	// DataDir is the corpus; MaxBytes caps what is loaded (0: no cap); Seed draws the batches.
	DataDir  string
	MaxBytes int64
	Seed     uint64
	// Steps is the step count to reach (a resumed run continues up to it); Batch is the
	// sequences per step, split into Microbatches.
	Steps, Batch, Microbatches int
	// Links are the emulated paths of the stage boundaries, one per boundary (nil: unlimited).
	Links   []link.Config
	Payload payload.DType
	// Engine configures the engine's own AdamW, used when NewOptimizer is nil; Optimizer
	// names the choice in the logs.
	Engine       engine.Options
	NewOptimizer func(stage int) (engine.Optimizer, error)
	Optimizer    string
	// Schedule is the pipeline schedule (ScheduleName names it in the logs); Depth the async
	// schedule's extra depth (≥ 1).
	Schedule     pipeline.Schedule
	ScheduleName string
	Depth        int
	// EvalEvery evaluates every N steps and at the end (0: never) on EvalBatches batches.
	EvalEvery, EvalBatches int
	// Out receives loss.csv, loss.png and checkpoints/ (empty: nothing is written);
	// CheckpointEvery also checkpoints every N steps; Resume continues from Out.
	Out             string
	CheckpointEvery int
	Resume          bool
	// MetricsAddr serves Prometheus /metrics when set (port 0 picks one).
	MetricsAddr string
	// Backend is the tensor backend: go, or xla[:PLUGIN].
	Backend string
	// Log receives the run's logs (default: discarded); Progress, if set, follows the steps.
	Log      *slog.Logger
	Progress Progress
}

// Progress follows a run's steps (a progress bar).
type Progress interface {
	Start(step int)
	Update(step int, loss, tokensPerSecond float64)
	Finish()
}

func (c *Config) validate() error {
	switch {
	case c.Steps <= 0:
		return fmt.Errorf("steps %d: must be positive", c.Steps)
	case c.Batch <= 0:
		return fmt.Errorf("batch %d: must be positive", c.Batch)
	case c.Microbatches <= 0 || c.Batch%c.Microbatches != 0:
		return fmt.Errorf("microbatches %d: must be positive and divide the batch %d", c.Microbatches, c.Batch)
	case c.Depth < 1:
		return fmt.Errorf("depth %d: must be at least 1", c.Depth)
	case c.EvalEvery < 0:
		return fmt.Errorf("eval every %d: must not be negative", c.EvalEvery)
	case c.EvalEvery > 0 && c.EvalBatches <= 0:
		return fmt.Errorf("eval batches %d: must be positive when evaluating", c.EvalBatches)
	case c.CheckpointEvery < 0:
		return fmt.Errorf("checkpoint every %d: must not be negative", c.CheckpointEvery)
	case c.Resume && c.Out == "":
		return errors.New("resuming needs the output directory holding checkpoints/ and loss.csv")
	case c.Links != nil && len(c.Links) != len(c.Spec.Stages)-1:
		return fmt.Errorf("%d links for %d stage boundaries", len(c.Links), len(c.Spec.Stages)-1)
	}
	return c.Spec.Validate()
}

// Run is a local run between New and Close.
type Run struct {
	cfg      Config
	log      *slog.Logger
	t0       time.Time
	be       compute.Backend
	p        *pipeline.Pipeline
	sampler  *data.Sampler
	evalSet  []data.Batch
	out      *outputs
	met      *metrics
	start    uint64 // the step the stages are at (resumed)
	ratio    float64
	ran      bool
	closeAll sync.Once
}

// New checks cfg, loads the corpus, builds the stages and, with Resume, restores them.
func New(ctx context.Context, cfg Config) (_ *Run, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Run{cfg: cfg, log: cfg.Log, t0: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if err := r.loadData(); err != nil {
		return nil, err
	}
	if r.be, err = backend.New(cfg.Backend); err != nil {
		return nil, fmt.Errorf("--backend: %w", err)
	}
	if r.p, err = pipeline.New(pipeline.Config{
		Spec: cfg.Spec, Backend: r.be, Microbatches: cfg.Microbatches, Links: cfg.Links,
		PayloadDType: cfg.Payload, Options: cfg.Engine, NewOptimizer: cfg.NewOptimizer, Schedule: cfg.Schedule,
		Depth: cfg.Depth,
	}); err != nil {
		return nil, err
	}
	if err := r.logModel(); err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		if r.out, err = openOutputs(cfg.Out); err != nil {
			return nil, err
		}
		if err := r.resume(); err != nil {
			return nil, err
		}
	}
	if cfg.MetricsAddr != "" {
		if r.met, err = startMetrics(cfg.MetricsAddr, len(cfg.Spec.Stages)); err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		r.log.Info("metrics", "url", r.met.URL())
		r.met.ratio.Set(r.ratio)
	}
	return r, nil
}

// loadData reads the corpus: the training sampler and, when evaluating, the validation batches.
func (r *Run) loadData() error {
	cfg := r.cfg
	corpus, err := data.Load(cfg.DataDir, data.Options{MaxBytes: cfg.MaxBytes})
	if err != nil {
		return fmt.Errorf("--data %s: %w", cfg.DataDir, err)
	}
	st := corpus.Stats()
	r.log.Info("corpus", "dir", st.Dir, "train_files", st.TrainFiles, "val_files", st.ValFiles,
		"train_bytes", st.TrainBytes, "val_bytes", st.ValBytes, "capped", st.Capped,
		"train_sha256", fmt.Sprintf("%x", st.TrainDigest[:8]), "load_time", time.Since(r.t0).Round(time.Millisecond))
	if st.TrainBytes <= int64(cfg.Spec.SeqLen)+1 {
		return fmt.Errorf("--data %s: the train split has %d bytes, fewer than one %d-token window; add text files", cfg.DataDir, st.TrainBytes, cfg.Spec.SeqLen+1)
	}
	if cfg.EvalEvery > 0 {
		if st.ValBytes <= int64(cfg.Spec.SeqLen)+1 {
			return fmt.Errorf("--data %s: the validation split (files picked by path hash, 5%%) has %d bytes, too few for evaluation; use a larger corpus or --eval-every 0", cfg.DataDir, st.ValBytes)
		}
		if r.evalSet, err = corpus.EvalBatches(cfg.Spec.SeqLen, cfg.Batch, cfg.EvalBatches); err != nil {
			return fmt.Errorf("validation batches: %w", err)
		}
	}
	if r.sampler, err = corpus.Sampler(data.Train, cfg.Spec.SeqLen, cfg.Batch, cfg.Seed); err != nil {
		return fmt.Errorf("training sampler: %w", err)
	}
	return nil
}

// logModel logs the model and the compression of its boundaries.
func (r *Run) logModel() error {
	cfg := r.cfg
	params := 0
	for _, s := range r.p.Stages() {
		params += s.NumParams()
	}
	rows := cfg.Batch / cfg.Microbatches
	shape := r.p.ActivationShape(rows, cfg.Spec.SeqLen)
	actual, err := payload.EncodedSize(shape)
	if err != nil {
		return err
	}
	shape.DType, shape.Compressed, shape.Width = payload.F32, false, uint32(cfg.Spec.DModel)
	raw, err := payload.EncodedSize(shape)
	if err != nil {
		return err
	}
	r.ratio = float64(raw) / float64(actual)
	r.log.Info("model", "spec", cfg.SpecName, "d_model", cfg.Spec.DModel, "n_layers", cfg.Spec.NLayers, "stages", fmt.Sprint(cfg.Spec.Stages),
		"compression_rank", cfg.Spec.CompressionRank, "params", params, "payload", cfg.Payload.String(),
		"compression_ratio", fmt.Sprintf("%.1f", r.ratio), "schedule", cmp.Or(cfg.ScheduleName, cfg.Schedule.String()), "optimizer", cfg.Optimizer, "backend", r.be.Name(),
		"batch", cfg.Batch, "microbatches", cfg.Microbatches, "seq_len", cfg.Spec.SeqLen)
	return nil
}

// resume restores the stages from Out (with Resume), or begins a fresh loss.csv.
func (r *Run) resume() error {
	if !r.cfg.Resume {
		return r.out.startCSV()
	}
	start, err := r.out.loadCheckpoints(r.p)
	if err != nil {
		return err
	}
	if err := r.out.truncateCSV(start); err != nil {
		return err
	}
	for range start {
		r.sampler.Next() // the same batches an uninterrupted run would have drawn
	}
	r.start = start
	r.log.Info("resumed", "dir", r.cfg.Out, "step", start)
	return nil
}

// MetricsURL is the address of the metrics page, empty without Config.MetricsAddr.
func (r *Run) MetricsURL() string {
	if r.met == nil {
		return ""
	}
	return r.met.URL()
}

// Close releases the run: the metrics server, the stages and the backend.
func (r *Run) Close() {
	r.closeAll.Do(func() {
		if r.met != nil {
			r.met.Close()
		}
		if r.out != nil {
			_ = r.out.close()
		}
		if r.p != nil {
			r.p.Close()
		}
		if r.be != nil {
			r.be.Finalize()
		}
	})
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
