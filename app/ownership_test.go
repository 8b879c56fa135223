package app_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"

	"github.com/protolearn/protolearn/app"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// genesisModel puts model 1 (RECRUITING, by designer) in x/models genesis and gives share/1 to
// holders in bank genesis: the test-only way to own shares before x/verify mints them for work.
func genesisModel(t *testing.T, designer sdk.AccAddress, holders map[string]int64) func(*app.App, map[string]json.RawMessage) {
	return func(a *app.App, gen map[string]json.RawMessage) {
		cdc := a.AppCodec()
		var models modelstypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelstypes.ModuleName], &models)
		models.Models = append(models.Models, modelstypes.Model{
			Id: 1, Designer: designer.String(), Name: "tiny",
			Arch:                modelstypes.Architecture{Vocab: 256, DModel: 64, NLayers: 6, NHeads: 4, SeqLen: 128, CompressionRank: 8},
			Stages:              []modelstypes.StageSpec{{Layers: 2}, {Layers: 2}, {Layers: 2}},
			Seed:                1,
			DatasetCommitment:   make([]byte, 32),
			SubspaceRoot:        make([]byte, 32),
			DesignerBps:         1000,
			MinStake:            sdk.NewInt64Coin(app.BondDenom, minStake),
			MaxReplicasPerStage: 2, TargetWorkUnits: 1000,
			Status: modelstypes.MODEL_STATUS_RECRUITING,
		})
		models.NextModelId = 2
		gen[modelstypes.ModuleName] = cdc.MustMarshalJSON(&models)

		var bank banktypes.GenesisState
		cdc.MustUnmarshalJSON(gen[banktypes.ModuleName], &bank)
		for addr, n := range holders {
			coins := sdk.NewCoins(sdk.NewInt64Coin("share/1", n))
			bank.Balances = append(bank.Balances, banktypes.Balance{Address: addr, Coins: coins})
			bank.Supply = bank.Supply.Add(coins...)
		}
		gen[banktypes.ModuleName] = cdc.MustMarshalJSON(&bank)
	}
}

func (c *chain) ownership(holder sdk.AccAddress) sharestypes.Ownership {
	c.t.Helper()
	var res sharestypes.QueryOwnershipResponse
	require.NoError(c.t, c.query("/protolearn.shares.v1.Query/Ownership", &sharestypes.QueryOwnershipRequest{Holder: holder.String()}, &res))
	require.Len(c.t, res.Ownerships, 1)
	return res.Ownerships[0]
}

// Revenue a customer pays reaches holders in exact proportion; a bank send of shares moves
// future revenue, not past revenue; claims pay out; the protocol fee reaches the community pool.
func TestRevenueReachesHoldersThroughTheChain(t *testing.T) {
	designer, p1, p2, customer, friend := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4)
	c := startChainWith(t, 1_000*minStake, genesisModel(t, designer.addr, map[string]int64{
		p1.addr.String(): 3_000_000, p2.addr.String(): 1_000_000,
	}), designer, p1, p2, customer, friend)
	pay := func(amount int64) {
		t.Helper()
		res := c.send(customer, &sharestypes.MsgPayRevenue{
			Payer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, amount), Reference: "invoice",
		})
		require.Zero(t, res.Code, res.Log)
	}

	pay(10_000) // 5% fee -> 9,500 to holders: p1 3/4, p2 1/4
	require.Equal(t, int64(7125), c.ownership(p1.addr).Claimable.Amount.Int64())
	require.Equal(t, int64(2375), c.ownership(p2.addr).Claimable.Amount.Int64())

	res := c.send(p1, banktypes.NewMsgSend(p1.addr, friend.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1_500_000))))
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, int64(7125), c.ownership(p1.addr).Claimable.Amount.Int64(), "past revenue stays with the sender")
	require.Zero(t, c.ownership(friend.addr).Claimable.Amount.Int64(), "the receiver gets no past revenue")

	pay(10_000) // 9,500 more: p1 and friend 3/8 each, p2 1/4
	require.Equal(t, int64(7125+3562), c.ownership(p1.addr).Claimable.Amount.Int64())
	require.Equal(t, int64(3562), c.ownership(friend.addr).Claimable.Amount.Int64())
	require.Equal(t, int64(4750), c.ownership(p2.addr).Claimable.Amount.Int64())
	require.Equal(t, "0.375000000000000000", c.ownership(friend.addr).Fraction.String())

	before := c.balance(friend.addr)
	res = c.send(friend, &sharestypes.MsgClaimRevenue{Holder: friend.addr.String()})
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, before+3562, c.balance(friend.addr))
	res = c.send(friend, &sharestypes.MsgClaimRevenue{Holder: friend.addr.String(), ModelIds: []uint64{1}})
	require.Equal(t, sharestypes.ErrNothingToClaim.ABCICode(), res.Code, res.Log)

	var rev sharestypes.QueryRevenueResponse
	require.NoError(t, c.query("/protolearn.shares.v1.Query/Revenue", &sharestypes.QueryRevenueRequest{ModelId: 1}, &rev))
	require.Equal(t, int64(20_000), rev.Revenue.Paid.Int64())
	require.Equal(t, int64(1000), rev.Revenue.Fees.Int64())
	require.Equal(t, int64(3562), rev.Revenue.Claimed.Int64())
	require.Equal(t, int64(19_000-3562), rev.Outstanding.Amount.Int64())

	var pool distrtypes.QueryCommunityPoolResponse
	require.NoError(t, c.query("/cosmos.distribution.v1beta1.Query/CommunityPool", &distrtypes.QueryCommunityPoolRequest{}, &pool))
	require.True(t, pool.Pool.AmountOf(app.BondDenom).TruncateInt().GTE(sdkmath.NewInt(1000)), "protocol fees reach the community pool: %s", pool.Pool)

	var holders sharestypes.QueryHoldersResponse
	require.NoError(t, c.query("/protolearn.shares.v1.Query/Holders", &sharestypes.QueryHoldersRequest{ModelId: 1}, &holders))
	require.Len(t, holders.Holders, 3)
	require.Equal(t, p2.addr.String(), holders.Holders[2].Address, "smallest holder last")

	// Share denoms carry bank metadata once the model exists and shares move.
	var md banktypes.QueryDenomMetadataResponse
	require.NoError(t, c.query("/cosmos.bank.v1beta1.Query/DenomMetadata", &banktypes.QueryDenomMetadataRequest{Denom: "share/1"}, &md))
	require.Equal(t, "SHARE-1", md.Metadata.Display)
}

// Fees are paid in the bond denom only: a fee in shares would land in the fee collector, a
// module account, and earn model revenue no holder can ever claim. The refused tx takes no fee
// and changes nothing; the same tx with a bond-denom fee goes through.
func TestFeesInBondDenomOnly(t *testing.T) {
	alice, bob := newAccount(0), newAccount(1)
	c := startChainWith(t, 10*minStake, genesisModel(t, alice.addr, map[string]int64{alice.addr.String(): 1000}), alice, bob)
	shares := func(a sdk.AccAddress) int64 {
		return c.app.BankKeeper.GetBalance(c.app.NewContext(true), a, "share/1").Amount.Int64()
	}
	send := banktypes.NewMsgSend(alice.addr, bob.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 10)))
	for _, fee := range []sdk.Coins{
		sdk.NewCoins(sdk.NewInt64Coin("share/1", 5)),
		sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 5), sdk.NewInt64Coin("share/1", 5)),
	} {
		res := c.sendWithFee(alice, fee, nil, send)
		require.NotZero(t, res.Code, "fee %s accepted", fee)
		require.Contains(t, res.Log, "fees are paid in "+app.BondDenom+" only")
		alice.seq-- // refused in the ante handler: the sequence did not move
		require.Equal(t, int64(1000), shares(alice.addr), "a refused tx moved shares or took a fee")
	}
	before := c.balance(alice.addr)
	res := c.sendWithFee(alice, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 5)), nil, send)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, int64(990), shares(alice.addr))
	require.Equal(t, before-5, c.balance(alice.addr))
}
