package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/models/keeper"
	"github.com/protolearn/protolearn/x/models/types"
)

// richState builds a chain with a model in every status, extra replicas, checkpoints and a
// jailed worker, and returns the ids: training, recruiting, cancelled, completed.
func richState(t *testing.T, f *fixture) (training, recruiting, cancelled, completed uint64) {
	t.Helper()
	training = f.createModel(nil)
	ops := f.fill(training)
	second := f.worker(5000)
	f.mustJoin(second, training, 0)
	leaver := f.worker(5000) // held stage 2 of the training model, and left it
	f.mustJoin(leaver, training, 2)
	_, err := f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: leaver.String(), ModelId: training})
	require.NoError(t, err)
	require.NoError(t, f.commit(ops[0], training, 0, 10, root(1)))
	require.NoError(t, f.commit(second, training, 0, 12, root(2)))
	require.NoError(t, f.commit(ops[3], training, 3, 7, root(3)))
	require.NoError(t, f.k.AddWorkUnits(f.ctx, training, 30))

	recruiting = f.createModel(nil)
	f.mustJoin(ops[1], recruiting, 2)
	jailed := f.worker(5000)
	f.mustJoin(jailed, recruiting, 0)
	require.NoError(t, f.compute.Jail(f.ctx, jailed, "test"))

	cancelled = f.createModel(nil)
	f.mustJoin(ops[2], cancelled, 0)
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: f.model(cancelled).Designer, ModelId: cancelled})
	require.NoError(t, err)

	completed = f.createModel(func(m *types.MsgCreateModel) { m.TargetWorkUnits = 5 })
	f.fill(completed)
	require.NoError(t, f.k.AddWorkUnits(f.ctx, completed, 5))
	return training, recruiting, cancelled, completed
}

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	training, recruiting, _, completed := richState(t, f)
	f.requireInvariants("before export")

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.Len(t, exported.Models, 4)
	require.Len(t, exported.Seats, 4+1+1+4, "training 5, recruiting 1 (the jailed worker's seat is gone), completed 4")
	require.Len(t, exported.Checkpoints, 3)
	require.Len(t, exported.HeldStages, 4+1+1+1+1+1+4, "every seat ever taken: training 5 and the leaver's, recruiting 2 (the jailed worker's too), cancelled 1, completed 4")
	require.Equal(t, uint64(5), exported.NextModelId)

	// A fresh chain loads x/compute's state first, then x/models', and exports the same.
	computeGS, err := f.compute.ExportGenesis(f.ctx)
	require.NoError(t, err)
	escrow := f.bank.GetBalance(f.ctx, computeModuleAddr(), denom)
	g := newFixtureFrom(t, computeGS, exported, sdk.NewCoins(escrow))
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)
	g.requireInvariants("after import")

	// The imported state behaves: lookups, summaries, joins, work and new ids carry on.
	seat := exported.Seats[0]
	op := sdk.MustAccAddressFromBech32(seat.Operator)
	stage, seated, err := g.k.StageOf(g.ctx, seat.ModelId, op)
	require.NoError(t, err)
	require.True(t, seated)
	require.Equal(t, seat.Stage, stage)
	sc, err := g.k.StageCheckpoint(g.ctx, training, 0)
	require.NoError(t, err)
	require.Equal(t, types.StageCheckpoint{Stage: 0, LatestStep: 12, WeightsRoot: root(2), AgreeingReplicas: 1, CommittedReplicas: 2, TotalReplicas: 2}, sc)
	require.ErrorIs(t, g.join(op, seat.ModelId, (seat.Stage+1)%4), types.ErrOneStagePerModel)
	// The record of stages held survives: one that left stage 2 may not take stage 1.
	for _, h := range exported.HeldStages {
		if _, seated, _ := g.k.StageOf(g.ctx, h.ModelId, sdk.MustAccAddressFromBech32(h.Operator)); !seated && h.ModelId == training {
			require.ErrorIs(t, g.join(sdk.MustAccAddressFromBech32(h.Operator), training, 1), types.ErrStageHopping)
			g.mustJoin(sdk.MustAccAddressFromBech32(h.Operator), training, 2)
		}
	}
	for s := uint32(0); s < 4; s++ {
		if len(g.roster(recruiting, s)) == 0 {
			g.mustJoin(g.worker(5000), recruiting, s)
		}
	}
	require.Equal(t, types.MODEL_STATUS_TRAINING, g.model(recruiting).Status)
	require.NoError(t, g.k.AddWorkUnits(g.ctx, training, 70))
	require.Equal(t, types.MODEL_STATUS_COMPLETED, g.model(training).Status)
	require.Equal(t, types.MODEL_STATUS_COMPLETED, g.model(completed).Status)
	require.Equal(t, uint64(5), g.createModel(nil))
	g.requireInvariants("after use")
}

// A genesis from before the record of stages held: every seat becomes a stage held.
func TestGenesisWithoutHeldStages(t *testing.T) {
	f := newFixture(t)
	training, _, _, _ := richState(t, f)
	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	exported.HeldStages = nil
	computeGS, err := f.compute.ExportGenesis(f.ctx)
	require.NoError(t, err)
	g := newFixtureFrom(t, computeGS, exported, sdk.NewCoins(f.bank.GetBalance(f.ctx, computeModuleAddr(), denom)))
	g.requireInvariants("after import")
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Len(t, reexported.HeldStages, len(exported.Seats))
	seat := exported.Seats[0]
	op := sdk.MustAccAddressFromBech32(seat.Operator)
	_, err = g.msgs.LeaveStage(g.ctx, &types.MsgLeaveStage{Operator: seat.Operator, ModelId: seat.ModelId})
	require.NoError(t, err)
	require.ErrorIs(t, g.join(op, seat.ModelId, (seat.Stage+1)%4), types.ErrStageHopping)
	res, err := keeper.NewQueryServerImpl(g.k).HeldStage(g.ctx, &types.QueryHeldStageRequest{ModelId: seat.ModelId, Operator: seat.Operator})
	require.NoError(t, err)
	require.Equal(t, types.HeldStage{Operator: seat.Operator, ModelId: seat.ModelId, Stage: seat.Stage, FirstHeight: seat.JoinedHeight}, res.HeldStage)
	_, err = keeper.NewQueryServerImpl(g.k).HeldStage(g.ctx, &types.QueryHeldStageRequest{ModelId: training, Operator: g.account(0).String()})
	require.ErrorContains(t, err, "has never held a stage of model 1")
}

func TestInitGenesisChecksSeatsAgainstCompute(t *testing.T) {
	f := newFixture(t)
	richState(t, f)
	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	computeGS, err := f.compute.ExportGenesis(f.ctx)
	require.NoError(t, err)
	escrow := sdk.NewCoins(f.bank.GetBalance(f.ctx, computeModuleAddr(), denom))

	// Without x/compute's workers, the seats name nobody.
	g := newFixture(t)
	require.ErrorContains(t, g.k.InitGenesis(g.ctx, exported), "has not registered a worker")

	// A seated worker that is jailed in x/compute's genesis.
	jailedGS := *computeGS
	jailedGS.Workers = append(jailedGS.Workers[:0:0], computeGS.Workers...)
	for i, w := range jailedGS.Workers {
		if w.Operator == exported.Seats[0].Operator {
			jailedGS.Workers[i].Status = 2 // WORKER_STATUS_JAILED
		}
	}
	h := newFixtureFrom(t, &jailedGS, types.DefaultGenesis(), escrow)
	require.ErrorContains(t, h.k.InitGenesis(h.ctx, exported), "worker is WORKER_STATUS_JAILED, only active workers hold seats")

	// A model whose stake floor is not in the stake denom.
	wrong := *exported
	wrong.Models = append(wrong.Models[:0:0], exported.Models...)
	wrong.Models[0].MinStake = sdk.NewInt64Coin("uatom", 2000)
	i := newFixtureFrom(t, computeGS, types.DefaultGenesis(), escrow)
	require.ErrorContains(t, i.k.InitGenesis(i.ctx, &wrong), `model 1: min_stake 2000uatom is not in x/compute's stake denom "ulearn"`)
}

func TestGenesisValidateNamesTheProblem(t *testing.T) {
	f := newFixture(t)
	training, recruiting, cancelled, completed := richState(t, f)
	good, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, good.Validate())

	// seat finds the index of the first seat of a model (in stage, if given).
	seat := func(gs *types.GenesisState, model uint64, stage int) int {
		for i, s := range gs.Seats {
			if s.ModelId == model && (stage < 0 || s.Stage == uint32(stage)) {
				return i
			}
		}
		t.Fatalf("no seat in model %d stage %d", model, stage)
		return -1
	}
	model := func(gs *types.GenesisState, id uint64) *types.Model {
		for i := range gs.Models {
			if gs.Models[i].Id == id {
				return &gs.Models[i]
			}
		}
		t.Fatalf("no model %d", id)
		return nil
	}

	cases := map[string]func(gs *types.GenesisState){
		`params: max_stages`:                                  func(gs *types.GenesisState) { gs.Params.MaxStages = 0 },
		`next_model_id must be at least 1`:                    func(gs *types.GenesisState) { gs.NextModelId = 0 },
		`models\[3\]: id 5 must be in \[1, next_model_id=5\)`: func(gs *types.GenesisState) { gs.Models[3].Id = 5 },
		`models\[1\]: id 1 listed twice`:                      func(gs *types.GenesisState) { gs.Models[1].Id = 1 },
		`models\[0\] \(id 1\): arch.n_heads must be positive`: func(gs *types.GenesisState) { gs.Models[0].Arch.NHeads = 0 },
		`models\[0\] \(id 1\): stages add up to 9 layers`:     func(gs *types.GenesisState) { gs.Models[0].Stages[0].Layers = 3 },
		`models\[0\] \(id 1\): designer`:                      func(gs *types.GenesisState) { gs.Models[0].Designer = "x" },
		`models\[0\] \(id 1\): dataset_commitment is 3 bytes`: func(gs *types.GenesisState) { gs.Models[0].DatasetCommitment = []byte{1, 2, 3} },
		`status 0 is not a model status`:                      func(gs *types.GenesisState) { model(gs, recruiting).Status = 0 },
		`work_units 100 reached target_work_units 100`:        func(gs *types.GenesisState) { model(gs, training).WorkUnits = 100 },
		`work_units 4 is below target_work_units 5`:           func(gs *types.GenesisState) { model(gs, completed).WorkUnits = 4 },
		`MODEL_STATUS_RECRUITING but work_units is 1`:         func(gs *types.GenesisState) { model(gs, recruiting).WorkUnits = 1 },
		`seats\[0\]: model 99 does not exist`:                 func(gs *types.GenesisState) { gs.Seats[0].ModelId = 99 },
		`stage 7 out of range: model 1 has stages 0..3`:       func(gs *types.GenesisState) { gs.Seats[seat(gs, training, 3)].Stage = 7 },
		`holds stages .* of model 1; one operator may hold at most one stage`: func(gs *types.GenesisState) {
			gs.Seats[seat(gs, training, 1)].Operator = gs.Seats[seat(gs, training, 0)].Operator
		},
		`stage 0 of model 1 has more than max_replicas_per_stage=1`: func(gs *types.GenesisState) { model(gs, training).MaxReplicasPerStage = 1 },
		`model 3 is MODEL_STATUS_CANCELLED and holds no seats`: func(gs *types.GenesisState) {
			s := gs.Seats[seat(gs, recruiting, -1)]
			s.ModelId = cancelled
			gs.Seats = append(gs.Seats, s)
		},
		`model 2 is RECRUITING but every stage has a replica`: func(gs *types.GenesisState) {
			for s := uint32(0); s < 4; s++ {
				if s != 2 {
					gs.Seats = append(gs.Seats, types.Seat{ModelId: recruiting, Stage: s, Operator: f.account(0).String()})
				}
			}
		},
		`seats\[0\]: operator`: func(gs *types.GenesisState) { gs.Seats[0].Operator = "nobody" },
		`checkpoints\[0\]: operator .* holds no seat in stage 1 of model 1`: func(gs *types.GenesisState) { gs.Checkpoints[0].Stage = 1 },
		`checkpoints\[1\]: operator .* has two checkpoints in model 1`:      func(gs *types.GenesisState) { gs.Checkpoints[1] = gs.Checkpoints[0] },
		`checkpoints\[2\]: weights_root is 5 bytes`:                         func(gs *types.GenesisState) { gs.Checkpoints[2].WeightsRoot = []byte("short") },
		`held_stages\[0\]: model 99 does not exist`:                         func(gs *types.GenesisState) { gs.HeldStages[0].ModelId = 99 },
		`held_stages\[0\]: operator`:                                        func(gs *types.GenesisState) { gs.HeldStages[0].Operator = "nobody" },
		`held_stages\[0\]: operator: .* is not in its canonical spelling`: func(gs *types.GenesisState) {
			gs.HeldStages[0].Operator = strings.ToUpper(gs.HeldStages[0].Operator)
		},
		`seats\[0\]: operator: .* is not in its canonical spelling`: func(gs *types.GenesisState) {
			gs.Seats[0].Operator = strings.ToUpper(gs.Seats[0].Operator)
		},
		`held_stages\[0\]: stage 9 out of range: model 1 has stages 0..3`: func(gs *types.GenesisState) { gs.HeldStages[0].Stage = 9 },
		`held_stages\[1\]: operator .* is recorded on stages .* of model 1; an operator holds one stage of a model, ever`: func(gs *types.GenesisState) {
			gs.HeldStages[1].Operator, gs.HeldStages[1].ModelId = gs.HeldStages[0].Operator, gs.HeldStages[0].ModelId
		},
		`holds stage 0 of model 1 but held stage 3 of it before`: func(gs *types.GenesisState) {
			for i, h := range gs.HeldStages {
				if h.Operator == gs.Seats[seat(gs, training, 0)].Operator && h.ModelId == training {
					gs.HeldStages[i].Stage = 3
				}
			}
		},
		`checkpoints\[0\]: model 1 has not started training`: func(gs *types.GenesisState) {
			model(gs, training).Status = types.MODEL_STATUS_RECRUITING
			model(gs, training).WorkUnits = 0
			gs.Seats = append(gs.Seats[:seat(gs, training, 3)], gs.Seats[seat(gs, training, 3)+1:]...)
			gs.Checkpoints = gs.Checkpoints[:2]
		},
	}
	for want, mutate := range cases {
		gs, err := f.k.ExportGenesis(f.ctx)
		require.NoError(t, err)
		mutate(gs)
		err = gs.Validate()
		require.Error(t, err, want)
		require.Regexp(t, want, err.Error())
	}

	// Params bound new models only: lowering them does not invalidate existing ones.
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	gs.Params = types.Params{MaxStages: 1, MaxReplicasLimit: 1, MaxNameLength: 1}
	require.NoError(t, gs.Validate())
}
