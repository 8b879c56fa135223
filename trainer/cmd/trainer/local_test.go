package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/local"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/plot"
)

// tinyCorpus is the shared tiny corpus.
func tinyCorpus(t *testing.T) string { return testspec.CorpusDir(t) }

// runCmd runs `trainer local args...` in process and returns its stderr.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := newLocalCmd()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(&stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return stderr.String(), err
}

func readRows(t *testing.T, path string) []local.Row {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(b), "\n"); first != local.LossHeader {
		t.Fatalf("loss.csv header %q, want %q", first, local.LossHeader)
	}
	rows, err := local.ReadLosses(path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestLocalTrainAndResume(t *testing.T) {
	corpus, out := tinyCorpus(t), t.TempDir()
	common := []string{"--spec", "tiny", "--data", corpus, "--eval-every", "3", "--eval-batches", "2", "--out", out, "--quiet"}
	logs, err := runCmd(t, append(common, "--steps", "6")...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, logs)
	}
	for _, want := range []string{"msg=corpus", "train_files=3", "val_files=1", "msg=eval", "msg=done"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	rows := readRows(t, filepath.Join(out, "loss.csv"))
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
	for i, r := range rows {
		if r.Step != uint64(i+1) || !(r.Train > 0) || !(r.TokensPerS > 0) || !(r.BytesPerTk > 0) {
			t.Errorf("row %d: %+v", i, r)
		}
		if hasVal := r.Val == r.Val; hasVal != (r.Step%3 == 0) {
			t.Errorf("row %d: val_loss %v, want one exactly every 3 steps", i, r.Val)
		}
		if !(r.Elapsed > 0) || (i > 0 && !(r.Elapsed >= rows[i-1].Elapsed)) {
			t.Errorf("row %d: elapsed_s %v, want positive and not decreasing", i, r.Elapsed)
		}
	}
	f, err := os.Open(filepath.Join(out, "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("loss.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != plot.Width || b.Dy() != plot.Height {
		t.Errorf("loss.png is %v, want %dx%d", b, plot.Width, plot.Height)
	}
	for i := range 3 {
		h, err := checkpoint.ReadHeader(filepath.Join(out, "checkpoints", fmt.Sprintf("stage-%d.ckpt", i)))
		if err != nil || h.Step != 6 || h.Stage != i {
			t.Fatalf("stage %d checkpoint: %+v, %v", i, h, err)
		}
	}

	logs, err = runCmd(t, append(common, "--steps", "9", "--resume")...)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, logs)
	}
	if !strings.Contains(logs, "msg=resumed") || !strings.Contains(logs, "step=6") {
		t.Errorf("resume logs:\n%s", logs)
	}
	rows2 := readRows(t, filepath.Join(out, "loss.csv"))
	if len(rows2) != 9 {
		t.Fatalf("after resume %d rows, want 9", len(rows2))
	}
	for i := range rows {
		if rows2[i].Train != rows[i].Train {
			t.Errorf("resume rewrote row %d: %+v, was %+v", i, rows2[i], rows[i])
		}
	}
	if rows2[8].Step != 9 || rows2[8].Val != rows2[8].Val {
		t.Errorf("last row %+v, want step 9 with a val_loss", rows2[8])
	}
	// elapsed_s goes on from the checkpoint's row.
	if rows2[5].Elapsed != rows[5].Elapsed || !(rows2[6].Elapsed > rows[5].Elapsed) || !(rows2[8].Elapsed >= rows2[6].Elapsed) {
		t.Errorf("elapsed_s after resume: %v, %v, %v (was %v at step 6)", rows2[5].Elapsed, rows2[6].Elapsed, rows2[8].Elapsed, rows[5].Elapsed)
	}
	// Resuming is exact: the same losses as 9 steps in one run (data order and optimizer state).
	straight := t.TempDir()
	if logs, err := runCmd(t, "--spec", "tiny", "--data", corpus, "--eval-every", "0", "--out", straight, "--quiet", "--steps", "9"); err != nil {
		t.Fatalf("straight run: %v\n%s", err, logs)
	}
	for i, r := range readRows(t, filepath.Join(straight, "loss.csv")) {
		if r.Train != rows2[i].Train {
			t.Errorf("step %d: train loss %v resumed, %v in one run", r.Step, rows2[i].Train, r.Train)
		}
	}
	h, err := checkpoint.ReadHeader(filepath.Join(out, "checkpoints", "stage-2.ckpt"))
	if err != nil || h.Step != 9 {
		t.Fatalf("checkpoint after resume: %+v, %v", h, err)
	}

	// Resuming at or past --steps does nothing and keeps the files.
	if logs, err = runCmd(t, append(common, "--steps", "9", "--resume")...); err != nil || !strings.Contains(logs, "nothing to do") {
		t.Fatalf("resume at the end: %v\n%s", err, logs)
	}
	if n := len(readRows(t, filepath.Join(out, "loss.csv"))); n != 9 {
		t.Fatalf("%d rows after a no-op resume, want 9", n)
	}
}

// TestLocalAsync trains with the asynchronous 1F1B schedule and NAdam: every
// step is written and the loss is finite.
func TestLocalAsync(t *testing.T) {
	corpus, out := tinyCorpus(t), t.TempDir()
	logs, err := runCmd(t, "--spec", "tiny", "--data", corpus, "--schedule", "async", "--optimizer", "nadam",
		"--microbatches", "4", "--async-depth", "2", "--steps", "4", "--eval-every", "0", "--out", out, "--quiet")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, logs)
	}
	if !strings.Contains(logs, "schedule=async") {
		t.Errorf("logs lack the schedule:\n%s", logs)
	}
	rows := readRows(t, filepath.Join(out, "loss.csv"))
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		if !(r.Train > 0) || math.IsInf(r.Train, 0) {
			t.Errorf("step %d: train loss %v", r.Step, r.Train)
		}
	}
}

// TestLocalAsyncResume: under --schedule async (depth 2) a run resumed from
// its checkpoint continues with the same losses as one run that cut its
// pipeline streams at the same step (--checkpoint-every).
func TestLocalAsyncResume(t *testing.T) {
	corpus, out, straight := tinyCorpus(t), t.TempDir(), t.TempDir()
	common := []string{
		"--spec", "tiny", "--data", corpus, "--schedule", "async", "--optimizer", "nadam", "--async-depth", "2",
		"--microbatches", "2", "--eval-every", "0", "--quiet",
	}
	for _, args := range [][]string{
		{"--out", out, "--steps", "3", "--decay-steps", "6"}, // the same learning-rate schedule as the others
		{"--out", out, "--steps", "6", "--resume"},
		{"--out", straight, "--steps", "6", "--checkpoint-every", "3"},
	} {
		if logs, err := runCmd(t, append(common, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, logs)
		}
	}
	resumed, one := readRows(t, filepath.Join(out, "loss.csv")), readRows(t, filepath.Join(straight, "loss.csv"))
	if len(resumed) != 6 || len(one) != 6 {
		t.Fatalf("%d and %d rows, want 6", len(resumed), len(one))
	}
	for i := range one {
		if resumed[i].Train != one[i].Train {
			t.Errorf("step %d: train loss %v resumed, %v in one run", one[i].Step, resumed[i].Train, one[i].Train)
		}
	}
}

func TestLocalFlagErrors(t *testing.T) {
	corpus := tinyCorpus(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--spec", "huge"}, `--spec "huge": not a preset (gpu-2048, small, tiny)`},
		{[]string{"--stages", "2"}, "--stages 2 does not divide the spec's 3 layers evenly (try one of 1, 3)"},
		{[]string{"--data", filepath.Join(corpus, "nope")}, "--data"},
		{[]string{"--link-bandwidth", "fast"}, `--link-bandwidth: "fast" is not a bandwidth`},
		{[]string{"--link-loss", "1"}, "--link-loss 1: must be in [0, 1)"},
		{[]string{"--link-jitter", "-1ms"}, "--link-jitter -1ms: must not be negative"},
		{[]string{"--payload", "f16"}, "--payload \"f16\": accepted values: f32, bf16"},
		{[]string{"--schedule", "gpipe2"}, `--schedule "gpipe2": accepted values: async, gpipe`},
		{[]string{"--schedule", "async"}, "--schedule async needs --optimizer nadam"},
		{[]string{"--optimizer", "sgd"}, "accepted values: adamw, nadam"},
		{[]string{"--decay-steps", "5"}, "--decay-steps needs --optimizer nadam"},
		{[]string{"--optimizer", "nadam", "--decay-steps", "-1"}, "--decay-steps -1"},
		{[]string{"--async-depth", "0"}, "--async-depth 0: must be at least 1"},
		{[]string{"--async-depth", "2"}, "--async-depth needs --schedule async"},
		{[]string{"--warmup", "10"}, "--warmup needs --optimizer nadam"},
		{[]string{"--microbatches", "3"}, "--microbatches 3: must be positive and divide --batch 8"},
		{[]string{"--resume"}, "--resume needs --out"},
		{[]string{"--max-bytes", "lots"}, "--max-bytes"},
		{[]string{"--compression-rank", "-1"}, "--compression-rank -1"},
		{[]string{"--steps", "0"}, "--steps 0"},
		{[]string{"--metrics-addr", "256.0.0.1:x"}, "--metrics-addr"},
		{[]string{"--resume", "--out", t.TempDir()}, "--resume: no checkpoint"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"--backend", "tpu"}, `--backend: backend "tpu": accepted values: go, xla`},
	}
	for _, c := range cases {
		args := append([]string{"--data", corpus, "--steps", "1", "--quiet"}, c.args...)
		_, err := runCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

func TestParseBandwidth(t *testing.T) {
	for in, want := range map[string]float64{"80Mbit": 80e6, "1Gbit": 1e9, "500kbit": 5e5, "2.5e6": 2.5e6, "0": 0, "100 Mbps": 1e8, "10Mbit/s": 1e7} {
		if got, err := parseBandwidth(in); err != nil || got != want {
			t.Errorf("parseBandwidth(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "-1Mbit", "Mbit"} {
		if _, err := parseBandwidth(in); err == nil {
			t.Errorf("parseBandwidth(%q) accepted", in)
		}
	}
	for in, want := range map[string]int64{"64MiB": 64 << 20, "512KiB": 512 << 10, "1000": 1000, "0": 0, "2G": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestAsyncScheduleCountsUpdates: NAdam counts its own updates, and under
// --schedule async a stage updates once per microbatch, so warm-up and
// decay are given to it in updates (steps × microbatches); GPipe's stay in
// steps.
func TestAsyncScheduleCountsUpdates(t *testing.T) {
	for _, tc := range []struct {
		schedule              string
		warmup, decay, factor int
	}{{"async", 5, 40, 4}, {"gpipe", 5, 40, 1}} {
		f := &localFlags{
			modelFlags: modelFlags{spec: "tiny"}, steps: 40, batch: 8, microbatches: 4, lr: 1e-3, warmup: tc.warmup, optimizer: "nadam",
			schedule: tc.schedule, asyncDepth: 1, wireFlags: wireFlags{linkBandwidth: "0", payloadDType: "f32"}, maxBytes: "1MiB", evalBatches: 1,
		}
		r, err := f.config(newLocalCmd())
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.NewOptimizer(0)
		if err != nil {
			t.Fatal(err)
		}
		c := o.(*optim.NAdam).Config()
		if c.WarmupSteps != tc.warmup*tc.factor || c.DecaySteps != tc.decay*tc.factor {
			t.Errorf("%s: warm-up %d and decay %d updates, want %d and %d", tc.schedule, c.WarmupSteps, c.DecaySteps, tc.warmup*tc.factor, tc.decay*tc.factor)
		}
	}
}
