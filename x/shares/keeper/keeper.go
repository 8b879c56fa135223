// Package keeper holds the state of x/shares: per-model revenue accounts and per-holder
// settlement records, kept exact and O(1) per payment, transfer and claim.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/internal/addresses"
	"github.com/protolearn/protolearn/x/shares/types"
)

// Keeper owns the x/shares store.
type Keeper struct {
	cdc       codec.BinaryCodec
	ak        types.AccountKeeper
	bk        types.BankKeeper
	dk        types.DistributionKeeper
	models    types.ModelsKeeper
	hooks     []types.BalanceHooks
	moveHooks []types.MoveHooks
	logger    log.Logger
	authority string
	// moduleAddr never takes part in settlement: it holds shares only between mint and send.
	moduleAddr sdk.AccAddress

	Schema   collections.Schema
	Params   collections.Item[types.Params]
	Revenues collections.Map[uint64, types.ModelRevenue]
	// Holders is keyed by (holder, model) so that one holder's positions are one prefix.
	Holders collections.Map[collections.Pair[sdk.AccAddress, uint64], types.HolderState]
	// ByBalance orders each model's holders by balance (32-byte big-endian) for the holders query.
	ByBalance collections.KeySet[collections.Triple[uint64, []byte, sdk.AccAddress]]
	// Indexed remembers the balance key each holder is indexed under, to replace it.
	Indexed collections.Map[collections.Pair[uint64, sdk.AccAddress], []byte]
	// Dirty are (model, holder) pairs whose balance moved this block; EndBlock re-indexes them.
	Dirty collections.KeySet[collections.Pair[uint64, sdk.AccAddress]]
}

// NewKeeper builds the keeper. The models keeper may be set later with SetModelsKeeper when the
// two modules are built in an order that needs it.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	ak types.AccountKeeper,
	bk types.BankKeeper,
	dk types.DistributionKeeper,
	authority string,
	logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/shares: invalid authority address %q: %v", authority, err))
	}
	moduleAddr := ak.GetModuleAddress(types.ModuleName)
	if moduleAddr == nil {
		panic("x/shares: module account is not set; add it (Minter) to the app's module account permissions")
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc: cdc, ak: ak, bk: bk, dk: dk, authority: authority, moduleAddr: moduleAddr,
		logger:   logger.With(log.ModuleKey, "x/"+types.ModuleName),
		Params:   collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Revenues: collections.NewMap(sb, types.RevenuesKey, "revenues", collections.Uint64Key, codec.CollValue[types.ModelRevenue](cdc)),
		Holders: collections.NewMap(sb, types.HoldersKey, "holders",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), codec.CollValue[types.HolderState](cdc)),
		ByBalance: collections.NewKeySet(sb, types.HoldersByBalance, "holders_by_balance",
			collections.TripleKeyCodec(collections.Uint64Key, collections.BytesKey, sdk.AccAddressKey)),
		Indexed: collections.NewMap(sb, types.IndexedBalances, "indexed_balances",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), collections.BytesValue),
		Dirty: collections.NewKeySet(sb, types.DirtyHoldersKey, "dirty_holders",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/shares: building store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// AddBalanceHooks adds a listener for moved share balances (called from EndBlock).
func (k *Keeper) AddBalanceHooks(h types.BalanceHooks) { k.hooks = append(k.hooks, h) }

// AddMoveHooks adds a listener for share balances about to move (called from the send
// restriction, before the bank moves them).
func (k *Keeper) AddMoveHooks(h types.MoveHooks) { k.moveHooks = append(k.moveHooks, h) }

// SetModelsKeeper gives the keeper its view of x/models; it must be called once before use.
func (k *Keeper) SetModelsKeeper(m types.ModelsKeeper) {
	if k.models != nil {
		panic("x/shares: models keeper already set")
	}
	k.models = m
}

// Authority is the address allowed to change params.
func (k *Keeper) Authority() string { return k.authority }

// GetParams returns the current params.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) { return k.Params.Get(ctx) }

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}

// modelInfo asks x/models about a model, as ErrUnknownModel when it does not exist.
func (k *Keeper) modelInfo(ctx context.Context, modelID uint64) (types.ModelInfo, error) {
	if k.models == nil {
		return types.ModelInfo{}, fmt.Errorf("x/shares: models keeper not set")
	}
	info, err := k.models.ModelInfo(ctx, modelID)
	if err != nil {
		return info, errorsmod.Wrapf(types.ErrUnknownModel, "model %d: %v", modelID, err)
	}
	return info, nil
}

// revenue returns model's revenue account, a zero one if it has none yet.
func (k *Keeper) revenue(ctx context.Context, modelID uint64) (types.ModelRevenue, error) {
	r, err := k.Revenues.Get(ctx, modelID)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		zero := sdkmath.ZeroInt()
		return types.ModelRevenue{ModelId: modelID, Index: zero, Paid: zero, Fees: zero, Claimed: zero, DustScaled: zero, DustSwept: zero, Royalties: zero}, nil
	}
	return r, err
}

// ensureRevenue returns model's revenue account, storing a zero one first if it has none: every
// model with shares, and every holder record, has one.
func (k *Keeper) ensureRevenue(ctx context.Context, modelID uint64) (types.ModelRevenue, error) {
	has, err := k.Revenues.Has(ctx, modelID)
	if err != nil {
		return types.ModelRevenue{}, err
	}
	rev, err := k.revenue(ctx, modelID)
	if err != nil || has {
		return rev, err
	}
	return rev, k.Revenues.Set(ctx, modelID, rev)
}

// EnsureShareMetadata registers the bank metadata of share/N, so wallets and explorers name it.
func (k *Keeper) EnsureShareMetadata(ctx context.Context, modelID uint64, modelName string) {
	denom := types.ShareDenom(modelID)
	if k.bk.HasDenomMetaData(ctx, denom) {
		return
	}
	display := types.ShareDisplay(modelID)
	k.bk.SetDenomMetaData(ctx, banktypesMetadata(denom, display, modelID, modelName))
}

// RegisterShareDenom registers share/N's bank metadata with the model's name.
func (k *Keeper) RegisterShareDenom(ctx context.Context, modelID uint64) error {
	info, err := k.modelInfo(ctx, modelID)
	if err != nil {
		return err
	}
	k.EnsureShareMetadata(ctx, modelID, info.Name)
	return nil
}
