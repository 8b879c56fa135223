package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/keeper"
	"github.com/protolearn/protolearn/x/compute/types"
)

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	a := f.register(10_000, 3000)
	b := f.register(10_000, 1500)
	c := f.register(10_000, 1000)
	unbond(t, f, a, 400)
	f.advance(time.Minute)
	unbond(t, f, a, 100)
	unbond(t, f, b, 1000) // b falls below the minimum
	require.NoError(t, f.k.Jail(f.ctx, c, "test"))
	_, err := f.k.Slash(f.ctx, c, sdkmath.LegacyMustNewDecFromStr("0.1"), "test", keeper.BurnSlashed())
	require.NoError(t, err)

	retired := f.worker(a).PeerId
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: a.String(), PeerId: f.peerID()})
	require.NoError(t, err)

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.Len(t, exported.Workers, 3)
	require.Equal(t, []types.RetiredPeer{{PeerId: retired, Operator: a.String()}}, exported.RetiredPeers)
	require.Len(t, exported.UnbondingEntries, 3)
	require.Equal(t, uint64(4), exported.NextUnbondingId)

	// A fresh chain whose bank holds the escrowed coins imports it and exports the same state.
	g := newFixtureFrom(t, exported, sdk.NewCoins(sdk.NewInt64Coin(denom, f.moduleBalance())))
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)

	// The imported state behaves: the entries mature on schedule and the peer index works.
	_, err = g.query.WorkerByPeerId(g.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: f.worker(b).PeerId})
	require.NoError(t, err)
	g.ctx = g.ctx.WithBlockTime(f.ctx.BlockTime())
	g.advance(time.Hour)
	require.Equal(t, int64(1000), g.balance(b), "b's account starts empty here; its unbonding 1000 arrives")
	g.requireSolvent()
}

func TestInitGenesisRefusesUnbackedStake(t *testing.T) {
	f := newFixture(t)
	f.register(10_000, 3000)
	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)

	g := newFixture(t) // a chain whose module account holds nothing
	err = g.k.InitGenesis(g.ctx, exported)
	require.ErrorContains(t, err, "module account holds 0ulearn but workers are owed 3000ulearn")
}

func TestGenesisValidateNamesTheProblem(t *testing.T) {
	f := newFixture(t)
	a := f.register(10_000, 3000)
	f.register(10_000, 3000)
	unbond(t, f, a, 100)
	good, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, good.Validate())

	cases := map[string]func(gs *types.GenesisState){
		"operator .* listed twice":               func(gs *types.GenesisState) { gs.Workers[1].Operator = gs.Workers[0].Operator },
		"peer id .* used by two workers":         func(gs *types.GenesisState) { gs.Workers[1].PeerId = gs.Workers[0].PeerId },
		"workers\\[0\\].*invalid libp2p peer id": func(gs *types.GenesisState) { gs.Workers[0].PeerId = "nope" },
		"bonded denom \"uatom\"":                 func(gs *types.GenesisState) { gs.Workers[0].Bonded.Denom = "uatom" },
		"status 0 is not a worker status":        func(gs *types.GenesisState) { gs.Workers[0].Status = 0 },
		"id 2 must be in":                        func(gs *types.GenesisState) { gs.NextUnbondingId = 2; gs.UnbondingEntries[0].Id = 2 },
		"has no worker":                          func(gs *types.GenesisState) { gs.UnbondingEntries[0].Operator = f.account(1).String() },
		"exceeds initial":                        func(gs *types.GenesisState) { gs.UnbondingEntries[0].Balance.Amount = sdkmath.NewInt(101) },
		"params: min_worker_stake":               func(gs *types.GenesisState) { gs.Params.MinWorkerStake.Amount = sdkmath.ZeroInt() },
		"next_unbonding_id":                      func(gs *types.GenesisState) { gs.NextUnbondingId = 0 },
	}
	for want, mutate := range cases {
		gs, err := f.k.ExportGenesis(f.ctx)
		require.NoError(t, err)
		mutate(gs)
		require.Regexp(t, want, gs.Validate().Error())
	}
}
