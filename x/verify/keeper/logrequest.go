package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/x/verify/types"
)

// Log availability on the chain's terms (x/verify/README.md, "Log availability"). A referee
// needs a worker's replay log to audit it, and the worker chooses what it answers over libp2p:
// a cheater would say "busy" for ever. The log holds the stage's weights, which only the stage's
// replicas may see, so no neutral party (the chain, validators, a data-availability layer) can
// witness its delivery: only the stage's replicas can. So a replica's request on chain must be
// answered with a replica's signed custody of the log (the requester's, or any other replica's
// of the stage but the worker's), and is otherwise taken as withholding: the worker is slashed
// as for a failed challenge. A griefing requester that refuses to sign what it was served cannot
// have an honest worker slashed while one other replica of the stage takes custody; where none
// but the two is left, the chain cannot tell a refusal from withholding, and the request lapses.

// RequestLog is MsgRequestLog.
func (k *Keeper) RequestLog(ctx context.Context, msg *types.MsgRequestLog) (types.LogRequest, error) {
	referee, err := k.parseAddr("referee", msg.Referee)
	if err != nil {
		return types.LogRequest{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return types.LogRequest{}, err
	}
	if p.LogWindow == 0 {
		return types.LogRequest{}, errorsmod.Wrap(types.ErrInvalidLogRequest, "log requests are off on this chain (log_window is 0)")
	}
	a, err := k.GetAttestation(ctx, msg.AttestationId)
	if err != nil {
		return types.LogRequest{}, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	if a.Status != types.ATTESTATION_STATUS_PENDING || h >= a.FinalizeHeight {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrNotPending, "attestation %d is %s (finalizes at height %d): only a pending attestation in its challenge window has its log requested", a.Id, a.Status, a.FinalizeHeight)
	}
	name := k.addrString(referee)
	if a.Worker == name {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrInvalidLogRequest, "%s cannot request its own log", msg.Referee)
	}
	if replica, err := k.workedInStage(ctx, a.ModelId, referee, a.Stage, p.ClockWindow); err != nil {
		return types.LogRequest{}, err
	} else if !replica {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrInvalidLogRequest, "%s holds no seat in stage %d of model %d (nor worked there in the last clock_window = %d blocks): only a replica of the stage may see its log", msg.Referee, a.Stage, a.ModelId, p.ClockWindow)
	}
	if len(a.StateRoot) != 32 || len(a.LogHead) != 32 || len(a.EndStateRoot) != 32 || len(a.EndLogHead) != 32 {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrInvalidLogRequest, "attestation %d commits no 32-byte state roots and log heads at its start and end: no log is fixed to request", a.Id)
	}
	if asked, err := k.LogRequestedBy.Has(ctx, collections.Join(a.Id, name)); err != nil {
		return types.LogRequest{}, err
	} else if asked {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrInvalidLogRequest, "you already asked for attestation %d's log: a referee asks once an attestation (see your request's answer: query verify log-requests --attestation-id %d)", a.Id, a.Id)
	}
	if n, err := k.witnesses(ctx, p, a, name, h); err != nil {
		return types.LogRequest{}, err
	} else if n == 0 {
		return types.LogRequest{}, errorsmod.Wrapf(types.ErrInvalidLogRequest, "stage %d of model %d has no replica but the worker and you at work (attested within clock_window blocks): none could take custody of the log, and the chain cannot tell your refusal from withholding; audit it over libp2p", a.Stage, a.ModelId)
	}
	id, err := k.LogRequestSeq.Next(ctx)
	if err != nil {
		return types.LogRequest{}, err
	}
	r := types.LogRequest{
		Id: id, AttestationId: a.Id, ModelId: a.ModelId, Stage: a.Stage, Worker: a.Worker, Referee: name,
		OpenedHeight: h, DeadlineHeight: h + p.LogWindow, Status: types.LOG_REQUEST_STATUS_OPEN,
	}
	if err := k.storeLogRequest(ctx, r); err != nil {
		return types.LogRequest{}, err
	}
	k.logger.Info("log requested", "id", id, "attestation", a.Id, "worker", a.Worker, "referee", name, "deadline", r.DeadlineHeight)
	return r, sdkCtx.EventManager().EmitTypedEvent(&types.EventLogRequested{
		RequestId: id, AttestationId: a.Id, Worker: a.Worker, Referee: name, DeadlineHeight: r.DeadlineHeight, ModelId: a.ModelId,
	})
}

// AnswerLogRequest is MsgAnswerLogRequest: a replica of the stage other than the worker (seated,
// or unseated within clock_window blocks, or the requester) signed that it holds the log.
func (k *Keeper) AnswerLogRequest(ctx context.Context, msg *types.MsgAnswerLogRequest) error {
	if _, err := k.parseAddr("submitter", msg.Submitter); err != nil {
		return err
	}
	r, err := k.GetLogRequest(ctx, msg.RequestId)
	if err != nil {
		return err
	}
	if !r.Open() {
		return errorsmod.Wrapf(types.ErrInvalidLogRequest, "log request %d closed at height %d: %s", r.Id, r.ClosedHeight, r.Status)
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	a, err := k.GetAttestation(ctx, r.AttestationId)
	if err != nil {
		return err
	}
	if len(msg.Custodian) > types.MaxPeerIDLen {
		return errorsmod.Wrapf(types.ErrInvalidLogRequest, "custodian: a peer id of %d characters, beyond %d", len(msg.Custodian), types.MaxPeerIDLen)
	}
	custodian, err := peer.Decode(msg.Custodian)
	if err != nil {
		return errorsmod.Wrapf(types.ErrInvalidLogRequest, "custodian %q is not a peer id: %v", msg.Custodian, err)
	}
	op, ok, err := k.ck.OperatorOfPeer(ctx, custodian.String())
	if err != nil {
		return err
	}
	if !ok {
		return errorsmod.Wrapf(types.ErrInvalidLogRequest, "custodian %s is no registered worker's peer", custodian)
	}
	name := k.addrString(op)
	if name == r.Worker {
		return errorsmod.Wrapf(types.ErrInvalidLogRequest, "custodian %s is the worker's own peer: a worker cannot vouch for its own log", custodian)
	}
	if name != r.Referee {
		replica, err := k.workedInStage(ctx, r.ModelId, op, r.Stage, p.ClockWindow)
		if err != nil {
			return err
		}
		if !replica {
			return errorsmod.Wrapf(types.ErrInvalidLogRequest, "custodian %s (%s) holds no seat in stage %d of model %d (nor worked there in the last clock_window blocks): only a replica of the stage can take custody of its log", custodian, name, r.Stage, r.ModelId)
		}
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sdkCtx.GasMeter().ConsumeGas(ReceiptVerifyGas, "x/verify log custody")
	if err := types.VerifyCustody(types.CustodyOf(sdkCtx.ChainID(), a, custodian), msg.Signature); err != nil {
		return errorsmod.Wrap(types.ErrInvalidLogRequest, err.Error())
	}
	r.Custodian = custodian.String()
	return k.closeLogRequest(sdkCtx, r, types.LOG_REQUEST_STATUS_SERVED, fmt.Sprintf("%s (%s) holds the log", custodian, name), sdk.Coin{}, sdk.Coin{})
}

// GetLogRequest returns log request id.
func (k *Keeper) GetLogRequest(ctx context.Context, id uint64) (types.LogRequest, error) {
	r, err := k.LogRequests.Get(ctx, id)
	if isNotFound(err) {
		return r, errorsmod.Wrapf(types.ErrLogRequestNotFound, "no log request with id %d", id)
	}
	return r, err
}

// storeLogRequest writes r and, while it is open, its indexes (also used by InitGenesis).
func (k *Keeper) storeLogRequest(ctx context.Context, r types.LogRequest) error {
	if err := k.LogRequests.Set(ctx, r.Id, r); err != nil {
		return err
	}
	if err := k.LogRequestedBy.Set(ctx, collections.Join(r.AttestationId, r.Referee)); err != nil {
		return err
	}
	if !r.Open() {
		return nil
	}
	if err := k.LogRequestsOpen.Set(ctx, collections.Join(r.AttestationId, r.Id)); err != nil {
		return err
	}
	return k.LogDeadlines.Set(ctx, collections.Join(r.DeadlineHeight, r.Id))
}

// closeLogRequest ends an open request with status and reason (slashed and reward for a
// withheld log) and announces it.
func (k *Keeper) closeLogRequest(ctx sdk.Context, r types.LogRequest, status types.LogRequestStatus, reason string, slashed, reward sdk.Coin) error {
	if err := k.LogRequestsOpen.Remove(ctx, collections.Join(r.AttestationId, r.Id)); err != nil {
		return err
	}
	if err := k.LogDeadlines.Remove(ctx, collections.Join(r.DeadlineHeight, r.Id)); err != nil {
		return err
	}
	r.Status, r.Reason, r.ClosedHeight = status, reason, ctx.BlockHeight()
	if err := k.LogRequests.Set(ctx, r.Id, r); err != nil {
		return err
	}
	k.logger.Info("log request closed", "id", r.Id, "attestation", r.AttestationId, "status", status, "reason", reason)
	zero := func(c sdk.Coin) sdk.Coin {
		if c.Denom != "" {
			return c
		}
		denom := sdk.DefaultBondDenom
		if p, err := k.GetParams(ctx); err == nil {
			denom = p.ChallengeBond.Denom // the stake's: what a slash is paid in
		}
		return sdk.NewCoin(denom, sdkmath.ZeroInt())
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventLogRequestClosed{
		RequestId: r.Id, AttestationId: r.AttestationId, Worker: r.Worker, Referee: r.Referee, Status: status,
		Custodian: r.Custodian, Reason: reason, Slashed: zero(slashed), RefereeReward: zero(reward), ModelId: r.ModelId,
	})
}

// hasOpenLogRequest says whether an attestation waits for a log request's answer.
func (k *Keeper) hasOpenLogRequest(ctx context.Context, attestationID uint64) (bool, error) {
	return anyOf(ctx, k.LogRequestsOpen, attestationID)
}

// witnesses counts the replicas of a's stage other than its worker and referee seated since
// height since and at work there (an attestation on the model within clock_window blocks
// before since): who could have taken custody of the log besides the requester. One that
// joined after the request could not have in time, and one that has not worked lately may be
// down: neither may turn a lapse into a slash (an attacker's review).
func (k *Keeper) witnesses(ctx context.Context, p types.Params, a types.Attestation, referee string, since int64) (int, error) {
	seats, err := k.mk.StageSeats(ctx, a.ModelId, a.Stage)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range seats {
		if s.Operator == a.Worker || s.Operator == referee || s.JoinedHeight > since {
			continue
		}
		op, err := k.parseAddr("operator", s.Operator)
		if err != nil {
			return 0, err
		}
		c, err := k.LastSteps.Get(ctx, collections.Join(a.ModelId, op))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if c.Height >= since-p.ClockWindow {
			n++
		}
	}
	return n, nil
}

// cancelLogRequests closes the open log requests of an attestation that ended otherwise.
func (k *Keeper) cancelLogRequests(ctx sdk.Context, attestationID uint64, reason string) error {
	keys, err := keysOf(ctx, k.LogRequestsOpen, collections.Ranger[collections.Pair[uint64, uint64]](
		collections.NewPrefixedPairRange[uint64, uint64](attestationID)))
	if err != nil {
		return err
	}
	for _, key := range keys {
		r, err := k.LogRequests.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if err := k.closeLogRequest(ctx, r, types.LOG_REQUEST_STATUS_CANCELLED, reason, sdk.Coin{}, sdk.Coin{}); err != nil {
			return err
		}
	}
	return nil
}

// logRequestsOverdue settles the log requests unanswered by height h: the worker withheld its
// log from every replica of its stage (slashed, jailed, its pending attestations voided, the
// referee rewarded as a challenger), unless no replica but the worker and the referee is left
// to have taken custody (cancelled).
func (k *Keeper) logRequestsOverdue(ctx sdk.Context, p types.Params, h int64) error {
	keys, err := due(ctx, k.LogDeadlines, h)
	if err != nil {
		return err
	}
	for _, key := range keys {
		r, err := k.LogRequests.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if !r.Open() || r.DeadlineHeight != key.K1() {
			continue
		}
		cache, write := ctx.CacheContext()
		if err := k.logRequestOverdue(cache, p, r); err != nil {
			// Never leave it open (its attestation could not finalize): close it with nothing
			// done, and log the error for the operators.
			k.logger.Error("log request not settled at its deadline; closed without effect", "id", r.Id, "err", err)
			if err := k.closeLogRequest(ctx, r, types.LOG_REQUEST_STATUS_CANCELLED, fmt.Sprintf("closed at its deadline: %v", err), sdk.Coin{}, sdk.Coin{}); err != nil {
				return err
			}
			continue
		}
		write()
	}
	return nil
}

func (k *Keeper) logRequestOverdue(ctx sdk.Context, p types.Params, r types.LogRequest) error {
	a, err := k.Attestations.Get(ctx, r.AttestationId)
	if err != nil {
		return err
	}
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return k.closeLogRequest(ctx, r, types.LOG_REQUEST_STATUS_CANCELLED, fmt.Sprintf("attestation %d ended first (%s)", a.Id, a.Status), sdk.Coin{}, sdk.Coin{})
	}
	// An open challenge or dispute of any of the worker's pending attestations settles first:
	// its verdict (and its challenger's reward) must not be cancelled by a request that happens
	// to fall due before it (a sybil of the worker's asking for the log of another, honest
	// attestation would so rob the challenger: an attacker's review). The request waits a block
	// at a time; challenges and disputes open only in their attestation's window, so the wait
	// ends.
	if held, err := k.workerChallengedOrDisputed(ctx, a.Worker); err != nil {
		return err
	} else if held {
		return k.postpone(ctx, r)
	}
	if n, err := k.witnesses(ctx, p, a, r.Referee, r.OpenedHeight); err != nil {
		return err
	} else if n == 0 {
		return k.closeLogRequest(ctx, r, types.LOG_REQUEST_STATUS_CANCELLED,
			fmt.Sprintf("no replica of stage %d but the worker and the referee, seated since the request and at work, was left to take custody: the chain cannot tell a refusal from withholding", a.Stage), sdk.Coin{}, sdk.Coin{})
	}
	worker, err := k.parseAddr("worker", r.Worker)
	if err != nil {
		return err
	}
	why := fmt.Sprintf("withheld its replay log of attestation %d: no replica of stage %d took custody by height %d (log request %d)", a.Id, a.Stage, r.DeadlineHeight, r.Id)
	slashed := k.slashAndJail(ctx, p, worker, why)
	// The slash is burned, not paid to the referee: a verdict by default must not pay those who
	// can bring it about by refusing to sign (a referee with a sybil witness), nor a sybil of
	// the worker's that asks for its own log to take back half its slash.
	reward, err := k.payFromSlash(ctx, p, slashed, nil, sdk.Coin{})
	if err != nil {
		return err
	}
	if err := k.closeLogRequest(ctx, r, types.LOG_REQUEST_STATUS_WITHHELD, why, slashed, reward); err != nil {
		return err
	}
	return k.voidPending(ctx, worker, why)
}

// workerChallengedOrDisputed says whether any pending attestation of worker, in any model, has
// an open challenge or dispute.
func (k *Keeper) workerChallengedOrDisputed(ctx context.Context, worker string) (bool, error) {
	addr, err := k.parseAddr("worker", worker)
	if err != nil {
		return false, err
	}
	keys, err := keysOf(ctx, k.PendingByWorker, collections.Ranger[collections.Triple[sdk.AccAddress, uint64, uint64]](
		collections.NewPrefixedTripleRange[sdk.AccAddress, uint64, uint64](addr)))
	if err != nil {
		return false, err
	}
	for _, key := range keys {
		if open, err := k.hasOpenChallenge(ctx, key.K3()); err != nil || open {
			return open, err
		}
		if open, err := anyOf(ctx, k.DisputesByAttestation, key.K3()); err != nil || open {
			return open, err
		}
	}
	return false, nil
}

// postpone moves an open request's deadline to the next block.
func (k *Keeper) postpone(ctx sdk.Context, r types.LogRequest) error {
	if err := k.LogDeadlines.Remove(ctx, collections.Join(r.DeadlineHeight, r.Id)); err != nil {
		return err
	}
	r.DeadlineHeight = ctx.BlockHeight() + 1
	return k.storeLogRequest(ctx, r)
}
