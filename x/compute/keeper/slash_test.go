package keeper_test

import (
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/keeper"
	"github.com/protolearn/protolearn/x/compute/types"
)

func unbond(t *testing.T, f *fixture, op sdk.AccAddress, amount int64) {
	t.Helper()
	_, err := f.msgs.BeginUnbonding(f.ctx, &types.MsgBeginUnbonding{Operator: op.String(), Amount: sdk.NewInt64Coin(denom, amount)})
	require.NoError(t, err)
}

func entryBalances(t *testing.T, f *fixture, op sdk.AccAddress) []int64 {
	t.Helper()
	entries, err := f.k.UnbondingEntries(f.ctx, op)
	require.NoError(t, err)
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.Balance.Amount.Int64()
	}
	return out
}

func TestSlashBondedOnlyBurns(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 2000)
	supply := f.supply()

	got, err := f.k.Slash(f.ctx, op, sdkmath.LegacyMustNewDecFromStr("0.25"), "bad proof", keeper.BurnSlashed())
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(denom, 500), got)
	w := f.worker(op)
	require.Equal(t, sdk.NewInt64Coin(denom, 1500), w.Bonded)
	require.Equal(t, sdk.NewInt64Coin(denom, 500), w.Slashed)
	require.Equal(t, supply-500, f.supply(), "burned coins leave the supply")
	require.Equal(t, []sdk.Coin{sdk.NewInt64Coin(denom, 1500)}, f.hooks.decreases, "a slash announces the new bonded stake")
	f.requireSolvent()
}

// Stake that started unbonding stays at risk: the slash spans bonded stake and then the
// unbonding entries, latest-maturing first.
func TestSlashSpansBondedAndUnbonding(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 1800)
	unbond(t, f, op, 500) // matures first
	f.advance(time.Minute)
	unbond(t, f, op, 300) // matures last
	require.Equal(t, sdk.NewInt64Coin(denom, 1000), f.worker(op).Bonded)
	challenger := f.account(0)

	// At risk: 1000 bonded + 800 unbonding = 1800; 0.6 of it is 1080: all 1000 bonded, then
	// 80 from the latest entry.
	got, err := f.k.Slash(f.ctx, op, sdkmath.LegacyMustNewDecFromStr("0.6"), "no response", keeper.SlashToAccount(challenger))
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(denom, 1080), got)
	require.True(t, f.worker(op).Bonded.IsZero())
	require.Equal(t, types.WORKER_STATUS_INACTIVE, f.worker(op).Status)
	require.Equal(t, []int64{500, 220}, entryBalances(t, f, op))
	require.Equal(t, int64(1080), f.balance(challenger))
	f.requireSolvent()

	// A second, total slash empties the rest; unbonding then pays out nothing.
	got, err = f.k.Slash(f.ctx, op, sdkmath.LegacyOneDec(), "again", keeper.SlashToModule("receiver"))
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(denom, 720), got)
	require.Equal(t, []int64{0, 0}, entryBalances(t, f, op))
	require.Equal(t, int64(720), f.balance(f.acc.GetModuleAddress("receiver")))
	require.Equal(t, sdk.NewInt64Coin(denom, 1800), f.worker(op).Slashed)
	before := f.balance(op)
	f.advance(time.Hour)
	require.Equal(t, before, f.balance(op))
	require.Empty(t, entryBalances(t, f, op), "emptied entries still mature and are removed")
	f.requireSolvent()

	// Slashing a worker with nothing at risk is a no-op, not an error.
	got, err = f.k.Slash(f.ctx, op, sdkmath.LegacyOneDec(), "nothing left", keeper.BurnSlashed())
	require.NoError(t, err)
	require.True(t, got.IsZero())
}

func TestSlashRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 2000)
	for _, frac := range []sdkmath.LegacyDec{sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDec(-1), sdkmath.LegacyMustNewDecFromStr("1.01"), {}} {
		_, err := f.k.Slash(f.ctx, op, frac, "x", keeper.BurnSlashed())
		require.ErrorIs(t, err, types.ErrInvalidSlashFraction)
	}
	_, err := f.k.Slash(f.ctx, f.account(1), sdkmath.LegacyOneDec(), "x", keeper.BurnSlashed())
	require.ErrorIs(t, err, types.ErrWorkerNotFound)
	require.Equal(t, sdk.NewInt64Coin(denom, 2000), f.worker(op).Bonded)
}

// Property: for random stakes, unbondings and fractions, a slash takes exactly
// floor(fraction × at-risk), never drives a balance negative, and keeps the module solvent.
func TestSlashProperties(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	for i := 0; i < 200; i++ {
		f := newFixture(t)
		stake := 1000 + r.Int63n(1_000_000)
		op := f.register(stake, stake)
		atRisk := stake
		for n := r.Intn(4); n > 0; n-- {
			amt := r.Int63n(f.worker(op).Bonded.Amount.Int64()/2 + 1)
			if amt == 0 {
				continue
			}
			unbond(t, f, op, amt)
			f.advance(time.Duration(r.Intn(60)) * time.Second)
		}
		frac := sdkmath.LegacyNewDecWithPrec(1+r.Int63n(1_000_000), 6) // (0, 1]
		slashed, err := f.k.Slash(f.ctx, op, frac, "property", keeper.BurnSlashed())
		require.NoError(t, err)
		require.Equal(t, frac.MulInt64(atRisk).TruncateInt(), slashed.Amount, "case %d", i)
		w := f.worker(op)
		require.False(t, w.Bonded.IsNegative())
		left := w.Bonded.Amount.Int64()
		for _, b := range entryBalances(t, f, op) {
			require.GreaterOrEqual(t, b, int64(0))
			left += b
		}
		require.Equal(t, atRisk-slashed.Amount.Int64(), left, "case %d", i)
		f.requireSolvent()
	}
}
