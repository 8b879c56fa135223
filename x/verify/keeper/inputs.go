package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"github.com/libp2p/go-libp2p/core/peer"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// ReceiptVerifyGas is charged per input receipt checked: an Ed25519 verification (the SDK
// charges 590 for one in a transaction signature) and the reads of the sender's registration
// and seat.
const ReceiptVerifyGas = 2000

// workedInStage says whether operator holds stage s of the model, or else attested work in
// stage s within the last window blocks (its last attestation was there): a worker that lost or
// left its seat since it sent a boundary tensor still vouches for it for a while, since its
// receivers trained on it honestly and could not know its fate in advance; after that window it
// vouches for nothing. An operator that never worked in stage s is no one's input.
func (k *Keeper) workedInStage(ctx context.Context, model uint64, operator sdk.AccAddress, s uint32, window int64) (bool, error) {
	held, seated, err := k.mk.StageOf(ctx, model, operator)
	if err != nil || (seated && held == s) {
		return err == nil, err
	}
	c, err := k.LastSteps.Get(ctx, collections.Join(model, operator))
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return c.Stage == s && sdk.UnwrapSDKContext(ctx).BlockHeight()-c.Height <= window, nil
}

// checkInputs checks the input receipt of every step and returns the payload digests they name.
// Stage 0 trains on the model's dataset and carries none. Every later stage must show, for each
// step, the receipt of the microbatch its designated layer took in: signed by the registered
// peer of a worker seated in the stage before, for this worker's registered peer, on this
// chain and model, over a payload never counted before for this worker and model. So no step is
// attested without a distinct boundary tensor that a neighbour put its name to.
func (k *Keeper) checkInputs(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation) ([][]byte, error) {
	if msg.Stage == 0 {
		return k.checkSamples(ctx, m, worker, msg)
	}
	for i, c := range msg.Commitments {
		if c.Sample != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: a sample is stage 0's; stage %d names its input receipt", i, msg.Stage)
		}
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	own, err := k.ck.PeerID(ctx, worker)
	if err != nil {
		return nil, err
	}
	receiver, err := peer.Decode(own)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "%s's registered peer id %q: %v", msg.Worker, own, err)
	}
	digests := make([][]byte, 0, len(msg.Commitments))
	seen := make(map[string]int, len(msg.Commitments))
	for i, c := range msg.Commitments {
		in := c.Input
		if in == nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: no input receipt: stage %d must show the receipt of the boundary tensor its step took in", i, msg.Stage)
		}
		if j, dup := seen[string(in.PayloadDigest)]; dup {
			return nil, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d] and [%d] both take payload %x (microbatch %d): one input counts for one step", j, i, in.PayloadDigest, in.Microbatch)
		}
		seen[string(in.PayloadDigest)] = i
		if used, err := k.InputsUsed.Has(ctx, collections.Join(m.Id, in.PayloadDigest)); err != nil {
			return nil, err
		} else if used {
			return nil, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d]: payload %x (microbatch %d) already counted for an earlier step on model %d", i, in.PayloadDigest, in.Microbatch, m.Id)
		}
		sdkCtx.GasMeter().ConsumeGas(ReceiptVerifyGas, "x/verify input receipt")
		sender, err := peer.Decode(in.Sender)
		if err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: sender %q is not a peer id: %v", i, in.Sender, err)
		}
		op, ok, err := k.ck.OperatorOfPeer(ctx, sender.String())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: sender %s is no registered worker's peer", i, in.Sender)
		}
		if ok, err := k.workedInStage(ctx, m.Id, op, msg.Stage-1, p.ClockWindow); err != nil {
			return nil, err
		} else if !ok {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: sender %s (%s) neither holds stage %d of model %d, the stage before, nor attested its last work there within clock_window blocks", i, in.Sender, k.addrString(op), msg.Stage-1, m.Id)
		}
		r := types.Receipt{
			ChainID: sdkCtx.ChainID(), Model: m.Id, Direction: types.Forward, ToStage: msg.Stage, Step: in.SwarmStep,
			Microbatch: in.Microbatch, Digest: [32]byte(in.PayloadDigest), Sender: sender, Receiver: receiver,
		}
		if err := types.VerifyReceipt(r, in.Signature); err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %v", i, err)
		}
		digests = append(digests, in.PayloadDigest)
	}
	return digests, nil
}

// checkSamples checks stage 0's steps: no receipt (its input is the model's dataset); on a
// compressed model each names its sample (the microbatch id whose dataset windows it drew, and
// the root of its embedding), and a microbatch id counts for one step of the worker on the model
// only: a second step of the same draw is a replay of the first's data. (Per worker, not per
// model: a model-wide pool would let one replica claim another's ids first and have its
// attestations refused. Replicas that draw the same windows each train on them.) It returns the
// samples' digests (types.SampleDigest), kept with the payload digests of later stages.
func (k *Keeper) checkSamples(ctx context.Context, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation) ([][]byte, error) {
	var digests [][]byte
	seen := make(map[uint64]int, len(msg.Commitments))
	for i, c := range msg.Commitments {
		if c.Input != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: stage 0 trains on the model's dataset; it has no input receipt", i)
		}
		if !m.Arch.Compressed() {
			if c.Sample != nil {
				return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: model %d is not compressed and has no input tile: its steps name no sample", i, m.Id)
			}
			continue
		}
		sm := c.Sample
		if sm == nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: no sample: stage 0 of a compressed model names the microbatch it drew and the root of its embedding", i)
		}
		if j, dup := seen[sm.Microbatch]; dup {
			return nil, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d] and [%d] both draw microbatch %d: one draw counts for one step", j, i, sm.Microbatch)
		}
		seen[sm.Microbatch] = i
		d := types.SampleDigest(k.addrString(worker), sm.Microbatch)
		if used, err := k.InputsUsed.Has(ctx, collections.Join(m.Id, d)); err != nil {
			return nil, err
		} else if used {
			return nil, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d]: microbatch %d was already drawn for an earlier step of this worker on model %d", i, sm.Microbatch, m.Id)
		}
		digests = append(digests, d)
	}
	return digests, nil
}
