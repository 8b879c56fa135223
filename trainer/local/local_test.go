package local

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/link"
)

// tinyConfig is a two-step run of the shared tiny model on the shared tiny corpus.
func tinyConfig(t *testing.T) Config {
	return Config{
		Spec: testspec.Tiny(2), SpecName: "test", DataDir: testspec.CorpusDir(t), Steps: 2, Batch: 4, Microbatches: 2,
		Depth: 1, EvalEvery: 2, EvalBatches: 1, Backend: "go", Optimizer: "adamw",
	}
}

// TestMetrics: the metrics page serves the run's metrics while the run is open, and nothing
// after Close.
func TestMetrics(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.MetricsAddr = "127.0.0.1:0"
	ctx := context.Background()
	r, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	url := r.MetricsURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("metrics served at %q", url)
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{
		"trainer_tokens_per_second", "trainer_train_loss", "trainer_val_loss", "trainer_steps_total 2",
		`trainer_boundary_bytes_total{boundary="0",direction="forward"}`,
		`trainer_boundary_bytes_total{boundary="1",direction="backward"}`,
		"trainer_compression_ratio", `trainer_stage_step_seconds_count{stage="2"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := r.Run(ctx); err == nil {
		t.Error("a second Run was accepted")
	}
	r.Close()
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Error("the metrics server still answers after Close")
	}
}

// TestConfigErrors: a bad configuration is refused by New, with the setting at fault named.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Steps = 0 }, "steps 0"},
		{func(c *Config) { c.Microbatches = 3 }, "microbatches 3: must be positive and divide the batch 4"},
		{func(c *Config) { c.Depth = 0 }, "depth 0"},
		{func(c *Config) { c.EvalBatches = 0 }, "eval batches 0"},
		{func(c *Config) { c.Resume = true }, "resuming needs the output directory"},
		{func(c *Config) { c.Links = make([]link.Config, 1) }, "1 links for 2 stage boundaries"},
		{func(c *Config) { c.Spec.DModel = 0 }, "d_model"},
		{func(c *Config) { c.Backend = "tpu" }, "backend"},
		{func(c *Config) { c.MetricsAddr = "256.0.0.1:x" }, "metrics address"},
	} {
		cfg := tinyConfig(t)
		c.edit(&cfg)
		r, err := New(context.Background(), cfg)
		if err == nil {
			r.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

// TestReadOldCSV reads a loss.csv from before the elapsed_s column.
func TestReadOldCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.csv")
	old := "step,train_loss,val_loss,tokens_per_s,bytes_per_token\n1,5.000000,,100.0,9.00\n2,4.000000,4.500000,110.0,9.00\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadLosses(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Val != 4.5 || !math.IsNaN(rows[1].Elapsed) || !math.IsNaN(rows[0].Val) {
		t.Fatalf("rows %+v", rows)
	}
	o := &outputs{rows: rows}
	if got := o.lastElapsed(); got != 0 {
		t.Errorf("lastElapsed of rows without elapsed_s = %v, want 0", got)
	}
}

func TestPlotEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := plotLoss(&b, nil, 200, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&b); err != nil {
		t.Fatal(err)
	}
}
