package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

func TestMintForWork(t *testing.T) {
	f := newFixture(t)
	designer := f.model(1, 1500) // 15% on top
	op := f.addr()

	opAmt, desAmt, err := f.k.MintForWork(f.ctx, 1, op, 7)
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin("share/1", 7_000_000), opAmt)
	require.Equal(t, sdk.NewInt64Coin("share/1", 1_050_000), desAmt)
	require.Equal(t, int64(7_000_000), f.shares(1, op).Int64())
	require.Equal(t, int64(1_050_000), f.shares(1, designer).Int64())
	md, ok := f.bank.GetDenomMetaData(f.ctx, "share/1")
	require.True(t, ok, "share/1 gets bank metadata so wallets can name it")
	require.Equal(t, "SHARE-1", md.Display)
	require.Contains(t, md.Name, "tiny-1")
	f.endBlock()

	_, _, err = f.k.MintForWork(f.ctx, 1, op, 0)
	require.ErrorIs(t, err, types.ErrZeroWork)
	_, _, err = f.k.MintForWork(f.ctx, 9, op, 1)
	require.ErrorIs(t, err, types.ErrUnknownModel)
}

func TestPayRevenueRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	f.model(1, 0)
	f.model(2, 0) // no shares minted yet
	f.mint(1, f.addr(), 1)
	payer := f.addr()
	f.fund(payer, 1000)

	cases := []struct {
		name string
		msg  types.MsgPayRevenue
		err  error
		says string
	}{
		{"unknown model", types.MsgPayRevenue{ModelId: 9, Amount: sdk.NewInt64Coin(denom, 10)}, types.ErrUnknownModel, "model 9"},
		{"zero amount", types.MsgPayRevenue{ModelId: 1, Amount: sdk.NewInt64Coin(denom, 0)}, types.ErrInvalidAmount, "positive"},
		{"wrong denom", types.MsgPayRevenue{ModelId: 1, Amount: sdk.NewInt64Coin("uatom", 10)}, types.ErrWrongDenom, `paid in "ulearn"`},
		{"shares as revenue", types.MsgPayRevenue{ModelId: 1, Amount: sdk.NewInt64Coin("share/1", 10)}, types.ErrWrongDenom, "share/1"},
		{"no shares yet", types.MsgPayRevenue{ModelId: 2, Amount: sdk.NewInt64Coin(denom, 10)}, types.ErrNoShares, "nobody holds share/2"},
		{"reference too long", types.MsgPayRevenue{ModelId: 1, Amount: sdk.NewInt64Coin(denom, 10), Reference: strings.Repeat("x", 257)}, types.ErrReferenceTooLong, "at most 256"},
		{"more than the payer has", types.MsgPayRevenue{ModelId: 1, Amount: sdk.NewInt64Coin(denom, 5000)}, sdkerrors.ErrInsufficientFunds, ""},
		{"bad payer", types.MsgPayRevenue{Payer: "nope", ModelId: 1, Amount: sdk.NewInt64Coin(denom, 10)}, types.ErrInvalidAddress, "payer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.msg.Payer == "" {
				tc.msg.Payer = payer.String()
			}
			ctx, _ := f.ctx.CacheContext() // as the chain runs a failing message: its writes are dropped
			_, err := f.msgs.PayRevenue(ctx, &tc.msg)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.says)
		})
	}
	require.Equal(t, int64(1000), f.balance(payer))
}

// Revenue reaches holders in exact proportion to their balances at the moment of payment.
func TestRevenueSplitsProRata(t *testing.T) {
	f := newFixture(t)
	designer := f.model(1, 0)
	a, b := f.addr(), f.addr()
	f.mint(1, a, 3)
	f.mint(1, b, 1)
	f.endBlock()

	res := f.pay(1, 10_000) // 5% fee: 500 to the community pool, 9500 to holders
	require.Equal(t, int64(500), res.Fee.Amount.Int64())
	require.Equal(t, int64(9500), res.Distributed.Amount.Int64())
	require.Equal(t, int64(500), f.communityPool())
	require.Equal(t, int64(7125), f.claimable(1, a))
	require.Equal(t, int64(2375), f.claimable(1, b))
	require.Zero(t, f.claimable(1, designer), "designer_bps 0 mints the designer nothing")
	f.endBlock()

	require.Equal(t, int64(7125), f.claim(a, 1))
	require.Equal(t, int64(7125), f.balance(a))
	require.Zero(t, f.claimable(1, a))
	_, err := f.msgs.ClaimRevenue(f.ctx, &types.MsgClaimRevenue{Holder: a.String(), ModelIds: []uint64{1}})
	require.ErrorIs(t, err, types.ErrNothingToClaim)
	_, err = f.msgs.ClaimRevenue(f.ctx, &types.MsgClaimRevenue{Holder: a.String(), ModelIds: []uint64{42}})
	require.ErrorIs(t, err, types.ErrUnknownModel)
	require.Equal(t, int64(2375), f.claim(b)) // no ids: every model b holds
	f.endBlock()

	rev, err := f.query.Revenue(f.ctx, &types.QueryRevenueRequest{ModelId: 1})
	require.NoError(t, err)
	require.Equal(t, int64(10_000), rev.Revenue.Paid.Int64())
	require.Equal(t, int64(500), rev.Revenue.Fees.Int64())
	require.Equal(t, int64(9500), rev.Revenue.Claimed.Int64())
	require.True(t, rev.Outstanding.IsZero())
	require.Equal(t, int64(4_000_000), rev.ShareSupply.Amount.Int64())
}

// A bank send of shares moves future revenue, never past revenue, whichever side of a payment
// it falls on; so do multi-sends.
func TestTransfersAroundPayments(t *testing.T) {
	f := newFixture(t)
	f.model(1, 0)
	a, b, c := f.addr(), f.addr(), f.addr()
	f.mint(1, a, 2) // a: 2,000,000 shares
	f.mint(1, b, 2) // b: 2,000,000 shares
	f.endBlock()

	f.pay(1, 1000) // 950 net: a 475, b 475
	f.send(1, a, c, 1_000_000)
	require.Equal(t, int64(475), f.claimable(1, a), "a keeps what its shares earned before the transfer")
	require.Zero(t, f.claimable(1, c), "c earns nothing from a payment made before it held shares")

	f.pay(1, 2000) // 1900 net over 4M shares: a 475, c 475, b 950
	require.Equal(t, int64(950), f.claimable(1, a))
	require.Equal(t, int64(475), f.claimable(1, c))
	require.Equal(t, int64(1425), f.claimable(1, b))

	// Multi-send: b splits all its shares between a and c right after another payment.
	f.pay(1, 4000) // 3800 net: a 950, c 950, b 1900
	share := func(n int64) sdk.Coins { return sdk.NewCoins(sdk.NewInt64Coin("share/1", n)) }
	_, err := f.bankMs.MultiSend(f.ctx, &banktypes.MsgMultiSend{
		Inputs:  []banktypes.Input{banktypes.NewInput(b, share(2_000_000))},
		Outputs: []banktypes.Output{banktypes.NewOutput(a, share(1_500_000)), banktypes.NewOutput(c, share(500_000))},
	})
	require.NoError(t, err)
	require.Equal(t, int64(1425+1900), f.claimable(1, b), "b keeps all it earned, holding nothing now")
	f.pay(1, 1000)                                          // 950 net: a 2.5M/4M, c 1.5M/4M
	require.Equal(t, int64(950+950+593), f.claimable(1, a)) // 593.75 rounds down
	require.Equal(t, int64(475+950+356), f.claimable(1, c)) // 356.25 rounds down
	require.Equal(t, int64(1425+1900), f.claimable(1, b))
	f.endBlock()

	// Sub-unit remainders are not lost: they stay accrued and pay once they add up.
	require.Equal(t, int64(2493), f.claim(a))
	f.pay(1, 1000) // a: another 593.75 -> 0.75 + 593.75 = 594.5
	require.Equal(t, int64(594), f.claimable(1, a))
	f.endBlock()
}

func TestDustGoesToTheCommunityPool(t *testing.T) {
	f := newFixture(t)
	f.model(1, 0)
	p, err := f.k.GetParams(f.ctx)
	require.NoError(t, err)
	p.SharesPerUnit = types.IndexScale // one unit of work = 10^27 base shares, so index steps are coarse
	p.ProtocolFeeBps = 0
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p})
	require.NoError(t, err)
	f.mint(1, f.addr(), 3) // supply 3 × 10^27
	f.endBlock()

	f.pay(1, 10) // index step floor(10 × 10^27 / (3 × 10^27)) = 3: 9 assigned, 1 is dust
	rev, err := f.query.Revenue(f.ctx, &types.QueryRevenueRequest{ModelId: 1})
	require.NoError(t, err)
	require.Equal(t, int64(1), rev.Revenue.DustSwept.Int64())
	require.True(t, rev.Revenue.DustScaled.IsZero())
	require.Equal(t, int64(1), f.communityPool())
	require.Equal(t, int64(9), rev.Outstanding.Amount.Int64())
	f.endBlock()
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t)
	p, err := f.k.GetParams(f.ctx)
	require.NoError(t, err)
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.addr().String(), Params: p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)
	bad := p
	bad.ProtocolFeeBps = 10_001
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	bad = p
	bad.SharesPerUnit = sdkmath.ZeroInt()
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: bad})
	require.ErrorContains(t, err, "shares_per_unit")
	bad = p
	bad.RevenueDenom = "uatom"
	_, err = f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: bad})
	require.ErrorContains(t, err, "revenue denom cannot change")
}
