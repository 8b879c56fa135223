package app_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/dataset"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/attest"
	trainernode "github.com/protolearn/protolearn/trainer/node"
	"github.com/protolearn/protolearn/trainer/spec"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// verifyKeys runs the single-party test setup of the model's three tile shapes once per process.
func verifyKeys(t testing.TB) ([]*tile.Keys, *attest.Prover) {
	t.Helper()
	vKeysOnce.Do(func() {
		shapes, err := vTiles(0).ModelShapes() // every stage's: the input and embed tiles too
		if err != nil {
			vKeysErr = err
			return
		}
		for _, s := range shapes {
			k, err := tile.TestSetup(s)
			if err != nil {
				vKeysErr = err
				return
			}
			vKeys = append(vKeys, k)
		}
	})
	require.NoError(t, vKeysErr)
	p := attest.NewProver("")
	for _, k := range vKeys {
		p.Add(k)
	}
	return vKeys, p
}

// genesisTweak changes the verify tests' genesis (the models and x/verify's state) before the
// chain starts.
type genesisTweak func(*modelstypes.GenesisState, *verifytypes.GenesisState)

// verifyGenesis adds the model (RECRUITING) and x/verify params with the test keys, then applies
// the tweaks.
func verifyGenesis(t testing.TB, designer sdk.AccAddress, rate sdkmath.LegacyDec, window, response int64, tweaks ...genesisTweak) func(*app.App, map[string]json.RawMessage) {
	keys, _ := verifyKeys(t)
	return func(a *app.App, gen map[string]json.RawMessage) {
		cdc := a.AppCodec()
		var models modelstypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelstypes.ModuleName], &models)
		models.Models = append(models.Models, modelstypes.Model{
			Id: 1, Designer: designer.String(), Name: "verified",
			Arch:                modelstypes.Architecture{Vocab: 256, DModel: vD, NLayers: 3 * vLayers, NHeads: 2, SeqLen: 4, CompressionRank: vRank},
			Stages:              []modelstypes.StageSpec{{Layers: vLayers}, {Layers: vLayers}, {Layers: vLayers}},
			Seed:                1,
			DatasetCommitment:   vDatasetRoot[:],
			SubspaceRoot:        vSubspaceRoot(t),
			DesignerBps:         designerBps,
			MinStake:            sdk.NewInt64Coin(app.BondDenom, minStake),
			MaxReplicasPerStage: 2, TargetWorkUnits: 1_000_000,
			Status: modelstypes.MODEL_STATUS_RECRUITING,
		})
		models.NextModelId = 2

		var vg verifytypes.GenesisState
		cdc.MustUnmarshalJSON(gen[verifytypes.ModuleName], &vg)
		vg.Params.ChallengeRate = rate
		vg.Params.ChallengeWindow = window
		vg.Params.ResponseWindow = response
		vg.Params.ChallengeBond = sdk.NewInt64Coin(app.BondDenom, 5_000_000)
		for _, k := range keys {
			b, err := k.MarshalVerifyingKey()
			require.NoError(t, err)
			vg.Params.VerifyingKeys = append(vg.Params.VerifyingKeys, verifytypes.VerifyingKey{Shape: k.Shape.String(), Key: b})
		}
		for _, tw := range tweaks {
			tw(&models, &vg)
		}
		gen[modelstypes.ModuleName] = cdc.MustMarshalJSON(&models)
		gen[verifytypes.ModuleName] = cdc.MustMarshalJSON(&vg)
	}
}

// trainer is one worker of the verify tests: its account, stage, commitment secret and the
// layers it committed, by step.
type trainer struct {
	*account
	stage  uint32
	secret []byte
	next   uint64
	cheat  bool
	steps  map[uint64]*attest.Committed
	// peer is its libp2p identity, registered with its worker: it signs the receipts of the
	// boundary tensors it sends.
	peer crypto.PrivKey
	// draws counts a stage-0 worker's draws; drawOf is the index of each draw's microbatch.
	draws  uint64
	drawOf map[uint64]uint64
}

// draw is w's next draw (stage 0): its microbatch id (types.DrawID) and index.
func (w *trainer) draw() (mb, k uint64) {
	k = w.draws
	w.draws++
	mb = verifytypes.DrawID(w.addr.String(), k)
	if w.drawOf == nil {
		w.drawOf = map[uint64]uint64{}
	}
	w.drawOf[mb] = k
	return mb, k
}

// nameDraws sets the draw indices of c, a step of w (stage 0 of a compressed model): its
// sample's and its other inputs'.
func (w *trainer) nameDraws(c *verifytypes.StepCommitment) {
	if c.Sample == nil {
		return
	}
	c.Sample.Draw, c.Sample.OtherDraws = w.drawOf[c.Sample.Microbatch], nil
	for _, o := range c.OtherInputs {
		c.Sample.OtherDraws = append(c.Sample.OtherDraws, w.drawOf[o.Microbatch])
	}
}

// peerID is w's registered libp2p peer id.
func (w *trainer) peerID() peer.ID {
	id, err := peer.IDFromPrivateKey(w.peer)
	if err != nil {
		panic(err)
	}
	return id
}

// owner is whose roots w commits: its steps on model 1 of the test chain.
func (w *trainer) owner() attest.Owner {
	return attest.Owner{ChainID: app.DefaultChainID, ModelID: 1, Stage: w.stage, Worker: w.addr.String()}
}

type verifyChain struct {
	*chain
	// designer designed model 1; the genesis delegator, it holds all the voting power.
	designer *account
	rng      *rand.Rand
	prover   *attest.Prover
	ws       []*trainer
	mb       atomic.Uint64 // the last microbatch id drawn
	// openings are the input openings prove made, by challenge id, that respond sends.
	openings sync.Map
}

// startVerifyChain registers and seats honest workers on stages 0, 1, 2 and, if cheater, a
// fourth on stage 1; the model is TRAINING when it returns.
func startVerifyChain(t testing.TB, rate sdkmath.LegacyDec, extra ...*account) (*verifyChain, []*trainer) {
	t.Helper()
	return startVerifyChainWindows(t, rate, vWindow, vResponse, extra...)
}

// startVerifyChainWindows is startVerifyChain with the given challenge and response windows.
func startVerifyChainWindows(t testing.TB, rate sdkmath.LegacyDec, window, response int64, extra ...*account) (*verifyChain, []*trainer) {
	t.Helper()
	return startVerifyChainWith(t, rate, window, response, nil, extra...)
}

// startVerifyChainWith is startVerifyChainWindows with a genesis tweak (nil: none); workers are
// seated on model 1.
func startVerifyChainWith(t testing.TB, rate sdkmath.LegacyDec, window, response int64, tweak genesisTweak, extra ...*account) (*verifyChain, []*trainer) {
	t.Helper()
	return startVerifyChainOpts(t, verifyOptions{}, rate, window, response, tweak, extra...)
}

// verifyOptions are the rarer settings of a verify chain.
type verifyOptions struct {
	// keys, when set, is where the designer's and workers' keys are drawn from (else
	// crypto/rand), and rng seeds the chain's rng: a seeded test replays the same chain.
	keys io.Reader
	rng  *rand.Rand
	// edit, when set, is a last edit of the genesis app state (after the model and x/verify's).
	edit func(*app.App, map[string]json.RawMessage)
	// fourthStage, when set, seats the fourth worker (ws[3]) in that stage instead of stage 1.
	fourthStage *uint32
}

// startVerifyChainOpts is startVerifyChainWith with opts.
func startVerifyChainOpts(t testing.TB, opts verifyOptions, rate sdkmath.LegacyDec, window, response int64, tweak genesisTweak, extra ...*account) (*verifyChain, []*trainer) {
	t.Helper()
	_, prover := verifyKeys(t)
	designer := newAccountFrom(opts.keys, 0)
	ws := []*trainer{}
	accs := []*account{designer}
	for i := range 4 {
		acc := newAccountFrom(opts.keys, uint64(1+i))
		pk, _, err := crypto.GenerateEd25519Key(opts.keys)
		require.NoError(t, err)
		ws = append(ws, &trainer{account: acc, stage: uint32(min(i, 1+i%2)), secret: []byte{byte(i), 's'}, next: 1, steps: map[uint64]*attest.Committed{}, peer: pk})
		accs = append(accs, acc)
	}
	ws[0].stage, ws[1].stage, ws[2].stage, ws[3].stage = 0, 1, 2, 1
	if opts.fourthStage != nil {
		ws[3].stage = *opts.fourthStage
	}
	ws[3].cheat = true
	for i, a := range extra {
		a.number = uint64(5 + i)
		accs = append(accs, a)
	}
	var tweaks []genesisTweak
	if tweak != nil {
		tweaks = append(tweaks, tweak)
	}
	genesis := verifyGenesis(t, designer.addr, rate, window, response, tweaks...)
	if opts.edit != nil {
		genesis = func(a *app.App, gen map[string]json.RawMessage) {
			verifyGenesis(t, designer.addr, rate, window, response, tweaks...)(a, gen)
			opts.edit(a, gen)
		}
	}
	c := startChainWith(t, 1_000*minStake, genesis, accs...)
	rng := opts.rng
	if rng == nil {
		rng = rand.New(rand.NewPCG(7, 7))
	}
	vc := &verifyChain{chain: c, designer: designer, rng: rng, prover: prover, ws: ws}
	for _, w := range ws {
		reg := registerMsg(t, w.addr, 2*minStake)
		reg.PeerId = w.peerID().String()
		require.Zero(t, c.send(w.account, reg).Code)
		res := c.send(w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: w.stage})
		require.Zero(t, res.Code, res.Log)
	}
	return vc, ws
}

// layer makes and commits w's designated layer of step: honest, or faked for a cheater.
func (vc *verifyChain) layer(t testing.TB, w *trainer, step uint64) *attest.Committed {
	t.Helper()
	l := vc.newLayer(t, w, step)
	if w.cheat {
		l.Fake(vc.rng)
	}
	cm, err := attest.Commit(w.secret, w.owner(), l)
	require.NoError(t, err)
	w.steps[step] = cm
	return cm
}

// newLayer is an honest layer of w's step: on stage 0 derived from a fresh draw of the dataset
// and an embedding, after it from a fresh payload of the stage before (when one is seated).
func (vc *verifyChain) newLayer(t testing.TB, w *trainer, step uint64) *attest.Layer {
	t.Helper()
	var l *attest.Layer
	var err error
	if w.stage == 0 {
		// Stage 0's X derives from the dataset's tokens of a fresh draw and its embedding.
		mb, _ := w.draw()
		ids := vSampled.draw(mb)
		e := vc.gen(256*vRank, 2)
		l, err = attest.NewEmbedLayer(step, vTables(t), mb, ids, e, embeddedX(t, ids, e), vc.gen(vD*vD, 0.5), vc.gen(vRows*vD, 1))
	} else if vc.sender(w) != nil {
		// A later stage's X derives from the payload its neighbour sent (input tile).
		body := vc.payload(t)
		l, err = attest.NewDerivedLayer(step, vTables(t), body, derivedX(t, body), vc.gen(vD*vD, 0.5), vc.gen(vRows*vD, 1))
	} else {
		l, err = attest.NewLayer(step, vRows, vD, vc.gen(vRows*vD, 2), vc.gen(vD*vD, 0.5), vc.gen(vRows*vD, 1))
	}
	require.NoError(t, err)
	return l
}

// sender is the honest worker seated in the stage before w's (nil on stage 0).
func (vc *verifyChain) sender(w *trainer) *trainer {
	if w.stage == 0 {
		return nil
	}
	return vc.honest(w.stage - 1)
}

// neighbour is the honest worker that signs w's input receipts: the stage before's, or on
// stage 0 stage 1's, which sends its gradients back.
func (vc *verifyChain) neighbour(w *trainer) *trainer {
	if w.stage == 0 {
		return vc.honest(1)
	}
	return vc.honest(w.stage - 1)
}

// honest is the first honest worker seated in stage.
func (vc *verifyChain) honest(stage uint32) *trainer {
	for _, s := range vc.ws {
		if s.stage == stage && !s.cheat {
			return s
		}
	}
	return nil
}

// input is the receipt of w's designated microbatch, as each step of w's attestations carries
// it: after stage 0, a fresh microbatch that the honest worker of the stage before sent w, over
// body (the payload's digest) or a stand-in digest where body is nil; on stage 0, the gradient
// that the honest worker of stage 1 sent back for draw (over a stand-in digest).
func (vc *verifyChain) input(t testing.TB, w *trainer, body []byte, draw uint64) *verifytypes.BoundaryReceipt {
	t.Helper()
	from := vc.neighbour(w)
	if from == nil {
		return nil
	}
	mb := draw
	if w.stage != 0 {
		mb = vc.mb.Add(1)
	}
	if body == nil {
		return signInput(t, from, w, mb, nil)
	}
	d, err := payload.Digest(body)
	require.NoError(t, err)
	return signInputDigest(t, from, w, mb, d, nil)
}

// otherInputs are receipts of the step's other microbatches_per_step − 1 microbatches, fresh,
// from w's neighbour.
func (vc *verifyChain) otherInputs(t testing.TB, w *trainer) []*verifytypes.BoundaryReceipt {
	t.Helper()
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	var out []*verifytypes.BoundaryReceipt
	for range m.Microbatches() - 1 {
		mb := vc.mb.Add(1)
		if w.stage == 0 {
			mb, _ = w.draw() // the gradient of another of its draws
		}
		out = append(out, signInput(t, vc.neighbour(w), w, mb, nil))
	}
	return out
}

// withGrads gives c, a step of w, the gradient receipts a middle stage shows: for each
// microbatch of its inputs, in order, the gradient the honest worker of the stage after sent
// back (none on the first and last stages).
func (vc *verifyChain) withGrads(t testing.TB, w *trainer, c *verifytypes.StepCommitment) {
	t.Helper()
	c.GradInputs = nil
	if w.stage == 0 || w.stage == 2 || c.Input == nil {
		return
	}
	for _, in := range append([]*verifytypes.BoundaryReceipt{c.Input}, c.OtherInputs...) {
		d := sha256.Sum256(append([]byte("gradient of "), in.PayloadDigest...))
		c.GradInputs = append(c.GradInputs, signInputDigest(t, vc.honest(w.stage+1), w, in.Microbatch, d, nil))
	}
}

// signInput is the receipt of microbatch mb sent by from to to, as from signs it (forward, or
// backward where from is the later stage), over a digest that stands for the payload's (edit, if
// set, changes the signed receipt: a forgery).
func signInput(t testing.TB, from, to *trainer, mb uint64, edit func(*verifytypes.Receipt)) *verifytypes.BoundaryReceipt {
	t.Helper()
	return signInputDigest(t, from, to, mb, sha256.Sum256(binary.BigEndian.AppendUint64(nil, mb)), edit)
}

// signInputDigest is signInput over the payload digest digest.
func signInputDigest(t testing.TB, from, to *trainer, mb uint64, digest [32]byte, edit func(*verifytypes.Receipt)) *verifytypes.BoundaryReceipt {
	t.Helper()
	dir := verifytypes.Forward
	if from.stage > to.stage {
		dir = verifytypes.Backward
	}
	r := verifytypes.Receipt{
		ChainID: app.DefaultChainID, Model: 1, Direction: dir, ToStage: to.stage, Step: mb / 4, Microbatch: mb,
		Digest: digest, Sender: from.peerID(), Receiver: to.peerID(),
	}
	if edit != nil {
		edit(&r)
	}
	sig, err := verifytypes.SignReceipt(from.peer, r)
	require.NoError(t, err)
	return &verifytypes.BoundaryReceipt{
		SwarmStep: mb / 4, Microbatch: mb, PayloadDigest: digest[:], Sender: from.peerID().String(), Signature: sig, Seq: r.Seq,
	}
}

// attestation builds w's next attestation of n steps claiming all their work.
func (vc *verifyChain) attestation(t testing.TB, w *trainer, n uint64) *verifytypes.MsgSubmitAttestation {
	t.Helper()
	msg := &verifytypes.MsgSubmitAttestation{
		Worker: w.addr.String(), ModelId: 1, Stage: w.stage, StepFrom: w.next, StepTo: w.next + n - 1,
		WorkUnits: n * vLayers, TileRows: vRows, TileWidth: vT, StateRoot: stateRoot(w, 1, w.next), LogHead: logHead(w, 1, w.next),
		EndStateRoot: stateRoot(w, 1, w.next+n), EndLogHead: logHead(w, 1, w.next+n),
	}
	for s := msg.StepFrom; s <= msg.StepTo; s++ {
		cm := vc.layer(t, w, s)
		c := cm.Roots()
		c.Input = vc.input(t, w, cm.Layer.Input, cm.Layer.Microbatch)
		c.OtherInputs = vc.otherInputs(t, w)
		vc.withGrads(t, w, &c)
		w.nameDraws(&c)
		msg.Commitments = append(msg.Commitments, c)
	}
	w.next += n
	return withSends(msg)
}

// withSends gives msg, where it names none, the sends of a log that signed one payload per
// update (the activations or the gradient it sent on), numbered from its first step: what a
// trainer's attester commits (x/verify sends; the chain cannot tell these from a log's until a
// dispute reveals an event). A model of one stage sends nothing.
func withSends(msg *verifytypes.MsgSubmitAttestation) *verifytypes.MsgSubmitAttestation {
	if len(msg.Sends) > 0 || len(msg.Commitments) == 0 || (msg.Commitments[0].Input == nil && msg.Commitments[0].Sample == nil) {
		return msg
	}
	event := uint32(0)
	for _, c := range msg.Commitments {
		for j := 0; j <= len(c.OtherInputs); j++ {
			d := sha256.Sum256(fmt.Appendf(nil, "payload %s sent at step %d update %d", msg.Worker, c.Step, j))
			msg.Sends = append(msg.Sends, verifytypes.SentPayload{Event: event, Seq: c.Step*1000 + uint64(j) + 1, Digest: d[:]})
			event++
		}
	}
	return msg
}

// stateRoot stands for the root of w's stage state on model before step (a worker's moves
// with every step).
func stateRoot(w *trainer, model, step uint64) []byte {
	d := sha256.Sum256(fmt.Appendf(nil, "state of %s on model %d before step %d", w.addr, model, step))
	return d[:]
}

// logHead is a stand-in for the head of w's replay log before step (the chain keeps it, a referee checks it).
func logHead(w *trainer, model, step uint64) []byte {
	d := sha256.Sum256(fmt.Appendf(nil, "log of %s on model %d before step %d", w.addr, model, step))
	return d[:]
}

// submit sends w's next attestation and returns its id.
func (vc *verifyChain) submit(t testing.TB, w *trainer, n uint64) uint64 {
	t.Helper()
	res := vc.send(w.account, vc.attestation(t, w, n))
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgSubmitAttestationResponse
	requireMsgResponse(t, res, &out)
	return out.AttestationId
}

func requireMsgResponse(t testing.TB, res *abci.ExecTxResult, out interface{ Unmarshal([]byte) error }) {
	t.Helper()
	var data sdk.TxMsgData
	require.NoError(t, data.Unmarshal(res.Data))
	require.Len(t, data.MsgResponses, 1)
	require.NoError(t, out.Unmarshal(data.MsgResponses[0].Value))
}

// prove answers challenge ch with w's stored layer; it fails for a cheater's faked tile.
func (vc *verifyChain) prove(t testing.TB, w *trainer, ch verifytypes.Challenge) ([]byte, error) {
	t.Helper()
	cm, ok := w.steps[ch.Step]
	require.True(t, ok, "step %d not committed by %s", ch.Step, w.addr)
	o, err := cm.Open(ch, vTiles(w.stage), vTables(t))
	if err != nil {
		return nil, err
	}
	if ch.Kind == verifytypes.CHALLENGE_KIND_INPUT {
		var op openings
		if w.stage == 0 {
			op.ds, err = cm.Layer.OpenSample(vSampled.Sampled, int(ch.Row))
		} else {
			op.in, err = cm.Layer.OpenInput(ch)
		}
		if err != nil {
			return nil, err
		}
		vc.openings.Store(ch.Id, op)
	}
	return vc.prover.Prove(o)
}

// signedMsg is one tx of sendBlock.
type signedMsg struct {
	from *account
	msg  sdk.Msg
}

// sendBlock runs each msg as its own signed tx, all in one block, in order.
func (vc *verifyChain) sendBlock(txs ...signedMsg) []*abci.ExecTxResult {
	var raw [][]byte
	for _, tx := range txs {
		raw = append(raw, vc.encodeTx(tx.from, tx.msg))
		tx.from.seq++
	}
	return vc.block(time.Second, raw...)
}

// respond answers challenge id with proof (and, for an input challenge, the opening prove made).
func (vc *verifyChain) respond(w *trainer, id uint64, proof []byte) *abci.ExecTxResult {
	return vc.send(w.account, vc.respondMsg(w, id, proof))
}

// respondMsg is w's answer to challenge id with proof and the openings prove made.
func (vc *verifyChain) respondMsg(w *trainer, id uint64, proof []byte) *verifytypes.MsgRespondChallenge {
	msg := &verifytypes.MsgRespondChallenge{Worker: w.addr.String(), ChallengeId: id, Proof: proof}
	if o, ok := vc.openings.Load(id); ok {
		msg.InputOpening, msg.DatasetOpening = o.(openings).in, o.(openings).ds
	}
	return msg
}

func (vc *verifyChain) attestationByID(t testing.TB, id uint64) verifytypes.Attestation {
	t.Helper()
	var res verifytypes.QueryAttestationResponse
	require.NoError(t, vc.query("/protolearn.verify.v1.Query/Attestation", &verifytypes.QueryAttestationRequest{Id: id}, &res))
	return res.Attestation
}

func (vc *verifyChain) challenges(t testing.TB, w *trainer, status verifytypes.ChallengeStatus) []verifytypes.Challenge {
	t.Helper()
	var res verifytypes.QueryChallengesResponse
	require.NoError(t, vc.query("/protolearn.verify.v1.Query/Challenges",
		&verifytypes.QueryChallengesRequest{Worker: w.addr.String(), Status: status}, &res))
	return res.Challenges
}

func (vc *verifyChain) shares(addr sdk.AccAddress) int64 {
	return vc.app.BankKeeper.GetBalance(vc.app.NewContext(true), addr, "share/1").Amount.Int64()
}

func (vc *verifyChain) shareSupply() int64 {
	return vc.app.BankKeeper.GetSupply(vc.app.NewContext(true), "share/1").Amount.Int64()
}

// blocks runs n empty blocks.
func (vc *verifyChain) blocks(n int) {
	for range n {
		vc.block(time.Second)
	}
}

func (vc *verifyChain) seated(t testing.TB, w *trainer) bool {
	t.Helper()
	_, seated, err := vc.app.ModelsKeeper.StageOf(vc.app.NewContext(true), 1, w.addr)
	require.NoError(t, err)
	return seated
}

// vTiles are the tiles of an attestation of the test model's stage.
func vTiles(stage uint32) verifytypes.Tiles {
	return verifytypes.Tiles{DModel: vD, Rank: vRank, Vocab: 256, Stage: stage, Rows: vRows, Width: vT}
}

var (
	vTablesOnce sync.Once
	vTablesVal  *tile.Tables
	vTablesErr  error
)

// vTables are the test model's compression tables (its seed is 1).
func vTables(t testing.TB) *tile.Tables {
	t.Helper()
	vTablesOnce.Do(func() {
		vTablesVal, vTablesErr = trainernode.SubspaceTables(spec.Spec{Vocab: 256, DModel: vD, CompressionRank: vRank, Seed: 1})
	})
	require.NoError(t, vTablesErr)
	return vTablesVal
}

// vSubspaceRoot is the test model's subspace_root.
func vSubspaceRoot(t testing.TB) []byte {
	r := vTables(t).Root()
	return r[:]
}

// payload is a fresh compressed activations payload of one tile's rows (f32, so that the float
// X the engine would compute and the tables' integer one agree to rounding).
func (vc *verifyChain) payload(t testing.TB) []byte {
	t.Helper()
	pl := &payload.Payload{
		Kind: payload.Activations, DType: payload.F32, Compressed: true, Step: vc.mb.Load(), Batch: 1, Seq: vRows,
		Width: vRank, Vocab: 256, Data: vc.gen(vRows*vRank, 3), IDs: make([]int32, vRows),
	}
	for i := range pl.IDs {
		pl.IDs[i] = int32(vc.rng.IntN(256))
	}
	b, err := payload.Encode(pl)
	require.NoError(t, err)
	return b
}

// derivedX is the X a stage computes from payload body: the tables' rows, dequantized.
func derivedX(t testing.TB, body []byte) []float32 {
	t.Helper()
	pl, err := payload.Decode(body, payload.Limits{})
	require.NoError(t, err)
	return tableX(t, int(pl.Batch*pl.Seq), func(r int) (int32, []int64) {
		c, err := tile.QuantizeCoordinates(pl.Data[r*vRank : (r+1)*vRank])
		require.NoError(t, err)
		return pl.IDs[r], c
	})
}

// tableX is the tables' rows of n tokens (token gives row r's id and quantized coordinates),
// dequantized: the X̂ a stage's engine computes.
func tableX(t testing.TB, n int, token func(r int) (int32, []int64)) []float32 {
	t.Helper()
	var x []float32
	for r := range n {
		id, c := token(r)
		row, err := vTables(t).InputRow(int(id), c)
		require.NoError(t, err)
		for _, v := range row {
			x = append(x, float32(v)/256)
		}
	}
	return x
}

// openings are what an input challenge's response carries beside the proof: a later stage's
// payload token, or stage 0's dataset byte.
type openings struct {
	in *verifytypes.TokenOpening
	ds *verifytypes.DatasetOpening
}

// sampledData is the test model's dataset, which stage 0 samples from.
type sampledData struct{ *attest.Sampled }

// vSampled is the test model's dataset: 16 KiB of deterministic bytes; windows of seq_len 4
// drawn with the model's seed 1 (a tile of 4 rows is one window).
var vSampled = func() sampledData {
	rng := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 16<<10)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return sampledData{&attest.Sampled{Stream: b, Seed: 1, SeqLen: 4}}
}()

// vDatasetRoot is the test model's dataset_commitment.
var vDatasetRoot = dataset.Root(vSampled.Stream)

// draw is the tokens of microbatch mb: its windows, as the model's sampler draws them.
func (s sampledData) draw(mb uint64) []int32 {
	var ids []int32
	for w := range vRows / s.SeqLen {
		start := dataset.WindowStart(s.Seed, mb, uint32(w), uint64(len(s.Stream)-s.SeqLen))
		for _, b := range s.Stream[start : start+uint64(s.SeqLen)] {
			ids = append(ids, int32(b))
		}
	}
	return ids
}

// embeddedX is the X̂ stage 0 computes from the tokens ids and embedding e: the tables' rows,
// dequantized.
func embeddedX(t testing.TB, ids []int32, e []float32) []float32 {
	t.Helper()
	q, err := tile.QuantizeCoordinates(e)
	require.NoError(t, err)
	return tableX(t, len(ids), func(r int) (int32, []int64) {
		id := ids[r]
		return id, q[int(id)*vRank : (int(id)+1)*vRank]
	})
}

// height is the last committed block's height.
func (vc *verifyChain) height() int64 { return vc.app.LastBlockHeight() }
