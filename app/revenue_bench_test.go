//go:build bench

package app_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// TestRevenueGasDoesNotGrowWithHolders measures the gas of MsgPayRevenue, MsgClaimRevenue and a
// bank send of shares on a chain whose model has 10, 1,000 and 100,000 holders (given in genesis),
// and fails if the gas grows with the number of holders. Run by `make bench`; BENCH_OUT names a
// file for the markdown table.
func TestRevenueGasDoesNotGrowWithHolders(t *testing.T) {
	type row struct {
		holders                 int
		pay, claim, send, setup int64
		genesis                 time.Duration
	}
	var rows []row
	for _, n := range []int{10, 1_000, 100_000} {
		designer, customer, holder, friend := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
		holders := map[string]int64{holder.addr.String(): 5_000_000}
		for i := 1; i < n; i++ {
			addr := sdk.AccAddress(fmt.Appendf(nil, "holder-%014d", i))
			holders[addr.String()] = int64(1_000 + i)
		}
		start := time.Now()
		c := startChainWith(t, 1_000*minStake, genesisModel(t, designer.addr, holders), designer, customer, holder, friend)
		genesisTime := time.Since(start)

		res := c.send(customer, &sharestypes.MsgPayRevenue{Payer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 1_000_000)})
		require.Zero(t, res.Code, res.Log)
		pay := res.GasUsed
		res = c.send(holder, &sharestypes.MsgClaimRevenue{Holder: holder.addr.String(), ModelIds: []uint64{1}})
		require.Zero(t, res.Code, res.Log)
		claim := res.GasUsed
		res = c.send(holder, banktypes.NewMsgSend(holder.addr, friend.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1_000_000))))
		require.Zero(t, res.Code, res.Log)
		rows = append(rows, row{holders: n, pay: pay, claim: claim, send: res.GasUsed, genesis: genesisTime})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "| holders of share/1 | MsgPayRevenue gas | MsgClaimRevenue gas | MsgSend of shares gas | chain start (genesis import) |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %.1f s |\n", r.holders, r.pay, r.claim, r.send, r.genesis.Seconds())
	}
	t.Log("\n" + b.String())
	if out := os.Getenv("BENCH_OUT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(b.String()), 0o644))
	}
	// O(1): gas may differ by store-depth effects (IAVL paths get longer), never in proportion.
	for _, r := range rows[1:] {
		require.Less(t, r.pay, rows[0].pay*3/2, "pay gas grows with holders: %+v", rows)
		require.Less(t, r.claim, rows[0].claim*3/2, "claim gas grows with holders: %+v", rows)
	}
}
