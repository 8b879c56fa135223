package types

import (
	"fmt"
	"math"
	"strconv"

	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// The trainer's fixed optimizer rule and pipeline schedule, which the model's Optimizer does not
// name (models.proto, Optimizer): every trainer applies them (trainer/optim.DefaultNAdam,
// trainer/pipeline.StageMomentum), and the chain builds a dispute's reference program with the
// same numbers (trainer/node's TestDisputeProgramIsTheTrainers fails if they part).
const (
	nadamBeta2         = 0.999
	nadamEpsilon       = 1e-8
	nadamMinLRFraction = 0.1
	nadamClipNorm      = 1
	baseMomentum       = 0.9
	maxMomentum        = 0.99
)

// FFNHidden is the SwiGLU's hidden width of a model of width d: 8d/3 rounded up to a multiple
// of 32 (trainer/spec.Spec.FFNHidden).
func FFNHidden(d int) int {
	h := (8*d + 2) / 3
	return (h + 31) / 32 * 32
}

// StageMomentum is β₁ of stage `stage` of `stages` at pipeline depth d: the base momentum
// corrected for the stage's delay (trainer/pipeline.StageMomentum).
func StageMomentum(stage, stages, d int) float64 {
	d = max(d, 1)
	tau, tauMax := d*(stages-1-stage), d*(stages-1)
	return baseMomentum + float64(tau)*(maxMomentum-baseMomentum)/float64(tauMax+1)
}

// DisputeProgram is what the reference program of one update of stage `stage` of m is built
// from, for a microbatch of rows sequences: the stage (stageprog.StageUpdate's) and its NAdam,
// exactly as every trainer of the model applies them. Both sides of a dispute and the chain
// build the same program from it.
func DisputeProgram(m modelstypes.Model, stage uint32, rows int) (stageprog.Stage, stageprog.NAdam, error) {
	if int(stage) >= len(m.Stages) {
		return stageprog.Stage{}, stageprog.NAdam{}, fmt.Errorf("stage %d of a model of %d stages", stage, len(m.Stages))
	}
	a := m.Arch
	rank := int(a.CompressionRank)
	if rank >= int(a.DModel) {
		rank = 0 // k = d_model: raw activations
	}
	s := stageprog.Stage{
		Arch: stageprog.Arch{
			DModel: int(a.DModel), Heads: int(a.NHeads), FFN: FFNHidden(int(a.DModel)),
			B: rows, N: int(a.SeqLen), Layers: int(m.Stages[stage].Layers),
		},
		Vocab: int(a.Vocab), Rank: rank, First: stage == 0, Last: int(stage) == len(m.Stages)-1,
	}
	if err := s.Check(); err != nil {
		return stageprog.Stage{}, stageprog.NAdam{}, err
	}
	o := m.Optim()
	if err := o.Validate(); err != nil {
		return stageprog.Stage{}, stageprog.NAdam{}, err
	}
	lr, err := strconv.ParseFloat(o.LearningRate, 64)
	if err != nil {
		return stageprog.Stage{}, stageprog.NAdam{}, fmt.Errorf("optimizer.learning_rate %q: %w", o.LearningRate, err)
	}
	wd, err := strconv.ParseFloat(o.WeightDecay, 64)
	if err != nil {
		return stageprog.Stage{}, stageprog.NAdam{}, fmt.Errorf("optimizer.weight_decay %q: %w", o.WeightDecay, err)
	}
	// The schedule is in the model's steps; the optimizer counts updates, microbatches_per_step
	// of them a step (trainer/node).
	mb := uint64(m.Microbatches())
	if o.WarmupSteps > math.MaxInt32/mb || o.DecaySteps > math.MaxInt32/mb {
		return stageprog.Stage{}, stageprog.NAdam{}, fmt.Errorf("optimizer: warm-up %d or decay %d steps beyond what a trainer counts", o.WarmupSteps, o.DecaySteps)
	}
	return s, stageprog.NAdam{
		LearningRate: lr, Beta1: StageMomentum(int(stage), len(m.Stages), int(o.PipelineDepth)),
		Beta2: nadamBeta2, Epsilon: nadamEpsilon, WeightDecay: wd,
		WarmupSteps: int(o.WarmupSteps * mb), DecaySteps: int(o.DecaySteps * mb),
		MinLRFraction: nadamMinLRFraction, ClipNorm: nadamClipNorm,
	}, nil
}

// StateOutput is the value of an update program that holds state tensor `tensor` after the
// update (the store order: parameters, step counter, each parameter's two moments), and false
// for an index beyond the state.
func StateOutput(u stageprog.Update, tensor int) (int, bool) {
	p := len(u.Params)
	switch {
	case tensor < 0:
		return 0, false
	case tensor < p:
		return u.Params[tensor], true
	case tensor == p:
		return u.Step, true
	case tensor < 3*p+1:
		i := tensor - p - 1
		return u.Moments[i/2][i%2], true
	}
	return 0, false
}

// StateTensors is how many tensors a stage's state holds once it has trained (every parameter,
// the step counter, two moments each).
func StateTensors(u stageprog.Update) int { return 3*len(u.Params) + 1 }

// Header is h as statecommit takes it.
func (h TensorHeader) Header() statecommit.Header {
	return statecommit.Header{Path: h.Path, DType: h.Dtype, Dims: h.Dims, RawLen: h.RawLen}
}

// Hashes are bs as 32-byte hashes (what names the list in the error for one of another length).
func Hashes(bs [][]byte, what string) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(bs))
	for i, b := range bs {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s[%d] is %d bytes, not 32", what, i, len(b))
		}
		out[i] = merkle.Hash(b)
	}
	return out, nil
}

// Opening is o as statecommit takes it.
func (o ChunkOpening) Opening() (statecommit.Opening, error) {
	cp, err := Hashes(o.ChunkPath, "chunk_path")
	if err != nil {
		return statecommit.Opening{}, err
	}
	sp, err := Hashes(o.StatePath, "state_path")
	if err != nil {
		return statecommit.Opening{}, err
	}
	return statecommit.Opening{
		Tensor: o.Tensor, Tensors: o.Tensors, Header: o.Header.Header(), Chunk: o.Chunk, Data: o.Data,
		ChunkPath: cp, StatePath: sp,
	}, nil
}

// Opening is o as stageprog takes it.
func (o TraceOpening) Opening() (stageprog.TraceOpening, error) {
	path, err := Hashes(o.Path, "path")
	if err != nil {
		return stageprog.TraceOpening{}, err
	}
	c, err := o.Chunk.Opening()
	if err != nil {
		return stageprog.TraceOpening{}, err
	}
	if o.Op > math.MaxInt32 {
		return stageprog.TraceOpening{}, fmt.Errorf("op %d", o.Op)
	}
	return stageprog.TraceOpening{K: int(o.Op), Path: path, Chunk: c}, nil
}

// ChunkOpeningOf is o as a message carries it.
func ChunkOpeningOf(o statecommit.Opening) ChunkOpening {
	return ChunkOpening{
		Tensor: o.Tensor, Tensors: o.Tensors, Header: HeaderOf(o.Header), Chunk: o.Chunk, Data: o.Data,
		ChunkPath: HashBytes(o.ChunkPath), StatePath: HashBytes(o.StatePath),
	}
}

// TraceOpeningOf is o as a message carries it.
func TraceOpeningOf(o stageprog.TraceOpening) TraceOpening {
	return TraceOpening{Op: uint64(o.K), Path: HashBytes(o.Path), Chunk: ChunkOpeningOf(o.Chunk)}
}

// HeaderOf is h as a message carries it.
func HeaderOf(h statecommit.Header) TensorHeader {
	return TensorHeader{Path: h.Path, Dtype: h.DType, Dims: h.Dims, RawLen: h.RawLen}
}

// HashBytes are hs as a message carries them.
func HashBytes(hs []merkle.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// Open reports whether the dispute is still being played.
func (d Dispute) Open() bool { return d.Phase != DISPUTE_PHASE_SETTLED }
