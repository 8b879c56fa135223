package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// MintForWork mints shares for finalized work: work_units × shares_per_unit to the operator and
// designer_bps of that on top to the model's designer (both rounded down). x/verify calls it when
// an attestation finalizes; no message reaches it.
func (k *Keeper) MintForWork(ctx context.Context, modelID uint64, operator sdk.AccAddress, workUnits uint64) (operatorAmount, designerAmount sdk.Coin, err error) {
	if workUnits == 0 {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrZeroWork, "model %d operator %s", modelID, k.addrString(operator))
	}
	info, err := k.modelInfo(ctx, modelID)
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	denom := types.ShareDenom(modelID)
	k.EnsureShareMetadata(ctx, modelID, info.Name)
	if _, err := k.ensureRevenue(ctx, modelID); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}

	opAmt := p.SharesPerUnit.Mul(sdkmath.NewIntFromUint64(workUnits))
	desAmt := opAmt.MulRaw(int64(info.DesignerBps)).QuoRaw(types.MaxBps)
	operatorAmount, designerAmount = sdk.NewCoin(denom, opAmt), sdk.NewCoin(denom, desAmt)
	if err := k.bk.MintCoins(ctx, types.ModuleName, sdk.NewCoins(operatorAmount.Add(designerAmount))); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	// The sends go through the bank send restriction, which settles both receivers first.
	if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, sdk.NewCoins(operatorAmount)); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	if desAmt.IsPositive() {
		if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, info.Designer, sdk.NewCoins(designerAmount)); err != nil {
			return sdk.Coin{}, sdk.Coin{}, err
		}
	}
	return operatorAmount, designerAmount, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSharesMinted{
		ModelId: modelID, Operator: k.addrString(operator), WorkUnits: workUnits, OperatorAmount: operatorAmount,
		Designer: k.addrString(info.Designer), DesignerAmount: designerAmount,
	})
}

// payRevenue splits amount: the protocol fee to the community pool, the rest into the model's
// index for holders pro rata to their balances now. O(1) whatever the number of holders.
// PayRevenue pays amount from payer (an account or a module's) into model's revenue: the
// protocol fee, then the holders pro rata (x/inference's settlements).
func (k *Keeper) PayRevenue(ctx context.Context, payer sdk.AccAddress, modelID uint64, amount sdk.Coin, reference string) error {
	_, _, err := k.payRevenue(ctx, payer, modelID, amount, reference)
	return err
}

// HasHolders says whether anybody holds model's shares: revenue is refused until somebody does.
func (k *Keeper) HasHolders(ctx context.Context, modelID uint64) bool {
	return k.bk.GetSupply(ctx, types.ShareDenom(modelID)).Amount.IsPositive()
}

// RevenueDenom is the denom models' revenue is paid in.
func (k *Keeper) RevenueDenom(ctx context.Context) (string, error) {
	p, err := k.GetParams(ctx)
	return p.RevenueDenom, err
}

func (k *Keeper) payRevenue(ctx context.Context, payer sdk.AccAddress, modelID uint64, amount sdk.Coin, reference string) (fee, net sdk.Coin, err error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return fee, net, err
	}
	if err := amount.Validate(); err != nil {
		return fee, net, errorsmod.Wrapf(types.ErrInvalidAmount, "amount: %v", err)
	}
	if amount.Denom != p.RevenueDenom {
		return fee, net, errorsmod.Wrapf(types.ErrWrongDenom, "revenue is paid in %q, got %s", p.RevenueDenom, amount)
	}
	if !amount.IsPositive() {
		return fee, net, errorsmod.Wrapf(types.ErrInvalidAmount, "amount must be positive, got %s", amount)
	}
	if len(reference) > types.MaxReferenceLength {
		return fee, net, errorsmod.Wrapf(types.ErrReferenceTooLong, "%d bytes, at most %d", len(reference), types.MaxReferenceLength)
	}
	info, err := k.modelInfo(ctx, modelID)
	if err != nil {
		return fee, net, err
	}
	supply := k.bk.GetSupply(ctx, types.ShareDenom(modelID)).Amount
	if !supply.IsPositive() {
		return fee, net, errorsmod.Wrapf(types.ErrNoShares, "model %d: nobody holds %s yet, so there is no one to pay", modelID, types.ShareDenom(modelID))
	}

	fee = sdk.NewCoin(amount.Denom, amount.Amount.MulRaw(int64(p.ProtocolFeeBps)).QuoRaw(types.MaxBps))
	net = amount.Sub(fee)
	if fee.IsPositive() {
		if err := k.dk.FundCommunityPool(ctx, sdk.NewCoins(fee), payer); err != nil {
			return fee, net, errorsmod.Wrapf(err, "paying the protocol fee %s", fee)
		}
	}
	if net.IsPositive() {
		if err := k.bk.SendCoinsFromAccountToModule(ctx, payer, types.ModuleName, sdk.NewCoins(net)); err != nil {
			return fee, net, errorsmod.Wrapf(err, "paying %s to model %d's holders", net, modelID)
		}
	}

	return fee, net, k.credit(ctx, info, modelID, supply, amount, fee, payer, reference, 0)
}

// maxFamilyDepth bounds how far up a fork's line royalties are passed (x/models bounds a
// family's depth below it).
const maxFamilyDepth = 16

// credit adds what a payment of gross (fee taken, the rest in the module account) brings model's
// holders: a fork first passes its parent_bps of it up to its parent's holders (and on up the
// family), then the rest goes into its index, pro rata to the balances now.
func (k *Keeper) credit(ctx context.Context, info types.ModelInfo, modelID uint64, supply sdkmath.Int, gross, fee sdk.Coin, payer sdk.AccAddress, reference string, depth int) error {
	net := gross.Sub(fee)
	royalty := sdk.NewCoin(gross.Denom, sdkmath.ZeroInt())
	if info.ParentID != 0 && info.ParentBps > 0 && depth < maxFamilyDepth {
		parent, err := k.modelInfo(ctx, info.ParentID)
		if err != nil {
			return err
		}
		parentSupply := k.bk.GetSupply(ctx, types.ShareDenom(info.ParentID)).Amount
		// Rounded up: a payment too small for a whole unit of royalty still pays one, so that
		// splitting revenue into small payments does not escape it.
		royalty.Amount = sdkmath.MinInt(net.Amount, net.Amount.MulRaw(int64(info.ParentBps)).AddRaw(types.MaxBps-1).QuoRaw(types.MaxBps))
		if royalty.IsPositive() && parentSupply.IsPositive() {
			// The royalty is a payment to the parent by this module's account, where it already is.
			if _, err := k.ensureRevenue(ctx, info.ParentID); err != nil {
				return err
			}
			if err := k.credit(ctx, parent, info.ParentID, parentSupply, royalty, sdk.NewCoin(gross.Denom, sdkmath.ZeroInt()), k.moduleAddr,
				fmt.Sprintf("royalty of fork %d", modelID), depth+1); err != nil {
				return err
			}
			net = net.Sub(royalty)
		} else {
			royalty.Amount = sdkmath.ZeroInt() // no parent holder to pay: it stays with the fork's
		}
	}
	rev, err := k.revenue(ctx, modelID)
	if err != nil {
		return err
	}
	scaled := net.Amount.Mul(types.IndexScale)
	step := scaled.Quo(supply)
	rev.Index = rev.Index.Add(step)
	// What the index step cannot express exactly stays as dust; whole units go to the community pool.
	rev.DustScaled = rev.DustScaled.Add(scaled.Sub(step.Mul(supply)))
	rev.Paid = rev.Paid.Add(gross.Amount)
	rev.Fees = rev.Fees.Add(fee.Amount)
	rev.Royalties = rev.Royalties.Add(royalty.Amount)
	if whole := rev.DustScaled.Quo(types.IndexScale); whole.IsPositive() {
		rev.DustScaled = rev.DustScaled.Sub(whole.Mul(types.IndexScale))
		rev.DustSwept = rev.DustSwept.Add(whole)
		dust := sdk.NewCoin(gross.Denom, whole)
		if err := k.dk.FundCommunityPool(ctx, sdk.NewCoins(dust), k.moduleAddr); err != nil {
			return err
		}
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDustSwept{ModelId: modelID, Amount: dust}); err != nil {
			return err
		}
	}
	if err := k.Revenues.Set(ctx, modelID, rev); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRevenuePaid{
		ModelId: modelID, Payer: k.addrString(payer), Amount: gross, Fee: fee, Reference: reference, Index: rev.Index.String(), Royalty: royalty,
	})
}

// claim pays holder the whole units it is owed by each model (all its models when none given);
// fractions of a unit stay accrued for later.
func (k *Keeper) claim(ctx context.Context, holder sdk.AccAddress, modelIDs []uint64) (sdk.Coin, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	if len(modelIDs) == 0 {
		rng := collections.NewPrefixedPairRange[sdk.AccAddress, uint64](holder)
		if err := k.Holders.Walk(ctx, rng, func(key collections.Pair[sdk.AccAddress, uint64], _ types.HolderState) (bool, error) {
			modelIDs = append(modelIDs, key.K2())
			return false, nil
		}); err != nil {
			return sdk.Coin{}, err
		}
	}
	total := sdkmath.ZeroInt()
	seen := make(map[uint64]bool, len(modelIDs))
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	for _, id := range modelIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		rev, err := k.Revenues.Get(ctx, id)
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrUnknownModel, "model %d has no shares or revenue", id)
		}
		if err != nil {
			return sdk.Coin{}, err
		}
		st, _, err := k.position(ctx, holder, rev)
		if err != nil {
			return sdk.Coin{}, err
		}
		pay := st.AccruedScaled.Quo(types.IndexScale)
		if !pay.IsPositive() {
			continue
		}
		st.AccruedScaled = st.AccruedScaled.Sub(pay.Mul(types.IndexScale))
		rev.Claimed = rev.Claimed.Add(pay)
		if err := k.Holders.Set(ctx, collections.Join(holder, id), st); err != nil {
			return sdk.Coin{}, err
		}
		if err := k.Revenues.Set(ctx, id, rev); err != nil {
			return sdk.Coin{}, err
		}
		if err := k.Dirty.Set(ctx, collections.Join(id, holder)); err != nil {
			return sdk.Coin{}, err
		}
		total = total.Add(pay)
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventRevenueClaimed{
			ModelId: id, Holder: st.Holder, Amount: sdk.NewCoin(p.RevenueDenom, pay),
		}); err != nil {
			return sdk.Coin{}, err
		}
	}
	paid := sdk.NewCoin(p.RevenueDenom, total)
	if !total.IsPositive() {
		return paid, errorsmod.Wrapf(types.ErrNothingToClaim, "%s is owed nothing by models %v", k.addrString(holder), modelIDs)
	}
	return paid, k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, holder, sdk.NewCoins(paid))
}

// Claimable is what a claim by holder on model would pay now, without changing anything.
func (k *Keeper) Claimable(ctx context.Context, modelID uint64, holder sdk.AccAddress) (sdkmath.Int, error) {
	rev, err := k.revenue(ctx, modelID)
	if err != nil {
		return sdkmath.Int{}, err
	}
	st, _, err := k.position(ctx, holder, rev)
	if err != nil {
		return sdkmath.Int{}, err
	}
	return st.AccruedScaled.Quo(types.IndexScale), nil
}
