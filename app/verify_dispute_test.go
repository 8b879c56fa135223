package app_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/subspace"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The replay dispute game, played on the in-process chain between a worker of stage 1 and a
// replica of the stage. The worker's "engine" is the reference program itself in float64, its
// state rounded to float32 as an engine holds it: what the chain judges is the protocol
// (trainer/dispute's TestEnds measures a float32 engine's error; app's TestDefender* and
// TestProsecutor* play the trainers' own code on a real engine).

// disputeLog is a worker's log between two attestations: the states before and after each
// event, the events, and each event's reference run.
type disputeLog struct {
	prog   *stageprog.Program
	l      stageprog.Layout
	up     stageprog.Update
	states [][]statecommit.Tensor // states[i] is before event i; the last is after them all
	heads  [][32]byte             // heads[i] is the log's head before event i
	events [][]byte
	inputs [][]byte // each event's activations payload
	grads  [][]byte
	runs   [][]stageprog.Tensor
	traces []*stageprog.Trace
	// wruns and wtraces are the worker's: its trace may lie (lieTrace).
	wruns   [][]stageprog.Tensor
	wtraces []*stageprog.Trace
	worker  []merkle.Hash // the worker's state root after each event (claimed)
	honest  []merkle.Hash // the program's state root after each event from the worker's state before it
	cheated []statecommit.Tensor
	// tail is a fold of the head after the last update: "snapshot" (the trainer's, at a period's
	// end: the state does not change) or "average" (a mix with a replica's parameters).
	tail     string
	tailRoot merkle.Hash
	average  []byte
}

// sends are what an attestation of the log's range commits: what each update records as signed,
// at its event's index (the tail signs nothing).
func (dl *disputeLog) sends(t *testing.T) []verifytypes.SentPayload {
	t.Helper()
	var out []verifytypes.SentPayload
	for e, b := range dl.events {
		ev, err := logevent.Decode(b)
		require.NoError(t, err)
		for _, s := range ev.Update.Signed() {
			out = append(out, verifytypes.SentPayload{Event: uint32(e), Seq: s.Seq, Digest: s.Digest[:]})
		}
	}
	return out
}

// folds is how many folds of the head the range holds.
func (dl *disputeLog) folds() int {
	if dl.tail != "" {
		return len(dl.events) + 1
	}
	return len(dl.events)
}

// withTail adds a fold after the last update: a snapshot, or an average (its claim) with
// parameters signed by signer (nil: a signature that is no one's).
func (dl *disputeLog) withTail(t *testing.T, kind string, signer crypto.PrivKey) *disputeLog {
	last := dl.heads[len(dl.heads)-1]
	dl.tail, dl.tailRoot = kind, dl.root(len(dl.events))
	switch kind {
	case "snapshot":
		dl.heads = append(dl.heads, logevent.Next(last, logevent.SnapshotDigest(uint64(len(dl.events)), dl.tailRoot)))
	case "average":
		a := logevent.Average{
			Weight: 0.5, Sel: logevent.SelectionParams, Root: sha256.Sum256([]byte("the replica's root")),
			ParamsDigest: sha256.Sum256([]byte("a replica's parameters")), From: []byte("peer"), Sig: []byte("sig"),
		}
		if signer != nil {
			id, err := peer.IDFromPrivateKey(signer)
			require.NoError(t, err)
			a.From = []byte(id)
			a.Sig, err = signer.Sign(logevent.StateMessage(1, 1, a.Sel, a.ParamsDigest, a.Root))
			require.NoError(t, err)
		}
		dl.average = logevent.EncodeAverageClaim(a)
		dl.heads = append(dl.heads, logevent.Next(last, sha256.Sum256(dl.average)))
		dl.tailRoot = sha256.Sum256([]byte("the state after the mix"))
	}
	return dl
}

func stateTensors(prog *stageprog.Program, l stageprog.Layout, vals []stageprog.Tensor, values func(tensor int) int) []statecommit.Tensor {
	n := 3*len(l.Params) + 1
	out := make([]statecommit.Tensor, n)
	for t := range n {
		v := values(t)
		out[t] = float32Tensor("state/"+string(rune('a'+t%26))+string(rune('0'+t/26)), prog.Dims(v), vals[v].Data)
	}
	return out
}

// float32Tensor is a state tensor as the engines hold it: float32 values (data rounded).
func float32Tensor(path string, dims []int, data []float64) statecommit.Tensor {
	raw := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(x)))
	}
	t := float64Tensor(path, dims, nil)
	t.DType, t.Raw = "Float32", raw
	return t
}

func float64Tensor(path string, dims []int, data []float64) statecommit.Tensor {
	raw := make([]byte, 8*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(x))
	}
	d := make([]uint64, len(dims))
	for i, x := range dims {
		d[i] = uint64(x)
	}
	return statecommit.Tensor{Path: path, DType: "Float64", Dims: d, Raw: raw}
}

func tensorValues(t statecommit.Tensor) []float64 {
	if t.DType == "Float32" {
		out := make([]float64, len(t.Raw)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:])))
		}
		return out
	}
	out := make([]float64, len(t.Raw)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Raw[8*i:]))
	}
	return out
}

// newDisputeLog runs `events` updates of stage 1 of the verify chain's model from a random state;
// cheat, when set, edits the worker's state after event `at` (the worker's log goes on from
// there, as a cheater's would).
func newDisputeLog(t *testing.T, vc *verifyChain, events, at int, cheat func(before, after []statecommit.Tensor), lie func(*disputeLog, []stageprog.Tensor)) *disputeLog {
	t.Helper()
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	s, c, err := verifytypes.DisputeProgram(m, 1, 1)
	require.NoError(t, err)
	prog, l, up, err := stageprog.StageUpdate(s, c)
	require.NoError(t, err)
	dl := &disputeLog{prog: prog, l: l, up: up}
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(n int, scale float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(float32(scale * rng.NormFloat64()))
		}
		return out
	}
	// The state before the first event: random weights, a few steps of moments.
	in := make([]stageprog.Tensor, len(prog.InputDims))
	for v, dims := range prog.InputDims {
		in[v] = stageprog.Tensor{Dims: dims, Data: gen(stageprog.Size(dims), 0.3)}
	}
	for i := range l.Moments {
		for j := range in[l.Moments[i][1]].Data {
			in[l.Moments[i][1]].Data[j] = math.Abs(in[l.Moments[i][1]].Data[j]) * 0.01
		}
	}
	in[l.Step].Data[0] = 3
	state := stateTensors(prog, l, in, func(tn int) int {
		for v := range prog.InputDims {
			if x, ok := l.StateTensor(v); ok && x == tn {
				return v
			}
		}
		t.Fatalf("no input holds state tensor %d", tn)
		return 0
	})
	head := sha256.Sum256([]byte("the log's head at the attestation"))
	u := rounded32(subspace.Basis(m.Seed, int(m.Arch.DModel), int(m.Arch.CompressionRank)))
	tab := rounded32(subspace.TokenTable(m.Seed, int(m.Arch.Vocab), int(m.Arch.DModel)))
	for e := range events {
		dl.states = append(dl.states, state)
		dl.heads = append(dl.heads, head)
		act := &payload.Payload{
			Kind: payload.Activations, DType: payload.F32, Compressed: true, Step: uint64(e), Batch: 1, Seq: m.Arch.SeqLen,
			Width: m.Arch.CompressionRank, Vocab: m.Arch.Vocab, Data: f32(gen(int(m.Arch.SeqLen*m.Arch.CompressionRank), 1)), IDs: make([]int32, m.Arch.SeqLen),
		}
		for i := range act.IDs {
			act.IDs[i] = int32(rng.IntN(int(m.Arch.Vocab)))
		}
		grad := &payload.Payload{
			Kind: payload.Gradients, DType: payload.F32, Compressed: true, Step: uint64(e), Batch: 1, Seq: m.Arch.SeqLen,
			Width: m.Arch.CompressionRank, Data: f32(gen(int(m.Arch.SeqLen*m.Arch.CompressionRank), 0.1)),
		}
		ab, err := payload.Encode(act)
		require.NoError(t, err)
		gb, err := payload.Encode(grad)
		require.NoError(t, err)
		dl.inputs, dl.grads = append(dl.inputs, ab), append(dl.grads, gb)
		// The program's inputs: the state, the payloads, the tables.
		x := make([]stageprog.Tensor, len(prog.InputDims))
		for v, dims := range prog.InputDims {
			if tn, ok := l.StateTensor(v); ok {
				x[v] = stageprog.Tensor{Dims: dims, Data: tensorValues(state[tn])}
			}
		}
		x[l.In] = stageprog.Tensor{Dims: prog.InputDims[l.In], Data: f64(act.Data)}
		ids := make([]float64, len(act.IDs))
		for i, id := range act.IDs {
			ids[i] = float64(id)
		}
		x[l.IDs] = stageprog.Tensor{Dims: prog.InputDims[l.IDs], Data: ids}
		x[l.DOut] = stageprog.Tensor{Dims: prog.InputDims[l.DOut], Data: f64(grad.Data)}
		x[l.U] = stageprog.Tensor{Dims: prog.InputDims[l.U], Data: u}
		x[l.T] = stageprog.Tensor{Dims: prog.InputDims[l.T], Data: tab}
		vals, err := prog.Run(x)
		require.NoError(t, err)
		tr, err := stageprog.NewTrace(prog, vals)
		require.NoError(t, err)
		dl.runs, dl.traces = append(dl.runs, vals), append(dl.traces, tr)
		wvals, wtr := vals, tr
		if e == at && lie != nil {
			wvals = make([]stageprog.Tensor, len(vals))
			for i, v := range vals {
				wvals[i] = stageprog.Tensor{Dims: v.Dims, Data: append([]float64(nil), v.Data...)}
			}
			lie(dl, wvals)
			wtr, err = stageprog.NewTrace(prog, wvals)
			require.NoError(t, err)
		}
		dl.wruns, dl.wtraces = append(dl.wruns, wvals), append(dl.wtraces, wtr)
		next := stateTensors(prog, l, vals, func(tn int) int { v, _ := verifytypes.StateOutput(up, tn); return v })
		dl.honest = append(dl.honest, statecommit.Root(next))
		if e == at && cheat != nil {
			cheat(state, next)
			dl.cheated = next
		}
		dl.worker = append(dl.worker, statecommit.Root(next))
		sent, err := payload.Digest(ab) // stands for the gradient sent back: the ends compare the state
		require.NoError(t, err)
		u := logevent.Update{Step: 1, Microbatch: uint64(e), Input: ab, Grad: gb, Sent: sent}
		numbered(&u, e, false)
		ev := logevent.EncodeUpdate(u)
		dl.events = append(dl.events, ev)
		head = logevent.Next(head, sha256.Sum256(ev))
		state = next
	}
	dl.states = append(dl.states, state)
	dl.heads = append(dl.heads, head)
	return dl
}

func rounded32(v []float64) []float64 {
	for i := range v {
		v[i] = float64(float32(v[i]))
	}
	return v
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// root is the worker's state root after i folds (i = 0: the attestation's).
func (dl *disputeLog) root(i int) merkle.Hash {
	switch {
	case i == 0:
		return statecommit.Root(dl.states[0])
	case i > len(dl.events):
		return dl.tailRoot
	}
	return dl.worker[i-1]
}

// attestDisputed has w attest one step whose inputs are the log's payloads, from the log's first
// state to the state after it (the disputed range), then its next attestation from there.
func attestDisputed(t *testing.T, vc *verifyChain, w *trainer, dl *disputeLog) (a, next uint64) {
	t.Helper()
	msg := vc.attestation(t, w, 1)
	c := &msg.Commitments[0]
	d, err := payload.Digest(dl.inputs[0])
	require.NoError(t, err)
	// Each receipt names its event's microbatch (event e is microbatch e), as the swarm's do.
	c.Input = signInputDigest(t, vc.neighbour(w), w, 0, d, nil)
	g, err := payload.Digest(dl.grads[0])
	require.NoError(t, err)
	c.GradInputs = []*verifytypes.BoundaryReceipt{signInputDigest(t, vc.honest(w.stage+1), w, 0, g, nil)}
	// The log's other events' payloads are the other microbatches' (a receipt each).
	c.OtherInputs = nil
	for e := 1; e < len(dl.inputs); e++ {
		d, err := payload.Digest(dl.inputs[e])
		require.NoError(t, err)
		g, err := payload.Digest(dl.grads[e])
		require.NoError(t, err)
		mb := uint64(e)
		c.OtherInputs = append(c.OtherInputs, signInputDigest(t, vc.neighbour(w), w, mb, d, nil))
		c.GradInputs = append(c.GradInputs, signInputDigest(t, vc.honest(w.stage+1), w, mb, g, nil))
	}
	first, after := statecommit.Root(dl.states[0]), dl.root(dl.folds())
	msg.StateRoot, msg.LogHead = first[:], dl.heads[0][:]
	msg.EndStateRoot, msg.EndLogHead = after[:], dl.heads[dl.folds()][:]
	msg.Sends = dl.sends(t)
	a = vc.submitted(t, w, msg)
	msg2 := vc.attestation(t, w, 1)
	msg2.StateRoot, msg2.LogHead = after[:], dl.heads[dl.folds()][:]
	return a, vc.submitted(t, w, msg2)
}

// player plays one side of a dispute from a log: the worker from what its log and trace say,
// the referee from its own replay. lieTrace, when set, edits the worker's trace values of an
// event before it is committed (a worker that fits its trace to a cheat).
type player struct {
	t        *testing.T
	vc       *verifyChain
	dl       *disputeLog
	w, r     *trainer
	id       uint64
	disagree bool // the referee disagrees with everything (a lying referee)
	// agreeUpTo, when positive, is the last fold the referee agrees with (it disputes the rest).
	agreeUpTo int
	// next is the worker's attestation after the disputed one.
	next uint64
	// gas is the most gas a move of each side took, by phase ("worker LOG", ...).
	gas map[string]int64
	// slow is how many blocks pass before each move (each side takes its time).
	slow int
	// during, when set, is called before each move.
	during func(d verifytypes.Dispute)
}

func (p *player) spentIn(side string, d verifytypes.Dispute, res *abci.ExecTxResult) {
	if p.gas == nil {
		p.gas = map[string]int64{}
	}
	key := side + " " + strings.TrimPrefix(d.Phase.String(), "DISPUTE_PHASE_")
	p.gas[key] = max(p.gas[key], res.GasUsed)
}

func (p *player) dispute() verifytypes.Dispute {
	d, err := p.vc.app.VerifyKeeper.GetDispute(p.vc.app.NewContext(true), p.id)
	require.NoError(p.t, err)
	return d
}

func (p *player) claim(msg *verifytypes.MsgDisputeClaim) {
	msg.Worker, msg.DisputeId = p.w.addr.String(), p.id
	before := p.dispute()
	res := p.vc.send(p.w.account, msg)
	p.spentIn("worker", before, res)
	require.Zero(p.t, res.Code, res.Log)
}

func (p *player) respond(msg *verifytypes.MsgDisputeRespond) {
	msg.Referee, msg.DisputeId = p.r.addr.String(), p.id
	before := p.dispute()
	res := p.vc.send(p.r.account, msg)
	p.spentIn("referee", before, res)
	require.Zero(p.t, res.Code, res.Log)
}

// workerMove is the worker's move in d.
func (p *player) workerMove(d verifytypes.Dispute) {
	dl := p.dl
	e := int(d.EventIndex)
	switch d.Phase {
	case verifytypes.DISPUTE_PHASE_LOG:
		msg := &verifytypes.MsgDisputeClaim{}
		if d.Hi.Index == 0 {
			msg.Events = uint64(dl.folds())
			d.Hi.Index = msg.Events
		}
		mid := int(d.Lo.Index+d.Hi.Index) / 2
		r := dl.root(mid)
		msg.StateRoot, msg.LogHead = r[:], dl.heads[mid][:]
		p.claim(msg)
	case verifytypes.DISPUTE_PHASE_EVENT:
		i := int(d.Lo.Index)
		if i == len(dl.events) && dl.tail == "snapshot" {
			p.claim(&verifytypes.MsgDisputeClaim{Snapshot: true, SnapshotFirst: uint64(i)})
			return
		}
		if i == len(dl.events) && dl.tail == "average" {
			p.claim(&verifytypes.MsgDisputeClaim{Event: dl.average})
			return
		}
		root := dl.wtraces[i].Root(len(dl.prog.Ops))
		p.claim(&verifytypes.MsgDisputeClaim{Event: dl.events[i], TraceRoot: root[:]})
	case verifytypes.DISPUTE_PHASE_TRACE:
		root := dl.wtraces[e].Root(int(d.Lo.Index+d.Hi.Index) / 2)
		p.claim(&verifytypes.MsgDisputeClaim{TraceRoot: root[:]})
	case verifytypes.DISPUTE_PHASE_OUTPUT:
		k := int(d.Lo.Index)
		out := dl.output(dl.wruns[e], k)
		if d.Header == nil {
			ap, err := dl.wtraces[e].Append(k)
			require.NoError(p.t, err)
			lv := chunkLevels(out)
			top := lv[len(lv)-1][0]
			h := verifytypes.HeaderOf(stageprog.OutputHeader(k, dl.prog.Dims(len(dl.prog.InputDims)+k)))
			var path [][]byte
			for _, x := range ap.Path {
				path = append(path, x[:])
			}
			p.claim(&verifytypes.MsgDisputeClaim{OutputLeaf: ap.Leaf[:], AppendPath: path, Header: &h, ChunksRoot: top[:]})
			return
		}
		p.claimTree(d, out)
	case verifytypes.DISPUTE_PHASE_STATE:
		after := dl.states[e+1]
		switch {
		case len(d.TensorLeaves) == 0:
			var leaves [][]byte
			for _, tn := range after {
				l := tn.Leaf()
				leaves = append(leaves, l[:])
			}
			p.claim(&verifytypes.MsgDisputeClaim{TensorLeaves: leaves})
		case d.Header == nil:
			tn := after[d.Tensor]
			o, err := statecommit.Open(after, int(d.Tensor), 0)
			require.NoError(p.t, err)
			root := chunkLevels(tn)
			h := verifytypes.HeaderOf(o.Header)
			top := root[len(root)-1][0]
			p.claim(&verifytypes.MsgDisputeClaim{Header: &h, ChunksRoot: top[:]})
		default:
			p.claimTree(d, after[d.Tensor])
		}
	default:
		p.t.Fatalf("no worker move in phase %s", d.Phase)
	}
}

// claimTree is the worker's move in the bisection of tn's chunk tree.
func (p *player) claimTree(d verifytypes.Dispute, tn statecommit.Tensor) {
	if d.Level > 0 {
		lv := chunkLevels(tn)[d.Level-1]
		l, r := lv[2*d.Hi.Index], lv[2*d.Hi.Index+1]
		p.claim(&verifytypes.MsgDisputeClaim{Children: [][]byte{l[:], r[:]}})
		return
	}
	end := min((d.Hi.Index+1)*statecommit.ChunkBytes, uint64(len(tn.Raw)))
	p.claim(&verifytypes.MsgDisputeClaim{Chunk: tn.Raw[d.Hi.Index*statecommit.ChunkBytes : end]})
}

// output is op k's output of a run as the trace commits it.
func (dl *disputeLog) output(vals []stageprog.Tensor, k int) statecommit.Tensor {
	v := vals[len(dl.prog.InputDims)+k]
	h := stageprog.OutputHeader(k, v.Dims)
	return float64Tensor(h.Path, v.Dims, v.Data)
}

// pickChild is the referee's pick of the child of the node that differs from its own tree.
func (p *player) pickChild(d verifytypes.Dispute, own statecommit.Tensor) {
	lv := chunkLevels(own)[d.Level-1]
	pick := uint64(1)
	if lv[2*d.Hi.Index] != merkle.Hash(d.Children[0]) {
		pick = 0
	}
	p.respond(&verifytypes.MsgDisputeRespond{Pick: pick})
}

func dtypeWidth(dtype string) int {
	if dtype == "Float32" {
		return 4
	}
	return 8
}

func chunkLevels(tn statecommit.Tensor) [][]merkle.Hash {
	var leaves []merkle.Hash
	for off := 0; off < len(tn.Raw); off += statecommit.ChunkBytes {
		leaves = append(leaves, merkle.Leaf(tn.Raw[off:min(off+statecommit.ChunkBytes, len(tn.Raw))]))
	}
	return merkle.Levels(leaves)
}

// refereeMove is the referee's move in d: it agrees with what its replay gives (unless it lies),
// picks what differs, and shows what the chain asks.
func (p *player) refereeMove(d verifytypes.Dispute) {
	dl := p.dl
	e := int(d.EventIndex)
	switch d.Phase {
	case verifytypes.DISPUTE_PHASE_LOG:
		i := int(d.Pending.Index)
		agree := true
		for j := range i {
			agree = agree && dl.worker[j] == dl.honest[j]
		}
		if p.agreeUpTo > 0 {
			agree = i <= p.agreeUpTo
		}
		p.respond(&verifytypes.MsgDisputeRespond{Agree: agree && !p.disagree})
	case verifytypes.DISPUTE_PHASE_TRACE:
		own := dl.traces[e].Root(int(d.Pending.Index))
		p.respond(&verifytypes.MsgDisputeRespond{Agree: !p.disagree && own == merkle.Hash(d.Pending.Root)})
	case verifytypes.DISPUTE_PHASE_OUTPUT:
		p.pickChild(d, dl.output(dl.runs[e], int(d.Lo.Index)))
	case verifytypes.DISPUTE_PHASE_LEAF:
		k := int(d.Lo.Index)
		nIn := len(dl.prog.InputDims)
		// The element of the worker's chunk that differs from its own run (the first, if none does).
		first := int(d.Hi.Index) * statecommit.ChunkBytes / 8
		elem := first
		own := dl.runs[e][nIn+k].Data
		for i := range len(d.Chunk) / 8 {
			if math.Float64bits(own[first+i]) != binary.LittleEndian.Uint64(d.Chunk[8*i:]) {
				elem = first + i
				break
			}
		}
		refs, err := stageprog.ReadsOf(dl.prog.Ops[k], elem, stageprog.ValuesReader(dl.runs[e]))
		require.NoError(p.t, err)
		msg := &verifytypes.MsgDisputeRespond{Pick: uint64(elem)}
		for _, ref := range refs {
			if ref.Value >= nIn {
				o, err := dl.traces[e].Open(ref.Value-nIn, ref.Index, k)
				require.NoError(p.t, err)
				msg.Outputs = append(msg.Outputs, verifytypes.TraceOpeningOf(o))
			} else if tn, ok := dl.l.StateTensor(ref.Value); ok {
				o, err := statecommit.Open(dl.states[e], tn, uint64(8*ref.Index))
				require.NoError(p.t, err)
				msg.State = append(msg.State, verifytypes.ChunkOpeningOf(o))
			}
		}
		p.respond(msg)
	case verifytypes.DISPUTE_PHASE_STATE:
		honest := dl.states[e+1]
		if dl.cheated != nil {
			honest = stateTensors(dl.prog, dl.l, dl.runs[e], func(tn int) int { v, _ := verifytypes.StateOutput(dl.up, tn); return v })
		}
		if d.Header == nil {
			for i, l := range d.TensorLeaves {
				if honest[i].Leaf() != merkle.Hash(l) {
					p.respond(&verifytypes.MsgDisputeRespond{Pick: uint64(i)})
					return
				}
			}
			p.respond(&verifytypes.MsgDisputeRespond{Pick: 0})
			return
		}
		p.pickChild(d, honest[d.Tensor])
	case verifytypes.DISPUTE_PHASE_CHUNK:
		v, _ := verifytypes.StateOutput(dl.up, int(d.Tensor))
		op := v - len(dl.prog.InputDims)
		width := dtypeWidth(d.Header.Dtype)
		first := int(d.Hi.Index) * statecommit.ChunkBytes / width
		n := len(d.Chunk) / width
		msg := &verifytypes.MsgDisputeRespond{}
		for i := first; i < first+n; i += statecommit.ChunkBytes / 8 {
			o, err := dl.traces[e].Open(op, i, len(dl.prog.Ops))
			require.NoError(p.t, err)
			msg.Outputs = append(msg.Outputs, verifytypes.TraceOpeningOf(o))
		}
		before := dl.states[e][d.Tensor]
		bw := dtypeWidth(before.DType)
		for i := first; i < first+n; i += statecommit.ChunkBytes / bw {
			o, err := statecommit.Open(dl.states[e], int(d.Tensor), uint64(i*bw))
			require.NoError(p.t, err)
			msg.State = append(msg.State, verifytypes.ChunkOpeningOf(o))
		}
		p.respond(msg)
	default:
		p.t.Fatalf("no referee move in phase %s", d.Phase)
	}
}

// play runs the dispute to its end and returns it with the number of moves made.
func (p *player) play() (verifytypes.Dispute, int) {
	moves := 0
	for d := p.dispute(); d.Open(); d = p.dispute() {
		require.Less(p.t, moves, 200, "the dispute does not end")
		if p.slow > 0 {
			p.vc.blocks(p.slow)
			d = p.dispute()
		}
		if p.during != nil {
			p.during(d)
		}
		if d.WorkerToMove {
			p.workerMove(d)
		} else {
			p.refereeMove(d)
		}
		moves++
		require.NoError(p.t, p.vc.app.VerifyKeeper.CheckInvariants(p.vc.app.NewContext(true)), "after move %d", moves)
	}
	return p.dispute(), moves
}

// disputeChain is a verify chain where w (stage 1) attested the log of `events` updates (one
// step of that many microbatches) and r (the other replica of stage 1) disputed it.
func disputeChain(t *testing.T, events, cheatAt int, cheat func(before, after []statecommit.Tensor), lie func(*disputeLog, []stageprog.Tensor)) *player {
	t.Helper()
	return disputeChainTail(t, events, cheatAt, cheat, lie, "")
}

// disputeChainTail is disputeChain with a fold after the log's last update (disputeLog.withTail).
func disputeChainTail(t *testing.T, events, cheatAt int, cheat func(before, after []statecommit.Tensor), lie func(*disputeLog, []stageprog.Tensor), tail string) *player {
	t.Helper()
	return disputeChainSigned(t, events, cheatAt, cheat, lie, tail, nil)
}

// disputeChainSigned is disputeChainTail whose average's parameters signer signed (given the
// chain's workers; nil: no one).
func disputeChainSigned(t *testing.T, events, cheatAt int, cheat func(before, after []statecommit.Tensor), lie func(*disputeLog, []stageprog.Tensor), tail string, signer func(ws []*trainer) crypto.PrivKey) *player {
	t.Helper()
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 40, vResponse, func(mg *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
		microbatches(uint32(events))(mg, vg)
		vg.Params.DisputeBond = sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	})
	w, r := ws[1], ws[3]
	r.cheat = false
	dl := newDisputeLog(t, vc, events, cheatAt, cheat, lie)
	if tail != "" {
		var key crypto.PrivKey
		if signer != nil {
			key = signer(ws)
		}
		dl.withTail(t, tail, key)
	}
	a, next := attestDisputed(t, vc, w, dl)
	res := vc.send(r.account, &verifytypes.MsgOpenDispute{Referee: r.addr.String(), AttestationId: a, Bond: sdk.NewInt64Coin(app.BondDenom, 7_000_000)})
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgOpenDisputeResponse
	requireMsgResponse(t, res, &out)
	return &player{t: t, vc: vc, dl: dl, w: w, r: r, id: out.DisputeId, next: next}
}

// A worker that skips the update of one weight tensor at its second update, and goes on from
// there, loses: the log's bisection finds that update, the whole reference trace is agreed, and
// the state's bisection ends at a chunk of that tensor whose values are not the update's. It is
// slashed and jailed and its attestations voided; the referee gets its bond back and the reward.
func TestDisputeSkippedUpdateLoses(t *testing.T) {
	p := disputeChain(t, 4, 1, func(before, after []statecommit.Tensor) { after[1] = before[1] }, nil)
	refBefore := p.vc.balance(p.r.addr)
	pending := p.next
	d, moves := p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
	require.Equal(t, uint64(1), d.EventIndex, "the bisection over the log finds the second update")
	require.Equal(t, uint64(1), d.Tensor, "and the state's bisection the tensor it skipped")
	require.Contains(t, d.Reason, "end ratio")
	t.Logf("%d moves: %s; most gas a move: %v", moves, d.Reason, p.gas)
	require.Greater(t, p.vc.balance(p.r.addr), refBefore+7_000_000, "the referee's bond comes back with the reward")
	w, err := p.vc.worker(p.w.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status, "the worker is jailed")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, p.vc.attestationByID(t, d.AttestationId).Status, "its attestations are voided")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, p.vc.attestationByID(t, pending).Status)
}

// A worker that skips the update of one weight tensor and fits its reference trace to the cheat
// (the optimizer's output for that tensor is the tensor unchanged) loses at a leaf: the trace's
// bisection finds that op, the output's chunk tree the chunk, and the chain recomputes the
// value from the agreed moments and gradient.
func TestDisputeFittedTraceLoses(t *testing.T) {
	p := disputeChain(t, 2, 1, func(before, after []statecommit.Tensor) { after[1] = before[1] }, func(dl *disputeLog, vals []stageprog.Tensor) {
		copy(vals[dl.up.Params[1]].Data, vals[dl.l.Params[1]].Data)
	})
	d, moves := p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "NAdamWeight")
	require.Contains(t, d.Reason, "is not the program's")
	t.Logf("%d moves: %s; most gas a move: %v", moves, d.Reason, p.gas)
}

// A worker cannot escape the chunk's comparison by committing its state in another encoding
// (float64 beside the engines' float32, where the referee's tree would differ in every chunk):
// a stage's state is Float32, and another dtype loses the dispute when it is shown.
func TestDisputeDtypeSwitchLoses(t *testing.T) {
	p := disputeChain(t, 2, 0, func(before, after []statecommit.Tensor) {
		after[1] = float64Tensor(before[1].Path, dimsOf(before[1]), tensorValues(before[1]))
	}, nil)
	d, _ := p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "a stage's state is Float32")
}

// An honest worker wins against a referee that disagrees with everything: the bisection ends at
// one value of one op of the reference program, which the chain recomputes from the referee's
// own evidence and finds equal to the worker's. The referee's bond goes to the worker, whose
// attestation finalizes.
func TestDisputeLyingRefereeLoses(t *testing.T) {
	p := disputeChain(t, 3, -1, nil, nil)
	p.disagree = true
	workerBefore := p.vc.balance(p.w.addr)
	d, moves := p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "is the program's")
	t.Logf("%d moves (%d ops in the program): %s", moves, len(p.dl.prog.Ops), d.Reason)
	require.Equal(t, workerBefore+3_500_000, p.vc.balance(p.w.addr), "half the bond is the worker's, half is burned")
	p.vc.blocks(45)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, p.vc.attestationByID(t, d.AttestationId).Status)
}

// A dispute outlasts the challenge window of the worker's later attestations (each side may take
// up to response_window blocks a move): none of the worker's attestations finalizes while it has
// an open dispute, so a cheater's later work is not paid before it loses (it is voided with the
// disputed one), and an honest worker's is paid once it wins.
func TestDisputeHoldsTheWorkersOtherAttestations(t *testing.T) {
	for _, cheats := range []bool{false, true} {
		t.Run(fmt.Sprintf("cheats %v", cheats), func(t *testing.T) {
			var p *player
			if cheats {
				p = disputeChain(t, 4, 1, func(before, after []statecommit.Tensor) { after[1] = before[1] }, nil)
			} else {
				p = disputeChain(t, 3, -1, nil, nil)
				p.disagree = true
			}
			p.slow = vResponse - 1
			opened := p.vc.height()
			held := false
			p.during = func(verifytypes.Dispute) {
				// The later attestation's window (40 blocks) has passed; it waits.
				if p.vc.height() > opened+45 {
					require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, p.vc.attestationByID(t, p.next).Status, "at height %d", p.vc.height())
					held = true
				}
			}
			d, _ := p.play()
			require.True(t, held, "the dispute ended before the later attestation's window did: slow it down")
			p.vc.blocks(2)
			if cheats {
				require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
				require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, p.vc.attestationByID(t, p.next).Status, "voided with the disputed one")
			} else {
				require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
				require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, p.vc.attestationByID(t, p.next).Status, "paid once the dispute is won")
			}
		})
	}
}

// Whoever must move and does not, by response_window blocks, loses: a worker that never answers
// is slashed; a referee that opens and walks away pays the worker.
func TestDisputeDeadlines(t *testing.T) {
	p := disputeChain(t, 2, -1, nil, nil)
	p.vc.blocks(vResponse + 1)
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, p.dispute().Outcome, p.dispute().Reason)

	p = disputeChain(t, 2, -1, nil, nil)
	p.workerMove(p.dispute())
	p.vc.blocks(vResponse + 1)
	d := p.dispute()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "the referee did not move")
}

// The trainer's log folds a snapshot into its head at every period's end, which changes no
// state: a referee that disputes it loses, and a worker whose root moves across it would. An
// honest worker's range ends with one, as here.
func TestDisputeSnapshotFold(t *testing.T) {
	p := disputeChainTail(t, 2, -1, nil, nil, "snapshot")
	p.agreeUpTo = 2 // disputes the snapshot
	d, _ := p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "is a snapshot of the agreed state")

	// A skipped update is found before the snapshot that ends the range.
	p = disputeChainTail(t, 3, 2, func(before, after []statecommit.Tensor) { after[4] = before[4] }, nil, "snapshot")
	d, _ = p.play()
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
	require.Equal(t, uint64(2), d.EventIndex)
}

// An average must mix in parameters that a replica of the stage signed: a worker that mixed in
// weights of its own choosing (signed by no one, by a key no worker holds, by a worker of
// another stage, or by itself) loses when the dispute reaches the average, and is slashed.
func TestDisputeAverageProvenance(t *testing.T) {
	stranger, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		signer func(ws []*trainer) crypto.PrivKey
		reason string
	}{
		"signed by no one":            {nil, "no valid peer id"},
		"signed by a stranger":        {func([]*trainer) crypto.PrivKey { return stranger }, "which no registered worker holds"},
		"signed by another stage's":   {func(ws []*trainer) crypto.PrivKey { return ws[2].peer }, "no replica of stage 1"},
		"signed by the worker itself": {func(ws []*trainer) crypto.PrivKey { return ws[1].peer }, "signed itself"},
	} {
		t.Run(name, func(t *testing.T) {
			p := disputeChainSigned(t, 2, -1, nil, nil, "average", tc.signer)
			p.agreeUpTo = 2 // steers the dispute onto the average
			d, _ := p.play()
			require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
			require.Contains(t, d.Reason, tc.reason)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, p.vc.attestationByID(t, d.AttestationId).Status)
			w, err := p.vc.worker(p.w.addr)
			require.NoError(t, err)
			require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
		})
	}
	// Signed by the other replica of the stage, the average's provenance holds: the dispute goes
	// on over the state after it (which this synthetic log cannot show). It holds as of the
	// attestation: the signer (here the referee itself) leaving the stage before the reveal
	// does not turn the worker's honest mix into a loss.
	for _, leaves := range []bool{false, true} {
		p := disputeChainSigned(t, 2, -1, nil, nil, "average", func(ws []*trainer) crypto.PrivKey { return ws[3].peer })
		p.agreeUpTo = 2
		if leaves {
			res := p.vc.send(p.r.account, &modelstypes.MsgLeaveStage{Operator: p.r.addr.String(), ModelId: 1})
			require.Zero(t, res.Code, res.Log)
		}
		for d := p.dispute(); d.Open() && d.Phase != verifytypes.DISPUTE_PHASE_STATE; d = p.dispute() {
			if d.WorkerToMove {
				p.workerMove(d)
			} else {
				p.refereeMove(d)
			}
		}
		d := p.dispute()
		require.True(t, d.Open(), "signer left %v: %s: %s", leaves, d.Outcome, d.Reason)
		require.Equal(t, verifytypes.DISPUTE_PHASE_STATE, d.Phase)
		require.True(t, d.WorkerToMove)
	}
}

// What the chain refuses: a dispute by someone who is no replica of the stage, on one's own
// attestation, twice on one attestation, or with too small a bond; a move out of turn; an event
// that is not the log's.
func TestDisputeRefusals(t *testing.T) {
	p := disputeChain(t, 2, -1, nil, nil)
	a := p.dispute().AttestationId
	bond := sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	outsider := p.vc.ws[2] // stage 2
	res := p.vc.send(outsider.account, &verifytypes.MsgOpenDispute{Referee: outsider.addr.String(), AttestationId: a, Bond: bond})
	require.Equal(t, verifytypes.ErrInvalidDispute.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "only a replica of the stage")
	res = p.vc.send(p.w.account, &verifytypes.MsgOpenDispute{Referee: p.w.addr.String(), AttestationId: a, Bond: bond})
	require.Contains(t, res.Log, "cannot dispute its own attestation")
	res = p.vc.send(p.r.account, &verifytypes.MsgOpenDispute{Referee: p.r.addr.String(), AttestationId: a, Bond: bond})
	require.Contains(t, res.Log, "you already dispute attestation")
	res = p.vc.send(p.r.account, &verifytypes.MsgDisputeRespond{Referee: p.r.addr.String(), DisputeId: p.id, Agree: true})
	require.Contains(t, res.Log, "waits for the other side's move")

	p.workerMove(p.dispute()) // events = 2, the pair after event 1
	p.refereeMove(p.dispute())
	d := p.dispute()
	require.Equal(t, verifytypes.DISPUTE_PHASE_EVENT, d.Phase)
	other := p.dl.events[1-int(d.Lo.Index)]
	root := p.dl.traces[0].Root(len(p.dl.prog.Ops))
	res = p.vc.send(p.w.account, &verifytypes.MsgDisputeClaim{Worker: p.w.addr.String(), DisputeId: p.id, Event: other, TraceRoot: root[:]})
	require.Contains(t, res.Log, "does not fold the log head")
}

func dimsOf(tn statecommit.Tensor) []int {
	out := make([]int, len(tn.Dims))
	for i, d := range tn.Dims {
		out[i] = int(d)
	}
	return out
}

// TestDisputeInvariants: x/verify's invariants see an open dispute's records: each corruption
// below is reported.
func TestDisputeInvariants(t *testing.T) {
	p := disputeChain(t, 2, -1, nil, nil)
	k, ctx := p.vc.app.VerifyKeeper, p.vc.app.NewContext(true)
	require.NoError(t, k.CheckInvariants(ctx))
	d := p.dispute()
	for name, tc := range map[string]struct {
		corrupt func(sdk.Context) error
		want    string
	}{
		"off the deadline queue": {func(ctx sdk.Context) error {
			return k.DisputeDeadlines.Remove(ctx, collections.Join(d.DeadlineHeight, d.Id))
		}, "dispute deadline queue"},
		"a stray index entry": {func(ctx sdk.Context) error {
			return k.DisputesByAttestation.Set(ctx, collections.Join(d.AttestationId, uint64(99)))
		}, "disputes-by-attestation index has"},
		"open on another's attestation": {func(ctx sdk.Context) error {
			e := d
			e.Worker = p.r.addr.String()
			return k.Disputes.Set(ctx, e.Id, e)
		}, "not a pending attestation"},
		"its bond gone": {func(ctx sdk.Context) error {
			return p.vc.app.BankKeeper.SendCoinsFromModuleToAccount(ctx, verifytypes.ModuleName, p.r.addr, sdk.NewCoins(d.Bond))
		}, "disputes' bonds"},
	} {
		cache, _ := ctx.CacheContext()
		require.NoError(t, tc.corrupt(cache), name)
		require.ErrorContains(t, k.CheckInvariants(cache), tc.want, name)
	}
}

// An open dispute survives a zero-height restart: its deadline keeps the blocks it had left, and
// the imported chain settles it there (the deadline queue was moved but the record's deadline
// was not, so no open dispute ever settled after such a restart).
func TestDisputeZeroHeightRestart(t *testing.T) {
	p := disputeChain(t, 2, -1, nil, nil)
	exported, err := p.vc.app.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	fresh := &chain{t: t, app: newApp(t), time: p.vc.time, valSet: p.vc.valSet}
	fresh.initChain(exported.AppState)
	fvc := &verifyChain{chain: fresh, rng: p.vc.rng, prover: p.vc.prover, ws: p.vc.ws}
	fvc.blocks(vResponse + 2)
	var res verifytypes.QueryDisputeResponse
	require.NoError(t, fvc.query("/protolearn.verify.v1.Query/Dispute", &verifytypes.QueryDisputeRequest{Id: p.id}, &res))
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, res.Dispute.Outcome, "settled at its deadline: %s", res.Dispute.Reason)
	require.NoError(t, fresh.app.VerifyKeeper.CheckInvariants(fresh.app.NewContext(true)))
}
