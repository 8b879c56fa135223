package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/modelgov/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/modelgov.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Proposal(ctx context.Context, req *types.QueryProposalRequest) (*types.QueryProposalResponse, error) {
	p, err := q.k.GetProposal(ctx, req.ProposalId)
	if err != nil {
		return nil, err
	}
	return &types.QueryProposalResponse{Proposal: p}, nil
}

// Proposals pages newest first: a model's, or all of them.
func (q queryServer) Proposals(ctx context.Context, req *types.QueryProposalsRequest) (*types.QueryProposalsResponse, error) {
	if _, ok := types.ProposalStatus_name[int32(req.Status)]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown proposal status %d", req.Status)
	}
	if req.Pagination == nil {
		req.Pagination = &query.PageRequest{}
	}
	req.Pagination.Reverse = !req.Pagination.Reverse // newest first unless asked otherwise
	keep := func(p types.Proposal) bool {
		return req.Status == types.PROPOSAL_STATUS_UNSPECIFIED || p.Status == req.Status
	}
	out := &types.QueryProposalsResponse{}
	var err error
	if req.ModelId == 0 {
		out.Proposals, out.Pagination, err = query.CollectionFilteredPaginate(ctx, q.k.Proposals, req.Pagination,
			func(_ uint64, p types.Proposal) (bool, error) { return keep(p), nil },
			func(_ uint64, p types.Proposal) (types.Proposal, error) { return p, nil })
		return out, err
	}
	out.Proposals, out.Pagination, err = query.CollectionFilteredPaginate(ctx, q.k.ByModel, req.Pagination,
		func(key collections.Pair[uint64, uint64], _ collections.NoValue) (bool, error) {
			p, err := q.k.GetProposal(ctx, key.K2())
			return err == nil && keep(p), err
		},
		func(key collections.Pair[uint64, uint64], _ collections.NoValue) (types.Proposal, error) {
			return q.k.GetProposal(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[uint64, uint64](req.ModelId))
	return out, err
}

func (q queryServer) Votes(ctx context.Context, req *types.QueryVotesRequest) (*types.QueryVotesResponse, error) {
	p, err := q.k.GetProposal(ctx, req.ProposalId)
	if err != nil {
		return nil, err
	}
	votes, page, err := query.CollectionPaginate(ctx, q.k.Votes, req.Pagination,
		func(key collections.Pair[uint64, sdk.AccAddress], option int32) (types.WeighedVote, error) {
			power, err := q.k.Power(ctx, p, key.K2())
			return types.WeighedVote{
				Vote:  types.Vote{ProposalId: p.Id, Voter: q.k.addrString(key.K2()), Option: types.VoteOption(option)},
				Power: power,
			}, err
		},
		query.WithCollectionPaginationPairPrefix[uint64, sdk.AccAddress](p.Id))
	if err != nil {
		return nil, err
	}
	return &types.QueryVotesResponse{Votes: votes, Pagination: page}, nil
}

func (q queryServer) Tally(ctx context.Context, req *types.QueryTallyRequest) (*types.QueryTallyResponse, error) {
	p, err := q.k.GetProposal(ctx, req.ProposalId)
	if err != nil {
		return nil, err
	}
	if p.Status != types.PROPOSAL_STATUS_VOTING {
		return &types.QueryTallyResponse{Tally: p.FinalTally, Supply: p.Supply, Final: true}, nil
	}
	t, err := q.k.Tally(ctx, p)
	if err != nil {
		return nil, err
	}
	return &types.QueryTallyResponse{Tally: t, Supply: p.Supply}, nil
}

func (q queryServer) VotingPower(ctx context.Context, req *types.QueryVotingPowerRequest) (*types.QueryVotingPowerResponse, error) {
	holder, err := q.k.parseAddr("holder", req.Holder)
	if err != nil {
		return nil, err
	}
	p, err := q.k.GetProposal(ctx, req.ProposalId)
	if err != nil {
		return nil, err
	}
	if p.Status != types.PROPOSAL_STATUS_VOTING {
		return nil, status.Errorf(codes.FailedPrecondition, "proposal %d has ended (%s); its votes are in its final tally", p.Id, p.Status)
	}
	power, err := q.k.Power(ctx, p, holder)
	if err != nil {
		return nil, err
	}
	return &types.QueryVotingPowerResponse{Power: power}, nil
}
