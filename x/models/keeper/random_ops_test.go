package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/models/types"
)

// TestRandomOperationsKeepInvariants is a small simulation: random sequences of every x/models
// message and keeper call, interleaved with the x/compute operations that reach x/models through
// its hooks (jail, unjail, unbonding, stake), many of them invalid, run as the chain runs them (a
// failed message's writes are discarded). After every step both modules' invariants must hold:
// no operator in two stages of a model, no stage over its replica bound, every seat held by an
// active worker, statuses consistent with seats and work.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	succeeded := map[string]int{}
	reached := map[types.ModelStatus]int{} // statuses models ended the runs in
	for seed := int64(0); seed < 10; seed++ {
		r := rand.New(rand.NewSource(seed))
		f := newFixture(t)
		var workers []sdk.AccAddress
		designers := map[uint64]sdk.AccAddress{}
		var nextModel uint64 = 1
		pickWorker := func() sdk.AccAddress {
			if len(workers) == 0 || r.Intn(12) == 0 {
				return f.account(1) // an operator with no worker
			}
			return workers[r.Intn(len(workers))]
		}
		pickModel := func() uint64 {
			if nextModel == 1 || r.Intn(10) == 0 {
				return uint64(r.Int63n(int64(nextModel) + 1)) // maybe 0 or unknown
			}
			return 1 + uint64(r.Int63n(int64(nextModel)-1))
		}
		// pickSeat returns a seat that exists now, or nil when there is none.
		pickSeat := func() *types.Seat {
			var seats []types.Seat
			require.NoError(t, f.k.Seats.Walk(f.ctx, nil, func(_ collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (bool, error) {
				seats = append(seats, s)
				return false, nil
			}))
			if len(seats) == 0 {
				return nil
			}
			return &seats[r.Intn(len(seats))]
		}
		pickRoot := func() []byte {
			if r.Intn(15) == 0 {
				return root(9)[:r.Intn(32)]
			}
			return root(byte(r.Intn(3)))
		}

		for step := 0; step < 200; step++ {
			var name string
			var run func(ctx sdk.Context) error
			switch []int{0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 4, 4, 4, 4, 5, 6, 6, 6, 7, 8, 8, 9, 10, 11, 12, 12}[r.Intn(29)] {
			case 0:
				name = "create-model"
				designer := f.account(0)
				msg := createMsg(designer)
				nStages := 1 + r.Intn(4)
				msg.Stages = make([]types.StageSpec, nStages)
				msg.Arch.NLayers = 0
				for i := range msg.Stages {
					msg.Stages[i].Layers = uint32(1 + r.Intn(3))
					msg.Arch.NLayers += msg.Stages[i].Layers
				}
				msg.MaxReplicasPerStage = uint32(1 + r.Intn(4))
				msg.TargetWorkUnits = uint64(1 + r.Intn(120))
				msg.MinStake = sdk.NewInt64Coin(denom, 900+r.Int63n(3000)) // sometimes below the worker floor
				if r.Intn(8) == 0 {
					msg.Arch.NHeads = 3 // does not divide 64
				}
				run = func(ctx sdk.Context) error {
					res, err := f.msgs.CreateModel(ctx, msg)
					if err == nil {
						designers[res.ModelId] = designer
						nextModel = res.ModelId + 1
					}
					return err
				}
			case 1:
				name = "register-worker"
				stake := 800 + r.Int63n(6000)
				op := f.account(2 * stake)
				msg := &computetypes.MsgRegisterWorker{
					Operator: op.String(), PeerId: f.peerID(), Multiaddrs: []string{"/ip4/127.0.0.1/tcp/4001"},
					Hardware: computetypes.Hardware{Accelerator: "cpu", MemoryGib: 8, BandwidthMbps: 100},
					Stake:    sdk.NewInt64Coin(denom, stake),
				}
				run = func(ctx sdk.Context) error {
					_, err := f.computeMsgs.RegisterWorker(ctx, msg)
					if err == nil {
						workers = append(workers, op)
					}
					return err
				}
			case 2:
				name = "join-stage"
				id := pickModel()
				stage := uint32(r.Intn(5))
				if m, err := f.k.GetModel(f.ctx, id); err == nil {
					stage = uint32(r.Intn(len(m.Stages) + 1)) // sometimes one past the last
				}
				msg := &types.MsgJoinStage{Operator: pickWorker().String(), ModelId: id, Stage: stage}
				run = func(ctx sdk.Context) error { _, err := f.msgs.JoinStage(ctx, msg); return err }
			case 3:
				name = "leave-stage"
				msg := &types.MsgLeaveStage{Operator: pickWorker().String(), ModelId: pickModel()}
				if s := pickSeat(); s != nil && r.Intn(3) > 0 {
					msg.Operator, msg.ModelId = s.Operator, s.ModelId
				}
				run = func(ctx sdk.Context) error { _, err := f.msgs.LeaveStage(ctx, msg); return err }
			case 4:
				name = "commit-checkpoint"
				msg := &types.MsgCommitCheckpoint{
					Operator: pickWorker().String(), ModelId: pickModel(), Stage: uint32(r.Intn(4)),
					Step: uint64(r.Intn(60)), WeightsRoot: pickRoot(),
				}
				if s := pickSeat(); s != nil && r.Intn(4) > 0 {
					msg.Operator, msg.ModelId, msg.Stage = s.Operator, s.ModelId, s.Stage
				}
				run = func(ctx sdk.Context) error { _, err := f.msgs.CommitCheckpoint(ctx, msg); return err }
			case 5:
				name = "cancel-model"
				id := pickModel()
				designer := designers[id]
				if designer == nil || r.Intn(3) > 0 {
					designer = f.account(0)
				}
				msg := &types.MsgCancelModel{Designer: designer.String(), ModelId: id}
				run = func(ctx sdk.Context) error { _, err := f.msgs.CancelModel(ctx, msg); return err }
			case 6:
				name = "add-work-units"
				id, units := pickModel(), uint64(r.Intn(40))
				run = func(ctx sdk.Context) error { return f.k.AddWorkUnits(ctx, id, units) }
			case 7:
				name = "jail"
				op := pickWorker()
				run = func(ctx sdk.Context) error { return f.compute.Jail(ctx, op, "sim") }
			case 8:
				name = "unjail"
				msg := &computetypes.MsgUnjail{Operator: pickWorker().String()}
				run = func(ctx sdk.Context) error { _, err := f.computeMsgs.Unjail(ctx, msg); return err }
			case 9:
				name = "unbond"
				msg := &computetypes.MsgBeginUnbonding{Operator: pickWorker().String(), Amount: sdk.NewInt64Coin(denom, 1+r.Int63n(3000))}
				run = func(ctx sdk.Context) error { _, err := f.computeMsgs.BeginUnbonding(ctx, msg); return err }
			case 10:
				name = "add-stake"
				msg := &computetypes.MsgAddStake{Operator: pickWorker().String(), Amount: sdk.NewInt64Coin(denom, 1+r.Int63n(3000))}
				run = func(ctx sdk.Context) error { _, err := f.computeMsgs.AddStake(ctx, msg); return err }
			case 11:
				name = "update-params"
				p := types.Params{MaxStages: uint32(r.Intn(6)), MaxReplicasLimit: uint32(r.Intn(5)), MaxNameLength: 32}
				msg := &types.MsgUpdateParams{Authority: f.gov, Params: p}
				run = func(ctx sdk.Context) error { _, err := f.msgs.UpdateParams(ctx, msg); return err }
			default:
				name = "advance"
				// Mostly short steps, sometimes past a whole jail_duration (1h).
				d := time.Duration(r.Int63n(int64(20 * time.Minute)))
				if r.Intn(3) == 0 {
					d *= 6
				}
				run = func(sdk.Context) error {
					f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1).WithBlockTime(f.ctx.BlockTime().Add(d))
					return f.compute.CompleteMatureUnbondings(f.ctx)
				}
			}

			ctx, write := f.ctx.CacheContext()
			if err := run(ctx); err == nil {
				write()
				succeeded[name]++
			}
			f.requireInvariants(fmt.Sprintf("seed %d step %d (%s)", seed, step, name))
		}
		require.NoError(t, f.k.Models.Walk(f.ctx, nil, func(_ uint64, m types.Model) (bool, error) {
			reached[m.Status]++
			return false, nil
		}))
	}
	t.Logf("models by final status: %v", reached)
	for _, st := range []types.ModelStatus{types.MODEL_STATUS_RECRUITING, types.MODEL_STATUS_TRAINING, types.MODEL_STATUS_COMPLETED, types.MODEL_STATUS_CANCELLED} {
		require.Positive(t, reached[st], "no model ended in %s; the simulation tests too little", st)
	}
	t.Logf("successful operations: %v", succeeded)
	for _, op := range []string{
		"create-model", "register-worker", "join-stage", "leave-stage", "commit-checkpoint", "cancel-model",
		"add-work-units", "jail", "unjail", "unbond", "add-stake", "update-params", "advance",
	} {
		require.Positive(t, succeeded[op], "the simulation never succeeded at %s; it tests too little", op)
	}
}

// CheckInvariants is only useful if it notices broken state.
func TestCheckInvariantsCatchesCorruption(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	ops := f.fill(id)
	require.NoError(t, f.commit(ops[0], id, 0, 1, root(1)))
	f.requireInvariants("clean")

	corrupt := []struct {
		says   string
		break_ func(ctx sdk.Context)
	}{
		{"the operator also holds stage 0", func(ctx sdk.Context) {
			require.NoError(t, f.k.Seats.Set(ctx, seatKey(id, 1, ops[0]), types.Seat{ModelId: id, Stage: 1, Operator: ops[0].String()}))
		}},
		{"operator index says stage 0 (collections: not found", func(ctx sdk.Context) {
			require.NoError(t, f.k.SeatsByOperator.Remove(ctx, pairKey(ops[3], id)))
		}},
		{"operator index has 5 entries for 4 seats", func(ctx sdk.Context) {
			require.NoError(t, f.k.SeatsByOperator.Set(ctx, pairKey(f.account(0), id), 1))
		}},
		{"stage has 4 replicas, max_replicas_per_stage is 3", func(ctx sdk.Context) {
			for i := 0; i < 3; i++ {
				op := f.worker(5000)
				require.NoError(t, f.k.Seats.Set(ctx, seatKey(id, 2, op), types.Seat{ModelId: id, Stage: 2, Operator: op.String()}))
				require.NoError(t, f.k.SeatsByOperator.Set(ctx, pairKey(op, id), 2))
				require.NoError(t, f.k.HeldStages.Set(ctx, collections.Join(id, op), types.HeldStage{ModelId: id, Stage: 2, Operator: op.String()}))
			}
		}},
		{"the record of stages held says stage 3", func(ctx sdk.Context) {
			require.NoError(t, f.k.HeldStages.Set(ctx, collections.Join(id, ops[1]), types.HeldStage{ModelId: id, Stage: 3, Operator: ops[1].String()}))
		}},
		{"worker is WORKER_STATUS_JAILED", func(ctx sdk.Context) {
			w, err := f.compute.GetWorker(ctx, ops[1])
			require.NoError(t, err)
			w.Status = computetypes.WORKER_STATUS_JAILED
			require.NoError(t, f.compute.Workers.Set(ctx, ops[1], w)) // behind the hooks' back
		}},
		{"worker not found", func(ctx sdk.Context) {
			op := f.account(0)
			require.NoError(t, f.k.Seats.Set(ctx, seatKey(id, 3, op), types.Seat{ModelId: id, Stage: 3, Operator: op.String()}))
			require.NoError(t, f.k.SeatsByOperator.Set(ctx, pairKey(op, id), 3))
		}},
		{"is RECRUITING but every stage has a replica", func(ctx sdk.Context) {
			m := f.model(id)
			m.Status = types.MODEL_STATUS_RECRUITING
			require.NoError(t, f.k.Models.Set(ctx, id, m))
		}},
		{"reached target_work_units", func(ctx sdk.Context) {
			m := f.model(id)
			m.WorkUnits = m.TargetWorkUnits
			require.NoError(t, f.k.Models.Set(ctx, id, m))
		}},
		{"holds no seat there", func(ctx sdk.Context) {
			require.NoError(t, f.k.Checkpoints.Set(ctx, seatKey(id, 1, ops[0]), types.Checkpoint{ModelId: id, Stage: 1, Operator: ops[0].String(), WeightsRoot: root(1)}))
		}},
	}
	for _, c := range corrupt {
		ctx, _ := f.ctx.CacheContext() // never written back: each case starts clean
		c.break_(ctx)
		require.ErrorContains(t, f.k.CheckInvariants(ctx), c.says)
	}
	f.requireInvariants("still clean")
}
