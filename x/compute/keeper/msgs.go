package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
)

// The messages of x/compute, as keeper methods: the Msg service (msg_server.go) only hands each
// message here.

// RegisterWorker is MsgRegisterWorker.
func (k *Keeper) RegisterWorker(ctx context.Context, msg *types.MsgRegisterWorker) (*types.MsgRegisterWorkerResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkStake("stake", msg.Stake, p); err != nil {
		return nil, err
	}
	if msg.Stake.Amount.LT(p.MinWorkerStake.Amount) {
		return nil, errorsmod.Wrapf(types.ErrStakeTooLow, "stake %s is below min_worker_stake %s", msg.Stake, p.MinWorkerStake)
	}
	if err := types.ValidatePeerID(msg.PeerId); err != nil {
		return nil, err
	}
	if err := types.ValidateMultiaddrs(msg.Multiaddrs, p.MaxMultiaddrs); err != nil {
		return nil, err
	}
	if err := msg.Hardware.Validate(); err != nil {
		return nil, err
	}
	if has, err := k.Workers.Has(ctx, operator); err != nil {
		return nil, err
	} else if has {
		return nil, errorsmod.Wrapf(types.ErrWorkerExists, "%s is registered; use update-worker or add-stake", msg.Operator)
	}
	if err := k.checkPeerIDFree(ctx, msg.PeerId, operator); err != nil {
		return nil, err
	}
	if err := k.bk.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(msg.Stake)); err != nil {
		return nil, errorsmod.Wrapf(err, "escrowing stake %s from %s", msg.Stake, msg.Operator)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	w := types.Worker{
		Operator:         msg.Operator,
		PeerId:           msg.PeerId,
		Multiaddrs:       msg.Multiaddrs,
		Hardware:         msg.Hardware,
		Bonded:           msg.Stake,
		Slashed:          sdk.NewCoin(p.StakeDenom(), sdkmath.ZeroInt()),
		RegisteredHeight: sdkCtx.BlockHeight(),
	}
	w.Status = statusFor(w, p)
	if err := k.saveWorker(ctx, operator, types.WORKER_STATUS_UNSPECIFIED, w); err != nil {
		return nil, err
	}
	k.logger.Info("worker registered", "operator", msg.Operator, "peer_id", msg.PeerId, "stake", msg.Stake.String())
	return &types.MsgRegisterWorkerResponse{}, sdkCtx.EventManager().EmitTypedEvent(&types.EventWorkerRegistered{
		Operator: msg.Operator, PeerId: msg.PeerId, Stake: msg.Stake,
	})
}

// UpdateWorker is MsgUpdateWorker.
func (k *Keeper) UpdateWorker(ctx context.Context, msg *types.MsgUpdateWorker) (*types.MsgUpdateWorkerResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	if msg.PeerId == "" && len(msg.Multiaddrs) == 0 && msg.Hardware == nil {
		return nil, errorsmod.Wrap(types.ErrNothingToUpdate, "give a new peer id, multiaddrs or hardware")
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	w, err := k.GetWorker(ctx, operator)
	if err != nil {
		return nil, err
	}
	if msg.PeerId != "" {
		if err := types.ValidatePeerID(msg.PeerId); err != nil {
			return nil, err
		}
		if err := k.checkPeerIDFree(ctx, msg.PeerId, operator); err != nil {
			return nil, err
		}
		if msg.PeerId != w.PeerId {
			if err := k.RetiredPeers.Set(ctx, w.PeerId, operator); err != nil {
				return nil, err
			}
			if err := k.RetiredPeers.Remove(ctx, msg.PeerId); err != nil { // its own, taken back
				return nil, err
			}
		}
		w.PeerId = msg.PeerId
	}
	if len(msg.Multiaddrs) > 0 {
		if err := types.ValidateMultiaddrs(msg.Multiaddrs, p.MaxMultiaddrs); err != nil {
			return nil, err
		}
		w.Multiaddrs = msg.Multiaddrs
	}
	if msg.Hardware != nil {
		if err := msg.Hardware.Validate(); err != nil {
			return nil, err
		}
		w.Hardware = *msg.Hardware
	}
	if err := k.Workers.Set(ctx, operator, w); err != nil {
		return nil, err
	}
	return &types.MsgUpdateWorkerResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkerUpdated{
		Operator: w.Operator, PeerId: w.PeerId, Multiaddrs: w.Multiaddrs,
	})
}

// stakeChange reads what a change of a worker's stake needs: the operator's address, the params,
// and its worker, once the amount has been checked against the params.
func (k *Keeper) stakeChange(ctx context.Context, op string, amount sdk.Coin) (sdk.AccAddress, types.Params, types.Worker, error) {
	operator, err := k.parseAddr("operator", op)
	if err != nil {
		return nil, types.Params{}, types.Worker{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, p, types.Worker{}, err
	}
	if err := checkStake("amount", amount, p); err != nil {
		return nil, p, types.Worker{}, err
	}
	w, err := k.GetWorker(ctx, operator)
	return operator, p, w, err
}

// AddStake is MsgAddStake.
func (k *Keeper) AddStake(ctx context.Context, msg *types.MsgAddStake) (*types.MsgAddStakeResponse, error) {
	operator, p, w, err := k.stakeChange(ctx, msg.Operator, msg.Amount)
	if err != nil {
		return nil, err
	}
	if err := k.bk.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(msg.Amount)); err != nil {
		return nil, errorsmod.Wrapf(err, "escrowing stake %s from %s", msg.Amount, msg.Operator)
	}
	from := w.Status
	w.Bonded = w.Bonded.Add(msg.Amount)
	w.Status = statusFor(w, p)
	if err := k.saveWorker(ctx, operator, from, w); err != nil {
		return nil, err
	}
	return &types.MsgAddStakeResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStakeAdded{
		Operator: msg.Operator, Amount: msg.Amount, Bonded: w.Bonded,
	})
}

// BeginUnbonding is MsgBeginUnbonding.
func (k *Keeper) BeginUnbonding(ctx context.Context, msg *types.MsgBeginUnbonding) (*types.MsgBeginUnbondingResponse, error) {
	operator, p, w, err := k.stakeChange(ctx, msg.Operator, msg.Amount)
	if err != nil {
		return nil, err
	}
	if msg.Amount.Amount.GT(w.Bonded.Amount) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientBonded, "asked to unbond %s but only %s is bonded", msg.Amount, w.Bonded)
	}
	pending, err := k.countUnbonding(ctx, operator)
	if err != nil {
		return nil, err
	}
	if pending >= uint64(p.MaxUnbondingEntries) {
		return nil, errorsmod.Wrapf(types.ErrTooManyUnbonding, "%d entries pending (max %d); wait until one matures", pending, p.MaxUnbondingEntries)
	}
	id, err := k.UnbondingSeq.Next(ctx)
	if err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	entry := types.UnbondingEntry{
		Id:             id,
		Operator:       msg.Operator,
		Balance:        msg.Amount,
		Initial:        msg.Amount,
		CreationHeight: sdkCtx.BlockHeight(),
		CompletionTime: sdkCtx.BlockTime().Add(p.UnbondingTime),
	}
	if err := k.setUnbonding(ctx, operator, entry); err != nil {
		return nil, err
	}
	from := w.Status
	w.Bonded = w.Bonded.Sub(msg.Amount)
	w.Status = statusFor(w, p)
	if err := k.saveWorker(ctx, operator, from, w); err != nil {
		return nil, err
	}
	if err := k.afterBondedDecreased(ctx, operator, w.Bonded); err != nil {
		return nil, err
	}
	return &types.MsgBeginUnbondingResponse{EntryId: id, CompletionTime: entry.CompletionTime},
		sdkCtx.EventManager().EmitTypedEvent(&types.EventUnbondingStarted{
			Operator: msg.Operator, EntryId: id, Amount: msg.Amount, CompletionTime: entry.CompletionTime,
		})
}

// Unjail is MsgUnjail.
func (k *Keeper) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	operator, err := k.parseAddr("operator", msg.Operator)
	if err != nil {
		return nil, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	w, err := k.GetWorker(ctx, operator)
	if err != nil {
		return nil, err
	}
	if w.Status != types.WORKER_STATUS_JAILED {
		return nil, errorsmod.Wrapf(types.ErrNotJailed, "%s is %s", msg.Operator, w.Status)
	}
	now := sdk.UnwrapSDKContext(ctx).BlockTime()
	if now.Before(w.JailedUntil) {
		return nil, errorsmod.Wrapf(types.ErrJailPeriodNotOver, "jailed until %s, %s from now",
			w.JailedUntil.UTC().Format("2006-01-02T15:04:05Z"), w.JailedUntil.Sub(now).Round(1e9))
	}
	if w.Bonded.Amount.LT(p.MinWorkerStake.Amount) {
		return nil, errorsmod.Wrapf(types.ErrUnjailBelowMinStake, "bonded %s, min_worker_stake %s", w.Bonded, p.MinWorkerStake)
	}
	w.Status = types.WORKER_STATUS_ACTIVE
	if err := k.saveWorker(ctx, operator, types.WORKER_STATUS_JAILED, w); err != nil {
		return nil, err
	}
	return &types.MsgUnjailResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkerUnjailed{Operator: msg.Operator})
}

// checkStake validates a stake amount given in a message against the stake denom.
func checkStake(field string, c sdk.Coin, p types.Params) error {
	if err := c.Validate(); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidStake, "%s: %v", field, err)
	}
	if c.Denom != p.StakeDenom() {
		return errorsmod.Wrapf(types.ErrWrongDenom, "%s is in %q; stake is in %q", field, c.Denom, p.StakeDenom())
	}
	if !c.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidStake, "%s must be positive, got %s", field, c)
	}
	return nil
}

// checkPeerIDFree refuses a peer id that another operator's worker announces, or announced
// before (a retired id still names its worker).
func (k *Keeper) checkPeerIDFree(ctx context.Context, peerID string, operator sdk.AccAddress) error {
	owner, err := k.Workers.Indexes.PeerID.MatchExact(ctx, peerID)
	if isNotFound(err) {
		owner, err = k.RetiredPeers.Get(ctx, peerID)
	}
	if err == nil && !owner.Equals(operator) {
		return errorsmod.Wrapf(types.ErrPeerIDTaken, "%s belongs to %s; each worker needs its own libp2p identity", peerID, k.addrString(owner))
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
