package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// Export with revenue outstanding, mid-accrual indices and sub-unit remainders, import into a
// fresh chain holding the same balances: the state is the same and every holder can claim the same.
func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.model(1, 1000)
	f.model(2, 0)
	a, b := f.addr(), f.addr()
	f.mint(1, a, 3)
	f.mint(1, b, 1)
	f.mint(2, b, 2)
	f.pay(1, 777)
	f.send(1, a, b, 500_000)
	f.pay(1, 1001)
	f.pay(2, 50)
	f.claim(a, 1)
	f.endBlock()

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())

	balances := map[string]sdk.Coins{}
	f.bank.IterateAllBalances(f.ctx, func(addr sdk.AccAddress, c sdk.Coin) bool {
		balances[addr.String()] = balances[addr.String()].Add(c)
		return false
	})
	g := newFixtureFrom(t, exported, balances, f.models)
	require.NoError(t, g.k.CheckInvariants(g.ctx))
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)
	for _, h := range []sdk.AccAddress{a, b, f.models[1].Designer} {
		for _, m := range []uint64{1, 2} {
			require.Equal(t, f.claimable(m, h), g.claimable(m, h), "holder %s model %d", h, m)
		}
	}
	holders, err := g.query.Holders(g.ctx, &types.QueryHoldersRequest{ModelId: 1})
	require.NoError(t, err)
	require.Len(t, holders.Holders, 3, "the balance index is rebuilt on import")
}

// Shares given in bank genesis (no x/shares records) earn from genesis on, not before.
func TestGenesisBalancesWithoutRecords(t *testing.T) {
	a, b := sdk.AccAddress("holder-a____________"), sdk.AccAddress("holder-b____________")
	gs := types.DefaultGenesis()
	gs.Params.RevenueDenom = denom
	balances := map[string]sdk.Coins{
		a.String(): sdk.NewCoins(sdk.NewInt64Coin("share/1", 3000)),
		b.String(): sdk.NewCoins(sdk.NewInt64Coin("share/1", 1000)),
	}
	f := newFixtureFrom(t, gs, balances, fakeModels{1: {Name: "genesis-model", Designer: a}})
	require.NoError(t, f.k.CheckInvariants(f.ctx))
	md, ok := f.bank.GetDenomMetaData(f.ctx, "share/1")
	require.True(t, ok)
	require.Contains(t, md.Name, "genesis-model")
	f.pay(1, 2000) // 1900 net
	require.Equal(t, int64(1425), f.claimable(1, a))
	require.Equal(t, int64(475), f.claimable(1, b))
	f.endBlock()
}

func TestGenesisValidateNamesTheProblem(t *testing.T) {
	f := newFixture(t)
	f.model(1, 0)
	f.mint(1, f.addr(), 1)
	f.pay(1, 100)
	f.endBlock()
	cases := map[string]func(gs *types.GenesisState){
		"model 1 listed twice":           func(gs *types.GenesisState) { gs.Revenues = append(gs.Revenues, gs.Revenues[0]) },
		"fees \\+ royalties \\+ claimed": func(gs *types.GenesisState) { gs.Revenues[0].Fees = gs.Revenues[0].Paid.AddRaw(1) },
		"has no revenue record":          func(gs *types.GenesisState) { gs.Holders[0].ModelId = 7 },
		"index must be in":               func(gs *types.GenesisState) { gs.Holders[0].Index = gs.Revenues[0].Index.AddRaw(1) },
		"protocol_fee_bps":               func(gs *types.GenesisState) { gs.Params.ProtocolFeeBps = 20_000 },
		"revenue_denom .* is a share":    func(gs *types.GenesisState) { gs.Params.RevenueDenom = "share/3" },
	}
	for want, mutate := range cases {
		gs, err := f.k.ExportGenesis(f.ctx)
		require.NoError(t, err)
		mutate(gs)
		require.Regexp(t, want, gs.Validate().Error())
	}
}

// Shares of a model x/models does not know could never be explained or earn: genesis refuses them.
func TestGenesisRefusesSharesOfUnknownModels(t *testing.T) {
	f := newFixture(t)
	stray := sdk.NewCoins(sdk.NewInt64Coin("share/9", 5))
	require.NoError(t, f.bank.MintCoins(f.ctx, "mint", stray))
	require.NoError(t, f.bank.SendCoinsFromModuleToAccount(f.ctx, "mint", f.addr(), stray))
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.ErrorContains(t, f.k.InitGenesis(f.ctx, gs), "share/9 is held: model 9")
}
