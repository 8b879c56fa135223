// Package data turns a directory of text files into deterministic batches of
// byte tokens for the trainer's byte-level language model (vocabulary 256: a
// token is a byte).
//
// The default corpus is the Go source tree, $(go env GOROOT)/src (DefaultDir),
// which every machine with Go installed has; any other directory of text files
// can be used instead (the trainer's -data flag). Nothing is downloaded.
//
// # Loading
//
// Load walks the directory in lexical order (filepath.WalkDir) and keeps the
// regular text files:
//
//   - hidden entries (name starting with '.', e.g. .git) are skipped, and so
//     are directories named testdata (fixtures, often binary or generated)
//     unless Options.KeepTestdata is set;
//   - symbolic links and other non-regular files are skipped (never followed);
//   - a file is binary, and skipped, if it holds a NUL byte anywhere or its
//     contents are not valid UTF-8; empty files are skipped;
//   - Options.Exts, when set, keeps only files with those extensions;
//   - Options.MaxBytes, when set, bounds memory: files are taken in walk order
//     until the next one would push the total past the cap, and the walk stops.
//
// Unreadable files and directories below the root are skipped and counted, not
// fatal; Stats reports every skip by reason.
//
// # Split
//
// A file goes to the validation split if the first 8 bytes of
// SHA-256(relative path, '/'-separated), read as a big-endian uint64, fall
// below ValFraction·2^64 (default 0.05); otherwise to train. The split depends
// only on the path: it is the same on every machine and a file's side never
// moves when other files are added or removed.
//
// Each split is the concatenation of its files' bytes in walk order, each file
// followed by one document separator byte, DocSep (0x00). NUL never occurs in
// a kept file (such files are binary), so the separator is unambiguous and the
// model can learn document boundaries.
//
// # Batches
//
// A Batch holds Inputs and Targets, each batch×seqLen int32 tokens flattened
// row-major, with Targets[i] the token following Inputs[i] (targets are the
// inputs shifted by one). Corpus.Sampler draws windows at uniformly random
// offsets from a math/rand/v2 PCG seeded by the caller: the same seed gives the
// same batches on every machine. Corpus.EvalBatches returns a fixed set of
// evenly spaced windows over the validation split, so validation losses are
// comparable across runs.
package data
