// Package spec is a protocol model's architecture as the trainer runs it: the
// fields of x/models' Architecture and stages, validated for what the stage
// engine needs, and the split of the layers into pipeline stages.
package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// Spec is a model: a LLaMA-style decoder (RMSNorm, RoPE, SwiGLU, causal
// multi-head attention) split into pipeline stages.
type Spec struct {
	// Vocab is the vocabulary size (256 for byte-level data).
	Vocab int `json:"vocab"`
	// DModel is the width of the residual stream.
	DModel int `json:"d_model"`
	// NLayers is the number of transformer blocks; Stages add up to it.
	NLayers int `json:"n_layers"`
	// NHeads is the number of attention heads; the head width DModel/NHeads
	// must be even (RoPE rotates pairs of dimensions).
	NHeads int `json:"n_heads"`
	// SeqLen is the training context in tokens.
	SeqLen int `json:"seq_len"`
	// CompressionRank is k, the dimension of the subspace the residual stream
	// is kept in between stages; 0 sends raw activations (the baseline).
	CompressionRank int `json:"compression_rank"`
	// Stages are the layers of each stage, stage 0 first. Stage 0 also holds
	// the token embedding, the last stage the final norm, LM head and loss.
	Stages []int `json:"stages"`
	// Seed derives the initial weights, U and the fixed token embedding.
	Seed uint64 `json:"seed"`
}

// Validate reports a spec the engine cannot run, naming the field and what to
// change.
func (s Spec) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab", s.Vocab}, {"d_model", s.DModel}, {"n_layers", s.NLayers}, {"n_heads", s.NHeads}, {"seq_len", s.SeqLen}} {
		if f.v <= 0 {
			return fmt.Errorf("spec: %s is %d; it must be positive", f.name, f.v)
		}
	}
	if s.DModel%s.NHeads != 0 {
		return fmt.Errorf("spec: d_model %d is not divisible by n_heads %d", s.DModel, s.NHeads)
	}
	if hd := s.DModel / s.NHeads; hd%2 != 0 {
		return fmt.Errorf("spec: head width d_model/n_heads = %d is odd; RoPE needs it even (change d_model or n_heads)", hd)
	}
	if s.CompressionRank < 0 || s.CompressionRank >= s.DModel {
		return fmt.Errorf("spec: compression_rank %d must be in [1, d_model-1] = [1, %d], or 0 for raw activations", s.CompressionRank, s.DModel-1)
	}
	if len(s.Stages) == 0 {
		return errors.New("spec: stages is empty; give the layers of each stage, stage 0 first")
	}
	sum := 0
	for i, l := range s.Stages {
		if l <= 0 {
			return fmt.Errorf("spec: stages[%d] has %d layers; every stage needs at least 1", i, l)
		}
		sum += l
	}
	if sum != s.NLayers {
		return fmt.Errorf("spec: stages %v add up to %d layers, n_layers is %d", s.Stages, sum, s.NLayers)
	}
	return nil
}

// Compressed reports whether boundaries carry the k-dimensional subspace
// coordinates rather than raw activations.
func (s Spec) Compressed() bool { return s.CompressionRank > 0 }

// HeadDim is the width of one attention head.
func (s Spec) HeadDim() int { return s.DModel / s.NHeads }

// FFNHidden is the hidden width of a block's SwiGLU: 8/3·d_model rounded up
// to a multiple of 32, LLaMA's rule (the same parameter count as a 4·d_model
// GELU MLP). It is fixed by d_model so that every replica builds the same
// shapes from the chain's fields.
func (s Spec) FFNHidden() int {
	h := (8*s.DModel + 2) / 3
	return (h + 31) / 32 * 32
}

// BoundaryWidth is the width of the payload a stage boundary carries per
// token: k compressed, d_model raw.
func (s Spec) BoundaryWidth() int {
	if s.Compressed() {
		return s.CompressionRank
	}
	return s.DModel
}

// Stage is one pipeline stage of a spec.
type Stage struct {
	// Index is the stage's number, from 0.
	Index int
	// FirstLayer is the global index of its first block; it runs blocks
	// [FirstLayer, FirstLayer+Layers).
	FirstLayer, Layers int
	// First holds the token embedding; Last the final norm, LM head and loss.
	First, Last bool
}

// Stage returns stage i of a valid spec.
func (s Spec) Stage(i int) (Stage, error) {
	if err := s.Validate(); err != nil {
		return Stage{}, err
	}
	if i < 0 || i >= len(s.Stages) {
		return Stage{}, fmt.Errorf("spec: stage %d outside [0, %d)", i, len(s.Stages))
	}
	first := 0
	for _, l := range s.Stages[:i] {
		first += l
	}
	return Stage{Index: i, FirstLayer: first, Layers: s.Stages[i], First: i == 0, Last: i == len(s.Stages)-1}, nil
}

// FromModel is the spec of a model registered in x/models. The chain writes
// "no compression" as compression_rank = d_model; the trainer sends raw
// activations then (rank 0), which carries the same bytes without the
// projection.
func FromModel(m modelstypes.Model) (Spec, error) {
	a := m.Arch
	s := Spec{
		Vocab: int(a.Vocab), DModel: int(a.DModel), NLayers: int(a.NLayers), NHeads: int(a.NHeads),
		SeqLen: int(a.SeqLen), CompressionRank: int(a.CompressionRank), Seed: m.Seed,
	}
	if s.CompressionRank == s.DModel {
		s.CompressionRank = 0
	}
	for _, st := range m.Stages {
		s.Stages = append(s.Stages, int(st.Layers))
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("model %d: %w", m.Id, err)
	}
	return s, nil
}

// Load reads a spec from a JSON file (the field names above), refusing
// unknown fields so that a typo is not silently a default.
func Load(path string) (Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spec{}, fmt.Errorf("spec: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("spec: %s: %w", path, err)
	}
	if dec.More() {
		return Spec{}, fmt.Errorf("spec: %s: more than one JSON value", path)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Presets are named specs for tests, benchmarks and the GPU measurement.
var presets = map[string]Spec{
	// tiny: the tests' model, seconds per step on CPU.
	"tiny": {Vocab: 256, DModel: 64, NLayers: 3, NHeads: 4, SeqLen: 32, CompressionRank: 2, Stages: []int{1, 1, 1}, Seed: 1},
	// small: the CPU benchmarks' model, 4 stages, d/k = 32.
	"small": {Vocab: 256, DModel: 128, NLayers: 8, NHeads: 4, SeqLen: 64, CompressionRank: 4, Stages: []int{2, 2, 2, 2}, Seed: 1},
	// gpu-2048: one stage of the GPU measurement, d/k ≈ 100.
	"gpu-2048": {Vocab: 256, DModel: 2048, NLayers: 8, NHeads: 16, SeqLen: 1024, CompressionRank: 20, Stages: []int{2, 2, 2, 2}, Seed: 1},
}

// Preset returns a named spec (a copy).
func Preset(name string) (Spec, error) {
	s, ok := presets[name]
	if !ok {
		return Spec{}, fmt.Errorf("spec: no preset %q; presets: %s", name, strings.Join(PresetNames(), ", "))
	}
	s.Stages = append([]int(nil), s.Stages...)
	return s, nil
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
