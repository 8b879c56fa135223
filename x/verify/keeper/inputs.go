package keeper

import (
	"context"
	"fmt"

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

// checkInputs checks the input receipts of every step and returns the digests to count (payload
// digests, and on stage 0 of a compressed model its draws: types.SampleDigest) and the worker's
// draw count after them (prev, its clock's, plus this attestation's draws). A step is the
// model's microbatches_per_step updates, and each must show a distinct input a neighbour signed:
// the designated microbatch's receipt (input) and the others' (other_inputs). After the first
// stage the receipts are of the activations the stage before sent forward; on stage 0 (whose
// input is the model's dataset) of the gradients stage 1 sent back, its word that the
// microbatches went through. A stage between the first and the last also shows, for each
// microbatch in the same order, the gradient the stage after sent back (grad_inputs): each of
// its updates took both, and a replica replaying them needs both (trainer/replay). Each receipt
// must be signed by the registered peer of a worker seated in that neighbouring stage (or that
// last worked there), for this worker's registered peer, on this chain and model, over a payload
// never counted before for this worker on the model. So no step is
// paid without microbatches_per_step distinct boundary tensors that a neighbour put its name to,
// and however a stage's replicas split the pipeline's microbatches among themselves, the stage
// is paid at most one step per microbatches_per_step of them. A one-stage model has no
// neighbour: its steps carry no receipts.
func (k *Keeper) checkInputs(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation, prev drawCount) (inputsCounted, drawCount, error) {
	var in inputsCounted
	draws := prev
	if msg.Stage == 0 {
		d, dc, err := k.checkSamples(ctx, p, m, worker, msg, prev)
		if err != nil {
			return inputsCounted{}, drawCount{}, err
		}
		in, draws = d, dc
	} else {
		for i, c := range msg.Commitments {
			if c.Sample != nil {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: a sample is stage 0's; stage %d names its input receipts", i, msg.Stage)
			}
		}
	}
	receipts, err := k.checkReceipts(ctx, p, m, worker, msg)
	if err != nil {
		return inputsCounted{}, drawCount{}, err
	}
	in.digests = append(in.digests, receipts.digests...)
	in.microbatches = append(in.microbatches, receipts.microbatches...)
	return in, draws, nil
}

// inputsCounted are the inputs an attestation counts: each digest and the microbatch it is of.
type inputsCounted struct {
	digests      [][]byte
	microbatches []uint64
}

func (c *inputsCounted) add(digest []byte, mb uint64) {
	c.digests = append(c.digests, digest)
	c.microbatches = append(c.microbatches, mb)
}

// checkReceipts checks every receipt the attestation's steps show (none on a one-stage model)
// and returns their payload digests and microbatches.
func (k *Keeper) checkReceipts(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation) (inputsCounted, error) {
	if len(m.Stages) == 1 {
		for i, c := range msg.Commitments {
			if c.Input != nil || len(c.OtherInputs) > 0 || len(c.GradInputs) > 0 {
				return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: model %d has one stage and no neighbour to sign its inputs: its steps carry no receipts", i, m.Id)
			}
		}
		return inputsCounted{}, nil
	}
	middle := msg.Stage > 0 && int(msg.Stage) < len(m.Stages)-1
	if !middle {
		for i, c := range msg.Commitments {
			if len(c.GradInputs) > 0 {
				return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: grad_inputs are a middle stage's: stage %d of model %d shows its inputs in input and other_inputs", i, msg.Stage, m.Id)
			}
		}
	}
	side := neighbour{stage: msg.Stage - 1, dir: types.Forward, what: "activations the stage before sent"}
	if msg.Stage == 0 {
		side = neighbour{stage: 1, dir: types.Backward, what: "gradients stage 1 sent back"}
	}
	r, err := k.newReceiptCheck(ctx, p, m, worker, msg)
	if err != nil {
		return inputsCounted{}, err
	}
	per := int(m.Microbatches())
	for i, c := range msg.Commitments {
		if c.Input == nil {
			return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: no input receipt: stage %d must show the receipt of the %s for its designated microbatch", i, msg.Stage, side.what)
		}
		if len(c.OtherInputs) != per-1 {
			return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %d other_inputs: a step of model %d is %d microbatches (microbatches_per_step), so each step shows %d receipts beside input",
				i, len(c.OtherInputs), m.Id, per, per-1)
		}
		inputs := append([]*types.BoundaryReceipt{c.Input}, c.OtherInputs...)
		for j, in := range inputs {
			name := fmt.Sprintf("commitments[%d].input", i)
			if j > 0 {
				name = fmt.Sprintf("commitments[%d].other_inputs[%d]", i, j-1)
			}
			if err := r.check(name, in, side); err != nil {
				return inputsCounted{}, err
			}
		}
		if !middle {
			continue
		}
		// A middle stage's updates each took a gradient back for the same microbatch.
		if len(c.GradInputs) != per {
			return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %d grad_inputs: stage %d of model %d shows the gradient stage %d sent back for each of the step's %d microbatches",
				i, len(c.GradInputs), msg.Stage, m.Id, msg.Stage+1, per)
		}
		back := neighbour{stage: msg.Stage + 1, dir: types.Backward, what: fmt.Sprintf("gradients stage %d sent back", msg.Stage+1)}
		for j, g := range c.GradInputs {
			name := fmt.Sprintf("commitments[%d].grad_inputs[%d]", i, j)
			if g != nil && g.Microbatch != inputs[j].Microbatch {
				return inputsCounted{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "%s is the gradient of microbatch %d, but the step's update %d took microbatch %d: the gradients follow input and other_inputs in order", name, g.Microbatch, j, inputs[j].Microbatch)
			}
			if err := r.check(name, g, back); err != nil {
				return inputsCounted{}, err
			}
		}
	}
	return r.in, nil
}

// neighbour is the stage whose workers sign a stage's input receipts, and in which direction.
type neighbour struct {
	stage uint32
	dir   types.Direction
	what  string // for errors
}

// receiptCheck checks the receipts of one attestation against each other, the index of counted
// inputs and their signatures, collecting their digests.
type receiptCheck struct {
	k        *Keeper
	ctx      context.Context
	p        types.Params
	m        modelstypes.Model
	stage    uint32
	worker   string // the attesting worker's canonical address
	receiver peer.ID
	seen     map[string]string // payload digest → the receipt that showed it
	in       inputsCounted
}

func (k *Keeper) newReceiptCheck(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation) (*receiptCheck, error) {
	own, err := k.ck.PeerID(ctx, worker)
	if err != nil {
		return nil, err
	}
	receiver, err := peer.Decode(own)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidReceipt, "%s's registered peer id %q: %v", msg.Worker, own, err)
	}
	return &receiptCheck{k: k, ctx: ctx, p: p, m: m, stage: msg.Stage, worker: k.addrString(worker), receiver: receiver, seen: map[string]string{}}, nil
}

// check checks receipt in (called name in errors) as one from side to this worker: a payload
// not shown before in the attestation nor counted before on the model, signed by the
// registered peer of a worker that holds side's stage (or last worked there), for this worker,
// chain, model, direction and stage.
func (r *receiptCheck) check(name string, in *types.BoundaryReceipt, side neighbour) error {
	k, ctx := r.k, r.ctx
	if in == nil {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%s is empty", name)
	}
	if other, dup := r.seen[string(in.PayloadDigest)]; dup {
		return errorsmod.Wrapf(types.ErrInputReused, "%s and %s both take payload %x (microbatch %d): one input counts for one microbatch of one step", other, name, in.PayloadDigest, in.Microbatch)
	}
	r.seen[string(in.PayloadDigest)] = name
	if used, err := k.InputsUsed.Has(ctx, collections.Join(r.m.Id, types.InputKey(r.worker, in.PayloadDigest))); err != nil {
		return err
	} else if used {
		return errorsmod.Wrapf(types.ErrInputReused, "%s: payload %x (microbatch %d) already counted for an earlier step of this worker on model %d", name, in.PayloadDigest, in.Microbatch, r.m.Id)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sdkCtx.GasMeter().ConsumeGas(ReceiptVerifyGas, "x/verify input receipt")
	sender, err := peer.Decode(in.Sender)
	if err != nil {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%s: sender %q is not a peer id: %v", name, in.Sender, err)
	}
	op, ok, err := k.ck.OperatorOfPeer(ctx, sender.String())
	if err != nil {
		return err
	}
	if !ok {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%s: sender %s is no registered worker's peer", name, in.Sender)
	}
	if ok, err := k.workedInStage(ctx, r.m.Id, op, side.stage, r.p.ClockWindow); err != nil {
		return err
	} else if !ok {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%s: sender %s (%s) neither holds stage %d of model %d, which signs the %s, nor attested its last work there within clock_window blocks",
			name, in.Sender, k.addrString(op), side.stage, r.m.Id, side.what)
	}
	rc := types.Receipt{
		ChainID: sdkCtx.ChainID(), Model: r.m.Id, Direction: side.dir, ToStage: r.stage, Step: in.SwarmStep,
		Microbatch: in.Microbatch, Digest: [32]byte(in.PayloadDigest), Seq: in.Seq, Sender: sender, Receiver: r.receiver,
	}
	if err := types.VerifyReceipt(rc, in.Signature); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%s: %v", name, err)
	}
	r.in.add(in.PayloadDigest, in.Microbatch)
	return nil
}

// checkSamples checks stage 0's draws: on a compressed model each step names its sample (the
// draw its designated layer holds, and the root of its embedding). Every draw of the step (the
// designated one, and on a model of several stages the other microbatches': the ids of its
// other_inputs, the gradients that came back for them) must be the worker's own draw of the
// index it names (types.DrawID: its windows are fixed by the seed, the worker and the index, not
// chosen), below the worker's draws counted (before and in this attestation) +
// types.MaxDrawAhead, and count for one step of the
// worker on the model only: a second step of the same draw is a replay of the first's data.
// The designated draw must be the one its input receipt names. (Per worker: the ids are the
// worker's own, and replicas that draw the same windows each train on them.) It returns the
// draws' digests (types.SampleDigest), kept with the payload digests.
func (k *Keeper) checkSamples(ctx context.Context, p types.Params, m modelstypes.Model, worker sdk.AccAddress, msg *types.MsgSubmitAttestation, prev drawCount) (inputsCounted, drawCount, error) {
	var digests inputsCounted
	seen := make(map[uint64]int, len(msg.Commitments))
	addr := k.addrString(worker)
	// The bound on draw indices: the worker's draws counted before (prev, its clock's) and in
	// this attestation, plus MaxDrawAhead of them (so after n counted draws at most
	// MaxDrawAhead(n) of its sequence were skipped, in all).
	count := prev
	counted := count.Draws
	var here uint64
	for _, c := range msg.Commitments {
		if c.Sample != nil {
			here += 1 + uint64(len(c.Sample.OtherDraws))
		}
	}
	limit := counted + here + types.MaxDrawAhead(m.Microbatches(), p.MaxStageLead, counted+here)
	for i, c := range msg.Commitments {
		if !m.Arch.Compressed() {
			if c.Sample != nil {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: model %d is not compressed and has no input tile: its steps name no sample", i, m.Id)
			}
			continue
		}
		sm := c.Sample
		if sm == nil {
			return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: no sample: stage 0 of a compressed model names the microbatch it drew and the root of its embedding", i)
		}
		type draw struct {
			name   string
			id, ix uint64
		}
		draws := []draw{{"sample", sm.Microbatch, sm.Draw}}
		if len(m.Stages) > 1 && c.Input != nil {
			if c.Input.Microbatch != sm.Microbatch {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: sample.microbatch is %d, but the input receipt is stage 1's gradient of microbatch %d: the designated layer's draw is the microbatch whose gradient came back",
					i, sm.Microbatch, c.Input.Microbatch)
			}
			if len(sm.OtherDraws) != len(c.OtherInputs) {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %d other_draws for %d other_inputs: name the draw index of each", i, len(sm.OtherDraws), len(c.OtherInputs))
			}
			for j, o := range c.OtherInputs {
				if o != nil {
					draws = append(draws, draw{fmt.Sprintf("other_inputs[%d]", j), o.Microbatch, sm.OtherDraws[j]})
				}
			}
		} else if len(sm.OtherDraws) > 0 {
			return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: other_draws without other_inputs", i)
		}
		for _, d := range draws {
			if want := types.DrawID(addr, d.ix); d.id != want {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %s is microbatch %d, but draw %d of %s is microbatch %d: a stage-0 worker trains on its own draws in order (types.DrawID), not on windows it picks",
					i, d.name, d.id, d.ix, addr, want)
			}
			if d.ix >= limit {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInvalidReceipt, "commitments[%d]: %s is draw %d, but this attestation may use draws below %d (the %d draws counted before, its own %d, and max_stage_lead × microbatches_per_step): a worker does not skip ahead through its sequence",
					i, d.name, d.ix, limit, counted, here)
			}
			if j, dup := seen[d.id]; dup {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d] and [%d] both draw microbatch %d: one draw counts for one microbatch of one step", j, i, d.id)
			}
			seen[d.id] = i
			dg := types.SampleDigest(addr, d.id)
			if used, err := k.InputsUsed.Has(ctx, collections.Join(m.Id, types.InputKey(addr, dg))); err != nil {
				return inputsCounted{}, drawCount{}, err
			} else if used {
				return inputsCounted{}, drawCount{}, errorsmod.Wrapf(types.ErrInputReused, "commitments[%d]: microbatch %d (draw %d) was already drawn for an earlier step of this worker on model %d", i, d.id, d.ix, m.Id)
			}
			digests.add(dg, d.id)
			count.Draws++
			count.Next = max(count.Next, d.ix+1)
		}
	}
	return digests, count, nil
}

// drawCount is a worker's count of stage-0 draws on a model (WorkerClock.draws) and one above
// the highest index among them (next_draw).
type drawCount struct{ Draws, Next uint64 }
