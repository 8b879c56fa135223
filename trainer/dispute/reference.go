// Package dispute is the trainer's side of a replay dispute (x/verify README, "the game on
// chain"): the reference program's run of one update from a stage's state, its trace, and the
// comparison of what the worker's engine produced against it at the ends (its state after the
// update, the gradient it sent back), chunk by chunk.
package dispute

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replay"
)

// Reference is the reference program's run of one update: the program, its inputs' layout, the
// values it names after the update, every value of the run and the committed trace.
type Reference struct {
	Program *stageprog.Program
	Layout  stageprog.Layout
	Update  stageprog.Update
	Values  []stageprog.Tensor
	Trace   *stageprog.Trace
	// paths are the state's store paths in the order stageprog.Layout.StateTensor numbers them,
	// before the program input holding each state tensor before the update.
	paths  []string
	before []int
}

// StagePrograms is the reference program's view of st for a microbatch of rows sequences.
func StagePrograms(st *engine.Stage, rows int) stageprog.Stage {
	s, info := st.Spec(), st.Info()
	return stageprog.Stage{
		Arch:  stageprog.Arch{DModel: s.DModel, Heads: s.NHeads, FFN: s.FFNHidden(), B: rows, N: s.SeqLen, Layers: info.Layers},
		Vocab: s.Vocab, Rank: s.CompressionRank, First: info.First, Last: info.Last,
	}
}

// NAdam is cfg as the reference program takes it (defaults filled in, as optim.NewNAdam does).
func NAdam(cfg optim.NAdamConfig) (stageprog.NAdam, error) {
	o, err := optim.NewNAdam(cfg)
	if err != nil {
		return stageprog.NAdam{}, err
	}
	c := o.Config()
	return stageprog.NAdam{
		LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon, WeightDecay: c.WeightDecay,
		WarmupSteps: c.WarmupSteps, DecaySteps: c.DecaySteps, MinLRFraction: c.MinLRFraction, ClipNorm: c.ClipNorm,
	}, nil
}

// NewReference runs the reference program of update u from st's current state (the state
// before u), st training with NAdam configured by cfg. st is not changed.
func NewReference(st *engine.Stage, codec boundary.Codec, cfg optim.NAdamConfig, u replay.Update) (*Reference, error) {
	x, err := replay.Decode(st, codec, u)
	if err != nil {
		return nil, fmt.Errorf("dispute: update's inputs: %w", err)
	}
	opt, err := NAdam(cfg)
	if err != nil {
		return nil, err
	}
	p, l, up, err := stageprog.StageUpdate(StagePrograms(st, x.Rows), opt)
	if err != nil {
		return nil, err
	}
	r := &Reference{Program: p, Layout: l, Update: up, paths: statePaths(st)}
	in := make([]stageprog.Tensor, len(p.InputDims))
	put := func(v int, t *tensors.Tensor) {
		if v >= 0 {
			in[v] = stageprog.Tensor{Dims: p.InputDims[v], Data: engine.Float64s(t)}
		}
	}
	if !st.Info().First {
		put(l.In, x.In)
	}
	put(l.IDs, x.IDs)
	put(l.DOut, x.DOut)
	put(l.Targets, x.Targets)
	if l.U >= 0 {
		u, t := st.Subspace()
		in[l.U] = stageprog.Tensor{Dims: p.InputDims[l.U], Data: u}
		in[l.T] = stageprog.Tensor{Dims: p.InputDims[l.T], Data: t}
	}
	state := stateValues(st)
	r.before = make([]int, len(r.paths))
	for v := range p.InputDims {
		if i, ok := l.StateTensor(v); ok {
			in[v] = stageprog.Tensor{Dims: p.InputDims[v], Data: state.get(r.paths[i], stageprog.Size(p.InputDims[v]))}
			r.before[i] = v
		}
	}
	if r.Values, err = p.Run(in); err != nil {
		return nil, fmt.Errorf("dispute: reference run: %w", err)
	}
	if r.Trace, err = stageprog.NewTrace(p, r.Values); err != nil {
		return nil, err
	}
	return r, nil
}

// statePaths are st's state's store paths in stageprog's order: the parameters, the step
// counter, each parameter's first and second moments.
func statePaths(st *engine.Stage) []string {
	var paths []string
	for _, v := range st.Params() {
		paths = append(paths, v.Path())
	}
	paths = append(paths, optim.StepPath)
	for _, v := range st.Params() {
		m, s := optim.MomentPaths(v.Path())
		paths = append(paths, m, s)
	}
	return paths
}

// state is a stage's state by store path, as float64.
type state map[string][]float64

func stateValues(st *engine.Stage) state {
	s := state{}
	for v := range st.Store().IterVariables() {
		if !engine.IsAccumulator(v.Path()) {
			s[v.Path()] = engine.Float64s(v.MustValue())
		}
	}
	return s
}

// get is the tensor at path, or n zeros where the stage holds none (the optimizer makes its
// moments and step counter at the first update).
func (s state) get(path string, n int) []float64 {
	if v, ok := s[path]; ok {
		return v
	}
	return make([]float64, n)
}

// ChunkValues is how many of a float32 state's values one statecommit chunk holds: the unit
// the ends are compared in.
const ChunkValues = 256

// End is the worst chunk of a comparison at the ends: its EndRatio, and where it is (a state
// tensor's store path, or "sent" for the gradient sent back, and the chunk's first value).
type End struct {
	Ratio float64
	Path  string
	First int
}

// Beyond reports whether the worst chunk is beyond stageprog.EndTolerance: the worker's result
// is not the update's, and that chunk is the one to name.
func (e End) Beyond() bool { return e.Ratio > stageprog.EndTolerance }

func worst(e *End, got, want, old []float64, path string) {
	for lo := 0; lo < len(want); lo += ChunkValues {
		hi := min(lo+ChunkValues, len(want))
		var o []float64
		if old != nil {
			o = old[lo:hi]
		}
		if r := stageprog.EndRatio(got[lo:hi], want[lo:hi], o); r > e.Ratio || e.Path == "" {
			*e = End{Ratio: r, Path: path, First: lo}
		}
	}
}

// CompareState compares after, a stage's state after the update (the worker's), with the
// reference's new state, chunk by chunk, and returns the worst chunk.
func (r *Reference) CompareState(after *engine.Stage) End {
	got := stateValues(after)
	outs := append(append([]int(nil), r.Update.Params...), r.Update.Step)
	for _, m := range r.Update.Moments {
		outs = append(outs, m[0], m[1])
	}
	var e End
	for i, path := range r.paths {
		want := r.Values[outs[i]].Data
		old := r.Values[r.before[i]].Data
		worst(&e, got.get(path, len(want)), want, old, path)
	}
	return e
}

// CompareSent compares the gradient the worker sent back (as the engine computed it, before
// the codec) with the reference's; stage 0 sends none (zero End).
func (r *Reference) CompareSent(dIn *tensors.Tensor) End {
	var e End
	if r.Update.DX < 0 || dIn == nil {
		return e
	}
	worst(&e, engine.Float64s(dIn), r.Values[r.Update.DX].Data, nil, "sent")
	return e
}
