// Package testspec is the one tiny model the trainer's unit tests share: small enough that a
// stage compiles and steps in milliseconds on the Go backend, with three one-layer stages so that
// first, middle and last stages are all exercised.
package testspec

import "github.com/protolearn/protolearn/trainer/spec"

// SeqLen is the tiny model's context length.
const SeqLen = 8

// Tiny is the shared test model: vocabulary 256, d_model 16, 3 layers in 3 stages of one, 2
// heads, SeqLen tokens, seed 7, with boundaries compressed to rank (0: uncompressed).
func Tiny(rank int) spec.Spec {
	return spec.Spec{Vocab: 256, DModel: 16, NLayers: 3, NHeads: 2, SeqLen: SeqLen, CompressionRank: rank, Stages: []int{1, 1, 1}, Seed: 7}
}
