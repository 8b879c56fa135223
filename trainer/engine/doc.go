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
// Subspace compression (Spec.CompressionRank k > 0; docs/ALGORITHMS.md,
// "Subspace compression between stages", variant (b), reparameterization).
// Two fixed tensors are derived from spec.Seed alone, identically on every
// stage and replica, and are never trained or sent: U (d×k, orthonormal
// columns: modified Gram-Schmidt, twice, of a seeded Gaussian d×k matrix, in
// float64 on the host) and T_fixed (vocab×d, standard Gaussian). They enter
// the graphs as constants, not store variables, so no optimizer or weight
// exchange ever sees them. Then:
//
//   - stage 0 embeds X₀ = T_fixed[ids] + E_small[ids]·Uᵀ with a trainable
//     E_small (vocab×k, parameter "embed_small") instead of "embed";
//   - on every stage but the last, each block's attention output projection
//     and MLP down projection are W_small·Uᵀ (parameters "wo_small" d×k and
//     "w_down_small" hidden×k), so everything a block adds to the residual
//     stream lies in span(U). The last stage's blocks have no boundary after
//     them and stay full rank ("wo", "w_down", d wide);
//   - a non-last stage's Forward returns C = (X − T_fixed[ids])·U
//     [batch, seq, k], and a later stage takes C with the token ids and
//     rebuilds X = C·Uᵀ + T_fixed[ids]; its Backward returns ∂L/∂C = ∂L/∂X·U
//     (autodiff through the rebuild). Stages after the first therefore take
//     the ids (NeedsIDs); raw models (k = 0) ignore them.
//
// By induction X − T_fixed[ids] = (E_small[ids] + Σ block outputs in
// coordinates)·Uᵀ at every boundary, so the rebuild is exact up to float
// rounding (measured in float64: max |C·Uᵀ + T_fixed[ids] − X| and the largest
// component of X − T_fixed[ids] outside span(U) both below 1e-15, also after
// AdamW steps with weight decay). The RMSNorms keep their trainable
// elementwise gain: the blocks are pre-norm, x + Attn(RMSNorm(x)) and
// x + MLP(RMSNorm(x)), so a norm's output only feeds a sublayer's input
// projections (wq, wk, wv, w_gate, w_up), whose result reaches the stream only
// through W_small·Uᵀ; no norm output is ever added to the stream. The final
// norm sits on the last stage, after the last boundary. (The published
// configuration applies gain-free norms to sublayer outputs, which are added
// to the stream; this engine has no such norms.) The embedding has no
// additive position term to subtract: positions enter through RoPE inside
// attention.
//
// Backward recomputes the stage's forward from its saved input (graphs keep no
// activations between calls) and differentiates the surrogate loss
// Σ out·stop_gradient(dOut), which gives dIn and every parameter gradient in
// one graph; the same graph applies AdamW to the parameters. The last stage
// differentiates the real loss instead.
//
// For a synchronous pipeline step over microbatches, AccumulateBackward and
// AccumulateBackwardLoss run the same backward pass but add the parameter
// gradients into non-trainable accumulator variables (store scope
// AccumulatorScope, created on first use) instead of updating, and ApplyAccumulated runs the optimizer
// once with their mean and zeroes them (accumulate.go).
//
// Initial weights are drawn on the host from a PCG generator keyed by
// spec.Seed and each parameter's name, and the names carry the global layer
// index, so a stage's initial weights depend only on the seed and the layers
// it holds (and thus on the stage index for a given split), not on the
// backend.
package engine
