package keeper_test

import (
	"math/big"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

// TestRevenueMatchesBruteForce runs random sequences of mints, bank transfers, payments and claims
// over many holders, and keeps a brute-force ledger beside the chain: at each payment every
// holder is credited net × balance / supply as an exact rational. Afterwards each holder's
// claimed + claimable equals the ledger within 1 unit per payment, and paid − fees equals
// claimed + claimable + dust exactly (in the keeper's scaled units).
func TestRevenueMatchesBruteForce(t *testing.T) {
	for seed := int64(1); seed <= 8; seed++ {
		r := rand.New(rand.NewSource(seed))
		f := newFixture(t)
		f.model(1, uint32(r.Intn(3000)))
		holders := make([]sdk.AccAddress, 12)
		for i := range holders {
			holders[i] = f.addr()
		}
		ledger := map[string]*big.Rat{}
		claimed := map[string]int64{}
		credit := func(h sdk.AccAddress, x *big.Rat) {
			if ledger[h.String()] == nil {
				ledger[h.String()] = new(big.Rat)
			}
			ledger[h.String()].Add(ledger[h.String()], x)
		}
		payments := 0

		for step := 0; step < 150; step++ {
			switch op := r.Intn(10); {
			case op < 3: // verified work mints shares (the designer is a holder too)
				f.mint(1, holders[r.Intn(len(holders))], uint64(1+r.Intn(5)))
			case op < 6: // a holder sends some of its shares to another
				from, to := holders[r.Intn(len(holders))], holders[r.Intn(len(holders))]
				if bal := f.shares(1, from); bal.IsPositive() && !from.Equals(to) {
					f.send(1, from, to, 1+r.Int63n(bal.Int64()))
				}
			case op < 9: // a customer pays revenue
				supply := f.bank.GetSupply(f.ctx, types.ShareDenom(1)).Amount
				if !supply.IsPositive() {
					continue
				}
				amount := 1 + r.Int63n(1_000_000)
				res := f.pay(1, amount)
				payments++
				net := new(big.Rat).SetInt(res.Distributed.Amount.BigInt())
				everyone := append([]sdk.AccAddress{f.models[1].Designer}, holders...)
				for _, h := range everyone {
					if bal := f.shares(1, h); bal.IsPositive() {
						credit(h, new(big.Rat).Mul(net, new(big.Rat).SetFrac(bal.BigInt(), supply.BigInt())))
					}
				}
			default: // a holder claims
				h := holders[r.Intn(len(holders))]
				if f.claimable(1, h) > 0 {
					claimed[h.String()] += f.claim(h, 1)
				}
			}
			if r.Intn(5) == 0 {
				f.endBlock() // also checks CheckInvariants, the exact identity
			}
		}
		f.endBlock()

		everyone := append([]sdk.AccAddress{f.models[1].Designer}, holders...)
		totalClaimable := sdkmath.ZeroInt()
		for _, h := range everyone {
			got := claimed[h.String()] + f.claimable(1, h)
			want := ledger[h.String()]
			if want == nil {
				want = new(big.Rat)
			}
			diff := new(big.Rat).Sub(want, new(big.Rat).SetInt64(got))
			require.True(t, diff.Sign() >= 0, "seed %d: %s got %d, more than its exact share %s", seed, h, got, want.FloatString(3))
			require.True(t, diff.Cmp(new(big.Rat).SetInt64(int64(payments)+1)) <= 0,
				"seed %d: %s got %d, exact share %s: off by more than 1 per payment (%d payments)", seed, h, got, want.FloatString(3), payments)
			totalClaimable = totalClaimable.AddRaw(f.claimable(1, h))
		}

		rev, err := f.query.Revenue(f.ctx, &types.QueryRevenueRequest{ModelId: 1})
		if payments == 0 {
			continue
		}
		require.NoError(t, err)
		var totalClaimed int64
		for _, c := range claimed {
			totalClaimed += c
		}
		require.Equal(t, totalClaimed, rev.Revenue.Claimed.Int64(), "seed %d", seed)
		// In whole units: what holders can still claim never exceeds what the module holds for them.
		require.True(t, totalClaimable.LTE(rev.Outstanding.Amount), "seed %d: claimable %s > outstanding %s", seed, totalClaimable, rev.Outstanding)
	}
}
