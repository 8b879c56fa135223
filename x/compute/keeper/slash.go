package keeper

import (
	"context"
	"sort"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
)

// SlashDestination says where slashed stake goes: burned, or sent to an account or a module.
type SlashDestination struct {
	account sdk.AccAddress
	module  string
}

// BurnSlashed burns the slashed stake.
func BurnSlashed() SlashDestination { return SlashDestination{} }

// SlashToAccount sends the slashed stake to an account (e.g. a challenger).
func SlashToAccount(addr sdk.AccAddress) SlashDestination { return SlashDestination{account: addr} }

// SlashToModule sends the slashed stake to a module account, which then splits it.
func SlashToModule(name string) SlashDestination { return SlashDestination{module: name} }

// Slash takes fraction of operator's stake at risk (bonded plus still-unbonding) and sends it to
// dest. It takes from bonded stake first, then from unbonding entries, latest-maturing first,
// since stake that just started leaving is the likeliest attempt to dodge the slash. Amounts round
// down, so a worker never loses more than fraction of its stake and its balances never go negative.
func (k *Keeper) Slash(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, reason string, dest SlashDestination) (sdk.Coin, error) {
	if fraction.IsNil() || !fraction.IsPositive() || fraction.GT(sdkmath.LegacyOneDec()) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidSlashFraction, "fraction must be in (0, 1], got %v", fraction)
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	w, err := k.GetWorker(ctx, operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	entries, err := k.UnbondingEntries(ctx, operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	atRisk := w.Bonded.Amount
	for _, e := range entries {
		atRisk = atRisk.Add(e.Balance.Amount)
	}
	amount := fraction.MulInt(atRisk).TruncateInt()

	fromBonded := sdkmath.MinInt(amount, w.Bonded.Amount)
	from := w.Status
	w.Bonded = w.Bonded.SubAmount(fromBonded)
	rest := amount.Sub(fromBonded)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].CompletionTime.After(entries[j].CompletionTime) })
	for _, e := range entries {
		if !rest.IsPositive() {
			break
		}
		take := sdkmath.MinInt(rest, e.Balance.Amount)
		e.Balance = e.Balance.SubAmount(take)
		rest = rest.Sub(take)
		if err := k.setUnbonding(ctx, operator, e); err != nil {
			return sdk.Coin{}, err
		}
	}
	slashed := sdk.NewCoin(p.StakeDenom(), amount)
	w.Slashed = w.Slashed.Add(slashed)
	w.Status = statusFor(w, p)
	if err := k.saveWorker(ctx, operator, from, w); err != nil {
		return sdk.Coin{}, err
	}
	if fromBonded.IsPositive() {
		if err := k.afterBondedDecreased(ctx, operator, w.Bonded); err != nil {
			return sdk.Coin{}, err
		}
	}
	destName, err := k.payOut(ctx, slashed, dest)
	if err != nil {
		return sdk.Coin{}, err
	}
	k.logger.Info("worker slashed", "operator", w.Operator, "amount", slashed.String(), "reason", reason, "to", destName)
	return slashed, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkerSlashed{
		Operator: w.Operator, Fraction: fraction.String(), Amount: slashed, Reason: reason, Destination: destName,
	})
}

// payOut moves slashed coins out of the module account and names where they went.
func (k *Keeper) payOut(ctx context.Context, c sdk.Coin, dest SlashDestination) (string, error) {
	coins := sdk.NewCoins(c)
	switch {
	case dest.account != nil:
		name := k.addrString(dest.account)
		if coins.IsZero() {
			return name, nil
		}
		return name, k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, dest.account, coins)
	case dest.module != "":
		if coins.IsZero() {
			return dest.module, nil
		}
		return dest.module, k.bk.SendCoinsFromModuleToModule(ctx, types.ModuleName, dest.module, coins)
	default:
		if coins.IsZero() {
			return "burn", nil
		}
		return "burn", k.bk.BurnCoins(ctx, types.ModuleName, coins)
	}
}

// Jail takes operator's worker out of service for jail_duration; a worker already jailed stays
// jailed until the later of its current release time and the new one.
func (k *Keeper) Jail(ctx context.Context, operator sdk.AccAddress, reason string) error {
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	w, err := k.GetWorker(ctx, operator)
	if err != nil {
		return err
	}
	until := sdk.UnwrapSDKContext(ctx).BlockTime().Add(p.JailDuration)
	if until.After(w.JailedUntil) {
		w.JailedUntil = until
	}
	from := w.Status
	w.Status = types.WORKER_STATUS_JAILED
	if err := k.saveWorker(ctx, operator, from, w); err != nil {
		return err
	}
	k.logger.Info("worker jailed", "operator", w.Operator, "until", w.JailedUntil, "reason", reason)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkerJailed{
		Operator: w.Operator, JailedUntil: w.JailedUntil, Reason: reason,
	})
}
