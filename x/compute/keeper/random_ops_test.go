package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/keeper"
	"github.com/protolearn/protolearn/x/compute/types"
)

// TestRandomOperationsKeepInvariants is a small simulation: random sequences of every message
// and keeper call, most with amounts that are sometimes invalid, run as the chain runs them (a
// failed message's writes are discarded). After every step the keeper's invariants must hold
// and the module account must hold exactly what workers are owed.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	succeeded := map[string]int{}
	for seed := int64(0); seed < 12; seed++ {
		r := rand.New(rand.NewSource(seed))
		f := newFixture(t)
		var ops []sdk.AccAddress
		pick := func() sdk.AccAddress {
			if len(ops) == 0 || r.Intn(10) == 0 {
				return f.account(1) // an operator with no worker
			}
			return ops[r.Intn(len(ops))]
		}
		coin := func(max int64) sdk.Coin { return sdk.NewInt64Coin(denom, r.Int63n(max+1)) }

		for step := 0; step < 120; step++ {
			var name string
			var run func(ctx sdk.Context) error
			// Weights: unjail and time steps come up more often, or jailed workers rarely get out.
			switch []int{0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 8, 8}[r.Intn(13)] {
			case 0:
				name = "register"
				op := f.account(r.Int63n(5000))
				msg := f.registerMsg(op, r.Int63n(3000))
				run = func(ctx sdk.Context) error {
					_, err := f.msgs.RegisterWorker(ctx, msg)
					if err == nil {
						ops = append(ops, op)
					}
					return err
				}
			case 1:
				name = "add-stake"
				msg := &types.MsgAddStake{Operator: pick().String(), Amount: coin(1500)}
				run = func(ctx sdk.Context) error { _, err := f.msgs.AddStake(ctx, msg); return err }
			case 2:
				name = "begin-unbonding"
				msg := &types.MsgBeginUnbonding{Operator: pick().String(), Amount: coin(2000)}
				run = func(ctx sdk.Context) error { _, err := f.msgs.BeginUnbonding(ctx, msg); return err }
			case 3:
				name = "unjail"
				msg := &types.MsgUnjail{Operator: pick().String()}
				run = func(ctx sdk.Context) error { _, err := f.msgs.Unjail(ctx, msg); return err }
			case 4:
				name = "update-worker"
				msg := &types.MsgUpdateWorker{Operator: pick().String(), PeerId: f.peerID()}
				run = func(ctx sdk.Context) error { _, err := f.msgs.UpdateWorker(ctx, msg); return err }
			case 5:
				name = "slash"
				op := pick()
				frac := sdkmath.LegacyNewDecWithPrec(r.Int63n(1_100_001), 6) // sometimes 0 or > 1
				dest := []keeper.SlashDestination{keeper.BurnSlashed(), keeper.SlashToAccount(f.account(0)), keeper.SlashToModule("receiver")}[r.Intn(3)]
				run = func(ctx sdk.Context) error { _, err := f.k.Slash(ctx, op, frac, "sim", dest); return err }
			case 6:
				name = "jail"
				op := pick()
				run = func(ctx sdk.Context) error { return f.k.Jail(ctx, op, "sim") }
			case 7:
				name = "update-params"
				p := fixtureParams()
				p.MinWorkerStake = sdk.NewInt64Coin(denom, 500+r.Int63n(1500))
				msg := &types.MsgUpdateParams{Authority: f.gov, Params: p}
				run = func(ctx sdk.Context) error { _, err := f.msgs.UpdateParams(ctx, msg); return err }
			default:
				name = "advance"
				// Mostly short steps, sometimes past a whole jail_duration (1h).
				d := time.Duration(r.Int63n(int64(20 * time.Minute)))
				if r.Intn(3) == 0 {
					d *= 6
				}
				run = func(sdk.Context) error { f.advance(d); return nil }
			}

			ctx, write := f.ctx.CacheContext()
			if err := run(ctx); err == nil {
				write()
				succeeded[name]++
			}
			where := fmt.Sprintf("seed %d step %d (%s)", seed, step, name)
			require.NoError(t, f.k.CheckInvariants(f.ctx), where)
			f.requireSolvent()
		}
	}
	t.Logf("successful operations: %v", succeeded)
	for _, op := range []string{"register", "add-stake", "begin-unbonding", "unjail", "update-worker", "slash", "jail", "update-params", "advance"} {
		require.Positive(t, succeeded[op], "the simulation never succeeded at %s; it tests too little", op)
	}
}

// CheckInvariants is only useful if it notices broken state.
func TestCheckInvariantsCatchesCorruption(t *testing.T) {
	f := newFixture(t)
	op := f.register(5000, 2000)
	unbond(t, f, op, 300)
	require.NoError(t, f.k.CheckInvariants(f.ctx))

	// Coins leave the module account behind the keeper's back.
	stolen := sdk.NewCoins(sdk.NewInt64Coin(denom, 1))
	require.NoError(t, f.bank.SendCoinsFromModuleToAccount(f.ctx, types.ModuleName, f.account(0), stolen))
	require.ErrorContains(t, f.k.CheckInvariants(f.ctx), "module account holds 1999ulearn")
	require.NoError(t, f.bank.SendCoinsFromAccountToModule(f.ctx, f.account(1), types.ModuleName, stolen))

	w := f.worker(op)
	w.Status = types.WORKER_STATUS_INACTIVE
	require.NoError(t, f.k.Workers.Set(f.ctx, op, w))
	require.ErrorContains(t, f.k.CheckInvariants(f.ctx), "stake says WORKER_STATUS_ACTIVE")
}
