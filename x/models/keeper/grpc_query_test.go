package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/models/types"
)

func TestQueries(t *testing.T) {
	f := newFixture(t)
	p, err := f.query.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, modelsParams(), p.Params)

	var recruiting []uint64
	for i := 0; i < 5; i++ {
		recruiting = append(recruiting, f.createModel(nil))
	}
	training := f.createModel(nil)
	f.fill(training)
	cancelled := f.createModel(nil)
	_, err = f.msgs.CancelModel(f.ctx, &types.MsgCancelModel{Designer: f.model(cancelled).Designer, ModelId: cancelled})
	require.NoError(t, err)

	m, err := f.query.Model(f.ctx, &types.QueryModelRequest{Id: training})
	require.NoError(t, err)
	require.Equal(t, types.MODEL_STATUS_TRAINING, m.Model.Status)
	_, err = f.query.Model(f.ctx, &types.QueryModelRequest{Id: 99})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.query.Model(f.ctx, &types.QueryModelRequest{Id: 0})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	all, err := f.query.Models(f.ctx, &types.QueryModelsRequest{})
	require.NoError(t, err)
	require.Len(t, all.Models, 7)

	// Page through the recruiting ones two at a time.
	var got []uint64
	var next []byte
	for {
		res, err := f.query.Models(f.ctx, &types.QueryModelsRequest{
			Status: types.MODEL_STATUS_RECRUITING, Pagination: &query.PageRequest{Key: next, Limit: 2},
		})
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.Models), 2)
		for _, m := range res.Models {
			got = append(got, m.Id)
		}
		if next = res.Pagination.NextKey; next == nil {
			break
		}
	}
	require.Equal(t, recruiting, got)
	for st, want := range map[types.ModelStatus]uint64{types.MODEL_STATUS_TRAINING: training, types.MODEL_STATUS_CANCELLED: cancelled} {
		res, err := f.query.Models(f.ctx, &types.QueryModelsRequest{Status: st})
		require.NoError(t, err)
		require.Len(t, res.Models, 1)
		require.Equal(t, want, res.Models[0].Id)
	}
	_, err = f.query.Models(f.ctx, &types.QueryModelsRequest{Status: 42})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestStageRosterQuery(t *testing.T) {
	f := newFixture(t)
	id := f.createModel(nil)
	ops := []sdk.AccAddress{f.worker(5000), f.worker(6000), f.worker(7000)}
	for _, op := range ops {
		f.mustJoin(op, id, 1)
	}

	res, err := f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: id, Stage: 1})
	require.NoError(t, err)
	require.Len(t, res.Replicas, 3)
	byOp := map[string]types.Replica{}
	for _, r := range res.Replicas {
		byOp[r.Operator] = r
	}
	for _, op := range ops {
		w, err := f.compute.GetWorker(f.ctx, op)
		require.NoError(t, err)
		r := byOp[op.String()]
		require.Equal(t, w.PeerId, r.PeerId, "peer ids come from x/compute")
		require.Equal(t, w.Multiaddrs, r.Multiaddrs)
		require.Equal(t, w.Bonded, r.Bonded)
		require.Equal(t, int64(1), r.JoinedHeight)
		require.False(t, r.HasCheckpoint)
	}

	// Pagination: one at a time, every replica exactly once.
	var got []string
	var next []byte
	for {
		page, err := f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: id, Stage: 1, Pagination: &query.PageRequest{Key: next, Limit: 1}})
		require.NoError(t, err)
		require.Len(t, page.Replicas, 1)
		got = append(got, page.Replicas[0].Operator)
		if next = page.Pagination.NextKey; next == nil {
			break
		}
	}
	require.ElementsMatch(t, []string{ops[0].String(), ops[1].String(), ops[2].String()}, got)

	empty, err := f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: id, Stage: 0})
	require.NoError(t, err)
	require.Empty(t, empty.Replicas, "other stages' seats do not leak into the prefix")
	_, err = f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: id, Stage: 4})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = f.query.StageRoster(f.ctx, &types.QueryStageRosterRequest{ModelId: 8, Stage: 0})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestAssignmentsQuery(t *testing.T) {
	f := newFixture(t)
	op := f.worker(5000)
	var want []types.Assignment
	for i := 0; i < 5; i++ {
		id := f.createModel(nil)
		stage := uint32(i % 4)
		f.mustJoin(op, id, stage)
		want = append(want, types.Assignment{ModelId: id, Stage: stage})
	}
	f.mustJoin(f.worker(5000), 1, 0) // someone else's seat

	var got []types.Assignment
	var next []byte
	for {
		res, err := f.query.Assignments(f.ctx, &types.QueryAssignmentsRequest{Operator: op.String(), Pagination: &query.PageRequest{Key: next, Limit: 2}})
		require.NoError(t, err)
		got = append(got, res.Assignments...)
		if next = res.Pagination.NextKey; next == nil {
			break
		}
	}
	require.Equal(t, want, got, "an operator's seats, in model order")

	none, err := f.query.Assignments(f.ctx, &types.QueryAssignmentsRequest{Operator: f.account(0).String()})
	require.NoError(t, err)
	require.Empty(t, none.Assignments)
	_, err = f.query.Assignments(f.ctx, &types.QueryAssignmentsRequest{Operator: "nope"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestCheckpointsQueryErrors(t *testing.T) {
	f := newFixture(t)
	_, err := f.query.Checkpoints(f.ctx, &types.QueryCheckpointsRequest{ModelId: 3})
	require.Equal(t, codes.NotFound, status.Code(err))
	id := f.createModel(nil)
	res, err := f.query.Checkpoints(f.ctx, &types.QueryCheckpointsRequest{ModelId: id})
	require.NoError(t, err)
	require.Equal(t, []types.StageCheckpoint{{Stage: 0}, {Stage: 1}, {Stage: 2}, {Stage: 3}}, res.Stages)
}
