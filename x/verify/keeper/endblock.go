package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	"github.com/protolearn/protolearn/x/verify/types"
)

// EndBlock runs, in order: the spot-check draws due at this height, the failure of challenges
// whose deadline is this block, and the finalization of attestations whose window has passed
// with no challenge open. Nothing here returns an error for one bad record (that would halt the
// chain): a failure is logged and the record is left for the next block or settled safely.
func (k *Keeper) EndBlock(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	if err := k.drawSpotChecks(sdkCtx, p, h); err != nil {
		return err
	}
	if err := k.failOverdue(sdkCtx, p, h); err != nil {
		return err
	}
	if err := k.disputesOverdue(sdkCtx, p, h); err != nil {
		return err
	}
	if err := k.logRequestsOverdue(sdkCtx, p, h); err != nil {
		return err
	}
	return k.finalizeDue(sdkCtx, h)
}

// keysOf collects the keys of a key set in r (nil: all); collected first, since handling them
// writes to the set.
func keysOf[K any](ctx context.Context, set collections.KeySet[K], r collections.Ranger[K]) ([]K, error) {
	it, err := set.Iterate(ctx, r)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	return it.Keys()
}

// due collects the keys of a (height, id) queue up to height h.
func due(ctx context.Context, q collections.KeySet[collections.Pair[int64, uint64]], h int64) ([]collections.Pair[int64, uint64], error) {
	return keysOf(ctx, q, collections.Ranger[collections.Pair[int64, uint64]](
		new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(h, ^uint64(0)))))
}

func (k *Keeper) drawSpotChecks(ctx sdk.Context, p types.Params, h int64) error {
	keys, err := due(ctx, k.ToDraw, h)
	if err != nil {
		return err
	}
	hash := ctx.HeaderHash()
	for _, key := range keys {
		if err := k.ToDraw.Remove(ctx, key); err != nil {
			return err
		}
		a, err := k.Attestations.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		a.DrawHeight = 0
		if err := k.Attestations.Set(ctx, a.Id, a); err != nil {
			return err
		}
		if a.Status != types.ATTESTATION_STATUS_PENDING {
			continue
		}
		m, err := k.mk.GetModel(ctx, a.ModelId)
		if err != nil {
			return err
		}
		sc := types.DrawSpotCheck(hash, a, types.ModelTiles(a, m), p.ChallengeRate)
		if !sc.Challenge {
			continue
		}
		bond := sdk.NewCoin(p.ChallengeBond.Denom, sdkmath.ZeroInt())
		cache, write := ctx.CacheContext()
		if _, err := k.openChallenge(cache, p, a, nil, bond, position{kind: sc.Kind, step: sc.Step, row: sc.Row, col: sc.Col}); err != nil {
			k.logger.Error("spot check not opened", "attestation", a.Id, "err", err)
			continue
		}
		if in := sc.Input; in != nil {
			if _, err := k.openChallenge(cache, p, a, nil, bond, position{kind: types.CHALLENGE_KIND_INPUT, step: in.Step, row: in.Row, col: in.Col}); err != nil {
				k.logger.Error("spot check's input tile not opened", "attestation", a.Id, "err", err)
				continue
			}
		}
		write()
	}
	return nil
}

func (k *Keeper) failOverdue(ctx sdk.Context, p types.Params, h int64) error {
	keys, err := due(ctx, k.Deadlines, h)
	if err != nil {
		return err
	}
	for _, key := range keys {
		c, err := k.Challenges.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if c.Status != types.CHALLENGE_STATUS_OPEN {
			continue // cancelled by an earlier failure of the same worker in this block
		}
		if err := k.failChallenge(ctx, p, c); err != nil {
			return fmt.Errorf("x/verify: failing challenge %d: %w", c.Id, err)
		}
	}
	return nil
}

// failChallenge settles a challenge the worker did not answer: slash into the module account,
// the challenger's reward and bond back, the rest burned; jail; void the worker's pending
// attestations of the model.
func (k *Keeper) failChallenge(ctx sdk.Context, p types.Params, c types.Challenge) error {
	worker, err := k.parseAddr("worker", c.Worker)
	if err != nil {
		return err
	}
	a, err := k.Attestations.Get(ctx, c.AttestationId)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("no valid proof for challenge %d (%s tile, attestation %d, step %d) by height %d", c.Id, c.Kind, a.Id, c.Step, c.DeadlineHeight)

	slashed := k.slashAndJail(ctx, p, worker, reason)
	var challenger sdk.AccAddress
	if c.Challenger != "" {
		if challenger, err = k.parseAddr("challenger", c.Challenger); err != nil {
			return err
		}
	}
	reward, err := k.payFromSlash(ctx, p, slashed, challenger, c.Bond)
	if err != nil {
		return err
	}
	burned := slashed.Sub(reward)
	c.Slashed = slashed
	if err := k.closeChallenge(ctx, c, types.CHALLENGE_STATUS_FAILED); err != nil {
		return err
	}
	k.logger.Info("challenge failed", "id", c.Id, "worker", c.Worker, "slashed", slashed.String(), "challenger_reward", reward.String())
	if err := ctx.EventManager().EmitTypedEvent(&types.EventChallengeFailed{
		ChallengeId: c.Id, AttestationId: a.Id, Worker: c.Worker, Challenger: c.Challenger,
		Slashed: slashed, ChallengerReward: reward, Burned: burned, ModelId: a.ModelId,
	}); err != nil {
		return err
	}
	return k.voidPending(ctx, worker, reason)
}

// slashAndJail slashes slash_fraction of worker's stake into the module account and jails it,
// for why; it returns what was slashed. A worker that already left x/compute has nothing to
// slash or jail (each failure is logged; its work is still voided by the caller).
func (k *Keeper) slashAndJail(ctx sdk.Context, p types.Params, worker sdk.AccAddress, why string) sdk.Coin {
	slashed := sdk.NewCoin(p.ChallengeBond.Denom, sdkmath.ZeroInt())
	cache, write := ctx.CacheContext()
	if s, err := k.ck.SlashToVerify(cache, worker, p.SlashFraction, why); err != nil {
		k.logger.Error("slash failed", "worker", k.addrString(worker), "why", why, "err", err)
	} else {
		slashed = s
		write()
	}
	cache, write = ctx.CacheContext()
	if err := k.ck.Jail(cache, worker, why); err != nil {
		k.logger.Error("jail failed", "worker", k.addrString(worker), "why", why, "err", err)
	} else {
		write()
	}
	return slashed
}

// payFromSlash pays to (nil: nobody) challenger_reward_bps of slashed and its bond back (an
// empty coin: none), and burns the rest of slashed; it returns the reward.
func (k *Keeper) payFromSlash(ctx sdk.Context, p types.Params, slashed sdk.Coin, to sdk.AccAddress, bond sdk.Coin) (sdk.Coin, error) {
	reward := sdk.NewCoin(slashed.Denom, sdkmath.ZeroInt())
	if to != nil {
		reward = sdk.NewCoin(slashed.Denom, slashed.Amount.MulRaw(int64(p.ChallengerRewardBps)).QuoRaw(types.MaxBps))
		pay := sdk.NewCoins(reward)
		if bond.Denom != "" {
			pay = pay.Add(bond)
		}
		if !pay.IsZero() {
			if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, to, pay); err != nil {
				return reward, err
			}
		}
	}
	if burned := slashed.Sub(reward); burned.IsPositive() {
		if err := k.bk.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(burned)); err != nil {
			return reward, err
		}
	}
	return reward, nil
}

// voidPending voids every pending attestation of worker, in every model, and cancels their other
// open challenges, returning the challengers' bonds: a worker caught once is not paid for work
// it can no longer be trusted on, and is slashed once for it (jailed, it attests nothing more
// until it is unjailed, so no other challenge can fail meanwhile: a stolen hot key's bait in
// several models costs its operator one slash, not one a model).
func (k *Keeper) voidPending(ctx sdk.Context, worker sdk.AccAddress, reason string) error {
	keys, err := keysOf(ctx, k.PendingByWorker, collections.Ranger[collections.Triple[sdk.AccAddress, uint64, uint64]](
		collections.NewPrefixedTripleRange[sdk.AccAddress, uint64, uint64](worker)))
	if err != nil {
		return err
	}
	for _, key := range keys {
		a, err := k.Attestations.Get(ctx, key.K3())
		if err != nil {
			return err
		}
		if err := k.voidAttestation(ctx, a, reason); err != nil {
			return err
		}
	}
	return nil
}

// voidAttestation voids a pending attestation (nothing for one that is not), cancelling its open
// challenges and disputes.
func (k *Keeper) voidAttestation(ctx sdk.Context, a types.Attestation, reason string) error {
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return nil
	}
	if err := k.cancelOpen(ctx, a.Id); err != nil {
		return err
	}
	if err := k.endAttestation(ctx, collections.Join(a.FinalizeHeight, a.Id), a, types.ATTESTATION_STATUS_VOID, reason); err != nil {
		return err
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventAttestationVoided{
		AttestationId: a.Id, Worker: a.Worker, ModelId: a.ModelId, Reason: reason,
	})
}

// cancelOpen closes the open challenges and disputes of an attestation being voided; bonds go
// back.
func (k *Keeper) cancelOpen(ctx sdk.Context, attestationID uint64) error {
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	if err := k.cancelDisputes(ctx, p, attestationID, fmt.Sprintf("attestation %d was voided", attestationID)); err != nil {
		return err
	}
	if err := k.cancelLogRequests(ctx, attestationID, fmt.Sprintf("attestation %d was voided", attestationID)); err != nil {
		return err
	}
	keys, err := keysOf(ctx, k.OpenByAttestation, collections.Ranger[collections.Pair[uint64, uint64]](
		collections.NewPrefixedPairRange[uint64, uint64](attestationID)))
	if err != nil {
		return err
	}
	for _, key := range keys {
		c, err := k.Challenges.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		if c.Challenger != "" && c.Bond.IsPositive() {
			challenger, err := k.parseAddr("challenger", c.Challenger)
			if err != nil {
				return err
			}
			if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, challenger, sdk.NewCoins(c.Bond)); err != nil {
				return err
			}
		}
		if err := k.closeChallenge(ctx, c, types.CHALLENGE_STATUS_CANCELLED); err != nil {
			return err
		}
	}
	return nil
}

// endAttestation moves a pending attestation to its final status; its per-step commitments are
// dropped (nothing can challenge them any more), keeping state small.
func (k *Keeper) endAttestation(ctx sdk.Context, key collections.Pair[int64, uint64], a types.Attestation, status types.AttestationStatus, reason string) error {
	if err := k.ToFinalize.Remove(ctx, key); err != nil {
		return err
	}
	if err := k.indexRoots(ctx, a, true); err != nil {
		return err
	}
	worker, err := k.parseAddr("worker", a.Worker)
	if err != nil {
		return err
	}
	if err := k.PendingByWorker.Remove(ctx, collections.Join3(worker, a.ModelId, a.Id)); err != nil {
		return err
	}
	if a.DrawHeight > 0 {
		if err := k.ToDraw.Remove(ctx, collections.Join(a.DrawHeight, a.Id)); err != nil {
			return err
		}
		a.DrawHeight = 0
	}
	a.Status = status
	a.VoidReason = reason
	a.EndedHeight = ctx.BlockHeight()
	a.Commitments, a.Sends, a.PeerId = nil, nil, ""
	return k.Attestations.Set(ctx, a.Id, a)
}

func (k *Keeper) hasOpenChallenge(ctx context.Context, attestationID uint64) (bool, error) {
	return anyOf(ctx, k.OpenByAttestation, attestationID)
}

// anyOf says whether an index keyed by (attestation, id) holds an entry of attestationID.
func anyOf(ctx context.Context, set collections.KeySet[collections.Pair[uint64, uint64]], attestationID uint64) (bool, error) {
	it, err := set.Iterate(ctx, collections.NewPrefixedPairRange[uint64, uint64](attestationID))
	if err != nil {
		return false, err
	}
	defer it.Close()
	return it.Valid(), nil
}

func (k *Keeper) finalizeDue(ctx sdk.Context, h int64) error {
	keys, err := due(ctx, k.ToFinalize, h)
	if err != nil {
		return err
	}
	// held is, per model, the work units of attestations due before this one (keys come in
	// (finalize height, id) order, and one that waits keeps its key) that wait for a verdict.
	held := map[uint64]uint64{}
	for _, key := range keys {
		a, err := k.Attestations.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		wait, err := k.heldByVerdict(ctx, a)
		if err != nil {
			return err
		}
		if !wait && held[a.ModelId] > 0 {
			// Due behind held work: it waits too if paying that work would cut it.
			if wait, err = k.cutByHeld(ctx, a, held[a.ModelId]); err != nil {
				return err
			}
		}
		if wait {
			held[a.ModelId] += a.ClaimedUnits()
			continue // waits for the verdict (its own or an earlier one's); checked again next block
		}
		if err := k.finalize(ctx, key, a); err != nil {
			return err
		}
	}
	return nil
}

// heldByVerdict says whether a waits for a verdict: a challenge of it (opened in its window),
// or a dispute of its worker on its model opened by its finalize height. A worker that loses a
// dispute loses every attestation still pending, and a dispute can outlast a later
// attestation's challenge window, so the worker's attestations in their window when it opened
// wait for it. One whose window had passed before does not: its fate was settled by then (it
// may still be waiting behind another's held work), and a dispute opened later must not take
// its place under the target from it (an attacker's review: a griefer's dispute over a
// competitor's new attestation did), nor let a worker's sybil hold its old claims, and
// everyone's work behind them, with a chain of disputes over its fresh attestations.
func (k *Keeper) heldByVerdict(ctx context.Context, a types.Attestation) (bool, error) {
	// A challenge is opened in the attestation's window (OpenChallenge refuses it after).
	if open, err := k.hasOpenChallenge(ctx, a.Id); err != nil || open {
		return open, err
	}
	// So is a log request (RequestLog refuses it after the window).
	if open, err := k.hasOpenLogRequest(ctx, a.Id); err != nil || open {
		return open, err
	}
	dit, err := k.DisputesByWorker.Iterate(ctx, collections.NewSuperPrefixedTripleRange[string, uint64, uint64](a.Worker, a.ModelId))
	if err != nil {
		return false, err
	}
	dkeys, err := dit.Keys()
	if err != nil {
		return false, err
	}
	for _, key := range dkeys {
		d, err := k.Disputes.Get(ctx, key.K3())
		if err != nil {
			return false, err
		}
		if d.OpenedHeight <= a.FinalizeHeight {
			return true, nil
		}
	}
	return false, nil
}

// cutByHeld says whether a, due after attestations of its model that wait for a verdict and
// claim held work units, would be cut by the target if they are paid: then it waits for them
// too. Otherwise an attestation held by a challenge or a dispute it goes on to win would find
// the target taken by work submitted after it, and be paid nothing for verified work; a later
// one that fits beside every held claim is paid at once.
func (k *Keeper) cutByHeld(ctx context.Context, a types.Attestation, held uint64) (bool, error) {
	m, err := k.mk.GetModel(ctx, a.ModelId)
	if err != nil {
		return false, nil // finalize voids it with the reason
	}
	if m.WorkUnits >= m.TargetWorkUnits {
		return false, nil
	}
	rem := m.TargetWorkUnits - m.WorkUnits
	return held >= rem || a.ClaimedUnits() > rem-held, nil
}

// finalize mints a's shares and credits its work to the model, up to the model's target:
// target_work_units is a hard cap. Attestations finalize in (finalize height, id) order, so within
// a block the earlier submission is paid first; the one that crosses the target is paid the units
// left below it, and any after it (the model COMPLETED) finalize with nothing paid. Their work
// was verified (no challenge caught it) but the model needed no more.
func (k *Keeper) finalize(ctx sdk.Context, key collections.Pair[int64, uint64], a types.Attestation) error {
	worker, err := k.parseAddr("worker", a.Worker)
	if err != nil {
		return err
	}
	cache, write := ctx.CacheContext()
	m, err := k.mk.GetModel(cache, a.ModelId)
	var opAmt, desAmt sdk.Coin
	if err == nil {
		a.PaidUnits = payable(m, a.ClaimedUnits())
		if a.PaidUnits > 0 {
			if opAmt, desAmt, err = k.sk.MintForWork(cache, a.ModelId, worker, a.PaidUnits); err == nil {
				err = k.mk.AddWorkUnits(cache, a.ModelId, a.PaidUnits)
			}
		}
	}
	if err != nil {
		// Leaving it pending would retry a deterministic failure forever; voiding it with the
		// reason keeps the chain going and the record honest.
		k.logger.Error("finalizing attestation failed", "id", a.Id, "err", err)
		a.PaidUnits = 0
		return k.endAttestation(ctx, key, a, types.ATTESTATION_STATUS_VOID, "finalization failed: "+err.Error())
	}
	write()
	if err := k.endAttestation(ctx, key, a, types.ATTESTATION_STATUS_FINALIZED, ""); err != nil {
		return err
	}
	k.logger.Info("attestation finalized", "id", a.Id, "worker", a.Worker, "model_id", a.ModelId,
		"work_units", a.WorkUnits, "paid_units", a.PaidUnits, "minted", opAmt.String(), "designer", desAmt.String())
	return ctx.EventManager().EmitTypedEvent(&types.EventAttestationFinalized{
		AttestationId: a.Id, Worker: a.Worker, ModelId: a.ModelId, WorkUnits: a.WorkUnits,
		OperatorAmount: orZero(opAmt, a.ModelId), DesignerAmount: orZero(desAmt, a.ModelId), PaidUnits: a.PaidUnits,
	})
}

// payable is how many of units a model still pays for: all of them while it trains (or is paused
// from training: the work was attested before the pause) below its target, the rest below the
// target for the attestation that crosses it, none once it completed or was halted.
func payable(m modelstypes.Model, units uint64) uint64 {
	if !m.CreditsWork() || m.WorkUnits >= m.TargetWorkUnits {
		return 0
	}
	return min(units, m.TargetWorkUnits-m.WorkUnits)
}

// orZero is c, or zero shares of the model where nothing was minted.
func orZero(c sdk.Coin, modelID uint64) sdk.Coin {
	if c.Denom == "" {
		return sdk.NewCoin(sharestypes.ShareDenom(modelID), sdkmath.ZeroInt())
	}
	return c
}
