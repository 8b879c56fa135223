package local

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/pipeline"
	"github.com/protolearn/protolearn/trainer/plot"
)

// LossHeader is loss.csv's first line. elapsed_s is the training time since
// step 0 in seconds: the steps' wall time summed, evaluations excluded (a
// resumed run continues from the last row's). Files written before that
// column existed (5 columns) are still read; their rows have no elapsed_s.
const LossHeader = "step,train_loss,val_loss,tokens_per_s,bytes_per_token,elapsed_s"

// outputs is a run's --out directory: loss.csv, loss.png, checkpoints/.
type outputs struct {
	dir, csvPath, pngPath, ckptDir string
	csv                            *os.File
	rows                           []Row
}

// Row is one line of loss.csv; Val is NaN on steps without evaluation,
// Elapsed NaN in rows read from a file without the elapsed_s column.
type Row struct {
	Step       uint64
	Train, Val float64
	TokensPerS float64
	BytesPerTk float64
	Elapsed    float64
}

func openOutputs(dir string) (*outputs, error) {
	o := &outputs{
		dir: dir, csvPath: filepath.Join(dir, "loss.csv"), pngPath: filepath.Join(dir, "loss.png"),
		ckptDir: filepath.Join(dir, "checkpoints"),
	}
	if err := os.MkdirAll(o.ckptDir, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", dir, err)
	}
	return o, nil
}

func (o *outputs) ckptPath(stage int) string {
	return filepath.Join(o.ckptDir, fmt.Sprintf("stage-%d.ckpt", stage))
}

// startCSV begins a fresh loss.csv.
func (o *outputs) startCSV() error {
	f, err := os.Create(o.csvPath)
	if err != nil {
		return err
	}
	o.csv = f
	_, err = fmt.Fprintln(f, LossHeader)
	return err
}

// truncateCSV keeps loss.csv's rows up to step (later rows belong to steps
// the checkpoints do not hold) and reopens it for appending.
func (o *outputs) truncateCSV(step uint64) error {
	rows, err := ReadLosses(o.csvPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--resume: %w", err)
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.Step <= step {
			kept = append(kept, r)
		}
	}
	o.rows = kept
	if err := o.startCSV(); err != nil {
		return err
	}
	for _, r := range kept {
		if err := o.writeRow(r); err != nil {
			return err
		}
	}
	return nil
}

// lastElapsed is the elapsed_s of the last row read back by truncateCSV, 0
// if there is none or it has no elapsed_s.
func (o *outputs) lastElapsed() float64 {
	if len(o.rows) == 0 || math.IsNaN(o.rows[len(o.rows)-1].Elapsed) {
		return 0
	}
	return o.rows[len(o.rows)-1].Elapsed
}

func (o *outputs) appendRow(step uint64, train, val, tps, bpt, elapsed float64) error {
	r := Row{Step: step, Train: train, Val: val, TokensPerS: tps, BytesPerTk: bpt, Elapsed: elapsed}
	o.rows = append(o.rows, r)
	return o.writeRow(r)
}

func (o *outputs) writeRow(r Row) error {
	val := ""
	if !math.IsNaN(r.Val) {
		val = strconv.FormatFloat(r.Val, 'f', 6, 64)
	}
	elapsed := ""
	if !math.IsNaN(r.Elapsed) {
		elapsed = strconv.FormatFloat(r.Elapsed, 'f', 3, 64)
	}
	_, err := fmt.Fprintf(o.csv, "%d,%.6f,%s,%.1f,%.2f,%s\n", r.Step, r.Train, val, r.TokensPerS, r.BytesPerTk, elapsed)
	return err
}

func (o *outputs) close() error {
	if o.csv == nil {
		return nil
	}
	err := o.csv.Close()
	o.csv = nil
	return err
}

// ReadLosses parses a loss.csv written by a run.
func ReadLosses(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 || (len(recs[0]) != 5 && len(recs[0]) != 6) || recs[0][0] != "step" {
		return nil, fmt.Errorf("%s: not a loss.csv (header %q)", path, LossHeader)
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var r Row
		var errs [6]error
		r.Step, errs[0] = strconv.ParseUint(rec[0], 10, 64)
		r.Train, errs[1] = strconv.ParseFloat(rec[1], 64)
		r.Val = math.NaN()
		if rec[2] != "" {
			r.Val, errs[2] = strconv.ParseFloat(rec[2], 64)
		}
		r.TokensPerS, errs[3] = strconv.ParseFloat(rec[3], 64)
		r.BytesPerTk, errs[4] = strconv.ParseFloat(rec[4], 64)
		r.Elapsed = math.NaN()
		if len(rec) == 6 && rec[5] != "" {
			r.Elapsed, errs[5] = strconv.ParseFloat(rec[5], 64)
		}
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, i+2, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func (o *outputs) saveCheckpoints(p *pipeline.Pipeline, step uint64) error {
	for i, st := range p.Stages() {
		if err := checkpoint.Save(o.ckptPath(i), st, step); err != nil {
			return fmt.Errorf("checkpoint stage %d: %w", i, err)
		}
	}
	return nil
}

// loadCheckpoints restores every stage and returns their common step.
func (o *outputs) loadCheckpoints(p *pipeline.Pipeline) (uint64, error) {
	var step uint64
	for i, st := range p.Stages() {
		path := o.ckptPath(i)
		s, err := checkpoint.Load(path, st)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return 0, fmt.Errorf("--resume: no checkpoint %s (was --out written by a run with the same --spec and --stages?)", path)
			}
			return 0, fmt.Errorf("--resume: stage %d: %w (the model flags must match the run that wrote it)", i, err)
		}
		if i > 0 && s != step {
			return 0, fmt.Errorf("--resume: stage %d is at step %d but stage 0 at step %d", i, s, step)
		}
		step = s
	}
	return step, nil
}

// plot draws loss.png from the rows.
func (o *outputs) plot() error {
	f, err := os.Create(o.pngPath)
	if err != nil {
		return err
	}
	if err := plotLoss(f, o.rows, plot.Width, plot.Height); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", o.pngPath, err)
	}
	return f.Close()
}
