package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/protolearn/protolearn/x/compute/types"
)

func TestRegisterWorker(t *testing.T) {
	f := newFixture(t)
	op := f.account(5000)
	msg := f.registerMsg(op, 1500)
	_, err := f.msgs.RegisterWorker(f.ctx, msg)
	require.NoError(t, err)

	w := f.worker(op)
	require.Equal(t, msg.PeerId, w.PeerId)
	require.Equal(t, msg.Multiaddrs, w.Multiaddrs)
	require.Equal(t, msg.Hardware, w.Hardware)
	require.Equal(t, sdk.NewInt64Coin(denom, 1500), w.Bonded)
	require.Equal(t, types.WORKER_STATUS_ACTIVE, w.Status)
	require.Equal(t, int64(1), w.RegisteredHeight)
	require.Equal(t, int64(3500), f.balance(op), "stake leaves the operator's account")
	require.Equal(t, int64(1500), f.moduleBalance(), "stake is escrowed by the module")
	active, err := f.k.IsActive(f.ctx, op)
	require.NoError(t, err)
	require.True(t, active)
	require.Equal(t, []statusChange{{op.String(), types.WORKER_STATUS_UNSPECIFIED, types.WORKER_STATUS_ACTIVE}}, f.hooks.changes)

	var sawEvent bool
	for _, ev := range f.ctx.EventManager().Events() {
		sawEvent = sawEvent || ev.Type == "protolearn.compute.v1.EventWorkerRegistered"
	}
	require.True(t, sawEvent, "a typed registration event is emitted")
}

func TestRegisterWorkerRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	existing := f.register(5000, 1000)
	takenPeer := f.worker(existing).PeerId

	cases := []struct {
		name   string
		mutate func(m *types.MsgRegisterWorker)
		err    error
		says   string
	}{
		{"zero stake", func(m *types.MsgRegisterWorker) { m.Stake = sdk.NewInt64Coin(denom, 0) }, types.ErrInvalidStake, "must be positive"},
		{"stake below minimum", func(m *types.MsgRegisterWorker) { m.Stake = sdk.NewInt64Coin(denom, 999) }, types.ErrStakeTooLow, "min_worker_stake"},
		{"wrong denom", func(m *types.MsgRegisterWorker) { m.Stake = sdk.NewInt64Coin("uatom", 5000) }, types.ErrWrongDenom, "stake is in \"ulearn\""},
		{"malformed coin", func(m *types.MsgRegisterWorker) { m.Stake = sdk.Coin{Denom: "!!", Amount: m.Stake.Amount} }, types.ErrInvalidStake, "invalid denom"},
		{"empty peer id", func(m *types.MsgRegisterWorker) { m.PeerId = "" }, types.ErrInvalidPeerID, "empty"},
		{"garbage peer id", func(m *types.MsgRegisterWorker) { m.PeerId = "not-a-peer-id" }, types.ErrInvalidPeerID, "not-a-peer-id"},
		{"peer id of another worker", func(m *types.MsgRegisterWorker) { m.PeerId = takenPeer }, types.ErrPeerIDTaken, "own libp2p identity"},
		{"bad multiaddr", func(m *types.MsgRegisterWorker) { m.Multiaddrs = []string{"1.2.3.4:4001"} }, types.ErrInvalidMultiaddr, "/ip4/"},
		{"duplicate multiaddr", func(m *types.MsgRegisterWorker) { m.Multiaddrs = []string{"/ip4/1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/1"} }, types.ErrInvalidMultiaddr, "twice"},
		{"too many multiaddrs", func(m *types.MsgRegisterWorker) {
			m.Multiaddrs = nil
			for i := 0; i < types.DefaultMaxMultiaddrs+1; i++ {
				m.Multiaddrs = append(m.Multiaddrs, "/ip4/10.0.0.1/tcp/"+string(rune('0'+i%10))+string(rune('0'+i/10)))
			}
		}, types.ErrInvalidMultiaddr, "at most"},
		{"no accelerator", func(m *types.MsgRegisterWorker) { m.Hardware.Accelerator = "" }, types.ErrInvalidHardware, "accelerator"},
		{"no memory", func(m *types.MsgRegisterWorker) { m.Hardware.MemoryGib = 0 }, types.ErrInvalidHardware, "memory_gib"},
		{"no bandwidth", func(m *types.MsgRegisterWorker) { m.Hardware.BandwidthMbps = 0 }, types.ErrInvalidHardware, "bandwidth_mbps"},
		{"bad operator", func(m *types.MsgRegisterWorker) { m.Operator = "learn1notanaddress" }, types.ErrInvalidAddress, "operator"},
		{"empty operator", func(m *types.MsgRegisterWorker) { m.Operator = "" }, types.ErrInvalidAddress, "empty"},
		{"duplicate registration", func(m *types.MsgRegisterWorker) { m.Operator = existing.String() }, types.ErrWorkerExists, "already"},
		{"stake beyond balance", func(m *types.MsgRegisterWorker) { m.Stake = sdk.NewInt64Coin(denom, 1_000_000) }, sdkerrors.ErrInsufficientFunds, "escrowing stake"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := f.account(5000)
			msg := f.registerMsg(op, 2000)
			tc.mutate(msg)
			before := f.moduleBalance()
			_, err := f.msgs.RegisterWorker(f.ctx, msg)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.says)
			require.Equal(t, before, f.moduleBalance(), "a refused registration moves no coins")
			_, err = f.k.GetWorker(f.ctx, op)
			require.ErrorIs(t, err, types.ErrWorkerNotFound)
		})
	}
	require.Equal(t, takenPeer, f.worker(existing).PeerId, "the existing worker is untouched")
}

func TestUpdateWorker(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 1000)
	other := f.register(5000, 1000)

	newPeer, oldPeer := f.peerID(), f.worker(op).PeerId
	hw := types.Hardware{Accelerator: "RTX4090", MemoryGib: 24, BandwidthMbps: 500}
	_, err := f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{
		Operator: op.String(), PeerId: newPeer, Multiaddrs: []string{"/dns4/gpu.example.org/tcp/4001"}, Hardware: &hw,
	})
	require.NoError(t, err)
	w := f.worker(op)
	require.Equal(t, newPeer, w.PeerId)
	require.Equal(t, []string{"/dns4/gpu.example.org/tcp/4001"}, w.Multiaddrs)
	require.Equal(t, hw, w.Hardware)

	// The peer id index follows the change: the new id resolves. The old one is retired: it
	// still names the worker (receipts signed with it stay its), and no one else may take it.
	res, err := f.query.WorkerByPeerId(f.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: newPeer})
	require.NoError(t, err)
	require.Equal(t, op.String(), res.Worker.Operator)
	owner, ok, err := f.k.OperatorOfPeer(f.ctx, oldPeer)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, op, owner)
	// The query finds it by its retired id only when asked to (who signed with it then).
	_, err = f.query.WorkerByPeerId(f.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: oldPeer})
	require.Equal(t, codes.NotFound, status.Code(err))
	res, err = f.query.WorkerByPeerId(f.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: oldPeer, Retired: true})
	require.NoError(t, err)
	require.Equal(t, op.String(), res.Worker.Operator)
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: other.String(), PeerId: oldPeer})
	require.ErrorIs(t, err, types.ErrPeerIDTaken, "another worker takes a retired id")
	stranger := f.account(5000)
	reg := f.registerMsg(stranger, 1000)
	reg.PeerId = oldPeer
	_, err = f.msgs.RegisterWorker(f.ctx, reg)
	require.ErrorIs(t, err, types.ErrPeerIDTaken, "a new worker registers a retired id")

	// Only the given fields change.
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: op.String(), Multiaddrs: []string{"/ip4/8.8.8.8/tcp/1"}})
	require.NoError(t, err)
	require.Equal(t, newPeer, f.worker(op).PeerId)
	require.Equal(t, hw, f.worker(op).Hardware)

	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: op.String()})
	require.ErrorIs(t, err, types.ErrNothingToUpdate)
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: op.String(), PeerId: f.worker(other).PeerId})
	require.ErrorIs(t, err, types.ErrPeerIDTaken)
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: op.String(), Hardware: &types.Hardware{}})
	require.ErrorIs(t, err, types.ErrInvalidHardware)
	_, err = f.msgs.UpdateWorker(f.ctx, &types.MsgUpdateWorker{Operator: f.account(1).String(), PeerId: f.peerID()})
	require.ErrorIs(t, err, types.ErrWorkerNotFound)
	require.Equal(t, newPeer, f.worker(op).PeerId, "refused updates change nothing")
}

func TestAddStake(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 1000)
	// Unbond below the minimum, then add stake back: INACTIVE -> ACTIVE.
	_, err := f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 400)})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_INACTIVE, f.worker(op).Status)

	require.Equal(t, []sdk.Coin{sdk.NewInt64Coin(denom, 600)}, f.hooks.decreases, "unbonding announces the new bonded stake")
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 700)})
	require.NoError(t, err)
	require.Len(t, f.hooks.decreases, 1, "adding stake is not a decrease")
	w := f.worker(op)
	require.Equal(t, sdk.NewInt64Coin(denom, 1300), w.Bonded)
	require.Equal(t, types.WORKER_STATUS_ACTIVE, w.Status)
	require.Equal(t, int64(5000-1000-700), f.balance(op))
	f.requireSolvent()
	require.Equal(t, []types.WorkerStatus{types.WORKER_STATUS_ACTIVE, types.WORKER_STATUS_INACTIVE, types.WORKER_STATUS_ACTIVE},
		[]types.WorkerStatus{f.hooks.changes[0].to, f.hooks.changes[1].to, f.hooks.changes[2].to})

	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 0)})
	require.ErrorIs(t, err, types.ErrInvalidStake)
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin("uatom", 1)})
	require.ErrorIs(t, err, types.ErrWrongDenom)
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: f.account(10).String(), Amount: sdk.NewInt64Coin(denom, 5)})
	require.ErrorIs(t, err, types.ErrWorkerNotFound)
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 1_000_000)})
	require.ErrorIs(t, err, sdkerrors.ErrInsufficientFunds)
	require.Equal(t, sdk.NewInt64Coin(denom, 1300), f.worker(op).Bonded)
}

func TestBeginUnbondingRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 2000)

	_, err := f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 2001)})
	require.ErrorIs(t, err, types.ErrInsufficientBonded)
	require.ErrorContains(t, err, "only 2000ulearn is bonded")
	_, err = f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 0)})
	require.ErrorIs(t, err, types.ErrInvalidStake)
	_, err = f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: f.account(1).String(), Amount: sdk.NewInt64Coin(denom, 1)})
	require.ErrorIs(t, err, types.ErrWorkerNotFound)

	for i := 0; i < 3; i++ { // MaxUnbondingEntries is 3 in the fixture
		_, err = f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 100)})
		require.NoError(t, err)
	}
	_, err = f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 100)})
	require.ErrorIs(t, err, types.ErrTooManyUnbonding)
	require.Equal(t, sdk.NewInt64Coin(denom, 1700), f.worker(op).Bonded)
	f.requireSolvent()
}

func TestUnbondingMaturesAcrossBlocks(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 3000)
	start := f.ctx.BlockTime()

	res1, err := f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 500)})
	require.NoError(t, err)
	require.Equal(t, start.Add(10*time.Minute), res1.CompletionTime)
	f.advance(3 * time.Minute)
	res2, err := f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 700)})
	require.NoError(t, err)
	require.Greater(t, res2.EntryId, res1.EntryId)

	entries, err := f.query.UnbondingEntries(f.ctx, &types.QueryUnbondingEntriesRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Len(t, entries.Entries, 2)
	require.Equal(t, int64(2000), f.balance(op))
	f.requireSolvent()

	f.advance(6*time.Minute + 59*time.Second) // 9m59s after the first: nothing due yet
	require.Equal(t, int64(2000), f.balance(op))
	f.advance(time.Second) // exactly at completion time: the first entry pays
	require.Equal(t, int64(2500), f.balance(op))
	entries, err = f.query.UnbondingEntries(f.ctx, &types.QueryUnbondingEntriesRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Len(t, entries.Entries, 1)
	require.Equal(t, res2.EntryId, entries.Entries[0].Id)
	f.requireSolvent()

	f.advance(2 * time.Minute)
	require.Equal(t, int64(2500), f.balance(op))
	f.advance(time.Minute)
	require.Equal(t, int64(3200), f.balance(op))
	require.Equal(t, sdk.NewInt64Coin(denom, 1800), f.worker(op).Bonded)
	f.requireSolvent()
	require.Equal(t, int64(1800), f.moduleBalance())
}

func TestJailAndUnjail(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 1000)

	require.NoError(t, f.k.Jail(f.ctx, op, "missed challenge"))
	w := f.worker(op)
	require.Equal(t, types.WORKER_STATUS_JAILED, w.Status)
	require.Equal(t, f.ctx.BlockTime().Add(time.Hour), w.JailedUntil)
	active, err := f.k.IsActive(f.ctx, op)
	require.NoError(t, err)
	require.False(t, active)
	require.Equal(t, statusChange{op.String(), types.WORKER_STATUS_ACTIVE, types.WORKER_STATUS_JAILED}, f.hooks.changes[len(f.hooks.changes)-1])

	// Stake changes while jailed keep the worker jailed.
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 10)})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_JAILED, f.worker(op).Status)

	f.advance(59 * time.Minute)
	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: op.String()})
	require.ErrorIs(t, err, types.ErrJailPeriodNotOver)
	require.ErrorContains(t, err, "1m0s from now")

	// A second jail while jailed extends, never shortens, the sentence.
	require.NoError(t, f.k.Jail(f.ctx, op, "second offence"))
	require.Equal(t, f.ctx.BlockTime().Add(time.Hour), f.worker(op).JailedUntil)

	f.advance(time.Hour)
	// Below the minimum, unjailing is refused until stake is added.
	_, err = f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 500)})
	require.NoError(t, err)
	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: op.String()})
	require.ErrorIs(t, err, types.ErrUnjailBelowMinStake)
	_, err = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, 490)})
	require.NoError(t, err)

	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: op.String()})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_ACTIVE, f.worker(op).Status)
	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: op.String()})
	require.ErrorIs(t, err, types.ErrNotJailed)
	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Operator: f.account(1).String()})
	require.ErrorIs(t, err, types.ErrWorkerNotFound)
	require.ErrorIs(t, f.k.Jail(f.ctx, f.account(1), "x"), types.ErrWorkerNotFound)
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t)
	rich := f.register(10_000, 5000)
	poor := f.register(10_000, 1000)
	p, err := f.k.GetParams(f.ctx)
	require.NoError(t, err)

	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: rich.String(), Params: p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)

	bad := p
	bad.UnbondingTime = 0
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	require.ErrorContains(t, err, "unbonding_time")

	other := p
	other.MinWorkerStake = sdk.NewInt64Coin("uatom", 10)
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: other})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	require.ErrorContains(t, err, "stake denom cannot change")

	// Raising the floor deactivates workers below it; lowering it reactivates them.
	raised := p
	raised.MinWorkerStake = sdk.NewInt64Coin(denom, 2000)
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: raised})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_ACTIVE, f.worker(rich).Status)
	require.Equal(t, types.WORKER_STATUS_INACTIVE, f.worker(poor).Status)
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_ACTIVE, f.worker(poor).Status)
	got, err := f.k.GetParams(f.ctx)
	require.NoError(t, err)
	require.Equal(t, p, got)
}
