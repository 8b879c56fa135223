package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/inference/types"
)

type queryServer struct{ k *Keeper }

// NewQueryServerImpl returns the Query service of x/inference.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

var _ types.QueryServer = queryServer{}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) Price(ctx context.Context, req *types.QueryPriceRequest) (*types.QueryPriceResponse, error) {
	p, err := q.k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := q.k.models.InferenceModel(ctx, req.ModelId); err != nil {
		return nil, err
	}
	price, err := q.k.Prices.Get(ctx, req.ModelId)
	if errors.Is(err, collections.ErrNotFound) {
		denom, derr := q.k.shares.RevenueDenom(ctx)
		if derr != nil {
			return nil, derr
		}
		price = types.Price{ModelId: req.ModelId, Per_1KTokens: sdk.NewCoin(denom, sdkmath.ZeroInt())} // not on sale
	} else if err != nil {
		return nil, err
	}
	return &types.QueryPriceResponse{Price: price, ServingBps: p.ServingBps}, nil
}

func (q queryServer) Deposit(ctx context.Context, req *types.QueryDepositRequest) (*types.QueryDepositResponse, error) {
	d, err := q.k.Deposits.Get(ctx, req.DepositId)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, errorsmod.Wrapf(types.ErrUnknownDeposit, "deposit %d does not exist (or was withdrawn)", req.DepositId)
	}
	if err != nil {
		return nil, err
	}
	return &types.QueryDepositResponse{Deposit: d}, nil
}

func (q queryServer) Deposits(ctx context.Context, req *types.QueryDepositsRequest) (*types.QueryDepositsResponse, error) {
	customer, err := q.k.parseAddr("customer", req.Customer)
	if err != nil {
		return nil, err
	}
	ids, page, err := query.CollectionPaginate(ctx, q.k.ByCustomer, req.Pagination,
		func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (uint64, error) {
			return key.K2(), nil
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](customer))
	if err != nil {
		return nil, err
	}
	out := &types.QueryDepositsResponse{Pagination: page}
	for _, id := range ids {
		d, err := q.k.Deposits.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out.Deposits = append(out.Deposits, d)
	}
	return out, nil
}

func (q queryServer) Settled(ctx context.Context, req *types.QuerySettledRequest) (*types.QuerySettledResponse, error) {
	n, err := q.k.Settled.Get(ctx, collections.Join(req.DepositId, req.RequestId))
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	return &types.QuerySettledResponse{Tokens: n}, nil
}

func (q queryServer) Usage(ctx context.Context, req *types.QueryUsageRequest) (*types.QueryUsageResponse, error) {
	denom, err := q.k.shares.RevenueDenom(ctx)
	if err != nil {
		return nil, err
	}
	u, err := q.k.usage(ctx, req.ModelId, denom)
	if err != nil {
		return nil, err
	}
	return &types.QueryUsageResponse{Usage: u}, nil
}
