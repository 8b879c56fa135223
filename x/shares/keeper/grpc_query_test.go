package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/shares/types"
)

func TestHoldersLargestFirstAndOwnership(t *testing.T) {
	f := newFixture(t)
	f.model(1, 0)
	f.model(2, 0)
	var byUnits []string
	for units := uint64(1); units <= 7; units++ {
		h := f.addr()
		f.mint(1, h, units)
		byUnits = append([]string{h.String()}, byUnits...) // largest first
	}
	f.endBlock()

	var got []string
	var next []byte
	for {
		res, err := f.query.Holders(f.ctx, &types.QueryHoldersRequest{ModelId: 1, Pagination: &query.PageRequest{Key: next, Limit: 3}})
		require.NoError(t, err)
		for _, h := range res.Holders {
			got = append(got, h.Address)
		}
		if next = res.Pagination.NextKey; next == nil {
			break
		}
	}
	require.Equal(t, byUnits, got)

	// Another model has its own holders.
	f.mint(2, f.addr(), 1)
	f.endBlock()
	res, err := f.query.Holders(f.ctx, &types.QueryHoldersRequest{ModelId: 2})
	require.NoError(t, err)
	require.Len(t, res.Holders, 1)

	holder := sdkAddr(t, byUnits[0]) // 7 units of 28 in model 1
	f.mint(2, holder, 3)
	f.pay(1, 1000)
	f.endBlock()
	own, err := f.query.Ownership(f.ctx, &types.QueryOwnershipRequest{Holder: byUnits[0]})
	require.NoError(t, err)
	require.Len(t, own.Ownerships, 2)
	require.Equal(t, uint64(1), own.Ownerships[0].ModelId)
	require.Equal(t, int64(7_000_000), own.Ownerships[0].Balance.Amount.Int64())
	require.Equal(t, sdkmath.LegacyNewDecWithPrec(25, 2), own.Ownerships[0].Fraction)
	require.Equal(t, int64(237), own.Ownerships[0].Claimable.Amount.Int64()) // 950 / 4, rounded down
	require.Equal(t, sdkmath.LegacyNewDecWithPrec(75, 2), own.Ownerships[1].Fraction)

	_, err = f.query.Revenue(f.ctx, &types.QueryRevenueRequest{ModelId: 5})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.query.Ownership(f.ctx, &types.QueryOwnershipRequest{Holder: "bad"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}
