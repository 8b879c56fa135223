package keeper_test

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"

	"github.com/protolearn/protolearn/x/compute"
	"github.com/protolearn/protolearn/x/compute/keeper"
	computetestutil "github.com/protolearn/protolearn/x/compute/testutil"
	"github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/internal/banktest"
)

const denom = "ulearn"

// fixture is x/compute with real auth and bank keepers over an in-memory store.
type fixture struct {
	t      *testing.T
	ctx    sdk.Context
	k      *keeper.Keeper
	msgs   types.MsgServer
	query  types.QueryServer
	bank   bankkeeper.BaseKeeper
	acc    authkeeper.AccountKeeper
	gov    string
	hooks  *recordingHooks
	module compute.AppModule
	peers  *rand.Rand
	env    *banktest.Env
}

// recordingHooks remembers every status change and bonded decrease the keeper announced.
type recordingHooks struct {
	changes   []statusChange
	decreases []sdk.Coin
}

type statusChange struct {
	operator string
	from, to types.WorkerStatus
}

func (h *recordingHooks) AfterBondedDecreased(_ context.Context, _ sdk.AccAddress, bonded sdk.Coin) error {
	h.decreases = append(h.decreases, bonded)
	return nil
}

func (h *recordingHooks) AfterWorkerStatusChanged(_ context.Context, op sdk.AccAddress, from, to types.WorkerStatus) error {
	h.changes = append(h.changes, statusChange{op.String(), from, to})
	return nil
}

// fixtureParams are short enough to step through in tests.
func fixtureParams() types.Params {
	p := types.DefaultParams()
	p.MinWorkerStake = sdk.NewInt64Coin(denom, 1000)
	p.UnbondingTime = 10 * time.Minute
	p.JailDuration = time.Hour
	p.MaxUnbondingEntries = 3
	return p
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	gs := types.DefaultGenesis()
	gs.Params = fixtureParams()
	return newFixtureFrom(t, gs, nil)
}

// newFixtureFrom starts from gs, with escrow already in the module account (as bank genesis would).
func newFixtureFrom(t *testing.T, gs *types.GenesisState, escrow sdk.Coins) *fixture {
	t.Helper()
	env := banktest.New(t, map[string][]string{types.ModuleName: {authtypes.Burner}, "receiver": nil},
		[]string{types.StoreKey}, compute.AppModule{})
	k := keeper.NewKeeper(env.Codec, env.StoreService(types.StoreKey), env.Account, env.Bank, env.Gov, log.NewNopLogger())
	hooks := &recordingHooks{}
	k.SetHooks(hooks)
	env.FundModule(t, types.ModuleName, escrow)
	require.NoError(t, k.InitGenesis(env.Ctx, gs))

	return &fixture{
		t: t, ctx: env.Ctx, k: k, msgs: keeper.NewMsgServerImpl(k), query: keeper.NewQueryServerImpl(k),
		bank: env.Bank, acc: env.Account, gov: env.Gov, hooks: hooks, module: compute.NewAppModule(env.Codec, k),
		peers: rand.New(rand.NewSource(1)), env: env,
	}
}

// account returns a fresh address funded with amount ulearn.
func (f *fixture) account(amount int64) sdk.AccAddress {
	f.t.Helper()
	addr := sdk.AccAddress(randomBytes(f.peers, 20))
	f.env.Fund(f.t, addr, sdk.NewCoins(sdk.NewInt64Coin(denom, amount)))
	return addr
}

// peerID returns a valid, fresh libp2p peer id, reproducible from the fixture's seed.
func (f *fixture) peerID() string { return computetestutil.NewPeerID(f.t, f.peers) }

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func (f *fixture) registerMsg(op sdk.AccAddress, stake int64) *types.MsgRegisterWorker {
	return &types.MsgRegisterWorker{
		Operator:   op.String(),
		PeerId:     f.peerID(),
		Multiaddrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"},
		Hardware:   types.Hardware{Accelerator: "H100-80GB", MemoryGib: 80, BandwidthMbps: 1000},
		Stake:      sdk.NewInt64Coin(denom, stake),
	}
}

// register funds a new operator with funds and registers it with stake.
func (f *fixture) register(funds, stake int64) sdk.AccAddress {
	f.t.Helper()
	op := f.account(funds)
	_, err := f.msgs.RegisterWorker(f.ctx, f.registerMsg(op, stake))
	require.NoError(f.t, err)
	return op
}

func (f *fixture) worker(op sdk.AccAddress) types.Worker {
	f.t.Helper()
	w, err := f.k.GetWorker(f.ctx, op)
	require.NoError(f.t, err)
	return w
}

func (f *fixture) balance(addr sdk.AccAddress) int64 {
	return f.bank.GetBalance(f.ctx, addr, denom).Amount.Int64()
}

func (f *fixture) moduleBalance() int64 {
	return f.balance(f.acc.GetModuleAddress(types.ModuleName))
}

func (f *fixture) supply() int64 { return f.bank.GetSupply(f.ctx, denom).Amount.Int64() }

// advance moves block time and height forward and runs the module's EndBlock.
func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1).WithBlockTime(f.ctx.BlockTime().Add(d))
	require.NoError(f.t, f.module.EndBlock(f.ctx))
}

// owed is everything the module account must hold: bonded plus unbonding balances.
func (f *fixture) owed() int64 {
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(f.t, err)
	total := sdkmath.ZeroInt()
	for _, w := range gs.Workers {
		total = total.Add(w.Bonded.Amount)
	}
	for _, e := range gs.UnbondingEntries {
		total = total.Add(e.Balance.Amount)
	}
	return total.Int64()
}

// requireSolvent checks the module account holds exactly what workers are owed.
func (f *fixture) requireSolvent() {
	f.t.Helper()
	require.Equal(f.t, f.owed(), f.moduleBalance(), "module account must hold exactly bonded + unbonding stake")
}
