package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/payload"
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
