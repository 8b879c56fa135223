package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/verify/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/verify.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Attestation(ctx context.Context, req *types.QueryAttestationRequest) (*types.QueryAttestationResponse, error) {
	if req == nil || req.Id == 0 {
		return nil, status.Error(codes.InvalidArgument, "id is required")
	}
	a, err := q.k.GetAttestation(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryAttestationResponse{Attestation: a}, nil
}

// newestFirst flips the page order: ids grow with time, and the newest are what callers want.
func newestFirst(page *query.PageRequest) *query.PageRequest {
	if page == nil {
		page = &query.PageRequest{}
	}
	p := *page
	p.Reverse = !p.Reverse
	return &p
}

func (q queryServer) Attestations(ctx context.Context, req *types.QueryAttestationsRequest) (*types.QueryAttestationsResponse, error) {
	if req == nil {
		req = &types.QueryAttestationsRequest{}
	}
	var worker sdk.AccAddress
	if req.Worker != "" {
		w, err := q.k.parseAddr("worker", req.Worker)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		worker = w
	}
	page := newestFirst(req.Pagination)
	match := func(a types.Attestation) bool {
		return (req.ModelId == 0 || a.ModelId == req.ModelId) &&
			(req.Status == types.ATTESTATION_STATUS_UNSPECIFIED || a.Status == req.Status)
	}
	byID := func(id uint64) (types.Attestation, bool, error) {
		a, err := q.k.Attestations.Get(ctx, id)
		if err != nil {
			return a, false, err
		}
		return a, match(a), nil
	}
	var (
		out []types.Attestation
		res *query.PageResponse
		err error
	)
	switch {
	case worker != nil:
		prefix := collections.PairPrefix[sdk.AccAddress, uint64](worker)
		out, res, err = filteredIDs(ctx, q.k.ByWorker, page, &prefix, byID)
	case req.ModelId != 0:
		prefix := collections.PairPrefix[uint64, uint64](req.ModelId)
		out, res, err = filteredIDs(ctx, q.k.ByModel, page, &prefix, byID)
	default:
		out, res, err = query.CollectionFilteredPaginate(ctx, q.k.Attestations, page,
			func(_ uint64, a types.Attestation) (bool, error) { return match(a), nil },
			func(_ uint64, a types.Attestation) (types.Attestation, error) { return a, nil })
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryAttestationsResponse{Attestations: out, Pagination: res}, nil
}

// StagePending pages the finalization queue (exactly the pending attestations, invariants
// checkPending), keeping the model's stage's.
func (q queryServer) StagePending(ctx context.Context, req *types.QueryStagePendingRequest) (*types.QueryStagePendingResponse, error) {
	if req == nil || req.ModelId == 0 {
		return nil, status.Error(codes.InvalidArgument, "model_id is required")
	}
	byID := func(id uint64) (types.Attestation, bool, error) {
		a, err := q.k.Attestations.Get(ctx, id)
		return a, err == nil && a.ModelId == req.ModelId && a.Stage == req.Stage, err
	}
	out, res, err := filteredIDs[int64](ctx, q.k.ToFinalize, req.Pagination, nil, byID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryStagePendingResponse{Attestations: out, Pagination: res}, nil
}

// filteredIDs pages an index of (K1, id) pairs under prefix, loading and filtering each record.
func filteredIDs[K1, V any](ctx context.Context, idx collections.KeySet[collections.Pair[K1, uint64]], page *query.PageRequest,
	prefix *collections.Pair[K1, uint64], load func(uint64) (V, bool, error),
) ([]V, *query.PageResponse, error) {
	var loaded V
	return query.CollectionFilteredPaginate(ctx, idx, page,
		func(key collections.Pair[K1, uint64], _ collections.NoValue) (bool, error) {
			v, ok, err := load(key.K2())
			loaded = v
			return ok, err
		},
		func(collections.Pair[K1, uint64], collections.NoValue) (V, error) { return loaded, nil },
		func(o *query.CollectionsPaginateOptions[collections.Pair[K1, uint64]]) { o.Prefix = prefix },
	)
}

func (q queryServer) Challenge(ctx context.Context, req *types.QueryChallengeRequest) (*types.QueryChallengeResponse, error) {
	if req == nil || req.Id == 0 {
		return nil, status.Error(codes.InvalidArgument, "id is required")
	}
	c, err := q.k.GetChallenge(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryChallengeResponse{Challenge: c}, nil
}

func (q queryServer) Challenges(ctx context.Context, req *types.QueryChallengesRequest) (*types.QueryChallengesResponse, error) {
	if req == nil {
		req = &types.QueryChallengesRequest{}
	}
	page := newestFirst(req.Pagination)
	match := func(c types.Challenge) bool {
		return req.Status == types.CHALLENGE_STATUS_UNSPECIFIED || c.Status == req.Status
	}
	var (
		out []types.Challenge
		res *query.PageResponse
		err error
	)
	if req.Worker != "" {
		worker, perr := q.k.parseAddr("worker", req.Worker)
		if perr != nil {
			return nil, status.Error(codes.InvalidArgument, perr.Error())
		}
		prefix := collections.PairPrefix[sdk.AccAddress, uint64](worker)
		out, res, err = filteredIDs(ctx, q.k.ChallengesByWorker, page, &prefix, func(id uint64) (types.Challenge, bool, error) {
			c, err := q.k.Challenges.Get(ctx, id)
			return c, err == nil && match(c), err
		})
	} else {
		out, res, err = query.CollectionFilteredPaginate(ctx, q.k.Challenges, page,
			func(_ uint64, c types.Challenge) (bool, error) { return match(c), nil },
			func(_ uint64, c types.Challenge) (types.Challenge, error) { return c, nil })
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryChallengesResponse{Challenges: out, Pagination: res}, nil
}

func (q queryServer) Dispute(ctx context.Context, req *types.QueryDisputeRequest) (*types.QueryDisputeResponse, error) {
	if req == nil || req.Id == 0 {
		return nil, status.Error(codes.InvalidArgument, "id is required")
	}
	d, err := q.k.GetDispute(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryDisputeResponse{Dispute: d}, nil
}

func (q queryServer) Disputes(ctx context.Context, req *types.QueryDisputesRequest) (*types.QueryDisputesResponse, error) {
	if req == nil {
		req = &types.QueryDisputesRequest{}
	}
	if req.Party != "" {
		if _, err := q.k.parseAddr("party", req.Party); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	match := func(d types.Dispute) bool {
		return (req.Party == "" || d.Worker == req.Party || d.Referee == req.Party) && (!req.OpenOnly || d.Open())
	}
	out, res, err := query.CollectionFilteredPaginate(ctx, q.k.Disputes, newestFirst(req.Pagination),
		func(_ uint64, d types.Dispute) (bool, error) { return match(d), nil },
		func(_ uint64, d types.Dispute) (types.Dispute, error) { return d, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryDisputesResponse{Disputes: out, Pagination: res}, nil
}

func (q queryServer) LogRequest(ctx context.Context, req *types.QueryLogRequestRequest) (*types.QueryLogRequestResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	r, err := q.k.GetLogRequest(ctx, req.Id)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return &types.QueryLogRequestResponse{Request: r}, nil
}

func (q queryServer) LogRequests(ctx context.Context, req *types.QueryLogRequestsRequest) (*types.QueryLogRequestsResponse, error) {
	if req == nil {
		req = &types.QueryLogRequestsRequest{}
	}
	if req.Party != "" {
		if _, err := q.k.parseAddr("party", req.Party); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	match := func(r types.LogRequest) bool {
		return (req.Party == "" || r.Worker == req.Party || r.Referee == req.Party) &&
			(req.AttestationId == 0 || r.AttestationId == req.AttestationId) && (!req.OpenOnly || r.Open())
	}
	out, res, err := query.CollectionFilteredPaginate(ctx, q.k.LogRequests, newestFirst(req.Pagination),
		func(_ uint64, r types.LogRequest) (bool, error) { return match(r), nil },
		func(_ uint64, r types.LogRequest) (types.LogRequest, error) { return r, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryLogRequestsResponse{Requests: out, Pagination: res}, nil
}

func (q queryServer) VerifyingKeys(ctx context.Context, _ *types.QueryVerifyingKeysRequest) (*types.QueryVerifyingKeysResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryVerifyingKeysResponse{VerifyingKeys: p.VerifyingKeys}, nil
}
