package app_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/trainer/attest"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The verify tests' model: d_model 16, three stages of two layers; the designated layer's tile is
// 4 rows, challenged 4 columns at a time.
const (
	vD, vRows, vT = 16, 4, 4
	vLayers       = 2
	vRank         = 4 // the model's compression rank
	// vWindow and vResponse are the test chain's challenge and response windows, in blocks.
	vWindow, vResponse = 8, 5
	sharesPerUnit      = 1_000_000 // x/shares default
	designerBps        = 1000
)

var (
	vKeysOnce sync.Once
	vKeys     []*tile.Keys
	vKeysErr  error
)

// Honest work with no challenge finalizes after the window into work_units × shares_per_unit
// for the worker and designer_bps on top for the designer; the model's work grows to match.
func TestHonestWorkFinalizesIntoShares(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	ids := []uint64{vc.submit(t, ws[0], 4), vc.submit(t, ws[1], 2), vc.submit(t, ws[2], 3)}
	require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, vc.attestationByID(t, ids[0]).Status)
	require.Zero(t, vc.shareSupply(), "nothing mints before the challenge window ends")
	vc.blocks(vWindow)
	for _, id := range ids {
		a := vc.attestationByID(t, id)
		require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "attestation %d", id)
		require.Empty(t, a.Commitments, "commitments are dropped once final")
	}
	require.Equal(t, int64(4*vLayers*sharesPerUnit), vc.shares(ws[0].addr))
	require.Equal(t, int64(2*vLayers*sharesPerUnit), vc.shares(ws[1].addr))
	require.Equal(t, int64(3*vLayers*sharesPerUnit), vc.shares(ws[2].addr))
	work := int64(9 * vLayers * sharesPerUnit)
	require.Equal(t, work+work*designerBps/10_000, vc.shareSupply())
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	require.Equal(t, uint64(9*vLayers), m.WorkUnits)

	var list verifytypes.QueryAttestationsResponse
	require.NoError(t, vc.query("/protolearn.verify.v1.Query/Attestations",
		&verifytypes.QueryAttestationsRequest{ModelId: 1, Status: verifytypes.ATTESTATION_STATUS_FINALIZED}, &list))
	require.Len(t, list.Attestations, 3)
	require.Equal(t, ids[2], list.Attestations[0].Id, "newest first")
}

// With challenge_rate 1 every attestation is spot-checked in the next block. The honest worker
// proves its tile and is paid; the cheater cannot prove its faked outputs, and when the response
// window closes it is slashed, jailed and unseated, and none of its work mints.
func TestSpotCheckCatchesCheaterAndClearsHonestWorker(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyOneDec())
	honest, cheater := ws[1], ws[3]
	hID := vc.submit(t, honest, 2)
	cID := vc.submit(t, cheater, 2)
	vc.blocks(1)

	// A spot check of a compressed model opens a product tile and an input tile.
	hChs := vc.challenges(t, honest, verifytypes.CHALLENGE_STATUS_OPEN)
	require.Len(t, hChs, 2, "the honest attestation was spot-checked: a product and an input tile")
	for _, ch := range hChs {
		require.Equal(t, hID, ch.AttestationId)
		require.Empty(t, ch.Challenger, "a spot check has no challenger")
		proof, err := vc.prove(t, honest, ch)
		require.NoError(t, err)
		res := vc.respond(honest, ch.Id, proof)
		require.Zero(t, res.Code, res.Log)
	}
	require.Empty(t, vc.challenges(t, honest, verifytypes.CHALLENGE_STATUS_OPEN))

	open := vc.challenges(t, cheater, verifytypes.CHALLENGE_STATUS_OPEN)
	require.Len(t, open, 2)
	cCh := productChallenge(t, open)
	require.Equal(t, cID, cCh.AttestationId)
	if cCh.Kind != verifytypes.CHALLENGE_KIND_TIE {
		_, err := vc.prove(t, cheater, cCh)
		require.Error(t, err, "a faked output cannot be proved")
	}
	before, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	vc.blocks(vResponse + 1) // past the response window

	// (Had the draw picked a tie tile, the cheater's honest weights could have been proved; a
	// cheater that does not answer fails all the same.)
	failed := vc.challenges(t, cheater, verifytypes.CHALLENGE_STATUS_FAILED)
	require.Len(t, failed, 1)
	after, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	slashed := before.Bonded.Amount.Sub(after.Bonded.Amount)
	require.Equal(t, before.Bonded.Amount.QuoRaw(10), slashed, "slash_fraction 10%%")
	require.Equal(t, slashed, failed[0].Slashed.Amount)
	require.False(t, vc.seated(t, cheater), "a jailed worker loses its seat")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, cID).Status)

	vc.blocks(3)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, hID).Status)
	require.Equal(t, int64(2*vLayers*sharesPerUnit), vc.shares(honest.addr))
	require.Zero(t, vc.shares(cheater.addr), "nothing minted for the cheater")
}

// A third party challenges the cheater's forward tile with a bond; the cheater cannot answer, so
// the challenger gets its bond back plus challenger_reward_bps of the slash. A challenge of an
// honest worker is answered and its bond goes to the worker.
func TestThirdPartyChallenges(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	honest, cheater := ws[0], ws[3]
	bond := testBond
	hID := vc.submit(t, honest, 1)
	cID := vc.submit(t, cheater, 1)

	start := vc.balance(challenger.addr)
	hc := vc.challengeAt(t, challenger, hID, 1, 3, 1)
	cc := vc.challengeAt(t, challenger, cID, 1, 3, 1)
	require.Equal(t, start-2*bond.Amount.Int64(), vc.balance(challenger.addr))

	honestBefore := vc.balance(honest.addr)
	proof, err := vc.prove(t, honest, hc)
	require.NoError(t, err)
	res := vc.respond(honest, hc.Id, proof)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, honestBefore+bond.Amount.Int64(), vc.balance(honest.addr), "an answered challenge pays its bond to the worker")

	before, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	vc.blocks(vResponse + 1)
	after, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	slashed := before.Bonded.Amount.Sub(after.Bonded.Amount).Int64()
	require.Positive(t, slashed)
	reward := slashed * verifytypes.DefaultChallengerRewardBps / 10_000
	require.Equal(t, start-bond.Amount.Int64()+reward, vc.balance(challenger.addr),
		"the challenger loses the bond it lost to the honest worker, recovers the other and earns the reward")
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.False(t, vc.seated(t, cheater))
	got, err := vc.app.VerifyKeeper.GetChallenge(vc.app.NewContext(true), cc.Id)
	require.NoError(t, err)
	require.Equal(t, verifytypes.CHALLENGE_STATUS_FAILED, got.Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, cID).Status)

	vc.blocks(3)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, hID).Status)
	require.Zero(t, vc.shares(cheater.addr))
	// The module account holds no stray coins: bonds and slashes are all paid out or burned.
	modAddr := vc.app.AccountKeeper.GetModuleAddress(verifytypes.ModuleName)
	require.Zero(t, vc.balance(modAddr))
}

// Attacks on the verifier: each is refused with an error that names the problem, and nothing is
// minted for the attacker.
func TestVerifyRefusesAttacks(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyOneDec())
	a, b, cheater := ws[0], ws[1], ws[3]

	// An attestation for a stage the worker does not hold.
	msg := vc.attestation(t, a, 1)
	msg.Stage = 2
	res := vc.send(a.account, msg)
	require.Equal(t, verifytypes.ErrNotSeated.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "holds stage 0 of model 1, not stage 2")

	// More work than the steps allow, and commitments missing a step.
	a.next = 1
	msg = vc.attestation(t, a, 2)
	msg.WorkUnits = 2*vLayers + 1
	res = vc.send(a.account, msg)
	require.Equal(t, verifytypes.ErrTooMuchWork.ABCICode(), res.Code, res.Log)
	msg.WorkUnits = 2 * vLayers
	msg.Commitments = msg.Commitments[:1]
	res = vc.send(a.account, msg)
	require.Equal(t, verifytypes.ErrInvalidAttestation.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "1 commitments for 2 steps")

	// Overlapping ranges: steps 1..2 are attested, 2..3 overlaps.
	a.next = 1
	aID := vc.submit(t, a, 2)
	overlap := *a // its layers must not replace those a committed
	overlap.next, overlap.steps = 2, map[uint64]*attest.Committed{}
	res = vc.send(a.account, vc.attestation(t, &overlap, 2))
	require.Equal(t, verifytypes.ErrOverlappingSteps.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "next attestation starts at step 3")

	bID := vc.submit(t, b, 1)
	cID := vc.submit(t, cheater, 1)
	vc.blocks(1) // spot checks are drawn (rate 1)
	// Each spot check opens a product tile and an input tile; the attacks use the product one.
	aCh := []verifytypes.Challenge{productChallenge(t, vc.challenges(t, a, verifytypes.CHALLENGE_STATUS_OPEN))}
	bCh := []verifytypes.Challenge{productChallenge(t, vc.challenges(t, b, verifytypes.CHALLENGE_STATUS_OPEN))}
	cCh := []verifytypes.Challenge{productChallenge(t, vc.challenges(t, cheater, verifytypes.CHALLENGE_STATUS_OPEN))}
	require.Equal(t, aID, aCh[0].AttestationId)
	require.Equal(t, bID, bCh[0].AttestationId)
	require.Equal(t, cID, cCh[0].AttestationId)
	aProof, err := vc.prove(t, a, aCh[0])
	require.NoError(t, err)
	bProof, err := vc.prove(t, b, bCh[0])
	require.NoError(t, err)

	// A proof made with keys other than the registered ones (a setup the prover ran itself).
	shape, err := tile.ParseShape(aCh[0].Shape)
	require.NoError(t, err)
	rogue, err := tile.TestSetup(shape)
	require.NoError(t, err)
	o, err := a.steps[aCh[0].Step].Open(aCh[0], vTiles(a.stage), vTables(t))
	require.NoError(t, err)
	rogueProof, err := tile.Prove(o, rogue)
	require.NoError(t, err)
	flipped := append([]byte(nil), aProof...)
	flipped[10] ^= 0x40
	respond := func(w *trainer, id uint64, proof []byte) signedMsg {
		return signedMsg{w.account, &verifytypes.MsgRespondChallenge{Worker: w.addr.String(), ChallengeId: id, Proof: proof}}
	}
	attacks := []struct {
		name string
		tx   signedMsg
		want uint32
	}{
		// A valid proof of another challenge, replayed: it proves other roots or another tile.
		{"replayed proof", respond(cheater, cCh[0].Id, aProof), verifytypes.ErrInvalidProof.ABCICode()},
		{"proof from another worker", respond(b, aCh[0].Id, bProof), verifytypes.ErrNotChallengedWorker.ABCICode()},
		{"bit-flipped proof", respond(a, aCh[0].Id, flipped), verifytypes.ErrInvalidProof.ABCICode()},
		{"truncated proof", respond(a, aCh[0].Id, aProof[:100]), verifytypes.ErrInvalidProof.ABCICode()},
		{"padded proof", respond(a, aCh[0].Id, append(append([]byte(nil), aProof...), 0)), verifytypes.ErrInvalidProof.ABCICode()},
		{"empty proof", respond(a, aCh[0].Id, nil), verifytypes.ErrInvalidProof.ABCICode()},
		{"oversized proof", respond(a, aCh[0].Id, make([]byte, verifytypes.DefaultMaxProofBytes+1)), verifytypes.ErrProofTooLarge.ABCICode()},
		{"proof under a rogue key", respond(a, aCh[0].Id, rogueProof), verifytypes.ErrInvalidProof.ABCICode()},
		// The honest answer still goes through after all that, once.
		{"honest answer", respond(a, aCh[0].Id, aProof), 0},
		{"second answer", respond(a, aCh[0].Id, aProof), verifytypes.ErrChallengeClosed.ABCICode()},
	}
	var batch []signedMsg
	for _, at := range attacks {
		batch = append(batch, at.tx)
	}
	results := vc.sendBlock(batch...)
	for i, at := range attacks {
		require.Equal(t, at.want, results[i].Code, "%s: %s", at.name, results[i].Log)
	}
	vc.answerAll(t, a) // its spot check's input tile

	// A response after the deadline: b waits too long.
	vc.blocks(int(bCh[0].DeadlineHeight - vc.app.LastBlockHeight()))
	res = vc.respond(b, bCh[0].Id, bProof)
	require.Equal(t, verifytypes.ErrResponseTooLate.ABCICode(), res.Code, res.Log)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, bID).Status)

	vc.blocks(vWindow)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, aID).Status)
	require.Zero(t, vc.shares(cheater.addr))
	require.Zero(t, vc.shares(b.addr))
	require.Equal(t, int64(2*vLayers*sharesPerUnit), vc.shares(a.addr))
}

// A hot key the operator let open disputes (authorize-trainer --disputes) opens them only over
// attestations of its seat's model and stage, and posts at most the dispute budget in bonds:
// a stolen hot key cannot throw more of the operator's money into lost disputes.
func TestHotKeyDisputesWithinItsGrant(t *testing.T) {
	hot := newAccount(0)
	const bond = 7_000_000
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 40, vResponse, func(_ *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
		vg.Params.DisputeBond = sdk.NewInt64Coin(app.BondDenom, bond)
	}, hot)
	w, op := ws[1], ws[3] // two replicas of stage 1
	msgs, err := verifytypes.AuthorizeTrainerMsgs(op.addr, hot.addr, 1, op.stage, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1_000_000)),
		app.BondDenom, vc.time.Add(24*time.Hour), sdk.NewInt64Coin(app.BondDenom, bond))
	require.NoError(t, err)
	res := vc.send(op.account, msgs...)
	require.Zero(t, res.Code, res.Log)
	var atts []uint64
	for i := range 2 {
		msg := vc.attestation(t, w, 1)
		for _, b := range []*[]byte{&msg.StateRoot, &msg.LogHead, &msg.EndStateRoot, &msg.EndLogHead} {
			h := sha256.Sum256(fmt.Appendf(nil, "attestation %d %p", i, b))
			*b = h[:]
		}
		atts = append(atts, vc.submitted(t, w, msg))
	}
	fee := sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1000))
	open := func(a uint64, model uint64, stage uint32) *abci.ExecTxResult {
		exec := authz.NewMsgExec(hot.addr, []sdk.Msg{&verifytypes.MsgOpenDispute{
			Referee: op.addr.String(), AttestationId: a, Bond: sdk.NewInt64Coin(app.BondDenom, bond), ModelId: model, Stage: stage,
		}})
		return vc.sendWithFee(hot, fee, op.addr, &exec) // refused in the message: the sequence moved
	}
	// Not for another stage, nor without saying which.
	for _, scope := range [][2]uint64{{1, 2}, {0, 0}} {
		res := open(atts[0], scope[0], uint32(scope[1]))
		require.NotZero(t, res.Code)
		require.Contains(t, res.Log, "disputes attestations of stage 1 of model 1 only")
	}
	before := vc.balance(op.addr)
	res = open(atts[0], 1, 1)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, before-bond-1000, vc.balance(op.addr), "the bond and the fee are the operator's")
	// The budget is spent: the grant is gone.
	res = open(atts[1], 1, 1)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "authorization not found")
	// The chain checks what the message says against the attestation.
	direct := vc.send(op.account, &verifytypes.MsgOpenDispute{
		Referee: op.addr.String(), AttestationId: atts[1], Bond: sdk.NewInt64Coin(app.BondDenom, bond), ModelId: 1, Stage: 2,
	})
	require.Equal(t, verifytypes.ErrInvalidDispute.ABCICode(), direct.Code, direct.Log)
	require.Contains(t, direct.Log, "not stage 2 of model 1 as the message says")
}

// A hot key authorized by authz posts the operator's attestation and answers its challenge, with
// fees paid by the operator through feegrant: the staked key never sits on the GPU box.
func TestHotKeyAttestsAndResponds(t *testing.T) {
	hot := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyOneDec(), hot)
	op := ws[0]
	msgs, err := verifytypes.AuthorizeTrainerMsgs(op.addr, hot.addr, 1, op.stage, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1_000_000)),
		app.BondDenom, vc.time.Add(24*time.Hour), sdk.Coin{})
	require.NoError(t, err)
	res := vc.send(op.account, msgs...)
	require.Zero(t, res.Code, res.Log)
	fee := sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1000))
	hotBefore, opBefore := vc.balance(hot.addr), vc.balance(op.addr)

	exec := authz.NewMsgExec(hot.addr, []sdk.Msg{vc.attestation(t, op, 1)})
	res = vc.sendWithFee(hot, fee, op.addr, &exec)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, hotBefore, vc.balance(hot.addr), "the operator pays the hot key's fees")
	require.Equal(t, opBefore-1000, vc.balance(op.addr))
	vc.blocks(1)
	open := vc.challenges(t, op, verifytypes.CHALLENGE_STATUS_OPEN)
	require.Len(t, open, 2, "a product tile and an input tile")
	for _, ch := range open {
		proof, err := vc.prove(t, op, ch)
		require.NoError(t, err)
		o, _ := vc.openings.Load(ch.Id)
		shown, _ := o.(openings)
		exec = authz.NewMsgExec(hot.addr, []sdk.Msg{&verifytypes.MsgRespondChallenge{
			Worker: op.addr.String(), ChallengeId: ch.Id, Proof: proof, InputOpening: shown.in, DatasetOpening: shown.ds,
		}})
		res = vc.sendWithFee(hot, fee, op.addr, &exec)
		require.Zero(t, res.Code, res.Log)
	}
	// The allowance pays for authz executions only: a plain send by the hot key is refused.
	res = vc.sendWithFee(hot, fee, op.addr, banktypes.NewMsgSend(hot.addr, op.addr, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1))))
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "pays for authz executions only")
	hot.seq-- // refused by the fee check, before the ante handler bumps the sequence
	// Nor for the hot key's own messages wrapped in MsgExec (authz runs a signer's own messages
	// without a grant): the allowance pays only for messages sent for the operator.
	own := authz.NewMsgExec(hot.addr, []sdk.Msg{banktypes.NewMsgSend(hot.addr, op.addr, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1)))})
	res = vc.sendWithFee(hot, fee, op.addr, &own)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "does not pay for /cosmos.bank.v1beta1.MsgSend")
	hot.seq--
	ownAtt := vc.attestation(t, op, 1)
	op.next--
	ownAtt.Worker = hot.addr.String()
	own = authz.NewMsgExec(hot.addr, []sdk.Msg{ownAtt})
	res = vc.sendWithFee(hot, fee, op.addr, &own)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "pays for messages sent for "+op.addr.String())
	hot.seq--
	// Without the operator's opt-in the hot key opens no dispute (each posts the operator's bond).
	openDispute := authz.NewMsgExec(hot.addr, []sdk.Msg{&verifytypes.MsgOpenDispute{Referee: op.addr.String(), AttestationId: 1, Bond: sdk.NewInt64Coin(app.BondDenom, 50_000_000)}})
	res = vc.sendWithFee(hot, fee, op.addr, &openDispute)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "authorization not found")
	// The grants are the operator's seat's: a stolen hot key cannot join the operator into a
	// model an accomplice made, nor attest for another stage, to get it challenged and slashed.
	for _, m := range []sdk.Msg{
		&modelstypes.MsgJoinStage{Operator: op.addr.String(), ModelId: 2, Stage: 0},
		&modelstypes.MsgJoinStage{Operator: op.addr.String(), ModelId: 1, Stage: op.stage + 1},
	} {
		bait := authz.NewMsgExec(hot.addr, []sdk.Msg{m})
		res = vc.sendWithFee(hot, fee, op.addr, &bait)
		require.NotZero(t, res.Code)
		require.Contains(t, res.Log, fmt.Sprintf("acts for stage %d of model 1 only", op.stage))
	}
	// Nor can the hot key act for the operator beyond the grants: it cannot unbond its stake.
	exec = authz.NewMsgExec(hot.addr, []sdk.Msg{&computetypes.MsgBeginUnbonding{Operator: op.addr.String(), Amount: sdk.NewInt64Coin(app.BondDenom, 1)}})
	res = vc.sendWithFee(hot, fee, op.addr, &exec)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "does not pay for /protolearn.compute.v1.MsgBeginUnbonding") // nor would authz run it
	hot.seq--
	vc.blocks(vWindow)
	require.Equal(t, int64(vLayers*sharesPerUnit), vc.shares(op.addr), "shares go to the operator, not the hot key")
	require.Zero(t, vc.shares(hot.addr))
}

// Genesis export and import carries pending attestations, open challenges with their bonds,
// and the last attested steps; the imported chain then settles them as the original would.
func TestVerifyGenesisExportImport(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	honest, cheater := ws[0], ws[3]
	hID := vc.submit(t, honest, 2)
	cID := vc.submit(t, cheater, 1)
	res := vc.send(challenger, &verifytypes.MsgOpenChallenge{
		Challenger: challenger.addr.String(), AttestationId: cID, Kind: verifytypes.CHALLENGE_KIND_BACKWARD,
		Step: 1, Row: 0, Col: 2, Bond: sdk.NewInt64Coin(app.BondDenom, 5_000_000),
	})
	require.Zero(t, res.Code, res.Log)

	honestSeq, cheaterSeq, copierSeq := honest.seq, cheater.seq, ws[2].seq
	for _, zeroHeight := range []bool{false, true} {
		exported, err := vc.app.ExportAppStateAndValidators(zeroHeight, nil, nil)
		require.NoError(t, err)
		var state map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(exported.AppState, &state))
		require.NoError(t, vc.app.BasicModuleManager.ValidateGenesis(vc.app.AppCodec(), vc.app.TxConfig(), state))
		var gs verifytypes.GenesisState
		vc.app.AppCodec().MustUnmarshalJSON(state[verifytypes.ModuleName], &gs)
		require.Len(t, gs.Attestations, 2)
		require.Len(t, gs.Challenges, 1)
		require.Len(t, gs.LastSteps, 2)
		require.Len(t, gs.StageSteps, 2, "stages 0 and 1 attested")
		for _, l := range gs.LastSteps {
			require.Less(t, l.Allowance, uint64(verifytypes.DefaultStepBurst), "the allowance spent is carried")
		}

		fresh := &chain{t: t, app: newApp(t), time: vc.time, valSet: vc.valSet}
		if !zeroHeight {
			fresh.initialHeight = exported.Height
		}
		fresh.initChain(exported.AppState)
		re, err := fresh.app.ExportAppStateAndValidators(false, nil, nil)
		require.NoError(t, err)
		var again map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(re.AppState, &again))
		if !zeroHeight {
			require.JSONEq(t, string(state[verifytypes.ModuleName]), string(again[verifytypes.ModuleName]))
		}

		// The imported chain refuses an overlapping attestation, a gap and a copy of a pending
		// root (its root index is rebuilt), fails the open challenge when its deadline comes (as
		// many blocks later as it had left) and finalizes the honest work.
		honest.seq, cheater.seq, ws[2].seq = honestSeq, cheaterSeq, copierSeq
		fvc := &verifyChain{chain: fresh, rng: vc.rng, prover: vc.prover, ws: vc.ws}
		fvc.mb.Store(vc.mb.Load() + 1000) // inputs the exported chain has not seen
		// The index of counted inputs is rebuilt from the attestations: an input the stage-1
		// worker attested before the export is refused when shown again.
		var used *verifytypes.BoundaryReceipt // the receipt of the payload the stage-1 attestation took first
		for _, a := range gs.Attestations {
			if a.Worker == cheater.addr.String() && len(a.InputDigests) > 0 {
				used = a.Commitments[0].Input
				require.Equal(t, a.Commitments[0].Input.PayloadDigest, a.InputDigests[0])
				require.Len(t, a.InputMicrobatches, len(a.InputDigests), "one microbatch an input, exported")
				require.Equal(t, used.Microbatch, a.InputMicrobatches[0])
			}
		}
		require.NotNil(t, used, "the stage-1 attestation lists its inputs")
		// A genesis whose attestation lists microbatches that are not one an input is refused,
		// saying so.
		bad := gs
		bad.Attestations = slices.Clone(gs.Attestations)
		for i, a := range bad.Attestations {
			if len(a.InputDigests) > 0 {
				bad.Attestations[i].InputMicrobatches = append(slices.Clone(a.InputMicrobatches), 7)
				break
			}
		}
		require.ErrorContains(t, bad.Validate(), "input microbatches for")
		// The clocks carry where each worker's latest attestation ended (its log head, peer and
		// last send: the next one's log_gap and prev_seq); a clock that says otherwise is refused.
		for _, l := range gs.LastSteps {
			require.Len(t, l.EndLogHead, 32)
			require.NotEmpty(t, l.PeerId)
			require.NotZero(t, l.LastSeq)
		}
		bad = gs
		bad.LastSteps = slices.Clone(gs.LastSteps)
		bad.LastSteps[0].LastSeq++
		require.ErrorContains(t, bad.Validate(), "is not the last send")
		bad.LastSteps[0].LastSeq--
		bad.LastSteps[0].EndLogHead = nil
		require.ErrorContains(t, bad.Validate(), "with no end_log_head")
		next := &trainer{account: cheater.account, stage: cheater.stage, secret: cheater.secret, next: 2, steps: map[uint64]*attest.Committed{}, peer: cheater.peer}
		reuse := fvc.attestation(t, next, 1)
		reuse.Commitments[0].Input = used
		res = fvc.send(cheater.account, reuse)
		require.Equal(t, verifytypes.ErrInputReused.ABCICode(), res.Code, res.Log)
		overlap := *honest
		overlap.next, overlap.steps = 2, map[uint64]*attest.Committed{}
		res = fvc.send(honest.account, fvc.attestation(t, &overlap, 1))
		require.Equal(t, verifytypes.ErrOverlappingSteps.ABCICode(), res.Code, res.Log)
		overlap.next = 4
		res = fvc.send(honest.account, fvc.attestation(t, &overlap, 1))
		require.Equal(t, verifytypes.ErrStepsNotContiguous.ABCICode(), res.Code, res.Log)
		res = fvc.send(honest.account, fvc.attestRoots(honest, 1, 3, honest.steps[1].Roots(), honest.steps[1].Roots()))
		require.Equal(t, verifytypes.ErrRootReused.ABCICode(), res.Code, res.Log)
		// ws[2] copies a pending root: the rebuilt index sees it, and both holders are
		// challenged; the honest worker answers.
		res = fvc.send(ws[2].account, fvc.attestRoots(ws[2], 1, 1, honest.steps[1].Roots()))
		require.Zero(t, res.Code, res.Log)
		for _, ch := range fvc.challenges(t, honest, verifytypes.CHALLENGE_STATUS_OPEN) {
			p, err := fvc.prove(t, honest, ch)
			require.NoError(t, err)
			res = fvc.respond(honest, ch.Id, p)
			require.Zero(t, res.Code, res.Log)
		}
		fvc.blocks(vWindow)
		require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, fvc.attestationByID(t, cID).Status, "zero height %v", zeroHeight)
		require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, fvc.attestationByID(t, hID).Status, "zero height %v", zeroHeight)
		require.Equal(t, int64(2*vLayers*sharesPerUnit), fvc.shares(honest.addr))
		w, err := fvc.worker(cheater.addr)
		require.NoError(t, err)
		require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
	}
}

// productChallenge is the product-tile challenge (forward, backward or tie) among a spot check's
// challenges (a compressed model's spot check opens an input tile beside it).
func productChallenge(t *testing.T, chs []verifytypes.Challenge) verifytypes.Challenge {
	t.Helper()
	for _, ch := range chs {
		if ch.Kind != verifytypes.CHALLENGE_KIND_INPUT {
			return ch
		}
	}
	t.Fatalf("no product-tile challenge among %d", len(chs))
	return verifytypes.Challenge{}
}

// answerAll proves and answers every open challenge of w.
func (vc *verifyChain) answerAll(t *testing.T, w *trainer) {
	t.Helper()
	for _, ch := range vc.challenges(t, w, verifytypes.CHALLENGE_STATUS_OPEN) {
		proof, err := vc.prove(t, w, ch)
		require.NoError(t, err)
		res := vc.respond(w, ch.Id, proof)
		require.Zero(t, res.Code, res.Log)
	}
}
