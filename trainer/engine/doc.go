// Package engine runs one pipeline stage of a spec.Spec on a GoMLX backend:
// its parameters, a compiled forward pass and a compiled backward pass that
// also applies the optimizer update.
//
// A stage holds blocks [FirstLayer, FirstLayer+Layers) of a LLaMA-style
// decoder: each block is x + Attn(RMSNorm(x)) followed by x + MLP(RMSNorm(x)),
// with causal multi-head self-attention using rotary position embeddings
// (RoPE, "rotate half" pairing, base 10000) and a SwiGLU MLP of hidden width
// spec.FFNHidden(). Stage 0 first embeds the token ids (a vocab×d table);
// the last stage ends with a final RMSNorm, the LM head (d×vocab) and the mean
// cross-entropy against the targets.
//
// The norms here carry the standard trainable elementwise gain. Subspace
// compression between stages (shared/notes/algorithms.md) needs gain-free
// norms on whatever writes into the residual stream before the last
// boundary, plus the output projections kept in span(U); that is not built
// yet: Spec.CompressionRank is ignored by this package for now and stages
// exchange raw activations [batch, seq, d_model].
//
// Backward recomputes the stage's forward from its saved input (graphs keep no
// activations between calls) and differentiates the surrogate loss
// Σ out·stop_gradient(dOut), which gives dIn and every parameter gradient in
// one graph; the same graph applies AdamW to the parameters. The last stage
// differentiates the real loss instead.
//
// Initial weights are drawn on the host from a PCG generator keyed by
// spec.Seed and each parameter's name, and the names carry the global layer
// index, so a stage's initial weights depend only on the seed and the layers
// it holds (and thus on the stage index for a given split), not on the
// backend.
package engine
