package dispute

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/spec"
)

var testNAdam = optim.NAdamConfig{LearningRate: 3e-4, ClipNorm: 1, WarmupSteps: 2, DecaySteps: 100, WeightDecay: 0.1}

// microbatches makes a stage's updates as the swarm logs them: payloads its neighbours would
// send (random activations with token ids, random gradients), encoded by the codec.
type microbatches struct {
	t     testing.TB
	rng   *rand.Rand
	s     spec.Spec
	codec boundary.Codec
	index int
	next  uint64
}

func (m *microbatches) update() replay.Update {
	m.t.Helper()
	const rows = 2
	n, w := rows*m.s.SeqLen, m.s.BoundaryWidth()
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(m.rng.IntN(m.s.Vocab))
	}
	act := func() *tensors.Tensor {
		v := make([]float32, n*w)
		for i := range v {
			v[i] = float32(m.rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, rows, m.s.SeqLen, w)
	}
	m.next++
	u := replay.Update{Step: m.next, Microbatch: m.next}
	info, err := m.s.Stage(m.index)
	if err != nil {
		m.t.Fatal(err)
	}
	idsT := tensors.FromFlatDataAndDimensions(ids, rows, m.s.SeqLen)
	if info.First {
		u.Tokens = ids
	} else if u.Input, err = m.codec.EncodeActivations(act(), idsT, u.Step, uint32(u.Microbatch)); err != nil {
		m.t.Fatal(err)
	}
	if info.Last {
		u.Targets = make([]int32, n)
		for i := range u.Targets {
			u.Targets[i] = int32(m.rng.IntN(m.s.Vocab))
		}
	} else if u.Grad, err = m.codec.EncodeGradients(act(), u.Step, uint32(u.Microbatch)); err != nil {
		m.t.Fatal(err)
	}
	return u
}

// apply applies u to st as the swarm does and returns the gradient it sends back (nil on
// stage 0).
func apply(t *testing.T, st *engine.Stage, codec boundary.Codec, u replay.Update) *tensors.Tensor {
	t.Helper()
	x, err := replay.Decode(st, codec, u)
	if err != nil {
		t.Fatal(err)
	}
	var dIn *tensors.Tensor
	if st.Info().Last {
		dIn, _, err = st.BackwardLoss(x.In, x.IDs, x.Targets)
	} else {
		dIn, err = st.Backward(x.In, x.IDs, x.DOut)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dIn
}

// fourthUpdate trains a float32 stage three updates (as o says), then runs the reference of a
// fourth from its state and applies the fourth (unless frozen): the worst chunks at the ends.
func fourthUpdate(t *testing.T, s spec.Spec, index int, o engine.Options, frozen bool) (state, sent End) {
	t.Helper()
	nadam, err := optim.NewNAdam(testNAdam)
	if err != nil {
		t.Fatal(err)
	}
	o.Optimizer = nadam
	st, err := engine.New(testbackend.Go(), s, index, o)
	if err != nil {
		t.Fatal(err)
	}
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	m := &microbatches{t: t, rng: rand.New(rand.NewPCG(uint64(index), 5)), s: s, codec: codec, index: index}
	for range 3 {
		apply(t, st, codec, m.update())
	}
	u := m.update()
	ref, err := NewReference(st, codec, testNAdam, u)
	if err != nil {
		t.Fatal(err)
	}
	var dIn *tensors.Tensor
	if !frozen {
		dIn = apply(t, st, codec, u)
	}
	return ref.CompareState(st), ref.CompareSent(dIn)
}

// The ends of a disputed update (x/verify README): honest float32 training stays within
// stageprog.EndTolerance of the float64 reference on every chunk of the new state and of the
// gradient sent back, on every kind of stage; a worker that skips a layer, or never moves its
// state, has a chunk beyond it (the one a referee names).
func TestEnds(t *testing.T) {
	for _, rank := range []int{0, 8} {
		s := spec.Spec{Vocab: 64, DModel: 32, NLayers: 6, NHeads: 2, SeqLen: 16, CompressionRank: rank, Stages: []int{2, 2, 2}, Seed: 5}
		for index := range s.Stages {
			t.Run(fmt.Sprintf("stage %d rank %d", index, rank), func(t *testing.T) {
				state, sent := fourthUpdate(t, s, index, engine.Options{}, false)
				t.Logf("honest: worst chunk of the state %.3g (%s), of the gradient sent back %.3g", state.Ratio, state.Path, sent.Ratio)
				if state.Beyond() || sent.Beyond() {
					t.Fatalf("honest float32 training beyond the tolerance %v", stageprog.EndTolerance)
				}
				info, err := s.Stage(index)
				if err != nil {
					t.Fatal(err)
				}
				state, sent = fourthUpdate(t, s, index, engine.Options{CheatSkipLayers: []int{info.FirstLayer + info.Layers - 1}}, false)
				t.Logf("skips a layer: worst chunk of the state %.3g (%s at %d), of the gradient sent back %.3g", state.Ratio, state.Path, state.First, sent.Ratio)
				if !state.Beyond() {
					t.Fatal("a skipped layer within the tolerance")
				}
				state, _ = fourthUpdate(t, s, index, engine.Options{}, true)
				t.Logf("never moves: worst chunk of the state %.3g (%s)", state.Ratio, state.Path)
				if !state.Beyond() {
					t.Fatal("a frozen state within the tolerance")
				}
			})
		}
	}
}

// The trace a referee commits is the run's, and every op's step appends to the prefix before.
func TestReferenceTrace(t *testing.T) {
	s := spec.Spec{Vocab: 64, DModel: 16, NLayers: 3, NHeads: 2, SeqLen: 8, CompressionRank: 4, Stages: []int{1, 1, 1}, Seed: 2}
	st, err := engine.New(testbackend.Go(), s, 1, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	m := &microbatches{t: t, rng: rand.New(rand.NewPCG(1, 1)), s: s, codec: codec, index: 1}
	ref, err := NewReference(st, codec, testNAdam, m.update())
	if err != nil {
		t.Fatal(err)
	}
	if ref.Trace.Ops() != len(ref.Program.Ops) {
		t.Fatalf("a trace of %d ops for a program of %d", ref.Trace.Ops(), len(ref.Program.Ops))
	}
	for k := range ref.Trace.Ops() {
		a, err := ref.Trace.Append(k)
		if err != nil || !a.Appended(ref.Trace.Root(k), ref.Trace.Root(k+1), k, ref.Trace.Ops()) {
			t.Fatalf("op %d does not append: %v", k, err)
		}
	}
}

// BenchmarkReference is a referee's cost of the reference run of one update of stage 1 of the
// `small` spec (d_model 128, two blocks, 2×64 tokens, compressed): the program built, run in
// float64 value by value, and its trace committed; BenchmarkEngineUpdate the engine's own
// update of the same stage (what the worker paid), for comparison.
func BenchmarkReference(b *testing.B) {
	st, codec, u := smallUpdate(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewReference(st, codec, testNAdam, u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEngineUpdate(b *testing.B) {
	st, codec, u := smallUpdate(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := replay.Apply(st, codec, u); err != nil {
			b.Fatal(err)
		}
	}
}

func smallUpdate(b *testing.B) (*engine.Stage, boundary.Codec, replay.Update) {
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	nadam, err := optim.NewNAdam(testNAdam)
	if err != nil {
		b.Fatal(err)
	}
	st, err := engine.New(testbackend.Go(), s, 1, engine.Options{Optimizer: nadam})
	if err != nil {
		b.Fatal(err)
	}
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	m := &microbatches{t: b, rng: rand.New(rand.NewPCG(1, 2)), s: s, codec: codec, index: 1}
	u := m.update()
	if _, err := replay.Apply(st, codec, u); err != nil { // compiles the graphs, makes the moments
		b.Fatal(err)
	}
	return st, codec, u
}
