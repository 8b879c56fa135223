package local

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/protolearn/protolearn/trainer/data"
)

// Run trains from the step the stages are at up to Config.Steps, evaluating, checkpointing
// and writing loss.csv as configured, then saves the final checkpoints and draws loss.png.
// Run may be called once.
func (r *Run) Run(ctx context.Context) error {
	if r.ran {
		return errors.New("local: Run called twice")
	}
	r.ran = true
	cfg, out, met, start := r.cfg, r.out, r.met, r.start
	if start >= uint64(cfg.Steps) {
		r.log.Info("nothing to do: the checkpoints are at or past --steps", "step", start, "steps", cfg.Steps)
		return nil
	}
	tokens := float64(cfg.Batch * cfg.Spec.SeqLen)
	prev := r.p.Boundaries()
	elapsed := 0.0 // training seconds since step 0, evaluations excluded: loss.csv's elapsed_s
	if out != nil {
		elapsed = out.lastElapsed()
	}
	if cfg.Progress != nil {
		cfg.Progress.Start(int(start))
	}
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
	for step := start; step < uint64(cfg.Steps); {
		end := streamEnd(step, uint64(cfg.Steps), cfg.EvalEvery, cfg.CheckpointEvery)
		n := int(end - step)
		rows := make([]stepRow, 0, n)
		last := time.Now()
		_, err := r.p.Train(ctx, n, func() (data.Batch, error) { return r.sampler.Next(), nil }, func(i int, loss float64) error {
			now := time.Now()
			dt := now.Sub(last).Seconds()
			last = now
			elapsed += dt
			s := step + uint64(i) + 1
			rows = append(rows, stepRow{s, loss, tokens / dt, elapsed})
			if met != nil {
				met.observe(loss, tokens/dt)
			}
			if cfg.Progress != nil {
				cfg.Progress.Update(int(s), loss, tokens/dt)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("steps %d-%d: %w", step+1, end, err)
		}
		// Every step carries the same bytes (M activation and M gradient
		// messages per boundary), so the stream's total divides evenly.
		bounds := r.p.Boundaries()
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
			met.observeStages(r.p.StageTimes(), n)
		}
		val := math.NaN()
		lastLoss = rows[n-1].loss
		if cfg.EvalEvery > 0 && (end%uint64(cfg.EvalEvery) == 0 || end == uint64(cfg.Steps)) {
			te := time.Now()
			if val, err = r.p.Eval(ctx, r.evalSet); err != nil {
				return fmt.Errorf("eval at step %d: %w", end, err)
			}
			lastVal = val
			// Count the evaluation's activations in the metrics, not in the next stream's rows.
			after := r.p.Boundaries()
			for i := range after {
				if met != nil {
					met.addBytes(i, after[i].Forward.Bytes-prev[i].Forward.Bytes, after[i].Backward.Bytes-prev[i].Backward.Bytes)
				}
			}
			prev = after
			if met != nil {
				met.val.Set(val)
			}
			r.log.Info("eval", "step", end, "train_loss", round(lastLoss), "val_loss", round(val),
				"tokens_per_s", math.Round(rows[n-1].tps), "bytes_per_token", round(bytesPerToken),
				"eval_time", time.Since(te).Round(time.Millisecond), "elapsed", time.Since(r.t0).Round(time.Second))
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
			if cfg.CheckpointEvery > 0 && end%uint64(cfg.CheckpointEvery) == 0 && end != uint64(cfg.Steps) {
				if err := out.saveCheckpoints(r.p, end); err != nil {
					return err
				}
				r.log.Info("checkpoint", "step", end, "dir", out.ckptDir)
			}
		}
		step = end
	}
	if cfg.Progress != nil {
		cfg.Progress.Finish()
	}
	if out != nil {
		if err := out.saveCheckpoints(r.p, uint64(cfg.Steps)); err != nil {
			return err
		}
		if err := out.plot(); err != nil {
			return err
		}
		if err := out.close(); err != nil {
			return err
		}
	}
	r.log.Info("done", "steps", cfg.Steps, "train_loss", round(lastLoss), "val_loss", round(lastVal),
		"elapsed", time.Since(r.t0).Round(time.Millisecond), "out", cfg.Out)
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
