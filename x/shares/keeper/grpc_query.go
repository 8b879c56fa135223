package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/shares/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/shares.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Ownership(ctx context.Context, req *types.QueryOwnershipRequest) (*types.QueryOwnershipResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	holder, err := q.k.parseAddr("holder", req.Holder)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	res := &types.QueryOwnershipResponse{}
	rng := collections.NewPrefixedPairRange[sdk.AccAddress, uint64](holder)
	err = q.k.Holders.Walk(ctx, rng, func(key collections.Pair[sdk.AccAddress, uint64], _ types.HolderState) (bool, error) {
		id := key.K2()
		denom := types.ShareDenom(id)
		bal := q.k.bk.GetBalance(ctx, holder, denom)
		fraction := sdkmath.LegacyZeroDec()
		if supply := q.k.bk.GetSupply(ctx, denom).Amount; supply.IsPositive() {
			fraction = sdkmath.LegacyNewDecFromInt(bal.Amount).QuoInt(supply)
		}
		claimable, err := q.k.Claimable(ctx, id, holder)
		if err != nil {
			return true, err
		}
		res.Ownerships = append(res.Ownerships, types.Ownership{
			ModelId: id, Balance: bal, Fraction: fraction, Claimable: sdk.NewCoin(p.RevenueDenom, claimable),
		})
		return false, nil
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return res, nil
}

func (q queryServer) Holders(ctx context.Context, req *types.QueryHoldersRequest) (*types.QueryHoldersResponse, error) {
	if req == nil || req.ModelId == 0 {
		return nil, status.Error(codes.InvalidArgument, "model_id is required")
	}
	page := req.Pagination
	if page == nil {
		page = &query.PageRequest{}
	}
	// The index is ascending; largest first is its reverse (and "reverse" asks for smallest first).
	page.Reverse = !page.Reverse
	denom := types.ShareDenom(req.ModelId)
	prefix := collections.TriplePrefix[uint64, []byte, sdk.AccAddress](req.ModelId)
	holders, res, err := query.CollectionPaginate(ctx, q.k.ByBalance, page,
		func(key collections.Triple[uint64, []byte, sdk.AccAddress], _ collections.NoValue) (types.Holder, error) {
			return types.Holder{Address: q.k.addrString(key.K3()), Balance: q.k.bk.GetBalance(ctx, key.K3(), denom)}, nil
		},
		func(o *query.CollectionsPaginateOptions[collections.Triple[uint64, []byte, sdk.AccAddress]]) {
			o.Prefix = &prefix
		},
	)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryHoldersResponse{Holders: holders, Pagination: res}, nil
}

func (q queryServer) Revenue(ctx context.Context, req *types.QueryRevenueRequest) (*types.QueryRevenueResponse, error) {
	if req == nil || req.ModelId == 0 {
		return nil, status.Error(codes.InvalidArgument, "model_id is required")
	}
	rev, err := q.k.Revenues.Get(ctx, req.ModelId)
	if isNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "model %d has no shares or revenue yet", req.ModelId)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryRevenueResponse{
		Revenue:     rev,
		ShareSupply: q.k.bk.GetSupply(ctx, types.ShareDenom(req.ModelId)),
		Outstanding: sdk.NewCoin(p.RevenueDenom, outstanding(rev)),
	}, nil
}

// outstanding is what the module holds for a model's holders: paid − fees − claimed − dust swept.
func outstanding(rev types.ModelRevenue) sdkmath.Int {
	return rev.Paid.Sub(rev.Fees).Sub(rev.Royalties).Sub(rev.Claimed).Sub(rev.DustSwept)
}
