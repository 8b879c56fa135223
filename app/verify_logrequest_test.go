package app_test

import (
	"encoding/json"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/trainer/attest"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// logWindow is the log requests' answer window in these tests.
const logWindow = 12

// logCase is a chain whose stage 1 holds three replicas: the worker (ws[1]) whose attestation's
// log is requested, the referee (ws[3]) and a witness that may take custody.
type logCase struct {
	vc                       *verifyChain
	worker, referee, witness *trainer
	att                      verifytypes.Attestation
}

func newLogCase(t *testing.T) *logCase {
	t.Helper()
	return newLogCaseWith(t, logWindow)
}

// newLogCaseWith is newLogCase with the log window and funded extra accounts.
func newLogCaseWith(t *testing.T, window int64, extra ...*account) *logCase {
	t.Helper()
	witness := newAccount(0)
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, func(m *modelstypes.GenesisState, v *verifytypes.GenesisState) {
		m.Models[0].MaxReplicasPerStage = 4
		v.Params.LogWindow = window
	}, append([]*account{witness}, extra...)...)
	pk, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	w := &trainer{account: witness, stage: 1, secret: []byte{9, 's'}, next: 1, steps: map[uint64]*attest.Committed{}, peer: pk}
	reg := registerMsg(t, w.addr, 2*minStake)
	reg.PeerId = w.peerID().String()
	require.Zero(t, vc.send(w.account, reg).Code)
	res := vc.send(w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: 1})
	require.Zero(t, res.Code, res.Log)
	lc := &logCase{vc: vc, worker: ws[1], referee: ws[3], witness: w}
	vc.submit(t, w, 1) // the witness is at work: it attested lately
	lc.att = vc.attestationByID(t, vc.submit(t, lc.worker, 2))
	return lc
}

// request sends the referee's (or by's) log request of the attestation.
func (lc *logCase) request(t *testing.T, by *trainer) (verifytypes.MsgRequestLogResponse, uint32, string) {
	t.Helper()
	res := lc.vc.send(by.account, &verifytypes.MsgRequestLog{Referee: by.addr.String(), AttestationId: lc.att.Id})
	var out verifytypes.MsgRequestLogResponse
	if res.Code == 0 {
		requireMsgResponse(t, res, &out)
		t.Logf("MsgRequestLog: %d gas", res.GasUsed)
	}
	return out, res.Code, res.Log
}

// custody is signer's custody of a on this chain.
func custody(t *testing.T, signer crypto.PrivKey, a verifytypes.Attestation, chainID string) (string, []byte) {
	t.Helper()
	id, err := peer.IDFromPrivateKey(signer)
	require.NoError(t, err)
	sig, err := verifytypes.SignCustody(signer, verifytypes.CustodyOf(chainID, a, id))
	require.NoError(t, err)
	return id.String(), sig
}

// answer sends (from the worker) custodian's signature for request id.
func (lc *logCase) answer(t *testing.T, id uint64, custodian string, sig []byte) (uint32, string) {
	t.Helper()
	res := lc.vc.send(lc.worker.account, &verifytypes.MsgAnswerLogRequest{Submitter: lc.worker.addr.String(), RequestId: id, Custodian: custodian, Signature: sig})
	if res.Code == 0 {
		t.Logf("MsgAnswerLogRequest: %d gas", res.GasUsed)
	}
	return res.Code, res.Log
}

func (lc *logCase) logRequest(t *testing.T, id uint64) verifytypes.LogRequest {
	t.Helper()
	var res verifytypes.QueryLogRequestResponse
	require.NoError(t, lc.vc.query("/protolearn.verify.v1.Query/LogRequest", &verifytypes.QueryLogRequestRequest{Id: id}, &res))
	return res.Request
}

// An answered request holds the attestation past its window, then lets it finalize and pay:
// custody by the referee itself, or by another replica of the stage when the referee will not
// sign (a griefer cannot have an honest worker slashed while one other replica is honest).
func TestLogRequestServedByAReplica(t *testing.T) {
	for _, by := range []string{"the referee", "another replica"} {
		t.Run(by, func(t *testing.T) {
			lc := newLogCase(t)
			vc := lc.vc
			out, code, log := lc.request(t, lc.referee)
			require.Zero(t, code, log)
			require.Equal(t, vc.height()+logWindow, out.DeadlineHeight)
			// Held: its window passes while the request waits.
			vc.blocks(int(lc.att.FinalizeHeight-vc.height()) + 1)
			held := vc.attestationByID(t, lc.att.Id)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, held.Status, "held by the open request: %s", held.VoidReason)
			signer := lc.witness.peer
			if by == "the referee" {
				signer = lc.referee.peer
			}
			custodian, sig := custody(t, signer, lc.att, app.DefaultChainID)
			code, log = lc.answer(t, out.RequestId, custodian, sig)
			require.Zero(t, code, log)
			r := lc.logRequest(t, out.RequestId)
			require.Equal(t, verifytypes.LOG_REQUEST_STATUS_SERVED, r.Status, r.Reason)
			require.Equal(t, custodian, r.Custodian)
			vc.blocks(logWindow + 1)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, lc.att.Id).Status)
			w, err := vc.worker(lc.worker.addr)
			require.NoError(t, err)
			require.Equal(t, computetypes.WORKER_STATUS_ACTIVE, w.Status)
			require.True(t, w.Slashed.IsZero(), "slashed %s", w.Slashed)
			require.Positive(t, vc.shares(lc.worker.addr))
		})
	}
}

// A worker that no replica of its stage vouches for by the deadline withheld its log: it is
// slashed and jailed as for a failed challenge, its pending attestations are voided, and the
// slash is burned (a verdict by default pays nobody who could bring it about by not signing).
func TestLogWithheldIsSlashed(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	before := vc.balance(lc.referee.addr)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	vc.blocks(logWindow + 1)
	r := lc.logRequest(t, out.RequestId)
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_WITHHELD, r.Status, r.Reason)
	require.Contains(t, r.Reason, "withheld its replay log")
	a := vc.attestationByID(t, lc.att.Id)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, a.Status)
	require.Zero(t, vc.shares(lc.worker.addr), "nothing minted for the withheld work")
	w, err := vc.worker(lc.worker.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
	require.True(t, w.Slashed.IsPositive())
	require.Equal(t, before, vc.balance(lc.referee.addr), "the referee is paid nothing (no fee either)")
	// An answer after the deadline is refused; nothing changes.
	custodian, sig := custody(t, lc.witness.peer, lc.att, app.DefaultChainID)
	code, log = lc.answer(t, out.RequestId, custodian, sig)
	require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), code, log)
	require.Contains(t, log, "closed at height")
}

// What the chain refuses, each with what to fix: a request by no replica of the stage, of one's
// own attestation, twice, of a final attestation, or where no replica but the two could take
// custody; an answer by the worker's own peer, by a replica of another stage, by a stranger's
// key, for another attestation or another chain.
func TestAttackLogRequestRefusals(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	outsider := vc.ws[2]
	_, code, log := lc.request(t, outsider)
	require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), code, log)
	require.Contains(t, log, "only a replica of the stage may see its log")
	_, _, log = lc.request(t, lc.worker)
	require.Contains(t, log, "cannot request its own log")
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	_, _, log = lc.request(t, lc.referee)
	require.Contains(t, log, "a referee asks once an attestation")
	// The worker's next attestation may be asked for beside it (one request a referee could
	// not ask would shield another: an attacker's review).
	next := lc.vc.attestationByID(t, lc.vc.submit(t, lc.worker, 1))
	res := vc.send(lc.referee.account, &verifytypes.MsgRequestLog{Referee: lc.referee.addr.String(), AttestationId: next.Id})
	require.Zero(t, res.Code, res.Log)

	stranger, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	other := lc.att
	other.Id++ // a signature for another attestation
	for name, tc := range map[string]struct {
		signer  crypto.PrivKey
		a       verifytypes.Attestation
		chainID string
		want    string
	}{
		"the worker's own peer": {lc.worker.peer, lc.att, app.DefaultChainID, "cannot vouch for its own log"},
		"a replica of stage 2":  {outsider.peer, lc.att, app.DefaultChainID, "only a replica of the stage can take custody"},
		"a stranger's key":      {stranger, lc.att, app.DefaultChainID, "is no registered worker's peer"},
		"another attestation's": {lc.witness.peer, other, app.DefaultChainID, "the signature is not"},
		"another chain's":       {lc.witness.peer, lc.att, "other-chain", "the signature is not"},
	} {
		custodian, sig := custody(t, tc.signer, tc.a, tc.chainID)
		code, log := lc.answer(t, out.RequestId, custodian, sig)
		require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), code, "%s: %s", name, log)
		require.Contains(t, log, tc.want, name)
	}
	custodian, _ := custody(t, lc.witness.peer, lc.att, app.DefaultChainID)
	code, log = lc.answer(t, out.RequestId, custodian, []byte("short"))
	require.Contains(t, log, "signature", "%d", code)
	require.True(t, lc.logRequest(t, out.RequestId).Open(), "refused answers change nothing")

	// A final attestation's log is no longer requested.
	lc2 := newLogCase(t)
	lc2.vc.blocks(int(lc2.att.FinalizeHeight - lc2.vc.height()))
	_, code, log = lc2.request(t, lc2.referee)
	require.Equal(t, verifytypes.ErrNotPending.ABCICode(), code, log)

	// With the witness gone, none but the worker and the referee hold the stage: refused.
	lc3 := newLogCase(t)
	res = lc3.vc.send(lc3.witness.account, &modelstypes.MsgLeaveStage{Operator: lc3.witness.addr.String(), ModelId: 1})
	require.Zero(t, res.Code, res.Log)
	_, code, log = lc3.request(t, lc3.referee)
	require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), code, log)
	require.Contains(t, log, "no replica but the worker and you")
}

// A griefer that requests and will not sign, where no other replica is left by the deadline to
// vouch for the worker (the witness left the stage): the chain cannot tell a refusal from
// withholding, so the request lapses and the honest worker keeps its pay. And a request on an
// attestation voided for another cause closes with it.
func TestAttackLogRequestLapsesWithoutAWitness(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	res := vc.send(lc.witness.account, &modelstypes.MsgLeaveStage{Operator: lc.witness.addr.String(), ModelId: 1})
	require.Zero(t, res.Code, res.Log)
	vc.blocks(logWindow + 1)
	r := lc.logRequest(t, out.RequestId)
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_CANCELLED, r.Status, r.Reason)
	require.Contains(t, r.Reason, "cannot tell a refusal from withholding")
	vc.blocks(int(max(0, lc.att.FinalizeHeight-vc.height())) + 1)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, lc.att.Id).Status)
	w, err := vc.worker(lc.worker.addr)
	require.NoError(t, err)
	require.True(t, w.Slashed.IsZero())
}

// An open request survives a genesis export (it holds its attestation), and one that would
// not belong (open on a final attestation, or by the worker itself) is refused at import.
func TestLogRequestGenesis(t *testing.T) {
	lc := newLogCase(t)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	gs, err := lc.vc.app.VerifyKeeper.ExportGenesis(lc.vc.app.NewContext(true))
	require.NoError(t, err)
	require.NoError(t, gs.Validate(), "an open request exports and validates")
	require.Len(t, gs.LogRequests, 1)
	require.Equal(t, out.RequestId+1, gs.NextLogRequestId)
	for name, edit := range map[string]func(*verifytypes.GenesisState){
		"by the worker":     func(g *verifytypes.GenesisState) { g.LogRequests[0].Referee = g.LogRequests[0].Worker },
		"on a final one":    func(g *verifytypes.GenesisState) { g.LogRequests[0].AttestationId = 999 },
		"an id beyond next": func(g *verifytypes.GenesisState) { g.NextLogRequestId = g.LogRequests[0].Id },
		"no status": func(g *verifytypes.GenesisState) {
			g.LogRequests[0].Status = verifytypes.LOG_REQUEST_STATUS_UNSPECIFIED
		},
		"twice by one party": func(g *verifytypes.GenesisState) {
			r := g.LogRequests[0]
			r.Id++
			g.LogRequests = append(g.LogRequests, r)
			g.NextLogRequestId++
		},
	} {
		g := *gs
		g.LogRequests = append([]verifytypes.LogRequest(nil), gs.LogRequests...)
		edit(&g)
		require.Error(t, g.Validate(), name)
	}
}

// CheckInvariants holds with an open request and sees its indexes broken.
func TestLogRequestInvariants(t *testing.T) {
	lc := newLogCase(t)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	ctx := lc.vc.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: lc.vc.app.LastBlockHeight()})
	k := lc.vc.app.VerifyKeeper
	require.NoError(t, k.CheckInvariants(ctx))
	for name, tc := range map[string]struct {
		corrupt func(sdk.Context) error
		want    string
	}{
		"deadline lost": {func(ctx sdk.Context) error {
			return k.LogDeadlines.Remove(ctx, collections.Join(out.DeadlineHeight, out.RequestId))
		}, "missing from the log deadline queue"},
		"stray requested-by entry": {func(ctx sdk.Context) error {
			return k.LogRequestedBy.Set(ctx, collections.Join(uint64(77), "someone"))
		}, "requested-by index has"},
		"stray open entry": {func(ctx sdk.Context) error {
			return k.LogRequestsOpen.Set(ctx, collections.Join(uint64(77), uint64(78)))
		}, "open log requests index has"},
		"open on no attestation": {func(ctx sdk.Context) error {
			r, err := k.GetLogRequest(ctx, out.RequestId)
			if err != nil {
				return err
			}
			if err := k.LogRequestedBy.Remove(ctx, collections.Join(r.AttestationId, r.Referee)); err != nil {
				return err
			}
			r.AttestationId = 999
			if err := k.LogRequestedBy.Set(ctx, collections.Join(r.AttestationId, r.Referee)); err != nil {
				return err
			}
			return k.LogRequests.Set(ctx, r.Id, r)
		}, "not a pending attestation"},
	} {
		cache, _ := ctx.CacheContext() // never written: each case breaks a fresh copy
		require.NoError(t, tc.corrupt(cache), name)
		err := k.CheckInvariants(cache)
		require.ErrorContains(t, err, tc.want, name)
	}
}

// A sybil of the worker's that asks for its log at once cannot take half the slash of a
// challenge the worker then fails: the request waits for the challenge's verdict, which pays the
// challenger and voids the attestation; the request closes with it (an attacker's review).
func TestAttackSybilRequestCannotTakeTheChallengersReward(t *testing.T) {
	challenger := newAccount(0)
	lc := newLogCaseWith(t, 3, challenger)
	vc := lc.vc
	lc.worker.cheat = true // its next layers are faked: the challenge cannot be answered
	lc.att = vc.attestationByID(t, vc.submit(t, lc.worker, 1))
	sybil, ch0 := vc.balance(lc.referee.addr), vc.balance(challenger.addr)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	ch := vc.challenge(t, challenger, lc.att.Id, lc.att.StepFrom)
	vc.blocks(int(vResponse) + 2)
	c, err := vc.app.VerifyKeeper.GetChallenge(vc.app.NewContext(true), ch.Id)
	require.NoError(t, err)
	require.Equal(t, verifytypes.CHALLENGE_STATUS_FAILED, c.Status)
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_CANCELLED, lc.logRequest(t, out.RequestId).Status)
	require.Equal(t, sybil, vc.balance(lc.referee.addr), "the sybil took nothing")
	require.Greater(t, vc.balance(challenger.addr), ch0, "the challenger was paid")
}

// A referee asks for one attestation's log once: answered, it cannot ask again to make the
// worker serve it over and over (an attacker's review).
func TestAttackRequestAgainAfterServed(t *testing.T) {
	lc := newLogCase(t)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	custodian, sig := custody(t, lc.witness.peer, lc.att, app.DefaultChainID)
	code, log = lc.answer(t, out.RequestId, custodian, sig)
	require.Zero(t, code, log)
	_, code, log = lc.request(t, lc.referee)
	require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), code, log)
	require.Contains(t, log, "a referee asks once an attestation")
}

// A replica that joins the stage after the request (here in its last blocks, the only witness
// having left) could not have taken custody in time: it does not turn the lapse into a slash
// (an attacker's review).
func TestAttackLateJoinerTurnsNoLapseIntoASlash(t *testing.T) {
	newcomer := newAccount(0)
	lc := newLogCaseWith(t, logWindow, newcomer)
	vc := lc.vc
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	require.Zero(t, vc.send(lc.witness.account, &modelstypes.MsgLeaveStage{Operator: lc.witness.addr.String(), ModelId: 1}).Code)
	vc.blocks(int(out.DeadlineHeight-vc.height()) - 2)
	pk, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	nw := &trainer{account: newcomer, stage: 1, peer: pk}
	reg := registerMsg(t, nw.addr, 2*minStake)
	reg.PeerId = nw.peerID().String()
	require.Zero(t, vc.send(nw.account, reg).Code)
	res := vc.send(nw.account, &modelstypes.MsgJoinStage{Operator: nw.addr.String(), ModelId: 1, Stage: 1})
	require.Zero(t, res.Code, res.Log)
	vc.blocks(3)
	r := lc.logRequest(t, out.RequestId)
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_CANCELLED, r.Status, r.Reason)
	w, err := vc.worker(lc.worker.addr)
	require.NoError(t, err)
	require.True(t, w.Slashed.IsZero())
}

// An open request survives a zero-height restart with the blocks it had left, and the imported
// chain settles it: the withholder is slashed there.
func TestLogRequestZeroHeightRestart(t *testing.T) {
	lc := newLogCase(t)
	out, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	left := out.DeadlineHeight - lc.vc.height()
	exported, err := lc.vc.app.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	require.NoError(t, lc.vc.app.BasicModuleManager.ValidateGenesis(lc.vc.app.AppCodec(), lc.vc.app.TxConfig(), state))
	fresh := &chain{t: t, app: newApp(t), time: lc.vc.time, valSet: lc.vc.valSet}
	fresh.initChain(exported.AppState)
	fvc := &verifyChain{chain: fresh, rng: lc.vc.rng, prover: lc.vc.prover, ws: lc.vc.ws}
	var res verifytypes.QueryLogRequestResponse
	require.NoError(t, fvc.query("/protolearn.verify.v1.Query/LogRequest", &verifytypes.QueryLogRequestRequest{Id: out.RequestId}, &res))
	require.True(t, res.Request.Open())
	// The blocks it had left (the imported chain's first block among them).
	require.InDelta(t, left, res.Request.DeadlineHeight-fvc.height(), 1)
	fvc.blocks(int(left) + 1)
	require.NoError(t, fvc.query("/protolearn.verify.v1.Query/LogRequest", &verifytypes.QueryLogRequestRequest{Id: out.RequestId}, &res))
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_WITHHELD, res.Request.Status, res.Request.Reason)
	w, err := fvc.worker(lc.worker.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
}

// A cheater with an honest attestation before a faked one cannot shield the second behind the
// first: a referee asks for both, and the one nobody vouches for is withheld (an attacker's
// review: one open request per referee and worker let the decoy's request block the other's).
func TestAttackDecoyShieldsNoFake(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	lc.worker.cheat = true
	fake := vc.attestationByID(t, vc.submit(t, lc.worker, 1))
	decoy, code, log := lc.request(t, lc.referee)
	require.Zero(t, code, log)
	res := vc.send(lc.referee.account, &verifytypes.MsgRequestLog{Referee: lc.referee.addr.String(), AttestationId: fake.Id})
	require.Zero(t, res.Code, res.Log)
	// Both open at once export and validate (one request per referee and attestation).
	gs, err := vc.app.VerifyKeeper.ExportGenesis(vc.app.NewContext(true))
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	custodian, sig := custody(t, lc.witness.peer, lc.att, app.DefaultChainID)
	code, log = lc.answer(t, decoy.RequestId, custodian, sig)
	require.Zero(t, code, log)
	vc.blocks(logWindow + 2)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, fake.Id).Status)
	w, err := vc.worker(lc.worker.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
}

// A sybil of the worker's asking for the log of another, honest attestation cannot cancel the
// challenge of a faked one: requests wait while any attestation of the worker is challenged
// or disputed (an attacker's review).
func TestAttackSybilRequestElsewhereCannotCancelAChallenge(t *testing.T) {
	challenger := newAccount(0)
	lc := newLogCaseWith(t, 3, challenger)
	vc := lc.vc
	lc.worker.cheat = true
	faked := vc.attestationByID(t, vc.submit(t, lc.worker, 1))
	ch0 := vc.balance(challenger.addr)
	ch := vc.challenge(t, challenger, faked.Id, faked.StepFrom)
	out, code, log := lc.request(t, lc.referee) // the honest lc.att
	require.Zero(t, code, log)
	vc.blocks(int(vResponse) + 2)
	c, err := vc.app.VerifyKeeper.GetChallenge(vc.app.NewContext(true), ch.Id)
	require.NoError(t, err)
	require.Equal(t, verifytypes.CHALLENGE_STATUS_FAILED, c.Status)
	require.Greater(t, vc.balance(challenger.addr), ch0, "the challenger was paid")
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_CANCELLED, lc.logRequest(t, out.RequestId).Status)
}

// A witness must be at work: one seated but never attesting (down, say) cannot vouch, so it
// neither admits a request nor turns one into a slash (an attacker's review).
func TestLogRequestNeedsAWitnessAtWork(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	// The worker asks for the witness's log: the only other replica, the referee, never
	// attested: refused.
	w := lc.witness
	a := vc.attestationByID(t, vc.submit(t, w, 1))
	res := vc.send(lc.worker.account, &verifytypes.MsgRequestLog{Referee: lc.worker.addr.String(), AttestationId: a.Id})
	require.Equal(t, verifytypes.ErrInvalidLogRequest.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "at work")
}

// StagePending lists a stage's pending attestations whoever attested them, a worker that left
// the stage right after attesting included (its referees must still find it), and nothing of
// another stage or once final.
func TestStagePendingListsWorkersThatLeft(t *testing.T) {
	lc := newLogCase(t)
	vc := lc.vc
	res := vc.send(lc.worker.account, &modelstypes.MsgLeaveStage{Operator: lc.worker.addr.String(), ModelId: 1})
	require.Zero(t, res.Code, res.Log)
	pending := func(stage uint32) []uint64 {
		var out verifytypes.QueryStagePendingResponse
		require.NoError(t, vc.query("/protolearn.verify.v1.Query/StagePending", &verifytypes.QueryStagePendingRequest{ModelId: 1, Stage: stage}, &out))
		var ids []uint64
		for _, a := range out.Attestations {
			require.Equal(t, stage, a.Stage)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, a.Status)
			ids = append(ids, a.Id)
		}
		return ids
	}
	require.False(t, vc.seated(t, lc.worker))
	listed := pending(1)
	require.Len(t, listed, 2, "the witness's attestation and the departed worker's")
	require.Contains(t, listed, lc.att.Id, "the departed worker's attestation is listed")
	require.Empty(t, pending(2))
	var bad verifytypes.QueryStagePendingResponse
	require.ErrorContains(t, vc.query("/protolearn.verify.v1.Query/StagePending", &verifytypes.QueryStagePendingRequest{Stage: 1}, &bad), "model_id is required")
	vc.blocks(vWindow + 1)
	require.Empty(t, pending(1), "final attestations are no longer pending")
}
