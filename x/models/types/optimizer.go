package types

import (
	"strings"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
)

const (
	// DefaultLearningRate is a model's peak learning rate when its creator names none: the
	// trainer's own default.
	DefaultLearningRate = "0.003"
	// MaxPipelineDepth bounds Optimizer.pipeline_depth: stage 0 keeps that many microbatches in
	// flight, each held in memory by every stage until its gradient returns.
	MaxPipelineDepth = 64
)

// WithDefaults is o as a model stores it: an empty learning_rate is DefaultLearningRate, an
// empty weight_decay "0", a pipeline_depth of 0 twice the stages (the trainer's default), and
// the decimals in their shortest spelling, so one rule has one stored form.
func (o Optimizer) WithDefaults(stages int) Optimizer {
	if o.LearningRate == "" {
		o.LearningRate = DefaultLearningRate
	}
	if o.WeightDecay == "" {
		o.WeightDecay = "0"
	}
	if o.PipelineDepth == 0 {
		o.PipelineDepth = uint32(min(2*max(stages, 1), MaxPipelineDepth))
	}
	o.LearningRate, o.WeightDecay = shortDecimal(o.LearningRate), shortDecimal(o.WeightDecay)
	return o
}

// Validate checks a stored optimizer (WithDefaults applied), naming the bad field.
func (o Optimizer) Validate() error {
	lr, err := sdkmath.LegacyNewDecFromStr(o.LearningRate)
	if err != nil || !lr.IsPositive() || lr.GT(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidOptimizer, "optimizer.learning_rate %q: want a decimal in (0, 1], e.g. %q", o.LearningRate, DefaultLearningRate)
	}
	wd, err := sdkmath.LegacyNewDecFromStr(o.WeightDecay)
	if err != nil || wd.IsNegative() || wd.GTE(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidOptimizer, "optimizer.weight_decay %q: want a decimal in [0, 1), e.g. \"0.01\"", o.WeightDecay)
	}
	if o.DecaySteps > 0 && o.DecaySteps <= o.WarmupSteps {
		return errorsmod.Wrapf(ErrInvalidOptimizer, "optimizer.decay_steps %d must exceed warmup_steps %d (or be 0: no decay)", o.DecaySteps, o.WarmupSteps)
	}
	if o.PipelineDepth == 0 || o.PipelineDepth > MaxPipelineDepth {
		return errorsmod.Wrapf(ErrInvalidOptimizer, "optimizer.pipeline_depth %d: must be in [1, %d] (0 at creation means twice the stages)", o.PipelineDepth, MaxPipelineDepth)
	}
	return nil
}

// Optim is the model's optimizer as its trainers apply it: the stored one, or for a model
// stored before the field (empty) the defaults it was trained with.
func (m Model) Optim() Optimizer { return m.Optimizer.WithDefaults(len(m.Stages)) }

// shortDecimal spells a decimal without trailing zeros ("0.0030" → "0.003", "1.0" → "1"), and
// leaves anything that is not a plain decimal for Validate to refuse.
func shortDecimal(s string) string {
	d, err := sdkmath.LegacyNewDecFromStr(s)
	if err != nil {
		return s
	}
	out := d.String()
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out
}
