// Package banktest builds what every module keeper test needs under its keeper: real auth and
// bank keepers over an in-memory store, a block context, and a "mint" module account to fund
// test accounts from.
package banktest

import (
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"cosmossdk.io/core/store"
	"cosmossdk.io/log"
	storetypes "cosmossdk.io/store/types"

	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/bank"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// Minter is the module account Fund mints from.
const Minter = "mint"

// Env is auth and bank over an in-memory store at height 1, 2026-01-01 UTC.
type Env struct {
	Ctx     sdk.Context
	Codec   codec.Codec
	Account authkeeper.AccountKeeper
	Bank    bankkeeper.BaseKeeper
	// Gov is the authority address (the gov module account).
	Gov  string
	keys map[string]*storetypes.KVStoreKey
}

// New mounts auth, bank and storeKeys, registers modules' types in the codec, and creates the
// module accounts of maccPerms (plus Minter).
func New(t testing.TB, maccPerms map[string][]string, storeKeys []string, modules ...module.AppModuleBasic) *Env {
	t.Helper()
	cdc := moduletestutil.MakeTestEncodingConfig(append([]module.AppModuleBasic{auth.AppModuleBasic{}, bank.AppModuleBasic{}}, modules...)...).Codec
	keys := storetypes.NewKVStoreKeys(append([]string{authtypes.StoreKey, banktypes.StoreKey}, storeKeys...)...)
	ctx := testutil.DefaultContextWithKeys(keys, nil, nil).
		WithBlockHeader(cmtproto.Header{Height: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})

	perms := map[string][]string{Minter: {authtypes.Minter}}
	for name, p := range maccPerms {
		perms[name] = p
	}
	prefix := sdk.GetConfig().GetBech32AccountAddrPrefix()
	gov := authtypes.NewModuleAddress("gov").String()
	acc := authkeeper.NewAccountKeeper(cdc, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		perms, addresscodec.NewBech32Codec(prefix), prefix, gov)
	bk := bankkeeper.NewBaseKeeper(cdc, runtime.NewKVStoreService(keys[banktypes.StoreKey]), acc, nil, gov, log.NewNopLogger())
	return &Env{Ctx: ctx, Codec: cdc, Account: acc, Bank: bk, Gov: gov, keys: keys}
}

// StoreService is the KV store of one of the store keys given to New.
func (e *Env) StoreService(key string) store.KVStoreService {
	return runtime.NewKVStoreService(e.keys[key])
}

// Fund mints coins into addr.
func (e *Env) Fund(t testing.TB, addr sdk.AccAddress, coins sdk.Coins) {
	t.Helper()
	if coins.IsZero() {
		return
	}
	if err := e.Bank.MintCoins(e.Ctx, Minter, coins); err != nil {
		t.Fatalf("minting %s: %v", coins, err)
	}
	if err := e.Bank.SendCoinsFromModuleToAccount(e.Ctx, Minter, addr, coins); err != nil {
		t.Fatalf("funding %s with %s: %v", addr, coins, err)
	}
}

// FundModule mints coins into a module account.
func (e *Env) FundModule(t testing.TB, name string, coins sdk.Coins) {
	t.Helper()
	if coins.IsZero() {
		return
	}
	if err := e.Bank.MintCoins(e.Ctx, Minter, coins); err != nil {
		t.Fatalf("minting %s: %v", coins, err)
	}
	if err := e.Bank.SendCoinsFromModuleToModule(e.Ctx, Minter, name, coins); err != nil {
		t.Fatalf("funding module %s with %s: %v", name, coins, err)
	}
}
