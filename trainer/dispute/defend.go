package dispute

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"

	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replaylog"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// DefenderChain is what a worker's defense needs of the chain.
type DefenderChain interface {
	// Disputes are the open disputes over worker's attestations.
	Disputes(ctx context.Context, worker string) ([]verifytypes.Dispute, error)
	Attestation(ctx context.Context, id uint64) (verifytypes.Attestation, error)
	DisputeClaim(ctx context.Context, msg *verifytypes.MsgDisputeClaim) error
}

// Defender plays the worker's side of the replay disputes over its attestations, from its own
// replay log (x/verify/README.md, "The dispute game"): an honest worker's log and a replay of
// it on a deterministic backend give every move the chain asks for, and a worker that does not
// move by the deadline is slashed, so a trainer that attests runs one.
type Defender struct {
	Chain  DefenderChain
	Worker string
	// Segments is the worker's log from the segment that holds the update starting from state
	// root on, to the end of that epoch (replaylog.Log.From, decoded): an attestation of an
	// earlier process's epoch is defended after a restart too.
	Segments func(root [32]byte) ([]replaylog.Segment, error)
	// NewStage builds a stage to replay on (the worker's spec, stage and optimizer, on a
	// deterministic backend); NAdam is that optimizer's configuration.
	NewStage func() (*engine.Stage, error)
	NAdam    optim.NAdamConfig
	Codec    boundary.Codec
	// Limit bounds a snapshot or an average's parameters in the log.
	Limit int64
	// Mix applies the log's averages as the worker did (nil: the protocol's, MixAverage): a
	// worker defends what its own code made.
	Mix Mixer
	// Sent, when set, returns a gradient payload the worker sent back, by its digest, where it
	// keeps them; otherwise the replay makes it again.
	Sent func(digest [32]byte) ([]byte, bool)
	Log  *slog.Logger

	cases   map[uint64]*foldCase
	failing failures
}

// Round makes every move the chain waits for from this worker, and returns how many it sent.
func (d *Defender) Round(ctx context.Context) (int, error) {
	ds, err := d.Chain.Disputes(ctx, d.Worker)
	if err != nil {
		return 0, err
	}
	if d.cases == nil {
		d.cases = map[uint64]*foldCase{}
	}
	open := map[uint64]bool{}
	sent := 0
	var firstErr error
	for _, disp := range ds {
		open[disp.Id] = true
		if !disp.Open() || !disp.WorkerToMove || disp.Worker != d.Worker {
			continue
		}
		msg, err := d.Move(ctx, disp)
		if err == nil {
			err = d.Chain.DisputeClaim(ctx, msg)
		}
		if err != nil {
			// Tried again each round (the chain may have been busy); told once.
			if d.failing.fresh(disp.Id, disp.Phase, err) {
				d.Log.Error("dispute move not sent", "dispute", disp.Id, "phase", disp.Phase, "err", err)
				if firstErr == nil {
					firstErr = fmt.Errorf("dispute %d (%s): %w", disp.Id, disp.Phase, err)
				}
			}
			continue
		}
		d.failing.clear(disp.Id)
		d.Log.Info("dispute move sent", "dispute", disp.Id, "phase", disp.Phase)
		sent++
	}
	for id := range d.cases {
		if !open[id] {
			delete(d.cases, id)
		}
	}
	d.failing.keep(open)
	return sent, firstErr
}

// failures remembers the last error of each dispute's move, so that a move that keeps failing
// the same way is logged once, not every round.
type failures map[uint64]string

// fresh records err for dispute id in phase and reports whether it is news.
func (f *failures) fresh(id uint64, phase verifytypes.DisputePhase, err error) bool {
	if *f == nil {
		*f = failures{}
	}
	s := phase.String() + ": " + err.Error()
	if (*f)[id] == s {
		return false
	}
	(*f)[id] = s
	return true
}

func (f failures) clear(id uint64) { delete(f, id) }

// keep forgets the disputes not in open.
func (f failures) keep(open map[uint64]bool) {
	for id := range f {
		if !open[id] {
			delete(f, id)
		}
	}
}

// Move is the worker's move in disp.
func (d *Defender) Move(ctx context.Context, disp verifytypes.Dispute) (*verifytypes.MsgDisputeClaim, error) {
	c, err := d.defense(ctx, disp)
	if err != nil {
		return nil, err
	}
	msg := &verifytypes.MsgDisputeClaim{Worker: d.Worker, DisputeId: disp.Id}
	tl := c.tl
	switch disp.Phase {
	case verifytypes.DISPUTE_PHASE_LOG:
		hi := disp.Hi.Index
		if hi == 0 {
			msg.Events, hi = uint64(len(tl.Folds)), uint64(len(tl.Folds))
			if hi == 1 {
				return msg, nil
			}
		}
		mid := (disp.Lo.Index + hi) / 2
		msg.StateRoot, msg.LogHead = tl.Roots[mid][:], tl.Heads[mid][:]
	case verifytypes.DISPUTE_PHASE_EVENT:
		f := tl.Folds[disp.Lo.Index]
		switch {
		case f.Snapshot:
			msg.Snapshot, msg.SnapshotFirst = true, f.First
		case f.Event.Average != nil:
			msg.Event = f.Encoding
		default:
			ref, err := c.reference(int(disp.Lo.Index), d.Codec, d.NAdam)
			if err != nil {
				return nil, err
			}
			root := ref.Trace.Root(len(ref.Program.Ops))
			msg.Event, msg.TraceRoot = f.Encoding, root[:]
		}
	case verifytypes.DISPUTE_PHASE_TRACE:
		ref, err := c.reference(int(disp.EventIndex), d.Codec, d.NAdam)
		if err != nil {
			return nil, err
		}
		root := ref.Trace.Root(int(disp.Lo.Index+disp.Hi.Index) / 2)
		msg.TraceRoot = root[:]
	case verifytypes.DISPUTE_PHASE_OUTPUT:
		ref, err := c.reference(int(disp.EventIndex), d.Codec, d.NAdam)
		if err != nil {
			return nil, err
		}
		k := int(disp.Lo.Index)
		out := ref.Output(k)
		if disp.Header == nil {
			ap, err := ref.Trace.Append(k)
			if err != nil {
				return nil, err
			}
			h := verifytypes.HeaderOf(stageprog.OutputHeader(k, ref.Program.Dims(len(ref.Program.InputDims)+k)))
			top := chunksRoot(out)
			msg.OutputLeaf, msg.AppendPath, msg.Header, msg.ChunksRoot = ap.Leaf[:], verifytypes.HashBytes(ap.Path), &h, top[:]
			return msg, nil
		}
		treeMove(msg, disp, out)
	case verifytypes.DISPUTE_PHASE_STATE:
		_, after, err := c.states(int(disp.EventIndex), d.Codec, d.NAdam)
		if err != nil {
			return nil, err
		}
		switch {
		case len(disp.TensorLeaves) == 0:
			for _, t := range after {
				l := t.Leaf()
				msg.TensorLeaves = append(msg.TensorLeaves, l[:])
			}
		case disp.Header == nil && disp.Tensor == uint64(len(disp.TensorLeaves)):
			// The referee picked the gradient sent back.
			if msg.Sent, err = d.sent(c, int(disp.EventIndex)); err != nil {
				return nil, err
			}
		case disp.Header == nil:
			if disp.Tensor >= uint64(len(after)) {
				return nil, fmt.Errorf("tensor %d of a state of %d", disp.Tensor, len(after))
			}
			t := after[disp.Tensor]
			h := verifytypes.HeaderOf(statecommit.Header{Path: t.Path, DType: t.DType, Dims: t.Dims, RawLen: uint64(len(t.Raw))})
			top := chunksRoot(t)
			msg.Header, msg.ChunksRoot = &h, top[:]
		default:
			treeMove(msg, disp, after[disp.Tensor])
		}
	default:
		return nil, fmt.Errorf("no move of the worker in phase %s", disp.Phase)
	}
	return msg, nil
}

// sent is the gradient payload the update at fold i sent back, as the log names it.
func (d *Defender) sent(c *foldCase, i int) ([]byte, error) {
	if i < 0 || i >= len(c.tl.Folds) || c.tl.Folds[i].Event == nil || c.tl.Folds[i].Event.Update == nil {
		return nil, fmt.Errorf("fold %d is no update", i)
	}
	want := c.tl.Folds[i].Event.Update.Sent
	if d.Sent != nil {
		if b, ok := d.Sent(want); ok {
			return b, nil
		}
	}
	b, err := c.sent(i)
	if err != nil {
		return nil, err
	}
	if got, err := payload.Digest(b); err != nil || got != want {
		return nil, fmt.Errorf("the replay of update %d sends back another gradient than the log names (%v)", i, err)
	}
	return b, nil
}

// defense is disp's case, its timeline built at the first move.
func (d *Defender) defense(ctx context.Context, disp verifytypes.Dispute) (*foldCase, error) {
	if c, ok := d.cases[disp.Id]; ok {
		return c, nil
	}
	a, err := d.Chain.Attestation(ctx, disp.AttestationId)
	if err != nil {
		return nil, err
	}
	if len(a.StateRoot) != 32 || len(a.LogHead) != 32 || len(a.EndStateRoot) != 32 || len(a.EndLogHead) != 32 {
		return nil, fmt.Errorf("attestation %d commits no start and end to defend", a.Id)
	}
	segs, err := d.Segments([32]byte(a.StateRoot))
	if err != nil {
		return nil, err
	}
	tl, err := NewTimeline(d.NewStage, d.Codec, segs, d.Limit, d.Mix, [32]byte(a.StateRoot), [32]byte(a.LogHead), [32]byte(a.EndLogHead))
	if err != nil {
		return nil, fmt.Errorf("attestation %d: %w", a.Id, err)
	}
	if !tl.ReachesEnd([32]byte(a.EndStateRoot)) {
		return nil, fmt.Errorf("attestation %d: the log's replay ends at another root than the attested end (a backend that does not reproduce the worker's arithmetic?)", a.Id)
	}
	c := newFoldCase(tl)
	if d.cases == nil {
		d.cases = map[uint64]*foldCase{}
	}
	d.cases[disp.Id] = c
	return c, nil
}

// Output is op k's output as the trace commits it.
func (r *Reference) Output(k int) statecommit.Tensor {
	v := r.Values[len(r.Program.InputDims)+k]
	h := stageprog.OutputHeader(k, v.Dims)
	raw := make([]byte, 8*len(v.Data))
	for i, x := range v.Data {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(x))
	}
	return statecommit.Tensor{Path: h.Path, DType: h.DType, Dims: h.Dims, Raw: raw}
}

// chunkLevels are the levels of t's chunk tree, leaves first.
func chunkLevels(t statecommit.Tensor) [][]merkle.Hash {
	var leaves []merkle.Hash
	for off := 0; off < len(t.Raw); off += statecommit.ChunkBytes {
		leaves = append(leaves, merkle.Leaf(t.Raw[off:min(off+statecommit.ChunkBytes, len(t.Raw))]))
	}
	return merkle.Levels(leaves)
}

func chunksRoot(t statecommit.Tensor) merkle.Hash {
	lv := chunkLevels(t)
	return lv[len(lv)-1][0]
}

// treeMove is the worker's move in the bisection of t's chunk tree: the children of the
// disputed node, or at the bottom the chunk.
func treeMove(msg *verifytypes.MsgDisputeClaim, disp verifytypes.Dispute, t statecommit.Tensor) {
	if disp.Level > 0 {
		lv := chunkLevels(t)[disp.Level-1]
		l, r := lv[2*disp.Hi.Index], lv[2*disp.Hi.Index+1]
		msg.Children = [][]byte{l[:], r[:]}
		return
	}
	lo := disp.Hi.Index * statecommit.ChunkBytes
	msg.Chunk = t.Raw[lo:min(lo+statecommit.ChunkBytes, uint64(len(t.Raw)))]
}
