package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	trainerchain "github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/dispute"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
	computekeeper "github.com/protolearn/protolearn/x/compute/keeper"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The trainer's side of the dispute game: a worker's Defender plays every move the chain asks
// of it from its own replay log (a real engine stage of the verify chain's model, trained and
// logged as the swarm does), against referees that dispute its honest work. Every move is
// checked by the chain (heads that fold, the Append proof, headers, children, chunks): the
// defender reaches the referee's last move, which a referee disputing honest work cannot make,
// and the referee loses.

// defenderChain is dispute.DefenderChain over the in-process chain.
type defenderChain struct {
	vc *verifyChain
	w  *trainer
}

func (c defenderChain) Disputes(context.Context, string) ([]verifytypes.Dispute, error) {
	return c.vc.openDisputes(func(d verifytypes.Dispute) bool { return d.Worker == c.w.addr.String() })
}

// openDisputes are the chain's open disputes that keep keeps.
func (vc *verifyChain) openDisputes(keep func(verifytypes.Dispute) bool) ([]verifytypes.Dispute, error) {
	var out []verifytypes.Dispute
	err := vc.app.VerifyKeeper.Disputes.Walk(vc.app.NewContext(true), nil, func(_ uint64, d verifytypes.Dispute) (bool, error) {
		if d.Open() && keep(d) {
			out = append(out, d)
		}
		return false, nil
	})
	return out, err
}

func (c defenderChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	return c.vc.app.VerifyKeeper.GetAttestation(c.vc.app.NewContext(true), id)
}

func (c defenderChain) DisputeClaim(_ context.Context, msg *verifytypes.MsgDisputeClaim) error {
	if res := c.vc.send(c.w.account, msg); res.Code != 0 {
		return fmt.Errorf("%s", res.Log)
	}
	return nil
}

// loggedStage is a worker of stage 1 of the verify chain's model that trained and logged
// `updates` updates after two unlogged ones: its log, the payloads it took, and its attestation
// of them (one step of that many microbatches), from its state root and log head before them to
// those after them.
type loggedStage struct {
	d        *dispute.Defender
	log      *replaylog.Log
	inputs   [][]byte
	grads    [][]byte
	start    [32]byte
	head     [32]byte
	end      [32]byte
	endHead  [32]byte
	newStage func() (*engine.Stage, error)
	// honestStage is the model's stage as a referee replays it; nadam and codec its optimizer's
	// configuration and the boundary codec.
	honestStage func() (*engine.Stage, error)
	nadam       optim.NAdamConfig
	codec       boundary.Codec
	// sent is every gradient payload the worker sent back, by digest.
	sent map[[32]byte][]byte
	// misname, when set, edits the sends the attestation names (a worker answering a receipt
	// it should not have signed).
	misname func([]verifytypes.SentPayload)
}

func newLoggedStage(t *testing.T, vc *verifyChain, w *trainer, updates int, skip []int) *loggedStage {
	t.Helper()
	return newLoggedStageWith(t, vc, w, updates, skip, nil, false)
}

// newLoggedStageWith is newLoggedStage with the worker's optimizer edited by cheat (nil: the
// model's); fitted makes its defender's reference runs use the edited optimizer too.
func newLoggedStageWith(t *testing.T, vc *verifyChain, w *trainer, updates int, skip []int, cheat func(*optim.NAdamConfig), fitted bool) *loggedStage {
	t.Helper()
	return newLoggedStageOpts(t, vc, w, loggedOpts{updates: updates, skip: skip, cheat: cheat, fitted: fitted})
}

// loggedOpts are how a loggedStage's worker trains: see newLoggedStageWith; with mixWith set,
// it averages after its first logged update with parameters mixWith (a replica) signed, mixing
// them in with mix (nil: the protocol's), and defends with that mix too.
type loggedOpts struct {
	updates int
	skip    []int
	cheat   func(*optim.NAdamConfig)
	fitted  bool
	mixWith *trainer
	mix     dispute.Mixer
	// garble makes the worker send back, at its second logged update, a gradient whose chunk
	// garbleChunk (of 256 values) is ten times the one it computed (its state trains
	// honestly); it keeps what it sent. zeroSent makes it name no gradient sent back there.
	garble      bool
	garbleChunk int
	zeroSent    bool
	// rows is how many sequences a microbatch holds (0: one).
	rows int
	// offData makes a first- or last-stage worker train its second logged update on text or
	// labels of its own: row 0's first token id or target is not the dataset's.
	offData bool
	// foreign, when set, is the first microbatch id a last-stage worker writes in its logged
	// updates: it trains on those ids' windows as labels, whatever its receipts name.
	foreign uint64
	// junkTokens makes a last-stage worker write token ids (stage 0's field) in its logged
	// updates, which nothing of its own stage reads.
	junkTokens bool
}

func newLoggedStageOpts(t *testing.T, vc *verifyChain, w *trainer, o loggedOpts) *loggedStage {
	t.Helper()
	updates, skip, cheat, fitted := o.updates, o.skip, o.cheat, o.fitted
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	s := trainerchain.Spec(m)
	stage := w.stage
	first, last := stage == 0, int(stage) == len(m.Stages)-1
	_, c, err := verifytypes.DisputeProgram(m, stage, 1)
	require.NoError(t, err)
	cfg := optim.NAdamConfig{
		LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon, WeightDecay: c.WeightDecay,
		WarmupSteps: c.WarmupSteps, DecaySteps: c.DecaySteps, MinLRFraction: c.MinLRFraction, ClipNorm: c.ClipNorm,
	}
	own := cfg
	if cheat != nil {
		cheat(&own)
	}
	stageWith := func(skip []int, cfg optim.NAdamConfig) func() (*engine.Stage, error) {
		return func() (*engine.Stage, error) {
			opt, err := optim.NewNAdam(cfg)
			if err != nil {
				return nil, err
			}
			return engine.New(goBackend(t), s, int(stage), engine.Options{Optimizer: opt, CheatSkipLayers: skip})
		}
	}
	// The worker trains, and replays its own log, with its engine (a cheater's skips layers).
	newStage := stageWith(skip, own)
	st, err := newStage()
	require.NoError(t, err)
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: st.DType()}
	rng := rand.New(rand.NewPCG(5, 6))
	floats := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		return v
	}
	w0 := s.BoundaryWidth()
	kept := map[[32]byte][]byte{} // the gradients the worker sent back, by digest
	update := func(i int) replay.Update {
		rows := max(o.rows, 1)
		ids := make([]int32, rows*s.SeqLen)
		for j := range ids {
			ids[j] = int32(rng.IntN(s.Vocab))
		}
		u := replay.Update{Step: w.next, Microbatch: uint64(i)}
		if o.foreign != 0 && i < 100 {
			u.Microbatch = o.foreign + uint64(i)
		}
		if first {
			// Stage 0 trains on its draws' windows of the dataset: logged update i is the
			// worker's next draws' (the attestation's, made after the log: attestFirst).
			if i < 100 {
				u.Microbatch = verifytypes.DrawID(w.addr.String(), w.draws+uint64(i))
			}
			for r := range rows {
				win, err := vSampled.Window(u.Microbatch, uint32(r))
				require.NoError(t, err)
				for _, b := range win[:s.SeqLen] {
					u.Tokens = append(u.Tokens, int32(b))
				}
			}
			if o.offData && i == 1 {
				u.Tokens[0] = (u.Tokens[0] + 1) % int32(s.Vocab) // text of its own
			}
		} else {
			in, err := codec.EncodeActivations(tensors.FromFlatDataAndDimensions(floats(rows*s.SeqLen*w0, 1), rows, s.SeqLen, w0), tensors.FromFlatDataAndDimensions(ids, rows, s.SeqLen), 1, uint32(i))
			require.NoError(t, err)
			u.Input = in
		}
		if last {
			// The labels of the microbatch's rows: the dataset's windows (vSampled).
			for r := range rows {
				win, err := vSampled.Window(u.Microbatch, uint32(r))
				require.NoError(t, err)
				for _, b := range win[1:] {
					u.Targets = append(u.Targets, int32(b))
				}
			}
			if o.offData && i == 1 {
				u.Targets[0] = (u.Targets[0] + 1) % int32(s.Vocab) // a label of its own
			}
			if o.junkTokens {
				u.Tokens = make([]int32, rows*s.SeqLen)
			}
		} else {
			var err error
			u.Grad, err = codec.EncodeGradients(tensors.FromFlatDataAndDimensions(floats(rows*s.SeqLen*w0, 1e-2), rows, s.SeqLen, w0), 1, uint32(i))
			require.NoError(t, err)
		}
		sent, err := replay.ApplySent(st, codec, u)
		require.NoError(t, err)
		if first {
			return u // stage 0 sends nothing back
		}
		if o.garble && i == 1 {
			pl, err := payload.Decode(sent, payload.Limits{})
			require.NoError(t, err)
			for j := o.garbleChunk * 256; j < min(o.garbleChunk*256+256, len(pl.Data)); j++ {
				pl.Data[j] *= 10
			}
			sent, err = payload.Encode(pl)
			require.NoError(t, err)
		}
		u.Sent, err = payload.Digest(sent)
		require.NoError(t, err)
		kept[u.Sent] = sent
		if o.zeroSent && i == 1 {
			u.Sent = [32]byte{} // it names none, and may send anything
		}
		return u
	}
	for i := range 2 { // trained before the log starts: the state has its optimizer's
		update(100 + i)
	}
	log, err := replaylog.Open(t.TempDir(), uint64(updates), 4)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	require.NoError(t, log.Start(st, 2, nil))
	ls := &loggedStage{log: log, newStage: newStage, honestStage: stageWith(nil, cfg), nadam: cfg, codec: codec, sent: kept}
	ls.start, err = checkpoint.StateRoot(st)
	require.NoError(t, err)
	ls.head = log.Head()
	for i := range updates {
		root := ls.start
		u := update(i)
		if i == 0 {
			u.Root = root // the step's starting state, as the swarm records it (what From finds)
		}
		numbered(&u, i, last)
		ls.inputs, ls.grads = append(ls.inputs, u.Input), append(ls.grads, u.Grad)
		require.NoError(t, log.Updated(st, u))
		if i == 0 && o.mixWith != nil {
			ls.average(t, o.mixWith, st, log, stageWith(nil, cfg), o.mix)
		}
	}
	ls.end, err = checkpoint.StateRoot(st)
	require.NoError(t, err)
	ls.endHead = log.Head()
	ls.d = &dispute.Defender{
		Chain: defenderChain{vc: vc, w: w}, Worker: w.addr.String(), Segments: func(root [32]byte) ([]replaylog.Segment, error) {
			b, err := log.From(root, 1<<30)
			if err != nil {
				return nil, err
			}
			segs, _, err := replaylog.DecodeBundle(b)
			return segs, err
		},
		NewStage: newStage, NAdam: cfg, Codec: codec, Limit: 1 << 30, Mix: o.mix, Log: slog.New(slog.DiscardHandler),
	}
	if o.garble {
		ls.d.Sent = func(d [32]byte) ([]byte, bool) { b, ok := kept[d]; return b, ok }
	}
	if fitted {
		ls.d.NAdam = own
	}
	return ls
}

// numbered numbers what logged update i signed as the swarm does: the activations it sent on
// before it (but on the last stage), then the gradient it sent back.
func numbered(u *replay.Update, i int, last bool) {
	if !last {
		u.Sends = []logevent.Send{{Seq: uint64(2*i + 1), Digest: sha256.Sum256(fmt.Appendf(nil, "activations of update %d", i))}}
	}
	if u.Sent != ([32]byte{}) {
		u.Seq = uint64(2*i + 2)
	}
}

// sends are what an attestation of the logged range commits: what its updates record as signed
// (replaylog Log.Sends).
func (ls *loggedStage) sends(t *testing.T) []verifytypes.SentPayload {
	t.Helper()
	signed, err := ls.log.Sends(ls.head, ls.endHead)
	require.NoError(t, err)
	out := make([]verifytypes.SentPayload, len(signed))
	for i, s := range signed {
		out[i] = verifytypes.SentPayload{Event: s.Event, Seq: s.Seq, Digest: s.Digest[:]}
	}
	if ls.misname != nil {
		ls.misname(out)
	}
	return out
}

// average mixes into st the parameters of a replica's stage (a fresh one trained on an update
// of its own), signed by r, with mix (nil: the protocol's), and logs the average.
func (ls *loggedStage) average(t *testing.T, r *trainer, st *engine.Stage, log *replaylog.Log, newStage func() (*engine.Stage, error), mix dispute.Mixer) {
	t.Helper()
	other, err := newStage()
	require.NoError(t, err)
	var body bytes.Buffer
	require.NoError(t, checkpoint.Write(&body, other, 0, checkpoint.Params))
	sig, err := r.peer.Sign(statesync.StateMessage(1, int(r.stage), checkpoint.Params, body.Bytes()))
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(r.peer)
	require.NoError(t, err)
	root, err := checkpoint.StreamRoot(body.Bytes(), 1<<30)
	require.NoError(t, err)
	a := replaylog.Average{Weight: statesync.AverageWeight, Sel: uint8(checkpoint.Params), Root: root, Params: body.Bytes(), From: []byte(id), Sig: sig}
	if mix == nil {
		mix = dispute.MixAverage
	}
	require.NoError(t, mix(st, &a, 1<<30))
	require.NoError(t, log.Averaged(a))
}

// injected is a cheater's mix: the protocol's average, and then weights of its own choosing
// added to the stage's first parameter (a backdoor, say), which its log does not show.
func injected(st *engine.Stage, a *replaylog.Average, limit int64) error {
	if err := dispute.MixAverage(st, a, limit); err != nil {
		return err
	}
	p := st.Params()[0]
	v, err := p.Value()
	if err != nil {
		return err
	}
	data := tensors.MustCopyFlatData[float32](v)
	for i := range data {
		data[i] += 0.1
	}
	return p.SetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...))
}

// injectedMoment is a cheater's mix that also resets an optimizer moment of the stage's first
// parameter (an average leaves the moments as they were).
func injectedMoment(st *engine.Stage, a *replaylog.Average, limit int64) error {
	if err := dispute.MixAverage(st, a, limit); err != nil {
		return err
	}
	m, _ := optim.MomentPaths(st.Params()[0].Path())
	for v := range st.Store().IterVariables() {
		if v.Path() == m {
			t, err := v.Value()
			if err != nil {
				return err
			}
			return v.SetValue(tensors.FromShape(t.Shape()))
		}
	}
	return fmt.Errorf("no moment %s", m)
}

// attest submits w's attestation of the logged updates.
func (ls *loggedStage) attest(t *testing.T, vc *verifyChain, w *trainer) uint64 {
	t.Helper()
	if w.stage == 0 {
		return ls.attestFirst(t, vc, w)
	}
	msg := vc.attestation(t, w, 1)
	c := &msg.Commitments[0]
	c.OtherInputs, c.GradInputs = nil, nil
	for i := range ls.inputs {
		d, err := payload.Digest(ls.inputs[i])
		require.NoError(t, err)
		mb := uint64(i) // logged update i is microbatch i: its receipts name it, as the swarm's do
		in := signInputDigest(t, vc.neighbour(w), w, mb, d, nil)
		if i == 0 {
			c.Input = in
		} else {
			c.OtherInputs = append(c.OtherInputs, in)
		}
		if ls.grads[i] == nil {
			continue // the last stage takes targets
		}
		g, err := payload.Digest(ls.grads[i])
		require.NoError(t, err)
		c.GradInputs = append(c.GradInputs, signInputDigest(t, vc.honest(w.stage+1), w, mb, g, nil))
	}
	msg.StateRoot, msg.LogHead, msg.EndStateRoot, msg.EndLogHead = ls.start[:], ls.head[:], ls.end[:], ls.endHead[:]
	msg.Sends = ls.sends(t)
	return vc.submitted(t, w, msg)
}

// attestFirst is attest for a stage-0 worker: its step's draws are the logged updates'
// microbatches (the draws it makes next), each shown by the receipt of the gradient stage 1
// sent back for it.
func (ls *loggedStage) attestFirst(t *testing.T, vc *verifyChain, w *trainer) uint64 {
	t.Helper()
	msg := vc.attestation(t, w, 1) // draws the designated microbatch, then the others
	c := &msg.Commitments[0]
	segs, err := ls.log.Decoded()
	require.NoError(t, err)
	var mbs []uint64
	for _, sg := range segs {
		for _, ev := range sg.Events {
			if ev.Update != nil && len(mbs) < len(ls.grads) {
				mbs = append(mbs, ev.Update.Microbatch)
			}
		}
	}
	require.Equal(t, c.Sample.Microbatch, mbs[0], "the designated draw is the first logged update's")
	for i, g := range ls.grads {
		d, err := payload.Digest(g)
		require.NoError(t, err)
		r := signInputDigest(t, vc.honest(1), w, mbs[i], d, nil)
		if i == 0 {
			c.Input = r
		} else {
			require.Equal(t, c.OtherInputs[i-1].Microbatch, mbs[i])
			c.OtherInputs[i-1] = r
		}
	}
	msg.StateRoot, msg.LogHead, msg.EndStateRoot, msg.EndLogHead = ls.start[:], ls.head[:], ls.end[:], ls.endHead[:]
	msg.Sends = ls.sends(t)
	return vc.submitted(t, w, msg)
}

// TestDefenderWinsHonestWork: the defender of an honest worker plays every move through the
// log (its range ends with the snapshot the trainer takes at a period's end), the event, the
// trace and its op's output (against a referee that disagrees with everything), and through
// the state after the event (against one that agrees with the whole trace): each time the
// referee is left with a move it cannot make, and loses.
func TestDefenderWinsHonestWork(t *testing.T) {
	for _, agreeTrace := range []bool{false, true} {
		t.Run(fmt.Sprintf("agrees with the trace %v", agreeTrace), func(t *testing.T) {
			const updates = 2
			vc, ws := disputeVerifyChain(t, updates)
			w, r := ws[1], ws[3]
			ls := newLoggedStage(t, vc, w, updates, nil)
			a := ls.attest(t, vc, w)
			res := vc.send(r.account, &verifytypes.MsgOpenDispute{Referee: r.addr.String(), AttestationId: a, Bond: sdk.NewInt64Coin(app.BondDenom, 7_000_000)})
			require.Zero(t, res.Code, res.Log)
			var out verifytypes.MsgOpenDisputeResponse
			requireMsgResponse(t, res, &out)
			get := func() verifytypes.Dispute {
				d, err := vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), out.DisputeId)
				require.NoError(t, err)
				return d
			}
			respond := func(msg *verifytypes.MsgDisputeRespond) {
				msg.Referee, msg.DisputeId = r.addr.String(), out.DisputeId
				res := vc.send(r.account, msg)
				require.Zero(t, res.Code, res.Log)
			}
			ctx := context.Background()
			var last verifytypes.DisputePhase
			// Moves out of line are refused in every phase and change nothing: theirs (an
			// average's evidence) and a dataset window (a middle stage takes no data) from the
			// referee of an update, a gradient sent back from the worker when the referee picked
			// a tensor of its state.
			theirs := map[verifytypes.DisputePhase]bool{}
			var sentRefused bool
			for moves := 0; ; moves++ {
				require.Less(t, moves, 200)
				d := get()
				if d.WorkerToMove && d.Phase == verifytypes.DISPUTE_PHASE_STATE && len(d.TensorLeaves) > 0 && d.Header == nil {
					requireRefused(t, vc, w.account, d, &verifytypes.MsgDisputeClaim{Worker: w.addr.String(), DisputeId: d.Id, Sent: ls.grads[0]})
					sentRefused = true
				}
				if !d.WorkerToMove {
					requireRefused(t, vc, r.account, d, &verifytypes.MsgDisputeRespond{Referee: r.addr.String(), DisputeId: d.Id, Theirs: []verifytypes.ChunkOpening{{Data: []byte{1}}}})
					// A dataset window: outside TRACE, and for a middle stage (which takes no
					// data from the dataset) in TRACE too.
					requireRefused(t, vc, r.account, d, &verifytypes.MsgDisputeRespond{Referee: r.addr.String(), DisputeId: d.Id, Dataset: &verifytypes.DatasetOpening{Len: 1 << 14}})
					theirs[d.Phase] = true
				}
				if d.WorkerToMove {
					n, err := ls.d.Round(ctx)
					require.NoError(t, err)
					require.Equal(t, 1, n, "the defender moves in %s", d.Phase)
					continue
				}
				last = d.Phase
				switch {
				case d.Phase == verifytypes.DISPUTE_PHASE_LOG:
					respond(&verifytypes.MsgDisputeRespond{Agree: false})
				case d.Phase == verifytypes.DISPUTE_PHASE_TRACE:
					respond(&verifytypes.MsgDisputeRespond{Agree: agreeTrace})
				case d.Phase == verifytypes.DISPUTE_PHASE_OUTPUT, d.Phase == verifytypes.DISPUTE_PHASE_STATE && d.Header != nil:
					respond(&verifytypes.MsgDisputeRespond{Pick: 1})
				case d.Phase == verifytypes.DISPUTE_PHASE_STATE:
					respond(&verifytypes.MsgDisputeRespond{Pick: 1})
				}
				if d.Phase == verifytypes.DISPUTE_PHASE_LEAF || d.Phase == verifytypes.DISPUTE_PHASE_CHUNK {
					break // the referee has no evidence against honest work
				}
			}
			want := verifytypes.DISPUTE_PHASE_LEAF
			if agreeTrace {
				want = verifytypes.DISPUTE_PHASE_CHUNK
			}
			require.Equal(t, want, last)
			require.Equal(t, agreeTrace, sentRefused, "the worker is asked for a tensor of its state once the trace is agreed")
			require.True(t, theirs[verifytypes.DISPUTE_PHASE_LOG] && theirs[verifytypes.DISPUTE_PHASE_TRACE] && theirs[want], "the referee's phases: %v", theirs)
			vc.blocks(vResponse + 1)
			d := get()
			require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
			t.Logf("%s: %s", d.Outcome, d.Reason)
		})
	}
}

// prosecutorChain is dispute.ProsecutorChain over the in-process chain.
type prosecutorChain struct {
	vc *verifyChain
	r  *trainer
}

func (c prosecutorChain) OpenDispute(_ context.Context, attestation uint64) (uint64, error) {
	res := c.vc.send(c.r.account, &verifytypes.MsgOpenDispute{Referee: c.r.addr.String(), AttestationId: attestation, Bond: sdk.NewInt64Coin(app.BondDenom, 7_000_000)})
	if res.Code != 0 {
		return 0, fmt.Errorf("%s", res.Log)
	}
	var out verifytypes.MsgOpenDisputeResponse
	requireMsgResponse(c.vc.t, res, &out)
	return out.DisputeId, nil
}

func (c prosecutorChain) Dispute(_ context.Context, id uint64) (verifytypes.Dispute, error) {
	return c.vc.app.VerifyKeeper.GetDispute(c.vc.app.NewContext(true), id)
}

func (c prosecutorChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	return c.vc.app.VerifyKeeper.GetAttestation(c.vc.app.NewContext(true), id)
}

func (c prosecutorChain) RefereeDisputes(context.Context, string) ([]verifytypes.Dispute, error) {
	return c.vc.openDisputes(func(d verifytypes.Dispute) bool { return d.Referee == c.r.addr.String() })
}

// WorkerByPeer is trainer/chain.Client's: the gRPC query, retired peer ids included.
func (c prosecutorChain) WorkerByPeer(_ context.Context, p string) (string, bool, error) {
	q := computekeeper.NewQueryServerImpl(c.vc.app.ComputeKeeper)
	res, err := q.WorkerByPeerId(c.vc.app.NewContext(true), &computetypes.QueryWorkerByPeerIdRequest{PeerId: p, Retired: true})
	if status.Code(err) == codes.NotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return res.Worker.Operator, true, nil
}

func (c prosecutorChain) HeldStage(_ context.Context, model uint64, op string) (uint32, int64, bool, error) {
	addr, err := sdk.AccAddressFromBech32(op)
	if err != nil {
		return 0, 0, false, err
	}
	return c.vc.app.ModelsKeeper.HeldStage(c.vc.app.NewContext(true), model, addr)
}

func (c prosecutorChain) DisputeRespond(_ context.Context, msg *verifytypes.MsgDisputeRespond) error {
	res := c.vc.send(c.r.account, msg)
	if res.Code != 0 {
		return fmt.Errorf("%s", res.Log)
	}
	if msg.Dataset != nil {
		c.vc.t.Logf("the dataset's window of row %d: %d bytes, %d gas", msg.Row, msg.Size(), res.GasUsed)
	}
	return nil
}

// TestProsecutorCatchesASkippedLayer: a worker whose engine skips a layer of its stage trains
// and logs as the swarm does and attests its (state, log) start and end; its own Defender plays
// every move from that log, as a cheater's would. A replica's Prosecutor, replaying the log it
// was served with the model's arithmetic, disputes it: the bisection finds the first update and
// the whole reference trace is agreed; the state after it is not an update's (here the engine
// that skips a layer keeps no optimizer state for it, so the worker cannot even show a trained
// state's tensors), and the worker loses. Both sides are the trainer's own code; the worker is
// slashed and jailed.
func TestProsecutorCatchesASkippedLayer(t *testing.T) {
	d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
		return newLoggedStage(t, vc, w, 2, []int{3}) // stage 1 holds layers 2 (the designated one) and 3
	})
	require.Equal(t, uint64(0), d.EventIndex, "the first update is the first that differs")
}

// TestProsecutorPlaysADisputeOpenedElsewhere: the referee's operator opens the dispute itself
// (`tx verify open-dispute`, no audit of the trainer's); the trainer's Prosecutor takes it up
// from the chain, fetches the worker's log and plays it to the end, which the worker loses.
func TestProsecutorPlaysADisputeOpenedElsewhere(t *testing.T) {
	prosecute(t, true, true, func(vc *verifyChain, w *trainer) *loggedStage {
		return newLoggedStage(t, vc, w, 2, []int{3})
	})
}

// TestProsecutorCatchesAnotherOptimizer: a worker whose engine steps with ten times the model's
// learning rate is caught at the state's chunk when its reference trace is the model's (the
// ratio of its update to the reference's), and at the optimizer op's value when it fits the
// trace to its own rate (the chain recomputes it with the model's), by the referee's own code.
func TestProsecutorCatchesAnotherOptimizer(t *testing.T) {
	for _, fitted := range []bool{false, true} {
		t.Run(fmt.Sprintf("fitted %v", fitted), func(t *testing.T) {
			d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
				return newLoggedStageWith(t, vc, w, 2, nil, func(c *optim.NAdamConfig) { c.LearningRate *= 10 }, fitted)
			})
			if fitted {
				require.Contains(t, d.Reason, "NAdam")
			} else {
				require.Contains(t, d.Reason, "end ratio")
			}
		})
	}
}

// scripted opens a dispute over ls's attestation by r and plays it: the worker's moves by its
// Defender, the referee's by script where it returns a move, else by the trainer's own
// Prosecutor (which took the dispute up from the log the worker serves). It returns the
// settled dispute and the most gas a referee's move took, by phase.
func scripted(t *testing.T, vc *verifyChain, ls *loggedStage, a uint64, r *trainer, script func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond) (verifytypes.Dispute, map[string]int64) {
	t.Helper()
	return scriptedBoth(t, vc, ls, a, r, script, nil)
}

// scriptedBoth is scripted where, before each of the worker's moves, the moves bad returns (the
// worker's, out of line) are each refused and change nothing.
func scriptedBoth(t *testing.T, vc *verifyChain, ls *loggedStage, a uint64, r *trainer, script func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond, bad func(d verifytypes.Dispute) []*verifytypes.MsgDisputeClaim) (verifytypes.Dispute, map[string]int64) {
	t.Helper()
	pc := prosecutorChain{vc: vc, r: r}
	ctx := context.Background()
	id, err := pc.OpenDispute(ctx, a)
	require.NoError(t, err)
	pros := &dispute.Prosecutor{
		Chain: pc, Referee: r.addr.String(), NewStage: ls.honestStage,
		NAdam: ls.nadam, Codec: ls.codec, Limit: 1 << 30, Log: slog.New(slog.DiscardHandler),
	}
	segs, err := ls.log.Decoded()
	require.NoError(t, err)
	require.NoError(t, pros.Take(ctx, id, segs))
	var d verifytypes.Dispute
	gas := map[string]int64{}
	for moves := 0; ; moves++ {
		require.Less(t, moves, 200)
		d, err = vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), id)
		require.NoError(t, err)
		if !d.Open() {
			return d, gas
		}
		if d.WorkerToMove {
			if bad != nil {
				for _, msg := range bad(d) {
					w := ls.d.Chain.(defenderChain).w
					msg.Worker, msg.DisputeId = w.addr.String(), id
					requireRefused(t, vc, w.account, d, msg)
				}
			}
			n, err := ls.d.Round(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "the defender moves in %s", d.Phase)
			continue
		}
		msg := script(d)
		if msg == nil {
			msg, err = pros.Move(d)
			require.NoError(t, err, "phase %s", d.Phase)
		}
		msg.Referee, msg.DisputeId = r.addr.String(), id
		res := vc.send(r.account, msg)
		require.Zero(t, res.Code, "phase %s: %s", d.Phase, res.Log)
		gas[d.Phase.String()] = max(gas[d.Phase.String()], res.GasUsed)
	}
}

// TestDefenderWinsAnAverage: an honest worker averaged with a replica between its updates; a
// referee that steers the dispute onto the average (it disagrees from there on) and then plays
// the trainer's own moves is shown, at the chunk it picks, that the state after the average is
// the mix, and loses.
func TestDefenderWinsAnAverage(t *testing.T) {
	const updates = 2
	vc, ws := disputeVerifyChain(t, updates)
	w, r := ws[1], ws[3]
	ls := newLoggedStageOpts(t, vc, w, loggedOpts{updates: updates, mixWith: r})
	const average = 1 // the folds: update, average, update
	d, gas := scripted(t, vc, ls, ls.attest(t, vc, w), r, func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond {
		if d.Phase == verifytypes.DISPUTE_PHASE_LOG {
			return &verifytypes.MsgDisputeRespond{Agree: d.Pending.Index <= average}
		}
		return nil
	})
	t.Logf("most gas a referee's move: %v", gas)
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
	require.Equal(t, uint64(average), d.EventIndex)
	require.Contains(t, d.Reason, "is the mix")
	t.Logf("%s: %s", d.Outcome, d.Reason)
}

// TestProsecutorCatchesAnInjectedAverage: a worker that averaged with a replica as the
// protocol says and added weights of its own choosing at the same time (its log shows only the
// average) is disputed by the replica's Prosecutor, whose replay misses the attested end: the
// bisection finds the average, and the chain, recomputing the mix at one chunk from the state
// before it and the replica's signed parameters, finds the worker's chunk is not it.
func TestProsecutorCatchesAnInjectedAverage(t *testing.T) {
	for name, mix := range map[string]dispute.Mixer{"weights": injected, "a moment": injectedMoment} {
		t.Run(name, func(t *testing.T) {
			d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
				return newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, mixWith: vc.ws[3], mix: mix})
			})
			require.Equal(t, uint64(1), d.EventIndex, "the average is the first fold that differs")
			require.Contains(t, d.Reason, "after the average")
		})
	}
}

// TestProsecutorCatchesASelfSignedAverage: a worker that mixes in weights of its own choosing
// as an "average" with parameters it signed itself mixes them exactly as logged, so a replay
// reaches its attested end; the replica's Prosecutor checks each average's provenance as the
// chain does, steers the bisection onto it, and the chain slashes the worker at the reveal.
// Signed by the other replica, the same average is no finding (TestProsecutorLeavesHonestWork's
// kind of range: no dispute).
func TestProsecutorCatchesASelfSignedAverage(t *testing.T) {
	d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
		return newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, mixWith: w})
	})
	require.Equal(t, uint64(1), d.EventIndex, "the average")
	require.Contains(t, d.Reason, "signed itself")
	prosecute(t, false, false, func(vc *verifyChain, w *trainer) *loggedStage {
		return newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, mixWith: vc.ws[3]})
	})
	// Nor once the signer has changed its peer id since (its old id still names it, on chain and
	// to the Prosecutor: an attacker's review found the Prosecutor asked only current ids).
	prosecute(t, false, false, func(vc *verifyChain, w *trainer) *loggedStage {
		r := vc.ws[3]
		ls := newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, mixWith: r})
		r.peer = newPeerKey(t)
		res := vc.send(r.account, &computetypes.MsgUpdateWorker{Operator: r.addr.String(), PeerId: r.peerID().String()})
		require.Zero(t, res.Code, res.Log)
		return ls
	})
}

// TestProsecutorCatchesAGarbageGradient: a worker that trains its own state honestly but sends
// back, at its second update, a gradient with one chunk ten times the one it computed (it
// sabotages the stage before, which signed for what it got) replays to its attested end; the
// replica's Prosecutor sees the gradient differ, steers the bisection onto that update, picks
// the gradient sent back once the trace and the state are agreed, and the chain finds the chunk
// beyond the tolerance against the reference's gradient.
//
// In the second case the microbatch holds 17 sequences (272 values sent back, two chunks) and
// the garbage is in the second chunk, which the referee picks (an attacker's review found the
// chain took only chunk 0).
func TestProsecutorCatchesAGarbageGradient(t *testing.T) {
	for _, tc := range []struct{ rows, chunk int }{{1, 0}, {17, 1}} {
		t.Run(fmt.Sprintf("chunk %d", tc.chunk), func(t *testing.T) {
			d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
				return newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, garble: true, rows: tc.rows, garbleChunk: tc.chunk})
			})
			require.Equal(t, uint64(1), d.EventIndex, "the update that sent it")
			require.Contains(t, d.Reason, fmt.Sprintf("chunk %d of the gradient", tc.chunk))
		})
	}
}

// TestProsecutorCatchesAMissingSent: a worker whose log names no gradient sent back for an
// update (so that it could send anything) replays to its attested end; the Prosecutor sees the
// replay send one, steers onto that update, and the chain refuses the update at its reveal (an
// attacker's review found the referee lost there, its pick of a gradient "sent none" refused).
func TestProsecutorCatchesAMissingSent(t *testing.T) {
	d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
		return newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2, zeroSent: true})
	})
	require.Equal(t, uint64(1), d.EventIndex)
	require.Contains(t, d.Reason, "names no gradient sent back")
}

// An attestation whose sends are not its log's (a worker that committed, for one number, the
// payload it signed its receiver rather than the one it logged; or a send its log never gave):
// the referee's replay agrees with every state, yet the Prosecutor steers the bisection onto the
// first event whose record differs, where the chain compares the revealed event with the
// attestation's sends and the worker loses.
func TestProsecutorCatchesSendsOtherThanTheLog(t *testing.T) {
	for name, misname := range map[string]func([]verifytypes.SentPayload){
		"another payload":       func(s []verifytypes.SentPayload) { s[1].Digest = bytes.Repeat([]byte{7}, 32) },
		"a number never logged": func(s []verifytypes.SentPayload) { s[0].Seq = 0 }, // the log gave 1
	} {
		t.Run(name, func(t *testing.T) {
			d := prosecute(t, true, false, func(vc *verifyChain, w *trainer) *loggedStage {
				ls := newLoggedStageOpts(t, vc, w, loggedOpts{updates: 2})
				ls.misname = misname
				return ls
			})
			require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
			require.Contains(t, d.Reason, "the attestation's sends name")
		})
	}
}

// TestDefenderWinsTheGradientSent: a referee that picks an honest worker's gradient sent back is
// shown the payload, and at the chunk it picks the reference's values agree: it pays.
func TestDefenderWinsTheGradientSent(t *testing.T) {
	const updates = 2
	vc, ws := disputeVerifyChain(t, updates)
	w, r := ws[1], ws[3]
	ls := newLoggedStage(t, vc, w, updates, nil)
	var shown int // the worker's turns to show the gradient it sent back
	d, gas := scriptedBoth(t, vc, ls, ls.attest(t, vc, w), r, func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond {
		switch {
		case d.Phase == verifytypes.DISPUTE_PHASE_LOG:
			return &verifytypes.MsgDisputeRespond{Agree: false}
		case d.Phase == verifytypes.DISPUTE_PHASE_STATE && d.Header == nil:
			return &verifytypes.MsgDisputeRespond{Pick: uint64(len(d.TensorLeaves))} // the gradient sent back
		case d.Phase == verifytypes.DISPUTE_PHASE_CHUNK:
			// Bad moves are refused and change nothing: a chunk beyond the gradient, an
			// average's evidence.
			for _, bad := range []*verifytypes.MsgDisputeRespond{
				{Pick: 1 << 40},
				{Theirs: []verifytypes.ChunkOpening{{Data: []byte{1}}}},
			} {
				bad.Referee, bad.DisputeId = r.addr.String(), d.Id
				requireRefused(t, vc, r.account, d, bad)
			}
		}
		return nil
	}, func(d verifytypes.Dispute) []*verifytypes.MsgDisputeClaim {
		if d.Phase != verifytypes.DISPUTE_PHASE_STATE || d.Tensor != uint64(len(d.TensorLeaves)) || d.Header != nil || len(d.TensorLeaves) == 0 {
			return nil
		}
		shown++
		// The referee picked the gradient sent back. A worker that signed its receiver
		// another gradient than its log names cannot show that one: its digest is not the
		// event's.
		ev, err := logevent.Decode(d.Event)
		require.NoError(t, err)
		pl, err := payload.Decode(ls.sent[ev.Update.Sent], payload.Limits{})
		require.NoError(t, err)
		pl.Data[0] = -pl.Data[0] + 1
		other, err := payload.Encode(pl)
		require.NoError(t, err)
		return []*verifytypes.MsgDisputeClaim{{Sent: other}, {Sent: []byte("not a payload")}}
	})
	t.Logf("most gas a referee's move: %v", gas)
	require.Equal(t, 1, shown)
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
	require.Contains(t, d.Reason, "sent back")
	t.Logf("%s: %s", d.Outcome, d.Reason)
}

// TestProsecutorCatchesOffDatasetTargets: a last-stage worker that trains one update on a
// label of its own, or a stage-0 worker on text of its own (its state and log are consistent
// with it: its replay reaches its attested end), is disputed by a replica holding the dataset,
// which steers the log's bisection onto that update and shows the chain the dataset's window of
// the row: slashed. An honest one is left alone, and the same move against an honest update is
// refused.
func TestProsecutorCatchesOffDatasetTargets(t *testing.T) {
	for _, c := range []struct {
		stage  uint32
		cheats bool
	}{{2, false}, {2, true}, {0, false}, {0, true}} {
		cheats := c.cheats
		what := map[uint32]string{0: "token ids", 2: "targets"}[c.stage]
		t.Run(fmt.Sprintf("stage %d, cheats %v", c.stage, cheats), func(t *testing.T) {
			const updates = 2
			vc, ws := replicaVerifyChain(t, updates, c.stage)
			w, r := ws[c.stage], ws[3]
			ls := newLoggedStageOpts(t, vc, w, loggedOpts{updates: updates, offData: cheats})
			a := ls.attest(t, vc, w)
			pc := prosecutorChain{vc: vc, r: r}
			pros := &dispute.Prosecutor{
				Chain: pc, Referee: r.addr.String(), NewStage: ls.honestStage, NAdam: ls.nadam, Codec: ls.codec,
				Limit: 1 << 30, Provenance: pc, Dataset: vSampled.Sampled, Log: slog.New(slog.DiscardHandler),
			}
			ctx := context.Background()
			segs, err := ls.log.Decoded()
			require.NoError(t, err)
			att, err := vc.app.VerifyKeeper.GetAttestation(vc.app.NewContext(true), a)
			require.NoError(t, err)
			opened, err := pros.Prosecute(ctx, att, segs)
			require.NoError(t, err)
			if !cheats {
				require.False(t, opened, "honest data: no dispute")
				// Opened by hand and steered onto an update, the dataset's window is no evidence.
				var shown int
				d, _ := scripted(t, vc, ls, a, r, func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond {
					if d.Phase == verifytypes.DISPUTE_PHASE_LOG {
						return &verifytypes.MsgDisputeRespond{Agree: false}
					}
					if d.Phase == verifytypes.DISPUTE_PHASE_TRACE && d.Pending != nil && d.Pending.Index == d.Ops {
						ev, err := logevent.Decode(d.Event)
						require.NoError(t, err)
						o, err := vSampled.OpenWindow(ev.Update.Microbatch, 0)
						require.NoError(t, err)
						requireRefused(t, vc, r.account, d, &verifytypes.MsgDisputeRespond{Referee: r.addr.String(), DisputeId: d.Id, Dataset: o})
						wrong, err := vSampled.OpenWindow(ev.Update.Microbatch+1, 0) // another microbatch's window
						require.NoError(t, err)
						requireRefused(t, vc, r.account, d, &verifytypes.MsgDisputeRespond{Referee: r.addr.String(), DisputeId: d.Id, Dataset: wrong})
						shown++
					}
					return nil
				})
				require.Equal(t, 1, shown)
				require.Equal(t, verifytypes.DISPUTE_OUTCOME_REFEREE_LOST, d.Outcome, d.Reason)
				return
			}
			require.True(t, opened, "trained on data of its own: disputed though its replay reaches its end")
			d := playProsecuted(t, vc, ls, pros, r)
			require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
			require.Contains(t, d.Reason, what+" other than the dataset's")
			require.Equal(t, uint64(1), d.EventIndex, "the second update")
			t.Logf("%s: %s", d.Outcome, d.Reason)
			wk, err := vc.worker(w.addr)
			require.NoError(t, err)
			require.Equal(t, computetypes.WORKER_STATUS_JAILED, wk.Status)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, a).Status)
		})
	}
}

// An attacker's review: the dataset's windows are those of the update's microbatch, so the
// microbatch an update names must be the one its receipts were signed for (the attestation
// keeps each input's microbatch). A last-stage worker that names other microbatches (taking
// their windows as its labels) loses at the reveal; one that writes token ids into its
// updates, which its stage does not take and a referee holding the dataset would compare,
// loses at the reveal too, so a Prosecutor it baits into a dispute wins it.
func TestDisputeBindsTheUpdatesMicrobatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts loggedOpts
		says string
	}{
		{"names other microbatches", loggedOpts{updates: 2, foreign: 1<<40 + 7}, "no payload the attestation's receipts name for its microbatch"},
		{"writes token ids", loggedOpts{updates: 2, junkTokens: true}, "carries token ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc, ws := lastStageVerifyChain(t, 2)
			w, r := ws[2], ws[3]
			ls := newLoggedStageOpts(t, vc, w, tc.opts)
			a := ls.attest(t, vc, w)
			pc := prosecutorChain{vc: vc, r: r}
			pros := &dispute.Prosecutor{
				Chain: pc, Referee: r.addr.String(), NewStage: ls.honestStage, NAdam: ls.nadam, Codec: ls.codec,
				Limit: 1 << 30, Provenance: pc, Dataset: vSampled.Sampled, Log: slog.New(slog.DiscardHandler),
			}
			segs, err := ls.log.Decoded()
			require.NoError(t, err)
			ctx := context.Background()
			if opened, err := pros.Prosecute(ctx, vc.attestationByID(t, a), segs); err != nil || !opened {
				// The replay reaches the end and the labels are those ids' windows: steered by hand.
				d, _ := scripted(t, vc, ls, a, r, func(d verifytypes.Dispute) *verifytypes.MsgDisputeRespond {
					if d.Phase == verifytypes.DISPUTE_PHASE_LOG {
						return &verifytypes.MsgDisputeRespond{Agree: false}
					}
					return nil
				})
				require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
				require.Contains(t, d.Reason, tc.says)
				return
			}
			d := playProsecuted(t, vc, ls, pros, r)
			require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
			require.Contains(t, d.Reason, tc.says)
		})
	}
}

// playProsecuted plays the one dispute pros opened, by r, against ls's Defender to its end,
// and returns it settled.
func playProsecuted(t *testing.T, vc *verifyChain, ls *loggedStage, pros *dispute.Prosecutor, r *trainer) verifytypes.Dispute {
	t.Helper()
	ctx := context.Background()
	var d verifytypes.Dispute
	for moves := 0; ; moves++ {
		require.Less(t, moves, 200)
		open, err := prosecutorChain{vc: vc, r: r}.RefereeDisputes(ctx, r.addr.String())
		require.NoError(t, err)
		if len(open) == 0 {
			break
		}
		d = open[0]
		if d.WorkerToMove {
			n, err := ls.d.Round(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "the defender moves in %s", d.Phase)
			continue
		}
		n, err := pros.Round(ctx)
		require.NoError(t, err, "phase %s", d.Phase)
		require.Equal(t, 1, n, "a move in %s", d.Phase)
	}
	d, err := vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), d.Id)
	require.NoError(t, err)
	return d
}

// TestProsecutorLeavesHonestWork: a referee whose replay of an attestation's range reaches its
// attested end opens no dispute (it would lose its bond).
func TestProsecutorLeavesHonestWork(t *testing.T) {
	prosecute(t, false, false, func(vc *verifyChain, w *trainer) *loggedStage { return newLoggedStage(t, vc, w, 2, nil) })
}

// requireRefused sends msg from `from` and requires it refused as an invalid move that leaves
// dispute d as it was.
func requireRefused(t *testing.T, vc *verifyChain, from *account, d verifytypes.Dispute, msg sdk.Msg) {
	t.Helper()
	res := vc.send(from, msg)
	require.Equal(t, verifytypes.ErrInvalidDispute.ABCICode(), res.Code, "%T: %s", msg, res.Log)
	after, err := vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), d.Id)
	require.NoError(t, err)
	require.Equal(t, d, after, "a refused move changes nothing")
}

// lastStageVerifyChain is disputeVerifyChain whose fourth worker (ws[3], honest) is the last
// stage's second replica.
func lastStageVerifyChain(t *testing.T, updates int) (*verifyChain, []*trainer) {
	t.Helper()
	return replicaVerifyChain(t, updates, 2)
}

// replicaVerifyChain is disputeVerifyChain whose fourth worker (ws[3], honest) is a second
// replica of stage.
func replicaVerifyChain(t *testing.T, updates int, stage uint32) (*verifyChain, []*trainer) {
	t.Helper()
	vc, ws := startVerifyChainOpts(t, verifyOptions{fourthStage: &stage}, sdkmath.LegacyZeroDec(), 40, vResponse, func(mg *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
		microbatches(uint32(updates))(mg, vg)
		vg.Params.DisputeBond = sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	})
	ws[3].cheat = false
	return vc, ws
}

// disputeVerifyChain is a verify chain whose steps are `updates` microbatches, without spot
// checks, with a challenge window of 40 blocks and a dispute bond of 7 LEARN.
func disputeVerifyChain(t *testing.T, updates int) (*verifyChain, []*trainer) {
	t.Helper()
	return startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 40, vResponse, func(mg *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
		microbatches(uint32(updates))(mg, vg)
		vg.Params.DisputeBond = sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	})
}

// prosecute has the worker w (stage 1) train, log and attest as logged makes it, the replica r
// dispute the attestation with a Prosecutor while w's Defender answers, and returns the settled
// dispute, which the worker must have lost (slashed and jailed). With elsewhere, r's operator
// opens the dispute without the Prosecutor, which takes it up from the chain (Fetch).
func prosecute(t *testing.T, cheats, elsewhere bool, logged func(*verifyChain, *trainer) *loggedStage) verifytypes.Dispute {
	t.Helper()
	const updates = 2
	vc, ws := disputeVerifyChain(t, updates)
	w, r := ws[1], ws[3]
	ls := logged(vc, w)
	a := ls.attest(t, vc, w)
	pros := &dispute.Prosecutor{
		Chain: prosecutorChain{vc: vc, r: r}, Referee: r.addr.String(), NewStage: ls.honestStage,
		NAdam: ls.nadam, Codec: ls.codec, Limit: 1 << 30, Provenance: prosecutorChain{vc: vc, r: r}, Log: slog.New(slog.DiscardHandler),
	}
	ctx := context.Background()
	segs, err := ls.log.Decoded() // as the worker serves them
	require.NoError(t, err)
	att, err := vc.app.VerifyKeeper.GetAttestation(vc.app.NewContext(true), a)
	require.NoError(t, err)
	var opened bool
	if elsewhere {
		pros.Fetch = func(_ context.Context, got verifytypes.Attestation) ([]replaylog.Segment, error) {
			require.Equal(t, att.Id, got.Id)
			return segs, nil
		}
		_, err = prosecutorChain{vc: vc, r: r}.OpenDispute(ctx, a)
		opened = err == nil
		require.Zero(t, pros.Prosecuting(), "nothing taken up before a round")
		// The log is fetched in the background: rounds go on until the dispute is taken up.
		require.Eventually(t, func() bool {
			_, err := pros.Round(ctx)
			require.NoError(t, err)
			return pros.Prosecuting() == 1
		}, time.Minute, 10*time.Millisecond)
	} else {
		opened, err = pros.Prosecute(ctx, att, segs)
	}
	require.NoError(t, err)
	if !cheats {
		require.False(t, opened, "a replay that reaches the attested end opens nothing")
		return verifytypes.Dispute{}
	}
	require.True(t, opened, "the replay does not reach the attested end")
	out := struct{ DisputeId uint64 }{DisputeId: 1}
	var d verifytypes.Dispute
	for moves := 0; ; moves++ {
		require.Less(t, moves, 200)
		d, err = vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), out.DisputeId)
		require.NoError(t, err)
		if !d.Open() {
			break
		}
		if d.WorkerToMove {
			if _, err := ls.d.Round(ctx); err != nil {
				// What its log makes of the cheat is no move the chain takes: the deadline passes.
				t.Logf("the cheater's move in %s: %v", d.Phase, err)
				vc.blocks(vResponse + 1)
			}
			continue
		}
		n, err := pros.Round(ctx)
		require.NoError(t, err, "phase %s", d.Phase)
		require.Equal(t, 1, n, "a move in %s", d.Phase)
	}
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, d.Outcome, d.Reason)
	t.Logf("%s: %s", d.Outcome, d.Reason)
	wk, err := vc.worker(w.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, wk.Status)
	return d
}
