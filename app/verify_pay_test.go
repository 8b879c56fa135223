package app_test

import (
	"crypto/sha256"
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/stretchr/testify/require"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// microbatches sets the test model's microbatches_per_step.
func microbatches(n uint32) genesisTweak {
	return func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) { m.Models[0].MicrobatchesPerStep = n }
}

// The unit of pay is the model's step of microbatches_per_step updates, each on a distinct input
// a neighbour signed. A greedy replica of stage 1 that got 4 microbatches from stage 0 (a step's
// worth, on a model of 4 per step) cannot attest one step per microbatch, pad a step with one
// payload shown twice, borrow its co-replica's receipts, or count its own again later: it is
// paid one step for its 4 microbatches, as its honest co-replica is for its own 4.
func TestAttackUnitOfPay(t *testing.T) {
	const per = 4
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, microbatches(per))
	s0, honest, greedy := ws[0], ws[1], ws[3]
	greedy.cheat = false // honest arithmetic: it only wants more steps than it made
	receipts := func(to *trainer) []*verifytypes.BoundaryReceipt {
		var rs []*verifytypes.BoundaryReceipt
		for range per {
			rs = append(rs, signInput(t, s0, to, vc.mb.Add(1), nil))
		}
		return rs
	}
	mine, theirs := receipts(greedy), receipts(honest)
	step := func(w *trainer, n uint64, inputs ...[]*verifytypes.BoundaryReceipt) *verifytypes.MsgSubmitAttestation {
		msg := vc.attestation(t, w, n)
		w.next -= n
		for i, in := range inputs {
			msg.Commitments[i].Input, msg.Commitments[i].OtherInputs = in[0], in[1:]
			vc.withGrads(t, w, &msg.Commitments[i])
		}
		return msg
	}
	refused := func(w *trainer, msg *verifytypes.MsgSubmitAttestation, code uint32, why string) {
		t.Helper()
		res := vc.send(w.account, msg)
		require.Equal(t, code, res.Code, res.Log)
		require.Contains(t, res.Log, why)
	}
	each := make([][]*verifytypes.BoundaryReceipt, per)
	for i, r := range mine {
		each[i] = []*verifytypes.BoundaryReceipt{r}
	}
	refused(greedy, step(greedy, per, each...), verifytypes.ErrInvalidReceipt.ABCICode(), "0 other_inputs: a step of model 1 is 4 microbatches")
	refused(greedy, step(greedy, 1, []*verifytypes.BoundaryReceipt{mine[0], mine[1], mine[0], mine[2]}),
		verifytypes.ErrInputReused.ABCICode(), "commitments[0].input and commitments[0].other_inputs[1] both take payload")
	refused(greedy, step(greedy, 2, mine, []*verifytypes.BoundaryReceipt{mine[3], mine[2], mine[1], mine[0]}),
		verifytypes.ErrInputReused.ABCICode(), "both take payload")
	refused(greedy, step(greedy, 1, []*verifytypes.BoundaryReceipt{mine[0], mine[1], theirs[2], mine[3]}),
		verifytypes.ErrInvalidReceipt.ABCICode(), "commitments[0].other_inputs[1]: receipt: the signature is not")

	// Each is paid one step for its 4 microbatches.
	gID := vc.submitted(t, greedy, step(greedy, 1, mine))
	greedy.next++
	hID := vc.submitted(t, honest, step(honest, 1, theirs))
	honest.next++
	refused(greedy, step(greedy, 1, []*verifytypes.BoundaryReceipt{signInput(t, s0, greedy, vc.mb.Add(1), nil), mine[1], mine[2], mine[3]}),
		verifytypes.ErrInputReused.ABCICode(), "commitments[0].other_inputs[0]: payload")
	for _, id := range []uint64{gID, hID} {
		a := vc.attestationByID(t, id)
		require.Len(t, a.InputDigests, 2*per, "every input of the step is counted: activations and gradients")
		require.Empty(t, a.Commitments[0].OtherInputs, "kept as digests, not as receipts")
		require.Empty(t, a.Commitments[0].GradInputs, "kept as digests, not as receipts")
		require.NotNil(t, a.Commitments[0].Input, "the designated input stays: an input challenge opens it")
	}

	// Stage 0 shows the gradients stage 1 sent back, 4 a step; each of their microbatches is a
	// draw of its own, counted once.
	short := vc.attestation(t, s0, 1)
	s0.next--
	short.Commitments[0].OtherInputs = short.Commitments[0].OtherInputs[:2]
	refused(s0, short, verifytypes.ErrInvalidReceipt.ABCICode(), "2 other_inputs")
	first := vc.attestation(t, s0, 1)
	require.Len(t, first.Commitments[0].OtherInputs, per-1)
	vc.submitted(t, s0, first)
	again := vc.attestation(t, s0, 1)
	s0.next--
	drawn := first.Commitments[0].OtherInputs[0].Microbatch // drawn by the first step, not designated there
	again.Commitments[0].Sample.Microbatch = drawn
	again.Commitments[0].Sample.Draw = first.Commitments[0].Sample.OtherDraws[0]
	again.Commitments[0].Input = vc.input(t, s0, nil, drawn)
	refused(s0, again, verifytypes.ErrInputReused.ABCICode(), "already drawn for an earlier step of this worker")
}

// A stage between the first and the last shows, for every microbatch of a step, the gradient
// the stage after sent back for it: a step without them, with one too few, with a gradient of
// another microbatch, one signed by the stage before (or for the forward direction), or a
// gradient shown as an activation, is refused; the last stage shows none.
func TestAttackGradInputs(t *testing.T) {
	const per = 2
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, microbatches(per))
	s0, w, s2 := ws[0], ws[1], ws[2]
	refused := func(msg *verifytypes.MsgSubmitAttestation, code uint32, why string) {
		t.Helper()
		res := vc.send(w.account, msg)
		require.Equal(t, code, res.Code, res.Log)
		require.Contains(t, res.Log, why)
	}
	next := func(edit func(c *verifytypes.StepCommitment)) *verifytypes.MsgSubmitAttestation {
		msg := vc.attestation(t, w, 1)
		w.next--
		edit(&msg.Commitments[0])
		return msg
	}
	refused(next(func(c *verifytypes.StepCommitment) { c.GradInputs = nil }), verifytypes.ErrInvalidReceipt.ABCICode(), "0 grad_inputs")
	refused(next(func(c *verifytypes.StepCommitment) { c.GradInputs = c.GradInputs[:1] }), verifytypes.ErrInvalidReceipt.ABCICode(), "1 grad_inputs")
	refused(next(func(c *verifytypes.StepCommitment) {
		c.GradInputs[1] = signInput(t, s2, w, vc.mb.Add(1), nil)
	}), verifytypes.ErrInvalidReceipt.ABCICode(), "grad_inputs[1] is the gradient of microbatch")
	refused(next(func(c *verifytypes.StepCommitment) {
		c.GradInputs[0] = signInput(t, s0, w, c.Input.Microbatch, func(r *verifytypes.Receipt) { r.Direction = verifytypes.Backward })
	}), verifytypes.ErrInvalidReceipt.ABCICode(), "neither holds stage 2 of model 1, which signs the gradients stage 2 sent back")
	refused(next(func(c *verifytypes.StepCommitment) {
		c.GradInputs[0] = signInputDigest(t, s2, w, c.Input.Microbatch, sha256.Sum256([]byte("g")), func(r *verifytypes.Receipt) { r.Direction = verifytypes.Forward })
	}), verifytypes.ErrInvalidReceipt.ABCICode(), "grad_inputs[0]: receipt: the signature is not")
	refused(next(func(c *verifytypes.StepCommitment) { c.GradInputs[0] = c.Input }), verifytypes.ErrInputReused.ABCICode(), "commitments[0].input and commitments[0].grad_inputs[0] both take payload")
	vc.submitted(t, w, vc.attestation(t, w, 1))

	last := vc.attestation(t, s2, 1)
	s2.next--
	last.Commitments[0].GradInputs = []*verifytypes.BoundaryReceipt{signInput(t, w, s2, vc.mb.Add(1), nil)}
	res := vc.send(s2.account, last)
	require.Equal(t, verifytypes.ErrInvalidReceipt.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "grad_inputs are a middle stage's")
}

// Every attestation names the root of the stage state it starts from (where a replica replaying
// its updates starts) and its replay log's head there: one without either, or one starting from the state its worker's previous
// attestation started from (the steps between trained nothing, not even the optimizer's state),
// is refused; the root is kept with the attestation.
func TestAttackStateNotMoved(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w := ws[1]
	none := vc.attestation(t, w, 1)
	w.next--
	none.StateRoot = nil
	res := vc.send(w.account, none)
	require.Equal(t, verifytypes.ErrInvalidAttestation.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "state_root is 0 bytes")
	noHead := vc.attestation(t, w, 1)
	w.next--
	noHead.LogHead = noHead.LogHead[:31]
	res = vc.send(w.account, noHead)
	require.Equal(t, verifytypes.ErrInvalidAttestation.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "log_head is 31 bytes")
	zero := vc.attestation(t, w, 1)
	w.next--
	zero.LogHead = make([]byte, 32)
	res = vc.send(w.account, zero)
	require.Equal(t, verifytypes.ErrInvalidAttestation.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "must not be all zero")

	noEnd := vc.attestation(t, w, 1)
	w.next--
	noEnd.EndLogHead = nil
	res = vc.send(w.account, noEnd)
	require.Equal(t, verifytypes.ErrInvalidAttestation.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "end_log_head 0")
	still := vc.attestation(t, w, 1)
	w.next--
	still.EndStateRoot = still.StateRoot
	res = vc.send(w.account, still)
	require.Equal(t, verifytypes.ErrStateNotMoved.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "trained nothing")

	first := vc.attestation(t, w, 2)
	id := vc.submitted(t, w, first)
	require.Equal(t, first.StateRoot, vc.attestationByID(t, id).StateRoot)
	require.Equal(t, first.LogHead, vc.attestationByID(t, id).LogHead)
	require.True(t, vc.attestationByID(t, id).FirstOnStage, "a worker's first attestation on its stage is audited from its epoch's anchor")
	frozen := vc.attestation(t, w, 2)
	w.next -= 2
	frozen.StateRoot = first.StateRoot
	res = vc.send(w.account, frozen)
	require.Equal(t, verifytypes.ErrStateNotMoved.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "previous attestation on model 1 started from")
	later := vc.submitted(t, w, vc.attestation(t, w, 2))
	require.False(t, vc.attestationByID(t, later).FirstOnStage)
}

// Counted inputs are per worker: a colluding pair of neighbours that signs a receipt for one of
// them over a payload an honest worker received (from the mempool, or as its sender), as a
// gradient or as an activation, is paid for its own traffic but burns nothing: the honest
// worker's attestation is still accepted.
func TestAttackBurnAnotherWorkersInputs(t *testing.T) {
	const per = 2
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, microbatches(per))
	s0, honest, s2, partner := ws[0], ws[1], ws[2], ws[3]
	partner.cheat = false

	victim := vc.attestation(t, honest, 1) // as it sits in the mempool
	burn := vc.attestation(t, partner, 1)
	c := &burn.Commitments[0]
	c.GradInputs[0] = signInputDigest(t, s2, partner, c.Input.Microbatch, [32]byte(victim.Commitments[0].OtherInputs[0].PayloadDigest), nil)
	vc.submitted(t, partner, burn)
	vc.submitted(t, honest, victim)

	// Stage 0's gradient receipt, burnt through the last stage's input by a stage-1 partner.
	victim = vc.attestation(t, s0, 1)
	burn = vc.attestation(t, s2, 1)
	c = &burn.Commitments[0]
	c.Input = signInputDigest(t, partner, s2, c.Input.Microbatch, [32]byte(victim.Commitments[0].Input.PayloadDigest), nil)
	vc.submitted(t, s2, burn)
	vc.submitted(t, s0, victim)
}

// The bound on stage 0's draws counts the draws a worker has counted, not its steps: a worker
// that attested 40 steps on another stage cannot move to stage 0 (x/models: one stage of a model,
// ever), so it gains no room there; an honest stage-0 trainer whose draws ran more than max_stage_lead steps'
// worth ahead (taps dropped) is refused until it resumes at its count, as a restarted trainer does
// (Attestation.draws).
func TestAttackDrawsAhead(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	s0, mover := ws[0], ws[3]
	mover.cheat = false
	for range 5 {
		vc.submit(t, mover, 8)
	}
	res := vc.send(mover.account, &modelstypes.MsgLeaveStage{Operator: mover.addr.String(), ModelId: 1})
	require.Zero(t, res.Code, res.Log)
	// It cannot move to stage 0 at all (an operator holds one stage of a model, ever), so its
	// steps elsewhere never give it room on stage 0's draws.
	res = vc.send(mover.account, &modelstypes.MsgJoinStage{Operator: mover.addr.String(), ModelId: 1, Stage: 0})
	require.Equal(t, modelstypes.ErrStageHopping.ABCICode(), res.Code, res.Log)
	p, err := vc.app.VerifyKeeper.GetParams(vc.app.NewContext(true))
	require.NoError(t, err)
	var msg *verifytypes.MsgSubmitAttestation

	id := vc.submit(t, s0, 2)
	a := vc.attestationByID(t, id)
	require.Equal(t, uint64(2), a.Draws, "one draw a step at one microbatch a step")
	require.Equal(t, uint64(2), a.NextDraw)
	s0.draws += p.MaxStageLead + 1 // taps dropped while the attester was behind
	msg = vc.attestation(t, s0, 1)
	s0.next--
	res = vc.send(s0.account, msg)
	require.Equal(t, verifytypes.ErrInvalidReceipt.ABCICode(), res.Code, res.Log)
	s0.draws = a.NextDraw // restarted: it resumes past its highest counted draw
	vc.submitted(t, s0, vc.attestation(t, s0, 1))

	// The counts and the starting state survive a genesis export (they bound the next draws).
	gs, err := vc.app.VerifyKeeper.ExportGenesis(vc.app.NewContext(true))
	require.NoError(t, err)
	var found bool
	for _, l := range gs.LastSteps {
		if l.Worker == s0.addr.String() {
			found = true
			require.Equal(t, uint64(3), l.Draws)
			require.Equal(t, uint64(3), l.NextDraw)
			require.Len(t, l.StateRoot, 32)
		}
	}
	require.True(t, found)
	require.NoError(t, gs.Validate())
}
