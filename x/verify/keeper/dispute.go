package keeper

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/subspace"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// The replay dispute game (x/verify/README.md, "The dispute game"). A replica of a worker's
// stage says the worker's state after one attestation's updates is not what those updates
// make. The two narrow it down by bisection: over the events of the worker's log to one event,
// over the ops of that event's reference program to one op (whose output value the chain
// recomputes bit for bit: stageprog.Judge), or, when they agree on the whole program, over the
// worker's state after the event to one chunk (compared with the program's within
// stageprog.EndTolerance). Every move has response_window blocks; who misses one loses.

// maxDisputeEvents bounds the events a worker may say lie between two attestations: an
// attestation holds at most attestation_period steps of microbatches_per_step updates, and a few
// averages besides.
const maxDisputeEvents = 1 << 20

// OpenDispute is MsgOpenDispute.
func (k *Keeper) OpenDispute(ctx context.Context, msg *types.MsgOpenDispute) (types.Dispute, error) {
	referee, err := k.parseAddr("referee", msg.Referee)
	if err != nil {
		return types.Dispute{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return types.Dispute{}, err
	}
	a, err := k.GetAttestation(ctx, msg.AttestationId)
	if err != nil {
		return types.Dispute{}, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	if a.Status != types.ATTESTATION_STATUS_PENDING || h >= a.FinalizeHeight {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrNotPending, "attestation %d is %s (finalizes at height %d): only a pending attestation in its challenge window can be disputed", a.Id, a.Status, a.FinalizeHeight)
	}
	if a.Worker == k.addrString(referee) {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "%s cannot dispute its own attestation", msg.Referee)
	}
	if msg.ModelId != 0 && (msg.ModelId != a.ModelId || msg.Stage != a.Stage) {
		// What a hot key's scoped grant accepted must be what is disputed.
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "attestation %d is of stage %d of model %d, not stage %d of model %d as the message says", a.Id, a.Stage, a.ModelId, msg.Stage, msg.ModelId)
	}
	// Only a replica holds the log and the state to play from; anyone else would only grief.
	replica, err := k.workedInStage(ctx, a.ModelId, referee, a.Stage, p.ClockWindow)
	if err != nil {
		return types.Dispute{}, err
	}
	if !replica {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "%s holds no seat in stage %d of model %d (nor worked there in the last clock_window = %d blocks): only a replica of the stage can dispute its work", msg.Referee, a.Stage, a.ModelId, p.ClockWindow)
	}
	// Each replica may hold one open dispute on an attestation: one referee (a sybil of the
	// worker's, say) cannot keep the others out by opening first and stalling.
	if open, err := k.disputedBy(ctx, a.Id, k.addrString(referee)); err != nil {
		return types.Dispute{}, err
	} else if open {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "you already dispute attestation %d: wait for that dispute's outcome", a.Id)
	}
	if len(a.StateRoot) != 32 || len(a.LogHead) != 32 || len(a.EndStateRoot) != 32 || len(a.EndLogHead) != 32 {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "attestation %d commits no 32-byte state roots and log heads at its start and end to dispute between", a.Id)
	}
	if m, err := k.mk.GetModel(ctx, a.ModelId); err != nil {
		return types.Dispute{}, err
	} else if err := judgeable(m); err != nil {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrInvalidDispute, "model %d: %v", a.ModelId, err)
	}
	if err := msg.Bond.Validate(); err != nil {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrWrongBond, "bond: %v; a dispute posts dispute_bond %s", err, p.DisputeBond)
	}
	if msg.Bond.Denom != p.DisputeBond.Denom || msg.Bond.Amount.LT(p.DisputeBond.Amount) {
		return types.Dispute{}, errorsmod.Wrapf(types.ErrWrongBond, "bond %s: a dispute posts dispute_bond %s; bond is the most you post", msg.Bond, p.DisputeBond)
	}
	if err := k.bk.SendCoinsFromAccountToModule(ctx, referee, types.ModuleName, sdk.NewCoins(p.DisputeBond)); err != nil {
		return types.Dispute{}, errorsmod.Wrapf(err, "posting dispute bond %s", p.DisputeBond)
	}
	id, err := k.DisputeSeq.Next(ctx)
	if err != nil {
		return types.Dispute{}, err
	}
	d := types.Dispute{
		Id: id, AttestationId: a.Id, ModelId: a.ModelId, Stage: a.Stage,
		Worker: a.Worker, Referee: k.addrString(referee), Bond: p.DisputeBond,
		Phase: types.DISPUTE_PHASE_LOG, WorkerToMove: true, OpenedHeight: h, DeadlineHeight: h + p.ResponseWindow,
		Lo: types.DisputePoint{Root: a.StateRoot, LogHead: a.LogHead},
		Hi: types.DisputePoint{Root: a.EndStateRoot, LogHead: a.EndLogHead},
	}
	if err := k.storeDispute(ctx, d); err != nil {
		return types.Dispute{}, err
	}
	k.logger.Info("dispute opened", "id", id, "attestation", a.Id, "worker", a.Worker, "referee", d.Referee, "deadline", d.DeadlineHeight)
	return d, sdkCtx.EventManager().EmitTypedEvent(&types.EventDisputeOpened{
		DisputeId: id, AttestationId: a.Id, Worker: a.Worker, Referee: d.Referee, Bond: d.Bond, DeadlineHeight: d.DeadlineHeight, ModelId: a.ModelId,
	})
}

// storeDispute writes d and, while it is open, its indexes (also used by InitGenesis).
func (k *Keeper) storeDispute(ctx context.Context, d types.Dispute) error {
	if err := k.Disputes.Set(ctx, d.Id, d); err != nil {
		return err
	}
	if !d.Open() {
		return nil
	}
	if err := k.DisputesByAttestation.Set(ctx, collections.Join(d.AttestationId, d.Id)); err != nil {
		return err
	}
	if err := k.DisputesByWorker.Set(ctx, collections.Join3(d.Worker, d.ModelId, d.Id)); err != nil {
		return err
	}
	return k.DisputeDeadlines.Set(ctx, collections.Join(d.DeadlineHeight, d.Id))
}

// unindexDispute removes a dispute that closes from the indexes of open ones.
func (k *Keeper) unindexDispute(ctx context.Context, d types.Dispute) error {
	if err := k.DisputesByAttestation.Remove(ctx, collections.Join(d.AttestationId, d.Id)); err != nil {
		return err
	}
	if err := k.DisputesByWorker.Remove(ctx, collections.Join3(d.Worker, d.ModelId, d.Id)); err != nil {
		return err
	}
	return k.DisputeDeadlines.Remove(ctx, collections.Join(d.DeadlineHeight, d.Id))
}

// disputedBy says whether referee has an open dispute on an attestation.
func (k *Keeper) disputedBy(ctx context.Context, attestationID uint64, referee string) (bool, error) {
	it, err := k.DisputesByAttestation.Iterate(ctx, collections.NewPrefixedPairRange[uint64, uint64](attestationID))
	if err != nil {
		return false, err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		key, err := it.Key()
		if err != nil {
			return false, err
		}
		d, err := k.Disputes.Get(ctx, key.K2())
		if err != nil {
			return false, err
		}
		if d.Referee == referee {
			return true, nil
		}
	}
	return false, nil
}

// Bounds on what a dispute's leaf may make a validator compute: the public tables it derives
// (vocab × d_model values, twice) and the layers of the program it builds. A model beyond them
// cannot be disputed on chain (its tables must then be committed; x/verify/README.md).
const (
	maxJudgedTable  = 1 << 22
	maxJudgedLayers = 64
)

// judgeable is why the chain cannot judge disputes of m (nil when it can).
func judgeable(m modelstypes.Model) error {
	a := m.Arch
	if uint64(a.Vocab)*uint64(a.DModel) > maxJudgedTable || uint64(a.DModel)*uint64(a.CompressionRank) > maxJudgedTable {
		return fmt.Errorf("its tables (vocab %d × d_model %d) are beyond the %d values a dispute's leaf may derive", a.Vocab, a.DModel, maxJudgedTable)
	}
	for i, st := range m.Stages {
		if st.Layers > maxJudgedLayers {
			return fmt.Errorf("stage %d holds %d layers, beyond the %d a dispute's program may build", i, st.Layers, maxJudgedLayers)
		}
	}
	return nil
}

// GetDispute returns dispute id.
func (k *Keeper) GetDispute(ctx context.Context, id uint64) (types.Dispute, error) {
	d, err := k.Disputes.Get(ctx, id)
	if isNotFound(err) {
		return d, errorsmod.Wrapf(types.ErrDisputeNotFound, "no dispute with id %d", id)
	}
	return d, err
}

// move loads dispute id for a move by signer, who must be the side it waits for.
func (k *Keeper) move(ctx context.Context, id uint64, signer string, worker bool) (types.Dispute, types.Params, error) {
	d, err := k.GetDispute(ctx, id)
	if err != nil {
		return d, types.Params{}, err
	}
	if !d.Open() {
		return d, types.Params{}, errorsmod.Wrapf(types.ErrDisputeClosed, "dispute %d ended at height %d: %s (%s)", d.Id, d.ClosedHeight, d.Outcome, d.Reason)
	}
	party, side := d.Referee, "referee"
	if worker {
		party, side = d.Worker, "worker"
	}
	if signer != party {
		return d, types.Params{}, errorsmod.Wrapf(types.ErrInvalidDispute, "dispute %d's %s is %s, not %s", d.Id, side, party, signer)
	}
	if d.WorkerToMove != worker {
		return d, types.Params{}, errorsmod.Wrapf(types.ErrInvalidDispute, "dispute %d (%s) waits for the other side's move until height %d", d.Id, d.Phase, d.DeadlineHeight)
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return d, p, err
	}
	// Every move from the event on builds the reference program (and some judge a value of it);
	// the bisection over the log only compares hashes.
	if d.Phase != types.DISPUTE_PHASE_LOG {
		sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(p.DisputeMoveGas, "x/verify: dispute move")
	}
	return d, p, nil
}

// turn hands the move to the other side (or the same, worker says who) with a fresh deadline
// and stores d.
func (k *Keeper) turn(ctx context.Context, p types.Params, d types.Dispute, worker bool) (types.Dispute, error) {
	if err := k.DisputeDeadlines.Remove(ctx, collections.Join(d.DeadlineHeight, d.Id)); err != nil {
		return d, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	d.WorkerToMove = worker
	d.DeadlineHeight = sdkCtx.BlockHeight() + p.ResponseWindow
	if err := k.storeDispute(ctx, d); err != nil {
		return d, err
	}
	return d, sdkCtx.EventManager().EmitTypedEvent(&types.EventDisputeMoved{
		DisputeId: d.Id, Phase: d.Phase, WorkerToMove: d.WorkerToMove, DeadlineHeight: d.DeadlineHeight, Index: d.Hi.Index,
	})
}

func hash32(b []byte, what string) (merkle.Hash, error) {
	if len(b) != 32 {
		return merkle.Hash{}, errorsmod.Wrapf(types.ErrInvalidDispute, "%s must be 32 bytes, got %d", what, len(b))
	}
	return merkle.Hash(b), nil
}

// onlyFields refuses a move that sets fields its phase does not take: a move means one thing.
func onlyFields(phase types.DisputePhase, set map[string]bool, allowed ...string) error {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for name, isSet := range set {
		if isSet && !ok[name] {
			return errorsmod.Wrapf(types.ErrInvalidDispute, "%s is not part of a move in phase %s", name, phase)
		}
	}
	return nil
}

func claimFields(m *types.MsgDisputeClaim) map[string]bool {
	return map[string]bool{
		"events": m.Events != 0, "state_root": len(m.StateRoot) > 0, "log_head": len(m.LogHead) > 0,
		"event": len(m.Event) > 0, "trace_root": len(m.TraceRoot) > 0, "output_leaf": len(m.OutputLeaf) > 0, "append_path": len(m.AppendPath) > 0,
		"tensor_leaves": len(m.TensorLeaves) > 0, "header": m.Header != nil, "chunks_root": len(m.ChunksRoot) > 0,
		"children": len(m.Children) > 0, "chunk": len(m.Chunk) > 0, "sent": len(m.Sent) > 0,
	}
}

// DisputeClaim is MsgDisputeClaim, the worker's move.
func (k *Keeper) DisputeClaim(ctx context.Context, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	signer, err := k.parseAddr("worker", msg.Worker)
	if err != nil {
		return types.Dispute{}, err
	}
	d, p, err := k.move(ctx, msg.DisputeId, k.addrString(signer), true)
	if err != nil {
		return d, err
	}
	set := claimFields(msg)
	switch d.Phase {
	case types.DISPUTE_PHASE_LOG:
		if err := onlyFields(d.Phase, set, "events", "state_root", "log_head"); err != nil {
			return d, err
		}
		return k.claimLog(ctx, p, d, msg)
	case types.DISPUTE_PHASE_EVENT:
		if err := onlyFields(d.Phase, set, "event", "trace_root"); err != nil {
			return d, err
		}
		return k.revealEvent(ctx, p, d, msg)
	case types.DISPUTE_PHASE_TRACE:
		if err := onlyFields(d.Phase, set, "trace_root"); err != nil {
			return d, err
		}
		root, err := hash32(msg.TraceRoot, "trace_root")
		if err != nil {
			return d, err
		}
		d.Pending = &types.DisputePoint{Index: (d.Lo.Index + d.Hi.Index) / 2, Root: root[:]}
		return k.turn(ctx, p, d, false)
	case types.DISPUTE_PHASE_OUTPUT:
		if err := onlyFields(d.Phase, set, "output_leaf", "append_path", "header", "chunks_root", "children", "chunk"); err != nil {
			return d, err
		}
		if d.Header == nil {
			return k.revealOutput(ctx, p, d, msg)
		}
		return k.claimTree(ctx, p, d, msg)
	case types.DISPUTE_PHASE_STATE:
		if err := onlyFields(d.Phase, set, "tensor_leaves", "header", "chunks_root", "children", "chunk", "sent"); err != nil {
			return d, err
		}
		return k.claimState(ctx, p, d, msg)
	}
	return d, errorsmod.Wrapf(types.ErrInvalidDispute, "dispute %d in phase %s takes no move of the worker", d.Id, d.Phase)
}

// claimLog is the worker's post in the bisection over its log: on the first move the number of
// events in the range, and the (state root, log head) after the middle one.
func (k *Keeper) claimLog(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	if d.Hi.Index == 0 {
		if msg.Events == 0 || msg.Events > maxDisputeEvents {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "events must be in [1, %d]: the number of events of your log between the attestations' state roots", maxDisputeEvents)
		}
		d.Hi.Index = msg.Events
		a, err := k.GetAttestation(ctx, d.AttestationId)
		if err != nil {
			return d, err
		}
		if reason := types.SendsBeyond(a, msg.Events); reason != "" {
			return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, reason)
		}
		if msg.Events == 1 {
			if len(msg.StateRoot) > 0 || len(msg.LogHead) > 0 {
				return d, errorsmod.Wrap(types.ErrInvalidDispute, "a range of one event has no middle: reveal the event next")
			}
			d.Phase = types.DISPUTE_PHASE_EVENT
			return k.turn(ctx, p, d, true)
		}
	} else if msg.Events != 0 {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "events was fixed at %d by the first move", d.Hi.Index)
	}
	root, err := hash32(msg.StateRoot, "state_root")
	if err != nil {
		return d, err
	}
	head, err := hash32(msg.LogHead, "log_head")
	if err != nil {
		return d, err
	}
	d.Pending = &types.DisputePoint{Index: (d.Lo.Index + d.Hi.Index) / 2, Root: root[:], LogHead: head[:]}
	return k.turn(ctx, p, d, false)
}

// disputedUpdate is what the moves after the reveal are judged against: the revealed update or
// average (kept in the dispute while it is open) and the reference program of an update on the
// model (of one sequence for an average: what it fixes is the state's tensors).
type disputedUpdate struct {
	u    *logevent.Update
	avg  *logevent.Average
	prog *stageprog.Program
	l    stageprog.Layout
	up   stageprog.Update
	m    modelstypes.Model
}

// storedUpdate decodes the dispute's revealed event and builds its program.
func (k *Keeper) storedUpdate(ctx context.Context, d types.Dispute) (disputedUpdate, error) {
	ev, err := logevent.Decode(d.Event)
	if err != nil {
		return disputedUpdate{}, fmt.Errorf("x/verify: dispute %d's stored event: %v", d.Id, err)
	}
	prog, l, up, m, err := k.disputeProgram(ctx, d, ev.Update)
	return disputedUpdate{u: ev.Update, avg: ev.Average, prog: prog, l: l, up: up, m: m}, err
}

// disputeProgram builds the reference program of d's event on its model: update u's, or with
// u nil an update of one sequence.
func (k *Keeper) disputeProgram(ctx context.Context, d types.Dispute, u *logevent.Update) (*stageprog.Program, stageprog.Layout, stageprog.Update, modelstypes.Model, error) {
	m, err := k.mk.GetModel(ctx, d.ModelId)
	if err != nil {
		return nil, stageprog.Layout{}, stageprog.Update{}, m, err
	}
	rows := 1
	if u != nil {
		if rows, err = eventRows(m, d.Stage, u); err != nil {
			return nil, stageprog.Layout{}, stageprog.Update{}, m, err
		}
	}
	s, c, err := types.DisputeProgram(m, d.Stage, rows)
	if err != nil {
		return nil, stageprog.Layout{}, stageprog.Update{}, m, err
	}
	prog, l, up, err := stageprog.StageUpdate(s, c)
	return prog, l, up, m, err
}

// eventRows is the number of sequences an update took in, checked against everything the
// update carries: an event that is not an update of this stage of this model is the worker's
// own proof that it did not train the model.
func eventRows(m modelstypes.Model, stage uint32, u *logevent.Update) (int, error) {
	seq := int(m.Arch.SeqLen)
	first, last := stage == 0, int(stage) == len(m.Stages)-1
	var rows int
	if first {
		if len(u.Tokens) == 0 || len(u.Tokens)%seq != 0 {
			return 0, fmt.Errorf("stage 0's update carries %d token ids, not rows of %d", len(u.Tokens), seq)
		}
		rows = len(u.Tokens) / seq
	} else {
		sh, err := payload.PeekShape(u.Input)
		if err != nil {
			return 0, fmt.Errorf("its input: %w", err)
		}
		rows = int(sh.Batch)
	}
	if rows <= 0 || rows > 1<<16 {
		return 0, fmt.Errorf("a microbatch of %d sequences", rows)
	}
	if last && len(u.Targets) != rows*seq {
		return 0, fmt.Errorf("%d targets for %d × %d tokens", len(u.Targets), rows, seq)
	}
	// Token ids are stage 0's and targets the last stage's: an update of another stage that
	// carries them names data it did not train on (and would bait a referee that checks them).
	if !first && len(u.Tokens) > 0 {
		return 0, fmt.Errorf("stage %d's update carries token ids, which are stage 0's", stage)
	}
	if !last && len(u.Targets) > 0 {
		return 0, fmt.Errorf("stage %d's update carries targets, which are the last stage's", stage)
	}
	if !last && len(u.Grad) == 0 {
		return 0, fmt.Errorf("no gradient payload from the stage after")
	}
	return rows, nil
}

// revealEvent checks the revealed event folds the agreed head into the disputed one, that what
// it took in is what the attestation's receipts name, and starts the bisection over its
// reference program's trace.
func (k *Keeper) revealEvent(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	lo, hi := [32]byte(d.Lo.LogHead), [32]byte(d.Hi.LogHead)
	switch {
	case msg.Snapshot:
		// A snapshot folds into the head without changing the state: the worker is right iff
		// its state root did not move across it.
		if len(msg.Event) > 0 || len(msg.TraceRoot) > 0 || msg.EpochStart {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "a snapshot is revealed by snapshot and snapshot_first alone")
		}
		if logevent.Next(lo, logevent.SnapshotDigest(msg.SnapshotFirst, [32]byte(d.Lo.Root))) != hi {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "a snapshot of the agreed state before update %d does not fold the head after event %d into the one after event %d", msg.SnapshotFirst, d.Lo.Index, d.Hi.Index)
		}
		a, err := k.GetAttestation(ctx, d.AttestationId)
		if err != nil {
			return d, err
		}
		if reason := types.SendsMismatch(a, d.Lo.Index, nil); reason != "" {
			return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("fold %d is a snapshot: %s", d.Lo.Index, reason))
		}
		if bytes.Equal(d.Lo.Root, d.Hi.Root) {
			return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_REFEREE_LOST, fmt.Sprintf("fold %d is a snapshot of the agreed state, which it does not change", d.Lo.Index))
		}
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("fold %d is a snapshot, yet the worker's state root moved across it", d.Lo.Index))
	case msg.EpochStart:
		if len(msg.Event) > 0 || len(msg.TraceRoot) > 0 {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "an epoch's start is revealed by epoch_start and its anchor alone")
		}
		var anchor *logevent.Anchor
		if len(msg.AnchorFrom) > 0 || len(msg.AnchorSig) > 0 {
			anchor = &logevent.Anchor{From: msg.AnchorFrom, Sig: msg.AnchorSig}
		}
		if logevent.EpochHead([32]byte(d.Hi.Root), anchor, lo) != hi {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "an epoch starting at your state root after event %d, from the head after event %d, does not make the disputed head", d.Hi.Index, d.Lo.Index)
		}
		// An attestation's steps run in one process (a restarted trainer resumes after its last
		// attested step), so its own range holds no restart: one there is the worker's invention.
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("fold %d is a restart inside an attestation's own updates", d.Lo.Index))
	}
	ev, err := logevent.Decode(msg.Event)
	if err != nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	if logevent.Next(lo, ev.Digest) != hi {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "the event does not fold the log head after event %d into the one after event %d: it is not the event of your log", d.Lo.Index, d.Hi.Index)
	}
	d.EventIndex = d.Lo.Index // the disputed event, what a settlement from here names
	if ev.Average != nil {
		return k.revealAverage(ctx, p, d, msg, ev.Average)
	}
	root, err := hash32(msg.TraceRoot, "trace_root")
	if err != nil {
		return d, err
	}
	u := ev.Update
	a, err := k.GetAttestation(ctx, d.AttestationId)
	if err != nil {
		return d, err
	}
	m, err := k.mk.GetModel(ctx, d.ModelId)
	if err != nil {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_CANCELLED, fmt.Sprintf("model %d: %v", d.ModelId, err))
	}
	if reason := eventProvenance(m, a, u); reason != "" {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d of attestation %d's range: %s", d.Lo.Index, a.Id, reason))
	}
	// What it records as signed must be what the attestation's sends name there: a worker
	// cannot log one payload and commit another to answer its receivers' receipts.
	if reason := types.SendsMismatch(a, d.Lo.Index, u.Signed()); reason != "" {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d of attestation %d's range: %s", d.Lo.Index, a.Id, reason))
	}
	if _, err := eventRows(m, d.Stage, u); err != nil {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d is not an update of stage %d: %v", d.Lo.Index, d.Stage, err))
	}
	prog, _, _, _, err := k.disputeProgram(ctx, d, u)
	if err != nil {
		// The event is an update of the stage; the model is what the chain cannot build.
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_CANCELLED, fmt.Sprintf("model %d's program: %v", d.ModelId, err))
	}
	ops := len(prog.Ops)
	empty := stageprog.EmptyRoot(ops)
	d.Event, d.EventIndex, d.Before, d.After = msg.Event, d.Lo.Index, d.Lo.Root, d.Hi.Root
	d.TraceRoot, d.Ops = root[:], uint64(ops)
	d.Phase = types.DISPUTE_PHASE_TRACE
	d.Lo = types.DisputePoint{Index: 0, Root: empty[:]}
	d.Hi = types.DisputePoint{Index: uint64(ops)}
	d.Pending = &types.DisputePoint{Index: uint64(ops), Root: root[:]}
	return k.turn(ctx, p, d, false)
}

// revealAverage takes an average the worker revealed, by its claim: the mix must be with
// parameters a replica of the stage signed (the signature names their statecommit root, which
// the referee opens the mixed-in chunk under), and the bisection goes on over the worker's state
// after it (STATE), to one chunk the chain recomputes with logevent.Mix.
func (k *Keeper) revealAverage(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim, avg *logevent.Average) (types.Dispute, error) {
	if len(msg.TraceRoot) > 0 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "an average has no trace: reveal its claim alone")
	}
	if msg.Event[0] != logevent.KindAverageClaim {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "reveal an average by its claim (logevent.EncodeAverageClaim: the parameters by their SHA-256 and root), not with the parameters themselves")
	}
	a, err := k.GetAttestation(ctx, d.AttestationId)
	if err != nil {
		return d, err
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(ReceiptVerifyGas, "x/verify: an average's signature")
	if reason, err := types.AverageProvenance(ctx, provenanceChain{k}, a, avg); err != nil {
		return d, err
	} else if reason != "" {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d of attestation %d's range is an average %s", d.Lo.Index, a.Id, reason))
	}
	if reason := types.SendsMismatch(a, d.Lo.Index, nil); reason != "" {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d of attestation %d's range is an average: %s", d.Lo.Index, a.Id, reason))
	}
	if _, _, _, _, err := k.disputeProgram(ctx, d, nil); err != nil {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_CANCELLED, fmt.Sprintf("model %d's program: %v", d.ModelId, err))
	}
	d.Event, d.EventIndex, d.Before, d.After = msg.Event, d.Lo.Index, d.Lo.Root, d.Hi.Root
	d.Phase = types.DISPUTE_PHASE_STATE
	d.Lo, d.Hi, d.Pending = types.DisputePoint{}, types.DisputePoint{}, nil
	return k.turn(ctx, p, d, true)
}

// provenanceChain is types.ProvenanceChain over the keepers.
type provenanceChain struct{ k *Keeper }

func (c provenanceChain) WorkerByPeer(ctx context.Context, p string) (string, bool, error) {
	op, ok, err := c.k.ck.OperatorOfPeer(ctx, p)
	if err != nil || !ok {
		return "", ok, err
	}
	return c.k.addrString(op), true, nil
}

func (c provenanceChain) HeldStage(ctx context.Context, model uint64, operator string) (uint32, int64, bool, error) {
	op, err := c.k.parseAddr("operator", operator)
	if err != nil {
		return 0, 0, false, err
	}
	return c.k.mk.HeldStage(ctx, model, op)
}

// eventProvenance is why update u cannot be one of attestation a's ("" when it can): the
// payloads it took in are ones a's receipts name: the activations (after stage 0; stage 0 takes
// token ids, no payload) and the gradient (every stage but the last). Its step number is the
// frames' (the pipeline's), not the attestation's count of the worker's steps, so it binds
// nothing: the receipts do.
func eventProvenance(m modelstypes.Model, a types.Attestation, u *logevent.Update) string {
	// named says whether payload b is one a's receipts name, for the update's own microbatch:
	// the receipt signs the microbatch (on stage 0 the draw the chain checked, types.DrawID),
	// which fixes the dataset's windows the update's rows are judged against (judgeData).
	named := func(b []byte) bool {
		dg, err := payload.Digest(b)
		if err != nil {
			return false
		}
		for i, x := range a.InputDigests {
			if bytes.Equal(x, dg[:]) {
				// An attestation from before the microbatches were kept binds only the payload.
				return len(a.InputMicrobatches) != len(a.InputDigests) || a.InputMicrobatches[i] == u.Microbatch
			}
		}
		return false
	}
	last := int(a.Stage) == len(m.Stages)-1
	switch {
	case a.Stage == 0 && len(u.Input) > 0:
		return "stage 0 takes token ids, yet the update carries an activations payload"
	case a.Stage > 0 && !named(u.Input):
		return fmt.Sprintf("its input is no payload the attestation's receipts name for its microbatch %d", u.Microbatch)
	case !last && !named(u.Grad):
		return fmt.Sprintf("the gradient it took is no payload the attestation's receipts name for its microbatch %d", u.Microbatch)
	case last && len(u.Grad) > 0:
		return "the last stage takes targets, yet the update carries a gradient payload"
	// What it sent back is judged against the digest the update names: a stage after the first
	// sends a gradient back for every update, stage 0 none.
	case a.Stage > 0 && u.Sent == ([32]byte{}):
		return "it names no gradient sent back, which every update of a stage after the first sends"
	case a.Stage == 0 && u.Sent != ([32]byte{}):
		return "stage 0 sends no gradient back, yet the update names one"
	}
	return ""
}

// revealOutput takes the worker's leaf of the disputed op's output: appended to the agreed
// prefix root it must make the disputed one, and it must be the header of that op's output with
// the root of its chunk tree, which is then bisected.
func (k *Keeper) revealOutput(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	du, err := k.storedUpdate(ctx, d)
	if err != nil {
		return d, err
	}
	prog := du.prog
	leaf, err := hash32(msg.OutputLeaf, "output_leaf")
	if err != nil {
		return d, err
	}
	path, err := hashesOf(msg.AppendPath, "append_path")
	if err != nil {
		return d, err
	}
	op := int(d.Lo.Index)
	if !(stageprog.Append{K: op, Leaf: leaf, Path: path}).Appended(merkle.Hash(d.Lo.Root), merkle.Hash(d.Hi.Root), op, len(prog.Ops)) {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "output_leaf and append_path do not make your root over %d ops from the agreed root over %d", op+1, op)
	}
	if msg.Header == nil {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "show header and chunks_root of op %d's output", op)
	}
	cr, err := hash32(msg.ChunksRoot, "chunks_root")
	if err != nil {
		return d, err
	}
	h := msg.Header.Header()
	if statecommit.TensorLeaf(h, cr) != leaf {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "header and chunks_root are not output_leaf")
	}
	if want := stageprog.OutputHeader(op, prog.Dims(len(prog.InputDims)+op)); !sameHeader(h, want) {
		// The worker's own trace holds, at op k, something that is not op k's output.
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("op %d of event %d's trace is committed as %s %v of %d bytes, not the op's output", op, d.EventIndex, h.Path, h.Dims, h.RawLen))
	}
	return k.startTree(ctx, p, d, msg.Header, cr)
}

func sameHeader(a, b statecommit.Header) bool {
	if a.Path != b.Path || a.DType != b.DType || a.RawLen != b.RawLen || len(a.Dims) != len(b.Dims) {
		return false
	}
	for i := range a.Dims {
		if a.Dims[i] != b.Dims[i] {
			return false
		}
	}
	return true
}

// startTree starts the bisection of a tensor's chunk tree at its root: the worker shows the
// children of each node (none for a node promoted unchanged), the referee picks one.
func (k *Keeper) startTree(ctx context.Context, p types.Params, d types.Dispute, h *types.TensorHeader, chunksRoot merkle.Hash) (types.Dispute, error) {
	d.Header = h
	d.Hi = types.DisputePoint{Index: 0, Root: chunksRoot[:]}
	d.Level = topLevel(chunks(h.RawLen))
	d = descendCarried(d, h.RawLen)
	return k.turn(ctx, p, d, true)
}

// claimTree is the worker's move in the bisection of a chunk tree: a node's children, or at the
// bottom the chunk's bytes.
func (k *Keeper) claimTree(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	if d.Level > 0 {
		if len(msg.Children) != 2 {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "show the two children of node %d at level %d of the chunk tree", d.Hi.Index, d.Level)
		}
		ch, err := hashesOf(msg.Children, "children")
		if err != nil {
			return d, err
		}
		if merkle.Node(ch[0], ch[1]) != merkle.Hash(d.Hi.Root) {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "the children do not hash to the node")
		}
		d.Children = msg.Children
		return k.turn(ctx, p, d, false)
	}
	h := d.Header.Header()
	n := chunks(h.RawLen)
	want := uint64(statecommit.ChunkBytes)
	if d.Hi.Index == n-1 {
		want = h.RawLen - d.Hi.Index*statecommit.ChunkBytes
	}
	if uint64(len(msg.Chunk)) != want || merkle.Leaf(msg.Chunk) != merkle.Hash(d.Hi.Root) {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "chunk must be the %d bytes of chunk %d", want, d.Hi.Index)
	}
	d.Chunk = msg.Chunk
	if d.Phase == types.DISPUTE_PHASE_OUTPUT {
		d.Phase = types.DISPUTE_PHASE_LEAF
	} else {
		d.Phase = types.DISPUTE_PHASE_CHUNK
	}
	return k.turn(ctx, p, d, false)
}

// claimState is the worker's move in the bisection over its state after the event: its
// tensors' leaves, then the picked tensor's header and chunk tree root, then the children of
// each node the referee picks, then the chunk's bytes.
func (k *Keeper) claimState(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	du, err := k.storedUpdate(ctx, d)
	if err != nil {
		return d, err
	}
	prog, up := du.prog, du.up
	switch {
	case len(d.TensorLeaves) == 0:
		if len(msg.TensorLeaves) == 0 {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "show tensor_leaves, the leaves of your state after the event")
		}
		leaves, err := hashesOf(msg.TensorLeaves, "tensor_leaves")
		if err != nil {
			return d, err
		}
		if want := types.StateTensors(up); len(leaves) != want {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "%d tensor leaves; a trained state of stage %d holds %d", len(leaves), d.Stage, want)
		}
		if merkle.Root(leaves) != merkle.Hash(d.After) {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "the tensor leaves do not fold to your state root after the event")
		}
		d.TensorLeaves = msg.TensorLeaves
		return k.turn(ctx, p, d, false)
	case d.Tensor == uint64(len(d.TensorLeaves)) && d.Header == nil:
		return k.claimSent(ctx, p, d, du, msg)
	case len(msg.Sent) > 0:
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "sent answers the referee's pick of the gradient sent back, which it did not pick")
	case d.Header == nil:
		if msg.Header == nil {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "show header and chunks_root of tensor %d", d.Tensor)
		}
		cr, err := hash32(msg.ChunksRoot, "chunks_root")
		if err != nil {
			return d, err
		}
		h := msg.Header.Header()
		if statecommit.TensorLeaf(h, cr) != merkle.Hash(d.TensorLeaves[d.Tensor]) {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "header and chunks_root are not tensor %d's leaf", d.Tensor)
		}
		v, _ := types.StateOutput(up, int(d.Tensor))
		if reason := checkHeader(h, prog.Dims(v)); reason != "" {
			return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("tensor %d of the state after event %d: %s", d.Tensor, d.EventIndex, reason))
		}
		return k.startTree(ctx, p, d, msg.Header, cr)
	default:
		return k.claimTree(ctx, p, d, msg)
	}
}

// sentChunk is how many values of the gradient sent back a chunk of its comparison holds.
const sentChunk = statecommit.ChunkBytes / 4

// claimSent is the worker's answer to the referee's pick of the gradient the update sent back:
// the payload whose digest the event names. One that is no gradient of the update's shape
// loses the worker the dispute (its receiver signed for it, so the worker sent it).
func (k *Keeper) claimSent(ctx context.Context, p types.Params, d types.Dispute, du disputedUpdate, msg *types.MsgDisputeClaim) (types.Dispute, error) {
	if len(msg.Sent) == 0 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "show sent, the gradient payload the update sent back")
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(len(msg.Sent))*evidenceGasPerByte, "x/verify: dispute evidence")
	if dg, err := payload.Digest(msg.Sent); err != nil || dg != du.u.Sent {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "sent is not the payload whose digest the update names")
	}
	if _, err := sentValues(du, msg.Sent); err != nil {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("the gradient event %d sent back: %v", d.EventIndex, err))
	}
	d.Sent = msg.Sent
	d.Phase = types.DISPUTE_PHASE_CHUNK
	return k.turn(ctx, p, d, false)
}

// sentValues decodes a gradient payload the update sent back, which must hold as many values
// as the program's gradient of its input.
func sentValues(du disputedUpdate, b []byte) ([]float32, error) {
	pl, err := payload.Decode(b, payload.Limits{})
	if err != nil {
		return nil, err
	}
	if pl.Kind != payload.Gradients {
		return nil, fmt.Errorf("a payload of kind %v, not gradients", pl.Kind)
	}
	if want := stageprog.Size(du.prog.Dims(du.up.DX)); len(pl.Data) != want {
		return nil, fmt.Errorf("%d values, the gradient of the stage's input has %d", len(pl.Data), want)
	}
	return pl.Data, nil
}

// judgeSent settles the dispute at one chunk of the gradient sent back: its values against the
// reference program's gradient of the stage's input (under the agreed trace), by EndRatio
// relative to their size.
func (k *Keeper) judgeSent(ctx context.Context, p types.Params, d types.Dispute, du disputedUpdate, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	if len(msg.State) > 0 || len(msg.Theirs) > 0 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "pick the chunk of the gradient sent back and show outputs, the reference's values there")
	}
	sent, err := sentValues(du, d.Sent)
	if err != nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	if msg.Pick >= (uint64(len(sent))+sentChunk-1)/sentChunk {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "chunk %d of a gradient of %d values (chunks of %d)", msg.Pick, len(sent), sentChunk)
	}
	first := msg.Pick * sentChunk
	if len(msg.Outputs) > 4 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "outputs open one chunk: at most 4 openings")
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(msg.Size())*evidenceGasPerByte, "x/verify: dispute evidence")
	claimed := sent[first:min(first+sentChunk, uint64(len(sent)))]
	got := make([]float64, len(claimed))
	for j, x := range claimed {
		got[j] = float64(x)
	}
	ref, err := referenceValues(msg.Outputs, d, du.prog, du.up.DX, int(first), len(claimed), "the gradient of the stage's input", "the gradient sent back")
	if err != nil {
		return d, err
	}
	ratio := stageprog.EndRatio(got, ref, nil)
	where := fmt.Sprintf("chunk %d of the gradient event %d sent back: end ratio %.3g against the tolerance %g", msg.Pick, d.EventIndex, ratio, stageprog.EndTolerance)
	if ratio > stageprog.EndTolerance || math.IsNaN(ratio) {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, where)
	}
	return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_REFEREE_LOST, where)
}

// checkHeader is why a tensor of a trained state cannot hold the program's value of dims ("" when
// it can): its dims, dtype and length.
func checkHeader(h statecommit.Header, dims []int) string {
	if len(h.Dims) != len(dims) {
		return fmt.Sprintf("dims %v, the stage's are %v", h.Dims, dims)
	}
	for i := range dims {
		if h.Dims[i] != uint64(dims[i]) {
			return fmt.Sprintf("dims %v, the stage's are %v", h.Dims, dims)
		}
	}
	// A stage's state is float32 (the engines'): one dtype, so that the referee's tree and the
	// worker's chunk up the same bytes and a cheat cannot hide behind another encoding.
	if h.DType != "Float32" {
		return fmt.Sprintf("dtype %q: a stage's state is Float32", h.DType)
	}
	if h.RawLen != 4*uint64(stageprog.Size(dims)) || h.RawLen == 0 {
		return fmt.Sprintf("%d bytes of float32 values for %d of them", h.RawLen, stageprog.Size(dims))
	}
	return ""
}

func hashesOf(bs [][]byte, what string) ([]merkle.Hash, error) {
	hs, err := types.Hashes(bs, what)
	if err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	return hs, nil
}

// chunks is how many chunks a tensor of n raw bytes has.
func chunks(n uint64) uint64 { return (n + statecommit.ChunkBytes - 1) / statecommit.ChunkBytes }

// levelSize is how many nodes level l of a tree of n leaves has (package merkle: pairs, an odd
// last node promoted).
func levelSize(n uint64, l uint32) uint64 {
	for range l {
		n = (n + 1) / 2
	}
	return n
}

// topLevel is the level of a tree of n leaves' root.
func topLevel(n uint64) uint32 {
	var l uint32
	for ; n > 1; l++ {
		n = (n + 1) / 2
	}
	return l
}

// descendCarried moves hi down through nodes promoted unchanged (a node with no right sibling
// is its left child), which need no move.
func descendCarried(d types.Dispute, rawLen uint64) types.Dispute {
	n := chunks(rawLen)
	for d.Level > 0 && 2*d.Hi.Index+1 >= levelSize(n, d.Level-1) {
		d.Hi.Index *= 2
		d.Level--
	}
	return d
}

// DisputeRespond is MsgDisputeRespond, the referee's move.
func (k *Keeper) DisputeRespond(ctx context.Context, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	signer, err := k.parseAddr("referee", msg.Referee)
	if err != nil {
		return types.Dispute{}, err
	}
	d, p, err := k.move(ctx, msg.DisputeId, k.addrString(signer), false)
	if err != nil {
		return d, err
	}
	evidence := len(msg.Outputs) > 0 || len(msg.State) > 0 || len(msg.Theirs) > 0
	if msg.Dataset != nil || msg.Row != 0 {
		if d.Phase != types.DISPUTE_PHASE_TRACE || evidence || msg.Pick != 0 || msg.Agree {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "dataset (and row) is shown alone, while the trace of a revealed update is bisected; the dispute is in phase %s", d.Phase)
		}
		return k.judgeData(ctx, p, d, msg)
	}
	switch d.Phase {
	case types.DISPUTE_PHASE_LOG, types.DISPUTE_PHASE_TRACE:
		if evidence || msg.Pick != 0 {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "phase %s takes agree only", d.Phase)
		}
		return k.answer(ctx, p, d, msg.Agree)
	case types.DISPUTE_PHASE_OUTPUT:
		if evidence || msg.Agree {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "pick a child (0 or 1)")
		}
		return k.pickChild(ctx, p, d, msg.Pick)
	case types.DISPUTE_PHASE_LEAF:
		if len(msg.Theirs) > 0 {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "theirs opens an average's mixed-in parameters; a leaf is of an update's program")
		}
		if msg.Agree {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "pick the element, and show outputs and state, the evidence of what it reads")
		}
		return k.judgeLeaf(ctx, p, d, msg)
	case types.DISPUTE_PHASE_STATE:
		if evidence || msg.Agree {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "pick a tensor, or a child (0 or 1)")
		}
		if d.Header == nil {
			if msg.Pick > uint64(len(d.TensorLeaves)) {
				return d, errorsmod.Wrapf(types.ErrInvalidDispute, "pick %d: the state has %d tensors (pick %d for the gradient sent back)", msg.Pick, len(d.TensorLeaves), len(d.TensorLeaves))
			}
			if msg.Pick == uint64(len(d.TensorLeaves)) {
				du, err := k.storedUpdate(ctx, d)
				if err != nil {
					return d, err
				}
				if du.u == nil || du.up.DX < 0 || du.u.Sent == ([32]byte{}) {
					return d, errorsmod.Wrapf(types.ErrInvalidDispute, "pick %d is the gradient sent back, and event %d sent none", msg.Pick, d.EventIndex)
				}
			}
			d.Tensor = msg.Pick
			return k.turn(ctx, p, d, true)
		}
		return k.pickChild(ctx, p, d, msg.Pick)
	case types.DISPUTE_PHASE_CHUNK:
		if msg.Agree || (msg.Pick != 0 && len(d.Sent) == 0) { // pick: the chunk of a gradient sent back
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "show outputs (the reference's values of the chunk) and state (the chunk before the event)")
		}
		return k.judgeChunk(ctx, p, d, msg)
	}
	return d, errorsmod.Wrapf(types.ErrInvalidDispute, "dispute %d in phase %s takes no move of the referee", d.Id, d.Phase)
}

// judgeData settles the dispute on the data of the revealed update of the first or the last
// stage: row msg.Row of its token ids (stage 0) or targets (the last stage) against the window
// of the model's dataset that msg.Dataset opens for that row of its microbatch. A row that is not
// the dataset's loses the worker the dispute (it trained on text of its own, or on labels of its
// own); one that is is no evidence, and the move is refused.
func (k *Keeper) judgeData(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	// The event and the model only: the data is judged without the update's program.
	ev, err := logevent.Decode(d.Event)
	if err != nil {
		return d, fmt.Errorf("x/verify: dispute %d's stored event: %v", d.Id, err)
	}
	u := ev.Update
	if u == nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "the disputed event is an average, which takes no data")
	}
	m, err := k.mk.GetModel(ctx, d.ModelId)
	if err != nil {
		return d, err
	}
	first, last := d.Stage == 0, int(d.Stage) == len(m.Stages)-1
	if !first && !last {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "stage %d takes neither token ids nor targets from the dataset: the first stage's tokens and the last stage's targets are", d.Stage)
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(msg.Size())*evidenceGasPerByte, "x/verify: dispute evidence")
	seq := int(m.Arch.SeqLen)
	ids := u.Tokens
	if !first {
		ids = u.Targets
	}
	if int(msg.Row) >= len(ids)/seq {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "row %d: the update's microbatch holds %d sequences", msg.Row, len(ids)/seq)
	}
	window, err := types.DatasetWindow(m, u.Microbatch, msg.Row, msg.Dataset)
	if err != nil {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "dataset: %v", err)
	}
	for _, c := range []struct {
		what  string
		takes bool // the stage takes these from the dataset
		want  []byte
		got   []int32
	}{{"token ids", first, window[:seq], u.Tokens}, {"targets", last, window[1:], u.Targets}} {
		if !c.takes || len(c.got) < int(msg.Row+1)*seq {
			continue
		}
		for i, id := range c.got[int(msg.Row)*seq : int(msg.Row+1)*seq] {
			if id != int32(c.want[i]) {
				return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("event %d trained on %s other than the dataset's: row %d of microbatch %d, position %d is %d, the dataset's %d",
					d.EventIndex, c.what, msg.Row, u.Microbatch, i, id, c.want[i]))
			}
		}
	}
	return d, errorsmod.Wrapf(types.ErrInvalidDispute, "row %d of microbatch %d is the dataset's window: no evidence against the update", msg.Row, u.Microbatch)
}

// pickChild descends the bisection of a chunk tree to the child the referee picks.
func (k *Keeper) pickChild(ctx context.Context, p types.Params, d types.Dispute, pick uint64) (types.Dispute, error) {
	if len(d.Children) != 2 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "no children await a pick")
	}
	if pick > 1 {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "pick %d: a child is 0 (left) or 1 (right)", pick)
	}
	d.Hi = types.DisputePoint{Index: 2*d.Hi.Index + pick, Root: d.Children[pick]}
	d.Level--
	d.Children = nil
	d = descendCarried(d, d.Header.RawLen)
	return k.turn(ctx, p, d, true)
}

// answer applies the referee's answer to the worker's pending point of a bisection.
func (k *Keeper) answer(ctx context.Context, p types.Params, d types.Dispute, agree bool) (types.Dispute, error) {
	if d.Pending == nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "no point of the worker's awaits an answer")
	}
	if agree {
		d.Lo = *d.Pending
	} else {
		d.Hi = *d.Pending
	}
	d.Pending = nil
	switch {
	case d.Phase == types.DISPUTE_PHASE_TRACE && d.Lo.Index == d.Ops:
		// The whole trace is agreed: what is left is the update's result against the worker's.
		d.Phase = types.DISPUTE_PHASE_STATE
		return k.turn(ctx, p, d, true)
	case d.Hi.Index-d.Lo.Index > 1:
		return k.turn(ctx, p, d, true)
	case d.Phase == types.DISPUTE_PHASE_LOG:
		d.Phase = types.DISPUTE_PHASE_EVENT
		return k.turn(ctx, p, d, true)
	default:
		// One op: its inputs are agreed, its output is not. The worker shows the output's leaf.
		d.Phase = types.DISPUTE_PHASE_OUTPUT
		return k.turn(ctx, p, d, true)
	}
}

// eventInputs serves the program inputs of a disputed update that the chain holds itself: the
// event's payloads (decoded once: the chain holds their bytes, whose digests the attestation's
// receipts name), its token ids and targets, and the model's public tables.
type eventInputs struct {
	l          stageprog.Layout
	u          *logevent.Update
	in, grad   *payload.Payload
	m          modelstypes.Model
	uTab, tTab []float64
}

func newEventInputs(m modelstypes.Model, l stageprog.Layout, u *logevent.Update) (*eventInputs, error) {
	e := &eventInputs{l: l, u: u, m: m}
	var err error
	if len(u.Input) > 0 {
		if e.in, err = payload.Decode(u.Input, payload.Limits{}); err != nil {
			return nil, fmt.Errorf("the event's input: %w", err)
		}
	}
	if len(u.Grad) > 0 {
		if e.grad, err = payload.Decode(u.Grad, payload.Limits{}); err != nil {
			return nil, fmt.Errorf("the event's gradient: %w", err)
		}
	}
	return e, nil
}

// value is input ref's value, and false for an input the event and the model do not hold (the
// stage's state).
func (e *eventInputs) value(ref stageprog.Ref) (float64, bool, error) {
	switch ref.Value {
	case e.l.In:
		if e.in == nil {
			return 0, true, fmt.Errorf("the event carries no input payload")
		}
		return element(e.in.Data, ref)
	case e.l.IDs:
		if e.in != nil {
			return element(e.in.IDs, ref)
		}
		return element(e.u.Tokens, ref)
	case e.l.Targets:
		return element(e.u.Targets, ref)
	case e.l.DOut:
		if e.grad == nil {
			return 0, true, fmt.Errorf("the event carries no gradient payload")
		}
		return element(e.grad.Data, ref)
	case e.l.U:
		if e.uTab == nil {
			e.uTab = rounded(subspaceBasis(e.m))
		}
		return element(e.uTab, ref)
	case e.l.T:
		if e.tTab == nil {
			e.tTab = rounded(tokenTable(e.m))
		}
		return element(e.tTab, ref)
	}
	return 0, false, nil
}

// element is the input value ref names, held in v.
func element[T int32 | float32 | float64](v []T, ref stageprog.Ref) (float64, bool, error) {
	if ref.Index < 0 || ref.Index >= len(v) {
		return 0, true, fmt.Errorf("element %d of input %d, which holds %d", ref.Index, ref.Value, len(v))
	}
	return float64(v[ref.Index]), true, nil
}

// openedState holds the values of the state chunks a referee opened, each opening verified once
// against the agreed state root: by (tensor, element).
type openedState map[[2]int]float64

// openState verifies the openings under root (a state of `tensors` tensors) and collects their
// values; dtype is each opening's own.
func openState(os []types.ChunkOpening, root merkle.Hash, tensors int) (openedState, error) {
	vals := openedState{}
	for i, co := range os {
		o, err := co.Opening()
		if err != nil {
			return nil, fmt.Errorf("state[%d]: %w", i, err)
		}
		if err := o.VerifyIn(root, uint64(tensors)); err != nil {
			return nil, fmt.Errorf("state[%d] under the state root before the event: %w", i, err)
		}
		v, err := decodeValues(o.Data, o.Header.DType)
		if err != nil {
			return nil, fmt.Errorf("state[%d]: %w", i, err)
		}
		first := int(o.Chunk * statecommit.ChunkBytes / uint64(len(o.Data)/max(len(v), 1)))
		for j, x := range v {
			vals[[2]int{int(o.Tensor), first + j}] = x
		}
	}
	return vals, nil
}

// judgeLeaf settles the dispute at one value of one op: the chain recomputes it from the
// referee's evidence and compares bits with the worker's.
func (k *Keeper) judgeLeaf(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	du, err := k.storedUpdate(ctx, d)
	if err != nil {
		return d, err
	}
	prog, l, up, m := du.prog, du.l, du.up, du.m
	ins, err := newEventInputs(m, l, du.u)
	if err != nil {
		return d, err
	}
	// Evidence costs the validators by its size beyond the move's flat gas.
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(msg.Size())*evidenceGasPerByte, "x/verify: dispute evidence")
	var outs []stageprog.TraceOpening
	for i, o := range msg.Outputs {
		op, err := o.Opening()
		if err != nil {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "outputs[%d]: %v", i, err)
		}
		outs = append(outs, op)
	}
	states, err := openState(msg.State, merkle.Hash(d.Before), types.StateTensors(up))
	if err != nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	input := func(ref stageprog.Ref) (float64, error) {
		if v, ok, err := ins.value(ref); ok {
			return v, err
		}
		t, ok := l.StateTensor(ref.Value)
		if !ok {
			return 0, fmt.Errorf("input %d is not the stage's", ref.Value)
		}
		if v, ok := states[[2]int{t, ref.Index}]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("%w: state tensor %d element %d is read and not opened under the state root before the event", stageprog.ErrNotRead, t, ref.Index)
	}
	first := d.Hi.Index * statecommit.ChunkBytes / 8
	if msg.Pick < first || msg.Pick >= first+uint64(len(d.Chunk)/8) {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "pick %d: the worker's chunk %d holds elements %d to %d", msg.Pick, d.Hi.Index, first, first+uint64(len(d.Chunk)/8)-1)
	}
	d.Element = msg.Pick
	d.Claimed = binary.LittleEndian.Uint64(d.Chunk[8*(msg.Pick-first):])
	ok, err := stageprog.Judge(stageprog.Leaf{
		Program: prog, K: int(d.Lo.Index), I: int(d.Element), Agreed: merkle.Hash(d.Lo.Root),
		Claimed: math.Float64frombits(d.Claimed),
	}, stageprog.Evidence{Outputs: outs, Input: input})
	if err != nil {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "the evidence does not settle op %d's element %d: %v", d.Lo.Index, d.Element, err)
	}
	where := fmt.Sprintf("op %d (%s) element %d of event %d's reference program", d.Lo.Index, opName(prog, int(d.Lo.Index)), d.Element, d.EventIndex)
	if ok {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_REFEREE_LOST, "the worker's value of "+where+" is the program's")
	}
	return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, "the worker's value of "+where+" is not the program's")
}

func opName(p *stageprog.Program, k int) string { return fmt.Sprintf("%T", p.Ops[k]) }

// evidenceGasPerByte is charged for the evidence of a leaf or a chunk, by its encoded size:
// every byte is hashed at least once and most are decoded.
const evidenceGasPerByte = 20

// judgeChunk settles the dispute at one chunk of the worker's state after the event: its values
// against the reference program's, relative to the update the reference made to them.
func (k *Keeper) judgeChunk(ctx context.Context, p types.Params, d types.Dispute, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	du, err := k.storedUpdate(ctx, d)
	if err != nil {
		return d, err
	}
	if du.avg != nil {
		return k.judgeAverageChunk(ctx, p, d, du, msg)
	}
	if len(d.Sent) > 0 {
		return k.judgeSent(ctx, p, d, du, msg)
	}
	if len(msg.Theirs) > 0 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "theirs opens an average's mixed-in parameters; the disputed event is an update")
	}
	prog, up := du.prog, du.up
	h := d.Header.Header()
	claimed, err := decodeValues(d.Chunk, h.DType)
	if err != nil {
		return d, err
	}
	width := uint64(len(d.Chunk) / len(claimed))
	first := int(d.Hi.Index * statecommit.ChunkBytes / width)
	v, _ := types.StateOutput(up, int(d.Tensor))
	ref, err := referenceValues(msg.Outputs, d, prog, v, first, len(claimed), fmt.Sprintf("tensor %d after the update", d.Tensor), fmt.Sprintf("tensor %d", d.Tensor))
	if err != nil {
		return d, err
	}
	if len(msg.State) > 4 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "state opens the chunk before the event: at most 4 chunks of the tensor (its dtype may differ)")
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(msg.Size())*evidenceGasPerByte, "x/verify: dispute evidence")
	old, err := openState(msg.State, merkle.Hash(d.Before), types.StateTensors(up))
	if err != nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	before := make([]float64, len(claimed))
	for j := range claimed {
		v, ok := old[[2]int{int(d.Tensor), first + j}]
		if !ok {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "element %d of tensor %d before the event is not opened", first+j, d.Tensor)
		}
		before[j] = v
	}
	ratio := stageprog.EndRatio(claimed, ref, before)
	where := fmt.Sprintf("chunk %d of tensor %d (%s) after event %d: end ratio %.3g against the tolerance %g", d.Hi.Index, d.Tensor, h.Path, d.EventIndex, ratio, stageprog.EndTolerance)
	if ratio > stageprog.EndTolerance || math.IsNaN(ratio) {
		return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, where)
	}
	return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_REFEREE_LOST, where)
}

// judgeAverageChunk settles a dispute over an average at one chunk of the worker's state after
// it: a parameter's values must be logevent.Mix of the chunk before (opened under the agreed
// state root) and the replica's (opened under the root it signed), bit for bit (the mix runs on
// the CPU in Go on every trainer); every other tensor (the step counter, the moments) must be
// the chunk before, unchanged.
func (k *Keeper) judgeAverageChunk(ctx context.Context, p types.Params, d types.Dispute, du disputedUpdate, msg *types.MsgDisputeRespond) (types.Dispute, error) {
	if len(msg.Outputs) > 0 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "an average has no trace: show state (the chunk before it) and, for a parameter, theirs (the replica's chunk)")
	}
	if len(msg.State) > 4 || len(msg.Theirs) > 4 {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, "state and theirs open one chunk each: at most 4 chunks of the tensor")
	}
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(uint64(msg.Size())*evidenceGasPerByte, "x/verify: dispute evidence")
	h := d.Header.Header()
	claimed, err := decodeValues(d.Chunk, h.DType)
	if err != nil {
		return d, err
	}
	first := int(d.Hi.Index * statecommit.ChunkBytes / uint64(len(d.Chunk)/len(claimed)))
	tensor := int(d.Tensor)
	old, err := openState(msg.State, merkle.Hash(d.Before), types.StateTensors(du.up))
	if err != nil {
		return d, errorsmod.Wrap(types.ErrInvalidDispute, err.Error())
	}
	param := tensor < len(du.up.Params)
	var theirs openedState
	if param {
		if theirs, err = openTensor(msg.Theirs, merkle.Hash(du.avg.Root), len(du.up.Params), tensor, h.Path); err != nil {
			return d, errorsmod.Wrap(types.ErrInvalidDispute, "theirs, under the root the replica signed: "+err.Error())
		}
	} else if len(msg.Theirs) > 0 {
		return d, errorsmod.Wrapf(types.ErrInvalidDispute, "tensor %d is no parameter: an average leaves it as it was, and nothing of the replica's is mixed in", tensor)
	}
	for j := range claimed {
		own, ok := old[[2]int{tensor, first + j}]
		if !ok {
			return d, errorsmod.Wrapf(types.ErrInvalidDispute, "element %d of tensor %d before the average is not opened", first+j, tensor)
		}
		want := float32(own)
		if param {
			t, ok := theirs[[2]int{tensor, first + j}]
			if !ok {
				return d, errorsmod.Wrapf(types.ErrInvalidDispute, "the replica's element %d of tensor %d is not opened", first+j, tensor)
			}
			want = logevent.Mix(float32(own), float32(t), du.avg.Weight)
		}
		if got := float32(claimed[j]); math.Float32bits(got) != math.Float32bits(want) && !(isNaN32(got) && isNaN32(want)) {
			return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_WORKER_LOST, fmt.Sprintf("element %d of tensor %d (%s) after the average (event %d) is %v, not %v", first+j, tensor, h.Path, d.EventIndex, float32(claimed[j]), want))
		}
	}
	return k.settle(ctx, p, d, types.DISPUTE_OUTCOME_REFEREE_LOST, fmt.Sprintf("chunk %d of tensor %d (%s) after the average (event %d) is the mix", d.Hi.Index, tensor, h.Path, d.EventIndex))
}

// isNaN32 says whether x is a NaN: a NaN a mix makes (0·∞, ∞ − ∞) has the hardware's bits
// (x86's negative quiet NaN, ARM's positive one), so NaNs are compared as NaNs, never by bits,
// or validators on different machines would judge a chunk differently.
func isNaN32(x float32) bool { return math.IsNaN(float64(x)) }

// openTensor verifies openings of tensor `tensor` (whose store path must be path) under root
// (a state of `tensors` tensors) and collects their values.
func openTensor(os []types.ChunkOpening, root merkle.Hash, tensors, tensor int, path string) (openedState, error) {
	for i, co := range os {
		if co.Tensor != uint64(tensor) || co.Header.Path != path {
			return nil, fmt.Errorf("opening %d is of tensor %d (%s), not tensor %d (%s)", i, co.Tensor, co.Header.Path, tensor, path)
		}
	}
	return openState(os, root, tensors)
}

// referenceValues verifies outputs, openings under d's agreed trace of the output of prog's value
// v (the op's output is called output in errors), and returns its n values from first (what
// they are values of is of).
func referenceValues(outputs []types.TraceOpening, d types.Dispute, prog *stageprog.Program, v, first, n int, output, of string) ([]float64, error) {
	capacity, dims, k := stageprog.Capacity(len(prog.Ops)), prog.Dims(v), v-len(prog.InputDims)
	ref, have := make([]float64, n), make([]bool, n)
	for i, o := range outputs {
		op, err := o.Opening()
		if err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidDispute, "outputs[%d]: %v", i, err)
		}
		if op.K != k {
			return nil, errorsmod.Wrapf(types.ErrInvalidDispute, "outputs[%d] opens op %d; %s is op %d's output", i, op.K, output, k)
		}
		if err := op.Verify(merkle.Hash(d.TraceRoot), capacity, dims); err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidDispute, "outputs[%d] under the agreed trace: %v", i, err)
		}
		for j := range n {
			if x, err := op.Value(first + j); err == nil {
				ref[j], have[j] = x, true
			}
		}
	}
	for j, ok := range have {
		if !ok {
			return nil, errorsmod.Wrapf(types.ErrInvalidDispute, "the reference's element %d of %s is not opened", first+j, of)
		}
	}
	return ref, nil
}

// decodeValues is a chunk's little-endian values as float64.
func decodeValues(b []byte, dtype string) ([]float64, error) {
	switch dtype {
	case "Float32":
		out := make([]float64, len(b)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return out, nil
	case "Float64":
		out := make([]float64, len(b)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return out, nil
	}
	return nil, errorsmod.Wrapf(types.ErrInvalidDispute, "dtype %q, not Float32 or Float64", dtype)
}

// settle ends a dispute: the loser pays (a worker as for a failed challenge: slashed, jailed,
// its pending attestations voided, the referee rewarded; a referee its bond, to the worker).
func (k *Keeper) settle(ctx context.Context, p types.Params, d types.Dispute, outcome types.DisputeOutcome, reason string) (types.Dispute, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := k.unindexDispute(ctx, d); err != nil {
		return d, err
	}
	d.Phase, d.Outcome, d.Reason, d.ClosedHeight = types.DISPUTE_PHASE_SETTLED, outcome, reason, sdkCtx.BlockHeight()
	d.Pending, d.Event, d.Children, d.Chunk, d.Sent = nil, nil, nil, nil, nil
	worker, err := k.parseAddr("worker", d.Worker)
	if err != nil {
		return d, err
	}
	referee, err := k.parseAddr("referee", d.Referee)
	if err != nil {
		return d, err
	}
	slashed := sdk.NewCoin(p.DisputeBond.Denom, sdkmath.ZeroInt())
	paid := slashed
	switch outcome {
	case types.DISPUTE_OUTCOME_WORKER_LOST:
		why := fmt.Sprintf("lost dispute %d over attestation %d: %s", d.Id, d.AttestationId, reason)
		slashed = k.slashAndJail(sdkCtx, p, worker, why)
		if _, err := k.payFromSlash(sdkCtx, p, slashed, referee, d.Bond); err != nil {
			return d, err
		}
		if err := k.Disputes.Set(ctx, d.Id, d); err != nil {
			return d, err
		}
		if err := k.voidPending(sdkCtx, worker, why); err != nil {
			return d, err
		}
	case types.DISPUTE_OUTCOME_REFEREE_LOST:
		// Half the bond pays the worker for its moves; half is burned, so that a referee of the
		// worker's own (a sybil that stalls) still pays for its dispute.
		paid = sdk.NewCoin(d.Bond.Denom, d.Bond.Amount.QuoRaw(2))
		if paid.IsPositive() {
			if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, worker, sdk.NewCoins(paid)); err != nil {
				return d, err
			}
		}
		if burned := d.Bond.Sub(paid); burned.IsPositive() {
			if err := k.bk.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(burned)); err != nil {
				return d, err
			}
		}
	default:
		if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, referee, sdk.NewCoins(d.Bond)); err != nil {
			return d, err
		}
	}
	if err := k.Disputes.Set(ctx, d.Id, d); err != nil {
		return d, err
	}
	k.logger.Info("dispute settled", "id", d.Id, "attestation", d.AttestationId, "outcome", outcome, "reason", reason)
	return d, sdkCtx.EventManager().EmitTypedEvent(&types.EventDisputeSettled{
		DisputeId: d.Id, AttestationId: d.AttestationId, Worker: d.Worker, Referee: d.Referee,
		Outcome: outcome, Reason: reason, Slashed: slashed, BondPaid: paid, ModelId: d.ModelId,
	})
}

// cancelDisputes cancels the open disputes of an attestation being voided for another reason;
// the bonds go back.
func (k *Keeper) cancelDisputes(ctx sdk.Context, p types.Params, attestationID uint64, reason string) error {
	keys, err := keysOf(ctx, k.DisputesByAttestation, collections.Ranger[collections.Pair[uint64, uint64]](
		collections.NewPrefixedPairRange[uint64, uint64](attestationID)))
	if err != nil {
		return err
	}
	for _, key := range keys {
		d, err := k.Disputes.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if _, err := k.settle(ctx, p, d, types.DISPUTE_OUTCOME_CANCELLED, reason); err != nil {
			return err
		}
	}
	return nil
}

// disputesOverdue settles the disputes whose mover missed its deadline at height h: it loses.
func (k *Keeper) disputesOverdue(ctx sdk.Context, p types.Params, h int64) error {
	keys, err := due(ctx, k.DisputeDeadlines, h)
	if err != nil {
		return err
	}
	for _, key := range keys {
		d, err := k.Disputes.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if !d.Open() || d.DeadlineHeight != key.K1() {
			continue
		}
		outcome, who := types.DISPUTE_OUTCOME_REFEREE_LOST, "the referee"
		if d.WorkerToMove {
			outcome, who = types.DISPUTE_OUTCOME_WORKER_LOST, "the worker"
		}
		cache, write := ctx.CacheContext()
		if _, err := k.settle(cache, p, d, outcome, fmt.Sprintf("%s did not move in phase %s by height %d", who, d.Phase, d.DeadlineHeight)); err != nil {
			// Never leave it open (its attestation could not finalize): close it with nothing
			// paid; the bond stays with the module, and the error is logged for the operators.
			k.logger.Error("dispute not settled at its deadline; closed without payments", "id", d.Id, "err", err)
			if err := k.forceClose(ctx, d, fmt.Sprintf("closed at its deadline: %v", err)); err != nil {
				return err
			}
			continue
		}
		write()
	}
	return nil
}

// subspaceBasis and tokenTable are the model's public tables as the trainers' engines hold
// them: derived from the seed (package subspace) and rounded to float32.
func subspaceBasis(m modelstypes.Model) []float64 {
	return subspace.Basis(m.Seed, int(m.Arch.DModel), int(m.Arch.CompressionRank))
}

func tokenTable(m modelstypes.Model) []float64 {
	return subspace.TokenTable(m.Seed, int(m.Arch.Vocab), int(m.Arch.DModel))
}

func rounded(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(float32(x))
	}
	return out
}

// forceClose closes d with no payment: the last resort when settling it fails.
func (k *Keeper) forceClose(ctx sdk.Context, d types.Dispute, reason string) error {
	if err := k.unindexDispute(ctx, d); err != nil {
		return err
	}
	d.Phase, d.Outcome, d.Reason, d.ClosedHeight = types.DISPUTE_PHASE_SETTLED, types.DISPUTE_OUTCOME_CANCELLED, reason, ctx.BlockHeight()
	d.Pending, d.Event, d.Children, d.Chunk, d.Sent = nil, nil, nil, nil, nil
	return k.Disputes.Set(ctx, d.Id, d)
}
