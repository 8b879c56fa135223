package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"cosmossdk.io/collections"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/app"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
)

// receipt is the customer's signed receipt for tokens of request on deposit, served by servers.
func receipt(t testing.TB, key *secp256k1.PrivKey, deposit uint64, request string, tokens uint64, servers ...sdk.AccAddress) inferencetypes.SignedReceipt {
	t.Helper()
	r := inferencetypes.Receipt{ChainId: app.DefaultChainID, DepositId: deposit, RequestId: request, Tokens: tokens}
	for _, s := range servers {
		r.Servers = append(r.Servers, s.String())
	}
	sig, err := inferencetypes.SignReceipt(key, r)
	require.NoError(t, err)
	return inferencetypes.SignedReceipt{Receipt: r, Signature: sig}
}

// A customer deposits for a model's inference at its designer's price and signs cumulative
// receipts for the tokens it receives; anyone settles them. Each pays serving_bps to the
// workers that served (split by stage; one not holding its stage is not paid) and the rest
// into the model's revenue, to its holders. A receipt replayed, lower than what its request
// settled, forged, for another chain, naming the wrong number of servers, or over the deposit
// is refused, and changes nothing; the expired deposit's balance goes back to the customer,
// and its receipts no longer settle.
func TestInferenceDepositSettleWithdraw(t *testing.T) {
	customer, stranger := newAccount(0), newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), customer, stranger)
	bond := func(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BondDenom, n) }

	// A model serves only with a price, and only its designer sets it.
	res := vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: bond(1_000_000)})
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), res.Code, res.Log)
	res = vc.send(stranger, &inferencetypes.MsgSetPrice{Designer: stranger.addr.String(), ModelId: 1, Per_1KTokens: bond(2000)})
	require.Equal(t, inferencetypes.ErrNotDesigner.ABCICode(), res.Code, res.Log)
	res = vc.send(vc.designer, &inferencetypes.MsgSetPrice{Designer: vc.designer.addr.String(), ModelId: 1, Per_1KTokens: bond(2000)})
	require.Zero(t, res.Code, res.Log)

	// Nobody holds the model's shares yet: its revenue would have nowhere to go.
	res = vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: bond(1_000_000)})
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "no share holders")

	// Holders: the stage-0 worker's first attestation, finalized.
	vc.submit(t, ws[0], 1)
	vc.blocks(vWindow + 2)
	require.Positive(t, vc.shares(ws[0].addr))

	// A customer that looked at the price can bound it: a price raised in between refuses the
	// deposit instead of charging more. (An empty bound, as the CLI sends without the flag, is
	// none: the deposit below.)
	cheap := bond(1500)
	res = vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: bond(1_000_000), MaxPricePer_1KTokens: &cheap})
	require.Equal(t, inferencetypes.ErrInvalidDeposit.ABCICode(), res.Code, res.Log)
	before := vc.balance(customer.addr)
	res = vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: bond(1_000_000), MaxPricePer_1KTokens: &sdk.Coin{}})
	require.Zero(t, res.Code, res.Log)
	var dep inferencetypes.MsgDepositResponse
	requireMsgResponse(t, res, &dep)
	require.Equal(t, before-1_000_000, vc.balance(customer.addr))

	servers := []sdk.AccAddress{ws[0].addr, ws[1].addr, ws[2].addr}
	paidBefore := map[string]int64{}
	for _, s := range servers {
		paidBefore[s.String()] = vc.balance(s)
	}
	settle := func(from *account, rs ...inferencetypes.SignedReceipt) *inferencetypes.MsgSettleResponse {
		t.Helper()
		res := vc.send(from, &inferencetypes.MsgSettle{Submitter: from.addr.String(), Receipts: rs})
		require.Zero(t, res.Code, res.Log)
		var out inferencetypes.MsgSettleResponse
		requireMsgResponse(t, res, &out)
		return &out
	}
	// 500 tokens at 2000 a thousand: 1000; 300 to the servers (100 a stage), 700 to the holders.
	out := settle(stranger, receipt(t, customer.priv, dep.DepositId, "r1", 500, servers...))
	require.Equal(t, bond(1000), out.Paid)
	for _, s := range servers {
		require.Equal(t, paidBefore[s.String()]+100, vc.balance(s), "server %s", s)
	}
	// The same request, further on: only the tokens above what it settled (800 − 500).
	out = settle(stranger, receipt(t, customer.priv, dep.DepositId, "r1", 800, servers...))
	require.Equal(t, bond(600), out.Paid)

	refused := map[string]struct {
		r    inferencetypes.SignedReceipt
		code uint32
	}{
		"replayed":         {receipt(t, customer.priv, dep.DepositId, "r1", 800, servers...), inferencetypes.ErrAlreadySettled.ABCICode()},
		"lower":            {receipt(t, customer.priv, dep.DepositId, "r1", 700, servers...), inferencetypes.ErrAlreadySettled.ABCICode()},
		"forged":           {receipt(t, stranger.priv, dep.DepositId, "r2", 100, servers...), inferencetypes.ErrBadSignature.ABCICode()},
		"too few servers":  {receipt(t, customer.priv, dep.DepositId, "r2", 100, servers[:2]...), inferencetypes.ErrInvalidReceipt.ABCICode()},
		"over the deposit": {receipt(t, customer.priv, dep.DepositId, "r2", 1_000_000, servers...), inferencetypes.ErrOverDeposit.ABCICode()},
		"unknown deposit":  {receipt(t, customer.priv, 99, "r2", 100, servers...), inferencetypes.ErrUnknownDeposit.ABCICode()},
	}
	other := receipt(t, customer.priv, dep.DepositId, "r2", 100, servers...)
	other.Receipt.ChainId = "another-chain"
	other.Signature, _ = inferencetypes.SignReceipt(customer.priv, other.Receipt)
	refused["another chain"] = struct {
		r    inferencetypes.SignedReceipt
		code uint32
	}{other, inferencetypes.ErrInvalidReceipt.ABCICode()}
	for name, tc := range refused {
		res := vc.send(stranger, &inferencetypes.MsgSettle{Submitter: stranger.addr.String(), Receipts: []inferencetypes.SignedReceipt{tc.r}})
		require.Equal(t, tc.code, res.Code, "%s: %s", name, res.Log)
	}

	// A receipt already settled as far (a copy someone submitted first) is skipped, not fatal to
	// its batch: the rest settles.
	res = vc.send(stranger, &inferencetypes.MsgSettle{Submitter: stranger.addr.String(), Receipts: []inferencetypes.SignedReceipt{
		receipt(t, customer.priv, dep.DepositId, "r1", 800, servers...), receipt(t, customer.priv, dep.DepositId, "r1", 850, servers...),
	}})
	require.Zero(t, res.Code, res.Log)
	var skipped inferencetypes.MsgSettleResponse
	requireMsgResponse(t, res, &skipped)
	require.Equal(t, uint32(1), skipped.Skipped)
	require.Equal(t, bond(100), skipped.Paid, "850 − 800 tokens")

	// A batch is refused whole at its first bad receipt, naming it: nothing in it settles.
	res = vc.send(stranger, &inferencetypes.MsgSettle{Submitter: stranger.addr.String(), Receipts: []inferencetypes.SignedReceipt{
		receipt(t, customer.priv, dep.DepositId, "r9", 100, servers...), receipt(t, stranger.priv, dep.DepositId, "r9", 200, servers...),
	}})
	require.Equal(t, inferencetypes.ErrBadSignature.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "receipts[1]")
	n, err := vc.app.InferenceKeeper.Settled.Get(vc.app.NewContext(true), collections.Join(dep.DepositId, "r9"))
	require.ErrorIs(t, err, collections.ErrNotFound, "settled %d", n)

	// A server named for a stage it does not hold is not paid: its part goes to the holders.
	wrong := []sdk.AccAddress{ws[1].addr, ws[1].addr, ws[2].addr}
	b0, b1 := vc.balance(ws[0].addr), vc.balance(ws[1].addr)
	out = settle(stranger, receipt(t, customer.priv, dep.DepositId, "r3", 1000, wrong...))
	require.Equal(t, bond(2000), out.Paid)
	require.Equal(t, b0, vc.balance(ws[0].addr))
	require.Equal(t, b1+200, vc.balance(ws[1].addr), "stage 1's server only")

	// Everything settled: 1000 + 600 + 100 + 2000 taken from the deposit; the servers were paid
	// 300 + 180 + 30 + 400, the model's revenue the rest; its usage counts 1850 tokens in 2
	// requests.
	ctx := vc.app.NewContext(true)
	d, err := vc.app.InferenceKeeper.Deposits.Get(ctx, dep.DepositId)
	require.NoError(t, err)
	require.Equal(t, bond(1_000_000-3700), d.Balance)
	require.Equal(t, bond(3700), d.Spent)
	u, err := vc.app.InferenceKeeper.Usage.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(1850), u.Tokens)
	require.Equal(t, uint64(2), u.Requests)
	require.Equal(t, bond(3700), u.Paid)
	require.Equal(t, bond(300+180+30+400), u.Serving)
	require.Equal(t, bond(3700-910), u.Revenue)
	rev, err := vc.app.SharesKeeper.Revenues.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, u.Revenue.Amount, rev.Paid, "the holders' revenue is exactly what settlement paid in")
	require.NoError(t, vc.app.InferenceKeeper.CheckInvariants(ctx))
	require.NoError(t, vc.app.SharesKeeper.CheckInvariants(ctx))

	// Genesis keeps prices, deposits, what each request settled and usage.
	exported, err := vc.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	require.NoError(t, vc.app.BasicModuleManager.ValidateGenesis(vc.app.AppCodec(), vc.app.TxConfig(), state))
	var gs inferencetypes.GenesisState
	vc.app.AppCodec().MustUnmarshalJSON(state[inferencetypes.ModuleName], &gs)
	require.Len(t, gs.Prices, 1)
	require.Len(t, gs.Deposits, 1)
	require.Len(t, gs.Settled, 2)
	require.Len(t, gs.Usage, 1)
	fresh := &chain{t: t, app: newApp(t), time: vc.time, valSet: vc.valSet, initialHeight: exported.Height}
	fresh.initChain(exported.AppState)
	again, err := fresh.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state2 map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(again.AppState, &state2))
	require.JSONEq(t, string(state[inferencetypes.ModuleName]), string(state2[inferencetypes.ModuleName]))
	bad := gs
	bad.Settled = append(slices.Clone(gs.Settled), inferencetypes.Settled{DepositId: 42, RequestId: "x", Tokens: 1})
	require.ErrorContains(t, bad.Validate(), "deposit 42 is not in the genesis")
	bad = gs
	bad.Prices = slices.Clone(gs.Prices)
	bad.Prices[0].Per_1KTokens = sdk.NewInt64Coin("other", 5)
	require.ErrorContains(t, bad.Validate(), "one denom")
	// A zero-height export keeps each deposit's blocks left.
	zero, err := vc.app.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	var zstate map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(zero.AppState, &zstate))
	var zgs inferencetypes.GenesisState
	vc.app.AppCodec().MustUnmarshalJSON(zstate[inferencetypes.ModuleName], &zgs)
	require.Equal(t, gs.Deposits[0].ExpiresHeight-vc.app.LastBlockHeight(), zgs.Deposits[0].ExpiresHeight)

	// Held until it expires; then the balance goes back, and its receipts no longer settle.
	res = vc.send(customer, &inferencetypes.MsgWithdraw{Customer: customer.addr.String(), DepositId: dep.DepositId})
	require.Equal(t, inferencetypes.ErrDepositHeld.ABCICode(), res.Code, res.Log)
	vc.blocks(int(inferencetypes.DefaultMinDepositBlocks) + 1)
	res = vc.send(stranger, &inferencetypes.MsgSettle{Submitter: stranger.addr.String(), Receipts: []inferencetypes.SignedReceipt{receipt(t, customer.priv, dep.DepositId, "r4", 10, servers...)}})
	require.Equal(t, inferencetypes.ErrDepositExpired.ABCICode(), res.Code, res.Log)
	res = vc.send(stranger, &inferencetypes.MsgWithdraw{Customer: stranger.addr.String(), DepositId: dep.DepositId})
	require.Equal(t, inferencetypes.ErrUnknownDeposit.ABCICode(), res.Code, "not the stranger's: %s", res.Log)
	before = vc.balance(customer.addr)
	res = vc.send(customer, &inferencetypes.MsgWithdraw{Customer: customer.addr.String(), DepositId: dep.DepositId})
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, before+1_000_000-3700, vc.balance(customer.addr))
	res = vc.send(stranger, &inferencetypes.MsgSettle{Submitter: stranger.addr.String(), Receipts: []inferencetypes.SignedReceipt{receipt(t, customer.priv, dep.DepositId, "r1", 900, servers...)}})
	require.Equal(t, inferencetypes.ErrUnknownDeposit.ABCICode(), res.Code, res.Log)
	// Its requests' records go at the end of the block.
	vc.blocks(1)
	ctx = vc.app.NewContext(true)
	for _, r := range []string{"r1", "r3"} {
		has, err := vc.app.InferenceKeeper.Settled.Has(ctx, collections.Join(dep.DepositId, r))
		require.NoError(t, err)
		require.False(t, has, "request %s's record of a withdrawn deposit", r)
	}
	has, err := vc.app.InferenceKeeper.Prune.Has(ctx, dep.DepositId)
	require.NoError(t, err)
	require.False(t, has)
	require.NoError(t, vc.app.InferenceKeeper.CheckInvariants(vc.app.NewContext(true)))
}

// Settlement's gas: one receipt alone, and a batch of receipts of distinct requests (what a
// gateway submits: each request's last receipt). Logged for docs/BENCHMARKS.md; a receipt in a
// batch costs less than one alone (the transaction's own cost is shared).
// pricedDeposit is a chain whose model 1 is priced (per 1,000 tokens) and has holders (one
// finalized attestation), with a customer's deposit of amount: the deposit's response, its
// gas, and the model's three seated operators, stage 0 first.
func pricedDeposit(t *testing.T, price, amount int64) (vc *verifyChain, customer *account, dep inferencetypes.MsgDepositResponse, servers []sdk.AccAddress, gas int64) {
	t.Helper()
	customer = newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), customer)
	require.Zero(t, vc.send(vc.designer, &inferencetypes.MsgSetPrice{Designer: vc.designer.addr.String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, price)}).Code)
	vc.submit(t, ws[0], 1)
	vc.blocks(vWindow + 2)
	res := vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, amount)})
	require.Zero(t, res.Code, res.Log)
	requireMsgResponse(t, res, &dep)
	return vc, customer, dep, []sdk.AccAddress{ws[0].addr, ws[1].addr, ws[2].addr}, res.GasUsed
}

func TestInferenceSettleGas(t *testing.T) {
	vc, customer, dep, servers, depositGas := pricedDeposit(t, 2000, 100_000_000)
	t.Logf("deposit: %d gas", depositGas)
	n := 0
	gas := func(count int) int64 {
		var rs []inferencetypes.SignedReceipt
		for range count {
			n++
			rs = append(rs, receipt(t, customer.priv, dep.DepositId, fmt.Sprintf("request-%d", n), 1000, servers...))
		}
		res := vc.send(customer, &inferencetypes.MsgSettle{Submitter: customer.addr.String(), Receipts: rs})
		require.Zero(t, res.Code, res.Log)
		return res.GasUsed
	}
	one := gas(1)
	batch := gas(16)
	hundred := gas(100)
	t.Logf("settle: 1 receipt %d gas; 16 receipts %d gas, %d a receipt; 100 receipts %d gas, %d a receipt", one, batch, batch/16, hundred, hundred/100)
	require.Less(t, batch/16, one, "a receipt in a batch shares the transaction's cost")
	require.Less(t, hundred/100, batch/16, "more so in a larger batch")
}

// A withdrawn deposit's request records are deleted at the end of blocks, PrunePerBlock a
// block, however many requests it settled: withdrawal costs the same for every deposit.
func TestInferenceWithdrawnRecordsPrunedByBlock(t *testing.T) {
	vc, customer, dep, servers, _ := pricedDeposit(t, 1000, 1_000_000)
	requests := inferencetypes.PrunePerBlock + 44
	for from := 0; from < requests; from += inferencetypes.DefaultMaxReceipts {
		var rs []inferencetypes.SignedReceipt
		for i := from; i < min(requests, from+inferencetypes.DefaultMaxReceipts); i++ {
			rs = append(rs, receipt(t, customer.priv, dep.DepositId, fmt.Sprintf("r%d", i), 10, servers...))
		}
		res := vc.send(customer, &inferencetypes.MsgSettle{Submitter: customer.addr.String(), Receipts: rs})
		require.Zero(t, res.Code, res.Log)
	}
	records := func() int {
		n := 0
		require.NoError(t, vc.app.InferenceKeeper.Settled.Walk(vc.app.NewContext(true), collections.NewPrefixedPairRange[uint64, string](dep.DepositId),
			func(collections.Pair[uint64, string], uint64) (bool, error) { n++; return false, nil }))
		return n
	}
	require.Equal(t, requests, records())
	vc.blocks(int(inferencetypes.DefaultMinDepositBlocks) + 1)
	res := vc.send(customer, &inferencetypes.MsgWithdraw{Customer: customer.addr.String(), DepositId: dep.DepositId})
	require.Zero(t, res.Code, res.Log) // the block's EndBlock deleted the first PrunePerBlock
	require.Equal(t, requests-inferencetypes.PrunePerBlock, records())
	vc.blocks(1)
	require.Zero(t, records())
	has, err := vc.app.InferenceKeeper.Prune.Has(vc.app.NewContext(true), dep.DepositId)
	require.NoError(t, err)
	require.False(t, has, "done with the deposit")
}
