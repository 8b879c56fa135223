package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/spec"
)

// modelFlags choose the model: --spec, --stages, --compression-rank.
type modelFlags struct {
	spec            string
	stages          int
	compressionRank int
}

func (m *modelFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&m.spec, "spec", "tiny", "model: a preset ("+strings.Join(spec.PresetNames(), "|")+") or a JSON spec file")
	fl.IntVar(&m.stages, "stages", 0, "override the number of stages: n_layers split evenly (0 keeps the spec's)")
	fl.IntVar(&m.compressionRank, "compression-rank", 0, "override the subspace rank k of the boundaries (0 = raw activations); unset keeps the spec's")
}

func (m *modelFlags) resolve(cmd *cobra.Command) (spec.Spec, error) {
	return resolveSpec(cmd, m.spec, m.stages, m.compressionRank)
}

// linkFlags emulate a WAN path: --link-bandwidth and --link-latency.
type linkFlags struct {
	bandwidth string
	latency   time.Duration
}

func (l *linkFlags) add(fl *pflag.FlagSet, where string) {
	fl.StringVar(&l.bandwidth, "link-bandwidth", "0", "emulated bandwidth of "+where+", e.g. 80Mbit (0 = unlimited)")
	fl.DurationVar(&l.latency, "link-latency", 0, "emulated one-way latency of "+where+", e.g. 50ms")
}

func (l *linkFlags) link() (link.Config, error) { return linkConfig(l.bandwidth, l.latency, 0, 0) }

// wireFlags shape the boundary traffic: --link-* and --payload.
type wireFlags struct {
	linkBandwidth string
	linkLatency   time.Duration
	linkJitter    time.Duration
	linkLoss      float64
	payloadDType  string
}

// add registers the flags; where says which links they shape.
func (w *wireFlags) add(fl *pflag.FlagSet, where string) {
	fl.StringVar(&w.linkBandwidth, "link-bandwidth", "0", "bandwidth of "+where+", e.g. 80Mbit, 1Gbit, 2.5e6 (bits/s); 0 = unlimited")
	fl.DurationVar(&w.linkLatency, "link-latency", 0, "one-way latency of "+where+", e.g. 20ms")
	fl.DurationVar(&w.linkJitter, "link-jitter", 0, "extra random delay per message in [0, jitter), in order, e.g. 5ms")
	fl.Float64Var(&w.linkLoss, "link-loss", 0, "packet loss probability of "+where+" (retransmitted after a round trip), in [0, 1)")
	fl.StringVar(&w.payloadDType, "payload", "f32", "wire type of activations and gradients: f32|bf16")
}

// link is the emulated path of the --link-* flags.
func (w *wireFlags) link() (link.Config, error) {
	return linkConfig(w.linkBandwidth, w.linkLatency, w.linkJitter, w.linkLoss)
}

// payload is the --payload value type.
func (w *wireFlags) payload() (payload.DType, error) {
	switch w.payloadDType {
	case "f32":
		return payload.F32, nil
	case "bf16":
		return payload.BF16, nil
	}
	return 0, fmt.Errorf("--payload %q: accepted values: f32, bf16", w.payloadDType)
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
