package keeper

import (
	"bytes"
	"context"
	"fmt"

	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/peer"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// MaxSends bounds an attestation's sends (about 700 KB of them).
const MaxSends = 1 << 14

// checkSends checks an attestation's sends (MsgSubmitAttestation.sends) as far as the chain can
// without the log: 32-byte digests, numbers strictly increasing, events not decreasing, at
// least one send per update after the first stage (each update there sends a gradient back)
// and on stage 0 per update but pipeline_depth (below), at most MaxSends, and none on a model
// of one stage. Whether they are the log's own is a replay dispute's to judge
// (types.SendsMismatch).
func checkSends(m modelstypes.Model, msg *types.MsgSubmitAttestation, steps uint64) error {
	if len(m.Stages) == 1 {
		if len(msg.Sends) > 0 {
			return errorsmod.Wrapf(types.ErrInvalidSends, "model %d has one stage: its workers send nothing to sign, so an attestation names no sends", m.Id)
		}
		return nil
	}
	updates := steps * uint64(m.Microbatches())
	least, why := updates, fmt.Sprintf("every update of stage %d sends a gradient back", msg.Stage)
	if msg.Stage == 0 {
		// Stage 0 signs the activations it originates; an update records those sent since the
		// one before. Of the range's updates at most pipeline_depth took microbatches sent
		// before the range began (in flight then), so the others' sends are in it. (Over the
		// ranges that follow each other, the clock holds the same bound: unsent.)
		depth := pipelineDepth(m)
		least = updates - min(updates, depth)
		why = fmt.Sprintf("stage 0's updates record the activations they originated, all but pipeline_depth = %d of them within the range", depth)
	}
	// No bound per update: re-sends under back-pressure, re-runs and evaluation frames (a
	// neighbour's doing) add sends an honest worker cannot refuse. The bound is the list's
	// (MaxSends), and the message's size pays gas by the byte.
	if uint64(len(msg.Sends)) < least || len(msg.Sends) > MaxSends {
		return errorsmod.Wrapf(types.ErrInvalidSends, "%d sends for %d updates: want %d to %d (%s; the log's logevent.Update.Signed)",
			len(msg.Sends), updates, least, MaxSends, why)
	}
	if err := types.ValidateSends(msg.Sends); err != nil {
		return errorsmod.Wrap(types.ErrInvalidSends, err.Error())
	}
	return nil
}

// pipelineDepth is the most microbatches a model's pipeline holds in flight (its optimizer's
// pipeline_depth; twice its stages where unset).
func pipelineDepth(m modelstypes.Model) uint64 {
	if d := uint64(m.Optimizer.PipelineDepth); d != 0 {
		return d
	}
	return 2 * uint64(len(m.Stages))
}

// ReportEquivocation is MsgReportEquivocation: a receipt by the worker of pending attestation a
// whose send number lies within a's sends, for a payload they do not name under it, proves the
// worker signed one payload and logged (and attested) another. It is slashed and jailed, its
// pending work voided, and the reporter paid challenger_reward_bps of the slash (a coalition of
// the worker and a receiver still loses the rest), unless a challenge or dispute of the
// worker's was open: then the slash is burned.
func (k *Keeper) ReportEquivocation(ctx context.Context, msg *types.MsgReportEquivocation) (sdk.Coin, error) {
	reporter, err := k.parseAddr("reporter", msg.Reporter)
	if err != nil {
		return sdk.Coin{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	a, err := k.GetAttestation(ctx, msg.AttestationId)
	if err != nil {
		return sdk.Coin{}, err
	}
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotPending, "attestation %d is %s: only a pending attestation keeps its sends to compare with", a.Id, a.Status)
	}
	r := msg.Receipt
	if r == nil || len(r.PayloadDigest) != 32 || len(r.Sender) > types.MaxPeerIDLen || len(msg.Receiver) > types.MaxPeerIDLen {
		return sdk.Coin{}, errorsmod.Wrap(types.ErrNoEquivocation, "receipt: the worker's signed receipt is required, with its 32-byte payload digest")
	}
	if err := k.covered(ctx, a, msg.NextAttestationId, r); err != nil {
		return sdk.Coin{}, err
	}
	sender, err := peer.Decode(r.Sender)
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoEquivocation, "receipt sender %q: %v", r.Sender, err)
	}
	receiver, err := peer.Decode(msg.Receiver)
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoEquivocation, "receiver %q: %v", msg.Receiver, err)
	}
	// The receipt must be signed by the identity the worker attested as: a second process of
	// the operator under another peer id numbers its own sends.
	if r.Sender != a.PeerId {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoEquivocation, "peer %s is not the identity %s of attestation %d's worker %s", r.Sender, a.PeerId, a.Id, a.Worker)
	}
	dir, to := types.Backward, int64(a.Stage)-1
	if msg.Forward {
		dir, to = types.Forward, int64(a.Stage)+1
	}
	if to < 0 {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoEquivocation, "stage %d sends nothing back", a.Stage)
	}
	rc := types.Receipt{
		ChainID: a.ChainId, Model: a.ModelId, Direction: dir, ToStage: uint32(to), Step: r.SwarmStep, Microbatch: r.Microbatch,
		Digest: [32]byte(r.PayloadDigest), Seq: r.Seq, Sender: sender, Receiver: receiver,
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sdkCtx.GasMeter().ConsumeGas(ReceiptVerifyGas, "x/verify: a receipt's signature")
	if err := types.VerifyReceipt(rc, r.Signature); err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoEquivocation, "%v", err)
	}
	why := fmt.Sprintf("equivocated: signed send %d (%s microbatch %d, payload %x) for %s, which attestation %d's sends do not name", r.Seq, dir, r.Microbatch, r.PayloadDigest[:6], receiver, a.Id)
	worker, err := k.parseAddr("worker", a.Worker)
	if err != nil {
		return sdk.Coin{}, err
	}
	// A worker facing a challenge or dispute it expects to lose could otherwise have a friend
	// report a receipt it signed for the purpose, cancel them (bonds back, no reward) and take
	// the reporter's share itself: while any is open, the slash is burned.
	payee := reporter
	if open, err := k.workerChallengedOrDisputed(ctx, a.Worker); err != nil {
		return sdk.Coin{}, err
	} else if open {
		payee = nil
	}
	slashed := k.slashAndJail(sdkCtx, p, worker, why)
	reward, err := k.payFromSlash(sdkCtx, p, slashed, payee, sdk.Coin{})
	if err != nil {
		return sdk.Coin{}, err
	}
	if err := k.voidPending(sdkCtx, worker, why); err != nil {
		return sdk.Coin{}, err
	}
	k.logger.Info("equivocation proven", "attestation", a.Id, "worker", a.Worker, "reporter", msg.Reporter, "seq", r.Seq)
	return slashed, sdkCtx.EventManager().EmitTypedEvent(&types.EventEquivocation{
		AttestationId: a.Id, Worker: a.Worker, Reporter: k.addrString(reporter), Seq: r.Seq, Slashed: slashed, Reward: reward, ModelId: a.ModelId,
	})
}

// covered checks that a's sends cover send number r.Seq and name another payload there (none,
// where the number falls between two of them); or, with next (a's worker's attestation that
// starts where a's log range ends), that the number falls between a's last send and next's
// first, where the log holds none.
func (k *Keeper) covered(ctx context.Context, a types.Attestation, next uint64, r *types.BoundaryReceipt) error {
	if next == 0 {
		in, named := types.SendSpan(a, r.Seq, r.PayloadDigest)
		if !in {
			return errorsmod.Wrapf(types.ErrNoEquivocation, "send %d is outside attestation %d's sends (%s): the attestation does not cover it (name the worker's next attestation, if the number falls between the two)", r.Seq, a.Id, sendRange(a))
		}
		if named {
			return errorsmod.Wrapf(types.ErrNoEquivocation, "attestation %d names this very payload as send %d", a.Id, r.Seq)
		}
		return nil
	}
	b, err := k.GetAttestation(ctx, next)
	if err != nil {
		return err
	}
	switch {
	case b.Worker != a.Worker || b.ModelId != a.ModelId || b.Stage != a.Stage || b.PeerId != a.PeerId || b.Status != types.ATTESTATION_STATUS_PENDING:
		return errorsmod.Wrapf(types.ErrNoEquivocation, "attestation %d is not a pending attestation of attestation %d's worker, identity, model and stage", b.Id, a.Id)
	case !bytes.Equal(b.LogHead, a.EndLogHead):
		return errorsmod.Wrapf(types.ErrNoEquivocation, "attestation %d does not start where attestation %d's log range ends: the log between them is unattested", b.Id, a.Id)
	case len(a.Sends) == 0 || len(b.Sends) == 0:
		return errorsmod.Wrapf(types.ErrNoEquivocation, "attestations %d and %d must both name sends to bound the numbers between them", a.Id, b.Id)
	case !types.SendBetween(a, b, r.Seq):
		return errorsmod.Wrapf(types.ErrNoEquivocation, "send %d is not between attestation %d's last send (%d) and attestation %d's first (%d)", r.Seq, a.Id, a.Sends[len(a.Sends)-1].Seq, b.Id, b.Sends[0].Seq)
	}
	return nil
}

func sendRange(a types.Attestation) string {
	switch {
	case len(a.Sends) == 0:
		return "none"
	case a.PrevSeq > 0:
		return fmt.Sprintf("%d to %d, and above %d, the last of the attestation before it, below them", a.Sends[0].Seq, a.Sends[len(a.Sends)-1].Seq, a.PrevSeq)
	}
	return fmt.Sprintf("%d to %d", a.Sends[0].Seq, a.Sends[len(a.Sends)-1].Seq)
}
