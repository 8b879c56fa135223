package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/x/compute/types"
)

func TestQueries(t *testing.T) {
	f := newFixture(t)
	var active []string
	for i := 0; i < 5; i++ {
		active = append(active, f.register(10_000, 2000).String())
	}
	low := f.register(10_000, 1000)
	unbond(t, f, low, 500)
	jailed := f.register(10_000, 1000)
	require.NoError(t, f.k.Jail(f.ctx, jailed, "test"))

	p, err := f.query.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, fixtureParams(), p.Params)

	w, err := f.query.Worker(f.ctx, &types.QueryWorkerRequest{Operator: low.String()})
	require.NoError(t, err)
	require.Equal(t, types.WORKER_STATUS_INACTIVE, w.Worker.Status)

	_, err = f.query.Worker(f.ctx, &types.QueryWorkerRequest{Operator: f.account(1).String()})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.query.Worker(f.ctx, &types.QueryWorkerRequest{Operator: "garbage"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = f.query.WorkerByPeerId(f.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: f.peerID()})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.query.WorkerByPeerId(f.ctx, &types.QueryWorkerByPeerIdRequest{PeerId: "x"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	all, err := f.query.Workers(f.ctx, &types.QueryWorkersRequest{})
	require.NoError(t, err)
	require.Len(t, all.Workers, 7)

	// Paginate the active ones two at a time.
	var got []string
	var next []byte
	for {
		res, err := f.query.Workers(f.ctx, &types.QueryWorkersRequest{
			Status: types.WORKER_STATUS_ACTIVE, Pagination: &query.PageRequest{Key: next, Limit: 2},
		})
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.Workers), 2)
		for _, w := range res.Workers {
			got = append(got, w.Operator)
		}
		if next = res.Pagination.NextKey; next == nil {
			break
		}
	}
	require.ElementsMatch(t, active, got)

	for st, want := range map[types.WorkerStatus]string{types.WORKER_STATUS_JAILED: jailed.String(), types.WORKER_STATUS_INACTIVE: low.String()} {
		res, err := f.query.Workers(f.ctx, &types.QueryWorkersRequest{Status: st})
		require.NoError(t, err)
		require.Len(t, res.Workers, 1)
		require.Equal(t, want, res.Workers[0].Operator)
	}
	_, err = f.query.Workers(f.ctx, &types.QueryWorkersRequest{Status: 99})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	entries, err := f.query.UnbondingEntries(f.ctx, &types.QueryUnbondingEntriesRequest{Operator: low.String()})
	require.NoError(t, err)
	require.Len(t, entries.Entries, 1)
	require.Equal(t, sdk.NewInt64Coin(denom, 500), entries.Entries[0].Balance)
	none, err := f.query.UnbondingEntries(f.ctx, &types.QueryUnbondingEntriesRequest{Operator: active[0]})
	require.NoError(t, err)
	require.Empty(t, none.Entries)
}
