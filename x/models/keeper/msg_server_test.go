package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/models/types"
)

func TestCreateModel(t *testing.T) {
	f := newFixture(t)
	designer := f.account(0)
	msg := createMsg(designer)
	res, err := f.msgs.CreateModel(f.ctx, msg)
	require.NoError(t, err)
	require.Equal(t, uint64(1), res.ModelId, "model ids start at 1")

	m := f.model(1)
	require.Equal(t, designer.String(), m.Designer)
	require.Equal(t, msg.Name, m.Name)
	require.Equal(t, msg.Arch, m.Arch)
	require.Equal(t, msg.Stages, m.Stages)
	require.Equal(t, msg.Seed, m.Seed)
	require.Equal(t, msg.DatasetCommitment, m.DatasetCommitment)
	require.Equal(t, msg.SubspaceRoot, m.SubspaceRoot)
	require.Equal(t, msg.DesignerBps, m.DesignerBps)
	require.Equal(t, msg.MinStake, m.MinStake)
	require.Equal(t, msg.MaxReplicasPerStage, m.MaxReplicasPerStage)
	require.Equal(t, msg.TargetWorkUnits, m.TargetWorkUnits)
	require.Equal(t, uint32(1), m.MicrobatchesPerStep, "0 at creation is stored as the 1 it means")
	require.Equal(t, types.Optimizer{LearningRate: "0.003", WeightDecay: "0", PipelineDepth: 8}, m.Optimizer,
		"an optimizer left empty is stored as the defaults it means (depth: twice the 4 stages)")
	require.Equal(t, types.MODEL_STATUS_RECRUITING, m.Status)
	require.Equal(t, int64(1), m.CreatedHeight)
	require.Zero(t, m.WorkUnits)

	created := events[*types.EventModelCreated](t, f.ctx)
	require.Len(t, created, 1)
	require.Equal(t, uint32(4), created[0].Stages)
	require.Equal(t, []*types.EventModelStatusChanged{{ModelId: 1, From: types.MODEL_STATUS_UNSPECIFIED, To: types.MODEL_STATUS_RECRUITING}},
		events[*types.EventModelStatusChanged](t, f.ctx))

	require.Equal(t, uint64(2), f.createModel(func(m *types.MsgCreateModel) { m.MicrobatchesPerStep = types.MaxMicrobatchesPerStep }))
	require.Equal(t, uint32(types.MaxMicrobatchesPerStep), f.model(2).Microbatches())
	require.Equal(t, uint64(3), f.createModel(func(m *types.MsgCreateModel) {
		m.Optimizer = types.Optimizer{LearningRate: "0.00030", WeightDecay: "0.010", WarmupSteps: 10, DecaySteps: 1000, PipelineDepth: 3}
	}))
	require.Equal(t, types.Optimizer{LearningRate: "0.0003", WeightDecay: "0.01", WarmupSteps: 10, DecaySteps: 1000, PipelineDepth: 3}, f.model(3).Optimizer,
		"decimals are stored in their shortest spelling")
	require.Equal(t, []uint64{1, 2, 3}, f.hooks.created, "AfterModelCreated runs for every model")
	f.requireInvariants("after create")
}

func TestCreateModelRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		mutate func(m *types.MsgCreateModel)
		err    error
		says   string
	}{
		{"bad designer", func(m *types.MsgCreateModel) { m.Designer = "learn1nope" }, types.ErrInvalidAddress, "designer"},
		{"empty designer", func(m *types.MsgCreateModel) { m.Designer = "" }, types.ErrInvalidAddress, "designer is empty"},
		{"empty name", func(m *types.MsgCreateModel) { m.Name = "" }, types.ErrInvalidName, "name is empty"},
		{"long name", func(m *types.MsgCreateModel) { m.Name = strings.Repeat("x", 33) }, types.ErrInvalidName, "33 bytes long; at most 32"},
		{"name with control character", func(m *types.MsgCreateModel) { m.Name = "a\nb" }, types.ErrInvalidName, "control character"},
		{"name with spaces around", func(m *types.MsgCreateModel) { m.Name = " lm " }, types.ErrInvalidName, "white space"},
		{"name not utf-8", func(m *types.MsgCreateModel) { m.Name = "\xff" }, types.ErrInvalidName, "UTF-8"},
		{"no vocab", func(m *types.MsgCreateModel) { m.Arch.Vocab = 0 }, types.ErrInvalidArchitecture, "arch.vocab must be positive"},
		{"no d_model", func(m *types.MsgCreateModel) { m.Arch.DModel = 0 }, types.ErrInvalidArchitecture, "arch.d_model must be positive"},
		{"no layers", func(m *types.MsgCreateModel) { m.Arch.NLayers = 0 }, types.ErrInvalidArchitecture, "arch.n_layers must be positive"},
		{"no heads", func(m *types.MsgCreateModel) { m.Arch.NHeads = 0 }, types.ErrInvalidArchitecture, "arch.n_heads must be positive"},
		{"no seq_len", func(m *types.MsgCreateModel) { m.Arch.SeqLen = 0 }, types.ErrInvalidArchitecture, "arch.seq_len must be positive"},
		{"heads do not divide d_model", func(m *types.MsgCreateModel) { m.Arch.NHeads = 5 }, types.ErrInvalidArchitecture, "arch.d_model (64) must be divisible by arch.n_heads (5)"},
		{"odd head width", func(m *types.MsgCreateModel) { m.Arch.NHeads = 64 }, types.ErrInvalidArchitecture, "arch.d_model/arch.n_heads = 1 is odd"},
		{"rank zero", func(m *types.MsgCreateModel) { m.Arch.CompressionRank = 0 }, types.ErrInvalidArchitecture, "arch.compression_rank is 0"},
		{"rank above d_model", func(m *types.MsgCreateModel) { m.Arch.CompressionRank = 65 }, types.ErrInvalidArchitecture, "arch.compression_rank is 65; must be in [1, arch.d_model=64]"},
		{"no stages", func(m *types.MsgCreateModel) { m.Stages = nil }, types.ErrInvalidStages, "stages is empty"},
		{"too many stages", func(m *types.MsgCreateModel) {
			m.Arch.NLayers = 9
			m.Stages = make([]types.StageSpec, 9)
			for i := range m.Stages {
				m.Stages[i].Layers = 1
			}
		}, types.ErrInvalidStages, "9 stages given; at most 8"},
		{"empty stage", func(m *types.MsgCreateModel) { m.Stages[1].Layers = 0; m.Stages[2].Layers = 4 }, types.ErrInvalidStages, "stages[1].layers must be at least 1"},
		{"layers do not add up", func(m *types.MsgCreateModel) { m.Stages[3].Layers = 1 }, types.ErrInvalidStages, "stages add up to 7 layers but arch.n_layers is 8"},
		{"short dataset commitment", func(m *types.MsgCreateModel) { m.DatasetCommitment = root(1)[:31] }, types.ErrInvalidCommitment, "dataset_commitment is 31 bytes; want exactly 32"},
		{"no dataset commitment", func(m *types.MsgCreateModel) { m.DatasetCommitment = nil }, types.ErrInvalidCommitment, "dataset_commitment is 0 bytes"},
		{"compressed, no subspace root", func(m *types.MsgCreateModel) { m.SubspaceRoot = nil }, types.ErrInvalidCommitment, "subspace_root is required for a compressed model"},
		{"short subspace root", func(m *types.MsgCreateModel) { m.SubspaceRoot = root(1)[:31] }, types.ErrInvalidCommitment, "subspace_root is 31 bytes"},
		{"subspace root not a field element", func(m *types.MsgCreateModel) { m.SubspaceRoot = root(0xff) }, types.ErrInvalidCommitment, "subspace_root:"},
		{"uncompressed, with a subspace root", func(m *types.MsgCreateModel) { m.Arch.CompressionRank = m.Arch.DModel }, types.ErrInvalidCommitment, "an uncompressed model has no compression tables"},
		{"designer bps above 100%", func(m *types.MsgCreateModel) { m.DesignerBps = 10_001 }, types.ErrInvalidDesignerBps, "designer_bps is 10001"},
		{"min stake in another denom", func(m *types.MsgCreateModel) { m.MinStake = sdk.NewInt64Coin("uatom", 5000) }, types.ErrInvalidMinStake, `min_stake is in "uatom"; workers stake "ulearn"`},
		{"min stake below min_worker_stake", func(m *types.MsgCreateModel) { m.MinStake = sdk.NewInt64Coin(denom, 999) }, types.ErrInvalidMinStake, "below x/compute's min_worker_stake 1000ulearn"},
		{"zero min stake", func(m *types.MsgCreateModel) { m.MinStake = sdk.NewInt64Coin(denom, 0) }, types.ErrInvalidMinStake, "must be positive"},
		{"malformed min stake", func(m *types.MsgCreateModel) { m.MinStake = sdk.Coin{Denom: "!!", Amount: sdkmath.NewInt(5)} }, types.ErrInvalidMinStake, "invalid denom"},
		{"no replicas", func(m *types.MsgCreateModel) { m.MaxReplicasPerStage = 0 }, types.ErrInvalidReplicas, "must be in [1, 4]"},
		{"replicas above limit", func(m *types.MsgCreateModel) { m.MaxReplicasPerStage = 5 }, types.ErrInvalidReplicas, "max_replicas_per_stage is 5"},
		{"no target", func(m *types.MsgCreateModel) { m.TargetWorkUnits = 0 }, types.ErrInvalidTargetWork, "target_work_units must be at least 1"},
		{"too many microbatches", func(m *types.MsgCreateModel) { m.MicrobatchesPerStep = 33 }, types.ErrInvalidMicrobatches, "microbatches_per_step is 33; must be in [1, 32]"},
		{"zero learning rate", func(m *types.MsgCreateModel) { m.Optimizer.LearningRate = "0" }, types.ErrInvalidOptimizer, `optimizer.learning_rate "0": want a decimal in (0, 1]`},
		{"learning rate above 1", func(m *types.MsgCreateModel) { m.Optimizer.LearningRate = "1.5" }, types.ErrInvalidOptimizer, `optimizer.learning_rate "1.5"`},
		{"learning rate in exponent form", func(m *types.MsgCreateModel) { m.Optimizer.LearningRate = "3e-4" }, types.ErrInvalidOptimizer, `optimizer.learning_rate "3e-4": want a decimal`},
		{"negative weight decay", func(m *types.MsgCreateModel) { m.Optimizer.WeightDecay = "-0.1" }, types.ErrInvalidOptimizer, `optimizer.weight_decay "-0.1"`},
		{"weight decay of 1", func(m *types.MsgCreateModel) { m.Optimizer.WeightDecay = "1" }, types.ErrInvalidOptimizer, `optimizer.weight_decay "1"`},
		{"decay within the warm-up", func(m *types.MsgCreateModel) { m.Optimizer.WarmupSteps, m.Optimizer.DecaySteps = 10, 10 }, types.ErrInvalidOptimizer, "decay_steps 10 must exceed warmup_steps 10"},
		{"pipeline too deep", func(m *types.MsgCreateModel) { m.Optimizer.PipelineDepth = 65 }, types.ErrInvalidOptimizer, "pipeline_depth 65: must be in [1, 64]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := createMsg(f.account(0))
			tc.mutate(msg)
			_, err := f.msgs.CreateModel(f.ctx, msg)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.says)
		})
	}
	require.Equal(t, uint64(1), f.createModel(nil), "refused models use up no id")
	require.Equal(t, []uint64{1}, f.hooks.created)
}

func TestJoinStageStartsTrainingWhenEveryStageIsFilled(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	ops := []sdk.AccAddress{f.worker(5000), f.worker(5000), f.worker(5000), f.worker(5000)}
	extra := f.worker(5000)

	f.ctx = f.ctx.WithBlockHeight(7)
	for s, op := range ops[:3] {
		res, err := f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: op.String(), ModelId: id, Stage: uint32(s)})
		require.NoError(t, err)
		require.Equal(t, types.MODEL_STATUS_RECRUITING, res.Status, "stage 3 is still empty")
	}
	f.mustJoin(extra, id, 0) // a second replica of stage 0 fills nothing new
	require.Equal(t, types.MODEL_STATUS_RECRUITING, f.model(id).Status)
	f.requireInvariants("recruiting")

	f.freshEvents()
	res, err := f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: ops[3].String(), ModelId: id, Stage: 3})
	require.NoError(t, err)
	require.Equal(t, types.MODEL_STATUS_TRAINING, res.Status)
	m := f.model(id)
	require.Equal(t, types.MODEL_STATUS_TRAINING, m.Status)
	require.Equal(t, int64(7), m.TrainingStartedHeight)
	require.Equal(t, []*types.EventStageJoined{{ModelId: id, Stage: 3, Operator: ops[3].String(), Replicas: 1}},
		events[*types.EventStageJoined](t, f.ctx))
	require.Equal(t, []*types.EventModelStatusChanged{{ModelId: id, From: types.MODEL_STATUS_RECRUITING, To: types.MODEL_STATUS_TRAINING}},
		events[*types.EventModelStatusChanged](t, f.ctx))

	for s, op := range ops {
		stage, seated := f.stageOf(id, op)
		require.True(t, seated)
		require.Equal(t, uint32(s), stage)
	}
	require.ElementsMatch(t, []string{ops[0].String(), extra.String()}, f.roster(id, 0))

	// A TRAINING model still takes replicas.
	late := f.worker(5000)
	f.mustJoin(late, id, 2)
	require.Len(t, f.roster(id, 2), 2)

	// The same operator may hold a stage in every model, one stage in each.
	other := f.createModel(nil)
	f.mustJoin(ops[0], other, 1)
	stage, seated := f.stageOf(other, ops[0])
	require.True(t, seated)
	require.Equal(t, uint32(1), stage)
	f.requireInvariants("training")
}

func TestJoinStageRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	holder := f.worker(5000)
	f.mustJoin(holder, id, 0)
	for i := 0; i < 3; i++ {
		f.mustJoin(f.worker(5000), id, 1) // stage 1 is full at 3 replicas
	}
	f.mustJoin(holder, f.createModel(nil), 1) // a seat elsewhere does not count

	jailed := f.worker(5000)
	require.NoError(t, f.compute.Jail(f.ctx, jailed, "test"))
	inactive := f.worker(1500)
	require.NoError(t, f.unbond(inactive, 1000))
	poor := f.worker(1500) // active in x/compute (floor 1000) but below the model's 2000
	unregistered := f.account(5000)
	cancelled := f.createModel(nil)
	_, err := f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: f.model(cancelled).Designer, ModelId: cancelled})
	require.NoError(t, err)
	completed := f.createModel(func(m *types.MsgCreateModel) { m.TargetWorkUnits = 1 })
	f.fill(completed)
	require.NoError(t, f.k.AddWorkUnits(f.ctx, completed, 1))

	cases := []struct {
		name  string
		op    sdk.AccAddress
		model uint64
		stage uint32
		err   error
		says  string
	}{
		{"unknown model", f.worker(5000), 99, 0, types.ErrModelNotFound, "no model with id 99"},
		{"stage out of range", f.worker(5000), id, 4, types.ErrStageOutOfRange, "stage 4: model 1 has stages 0..3"},
		{"second stage for one operator", holder, id, 2, types.ErrOneStagePerModel, "holds stage 0 of model 1"},
		{"same stage twice", holder, id, 0, types.ErrAlreadySeated, "already holds stage 0 of model 1"},
		{"full stage", f.worker(5000), id, 1, types.ErrStageFull, "stage 1 of model 1 has 3 replicas (max_replicas_per_stage 3)"},
		{"jailed worker", jailed, id, 2, types.ErrWorkerNotActive, "is jailed until"},
		{"inactive worker", inactive, id, 2, types.ErrWorkerNotActive, "WORKER_STATUS_INACTIVE"},
		{"unregistered operator", unregistered, id, 2, types.ErrWorkerNotActive, "has not registered a worker"},
		{"stake below the model's min_stake", poor, id, 2, types.ErrStakeBelowModelMin, "has 1500ulearn bonded; model 1 asks at least 2000ulearn"},
		{"cancelled model", f.worker(5000), cancelled, 0, types.ErrModelNotOpen, "MODEL_STATUS_CANCELLED"},
		{"completed model", f.worker(5000), completed, 0, types.ErrModelNotOpen, "MODEL_STATUS_COMPLETED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.join(tc.op, tc.model, tc.stage)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.says)
		})
	}
	_, err = f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: "garbage", ModelId: id})
	require.ErrorIs(t, err, types.ErrInvalidAddress)

	stage, seated := f.stageOf(id, holder)
	require.True(t, seated)
	require.Equal(t, uint32(0), stage, "refusals leave the holder where it was")
	require.Len(t, f.roster(id, 1), 3)
	f.requireInvariants("after refusals")
}

func TestLeaveStage(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	ops := f.fill(id)
	second := f.worker(5000)
	f.mustJoin(second, id, 1)
	require.NoError(t, f.commit(second, id, 1, 5, root(1)))

	f.freshEvents()
	res, err := f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: second.String(), ModelId: id})
	require.NoError(t, err)
	require.Equal(t, uint32(1), res.Stage)
	require.Equal(t, []*types.EventStageLeft{{ModelId: id, Stage: 1, Operator: second.String(), Replicas: 1}},
		events[*types.EventStageLeft](t, f.ctx))
	_, seated := f.stageOf(id, second)
	require.False(t, seated)
	sc, err := f.k.StageCheckpoint(f.ctx, id, 1)
	require.NoError(t, err)
	require.Zero(t, sc.CommittedReplicas, "a replica's checkpoint leaves with it")

	// The last replica of stage 3 leaves: the model stays TRAINING with a gap in the roster.
	_, err = f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: ops[3].String(), ModelId: id})
	require.NoError(t, err)
	require.Equal(t, types.MODEL_STATUS_TRAINING, f.model(id).Status)
	require.Empty(t, f.roster(id, 3))
	require.Equal(t, uint32(0), events[*types.EventStageLeft](t, f.ctx)[1].Replicas)

	// After leaving, the operator may take its stage again, and never another (stage hopping:
	// over time one key would download every stage's weights), however the seat was lost.
	_, err = f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: second.String(), ModelId: id, Stage: 3})
	require.ErrorIs(t, err, types.ErrStageHopping)
	require.ErrorContains(t, err, "held stage 1 of model 1")
	f.mustJoin(second, id, 1)

	_, err = f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: ops[3].String(), ModelId: id})
	require.ErrorIs(t, err, types.ErrNotSeated)
	require.ErrorContains(t, err, "holds no stage of model 1")
	_, err = f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: ops[0].String(), ModelId: 42})
	require.ErrorIs(t, err, types.ErrModelNotFound)
	_, err = f.msgs.LeaveStage(f.ctx, &types.MsgLeaveStage{Operator: "", ModelId: id})
	require.ErrorIs(t, err, types.ErrInvalidAddress)
	f.requireInvariants("after leaves")
}

func TestCancelModel(t *testing.T) {
	f := newFixture(t)
	designer := f.account(0)
	id := f.createModel(func(m *types.MsgCreateModel) { m.Designer = designer.String() })
	a, b := f.worker(5000), f.worker(5000)
	f.mustJoin(a, id, 0)
	f.mustJoin(b, id, 2)

	_, err := f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: a.String(), ModelId: id})
	require.ErrorIs(t, err, types.ErrNotDesigner)
	require.ErrorContains(t, err, "only its designer may cancel it")
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: designer.String(), ModelId: 9})
	require.ErrorIs(t, err, types.ErrModelNotFound)
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: "bad", ModelId: id})
	require.ErrorIs(t, err, types.ErrInvalidAddress)

	f.freshEvents()
	f.ctx = f.ctx.WithBlockHeight(9)
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: designer.String(), ModelId: id})
	require.NoError(t, err)
	m := f.model(id)
	require.Equal(t, types.MODEL_STATUS_CANCELLED, m.Status)
	require.Equal(t, int64(9), m.EndedHeight)
	dropped := events[*types.EventSeatDropped](t, f.ctx)
	require.ElementsMatch(t, []*types.EventSeatDropped{
		{ModelId: id, Stage: 0, Operator: a.String(), Reason: "model cancelled"},
		{ModelId: id, Stage: 2, Operator: b.String(), Reason: "model cancelled"},
	}, dropped)
	require.Len(t, events[*types.EventModelCancelled](t, f.ctx), 1)
	_, seated := f.stageOf(id, a)
	require.False(t, seated)

	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: designer.String(), ModelId: id})
	require.ErrorIs(t, err, types.ErrCannotCancel)

	// Once training has started, the designer cannot pull the model from under its replicas.
	training := f.createModel(func(m *types.MsgCreateModel) { m.Designer = designer.String() })
	f.fill(training)
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: designer.String(), ModelId: training})
	require.ErrorIs(t, err, types.ErrCannotCancel)
	require.ErrorContains(t, err, "model 2 is MODEL_STATUS_TRAINING; a model can be cancelled only while it is recruiting")
	f.requireInvariants("after cancel")
}

func TestAddWorkUnitsCompletesTheModel(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil) // target 100
	err := f.k.AddWorkUnits(f.ctx, id, 10)
	require.ErrorIs(t, err, types.ErrModelNotTraining, "a recruiting model takes no work")
	require.ErrorContains(t, err, "MODEL_STATUS_RECRUITING")
	require.ErrorIs(t, f.k.AddWorkUnits(f.ctx, 77, 10), types.ErrModelNotFound)

	f.fill(id)
	require.ErrorIs(t, f.k.AddWorkUnits(f.ctx, id, 0), types.ErrInvalidWorkUnits)
	require.NoError(t, f.k.AddWorkUnits(f.ctx, id, 60))
	require.Equal(t, uint64(60), f.model(id).WorkUnits)
	require.Equal(t, types.MODEL_STATUS_TRAINING, f.model(id).Status)

	f.freshEvents()
	f.ctx = f.ctx.WithBlockHeight(12)
	require.NoError(t, f.k.AddWorkUnits(f.ctx, id, 45))
	m := f.model(id)
	require.Equal(t, types.MODEL_STATUS_COMPLETED, m.Status)
	require.Equal(t, uint64(105), m.WorkUnits, "the whole finalized amount is recorded")
	require.Equal(t, int64(12), m.EndedHeight)
	require.Equal(t, []*types.EventWorkUnitsAdded{{ModelId: id, Units: 45, WorkUnits: 105, TargetWorkUnits: 100}},
		events[*types.EventWorkUnitsAdded](t, f.ctx))
	require.Equal(t, []*types.EventModelStatusChanged{{ModelId: id, From: types.MODEL_STATUS_TRAINING, To: types.MODEL_STATUS_COMPLETED}},
		events[*types.EventModelStatusChanged](t, f.ctx))
	require.ErrorIs(t, f.k.AddWorkUnits(f.ctx, id, 1), types.ErrModelNotTraining)

	huge := f.createModel(func(m *types.MsgCreateModel) { m.TargetWorkUnits = ^uint64(0) })
	f.fill(huge)
	require.NoError(t, f.k.AddWorkUnits(f.ctx, huge, ^uint64(0)-1))
	require.ErrorContains(t, f.k.AddWorkUnits(f.ctx, huge, 2), "overflows")
	f.requireInvariants("after work")
}

func TestComputeHookDropsSeatsOfJailedAndInactiveWorkers(t *testing.T) {
	f := newFixture(t)
	a := f.createModel(nil)
	b := f.createModel(nil)
	opsA := f.fill(a)
	op := opsA[2]
	f.mustJoin(op, b, 1)
	require.NoError(t, f.commit(op, a, 2, 1, root(3)))

	f.freshEvents()
	require.NoError(t, f.compute.Jail(f.ctx, op, "missed a challenge"))
	require.ElementsMatch(t, []*types.EventSeatDropped{
		{ModelId: a, Stage: 2, Operator: op.String(), Reason: "worker jailed"},
		{ModelId: b, Stage: 1, Operator: op.String(), Reason: "worker jailed"},
	}, events[*types.EventSeatDropped](t, f.ctx))
	for _, id := range []uint64{a, b} {
		_, seated := f.stageOf(id, op)
		require.False(t, seated)
	}
	res, err := f.query.Assignments(f.ctx, &types.QueryAssignmentsRequest{Operator: op.String()})
	require.NoError(t, err)
	require.Empty(t, res.Assignments)
	require.Equal(t, types.MODEL_STATUS_TRAINING, f.model(a).Status, "a training model keeps training with a gap")
	require.Empty(t, f.roster(a, 2))
	f.requireInvariants("after jail")

	// Unjailed, the worker may join again.
	f.ctx = f.ctx.WithBlockTime(f.ctx.BlockTime().Add(2 * computeParams().JailDuration))
	require.NoError(t, f.unjail(op))
	f.mustJoin(op, a, 2)

	// Unbonding below min_worker_stake makes the worker inactive: its seats go too.
	f.freshEvents()
	require.NoError(t, f.unbond(op, 4500))
	dropped := events[*types.EventSeatDropped](t, f.ctx)
	require.Len(t, dropped, 1)
	require.Contains(t, dropped[0].Reason, "inactive")
	_, seated := f.stageOf(a, op)
	require.False(t, seated)

	// Unbonding that keeps the worker active but takes it below one model's min_stake drops that
	// seat only; a model with a lower floor keeps it.
	cheap := f.createModel(func(m *types.MsgCreateModel) { m.MinStake = sdk.NewInt64Coin(denom, 1000) })
	rich := f.worker(3000)
	f.mustJoin(rich, a, 2)
	f.mustJoin(rich, cheap, 0)
	f.freshEvents()
	require.NoError(t, f.unbond(rich, 1500))
	require.Equal(t, []*types.EventSeatDropped{
		{ModelId: a, Stage: 2, Operator: rich.String(), Reason: "bonded stake below the model's min_stake"},
	}, events[*types.EventSeatDropped](t, f.ctx))
	_, seated = f.stageOf(a, rich)
	require.False(t, seated)
	_, seated = f.stageOf(cheap, rich)
	require.True(t, seated)
	f.requireInvariants("after unbonding")
}

func TestCommitCheckpointAndAgreement(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	a, b, c := f.worker(5000), f.worker(5000), f.worker(5000)
	f.mustJoin(a, id, 0)
	f.mustJoin(b, id, 0)
	f.mustJoin(c, id, 0)

	err := f.commit(a, id, 0, 1, root(1))
	require.ErrorIs(t, err, types.ErrModelNotTraining, "no checkpoints before training")
	require.ErrorContains(t, err, "MODEL_STATUS_RECRUITING")

	others := []sdk.AccAddress{f.worker(5000), f.worker(5000), f.worker(5000)}
	for s, op := range others {
		f.mustJoin(op, id, uint32(s+1))
	}
	require.Equal(t, types.MODEL_STATUS_TRAINING, f.model(id).Status)

	f.freshEvents()
	require.NoError(t, f.commit(a, id, 0, 10, root(0xaa)))
	require.Equal(t, []*types.EventCheckpointCommitted{{ModelId: id, Stage: 0, Operator: a.String(), Step: 10, WeightsRoot: root(0xaa)}},
		events[*types.EventCheckpointCommitted](t, f.ctx))
	require.NoError(t, f.commit(b, id, 0, 10, root(0xaa)))
	require.NoError(t, f.commit(c, id, 0, 10, root(0xbb)))

	summary := func() []types.StageCheckpoint {
		res, err := f.query.Checkpoints(f.ctx, &types.QueryCheckpointsRequest{ModelId: id})
		require.NoError(t, err)
		require.Len(t, res.Stages, 4)
		return res.Stages
	}
	require.Equal(t, types.StageCheckpoint{Stage: 0, LatestStep: 10, WeightsRoot: root(0xaa), AgreeingReplicas: 2, CommittedReplicas: 3, TotalReplicas: 3}, summary()[0])
	require.Equal(t, types.StageCheckpoint{Stage: 1, TotalReplicas: 1}, summary()[1], "no commits yet")

	// c moves ahead alone: the latest step wins even with one replica behind it.
	require.NoError(t, f.commit(c, id, 0, 20, root(0xcc)))
	require.Equal(t, types.StageCheckpoint{Stage: 0, LatestStep: 20, WeightsRoot: root(0xcc), AgreeingReplicas: 1, CommittedReplicas: 3, TotalReplicas: 3}, summary()[0])

	// Two replicas at step 20 disagree with c: a tie goes to the bytewise smallest root.
	require.NoError(t, f.commit(a, id, 0, 20, root(0x11)))
	require.Equal(t, root(0x11), summary()[0].WeightsRoot)
	require.Equal(t, uint32(1), summary()[0].AgreeingReplicas)
	require.NoError(t, f.commit(b, id, 0, 20, root(0xcc)))
	require.Equal(t, root(0xcc), summary()[0].WeightsRoot)
	require.Equal(t, uint32(2), summary()[0].AgreeingReplicas)

	// The roster shows each replica's latest commit.
	roster, err := f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: id, Stage: 0})
	require.NoError(t, err)
	for _, r := range roster.Replicas {
		require.True(t, r.HasCheckpoint)
		require.Equal(t, uint64(20), r.CheckpointStep)
	}

	cases := []struct {
		name  string
		op    sdk.AccAddress
		model uint64
		stage uint32
		step  uint64
		root  []byte
		err   error
		says  string
	}{
		{"same step again", a, id, 0, 20, root(0x11), types.ErrStepNotIncreasing, "step 20 is not above your previous commit at step 20"},
		{"lower step", a, id, 0, 19, root(0x11), types.ErrStepNotIncreasing, "step 19"},
		{"short root", a, id, 0, 30, root(1)[:16], types.ErrInvalidCommitment, "weights_root is 16 bytes"},
		{"another replica's stage", a, id, 1, 30, root(1), types.ErrNotSeated, "holds stage 0 of model 1, not stage 1"},
		{"not seated", f.worker(5000), id, 0, 30, root(1), types.ErrNotSeated, "join-stage first"},
		{"stage out of range", a, id, 4, 30, root(1), types.ErrStageOutOfRange, "stage 4"},
		{"unknown model", a, 5, 0, 30, root(1), types.ErrModelNotFound, "no model with id 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.commit(tc.op, tc.model, tc.stage, tc.step, tc.root)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.says)
		})
	}

	// A completed model still takes its replicas' final commits.
	require.NoError(t, f.k.AddWorkUnits(f.ctx, id, 100))
	require.Equal(t, types.MODEL_STATUS_COMPLETED, f.model(id).Status)
	require.NoError(t, f.commit(a, id, 0, 21, root(0x22)))
	f.requireInvariants("after checkpoints")
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t)
	existing := f.createModel(func(m *types.MsgCreateModel) { m.MaxReplicasPerStage = 4 })

	p := modelsParams()
	p.MaxReplicasLimit = 2
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.account(0).String(), Params: p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)
	bad := p
	bad.MaxStages = 0
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	require.ErrorContains(t, err, "max_stages")

	f.freshEvents()
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p})
	require.NoError(t, err)
	require.Equal(t, []*types.EventParamsUpdated{{Params: p}}, events[*types.EventParamsUpdated](t, f.ctx))
	got, err := f.k.GetParams(f.ctx)
	require.NoError(t, err)
	require.Equal(t, p, got)

	// New models obey the new bound; the existing one keeps what it was created with.
	_, err = f.msgs.CreateModel(f.ctx, createMsg(f.account(0)))
	require.ErrorIs(t, err, types.ErrInvalidReplicas)
	for i := 0; i < 4; i++ {
		f.mustJoin(f.worker(5000), existing, 0)
	}
	f.requireInvariants("after params")
}

// Bech32 is case-insensitive; the chain stores one spelling, so lookups and invariants agree.
func TestAddressesAreStoredCanonically(t *testing.T) {
	f := newFixture(t)
	designer := f.account(0)
	msg := createMsg(designer)
	msg.Designer = strings.ToUpper(designer.String())
	res, err := f.msgs.CreateModel(f.ctx, msg)
	require.NoError(t, err)
	require.Equal(t, designer.String(), f.model(res.ModelId).Designer)

	op := f.worker(5000)
	_, err = f.msgs.JoinStage(f.ctx, &types.MsgJoinStage{Operator: strings.ToUpper(op.String()), ModelId: res.ModelId, Stage: 1})
	require.NoError(t, err)
	require.Equal(t, []string{op.String()}, f.roster(res.ModelId, 1))
	f.requireInvariants("upper-case signers")

	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: designer.String(), ModelId: res.ModelId})
	require.NoError(t, err, "the designer is the same account however it spells its address")
}
