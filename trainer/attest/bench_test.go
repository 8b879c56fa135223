package attest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/subspace"
	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/spec"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// BenchmarkAttestOverhead measures what attesting costs a training step of the CPU benchmarks'
// model ("small": a middle stage of two layers, 4 sequences of 64 tokens per microbatch) at
// d_model 128 (the preset), 256 and 512: the extra cost of the tapped backward pass (taken once
// per step) plus quantizing, committing and storing the designated layer, against the step's
// forwards and backwards, all on one goroutine (in `trainer run --chain` the commit runs beside
// training, so this is an upper bound where cores are free). Commitments grow with rows·d and a
// step's compute with layers·rows·d², so the overhead falls as the model widens. Each width
// reports fwd_ms, bwd_ms, tap_extra_ms, commit_ms and the overhead of a step of 4 and of 8
// microbatches (the target is ≤ 5%).
func BenchmarkAttestOverhead(b *testing.B) {
	for _, d := range []int{128, 256, 512} {
		b.Run(fmt.Sprintf("d%d", d), func(b *testing.B) { benchAttestOverhead(b, d) })
	}
}

// benchStage is the middle stage (index 1) of the "small" model at width d on the Go backend,
// with a microbatch of rows sequences: its input, token ids and output gradient, random.
func benchStage(b *testing.B, d, rows int, seed uint64) (st *engine.Stage, in, tok, dOut *tensors.Tensor) {
	b.Helper()
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	s.DModel, s.NHeads = d, d/32
	be, err := backend.New("go")
	if err != nil {
		b.Fatal(err)
	}
	if st, err = engine.New(be, s, 1, engine.Options{}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	randT := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	ids := make([]int32, rows*s.SeqLen)
	for i := range ids {
		ids[i] = int32(rng.IntN(s.Vocab))
	}
	w := s.BoundaryWidth()
	return st, randT(rows, s.SeqLen, w), tensors.FromFlatDataAndDimensions(ids, rows, s.SeqLen), randT(rows, s.SeqLen, w)
}

func benchAttestOverhead(b *testing.B, d int) {
	st, in, tok, dOut := benchStage(b, d, 4, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	timeIt := func(f func() error) time.Duration {
		var ds []time.Duration
		for range 7 {
			t0 := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	// Warm up the compiled graphs.
	if _, err := st.Forward(in, tok); err != nil {
		b.Fatal(err)
	}
	_, tap, err := st.BackwardTap(in, tok, dOut)
	if err != nil {
		b.Fatal(err)
	}
	fwd := timeIt(func() error { _, err := st.Forward(in, tok); return err })
	bwd := timeIt(func() error { _, err := st.Backward(in, tok, dOut); return err })
	tapped := timeIt(func() error { _, _, err := st.BackwardTap(in, tok, dOut); return err })
	store, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	a := &Attester{cfg: Config{ChainID: "bench-1", Worker: "bench", Secret: []byte("bench"), Store: store, ModelID: 1, Stage: 1, Rand: rng}}
	step := uint64(0)
	b.ResetTimer()
	var commit time.Duration
	for range b.N {
		t0 := time.Now()
		if _, err := a.commitStep(step, step, tap, nil, 0); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(t0)
		step++
	}
	b.StopTimer()
	perCommit := commit / time.Duration(b.N)
	derived, digest, sum := benchDerived(b, d, a, tap, in, tok, timeIt)
	extra := max(tapped-bwd, 0)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(fwd), "fwd_ms")
	b.ReportMetric(ms(bwd), "bwd_ms")
	b.ReportMetric(ms(extra), "tap_extra_ms")
	b.ReportMetric(ms(perCommit), "commit_ms")
	b.ReportMetric(ms(derived), "commit_derived_ms")
	b.ReportMetric(float64(digest.Microseconds()), "payload_digest_us")
	b.ReportMetric(float64(sum.Microseconds()), "payload_sha256_us")
	for _, m := range []int{4, 8} {
		step := time.Duration(m) * (fwd + bwd)
		b.ReportMetric(100*float64(extra+perCommit)/float64(step), fmt.Sprintf("overhead_%dmb_%%", m))
		// With the input tile: X̂ derived from the payload, and each of the step's m frames
		// digested as a token tree (sent and received: twice) instead of hashed flat.
		withInput := extra + derived + time.Duration(2*m)*max(digest-sum, 0)
		b.ReportMetric(100*float64(withInput)/float64(step), fmt.Sprintf("overhead_input_%dmb_%%", m))
	}
	b.Logf("tile %d rows × d_model %d; forward %s, backward %s, tapped backward %s, commit+store %s per step",
		tap.Rows, tap.D, fwd, bwd, tapped, perCommit)
}

// benchDerived times what the input tile adds: committing the layer with X̂ derived from the
// received payload (the model's compression tables, an f32 payload of the microbatch's
// coordinates, so that the engine trained on exactly its values), and the payload's digest (a
// SHA-256 tree over its tokens) against a flat SHA-256 of it.
func benchDerived(b *testing.B, d int, a *Attester, tap *engine.Tap, in, tok *tensors.Tensor, timeIt func(func() error) time.Duration) (commit, digest, flat time.Duration) {
	b.Helper()
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	k := s.CompressionRank
	tables, err := tile.NewTables(subspace.Basis(s.Seed, d, k), subspace.TokenTable(s.Seed, s.Vocab, d), d, k, s.Vocab)
	if err != nil {
		b.Fatal(err)
	}
	dims := in.Shape().Dimensions
	body, err := payload.Encode(&payload.Payload{
		Kind: payload.Activations, DType: payload.F32, Compressed: true, Batch: uint32(dims[0]), Seq: uint32(dims[1]),
		Width: uint32(k), Vocab: uint32(s.Vocab), Data: tensors.MustCopyFlatData[float32](in), IDs: tensors.MustCopyFlatData[int32](tok),
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg := a.cfg
	cfg.Tables = tables
	derived := &Attester{cfg: cfg}
	step := uint64(1 << 20)
	commit = timeIt(func() error {
		step++
		_, err := derived.commitStep(step, step, tap, body, 0)
		return err
	})
	digest = timeIt(func() error { _, err := payload.Digest(body); return err })
	flat = timeIt(func() error { sha256.Sum256(body); return nil })
	return commit, digest, flat
}

// BenchmarkAttestedTraining measures the overhead directly, as `trainer run --chain` pays it:
// the "small" model's middle stage trains steps of 4 microbatches (forward and backward each)
// on one goroutine while a real Attester, fed by Tap, quantizes, commits and stores every step's
// designated layer on its own goroutines and submits to a chain that accepts at once. Plain and
// attested runs of 8 steps alternate, 3 of each; an attested run ends only when its last step
// is committed. It reports the median step time of each and the overhead (target ≤ 5%). On a
// machine whose cores training already keeps busy this is the commit's CPU share; where cores
// are free, less.
func BenchmarkAttestedTraining(b *testing.B) {
	const microbatches, steps, runs = 4, 8, 3
	st, in, tok, dOut := benchStage(b, 128, 4, 3)
	if _, _, err := st.BackwardTap(in, tok, dOut); err != nil { // compile the graphs
		b.Fatal(err)
	}
	train := func(tap func(step uint64, t *engine.Tap)) time.Duration {
		t0 := time.Now()
		for step := range uint64(steps) {
			for mb := range microbatches {
				if _, err := st.Forward(in, tok); err != nil {
					b.Fatal(err)
				}
				if mb == 0 && tap != nil {
					_, t, err := st.BackwardTap(in, tok, dOut)
					if err != nil {
						b.Fatal(err)
					}
					tap(step, t)
				} else if _, err := st.Backward(in, tok, dOut); err != nil {
					b.Fatal(err)
				}
			}
		}
		return time.Since(t0)
	}
	attested := func() time.Duration {
		store, err := OpenStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		a, err := NewAttester(Config{
			Chain: &acceptingChain{}, ChainID: "bench-1", Worker: "bench", ModelID: 1, Stage: 1, Layers: 2, Period: 8, FirstStep: 1,
			TileWidth: 4, Secret: []byte("bench"), Store: store, Prover: NewProver(""), Poll: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t0 := time.Now()
		train(func(step uint64, t *engine.Tap) { a.Tap(step, t, Input{}) })
		for st := a.Stats(); st.Steps+st.Dropped < steps || (st.Attestations == 0 && st.Dropped == 0); st = a.Stats() {
			time.Sleep(time.Millisecond)
		}
		d := time.Since(t0)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if st := a.Stats(); st.Dropped > 0 || st.Steps != steps {
			b.Fatalf("attester committed %d steps and dropped %d of %d", st.Steps, st.Dropped, steps)
		}
		return d
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	var plain, att []time.Duration
	b.ResetTimer()
	for range b.N {
		for range runs {
			plain = append(plain, train(nil))
			att = append(att, attested())
		}
	}
	b.StopTimer()
	p, a := median(plain)/steps, median(att)/steps
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p), "plain_step_ms")
	b.ReportMetric(ms(a), "attested_step_ms")
	b.ReportMetric(100*(float64(a)/float64(p)-1), "overhead_%")
	b.Logf("%d steps of %d microbatches, median of %d runs: plain %s/step, attested %s/step", steps, microbatches, len(plain), p, a)
}

// acceptingChain takes every attestation at once and never challenges.
type acceptingChain struct {
	mu   sync.Mutex
	next uint64
}

func (c *acceptingChain) SubmitAttestation(context.Context, *verifytypes.MsgSubmitAttestation) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.next, nil
}

func (*acceptingChain) RespondChallenge(context.Context, *verifytypes.MsgRespondChallenge) error {
	return nil
}

func (*acceptingChain) OpenChallenges(context.Context, string) ([]verifytypes.Challenge, error) {
	return nil, nil
}

func (*acceptingChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	return verifytypes.Attestation{Id: id, Status: verifytypes.ATTESTATION_STATUS_PENDING}, nil
}

func (*acceptingChain) LastAttestedStep(context.Context, string, uint64) (uint64, bool, error) {
	return 0, false, nil
}

func (*acceptingChain) PendingAttestations(context.Context, string, uint64) ([]verifytypes.Attestation, error) {
	return nil, nil
}

// BenchmarkProveChallenge measures a challenge response's proof for the "small" model's tiles
// (256 rows × 128 × 128, T = 4): recommitting the stored layer, opening the tile and proving,
// for each kind, and the input tile of a compressed stage 1. Setup (single-party) is outside the
// timing.
func BenchmarkProveChallenge(b *testing.B) {
	const rows, d, t = 256, 128, 4
	p := NewProver("")
	rng := rand.New(rand.NewPCG(5, 6))
	l, err := NewLayer(1, rows, d, randoms(rng, rows*d, 2), randoms(rng, d*d, 0.25), randoms(rng, rows*d, 1))
	if err != nil {
		b.Fatal(err)
	}
	// Each kind's key is set up (single party) before its benchmark, so that one can run alone.
	prove := func(b *testing.B, l *Layer, kind verifytypes.ChallengeKind, tiles verifytypes.Tiles, tables *tile.Tables) {
		s, err := tiles.Shape(kind)
		if err != nil {
			b.Fatal(err)
		}
		key, err := tile.TestSetup(s)
		if err != nil {
			b.Fatal(err)
		}
		p.Add(key)
		b.ResetTimer()
		for range b.N {
			c, err := Commit([]byte("bench"), Owner{ChainID: "bench-1", ModelID: 1, Stage: 1, Worker: "bench"}, l)
			if err != nil {
				b.Fatal(err)
			}
			o, err := c.Open(verifytypes.Challenge{Step: l.Step, Kind: kind, Row: 3, Col: 5}, tiles, tables)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Prove(o); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, kind := range (verifytypes.Tiles{}).Kinds() {
		b.Run(kind.String(), func(b *testing.B) { prove(b, l, kind, verifytypes.Tiles{DModel: d, Rows: rows, Width: t}, nil) })
	}
	// The input tile of a compressed model's stage 1 (k = 4, a byte vocabulary): X̂ derived from
	// a received payload.
	const k, vocab = 4, 256
	f := inputFixtureOf(b, rng, d, rows, k, vocab)
	dl, err := NewDerivedLayer(1, f.tables, f.body, f.xhat, randoms(rng, d*d, 0.25), randoms(rng, rows*d, 1))
	if err != nil {
		b.Fatal(err)
	}
	in := verifytypes.Tiles{DModel: d, Rank: k, Vocab: vocab, Stage: 1, Rows: rows, Width: t}
	b.Run(verifytypes.CHALLENGE_KIND_INPUT.String(), func(b *testing.B) { prove(b, dl, verifytypes.CHALLENGE_KIND_INPUT, in, f.tables) })
}
