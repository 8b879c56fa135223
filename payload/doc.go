// Package payload encodes and decodes the boundary tensors that pipeline
// stages of the trainer send each other, exactly and strictly.
//
// Forward, a stage sends Activations: the raw residual stream X (b×n×d_model,
// compression_rank = 0, the baseline) or its subspace coordinates
// C = (X − T_fixed[ids])·U (b×n×k, Compressed), always with the token ids,
// which the receiver needs to rebuild X = C·Uᵀ + T_fixed[ids] and the last
// stage needs for the loss. Backward, a stage sends Gradients: ∂L/∂X raw or
// ∂L/∂C = Uᵀ·∂L/∂X compressed, without ids (the receiver already holds its
// microbatch's ids; (Step, Microbatch) identify it).
//
// # Wire format (version 1, little-endian)
//
//	offset  size  field
//	0       4     magic "PLP1"
//	4       1     version = 1
//	5       1     kind: 1 activations, 2 gradients
//	6       1     dtype: 1 f32, 2 bf16
//	7       1     flags: bit 0 compressed (width is the rank k); other bits 0
//	8       1     id width in bytes: 0 (gradients), else 1 if vocab ≤ 256,
//	              2 if vocab ≤ 65536, 4 otherwise (fixed by kind and vocab)
//	9       3     reserved, 0
//	12      8     step (uint64)
//	20      4     microbatch (uint32)
//	24      4     batch b (uint32, ≥ 1)
//	28      4     seq n (uint32, ≥ 1)
//	32      4     width w (uint32, ≥ 1): k compressed, d_model raw
//	36      4     vocab V (uint32): activations 1..2^31, gradients 0
//	40      b·n·idw   ids, row-major [b][n], unsigned, each < V
//	…       b·n·w·s   values, row-major [b][n][w]: f32 (s = 4, the float32
//	                  bits) or bf16 (s = 2, the top half of the float32 bits
//	                  after round-to-nearest-even)
//
// The total is exactly 40 + b·n·idw + b·n·w·s bytes (EncodedSize); that is the
// count a link emulator or the metrics charge. For the byte-level model
// (V = 256) an id costs one byte.
//
// # Strictness
//
// Encode refuses (ErrInvalid) a payload whose shape, data length or ids are
// inconsistent, and (ErrNonFinite) any NaN or ±Inf value, and in bf16 any
// finite value that would round to ±Inf (|x| ≥ BF16MaxFinite + 2^119): a
// non-finite boundary is a bug to stop on, never something to saturate. The
// error names the element (index, batch, position, column).
//
// Decode accepts only what Encode can produce: wrong magic or version,
// unknown kind, dtype or flags, non-zero reserved bytes, an id width that does
// not match the vocabulary, a length not exactly the header's size (truncated
// or trailing bytes), an id ≥ vocab (ErrMalformed), sizes beyond the
// receiver's Limits (ErrLimit, checked in 64-bit arithmetic with overflow
// detection before anything is allocated) and NaN/±Inf values
// (ErrNonFinite) are errors that say what is wrong and at which byte. Decode
// never panics, and a payload it returns re-encodes to the same bytes.
//
// (*Payload).Check compares a decoded payload with the Shape the receiving
// stage expects and names the first field that differs.
package payload
