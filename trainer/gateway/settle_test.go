package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/protolearn/protolearn/trainer/chain"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
)

// strictLedger is the test ledger with the chain's refusals that the plain double lacks: an
// expired deposit, a receipt over the deposit (each refuses the whole batch, as MsgSettle
// does), and a batch whose receipts all settled already. Its errors are chain.TxErrors, as
// chain.Client returns them. fail, when set, answers a Settle call first (by call number).
type strictLedger struct {
	*ledger
	mu    sync.Mutex
	calls int
	sizes []int
	fail  func(call int, rs []inferencetypes.SignedReceipt) error
}

func txErr(e interface {
	Codespace() string
	ABCICode() uint32
	Error() string
},
) *chain.TxError {
	return &chain.TxError{Codespace: e.Codespace(), Code: e.ABCICode(), Log: e.Error()}
}

func (l *strictLedger) Settle(ctx context.Context, rs []inferencetypes.SignedReceipt) (*inferencetypes.MsgSettleResponse, error) {
	l.mu.Lock()
	l.calls++
	call := l.calls
	l.sizes = append(l.sizes, len(rs))
	l.mu.Unlock()
	if l.fail != nil {
		if err := l.fail(call, rs); err != nil {
			return nil, err
		}
	}
	l.ledger.mu.Lock()
	balance := map[uint64]sdkmath.Int{}
	all := true
	for _, r := range rs {
		d := l.deposits[r.Receipt.DepositId]
		if l.height > d.ExpiresHeight {
			l.ledger.mu.Unlock()
			return nil, txErr(inferencetypes.ErrDepositExpired)
		}
		if _, ok := balance[d.Id]; !ok {
			balance[d.Id] = d.Balance.Amount
		}
		prev := l.settled[keyOf(r)]
		if r.Receipt.Tokens <= prev {
			continue
		}
		all = false
		amt := inferencetypes.Charge(d.PricePer_1KTokens.Amount, r.Receipt.Tokens).Sub(inferencetypes.Charge(d.PricePer_1KTokens.Amount, prev))
		if amt.GT(balance[d.Id]) {
			l.ledger.mu.Unlock()
			return nil, txErr(inferencetypes.ErrOverDeposit)
		}
		balance[d.Id] = balance[d.Id].Sub(amt)
	}
	l.ledger.mu.Unlock()
	if all {
		return nil, txErr(inferencetypes.ErrAlreadySettled)
	}
	return l.ledger.Settle(ctx, rs)
}

func keyOf(r inferencetypes.SignedReceipt) string {
	return fmt.Sprint(r.Receipt.DepositId, r.Receipt.RequestId) // as ledger keys them
}

// settleSetup is a billing on one deposit of balance units at 1 unit a token.
func settleSetup(t *testing.T, balance, expires, height int64, maxBatch int) (*Billing, *strictLedger, *secp256k1.PrivKey) {
	t.Helper()
	spender := secp256k1.GenPrivKey()
	base := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {
		Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", balance), Spent: sdk.NewInt64Coin("ulearn", 0),
		PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(), ExpiresHeight: expires, CreatedHeight: expires - 1000,
	}}, settled: map[string]uint64{}, height: height, paid: sdkmath.ZeroInt()}
	l := &strictLedger{ledger: base}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour, MaxBatch: maxBatch}
	if err := b.init(); err != nil {
		t.Fatal(err)
	}
	return b, l, spender
}

// serve runs a request of n tokens to its end: reserved, signed for n, closed (queued).
func settleServe(t *testing.T, b *Billing, n int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "/v1/completions", nil)
	ch, err := b.open(t.Context(), req, modelID, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.sign(uint64(n), []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	ch.close()
}

func (l *strictLedger) paidNow() sdkmath.Int {
	l.ledger.mu.Lock()
	defer l.ledger.mu.Unlock()
	return l.paid
}

// A refusal in the SDK's root codespace (the spender's account cannot pay the fee, the mempool
// is full, the fee is below a node's minimum) is chain.TxError.Transient: the same message may
// land later, so the receipts stay queued and settle on the next try.
func TestATransientRefusalKeepsTheReceipts(t *testing.T) {
	b, l, _ := settleSetup(t, 1000, 10_000, 10, 100)
	l.fail = func(call int, _ []inferencetypes.SignedReceipt) error {
		if call == 1 { // the fee account is empty
			return txErr(sdkerrors.ErrInsufficientFunds)
		}
		return nil
	}
	settleServe(t, b, 10)
	settleServe(t, b, 5)
	b.Flush(t.Context()) // the gateway's fee account is topped up after this
	b.Flush(t.Context())
	if paid := l.paidNow(); !paid.Equal(sdkmath.NewInt(15)) {
		t.Errorf("after a transient fee refusal and a retry: paid %s of 15 delivered (%d queued): receipts dropped for good", paid, b.Queued())
	}
}

// When the chain refuses a batch (one receipt's deposit expired, say), the receipts are sent one
// by one, and there any error, a lost connection or a cancelled context included, drops the
// receipt: only a verdict of the chain should.
func TestATransportErrorInASingleRetryKeepsTheReceipt(t *testing.T) {
	b, l, _ := settleSetup(t, 1000, 10_000, 10, 100)
	l.fail = func(call int, _ []inferencetypes.SignedReceipt) error {
		switch call {
		case 1:
			return txErr(inferencetypes.ErrDepositExpired) // the batch: some receipt refused
		case 2:
			return errors.New("chain: node unreachable") // the first single: transport
		}
		return nil
	}
	settleServe(t, b, 10)
	settleServe(t, b, 5)
	b.Flush(t.Context())
	b.Flush(t.Context())
	if paid := l.paidNow(); !paid.Equal(sdkmath.NewInt(15)) {
		t.Errorf("a receipt whose single retry met a transport error: paid %s of 15 (%d queued): dropped, not retried", paid, b.Queued())
	}
}

// A front-runner that copies a gateway's whole batch from the mempool (one tx, its fee) makes
// the gateway's batch fail with ErrAlreadySettled; Flush then sends every receipt alone, each
// refused again. Each of those simulates as failing, so chain.Client signs it with the
// 2,000,000 fallback gas and pays its fee: one copied batch of 100 costs the gateway 100 more
// transactions at 2M gas each (about 200 times the batch's own fee).
func TestACopiedBatchCountsAsSettled(t *testing.T) {
	b, l, _ := settleSetup(t, 1000, 10_000, 10, 100)
	for range 10 {
		settleServe(t, b, 3)
	}
	// The front-runner's copy lands first.
	batch := b.head()
	copyRs := make([]inferencetypes.SignedReceipt, len(batch))
	for i, q := range batch {
		copyRs[i] = q.r
	}
	if _, err := l.ledger.Settle(t.Context(), copyRs); err != nil {
		t.Fatal(err)
	}
	b.Flush(t.Context())
	if l.calls != 1 {
		t.Errorf("a batch of 10 that a front-runner had settled already: the gateway sent %d settle txs (sizes %v); one suffices (all skipped = settled)", l.calls, l.sizes)
	}
}

// A deposit made for the default (and shortest) term, min_deposit_blocks, is usable: the
// expiry margin is a fraction of it.
func TestADefaultTermDepositIsUsable(t *testing.T) {
	spender := secp256k1.GenPrivKey()
	made := int64(50)
	base := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {
		Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", 1000), Spent: sdk.NewInt64Coin("ulearn", 0),
		PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(),
		CreatedHeight: made, ExpiresHeight: made + int64(inferencetypes.DefaultMinDepositBlocks),
	}}, settled: map[string]uint64{}, height: made + 1, paid: sdkmath.ZeroInt()}
	b := &Billing{ChainID: "test", Ledger: base, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour}
	if err := b.init(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/v1/completions", nil)
	if _, err := b.open(t.Context(), req, modelID, 10); err != nil {
		t.Errorf("a deposit made one block ago for the default term (%d blocks): %v", inferencetypes.DefaultMinDepositBlocks, err)
	}
}

// A running request's receipts settle at every flush, not only when it ends: a customer that
// stalls its stream past the deposit's expiry (to withdraw the deposit before the receipt
// settles) has paid for what it read by then.
func TestARequestOutlivingItsDepositIsPaid(t *testing.T) {
	b, l, _ := settleSetup(t, 1000, 500, 10, 100) // 490 blocks left: well past the margin
	req, _ := http.NewRequest(http.MethodPost, "/v1/completions", nil)
	ch, err := b.open(t.Context(), req, modelID, 100)
	if err != nil {
		t.Fatal(err)
	}
	// 99 tokens are delivered and signed for; the customer then stops reading.
	if err := ch.sign(99, []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	b.Flush(t.Context()) // the settle loop ticks meanwhile
	l.ledger.mu.Lock()
	l.height = 501 // the deposit expires while the stream is stalled
	l.ledger.mu.Unlock()
	ch.close()
	b.Flush(t.Context())
	if paid := l.paidNow(); !paid.Equal(sdkmath.NewInt(99)) {
		t.Errorf("99 tokens delivered and signed for while the deposit was live: paid %s", paid)
	}
}
