package app_test

import (
	"crypto/sha256"
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/require"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// equivocation is a report, by reporter, of a receipt w signed for to under the number of a's
// first send, over a payload other than the one a names there: what a worker that signs one
// payload and logs another hands its receiver.
func equivocation(t testing.TB, a verifytypes.Attestation, w, to *trainer, reporter sdk.AccAddress) *verifytypes.MsgReportEquivocation {
	t.Helper()
	return equivocationAt(t, a, w, to, reporter, a.Sends[0].Seq, sha256.Sum256([]byte("a payload the log does not name")))
}

// equivocationAt is equivocation with the receipt's number and payload digest given.
func equivocationAt(t testing.TB, a verifytypes.Attestation, w, to *trainer, reporter sdk.AccAddress, seq uint64, digest [32]byte) *verifytypes.MsgReportEquivocation {
	t.Helper()
	r := signInputDigest(t, w, to, 7, digest, func(r *verifytypes.Receipt) { r.Seq, r.ChainID = seq, a.ChainId })
	return &verifytypes.MsgReportEquivocation{Reporter: reporter.String(), AttestationId: a.Id, Forward: to.stage > w.stage, Receiver: to.peerID().String(), Receipt: r}
}

// A worker that signs its receiver one payload and commits another under the same send number
// (the receiver trains on garbage while the worker's log, and so every replay and dispute,
// shows honest work) is proven by its own receipt: the receiver reports it, the worker is
// slashed and jailed, its pending work voided (nothing minted), and the reporter paid the
// challenger's share. So too a receipt whose number falls between two of the attestation's
// sends (a payload signed and never logged). Each attestation is proven once.
func TestEquivocationIsSlashed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		between bool
	}{{name: "another payload under a logged number"}, {name: "a number the log never gave", between: true}} {
		t.Run(tc.name, func(t *testing.T) {
			vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
			w, receiver := ws[1], ws[0] // stage 1 sends gradients back to stage 0
			a := vc.attestationByID(t, vc.submit(t, w, 2))
			require.Greater(t, len(a.Sends), 1)
			report := equivocation(t, a, w, receiver, receiver.addr)
			if tc.between {
				require.Greater(t, a.Sends[1].Seq, a.Sends[0].Seq+1, "the sends leave numbers between them")
				report = equivocationAt(t, a, w, receiver, receiver.addr, a.Sends[0].Seq+1, [32]byte(a.Sends[0].Digest))
			}
			before := vc.balance(receiver.addr)
			res := vc.send(receiver.account, report)
			require.Zero(t, res.Code, res.Log)
			t.Logf("MsgReportEquivocation: %d gas", res.GasUsed)
			var out verifytypes.MsgReportEquivocationResponse
			requireMsgResponse(t, res, &out)
			require.True(t, out.Slashed.IsPositive())
			p, err := vc.app.VerifyKeeper.GetParams(vc.app.NewContext(true))
			require.NoError(t, err)
			reward := out.Slashed.Amount.MulRaw(int64(p.ChallengerRewardBps)).QuoRaw(verifytypes.MaxBps).Int64()
			require.Equal(t, before+reward, vc.balance(receiver.addr), "the reporter is paid the challenger's share")
			got := vc.attestationByID(t, a.Id)
			require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, got.Status)
			require.Contains(t, got.VoidReason, "equivocated")
			require.Empty(t, got.Sends, "a void attestation keeps no sends")
			active, err := vc.app.ComputeKeeper.IsActive(vc.app.NewContext(true), w.addr)
			require.NoError(t, err)
			require.False(t, active, "jailed")
			require.NotZero(t, vc.send(receiver.account, report).Code, "an attestation is proven once")
			vc.blocks(vWindow + 1)
			require.Zero(t, vc.shares(w.addr), "nothing minted")
		})
	}
}

// Reports that prove nothing are refused with an error that says why, and change nothing: the
// payload the attestation names, a number outside its sends, a receipt of another worker's, a
// signature that is not the worker's, a direction the receipt was not signed for, a stage-0
// worker "sending back", an unknown attestation.
func TestAttackEquivocationReportRefusals(t *testing.T) {
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 100, vResponse) // pending through every report
	w, receiver, other := ws[1], ws[0], ws[3]
	a := vc.attestationByID(t, vc.submit(t, w, 2))
	first := vc.attestationByID(t, vc.submit(t, receiver, 1))
	last := a.Sends[len(a.Sends)-1]
	forged := equivocation(t, a, w, receiver, receiver.addr)
	forged.Receipt.Signature[0] ^= 1
	notHis := equivocation(t, a, other, receiver, receiver.addr)
	lied := equivocation(t, a, w, receiver, receiver.addr)
	lied.Forward = true // signed for stage 0, reported as sent on to stage 2
	for name, tc := range map[string]struct {
		msg  *verifytypes.MsgReportEquivocation
		want string
	}{
		"the very payload":  {equivocationAt(t, a, w, receiver, receiver.addr, a.Sends[0].Seq, [32]byte(a.Sends[0].Digest)), "names this very payload"},
		"below its sends":   {equivocationAt(t, a, w, receiver, receiver.addr, a.Sends[0].Seq-1, sha256.Sum256([]byte("x"))), "outside attestation"},
		"above its sends":   {equivocationAt(t, a, w, receiver, receiver.addr, last.Seq+1, sha256.Sum256([]byte("x"))), "outside attestation"},
		"another's receipt": {notHis, "is not the identity"},
		"forged signature":  {forged, "signature"},
		"direction lied":    {lied, "signature"},
		"stage 0 sends back": {func() *verifytypes.MsgReportEquivocation {
			m := equivocationAt(t, first, receiver, w, receiver.addr, first.Sends[0].Seq, sha256.Sum256([]byte("x")))
			m.Forward = false
			return m
		}(), "stage 0 sends nothing back"},
		"unknown attestation": {func() *verifytypes.MsgReportEquivocation {
			m := equivocation(t, a, w, receiver, receiver.addr)
			m.AttestationId = 999
			return m
		}(), "not found"},
	} {
		res := vc.send(receiver.account, tc.msg)
		require.NotZero(t, res.Code, name)
		require.Contains(t, res.Log, tc.want, name)
		t.Logf("%s: %s", name, res.Log)
	}
	require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, vc.attestationByID(t, a.Id).Status)
	active, err := vc.app.ComputeKeeper.IsActive(vc.app.NewContext(true), w.addr)
	require.NoError(t, err)
	require.True(t, active)
}

// An attestation's sends are refused, with what to fix and nothing stored, where they cannot be
// a log's: fewer than its updates, numbers that do not grow, events that go back, digests that
// are not 32 bytes. (Whether they are the worker's log's is a dispute's to judge.)
func TestSendsRefusedWhenMalformed(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w := ws[1]
	for name, tc := range map[string]struct {
		edit func(*verifytypes.MsgSubmitAttestation)
		want string
	}{
		"none":           {func(m *verifytypes.MsgSubmitAttestation) { m.Sends = nil }, "0 sends for 2 updates"},
		"too few":        {func(m *verifytypes.MsgSubmitAttestation) { m.Sends = m.Sends[:1] }, "1 sends for 2 updates"},
		"number repeats": {func(m *verifytypes.MsgSubmitAttestation) { m.Sends[1].Seq = m.Sends[0].Seq }, "numbers strictly increase"},
		"event goes back": {func(m *verifytypes.MsgSubmitAttestation) {
			m.Sends[0].Event, m.Sends[1].Event = 1, 0
		}, "events do not decrease"},
		"short digest": {func(m *verifytypes.MsgSubmitAttestation) { m.Sends[1].Digest = m.Sends[1].Digest[:31] }, "31-byte digest"},
	} {
		msg := vc.attestation(t, w, 2)
		w.next -= 2
		tc.edit(msg)
		res := vc.send(w.account, msg)
		require.Equal(t, verifytypes.ErrInvalidSends.ABCICode(), res.Code, "%s: %s", name, res.Log)
		require.Contains(t, res.Log, tc.want, name)
	}
	vc.submit(t, w, 2) // and the same steps with their sends are taken
}

// Between two attestations that follow each other in the worker's log (the second starts at
// the first's end_log_head), the log holds no send: a receipt numbered between the first's last
// send and the second's first is of a payload the worker signed and never logged. Not so
// between attestations in the wrong order, or a number outside the gap.
func TestEquivocationBetweenAttestations(t *testing.T) {
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 100, vResponse)
	w, receiver := ws[1], ws[0]
	a := vc.attestationByID(t, vc.submit(t, w, 1))
	b := vc.attestationByID(t, vc.submit(t, w, 1))
	require.Equal(t, a.EndLogHead, b.LogHead, "b follows a in the worker's log")
	gap := (a.Sends[len(a.Sends)-1].Seq + b.Sends[0].Seq) / 2
	for name, tc := range map[string]struct {
		first, next uint64
		seq         uint64
		want        string
	}{
		"reversed":           {b.Id, a.Id, gap, "does not start where"},
		"at the next's send": {a.Id, b.Id, b.Sends[0].Seq, "is not between"},
		"alone":              {a.Id, 0, gap, "outside attestation"},
	} {
		m := equivocationAt(t, vc.attestationByID(t, tc.first), w, receiver, receiver.addr, tc.seq, sha256.Sum256([]byte("x")))
		m.NextAttestationId = tc.next
		res := vc.send(receiver.account, m)
		require.NotZero(t, res.Code, name)
		require.Contains(t, res.Log, tc.want, name)
	}
	m := equivocationAt(t, a, w, receiver, receiver.addr, gap, sha256.Sum256([]byte("a payload never logged")))
	m.NextAttestationId = b.Id
	res := vc.send(receiver.account, m)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, a.Id).Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, b.Id).Status)
}

// A worker facing a challenge could have a friend report a receipt it signed for the purpose:
// the challenge is cancelled (its bond back) and the friend would take the reporter's share,
// more than a lost challenge leaves the worker's side. While a challenge or dispute of the
// worker's is open, the report pays nobody: the slash is burned (an attacker's review).
func TestAttackSelfReportDuringAChallengePaysNobody(t *testing.T) {
	friend := newAccount(0)
	vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), 100, vResponse, nil, friend)
	w, challenger := ws[1], ws[2]
	a := vc.attestationByID(t, vc.submit(t, w, 2))
	ch := vc.challenge(t, challenger.account, a.Id, a.StepFrom)
	before, friendBefore := vc.balance(challenger.addr), vc.balance(friend.addr)
	res := vc.send(friend, equivocationAt(t, a, w, ws[0], friend.addr, a.Sends[0].Seq, sha256.Sum256([]byte("signed for the purpose"))))
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, friendBefore, vc.balance(friend.addr), "the friend is paid nothing")
	require.Equal(t, before+ch.Bond.Amount.Int64(), vc.balance(challenger.addr), "the challenger has its bond back")
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, a.Id).Status)
}

// An operator's other identity numbers its own sends: a receipt signed by the peer id the
// worker retired (or a second process under another id) is not held against the sends of an
// attestation made as its new one, where the numbers of the two streams interleave (an
// attacker's review: an honest worker moving machines was slashable).
func TestEquivocationHoldsOnlyTheAttestingIdentity(t *testing.T) {
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), 100, vResponse)
	w, receiver := ws[1], ws[0]
	old := *w // the identity it had
	pk, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	w.peer = pk
	res := vc.send(w.account, &computetypes.MsgUpdateWorker{Operator: w.addr.String(), PeerId: w.peerID().String()})
	require.Zero(t, res.Code, res.Log)
	a := vc.attestationByID(t, vc.submit(t, w, 2))
	require.Equal(t, w.peerID().String(), a.PeerId)
	res = vc.send(receiver.account, equivocationAt(t, a, &old, receiver, receiver.addr, a.Sends[0].Seq, sha256.Sum256([]byte("the old process's payload"))))
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "is not the identity")
	require.Zero(t, vc.send(receiver.account, equivocation(t, a, w, receiver, receiver.addr)).Code, "the attesting identity's is")
}

// A range that does not start where its worker's previous one ended in the log (a fold put
// between them, a restart, a dropped step, another peer id) leaves the numbers signed between
// the two bound to neither: the chain marks it (log_gap) and pays it one step less, what leaving
// a step unattested costs, so opening a gap to sign freely in it gains nothing over that. A
// range that follows the one before is paid in full, as is a worker's first on a stage; a
// receipt between two ranges with a gap proves nothing.
func TestLogGapIsPaidAStepLess(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w, receiver := ws[1], ws[0]
	first := vc.attestationByID(t, vc.submit(t, w, 2))
	require.True(t, first.FirstOnStage)
	require.False(t, first.LogGap, "a first range follows nothing")
	follows := vc.attestationByID(t, vc.submit(t, w, 2))
	require.False(t, follows.LogGap, "starts at the previous end_log_head")

	// A fold between: the range starts at a head after the previous one's end.
	msg := vc.attestation(t, w, 2)
	msg.LogHead = logHead(w, 7, msg.StepFrom)
	res := vc.send(w.account, msg)
	require.Zero(t, res.Code, res.Log)
	var out verifytypes.MsgSubmitAttestationResponse
	requireMsgResponse(t, res, &out)
	gapped := vc.attestationByID(t, out.AttestationId)
	require.True(t, gapped.LogGap)
	m := equivocationAt(t, follows, w, receiver, receiver.addr, (follows.Sends[len(follows.Sends)-1].Seq+gapped.Sends[0].Seq)/2, sha256.Sum256([]byte("signed in the gap")))
	m.NextAttestationId = gapped.Id
	res = vc.send(receiver.account, m)
	require.NotZero(t, res.Code, "a receipt in a gap proves nothing")
	require.Contains(t, res.Log, "does not start where")

	// Another identity: the log follows, the signer does not.
	pk, _, err := crypto.GenerateEd25519Key(nil)
	require.NoError(t, err)
	w.peer = pk
	res = vc.send(w.account, &computetypes.MsgUpdateWorker{Operator: w.addr.String(), PeerId: w.peerID().String()})
	require.Zero(t, res.Code, res.Log)
	other := vc.attestationByID(t, vc.submit(t, w, 2))
	require.True(t, other.LogGap, "a new peer id numbers its own sends")
	after := vc.attestationByID(t, vc.submit(t, w, 1))
	require.False(t, after.LogGap)

	vc.blocks(vWindow + 2)
	for _, tc := range []struct {
		id   uint64
		paid uint64
	}{{first.Id, 2 * vLayers}, {follows.Id, 2 * vLayers}, {gapped.Id, vLayers}, {other.Id, vLayers}, {after.Id, vLayers}} {
		a := vc.attestationByID(t, tc.id)
		require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "attestation %d", tc.id)
		require.Equal(t, tc.paid, a.PaidUnits, "attestation %d", tc.id)
	}
}

// A worker that signs freely after its attestation's last send and holds its next attestation
// back until that one is final (so that no report can name it) gains nothing: the next one
// keeps the number of the last send before it (prev_seq), and a receipt numbered between the
// two is reported against it alone (an attacker's review). A next attestation that numbers its
// first send at or below that one's is refused: honest numbers only grow.
func TestEquivocationBeforeARangeOnceTheOneBeforeIsFinal(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w, receiver := ws[1], ws[0]
	a := vc.attestationByID(t, vc.submit(t, w, 1))
	last := a.Sends[len(a.Sends)-1].Seq
	vc.blocks(vWindow + 2)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, a.Id).Status)

	msg := vc.attestation(t, w, 1)
	msg.Sends[0].Seq = last
	res := vc.send(w.account, msg)
	require.Equal(t, verifytypes.ErrInvalidSends.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "not above")
	w.next--

	b := vc.attestationByID(t, vc.submit(t, w, 1))
	require.False(t, b.LogGap)
	require.Equal(t, last, b.PrevSeq, "the last send of the attestation it follows")
	seq := (last + b.Sends[0].Seq) / 2
	require.Greater(t, seq, last)
	res = vc.send(receiver.account, equivocationAt(t, b, w, receiver, receiver.addr, seq, sha256.Sum256([]byte("signed between, the one before final"))))
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, b.Id).Status)
	worker, err := vc.worker(w.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, worker.Status)
}

// Stage 0 may attest a short range that names no sends (its updates recorded activations sent
// before it began). The number of the last send is carried over it, so the range after it is
// held to everything above the one before it (an attacker's review: ranges with no sends broke
// the link between their neighbours).
func TestEquivocationAcrossARangeWithoutSends(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w, receiver := ws[0], ws[1] // stage 0 signs activations for stage 1
	a := vc.attestationByID(t, vc.submit(t, w, 1))
	last := a.Sends[len(a.Sends)-1].Seq
	msg := vc.attestation(t, w, 1)
	msg.Sends = nil
	res := vc.send(w.account, msg)
	require.Zero(t, res.Code, res.Log)
	c := vc.attestationByID(t, vc.submit(t, w, 1))
	require.False(t, c.LogGap)
	require.Equal(t, last, c.PrevSeq, "carried over the range that names none")
	res = vc.send(receiver.account, equivocationAt(t, c, w, receiver, receiver.addr, last+1, sha256.Sum256([]byte("signed in the range that names none"))))
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, c.Id).Status)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, vc.attestationByID(t, a.Id).Status, "its pending work voided")
}

// Stage 0 may name fewer sends than updates, by the activations in flight when a range began
// (pipeline_depth), but not range after range: the clock counts the shortfall over ranges that
// follow each other (unsent) and refuses one that takes it past pipeline_depth (an attacker's
// review: a worker naming no sends in every short range bound nothing it signed). Naming them
// again pays the shortfall back.
func TestStageZeroCannotNameNoSendsForEver(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec())
	w := ws[0]
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	depth := uint64(m.Optimizer.PipelineDepth)
	if depth == 0 {
		depth = 2 * uint64(len(m.Stages))
	}
	var updates uint64
	accepted := uint64(0)
	for {
		msg := vc.attestation(t, w, 1)
		updates = uint64(len(msg.Sends)) // one send an update, as withSends names them
		msg.Sends = nil
		res := vc.send(w.account, msg)
		if res.Code != 0 {
			w.next--
			require.Equal(t, verifytypes.ErrInvalidSends.ABCICode(), res.Code, res.Log)
			require.Contains(t, res.Log, "pipeline_depth")
			break
		}
		accepted++
		require.LessOrEqual(t, accepted*updates, depth, "more unsent than pipeline_depth accepted")
	}
	require.Equal(t, depth/updates, accepted, "ranges naming no sends until pipeline_depth")
	// A range naming its sends, and more (a re-send), brings the count down: then one naming
	// none fits again.
	msg := vc.attestation(t, w, 1)
	last := msg.Sends[len(msg.Sends)-1]
	extra := sha256.Sum256([]byte("a re-send under a new number"))
	msg.Sends = append(msg.Sends, verifytypes.SentPayload{Event: last.Event, Seq: last.Seq + 1, Digest: extra[:]})
	res := vc.send(w.account, msg)
	require.Zero(t, res.Code, res.Log)
	msg = vc.attestation(t, w, 1)
	msg.Sends = nil
	res = vc.send(w.account, msg)
	require.Zero(t, res.Code, res.Log)
}
