package app_test

import (
	"crypto/sha256"
	"math"
	"strings"
	"testing"

	errorsmod "cosmossdk.io/errors"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/trainer/attest"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifykeeper "github.com/protolearn/protolearn/x/verify/keeper"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The attacks of "verified work must be real work" (1/2), each played by a provider against the
// in-process chain with real keys and proofs: refused, or slashed, and never paid.

var testBond = sdk.NewInt64Coin(app.BondDenom, 5_000_000)

// maxBond is what the tests' challengers are willing to post: the chain takes testBond × 2^open.
var maxBond = sdk.NewCoin(app.BondDenom, testBond.Amount.MulRaw(1<<verifytypes.MaxOpenChallenges))

// challenge opens a third-party forward challenge of attestation att at (step, row 1, block 1).
func (vc *verifyChain) challenge(t testing.TB, by *account, att, step uint64) verifytypes.Challenge {
	t.Helper()
	return vc.challengeAt(t, by, att, step, 1, 1)
}

// challengeAt opens a third-party forward challenge of attestation att at (step, row, col),
// posting the test bond.
func (vc *verifyChain) challengeAt(t testing.TB, by *account, att, step uint64, row, col uint32) verifytypes.Challenge {
	t.Helper()
	return vc.challengeKind(t, by, att, verifytypes.CHALLENGE_KIND_FORWARD, step, row, col)
}

// challengeKind opens a third-party challenge of kind of attestation att at (step, row, col),
// posting the test bond.
func (vc *verifyChain) challengeKind(t testing.TB, by *account, att uint64, kind verifytypes.ChallengeKind, step uint64, row, col uint32) verifytypes.Challenge {
	t.Helper()
	res := vc.send(by, &verifytypes.MsgOpenChallenge{
		Challenger: by.addr.String(), AttestationId: att, Kind: kind,
		Step: step, Row: row, Col: col, Bond: maxBond, // the chain takes challenge_bond × 2^open
	})
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgOpenChallengeResponse
	requireMsgResponse(t, res, &out)
	ch, err := vc.app.VerifyKeeper.GetChallenge(vc.app.NewContext(true), out.ChallengeId)
	require.NoError(t, err)
	return ch
}

// attestRoots sends w's attestation of steps from..from+len(roots)-1 carrying roots as they are,
// each with a fresh input receipt of w's own, or on stage 0 a fresh draw (a copier has traffic of
// its own to show; the embedding root stays the copied one).
func (vc *verifyChain) attestRoots(w *trainer, model, from uint64, roots ...verifytypes.StepCommitment) *verifytypes.MsgSubmitAttestation {
	msg := &verifytypes.MsgSubmitAttestation{
		Worker: w.addr.String(), ModelId: model, Stage: w.stage, StepFrom: from, StepTo: from + uint64(len(roots)) - 1,
		WorkUnits: uint64(len(roots)) * vLayers, TileRows: vRows, TileWidth: vT, StateRoot: stateRoot(w, model, from), LogHead: logHead(w, model, from),
		EndStateRoot: stateRoot(w, model, from+uint64(len(roots))), EndLogHead: logHead(w, model, from+uint64(len(roots))),
	}
	for i, r := range roots {
		r.Step = from + uint64(i)
		draw := uint64(0)
		if w.stage != 0 {
			r.Sample = nil // stage 0's; a later stage shows its receipt
		} else if r.Sample != nil {
			s := *r.Sample
			s.Microbatch, _ = w.draw()
			r.Sample, draw = &s, s.Microbatch
		}
		onModel := func(rc *verifytypes.Receipt) { rc.Model = model }
		if w.stage != 0 {
			draw = vc.mb.Add(1)
		}
		r.Input = signInput(vc.t, vc.neighbour(w), w, draw, onModel)
		r.OtherInputs = nil
		for range len(vc.otherInputs(vc.t, w)) {
			mb := vc.mb.Add(1)
			if w.stage == 0 {
				mb, _ = w.draw()
			}
			r.OtherInputs = append(r.OtherInputs, signInput(vc.t, vc.neighbour(w), w, mb, onModel))
		}
		w.nameDraws(&r)
		r.GradInputs = nil
		if w.stage == 1 {
			for _, in := range append([]*verifytypes.BoundaryReceipt{r.Input}, r.OtherInputs...) {
				r.GradInputs = append(r.GradInputs, signInputDigest(vc.t, vc.honest(2), w, in.Microbatch, sha256.Sum256(in.PayloadDigest), onModel))
			}
		}
		msg.Commitments = append(msg.Commitments, r)
	}
	return withSends(msg)
}

// submitted sends msg from w and returns the new attestation's id.
func (vc *verifyChain) submitted(t *testing.T, w *trainer, msg *verifytypes.MsgSubmitAttestation) uint64 {
	t.Helper()
	res := vc.send(w.account, msg)
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgSubmitAttestationResponse
	requireMsgResponse(t, res, &out)
	return out.AttestationId
}

// proveAs proves challenge ch from committed layer cm as if ch were of the layer's own step: what a
// worker holding another step's (or another worker's) openings can send.
func (vc *verifyChain) proveAs(t *testing.T, cm *attest.Committed, ch verifytypes.Challenge) []byte {
	t.Helper()
	ch.Step = cm.Layer.Step
	o, err := cm.Open(ch, vTiles(1), vTables(t))
	require.NoError(t, err)
	proof, err := vc.prover.Prove(o)
	require.NoError(t, err)
	return proof
}

// requireUnanswerable challenges step of attestation att, held by w, and shows that the
// openings of cm (the only ones w has for those roots) do not answer it: the proof is refused,
// and once the response window (response blocks) has passed, w is jailed and att void.
func (vc *verifyChain) requireUnanswerable(t *testing.T, challenger *account, w *trainer, att, step uint64, cm *attest.Committed, response int64) {
	t.Helper()
	ch := vc.challenge(t, challenger, att, step)
	res := vc.respond(w, ch.Id, vc.proveAs(t, cm, ch))
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	vc.blocks(int(response) + 1)
	after, err := vc.worker(w.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, att).Status)
}

// A valid proof answers its challenge and no other: replayed on another challenge of the same
// tile, on another attestation and step of the same worker, by another worker, or on another
// model, it is refused; each challenge then takes its own proof.
func TestAttackProofReplay(t *testing.T) {
	challenger := newAccount(0)
	secondModel := func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) {
		two := m.Models[0]
		two.Id, two.Name = 2, "second"
		m.Models = append(m.Models, two)
		m.NextModelId = 3
	}
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 4*vWindow, 4*vResponse, secondModel, challenger)
	a, b := ws[0], ws[1]
	a1 := vc.submit(t, a, 2) // steps 1..2
	a2 := vc.submit(t, a, 2) // steps 3..4
	b1 := vc.submit(t, b, 1)

	// a on model 2, stage 0 again: the same worker, the same step number, another model.
	for _, w := range []*trainer{a, b, ws[2]} {
		res := vc.send(w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 2, Stage: w.stage})
		require.Zero(t, res.Code, res.Log)
	}
	on2 := vc.layerOn(t, a, 2, 1)
	m2 := vc.submitted(t, a, vc.attestRoots(a, 2, 1, on2.Roots()))

	ch1 := vc.challenge(t, challenger, a1, 1)
	sameTile := vc.challenge(t, challenger, a1, 1)
	later := vc.challenge(t, challenger, a2, 3)
	other := vc.challenge(t, challenger, b1, 1)
	onModel2 := vc.challenge(t, challenger, m2, 1)
	p1, err := vc.prove(t, a, ch1)
	require.NoError(t, err)

	for name, tx := range map[string]struct {
		w  *trainer
		id uint64
	}{
		"same tile, another challenge": {a, sameTile.Id},
		"another attestation and step": {a, later.Id},
		"another worker":               {b, other.Id},
		"another model":                {a, onModel2.Id},
	} {
		res := vc.respond(tx.w, tx.id, p1)
		require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, "%s: %s", name, res.Log)
		require.Contains(t, res.Log, "answers this challenge of this worker's step only", name)
	}
	// The proof answers its own challenge; every other one takes its own proof.
	require.Zero(t, vc.respond(a, ch1.Id, p1).Code)
	for _, c := range []struct {
		w  *trainer
		ch verifytypes.Challenge
	}{{a, sameTile}, {a, later}, {b, other}} {
		p, err := vc.prove(t, c.w, c.ch)
		require.NoError(t, err)
		res := vc.respond(c.w, c.ch.Id, p)
		require.Zero(t, res.Code, res.Log)
	}
	p2 := vc.proveAs(t, on2, onModel2)
	res := vc.respond(a, onModel2.Id, p2)
	require.Zero(t, res.Code, res.Log)
}

// layerOn commits an honest layer of w's step on model (not model 1's).
func (vc *verifyChain) layerOn(t *testing.T, w *trainer, model, step uint64) *attest.Committed {
	t.Helper()
	l := vc.newLayer(t, w, step)
	owner := w.owner()
	owner.ModelID = model
	cm, err := attest.Commit(w.secret, owner, l)
	require.NoError(t, err)
	return cm
}

// gen draws n values in [-scale, scale).
func (vc *verifyChain) gen(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (vc.rng.Float32()*2 - 1) * scale
	}
	return v
}

// A worker that copies another's roots gets nothing. Copied from a pending attestation (even
// front-running it from the mempool, so that the copy lands first), the copy is accepted and both
// holders are challenged at once at the copied step: the original answers, the copier cannot and
// is slashed. Copied from a final attestation, the copy is accepted, but no proof answers for it
// (the roots are bound to the other worker's step, so even that worker's own openings are
// refused), and the copier is slashed, jailed and unpaid.
func TestAttackCopiedRoots(t *testing.T) {
	challenger := newAccount(0)
	const response = 4 * vResponse // room for eight answers, one block each
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 3*vWindow, response, challenger)
	victim, copier, late := ws[1], ws[3], ws[2]
	copier.cheat = false

	// The victim's attestation is in the mempool; the copier's copy is ordered first.
	honest := vc.attestation(t, victim, 2)
	stolen := []verifytypes.StepCommitment{honest.Commitments[0], honest.Commitments[1]}
	results := vc.sendBlock(signedMsg{copier.account, vc.attestRoots(copier, 1, 1, stolen...)}, signedMsg{victim.account, honest})
	var ids [2]uint64
	for i, r := range results {
		require.Zero(t, r.Code, r.Log)
		var out verifytypes.MsgSubmitAttestationResponse
		requireMsgResponse(t, r, &out)
		ids[i] = out.AttestationId
	}
	copyID, vID := ids[0], ids[1]
	forVictim := vc.challenges(t, victim, verifytypes.CHALLENGE_STATUS_OPEN)
	forCopier := vc.challenges(t, copier, verifytypes.CHALLENGE_STATUS_OPEN)
	require.NotEmpty(t, forVictim, "the original holder is challenged at the copied steps")
	require.NotEmpty(t, forCopier, "and so is the copier")
	for _, ch := range forVictim {
		require.Empty(t, ch.Challenger, "a chain challenge: no bond")
		p, err := vc.prove(t, victim, ch)
		require.NoError(t, err)
		res := vc.respond(victim, ch.Id, p)
		require.Zero(t, res.Code, res.Log)
	}
	for _, ch := range forCopier {
		res := vc.respond(copier, ch.Id, vc.proveAs(t, victim.steps[ch.Step], ch))
		require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	}
	before, err := vc.worker(copier.addr)
	require.NoError(t, err)
	vc.blocks(response + 1)
	after, err := vc.worker(copier.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.True(t, after.Bonded.Amount.LT(before.Bonded.Amount), "slashed")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, copyID).Status)

	vc.blocks(3 * vWindow) // the victim's attestation finalizes; its roots leave the index
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, vID).Status)
	require.Equal(t, int64(2*vLayers*sharesPerUnit), vc.shares(victim.addr), "the victim keeps its pay")
	require.Zero(t, vc.shares(copier.addr), "the copier is never paid")

	// Copied from the final attestation: accepted, unanswerable. late (stage 2) copies them; the
	// victim colludes and hands over its openings of step 2, but the proof is bound to the
	// victim's step, not the copier's.
	cID := vc.submitted(t, late, vc.attestRoots(late, 1, 1, stolen...))
	vc.requireUnanswerable(t, challenger, late, cID, 2, victim.steps[2], response)
	vc.blocks(3 * vWindow)
	require.Zero(t, vc.shares(late.addr))
}

// One layer's roots reused across steps. Inside one attestation they are refused. Reused while
// the first use is pending, both uses are challenged: the worker answers for the step it
// committed, not for the reuse, and is slashed, losing every pending attestation. Reused once the
// first use is final, they are accepted, but the worker's openings are bound to the step it
// committed, so a challenge of the reuse cannot be answered either. Only honest first uses that
// finalized before are paid.
func TestAttackReusedLayer(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	w, v := ws[0], ws[2]
	one := vc.layer(t, w, 1)
	roots := one.Roots()

	res := vc.send(w.account, vc.attestRoots(w, 1, 1, roots, roots, roots))
	require.Equal(t, verifytypes.ErrRootReused.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "commitments[1].x_root repeats commitments[0].x_root")

	// v reuses its step 1 at step 2 while step 1 is pending.
	vOne := vc.layer(t, v, 1)
	vFirst := vc.submitted(t, v, vc.attestRoots(v, 1, 1, vOne.Roots()))
	vReuse := vc.submitted(t, v, vc.attestRoots(v, 1, 2, vOne.Roots()))
	open := vc.challenges(t, v, verifytypes.CHALLENGE_STATUS_OPEN)
	require.Len(t, open, 4, "forward and backward tiles of both uses")
	for _, ch := range open {
		if ch.Step == 1 {
			p, err := vc.prove(t, v, ch)
			require.NoError(t, err)
			require.Zero(t, vc.respond(v, ch.Id, p).Code)
			continue
		}
		res := vc.respond(v, ch.Id, vc.proveAs(t, vOne, ch))
		require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	}

	first := vc.submitted(t, w, vc.attestRoots(w, 1, 1, roots))
	vc.blocks(vWindow)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, first).Status)
	for _, id := range []uint64{vFirst, vReuse} {
		require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, id).Status)
	}
	jailed, err := vc.worker(v.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, jailed.Status)

	reused := vc.submitted(t, w, vc.attestRoots(w, 1, 2, roots))
	vc.requireUnanswerable(t, challenger, w, reused, 2, one, vResponse)
	vc.blocks(vWindow)
	require.Equal(t, int64(vLayers*sharesPerUnit), vc.shares(w.addr), "only the first use is paid")
	require.Zero(t, vc.shares(v.addr))
}

// Step numbers count a worker's attested steps: the first attestation starts at 1 and each next
// one exactly after the last; numbers ahead, gaps and wrap-arounds are refused.
func TestAttackStepNumbersAhead(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w := ws[0]
	r := func() verifytypes.StepCommitment { return vc.layer(t, w, 1).Roots() }
	for name, c := range map[string]struct {
		from uint64
		n    int
		code uint32
	}{
		"first not at step 1": {2, 1, verifytypes.ErrStepsNotContiguous.ABCICode()},
		"far ahead":           {1_000_000_000_000_000_000, 8, verifytypes.ErrStepsNotContiguous.ABCICode()},
		"wrapping":            {math.MaxUint64, 2, verifytypes.ErrInvalidAttestation.ABCICode()},
	} {
		roots := make([]verifytypes.StepCommitment, c.n)
		for i := range roots {
			roots[i] = r()
		}
		res := vc.send(w.account, vc.attestRoots(w, 1, c.from, roots...))
		require.Equal(t, c.code, res.Code, "%s: %s", name, res.Log)
	}
	vc.submit(t, w, 2) // 1..2
	w.next = 5         // a gap: 3..4 skipped
	res := vc.send(w.account, vc.attestation(t, w, 2))
	require.Equal(t, verifytypes.ErrStepsNotContiguous.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "starts at step 3, got 5")
	w.next = 3
	vc.submit(t, w, 2)
	vc.blocks(vWindow)
	require.Equal(t, int64(4*vLayers*sharesPerUnit), vc.shares(w.addr))
}

// Many attestations in one block: the worker's pace allowance (step_burst, refilled by
// max_steps_per_block a block) lets the first through and refuses the rest with ErrTooFast;
// a block later the allowance has grown again. Only accepted steps are ever paid.
func TestAttackManyAttestationsInOneBlock(t *testing.T) {
	pace := func(_ *modelstypes.GenesisState, v *verifytypes.GenesisState) {
		v.Params.AttestationPeriod, v.Params.StepBurst, v.Params.MaxStepsPerBlock, v.Params.MaxStageLead = 4, 16, 4, 1_000
	}
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, pace)
	w := ws[0]
	var txs []signedMsg
	for range 8 {
		txs = append(txs, signedMsg{w.account, vc.attestation(t, w, 4)})
	}
	results := vc.sendBlock(txs...)
	for i, r := range results[:4] {
		require.Zero(t, r.Code, "attestation %d: %s", i, r.Log)
	}
	require.Equal(t, verifytypes.ErrTooFast.ABCICode(), results[4].Code, results[4].Log)
	require.Contains(t, results[4].Log, "may attest 0 more steps")
	for _, r := range results[5:] {
		require.NotZero(t, r.Code, r.Log) // too fast, or no longer contiguous
	}
	// A block later the allowance has grown by 4 steps: one attestation of 4 passes, a second
	// in the same block does not.
	w.next = 17
	results = vc.sendBlock(signedMsg{w.account, vc.attestation(t, w, 4)}, signedMsg{w.account, vc.attestation(t, w, 4)})
	require.Zero(t, results[0].Code, results[0].Log)
	require.Equal(t, verifytypes.ErrTooFast.ABCICode(), results[1].Code, results[1].Log)
	require.True(t, verifytypes.IsClockWait(verifytypes.ErrTooFast))
	vc.blocks(vWindow)
	require.Equal(t, int64(20*vLayers*sharesPerUnit), vc.shares(w.addr), "paid for the 20 accepted steps only")
}

// A stage may not run ahead of its neighbours by more than max_stage_lead steps over the clock
// window: stage 0 alone is stopped; once stage 1 and 2 attest it goes on. A slow stage and a
// replica that joined late are not refused, and the window forgets old counts.
func TestAttackStageAhead(t *testing.T) {
	lead := func(_ *modelstypes.GenesisState, v *verifytypes.GenesisState) {
		v.Params.MaxStageLead, v.Params.StepBurst, v.Params.ClockWindow = 8, 1_000, 20
	}
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, lead)
	s0, s1, s2, late := ws[0], ws[1], ws[2], ws[3]
	late.cheat = false
	vc.submit(t, s0, 8)
	res := vc.send(s0.account, vc.attestation(t, s0, 1))
	require.Equal(t, verifytypes.ErrStageAhead.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "stage 0 of model 1 attested 8 steps")
	s0.next--
	vc.submit(t, s1, 8)   // stage 1 catches up with stage 0 (stage 2 at 0: 8 ahead at most)
	vc.blocks(3)          // the last stage is slow
	vc.submit(t, s2, 4)   // and attests less
	vc.submit(t, s0, 8)   // stage 0 now 16, stage 1 8: within the lead
	vc.submit(t, late, 4) // a replica of stage 1 that joined late starts at its own step 1: stage 1 at 12
	res = vc.send(s1.account, vc.attestation(t, s1, 4))
	require.Equal(t, verifytypes.ErrStageAhead.ABCICode(), res.Code, "stage 1 would be 16 against stage 2's 4: %s", res.Log)
	s1.next -= 4
	vc.submit(t, s2, 4) // the slow stage attests: stage 1 may go on
	vc.submit(t, s1, 4)
	res = vc.send(s1.account, vc.attestation(t, s1, 1))
	require.Equal(t, verifytypes.ErrStageAhead.ABCICode(), res.Code, res.Log)
	s1.next--
	vc.blocks(20) // every count leaves the clock window: stage 1 may go on alone, up to the lead
	vc.submit(t, s1, 8)
}

// Pending work past target_work_units: minting stops exactly at the target. Attestations that
// finalize in the same block are paid in submission (id) order; the one that crosses the target
// is paid what is left, later ones nothing; the model completes and refuses more attestations.
func TestAttackPendingPastTarget(t *testing.T) {
	target := func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) {
		m.Models[0].TargetWorkUnits = 5 * vLayers // 5 steps
	}
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, target)
	ws[3].cheat = false
	results := vc.sendBlock(
		signedMsg{ws[0].account, vc.attestation(t, ws[0], 2)},
		signedMsg{ws[1].account, vc.attestation(t, ws[1], 2)},
		signedMsg{ws[2].account, vc.attestation(t, ws[2], 2)},
	)
	var ids []uint64
	for _, r := range results {
		require.Zero(t, r.Code, r.Log)
		var out verifytypes.MsgSubmitAttestationResponse
		requireMsgResponse(t, r, &out)
		ids = append(ids, out.AttestationId)
	}
	late := vc.submit(t, ws[3], 2) // a block later: finalizes after the model completed
	vc.blocks(vWindow + 1)

	paid := []uint64{2 * vLayers, 2 * vLayers, vLayers, 0}
	for i, id := range append(ids, late) {
		a := vc.attestationByID(t, id)
		require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "attestation %d", id)
		require.Equal(t, paid[i], a.PaidUnits, "attestation %d", id)
		require.Equal(t, int64(paid[i]*sharesPerUnit), vc.shares(ws[i].addr), "worker %d", i)
	}
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	require.Equal(t, modelstypes.MODEL_STATUS_COMPLETED, m.Status)
	require.Equal(t, m.TargetWorkUnits, m.WorkUnits)
	work := int64(m.TargetWorkUnits * sharesPerUnit)
	require.Equal(t, work+work*designerBps/10_000, vc.shareSupply(), "minted exactly the target (and the designer's cut of it)")

	res := vc.send(ws[0].account, vc.attestation(t, ws[0], 1))
	require.Equal(t, verifytypes.ErrModelNotTraining.ABCICode(), res.Code, res.Log)
}

// An attestation held past its finalize height by a challenge keeps its place under the target:
// work submitted after it and due while it waits is paid at once only where it fits beside the
// held claim, and otherwise waits for the verdict too. Held work that wins is paid in full before
// later work; held work that loses leaves the target to the later work.
func TestHeldWorkKeepsItsPlaceUnderTheTarget(t *testing.T) {
	for _, honest := range []bool{true, false} {
		t.Run(map[bool]string{true: "the held work wins", false: "the held work loses"}[honest], func(t *testing.T) {
			challenger := newAccount(0)
			target := func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) {
				m.Models[0].TargetWorkUnits = 5 * vLayers // 5 steps
			}
			// A response window longer than the challenge window: the verdict comes after the
			// later attestations are due.
			const window, response = 4, 12
			vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), window, response, target, challenger)
			held := ws[0]
			if !honest {
				held = ws[3] // its layer is faked: it cannot answer
			}
			first := vc.submit(t, held, 3)
			ch := vc.challenge(t, challenger, first, 1)
			fits := vc.submit(t, ws[1], 2)  // 3 held + 2 = the target: paid when due
			waits := vc.submit(t, ws[2], 1) // 3 held + 2 paid + 1 > the target: waits for the verdict
			vc.blocks(window + 1)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, fits).Status)
			require.Equal(t, uint64(2*vLayers), vc.attestationByID(t, fits).PaidUnits)
			for _, id := range []uint64{first, waits} {
				require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, vc.attestationByID(t, id).Status, "attestation %d waits for the verdict", id)
			}

			if honest {
				p, err := vc.prove(t, held, ch)
				require.NoError(t, err)
				res := vc.respond(held, ch.Id, p)
				require.Zero(t, res.Code, res.Log)
			} else {
				vc.blocks(response)
			}
			vc.blocks(1)
			paid := map[uint64]uint64{first: 3 * vLayers, fits: 2 * vLayers, waits: 0}
			if !honest {
				paid[first], paid[waits] = 0, vLayers
				require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, first).Status)
			}
			for id, units := range paid {
				a := vc.attestationByID(t, id)
				if id != first || honest {
					require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "attestation %d", id)
				}
				require.Equal(t, units, a.PaidUnits, "attestation %d", id)
			}
			m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
			require.NoError(t, err)
			want := paid[first] + paid[fits] + paid[waits]
			require.Equal(t, want, m.WorkUnits)
			if honest {
				require.Equal(t, modelstypes.MODEL_STATUS_COMPLETED, m.Status)
			}
		})
	}
}

// An honest attestation that waits behind another's held work keeps its place under the target
// when a griefer (a replica of its stage, one bond) disputes its worker's newer attestation
// after its window has passed (an attacker's review): a dispute holds only the attestations in
// their window when it opened, so the waiting one is paid the target's rest before work
// submitted after it.
func TestAttackGrieferDisputeKeepsWaitingWorkInItsPlace(t *testing.T) {
	challenger := newAccount(0)
	bond := sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	const window, response = 4, 12
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), window, response, func(m *modelstypes.GenesisState, v *verifytypes.GenesisState) {
		m.Models[0].TargetWorkUnits = 5 * vLayers
		v.Params.DisputeBond = bond
	}, challenger)
	held, victim, after, griefer := ws[0], ws[1], ws[2], ws[3] // victim and griefer: stage 1

	first := vc.submit(t, held, 3)
	ch := vc.challenge(t, challenger, first, 1) // in first's window: first keeps its place
	vic := vc.submit(t, victim, 3)              // 3 held + 3 > 5: waits behind first, keeps its place (cut)
	later := vc.submit(t, after, 2)             // submitted after vic
	vic2 := vc.submit(t, victim, 1)             // the victim's next attestation, still in its window below
	vicDue := vc.attestationByID(t, vic).FinalizeHeight
	for vc.height() < vicDue {
		vc.blocks(1)
	}
	require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, vc.attestationByID(t, vic).Status, "vic waits behind first")

	// The griefer disputes the victim's newer attestation, after vic's finalize height.
	res := vc.send(griefer.account, &verifytypes.MsgOpenDispute{Referee: griefer.addr.String(), AttestationId: vic2, Bond: bond})
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgOpenDisputeResponse
	requireMsgResponse(t, res, &out)
	junk := make([]byte, 32)
	junk[0] = 1
	res = vc.send(victim.account, &verifytypes.MsgDisputeClaim{Worker: victim.addr.String(), DisputeId: out.DisputeId, Events: 2, StateRoot: junk, LogHead: junk})
	require.Zero(t, res.Code, res.Log) // the victim plays; the griefer walks away and loses

	p, err := vc.prove(t, held, ch)
	require.NoError(t, err)
	res = vc.respond(held, ch.Id, p)
	require.Zero(t, res.Code, res.Log)
	vc.blocks(response + 3)

	d, err := vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), out.DisputeId)
	require.NoError(t, err)
	require.False(t, d.Open())
	for _, id := range []uint64{first, vic, later} {
		a := vc.attestationByID(t, id)
		t.Logf("attestation %d (submitted %d, due %d): %s paid %d", id, a.SubmittedHeight, a.FinalizeHeight, a.Status, a.PaidUnits)
	}
	require.Equal(t, uint64(3*vLayers), vc.attestationByID(t, first).PaidUnits)
	require.Equal(t, uint64(2*vLayers), vc.attestationByID(t, vic).PaidUnits,
		"the honest attestation that waited in its place is paid the target's rest before work submitted after it")
	require.Zero(t, vc.attestationByID(t, later).PaidUnits)
}

// A worker holding a claim that fills what is left of the target, with a sybil replica of its
// stage disputing each fresh attestation of the worker before the previous dispute settles (an
// attacker's review), holds nobody's pay for long: a dispute holds only the worker's
// attestations in their window when it opened, so the claim waits for its own dispute alone,
// and the honest work due behind it finalizes once that has settled.
func TestAttackChainedDisputesHoldOnlyTheWorker(t *testing.T) {
	const window, response = 8, 5
	bond := sdk.NewInt64Coin(app.BondDenom, 7_000_000)
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), window, response, func(m *modelstypes.GenesisState, v *verifytypes.GenesisState) {
		m.Models[0].TargetWorkUnits = 3 * vLayers
		v.Params.DisputeBond = bond
	})
	w, r, honest := ws[1], ws[3], ws[0] // w and r: stage 1 (r is w's sybil); honest: stage 0
	r.cheat = false

	big := vc.submit(t, w, 3)         // claims the whole target
	late := vc.submit(t, honest, 1)   // honest work submitted after it
	open := func(att uint64) uint64 { // r disputes w's attestation
		res := vc.send(r.account, &verifytypes.MsgOpenDispute{Referee: r.addr.String(), AttestationId: att, Bond: bond})
		require.Zero(t, res.Code, res.Log)
		var out verifytypes.MsgOpenDisputeResponse
		requireMsgResponse(t, res, &out)
		return out.DisputeId
	}
	junk := make([]byte, 32)
	junk[0] = 1
	claim := func(d uint64) { // w's first move, at once (any roots will do); r then walks away and loses
		dp, err := vc.app.VerifyKeeper.GetDispute(vc.app.NewContext(true), d)
		require.NoError(t, err)
		events := uint64(max(2, len(vc.attestationByID(t, dp.AttestationId).Sends))) // one update a send: at least as many as its sends say
		res := vc.send(w.account, &verifytypes.MsgDisputeClaim{Worker: w.addr.String(), DisputeId: d, Events: events, StateRoot: junk, LogHead: junk})
		require.Zero(t, res.Code, res.Log)
	}
	d := open(big)
	claim(d)
	lateDue := vc.attestationByID(t, late).FinalizeHeight
	for round := 0; round < 8; round++ {
		vc.blocks(response - 2)
		// Before d settles, w attests again and r disputes that one, while the model trains.
		res := vc.send(w.account, vc.attestation(t, w, 1))
		if res.Code == verifytypes.ErrModelNotTraining.ABCICode() {
			w.next-- // not accepted
			break
		}
		require.Zero(t, res.Code, res.Log)
		var out verifytypes.MsgSubmitAttestationResponse
		requireMsgResponse(t, res, &out)
		d = open(out.AttestationId)
		claim(d)
	}
	vc.blocks(2)
	// The claim waited for its own dispute only (opened in its window); the later ones hold
	// only w's attestations in their window when they opened. So the claim was paid once its
	// dispute settled, the model completed, and the honest work after it finalized with what
	// was left of the target (nothing: the claim came first).
	a := vc.attestationByID(t, big)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status)
	require.Equal(t, uint64(3*vLayers), a.PaidUnits)
	require.Less(t, a.EndedHeight, lateDue+4*response, "the claim waited for one dispute, not the chain of them")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, late).Status,
		"the honest worker's attestation is not held behind the sybil-disputed claim")
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	require.Equal(t, modelstypes.MODEL_STATUS_COMPLETED, m.Status)
}

// A worker that writes its address upper-case (bech32 allows it) gains nothing: the chain keeps
// the canonical address, so a failed challenge still voids all its pending work, and an honest
// worker doing the same still answers (its step tags hash the canonical text).
func TestAttackUpperCaseWorkerAddress(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	honest, cheater := ws[1], ws[3]
	upper := func(w *trainer, n uint64) *verifytypes.MsgSubmitAttestation {
		msg := vc.attestation(t, w, n)
		msg.Worker = strings.ToUpper(msg.Worker)
		return msg
	}
	hID := vc.submitted(t, honest, upper(honest, 2))
	first := vc.submitted(t, cheater, upper(cheater, 2))
	second := vc.submitted(t, cheater, upper(cheater, 2))
	require.Equal(t, honest.addr.String(), vc.attestationByID(t, hID).Worker, "stored canonical")
	ch := vc.challenge(t, challenger, hID, 1)
	p, err := vc.prove(t, honest, ch)
	require.NoError(t, err)
	res := vc.send(honest.account, &verifytypes.MsgRespondChallenge{Worker: strings.ToUpper(honest.addr.String()), ChallengeId: ch.Id, Proof: p})
	require.Zero(t, res.Code, res.Log)

	vc.challenge(t, challenger, first, 1) // only the first: the second is voided with it
	vc.blocks(vResponse + 1)
	for _, id := range []uint64{first, second} {
		require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, id).Status, "attestation %d", id)
	}
	vc.blocks(vWindow)
	require.Zero(t, vc.shares(cheater.addr))
	require.Equal(t, int64(2*vLayers*sharesPerUnit), vc.shares(honest.addr))
}

// Governance's param change goes through Validate (a clock that could wrap is refused) and is
// announced with EventParamsUpdated, like the other modules'.
func TestVerifyUpdateParams(t *testing.T) {
	vc, _ := startVerifyChain(t, sdkmath.LegacyZeroDec())
	ctx := vc.app.NewContext(true) // a scratch context over the check state
	srv := verifykeeper.NewMsgServerImpl(vc.app.VerifyKeeper)
	p, err := vc.app.VerifyKeeper.GetParams(ctx)
	require.NoError(t, err)
	authority := vc.app.VerifyKeeper.Authority()

	bad := p
	bad.MaxStageLead = math.MaxUint64
	_, err = srv.UpdateParams(ctx, &verifytypes.MsgUpdateParams{Authority: authority, Params: bad})
	require.ErrorIs(t, err, verifytypes.ErrInvalidParams)
	_, err = srv.UpdateParams(ctx, &verifytypes.MsgUpdateParams{Authority: newAccount(0).addr.String(), Params: p})
	require.ErrorIs(t, err, verifytypes.ErrInvalidAuthority)

	p.MaxStepsPerBlock = 4
	_, err = srv.UpdateParams(ctx, &verifytypes.MsgUpdateParams{Authority: authority, Params: p})
	require.NoError(t, err)
	got, err := vc.app.VerifyKeeper.GetParams(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(4), got.MaxStepsPerBlock)
	var seen bool
	for _, e := range ctx.EventManager().Events() {
		seen = seen || e.Type == "protolearn.verify.v1.EventParamsUpdated"
	}
	require.True(t, seen, "EventParamsUpdated emitted")
}

// TestAttackInputs: a stage after the first attests only steps whose input a seated neighbour
// signed for it. Each forgery is refused when submitted, so nothing is stored or paid: no input
// receipt; one signed by a worker of another stage, by a peer no worker registered, for another
// receiver, over another payload, on another chain; one microbatch for two steps, or again
// later; and a receipt on stage 0, whose input is the dataset. The honest receipt passes.
func TestAttackInputs(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	s0, w, s2, other := ws[0], ws[1], ws[2], ws[3]
	outsider := &trainer{peer: newPeerKey(t), stage: 0}
	fresh := func() uint64 { return vc.mb.Add(1) }
	cases := []struct {
		name  string
		input func() *verifytypes.BoundaryReceipt
		err   *errorsmod.Error
		want  string
	}{
		{"no receipt", func() *verifytypes.BoundaryReceipt { return nil }, verifytypes.ErrInvalidReceipt, "no input receipt"},
		{"signed by the stage after", func() *verifytypes.BoundaryReceipt { return signInput(t, s2, w, fresh(), nil) }, verifytypes.ErrInvalidReceipt, "neither holds stage 0"},
		{"signed by a co-replica", func() *verifytypes.BoundaryReceipt { return signInput(t, other, w, fresh(), nil) }, verifytypes.ErrInvalidReceipt, "neither holds stage 0"},
		{"signed by an unregistered peer", func() *verifytypes.BoundaryReceipt { return signInput(t, outsider, w, fresh(), nil) }, verifytypes.ErrInvalidReceipt, "no registered worker's peer"},
		{"made out to another receiver", func() *verifytypes.BoundaryReceipt {
			return signInput(t, s0, w, fresh(), func(r *verifytypes.Receipt) { r.Receiver = other.peerID() })
		}, verifytypes.ErrInvalidReceipt, "signature is not"},
		{"over another payload", func() *verifytypes.BoundaryReceipt {
			return signInput(t, s0, w, fresh(), func(r *verifytypes.Receipt) { r.Digest[0] ^= 1 })
		}, verifytypes.ErrInvalidReceipt, "signature is not"},
		{"on another chain", func() *verifytypes.BoundaryReceipt {
			return signInput(t, s0, w, fresh(), func(r *verifytypes.Receipt) { r.ChainID = "another-chain" })
		}, verifytypes.ErrInvalidReceipt, "signature is not"},
		{"backward, not forward", func() *verifytypes.BoundaryReceipt {
			return signInput(t, s0, w, fresh(), func(r *verifytypes.Receipt) { r.Direction = verifytypes.Backward })
		}, verifytypes.ErrInvalidReceipt, "signature is not"},
	}
	for _, c := range cases {
		msg := vc.attestation(t, w, 1)
		w.next-- // refused: the step is still to attest
		msg.Commitments[0].Input = c.input()
		res := vc.send(w.account, msg)
		require.Equal(t, c.err.ABCICode(), res.Code, "%s: %s", c.name, res.Log)
		require.Contains(t, res.Log, c.want, c.name)
	}
	// One payload for two steps of one attestation.
	msg := vc.attestation(t, w, 2)
	w.next -= 2
	msg.Commitments[1].Input = msg.Commitments[0].Input
	res := vc.send(w.account, msg)
	require.Equal(t, verifytypes.ErrInputReused.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "both take payload")
	// The honest attestation passes; its payload cannot count again later.
	first := vc.attestation(t, w, 1)
	require.Zero(t, vc.send(w.account, first).Code)
	again := vc.attestation(t, w, 1)
	w.next--
	again.Commitments[0].Input = first.Commitments[0].Input
	res = vc.send(w.account, again)
	require.Equal(t, verifytypes.ErrInputReused.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "already counted")
	// The same microbatch id with another payload counts: a restarted stage 0 numbers its
	// microbatches from 0 again, but sends what its moved weights compute.
	restarted := signInput(t, s0, w, first.Commitments[0].Input.Microbatch, func(r *verifytypes.Receipt) { r.Digest[0] ^= 0xff })
	restarted.PayloadDigest[0] ^= 0xff // carried as signed
	again = vc.attestation(t, w, 1)
	again.Commitments[0].Input = restarted
	vc.withGrads(t, w, &again.Commitments[0])
	res = vc.send(w.account, again)
	require.Zero(t, res.Code, "the same microbatch id, a new payload: %s", res.Log)
	// Stage 0 trains on the dataset, and shows the gradients stage 1 sent back: one signed by
	// the last stage is refused.
	msg = vc.attestation(t, s0, 1)
	s0.next--
	msg.Commitments[0].Input = signInput(t, s2, s0, msg.Commitments[0].Sample.Microbatch, nil)
	res = vc.send(s0.account, msg)
	require.Equal(t, verifytypes.ErrInvalidReceipt.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "neither holds stage 1 of model 1, which signs the gradients stage 1 sent back")
	// Only the two honest attestations were stored.
	n := 0
	require.NoError(t, vc.app.VerifyKeeper.Attestations.Walk(vc.app.NewContext(true), nil, func(_ uint64, a verifytypes.Attestation) (bool, error) {
		if a.Worker == w.addr.String() {
			n++
		}
		return false, nil
	}))
	require.Equal(t, 2, n)
}

func newPeerKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	return k
}

// TestInputsFromAJailedSender: a worker's signed boundary tensors still count as its receivers'
// inputs after it loses its seat (they trained on them honestly and could not know), because it
// last attested work in the stage before, but only for clock_window blocks; a registered worker
// that never worked there counts for nothing.
func TestInputsFromAJailedSender(t *testing.T) {
	spare, challenger := newAccount(0), newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), spare, challenger)
	cheater, s2 := ws[3], ws[2]
	id := vc.submit(t, cheater, 1)
	res := vc.send(challenger, &verifytypes.MsgOpenChallenge{
		Challenger: challenger.addr.String(), AttestationId: id, Kind: verifytypes.CHALLENGE_KIND_BACKWARD,
		Step: 1, Row: 0, Col: 2, Bond: sdk.NewInt64Coin(app.BondDenom, 5_000_000),
	})
	require.Zero(t, res.Code, res.Log)
	vc.blocks(vResponse + 1) // unanswered: slashed, jailed, unseated
	_, seated, err := vc.app.ModelsKeeper.StageOf(vc.app.NewContext(true), 1, cheater.addr)
	require.NoError(t, err)
	require.False(t, seated, "the cheater lost its seat")

	msg := vc.attestation(t, s2, 1)
	msg.Commitments[0].Input = signInput(t, cheater, s2, vc.mb.Add(1), nil)
	res = vc.send(s2.account, msg)
	require.Zero(t, res.Code, "an input the jailed stage-1 worker sent: %s", res.Log)

	// Once clock_window blocks have passed since its last attestation, it vouches for nothing.
	vc.blocks(int(verifytypes.DefaultClockWindow))
	msg = vc.attestation(t, s2, 1)
	s2.next--
	msg.Commitments[0].Input = signInput(t, cheater, s2, vc.mb.Add(1), nil)
	res = vc.send(s2.account, msg)
	require.Equal(t, verifytypes.ErrInvalidReceipt.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "within clock_window blocks")

	// A worker registered with stake but never seated in the model signs nothing that counts.
	stranger := &trainer{account: spare, peer: newPeerKey(t)}
	reg := registerMsg(t, spare.addr, 2*minStake)
	reg.PeerId = stranger.peerID().String()
	require.Zero(t, vc.send(spare, reg).Code)
	msg = vc.attestation(t, s2, 1)
	s2.next--
	msg.Commitments[0].Input = signInput(t, stranger, s2, vc.mb.Add(1), nil)
	res = vc.send(s2.account, msg)
	require.Equal(t, verifytypes.ErrInvalidReceipt.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "neither holds stage 1")
}

// TestInputsFromARotatedSender: a sender that changes its peer id does not take its receivers'
// pay with it: receipts signed with its old identity still name it.
func TestInputsFromARotatedSender(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	s0, w := ws[0], ws[1]
	old := &trainer{account: s0.account, stage: s0.stage, peer: s0.peer}
	input := signInput(t, old, w, vc.mb.Add(1), nil) // sent before the change
	s0.peer = newPeerKey(t)
	res := vc.send(s0.account, &computetypes.MsgUpdateWorker{Operator: s0.addr.String(), PeerId: s0.peerID().String()})
	require.Zero(t, res.Code, res.Log)
	msg := vc.attestation(t, w, 1)
	msg.Commitments[0].Input = input
	vc.withGrads(t, w, &msg.Commitments[0])
	res = vc.send(w.account, msg)
	require.Zero(t, res.Code, "an input signed with the sender's retired identity: %s", res.Log)
}

// A worker that proves its layer on data of its own while showing a real, signed input (its X
// is not derived from the payload; its Y = X·W is consistent, so forward, backward and tie tiles
// all prove) cannot answer an input challenge: it is slashed and paid nothing. The honest worker
// of the same stage answers its input challenge (with the challenged token opened) and keeps the
// bond; an opening of another token, or none, is refused and the challenge stays open. Stage 0
// answers its input challenge with the dataset's byte at the row (a payload opening instead is
// refused).
func TestAttackInputNotDerived(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	honest, selfish := ws[1], ws[3]
	selfish.cheat = false // honest arithmetic, on inputs of its own

	hID := vc.submit(t, honest, 1)
	body := vc.payload(t) // what its neighbour really sent it
	own, err := attest.NewLayer(selfish.next, vRows, vD, vc.gen(vRows*vD, 2), vc.gen(vD*vD, 0.5), vc.gen(vRows*vD, 1))
	require.NoError(t, err)
	own.Input = body
	cm, err := attest.Commit(selfish.secret, selfish.owner(), own)
	require.NoError(t, err)
	selfish.steps[own.Step] = cm
	roots := cm.Roots()
	roots.Input = vc.input(t, selfish, body, 0)
	vc.withGrads(t, selfish, &roots)
	sID := vc.submitted(t, selfish, withSends(&verifytypes.MsgSubmitAttestation{
		Worker: selfish.addr.String(), ModelId: 1, Stage: selfish.stage, StepFrom: own.Step, StepTo: own.Step,
		WorkUnits: vLayers, TileRows: vRows, TileWidth: vT, Commitments: []verifytypes.StepCommitment{roots}, StateRoot: stateRoot(selfish, 1, own.Step), LogHead: logHead(selfish, 1, own.Step),
		EndStateRoot: stateRoot(selfish, 1, own.Step+1), EndLogHead: logHead(selfish, 1, own.Step+1),
	}))
	selfish.next++

	// Every tile of the matrix product proves for the selfish worker.
	fwd := vc.challengeKind(t, challenger, sID, verifytypes.CHALLENGE_KIND_FORWARD, 1, 2, 1)
	proof, err := vc.prove(t, selfish, fwd)
	require.NoError(t, err)
	res := vc.respond(selfish, fwd.Id, proof)
	require.Zero(t, res.Code, res.Log)
	sc := vc.challengeKind(t, challenger, sID, verifytypes.CHALLENGE_KIND_INPUT, 1, 2, 3)

	// The honest worker answers an input challenge; a wrong opening first is refused.
	hc := vc.challengeKind(t, challenger, hID, verifytypes.CHALLENGE_KIND_INPUT, 1, 2, 3)
	proof, err = vc.prove(t, honest, hc)
	require.NoError(t, err)
	other := hc
	other.Row = 1
	wrong, err := honest.steps[1].Layer.OpenInput(other) // a true opening of another token of the payload
	require.NoError(t, err)
	msg := &verifytypes.MsgRespondChallenge{Worker: honest.addr.String(), ChallengeId: hc.Id, Proof: proof, InputOpening: wrong}
	res = vc.send(honest.account, msg)
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "the challenge is of row 2")
	msg.InputOpening = nil
	res = vc.send(honest.account, msg)
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "answer it with input_opening")
	before := vc.balance(honest.addr)
	res = vc.respond(honest, hc.Id, proof)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, before+testBond.Amount.Int64(), vc.balance(honest.addr))

	// The selfish worker's X is not the payload's: no proof of the input tile exists.
	_, err = vc.prove(t, selfish, sc)
	require.Error(t, err, "an input tile of an X that does not derive from the payload")
	workerBefore, err := vc.worker(selfish.addr)
	require.NoError(t, err)
	vc.blocks(vResponse)
	after, err := vc.worker(selfish.addr)
	require.NoError(t, err)
	require.Positive(t, workerBefore.Bonded.Amount.Sub(after.Bonded.Amount).Int64(), "slashed")
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, sID).Status)
	vc.blocks(int(vWindow))
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, hID).Status)
	require.Zero(t, vc.shares(selfish.addr))
	require.Positive(t, vc.shares(honest.addr))

	// Stage 0's input is a draw of the dataset, embedded: its input challenge is answered with
	// the dataset's byte at the row (an input_opening instead is refused).
	zero := vc.submit(t, ws[0], 1)
	zc := vc.challengeKind(t, challenger, zero, verifytypes.CHALLENGE_KIND_INPUT, 1, 3, 2)
	proof, err = vc.prove(t, ws[0], zc)
	require.NoError(t, err)
	op, _ := vc.openings.Load(zc.Id)
	res = vc.send(ws[0].account, &verifytypes.MsgRespondChallenge{
		Worker: ws[0].addr.String(), ChallengeId: zc.Id, Proof: proof, InputOpening: &verifytypes.TokenOpening{},
		DatasetOpening: op.(openings).ds,
	})
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	res = vc.respond(ws[0], zc.Id, proof)
	require.Zero(t, res.Code, res.Log)
}

// Stage 0 training on text outside the dataset commitment (or on tokens other than its
// sampler's draw) proves every product tile but not the input tile: the chain takes the token
// from the committed dataset at the drawn window, and the worker's X̂ embeds another. It cannot
// even open its own tokens against the dataset; it is slashed and paid nothing.
func TestAttackStageZeroOffDataset(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	w := ws[0]
	mb, _ := w.draw()
	own := vSampled.draw(mb) // its own text: every token other than the draw's
	for i := range own {
		own[i] = (own[i] + 1 + int32(vc.rng.IntN(255))) % 256
	}
	e := vc.gen(256*vRank, 2)
	l, err := attest.NewEmbedLayer(w.next, vTables(t), mb, own, e, embeddedX(t, own, e), vc.gen(vD*vD, 0.5), vc.gen(vRows*vD, 1))
	require.NoError(t, err)
	cm, err := attest.Commit(w.secret, w.owner(), l)
	require.NoError(t, err)
	w.steps[l.Step] = cm
	roots := cm.Roots()
	roots.Input = vc.input(t, w, nil, mb) // stage 1 did send the gradient of draw mb back
	w.nameDraws(&roots)
	id := vc.submitted(t, w, withSends(&verifytypes.MsgSubmitAttestation{
		Worker: w.addr.String(), ModelId: 1, Stage: 0, StepFrom: l.Step, StepTo: l.Step,
		WorkUnits: vLayers, TileRows: vRows, TileWidth: vT, Commitments: []verifytypes.StepCommitment{roots}, StateRoot: stateRoot(w, 1, l.Step), LogHead: logHead(w, 1, l.Step),
		EndStateRoot: stateRoot(w, 1, l.Step+1), EndLogHead: logHead(w, 1, l.Step+1),
	}))
	w.next++

	fwd := vc.challengeKind(t, challenger, id, verifytypes.CHALLENGE_KIND_FORWARD, l.Step, 1, 1)
	proof, err := vc.prove(t, w, fwd)
	require.NoError(t, err)
	require.Zero(t, vc.respond(w, fwd.Id, proof).Code, "its arithmetic is consistent")

	in := vc.challengeKind(t, challenger, id, verifytypes.CHALLENGE_KIND_INPUT, l.Step, 2, 0)
	_, err = vc.prove(t, w, in)
	require.ErrorContains(t, err, "not the model's sampler")
	// Proving the tile of its own token anyway, and showing the dataset's true byte beside it.
	o, err := cm.Open(in, vTiles(0), vTables(t))
	require.NoError(t, err)
	proof, err = vc.prover.Prove(o)
	require.NoError(t, err, "the tile of its own token proves")
	truth := *cm.Layer
	truth.IDs = vSampled.draw(mb)
	ds, err := truth.OpenSample(vSampled.Sampled, int(in.Row))
	require.NoError(t, err)
	res := vc.send(w.account, &verifytypes.MsgRespondChallenge{Worker: w.addr.String(), ChallengeId: in.Id, Proof: proof, DatasetOpening: ds})
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	before, err := vc.worker(w.addr)
	require.NoError(t, err)
	vc.blocks(vResponse + 1)
	after, err := vc.worker(w.addr)
	require.NoError(t, err)
	require.Positive(t, before.Bonded.Amount.Sub(after.Bonded.Amount).Int64(), "slashed")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, id).Status)
	require.Zero(t, vc.shares(w.addr))
}

// A stage-0 worker that names another worker's pending root as its embedding root (to make the
// chain challenge that worker for free) is challenged on a tile that opens that root as its
// embedding: the input tile, which it cannot answer. It is slashed; the victim answers.
func TestAttackCopiedEmbeddingRoot(t *testing.T) {
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 3*vWindow, 2*vResponse)
	victim, attacker := ws[1], ws[0]
	vID := vc.submit(t, victim, 1)
	msg := vc.attestation(t, attacker, 1)
	msg.Commitments[0].Sample.ERoot = vc.attestationByID(t, vID).Commitments[0].XRoot
	aID := vc.submitted(t, attacker, msg)

	forAttacker := vc.challenges(t, attacker, verifytypes.CHALLENGE_STATUS_OPEN)
	require.Len(t, forAttacker, 1)
	require.Equal(t, verifytypes.CHALLENGE_KIND_INPUT, forAttacker[0].Kind, "the tile that opens an embedding root")
	proof, err := vc.prove(t, attacker, forAttacker[0]) // its own embedding's opening
	require.NoError(t, err)
	res := vc.respond(attacker, forAttacker[0].Id, proof)
	require.Equal(t, verifytypes.ErrInvalidProof.ABCICode(), res.Code, res.Log)
	for _, ch := range vc.challenges(t, victim, verifytypes.CHALLENGE_STATUS_OPEN) {
		p, err := vc.prove(t, victim, ch)
		require.NoError(t, err)
		require.Zero(t, vc.respond(victim, ch.Id, p).Code)
	}
	vc.blocks(2*vResponse + 1)
	after, err := vc.worker(attacker.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, aID).Status)
	victimAfter, err := vc.worker(victim.addr)
	require.NoError(t, err)
	require.NotEqual(t, computetypes.WORKER_STATUS_JAILED, victimAfter.Status)
}

// Stage 0 of a compressed model names a sample per step: without one, with one on a later stage,
// with one draw for two steps, with a draw it attested before, with an id that is not its own
// draw of the index it names (ground for windows it prefers, or another worker's), or a draw far
// ahead of its steps, the attestation is refused and nothing is stored.
func TestAttackSamples(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w, later := ws[0], ws[1]
	refused := func(w *trainer, msg *verifytypes.MsgSubmitAttestation, code uint32, why string) {
		t.Helper()
		res := vc.send(w.account, msg)
		require.Equal(t, code, res.Code, res.Log)
		require.Contains(t, res.Log, why)
	}
	none := vc.attestation(t, w, 1)
	none.Commitments[0].Sample = nil
	w.next--
	refused(w, none, verifytypes.ErrInvalidReceipt.ABCICode(), "no sample")

	twice := vc.attestation(t, w, 2)
	twice.Commitments[1].Sample.Microbatch = twice.Commitments[0].Sample.Microbatch
	twice.Commitments[1].Sample.Draw = twice.Commitments[0].Sample.Draw
	twice.Commitments[1].Input = twice.Commitments[0].Input
	w.next -= 2
	refused(w, twice, verifytypes.ErrInputReused.ABCICode(), "both draw microbatch")

	// The designated draw is the one whose gradient stage 1 sent back.
	elsewhere := vc.attestation(t, w, 1)
	elsewhere.Commitments[0].Sample.Microbatch = vc.mb.Add(1)
	w.next--
	refused(w, elsewhere, verifytypes.ErrInvalidReceipt.ABCICode(), "the designated layer's draw is the microbatch whose gradient came back")

	first := vc.attestation(t, w, 1)
	res := vc.send(w.account, first)
	require.Zero(t, res.Code, res.Log)
	again := vc.attestation(t, w, 1)
	again.Commitments[0].Sample.Microbatch = first.Commitments[0].Sample.Microbatch
	again.Commitments[0].Sample.Draw = first.Commitments[0].Sample.Draw
	again.Commitments[0].Input = vc.input(t, w, nil, first.Commitments[0].Sample.Microbatch)
	w.next--
	refused(w, again, verifytypes.ErrInputReused.ABCICode(), "already drawn for an earlier step of this worker")

	// Draws are the worker's own sequence (types.DrawID), not ids it picks for their windows,
	// and not far ahead of its steps.
	pick := func(id, k uint64) *verifytypes.MsgSubmitAttestation {
		msg := vc.attestation(t, w, 1)
		w.next--
		c := &msg.Commitments[0]
		c.Sample.Microbatch, c.Sample.Draw, c.Input = id, k, vc.input(t, w, nil, id)
		return msg
	}
	refused(w, pick(12345, 3), verifytypes.ErrInvalidReceipt.ABCICode(), "trains on its own draws in order")
	refused(w, pick(verifytypes.DrawID(later.addr.String(), 3), 3), verifytypes.ErrInvalidReceipt.ABCICode(), "trains on its own draws in order")
	refused(w, pick(verifytypes.DrawID(w.addr.String(), 10_000), 10_000), verifytypes.ErrInvalidReceipt.ABCICode(), "does not skip ahead through its sequence")
	short := vc.attestation(t, w, 1)
	w.next--
	short.Commitments[0].Sample.OtherDraws = []uint64{7}
	refused(w, short, verifytypes.ErrInvalidReceipt.ABCICode(), "1 other_draws for 0 other_inputs")

	misplaced := vc.attestation(t, later, 1)
	misplaced.Commitments[0].Sample = first.Commitments[0].Sample
	later.next--
	refused(later, misplaced, verifytypes.ErrInvalidReceipt.ABCICode(), "a sample is stage 0's")
}

// A flood of challenges against one worker, meant to make its prover miss a deadline, is
// priced and capped: each open challenge doubles the next one's bond (challenge_bond × 2^open:
// 5, 10, 20, … LEARN here), a bond below that is refused, the chain takes no more than it asks,
// and past max_open_challenges (8) the next is refused; an answered challenge frees a place.
func TestAttackChallengeFlood(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 3*vWindow, 4*vResponse, challenger)
	w := ws[1]
	att := vc.submit(t, w, 2)
	before := vc.balance(challenger.addr)
	open := func(bond sdk.Coin) *abci.ExecTxResult {
		return vc.send(challenger, &verifytypes.MsgOpenChallenge{
			Challenger: challenger.addr.String(), AttestationId: att, Kind: verifytypes.CHALLENGE_KIND_FORWARD,
			Step: 1, Row: 1, Col: 1, Bond: bond,
		})
	}
	var chs []verifytypes.Challenge
	for i := range verifytypes.DefaultMaxOpenChallenges {
		if i == 1 {
			res := open(testBond) // the first challenge's bond for the second
			require.Equal(t, verifytypes.ErrWrongBond.ABCICode(), res.Code, res.Log)
			require.Contains(t, res.Log, "with 1 open, posts 10000000"+app.BondDenom)
		}
		ch := vc.challenge(t, challenger, att, 1)
		require.Equal(t, testBond.Amount.MulRaw(1<<i), ch.Bond.Amount, "challenge %d", i)
		chs = append(chs, ch)
	}
	require.Equal(t, testBond.Amount.Int64()*255, before-vc.balance(challenger.addr), "5 × (2^8 − 1) LEARN posted, no more")
	res := open(maxBond)
	require.Equal(t, verifytypes.ErrTooManyChallenges.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "8 open challenges")

	p, err := vc.prove(t, w, chs[0])
	require.NoError(t, err)
	require.Zero(t, vc.respond(w, chs[0].Id, p).Code)
	ch := vc.challenge(t, challenger, att, 1)
	require.Equal(t, testBond.Amount.MulRaw(1<<7), ch.Bond.Amount, "seven open: the next posts 2^7 bonds")
}

// A worker caught once is slashed once: a failed challenge on one model voids its pending work
// in every model and cancels the challenges there (bonds back), so the bait a stolen hot key
// could lay in several models costs its operator one slash, not one a model.
func TestOneSlashPerJailEpisode(t *testing.T) {
	challenger := newAccount(0)
	secondModel := func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) {
		two := m.Models[0]
		two.Id, two.Name = 2, "second"
		m.Models = append(m.Models, two)
		m.NextModelId = 3
	}
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 4*vWindow, vResponse, secondModel, challenger)
	a := ws[0]
	on1 := vc.submit(t, a, 2)
	for _, w := range []*trainer{a, ws[1], ws[2]} {
		res := vc.send(w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 2, Stage: w.stage})
		require.Zero(t, res.Code, res.Log)
	}
	on2 := vc.submitted(t, a, vc.attestRoots(a, 2, 1, vc.layerOn(t, a, 2, 1).Roots()))
	before, err := vc.worker(a.addr)
	require.NoError(t, err)
	balance := vc.balance(challenger.addr)
	vc.challenge(t, challenger, on1, 1)
	other := vc.challenge(t, challenger, on2, 1)
	vc.blocks(int(vResponse) + 1) // neither answered: both deadlines pass
	after, err := vc.worker(a.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	slash := before.Bonded.Amount.Sub(after.Bonded.Amount)
	require.Equal(t, before.Bonded.Amount.QuoRaw(10), slash, "one slash of 10%%, not two")
	for _, id := range []uint64{on1, on2} {
		require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, id).Status)
	}
	ch, err := vc.app.VerifyKeeper.GetChallenge(vc.app.NewContext(true), other.Id)
	require.NoError(t, err)
	require.Equal(t, verifytypes.CHALLENGE_STATUS_CANCELLED, ch.Status, "the other model's challenge is cancelled, its bond returned")
	reward := slash.MulRaw(5000).QuoRaw(10000)
	require.Equal(t, balance+reward.Int64(), vc.balance(challenger.addr), "both bonds back and one reward")
}
