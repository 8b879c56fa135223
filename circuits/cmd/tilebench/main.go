// Command tilebench measures one tile shape per process, so that the peak
// resident set it reports belongs to that shape: constraints, compile,
// setup (or loading keys), prove and verify times, proof and key sizes.
// scripts/bench-circuits.sh (`make bench-circuits`) runs it over a grid.
//
//	tilebench -inner 1024 -t 4 -json
//	tilebench -inner 4096 -t 16 -keys build/keys -prove-runs 1
//
// With -keys DIR it loads DIR/<shape>/{proving.key,verifying.key} (written
// by tilekeys or the ceremony) instead of running setup, so the peak RSS is
// the prover's and not setup's. Keys from a single-party setup are for
// development only (see tilekeys).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/protolearn/protolearn/circuits/ceremony"
	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
)

const usage = `usage: tilebench -inner K -t T [flags]

Measures one tile shape in this process: compile, setup (or -keys DIR: load
DEV keys written by tilekeys / make keys), prove, verify on one core, sizes,
peak RSS. One shape per process, so the peak RSS is that shape's.

flags:
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Stdout, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("tilebench failed", "err", err)
		os.Exit(1)
	}
}

type options struct {
	shape      tile.Shape
	keys       string // directory of keys; "" runs setup
	proveRuns  int
	verifyRuns int
	seed       uint64
	json       bool
	name       bool // print the shape's name and exit
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("tilebench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	kind := fs.String("kind", "forward", "tile kind: forward (Y = X·W), backward (dX = dY·Wᵀ) or tie (W's Rows and Columns commitments agree; -rows is set to -inner)")
	fs.IntVar(&o.shape.Rows, "rows", 256, "rows of the input and output")
	fs.IntVar(&o.shape.Inner, "inner", 0, "length of a dot product: K forward, N backward (required)")
	fs.IntVar(&o.shape.Outer, "outer", 0, "output columns (default: -inner)")
	fs.IntVar(&o.shape.T, "t", 4, "tile width T")
	fs.IntVar(&o.shape.TolULP, "tol", 0, "tolerance in ULP (default: tile.DefaultTolULP(inner))")
	fs.StringVar(&o.keys, "keys", "", "load keys from DIR/<shape>/ instead of running setup")
	fs.IntVar(&o.proveRuns, "prove-runs", 3, "proofs to time (the median is reported)")
	fs.IntVar(&o.verifyRuns, "verify-runs", 200, "verifications to time, each way")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random matrices and challenge")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	fs.BoolVar(&o.name, "name", false, "print the shape's name (the key directory's) and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch *kind {
	case tile.Forward.String():
		o.shape.Kind = tile.Forward
	case tile.Backward.String():
		o.shape.Kind = tile.Backward
	case tile.Tie.String():
		o.shape.Kind = tile.Tie
	default:
		return o, fmt.Errorf("-kind %q: want forward, backward or tie", *kind)
	}
	if o.shape.Inner <= 0 {
		return o, errors.New("-inner is required and must be positive")
	}
	if o.shape.Outer == 0 {
		o.shape.Outer = o.shape.Inner
	}
	if o.shape.Kind == tile.Tie {
		// A tie checks equality, not a tolerance, over W (K×N): Rows = Inner = K.
		o.shape.Rows = o.shape.Inner
	} else if o.shape.TolULP == 0 {
		o.shape.TolULP = tile.DefaultTolULP(o.shape.Inner)
	}
	if err := o.shape.Validate(); err != nil {
		return o, err
	}
	if o.proveRuns < 1 || o.verifyRuns < 1 {
		return o, fmt.Errorf("-prove-runs %d and -verify-runs %d must be at least 1", o.proveRuns, o.verifyRuns)
	}
	return o, nil
}

// result is one shape's measurements: times in seconds or milliseconds as
// named, sizes in bytes, RSS in KiB (getrusage's ru_maxrss, a high-water
// mark: each value includes every stage before it).
type result struct {
	Shape       string `json:"shape"`
	Kind        string `json:"kind"`
	Rows        int    `json:"rows"`
	Inner       int    `json:"inner"`
	Outer       int    `json:"outer"`
	T           int    `json:"t"`
	TolULP      int    `json:"tol_ulp"`
	Cores       int    `json:"cores"`
	Constraints int    `json:"constraints"`
	Keys        string `json:"keys"` // "setup" or "loaded"

	CommitS  float64 `json:"commit_s"` // X, W and Y, all cores (not part of proving)
	CompileS float64 `json:"compile_s"`
	SetupS   float64 `json:"setup_s,omitempty"`
	LoadS    float64 `json:"load_s,omitempty"`

	ProveRuns int       `json:"prove_runs"`
	ProveS    float64   `json:"prove_s"` // median
	ProveAllS []float64 `json:"prove_all_s"`

	VerifyRuns int `json:"verify_runs"`
	// Verify on one core (GOMAXPROCS=1): tile.Verify from the vk's bytes
	// (parses it every time), and VerifyingKey.Verify with a parsed key.
	VerifyBytesMedMS  float64 `json:"verify_bytes_median_ms"`
	VerifyBytesP90MS  float64 `json:"verify_bytes_p90_ms"`
	VerifyParsedMedMS float64 `json:"verify_parsed_median_ms"`
	VerifyParsedP90MS float64 `json:"verify_parsed_p90_ms"`
	ParseVKMedMS      float64 `json:"parse_vk_median_ms"`

	ProofBytes int   `json:"proof_bytes"`
	VKBytes    int   `json:"vk_bytes"`
	PKRawBytes int64 `json:"pk_raw_bytes"`

	RSSAfterCommitKiB int64 `json:"rss_after_commit_kib"`
	RSSAfterKeysKiB   int64 `json:"rss_after_keys_kib"`  // + compile and setup or load
	RSSAfterProveKiB  int64 `json:"rss_after_prove_kib"` // + proving
	RSSPeakKiB        int64 `json:"rss_peak_kib"`        // the whole process
}

func run(log *slog.Logger, stdout io.Writer, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	s := o.shape
	if o.name {
		_, err := fmt.Fprintln(stdout, s)
		return err
	}
	r := &result{
		Shape: s.String(), Kind: s.Kind.String(), Rows: s.Rows, Inner: s.Inner, Outer: s.Outer, T: s.T, TolULP: s.TolULP,
		Cores: runtime.GOMAXPROCS(0), ProveRuns: o.proveRuns, VerifyRuns: o.verifyRuns,
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x7113))

	log.Info("committing random X, W, Y", "shape", s)
	start := time.Now()
	op, err := openings(s, rng)
	if err != nil {
		return err
	}
	r.CommitS = time.Since(start).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	r.RSSAfterCommitKiB = peakRSSKiB()

	log.Info("compile", "shape", s)
	start = time.Now()
	ccs, err := tile.Compile(s)
	if err != nil {
		return err
	}
	r.CompileS, r.Constraints = time.Since(start).Seconds(), ccs.GetNbConstraints()

	var k *tile.Keys
	start = time.Now()
	if o.keys != "" {
		log.Info("load keys", "dir", filepath.Join(o.keys, s.String()), "constraints", r.Constraints)
		r.Keys = "loaded"
		if k, err = loadKeys(o.keys, s); err != nil {
			return err
		}
		r.LoadS = time.Since(start).Seconds()
	} else {
		log.Info("setup (single-party, dev keys)", "constraints", r.Constraints)
		r.Keys = "setup"
		if k, err = tile.TestSetup(s); err != nil {
			return err
		}
		r.SetupS = time.Since(start).Seconds()
	}
	runtime.GC()
	r.RSSAfterKeysKiB = peakRSSKiB()

	var proof []byte
	for i := range o.proveRuns {
		log.Info("prove", "run", i+1, "of", o.proveRuns)
		start = time.Now()
		if proof, err = tile.Prove(op, k); err != nil {
			return err
		}
		r.ProveAllS = append(r.ProveAllS, time.Since(start).Seconds())
	}
	r.ProveS = quantile(r.ProveAllS, 0.5)
	r.RSSAfterProveKiB = peakRSSKiB()
	r.ProofBytes = len(proof)

	vk, err := k.MarshalVerifyingKey()
	if err != nil {
		return err
	}
	r.VKBytes = len(vk)
	// Counted, not held: the raw pk of a large shape is hundreds of MB.
	var cw countWriter
	if _, err := k.PK.WriteRawTo(&cw); err != nil {
		return err
	}
	r.PKRawBytes = cw.n

	log.Info("verify on one core", "runs", o.verifyRuns)
	if err := verify(r, vk, proof, op.Public(), o.verifyRuns); err != nil {
		return err
	}
	r.RSSPeakKiB = peakRSSKiB()

	if o.json {
		return json.NewEncoder(stdout).Encode(r)
	}
	_, err = fmt.Fprintf(stdout, "%s: %d constraints, compile %.2fs, %s %.2fs, prove %.3fs (median of %d), "+
		"verify 1 core %.2f ms from bytes / %.2f ms parsed (median of %d; p90 %.2f / %.2f), "+
		"proof %d B, vk %d B, pk %.1f MiB raw, peak RSS %.0f MiB (after keys %.0f, after prove %.0f)\n",
		r.Shape, r.Constraints, r.CompileS, r.Keys, r.SetupS+r.LoadS, r.ProveS, r.ProveRuns,
		r.VerifyBytesMedMS, r.VerifyParsedMedMS, r.VerifyRuns, r.VerifyBytesP90MS, r.VerifyParsedP90MS,
		r.ProofBytes, r.VKBytes, float64(r.PKRawBytes)/(1<<20),
		float64(r.RSSPeakKiB)/1024, float64(r.RSSAfterKeysKiB)/1024, float64(r.RSSAfterProveKiB)/1024)
	return err
}

// verify times both ways of verifying on one core (GOMAXPROCS=1 for the
// loops only), each proof checked to verify.
func verify(r *result, vk, proof []byte, pub tile.PublicInputs, runs int) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var bytesT, parsedT, parseT []float64
	for range runs {
		start := time.Now()
		if err := tile.Verify(vk, proof, pub); err != nil {
			return err
		}
		bytesT = append(bytesT, ms(time.Since(start)))
	}
	var parsed *tile.VerifyingKey
	for range runs {
		start := time.Now()
		var err error
		if parsed, err = tile.ParseVerifyingKey(vk); err != nil {
			return err
		}
		parseT = append(parseT, ms(time.Since(start)))
	}
	for range runs {
		start := time.Now()
		if err := parsed.Verify(proof, pub); err != nil {
			return err
		}
		parsedT = append(parsedT, ms(time.Since(start)))
	}
	r.VerifyBytesMedMS, r.VerifyBytesP90MS = quantile(bytesT, 0.5), quantile(bytesT, 0.9)
	r.VerifyParsedMedMS, r.VerifyParsedP90MS = quantile(parsedT, 0.5), quantile(parsedT, 0.9)
	r.ParseVKMedMS = quantile(parseT, 0.5)
	return nil
}

// benchBinding is an arbitrary step tag and challenge: the cost does not depend on them.
var benchBinding = tile.Binding{
	Step:      commit.HashToField("tilebench step", nil),
	Challenge: commit.HashToField("tilebench challenge", nil),
}

// openings commits random quantized X (rows×Inner), W and Y = round(X·W/2^F)
// in the shape's layouts, and opens a random challenge.
func openings(s tile.Shape, rng *rand.Rand) (*tile.Openings, error) {
	sc := tile.Scheme()
	secret := []byte("tilebench")
	if s.Kind == tile.Tie { // W (K×N) committed both ways
		w := small(rng, s.Inner*s.Outer)
		rowsC, err := sc.CommitQuantized(commit.Rows, s.Inner, s.Outer, w, commit.DeriveSeed(secret, "w-rows"))
		if err != nil {
			return nil, err
		}
		colsC, err := sc.CommitQuantized(commit.Columns, s.Inner, s.Outer, w, commit.DeriveSeed(secret, "w-cols"))
		if err != nil {
			return nil, err
		}
		return tile.OpenTie(s, benchBinding, rowsC, colsC, rng.IntN(s.Rows), rng.IntN(s.Blocks()))
	}
	a, w := small(rng, s.Rows*s.Inner), small(rng, s.Inner*s.Outer)
	out := product(s, a, w)

	wRows, wCols, wKind := s.Inner, s.Outer, commit.Columns
	if s.Kind == tile.Backward {
		wRows, wCols, wKind = s.Outer, s.Inner, commit.Rows
	}
	inC, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Inner, a, commit.DeriveSeed(secret, "in"))
	if err != nil {
		return nil, err
	}
	wC, err := sc.CommitQuantized(wKind, wRows, wCols, w, commit.DeriveSeed(secret, "w"))
	if err != nil {
		return nil, err
	}
	outC, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Outer, out, commit.DeriveSeed(secret, "out"))
	if err != nil {
		return nil, err
	}
	return tile.Open(s, benchBinding, inC, wC, outC, rng.IntN(s.Rows), rng.IntN(s.Blocks()))
}

// product is the output, round(Σ_k a_k·b_j[k] / 2^F) (half up, as the
// tile tests), rows split over the cores. b_j is column j of W forward (W is
// Inner×Outer, so the loop runs along W's rows) and row j backward (W is
// Outer×Inner): no transposed copy of W.
func product(s tile.Shape, a, w []int64) []int64 {
	f := tile.Scheme().Params.FracBits
	out := make([]int64, s.Rows*s.Outer)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for g := range workers {
		wg.Go(func() {
			for r := g; r < s.Rows; r += workers {
				row, o := a[r*s.Inner:(r+1)*s.Inner], out[r*s.Outer:(r+1)*s.Outer]
				if s.Kind == tile.Forward {
					for k, x := range row {
						for j, y := range w[k*s.Outer : (k+1)*s.Outer] {
							o[j] += x * y
						}
					}
				} else {
					for j := range o {
						for k, y := range w[j*s.Inner : (j+1)*s.Inner] {
							o[j] += row[k] * y
						}
					}
				}
				for j := range o {
					o[j] = (o[j] + 1<<(f-1)) >> f
				}
			}
		})
	}
	wg.Wait()
	return out
}

// small draws values in [-64, 64], well inside the 16-bit range.
func small(rng *rand.Rand, n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = rng.Int64N(129) - 64
	}
	return v
}

// loadKeys reads DIR/<shape>/{proving.key,verifying.key}, streaming the
// proving key rather than holding its bytes (tile.LoadKeys takes a []byte,
// which would add the raw key's size to the peak measured here). The pk is
// decoded with the same checked decoder, and the pair is checked as
// LoadKeys does.
func loadKeys(dir string, s tile.Shape) (*tile.Keys, error) {
	sub := filepath.Join(dir, s.String())
	vkBytes, err := os.ReadFile(filepath.Join(sub, ceremony.VerifyingKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w (write the keys with: tilekeys -dir %s -shapes %s)", err, dir, s)
	}
	if _, err := tile.ParseVerifyingKey(vkBytes); err != nil {
		return nil, err
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.(*groth16bn254.VerifyingKey).ReadFrom(bytes.NewReader(vkBytes)); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(sub, ceremony.ProvingKeyFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pk := groth16.NewProvingKey(ecc.BN254)
	if _, err := pk.ReadFrom(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	ccs, err := tile.Compile(s)
	if err != nil {
		return nil, err
	}
	bpk, bvk := pk.(*groth16bn254.ProvingKey), vk.(*groth16bn254.VerifyingKey)
	if bpk.Domain.Cardinality < uint64(ccs.GetNbConstraints()) {
		return nil, fmt.Errorf("%s: proving key for a domain of %d, the circuit has %d constraints", f.Name(), bpk.Domain.Cardinality, ccs.GetNbConstraints())
	}
	if !bvk.G1.Beta.Equal(&bpk.G1.Beta) || !bvk.G1.Delta.Equal(&bpk.G1.Delta) {
		return nil, fmt.Errorf("%s: proving and verifying keys are not a pair", sub)
	}
	return &tile.Keys{Shape: s, CCS: ccs, PK: pk, VK: vk}, nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// quantile is the q-quantile of xs (nearest rank), sorting a copy.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// peakRSSKiB is the process's peak resident set size (ru_maxrss, KiB on
// Linux), a high-water mark.
func peakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Maxrss)
}
