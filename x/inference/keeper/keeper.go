// Package keeper holds the state of x/inference: model prices, customers' deposits, and how far
// each request has been settled.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/store"
	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/inference/types"
	"github.com/protolearn/protolearn/x/internal/addresses"
)

// Keeper owns the x/inference store.
type Keeper struct {
	cdc        codec.BinaryCodec
	ak         types.AccountKeeper
	bk         types.BankKeeper
	models     types.ModelsKeeper
	shares     types.SharesKeeper
	logger     log.Logger
	authority  string
	moduleAddr sdk.AccAddress

	Schema     collections.Schema
	Params     collections.Item[types.Params]
	Prices     collections.Map[uint64, types.Price]
	Deposits   collections.Map[uint64, types.Deposit]
	DepositSeq collections.Sequence
	// ByCustomer indexes deposits by customer, for the deposits query.
	ByCustomer collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// Settled is the cumulative token count settled per (deposit, request).
	Settled collections.Map[collections.Pair[uint64, string], uint64]
	Usage   collections.Map[uint64, types.Usage]
	// Prune are withdrawn deposits whose settled records EndBlock still has to delete (a few
	// hundred a block: a deposit may have settled very many requests).
	Prune collections.KeySet[uint64]
}

// NewKeeper builds the keeper.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bk types.BankKeeper,
	models types.ModelsKeeper, shares types.SharesKeeper, authority string, logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/inference: invalid authority address %q: %v", authority, err))
	}
	moduleAddr := ak.GetModuleAddress(types.ModuleName)
	if moduleAddr == nil {
		panic("x/inference: module account is not set; add it to the app's module account permissions")
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc: cdc, ak: ak, bk: bk, models: models, shares: shares, authority: authority, moduleAddr: moduleAddr,
		logger:     logger.With(log.ModuleKey, "x/"+types.ModuleName),
		Params:     collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Prices:     collections.NewMap(sb, types.PricesKey, "prices", collections.Uint64Key, codec.CollValue[types.Price](cdc)),
		Deposits:   collections.NewMap(sb, types.DepositsKey, "deposits", collections.Uint64Key, codec.CollValue[types.Deposit](cdc)),
		DepositSeq: collections.NewSequence(sb, types.DepositSeqKey, "deposit_seq"),
		ByCustomer: collections.NewKeySet(sb, types.ByCustomerKey, "by_customer", collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		Settled: collections.NewMap(sb, types.SettledKey, "settled",
			collections.PairKeyCodec(collections.Uint64Key, collections.StringKey), collections.Uint64Value),
		Usage: collections.NewMap(sb, types.UsageKey, "usage", collections.Uint64Key, codec.CollValue[types.Usage](cdc)),
		Prune: collections.NewKeySet(sb, types.PruneKey, "prune", collections.Uint64Key),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/inference: building store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// Authority is the address allowed to change params.
func (k *Keeper) Authority() string { return k.authority }

// GetParams returns the module parameters.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) { return k.Params.Get(ctx) }

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}
