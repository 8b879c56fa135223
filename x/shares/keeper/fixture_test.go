package keeper_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/x/internal/banktest"
	"github.com/protolearn/protolearn/x/shares"
	"github.com/protolearn/protolearn/x/shares/keeper"
	"github.com/protolearn/protolearn/x/shares/types"
)

const (
	denom     = "ulearn"
	community = "distribution" // the fake community pool's module account
)

// fixture is x/shares over real auth and bank keepers (with its send restriction installed),
// a community pool that is a plain module account, and models known by id.
type fixture struct {
	t      *testing.T
	ctx    sdk.Context
	k      *keeper.Keeper
	msgs   types.MsgServer
	query  types.QueryServer
	bank   bankkeeper.BaseKeeper
	bankMs banktypes.MsgServer
	acc    authkeeper.AccountKeeper
	gov    string
	models fakeModels
	module shares.AppModule
	rng    *rand.Rand
	env    *banktest.Env
}

type fakeModels map[uint64]types.ModelInfo

func (m fakeModels) ModelInfo(_ context.Context, id uint64) (types.ModelInfo, error) {
	info, ok := m[id]
	if !ok {
		return info, fmt.Errorf("no model %d", id)
	}
	return info, nil
}

type fakeDistribution struct{ bank bankkeeper.BaseKeeper }

func (d fakeDistribution) FundCommunityPool(ctx context.Context, amt sdk.Coins, sender sdk.AccAddress) error {
	return d.bank.SendCoinsFromAccountToModule(ctx, sender, community, amt)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	gs := types.DefaultGenesis()
	gs.Params.RevenueDenom = denom
	return newFixtureFrom(t, gs, nil, nil)
}

// newFixtureFrom starts from gs, with balances already in bank (as bank genesis would put them)
// and models already known (as x/models genesis, loaded first, would make them).
func newFixtureFrom(t *testing.T, gs *types.GenesisState, balances map[string]sdk.Coins, known fakeModels) *fixture {
	t.Helper()
	env := banktest.New(t, map[string][]string{types.ModuleName: {authtypes.Minter}, community: nil},
		[]string{types.StoreKey}, shares.AppModule{})
	k := keeper.NewKeeper(env.Codec, env.StoreService(types.StoreKey), env.Account, env.Bank, fakeDistribution{env.Bank}, env.Gov, log.NewNopLogger())
	models := fakeModels{}
	for id, info := range known {
		models[id] = info
	}
	k.SetModelsKeeper(models)
	env.Bank.AppendSendRestriction(k.SendRestriction)

	// Bank genesis: balances appear without any send (so without settlement), as on a real chain.
	bankGen := banktypes.DefaultGenesisState()
	for addr, coins := range balances {
		bankGen.Balances = append(bankGen.Balances, banktypes.Balance{Address: addr, Coins: coins})
	}
	env.Bank.InitGenesis(env.Ctx, bankGen) // bank sums the supply from the balances
	require.NoError(t, k.InitGenesis(env.Ctx, gs))
	return &fixture{
		t: t, ctx: env.Ctx, k: k, msgs: keeper.NewMsgServerImpl(k), query: keeper.NewQueryServerImpl(k),
		bank: env.Bank, bankMs: bankkeeper.NewMsgServerImpl(env.Bank), acc: env.Account, gov: env.Gov, models: models,
		module: shares.NewAppModule(env.Codec, k), rng: rand.New(rand.NewSource(7)), env: env,
	}
}

func (f *fixture) addr() sdk.AccAddress {
	b := make([]byte, 20)
	_, _ = f.rng.Read(b)
	return b
}

// model registers a model with a designer taking bps on top of each mint.
func (f *fixture) model(id uint64, bps uint32) sdk.AccAddress {
	designer := f.addr()
	f.models[id] = types.ModelInfo{Name: fmt.Sprintf("tiny-%d", id), Designer: designer, DesignerBps: bps}
	return designer
}

// fund gives addr amount ulearn.
func (f *fixture) fund(addr sdk.AccAddress, amount int64) {
	f.t.Helper()
	f.env.Fund(f.t, addr, sdk.NewCoins(sdk.NewInt64Coin(denom, amount)))
}

func (f *fixture) mint(model uint64, to sdk.AccAddress, units uint64) {
	f.t.Helper()
	_, _, err := f.k.MintForWork(f.ctx, model, to, units)
	require.NoError(f.t, err)
}

func (f *fixture) pay(model uint64, amount int64) *types.MsgPayRevenueResponse {
	f.t.Helper()
	payer := f.addr()
	f.fund(payer, amount)
	res, err := f.msgs.PayRevenue(f.ctx, &types.MsgPayRevenue{Payer: payer.String(), ModelId: model, Amount: sdk.NewInt64Coin(denom, amount)})
	require.NoError(f.t, err)
	return res
}

// send moves shares with a real bank MsgSend, as a wallet would.
func (f *fixture) send(model uint64, from, to sdk.AccAddress, amount int64) {
	f.t.Helper()
	_, err := f.bankMs.Send(f.ctx, banktypes.NewMsgSend(from, to, sdk.NewCoins(sdk.NewInt64Coin(types.ShareDenom(model), amount))))
	require.NoError(f.t, err)
}

func (f *fixture) claim(holder sdk.AccAddress, models ...uint64) int64 {
	f.t.Helper()
	res, err := f.msgs.ClaimRevenue(f.ctx, &types.MsgClaimRevenue{Holder: holder.String(), ModelIds: models})
	require.NoError(f.t, err)
	return res.Amount.Amount.Int64()
}

func (f *fixture) claimable(model uint64, holder sdk.AccAddress) int64 {
	f.t.Helper()
	c, err := f.k.Claimable(f.ctx, model, holder)
	require.NoError(f.t, err)
	return c.Int64()
}

func (f *fixture) shares(model uint64, holder sdk.AccAddress) sdkmath.Int {
	return f.bank.GetBalance(f.ctx, holder, types.ShareDenom(model)).Amount
}

func (f *fixture) balance(addr sdk.AccAddress) int64 {
	return f.bank.GetBalance(f.ctx, addr, denom).Amount.Int64()
}

func (f *fixture) communityPool() int64 { return f.balance(f.acc.GetModuleAddress(community)) }

// endBlock runs the module's EndBlock and checks every invariant.
func (f *fixture) endBlock() {
	f.t.Helper()
	require.NoError(f.t, f.module.EndBlock(f.ctx))
	require.NoError(f.t, f.k.CheckInvariants(f.ctx))
	f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1)
}

func sdkAddr(t *testing.T, s string) sdk.AccAddress {
	t.Helper()
	a, err := sdk.AccAddressFromBech32(s)
	require.NoError(t, err)
	return a
}
