package keeper_test

import (
	"context"
	"math/rand"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/log"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"

	"github.com/protolearn/protolearn/x/compute"
	computekeeper "github.com/protolearn/protolearn/x/compute/keeper"
	computetestutil "github.com/protolearn/protolearn/x/compute/testutil"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/internal/banktest"
	"github.com/protolearn/protolearn/x/models"
	"github.com/protolearn/protolearn/x/models/keeper"
	"github.com/protolearn/protolearn/x/models/types"
)

const denom = "ulearn"

// fixture is x/models over the real x/compute, auth and bank keepers on an in-memory store, with
// x/compute's hooks wired to x/models as the app wires them.
type fixture struct {
	t           *testing.T
	ctx         sdk.Context
	k           *keeper.Keeper
	msgs        types.MsgServer
	query       types.QueryServer
	compute     *computekeeper.Keeper
	computeMsgs computetypes.MsgServer
	bank        bankkeeper.BaseKeeper
	gov         string
	hooks       *recordingHooks
	module      models.AppModule
	rand        *rand.Rand
	env         *banktest.Env
}

// recordingHooks remembers every model x/models announced.
type recordingHooks struct{ created []uint64 }

func (h *recordingHooks) AfterModelCreated(_ context.Context, id uint64) error {
	h.created = append(h.created, id)
	return nil
}

// computeParams make a worker cheap: min_worker_stake 1000ulearn.
func computeParams() computetypes.Params {
	p := computetypes.DefaultParams()
	p.MinWorkerStake = sdk.NewInt64Coin(denom, 1000)
	p.UnbondingTime = 10 * time.Minute
	p.JailDuration = time.Hour
	return p
}

// modelsParams are small enough to hit every bound in tests.
func modelsParams() types.Params {
	return types.Params{MaxStages: 8, MaxReplicasLimit: 4, MaxNameLength: 32}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cgs := computetypes.DefaultGenesis()
	cgs.Params = computeParams()
	mgs := types.DefaultGenesis()
	mgs.Params = modelsParams()
	return newFixtureFrom(t, cgs, mgs, nil)
}

// newFixtureFrom starts from the genesis of both modules, x/compute's first, with escrow already in
// x/compute's module account (as bank genesis would).
func newFixtureFrom(t *testing.T, cgs *computetypes.GenesisState, mgs *types.GenesisState, escrow sdk.Coins) *fixture {
	t.Helper()
	env := banktest.New(t, map[string][]string{computetypes.ModuleName: {authtypes.Burner}},
		[]string{computetypes.StoreKey, types.StoreKey}, compute.AppModule{}, models.AppModule{})
	ck := computekeeper.NewKeeper(env.Codec, env.StoreService(computetypes.StoreKey), env.Account, env.Bank, env.Gov, log.NewNopLogger())
	k := keeper.NewKeeper(env.Codec, env.StoreService(types.StoreKey), env.Account, ck, env.Gov, log.NewNopLogger())
	ck.SetHooks(k.ComputeHooks())
	hooks := &recordingHooks{}
	k.SetHooks(hooks)

	env.FundModule(t, computetypes.ModuleName, escrow)
	require.NoError(t, ck.InitGenesis(env.Ctx, cgs))
	require.NoError(t, k.InitGenesis(env.Ctx, mgs))

	return &fixture{
		t: t, ctx: env.Ctx, k: k, msgs: keeper.NewMsgServerImpl(k), query: keeper.NewQueryServerImpl(k),
		compute: ck, computeMsgs: computekeeper.NewMsgServerImpl(ck), bank: env.Bank, gov: env.Gov, hooks: hooks,
		module: models.NewAppModule(env.Codec, k), rand: rand.New(rand.NewSource(1)), env: env,
	}
}

// account returns a fresh address funded with amount ulearn.
func (f *fixture) account(amount int64) sdk.AccAddress {
	f.t.Helper()
	b := make([]byte, 20)
	_, _ = f.rand.Read(b)
	addr := sdk.AccAddress(b)
	f.env.Fund(f.t, addr, sdk.NewCoins(sdk.NewInt64Coin(denom, amount)))
	return addr
}

// worker registers a new x/compute worker with stake bonded and as much again in its account.
func (f *fixture) worker(stake int64) sdk.AccAddress {
	f.t.Helper()
	op := f.account(2 * stake)
	_, err := f.computeMsgs.RegisterWorker(f.ctx, &computetypes.MsgRegisterWorker{
		Operator:   op.String(),
		PeerId:     f.peerID(),
		Multiaddrs: []string{"/ip4/127.0.0.1/tcp/4001"},
		Hardware:   computetypes.Hardware{Accelerator: "H100-80GB", MemoryGib: 80, BandwidthMbps: 1000},
		Stake:      sdk.NewInt64Coin(denom, stake),
	})
	require.NoError(f.t, err)
	return op
}

// createMsg is a valid model: 8 layers in 4 stages of 2, a seat costs 2000ulearn, at most 3
// replicas per stage, done at 100 work units.
func createMsg(designer sdk.AccAddress) *types.MsgCreateModel {
	return &types.MsgCreateModel{
		Designer:            designer.String(),
		Name:                "tiny-go-lm",
		Arch:                types.Architecture{Vocab: 256, DModel: 64, NLayers: 8, NHeads: 4, SeqLen: 32, CompressionRank: 8},
		Stages:              []types.StageSpec{{Layers: 2}, {Layers: 2}, {Layers: 2}, {Layers: 2}},
		Seed:                42,
		DatasetCommitment:   root(0xda),
		SubspaceRoot:        root(0x01), // a canonical field element
		DesignerBps:         500,
		MinStake:            sdk.NewInt64Coin(denom, 2000),
		MaxReplicasPerStage: 3,
		TargetWorkUnits:     100,
	}
}

// createModel creates createMsg, changed by mutate, and returns its id.
func (f *fixture) createModel(mutate func(*types.MsgCreateModel)) uint64 {
	f.t.Helper()
	msg := createMsg(f.account(0))
	if mutate != nil {
		mutate(msg)
	}
	res, err := f.msgs.CreateModel(f.ctx, msg)
	require.NoError(f.t, err)
	return res.ModelId
}

func (f *fixture) join(op sdk.AccAddress, modelID uint64, stage uint32) error {
	_, err := f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: op.String(), ModelId: modelID, Stage: stage})
	return err
}

func (f *fixture) mustJoin(op sdk.AccAddress, modelID uint64, stage uint32) {
	f.t.Helper()
	require.NoError(f.t, f.join(op, modelID, stage))
}

// fill seats a new worker in every stage of a model, which starts its training.
func (f *fixture) fill(modelID uint64) []sdk.AccAddress {
	f.t.Helper()
	m := f.model(modelID)
	ops := make([]sdk.AccAddress, m.NumStages())
	for s := range ops {
		ops[s] = f.worker(5000)
		f.mustJoin(ops[s], modelID, uint32(s))
	}
	return ops
}

func (f *fixture) commit(op sdk.AccAddress, modelID uint64, stage uint32, step uint64, weightsRoot []byte) error {
	_, err := f.msgs.CommitCheckpoint(f.ctx, &types.MsgCommitCheckpoint{
		Operator: op.String(), ModelId: modelID, Stage: stage, Step: step, WeightsRoot: weightsRoot,
	})
	return err
}

func (f *fixture) model(id uint64) types.Model {
	f.t.Helper()
	m, err := f.k.GetModel(f.ctx, id)
	require.NoError(f.t, err)
	return m
}

func (f *fixture) stageOf(modelID uint64, op sdk.AccAddress) (uint32, bool) {
	f.t.Helper()
	stage, seated, err := f.k.StageOf(f.ctx, modelID, op)
	require.NoError(f.t, err)
	return stage, seated
}

func (f *fixture) roster(modelID uint64, stage uint32) []string {
	f.t.Helper()
	res, err := f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: modelID, Stage: stage})
	require.NoError(f.t, err)
	var ops []string
	for _, r := range res.Replicas {
		ops = append(ops, r.Operator)
	}
	return ops
}

// root is a 32-byte hash made of b.
func root(b byte) []byte {
	r := make([]byte, types.CommitmentLen)
	for i := range r {
		r[i] = b
	}
	return r
}

// events returns the typed events of type T emitted so far in f.ctx, in order.
func events[T proto.Message](t *testing.T, ctx sdk.Context) []T {
	t.Helper()
	var out []T
	var zero T
	name := proto.MessageName(zero)
	for _, ev := range ctx.EventManager().Events() {
		if ev.Type != name {
			continue
		}
		msg, err := sdk.ParseTypedEvent(abci.Event(ev))
		require.NoError(t, err)
		out = append(out, msg.(T))
	}
	return out
}

// freshEvents gives f.ctx an empty event manager, so a test sees only what follows.
func (f *fixture) freshEvents() { f.ctx = f.ctx.WithEventManager(sdk.NewEventManager()) }

// unbond starts unbonding amount of op's stake in x/compute.
func (f *fixture) unbond(op sdk.AccAddress, amount int64) error {
	_, err := f.computeMsgs.BeginUnbonding(f.ctx, &computetypes.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, amount)})
	return err
}

// unjail returns op's jailed worker to service in x/compute.
func (f *fixture) unjail(op sdk.AccAddress) error {
	_, err := f.computeMsgs.Unjail(f.ctx, &computetypes.MsgUnjail{Operator: op.String()})
	return err
}

// requireInvariants checks both modules' invariants.
func (f *fixture) requireInvariants(where string) {
	f.t.Helper()
	require.NoError(f.t, f.k.CheckInvariants(f.ctx), where)
	require.NoError(f.t, f.compute.CheckInvariants(f.ctx), where)
}

// computeModuleAddr is x/compute's module account, which escrows the workers' stake.
func computeModuleAddr() sdk.AccAddress { return authtypes.NewModuleAddress(computetypes.ModuleName) }

// peerID returns a valid, fresh libp2p peer id, reproducible from the fixture's seed.
func (f *fixture) peerID() string { return computetestutil.NewPeerID(f.t, f.rand) }

func seatKey(model uint64, stage uint32, op sdk.AccAddress) collections.Triple[uint64, uint32, sdk.AccAddress] {
	return collections.Join3(model, stage, op)
}

func pairKey(op sdk.AccAddress, model uint64) collections.Pair[sdk.AccAddress, uint64] {
	return collections.Join(op, model)
}
