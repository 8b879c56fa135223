package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/compute/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/compute.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) operator(s string) (sdk.AccAddress, error) {
	if s == "" {
		return nil, status.Error(codes.InvalidArgument, "operator address is empty")
	}
	a, err := q.k.parseAddr("operator", s)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return a, nil
}

func (q queryServer) Worker(ctx context.Context, req *types.QueryWorkerRequest) (*types.QueryWorkerResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.operator(req.Operator)
	if err != nil {
		return nil, err
	}
	w, err := q.k.Workers.Get(ctx, op)
	if isNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "no worker registered by %s", req.Operator)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryWorkerResponse{Worker: w}, nil
}

func (q queryServer) WorkerByPeerId(ctx context.Context, req *types.QueryWorkerByPeerIdRequest) (*types.QueryWorkerByPeerIdResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := types.ValidatePeerID(req.PeerId); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	op, err := q.k.Workers.Indexes.PeerID.MatchExact(ctx, req.PeerId)
	if isNotFound(err) && req.Retired {
		op, err = q.k.RetiredPeers.Get(ctx, req.PeerId)
	}
	if isNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "no worker announces peer id %s (retired too: %v)", req.PeerId, req.Retired)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	w, err := q.k.Workers.Get(ctx, op)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryWorkerByPeerIdResponse{Worker: w}, nil
}

func (q queryServer) Workers(ctx context.Context, req *types.QueryWorkersRequest) (*types.QueryWorkersResponse, error) {
	if req == nil {
		req = &types.QueryWorkersRequest{}
	}
	if _, ok := types.WorkerStatus_name[int32(req.Status)]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown worker status %d", req.Status)
	}
	workers, page, err := query.CollectionFilteredPaginate(ctx, q.k.Workers, req.Pagination,
		func(_ sdk.AccAddress, w types.Worker) (bool, error) {
			return req.Status == types.WORKER_STATUS_UNSPECIFIED || w.Status == req.Status, nil
		},
		func(_ sdk.AccAddress, w types.Worker) (types.Worker, error) { return w, nil },
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryWorkersResponse{Workers: workers, Pagination: page}, nil
}

func (q queryServer) UnbondingEntries(ctx context.Context, req *types.QueryUnbondingEntriesRequest) (*types.QueryUnbondingEntriesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	op, err := q.operator(req.Operator)
	if err != nil {
		return nil, err
	}
	entries, page, err := query.CollectionPaginate(ctx, q.k.Unbonding, req.Pagination,
		func(_ collections.Pair[sdk.AccAddress, uint64], e types.UnbondingEntry) (types.UnbondingEntry, error) {
			return e, nil
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](op),
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryUnbondingEntriesResponse{Entries: entries, Pagination: page}, nil
}
