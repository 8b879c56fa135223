package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/models/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/models.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

// model returns a model as a gRPC status error when it is missing.
func (q queryServer) model(ctx context.Context, id uint64) (types.Model, error) {
	if id == 0 {
		return types.Model{}, status.Error(codes.InvalidArgument, "model id is 0; ids start at 1")
	}
	m, err := q.k.Models.Get(ctx, id)
	if isNotFound(err) {
		return m, status.Errorf(codes.NotFound, "no model with id %d", id)
	}
	if err != nil {
		return m, status.Error(codes.Internal, err.Error())
	}
	return m, nil
}

func (q queryServer) Model(ctx context.Context, req *types.QueryModelRequest) (*types.QueryModelResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	m, err := q.model(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return &types.QueryModelResponse{Model: m}, nil
}

func (q queryServer) Models(ctx context.Context, req *types.QueryModelsRequest) (*types.QueryModelsResponse, error) {
	if req == nil {
		req = &types.QueryModelsRequest{}
	}
	if _, ok := types.ModelStatus_name[int32(req.Status)]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown model status %d", req.Status)
	}
	models, page, err := query.CollectionFilteredPaginate(ctx, q.k.Models, req.Pagination,
		func(_ uint64, m types.Model) (bool, error) {
			return (req.Status == types.MODEL_STATUS_UNSPECIFIED || m.Status == req.Status) && (req.ParentId == 0 || m.ParentId == req.ParentId), nil
		},
		func(_ uint64, m types.Model) (types.Model, error) { return m, nil },
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryModelsResponse{Models: models, Pagination: page}, nil
}

func (q queryServer) HeldStage(ctx context.Context, req *types.QueryHeldStageRequest) (*types.QueryHeldStageResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if _, err := q.model(ctx, req.ModelId); err != nil {
		return nil, err
	}
	op, err := q.k.parseAddr("operator", req.Operator)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	h, err := q.k.HeldStages.Get(ctx, collections.Join(req.ModelId, op))
	if isNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "%s has never held a stage of model %d", req.Operator, req.ModelId)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryHeldStageResponse{HeldStage: h}, nil
}

func (q queryServer) StageRoster(ctx context.Context, req *types.QueryStageRosterRequest) (*types.QueryStageRosterResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	m, err := q.model(ctx, req.ModelId)
	if err != nil {
		return nil, err
	}
	if err := checkStage(m, req.Stage); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	prefix := func(o *query.CollectionsPaginateOptions[collections.Triple[uint64, uint32, sdk.AccAddress]]) {
		p := collections.TripleSuperPrefix[uint64, uint32, sdk.AccAddress](req.ModelId, req.Stage)
		o.Prefix = &p
	}
	replicas, page, err := query.CollectionPaginate(ctx, q.k.Seats, req.Pagination,
		func(key collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (types.Replica, error) {
			return q.k.replica(ctx, key, s)
		}, prefix)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryStageRosterResponse{Replicas: replicas, Pagination: page}, nil
}

// replica joins a seat with its worker's record in x/compute and its latest checkpoint.
func (k *Keeper) replica(ctx context.Context, key collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (types.Replica, error) {
	w, err := k.ck.GetWorker(ctx, key.K3())
	if err != nil {
		return types.Replica{}, err
	}
	r := types.Replica{
		Operator:     s.Operator,
		PeerId:       w.PeerId,
		Multiaddrs:   w.Multiaddrs,
		Bonded:       w.Bonded,
		JoinedHeight: s.JoinedHeight,
	}
	c, err := k.Checkpoints.Get(ctx, key)
	switch {
	case err == nil:
		r.HasCheckpoint, r.CheckpointStep, r.CheckpointRoot = true, c.Step, c.WeightsRoot
	case !isNotFound(err):
		return r, err
	}
	return r, nil
}

func (q queryServer) Assignments(ctx context.Context, req *types.QueryAssignmentsRequest) (*types.QueryAssignmentsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.k.parseAddr("operator", req.Operator)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	assignments, page, err := query.CollectionPaginate(ctx, q.k.SeatsByOperator, req.Pagination,
		func(key collections.Pair[sdk.AccAddress, uint64], stage uint32) (types.Assignment, error) {
			return types.Assignment{ModelId: key.K2(), Stage: stage}, nil
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](op),
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryAssignmentsResponse{Assignments: assignments, Pagination: page}, nil
}

func (q queryServer) Checkpoints(ctx context.Context, req *types.QueryCheckpointsRequest) (*types.QueryCheckpointsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	m, err := q.model(ctx, req.ModelId)
	if err != nil {
		return nil, err
	}
	res := &types.QueryCheckpointsResponse{Stages: make([]types.StageCheckpoint, 0, m.NumStages())}
	for s := uint32(0); s < m.NumStages(); s++ {
		sc, err := q.k.StageCheckpoint(ctx, m.Id, s)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		res.Stages = append(res.Stages, sc)
	}
	return res, nil
}

// StageCheckpoint summarizes the latest commits of a stage's current replicas: the highest step
// any of them committed, the root most of the replicas at that step committed (ties go to the
// bytewise smallest root, so every node picks the same), and how many agree with it.
func (k *Keeper) StageCheckpoint(ctx context.Context, modelID uint64, stage uint32) (types.StageCheckpoint, error) {
	sc := types.StageCheckpoint{Stage: stage}
	var err error
	if sc.TotalReplicas, err = k.replicas(ctx, modelID, stage); err != nil {
		return sc, err
	}
	votes := map[string]uint32{}
	rng := collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID, stage)
	err = k.Checkpoints.Walk(ctx, rng, func(_ collections.Triple[uint64, uint32, sdk.AccAddress], c types.Checkpoint) (bool, error) {
		sc.CommittedReplicas++
		if c.Step > sc.LatestStep || sc.CommittedReplicas == 1 {
			sc.LatestStep = c.Step
			clear(votes)
		}
		if c.Step == sc.LatestStep {
			votes[string(c.WeightsRoot)]++
		}
		return false, nil
	})
	if err != nil {
		return sc, err
	}
	for root, n := range votes {
		if n > sc.AgreeingReplicas || (n == sc.AgreeingReplicas && bytes.Compare([]byte(root), sc.WeightsRoot) < 0) {
			sc.WeightsRoot, sc.AgreeingReplicas = []byte(root), n
		}
	}
	return sc, nil
}
