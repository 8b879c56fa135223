// Package commit is the tensor commitment scheme shared by the trainer and the
// gnark circuits: the trainer commits its tensors with the native functions and
// the circuits re-derive the same roots with the in-circuit twins defined next to
// them, so the two cannot drift apart.
//
// A float32 matrix is quantized to signed B-bit fixed point (scale 2^F), the
// values are biased to unsigned and packed floor(253/B) to a BN254 field
// element, and the matrix is committed as a salted Merkle tree whose leaves are
// laid out so that the unit a spot check opens is one aligned subtree:
//
//   - [Rows]: one row is one leaf (X of Y = X·W: the challenged row);
//   - [Columns]: one column is one leaf, so T consecutive columns are a subtree
//     (W: the challenged column block);
//   - [RowChunks]: each row is cut into leaves of Params.ChunkLen values, so T
//     consecutive values of a row are a subtree (Y: the challenged row block).
//
// A leaf is the hash of its packed elements e_1…e_m keyed by a per-leaf salt,
// H_salt(e_1, …, e_m) (see [Scheme.LeafHash]: a width-3 Poseidon2 sponge by
// default); salts derive from a secret per-tensor [Seed], so a root hides the
// tensor. An internal node is the hash's 2-to-1 compression of its children.
// The hash is behind [Hash] ([Poseidon2] by default; [Poseidon2Chain] and
// [MiMC] for comparison); circuits/README.md has the measurements behind the
// choice and the soundness arguments.
package commit
