package gateway

import (
	"context"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"

	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
)

// max_tokens = MaxInt64 with a prompt of 2+ bytes overflows infer.Check's context sum and is
// accepted: a free gateway runs the session to the end of the context, where every replica of
// stage 0 refuses it (each replayed, each marked down), and answers 503 instead of 400; a paid
// one answers 402 for "-9223372036854775807 tokens".
func TestHugeMaxTokensIsABadRequest(t *testing.T) {
	m := tinyModel(t)
	c, _ := serveModel(t, m)
	g := start(t, c, nil)
	res, body := post(t, g, "", map[string]any{"model": "tiny", "prompt": "ab", "max_tokens": int64(math.MaxInt64), "temperature": 0})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("free gateway: status %d, want 400: %s", res.StatusCode, body)
	}

	spender := secp256k1.GenPrivKey()
	l := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", 1000), PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(), ExpiresHeight: 1000}}, settled: map[string]uint64{}, height: 1, paid: sdkmath.ZeroInt()}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour}
	g2 := start(t, c, b)
	res, body = post(t, g2, "", map[string]any{"model": "tiny", "prompt": "ab", "max_tokens": int64(math.MaxInt64)})
	if res.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "-9223372036854775807") {
		t.Errorf("paid gateway: status %d, want 400: %s", res.StatusCode, body)
	}
}

// racyLedger reads a deposit, then (when armed) waits before answering: a chain query in
// flight while a settlement lands.
type racyLedger struct {
	*ledger
	armed            chan struct{}
	entered, release chan struct{}
}

func (r *racyLedger) Deposit(ctx context.Context, id uint64) (inferencetypes.Deposit, error) {
	d, err := r.ledger.Deposit(ctx, id)
	select {
	case <-r.armed:
		r.entered <- struct{}{}
		<-r.release
	default:
	}
	return d, err
}

// open reads the deposit's balance outside the lock and subtracts held inside it: when a
// Flush settles between the two, the stale balance (before the settlement) meets the held
// amount after it, and a deposit already spent in full gets a new reservation. Its receipt then
// overdraws the deposit on chain (ErrOverDeposit: dropped); the customer's tokens are free.
func TestAReservationCannotRaceASettlement(t *testing.T) {
	spender := secp256k1.GenPrivKey()
	base := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", 100), PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(), ExpiresHeight: 1000}}, settled: map[string]uint64{}, height: 1, paid: sdkmath.ZeroInt()}
	l := &racyLedger{ledger: base, armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{})}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour}
	if err := b.init(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/v1/completions", nil)
	ctx := t.Context()
	// A first request spends the whole deposit: 100 tokens, queued, held.
	ch, err := b.open(ctx, req, modelID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.sign(100, []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	ch.close()
	// A second one reads the deposit (100 left on chain, not yet settled) ...
	close(l.armed)
	type opened struct {
		ch  *charge
		err error
	}
	done := make(chan opened, 1)
	go func() { c, err := b.open(ctx, req, modelID, 100); done <- opened{c, err} }()
	<-l.entered
	// ... while the first one's receipt settles: the chain's balance is now 0.
	b.Flush(ctx)
	close(l.release)
	o := <-done
	if o.err == nil {
		d, _ := base.Deposit(ctx, 1)
		t.Errorf("a reservation of 100 was granted on deposit 1 whose balance is %s and whose held is %s", d.Balance, b.heldFor(1))
	}
}

// blockingLedger holds every Settle until released, without holding the ledger's lock.
type blockingLedger struct {
	*ledger
	in      chan struct{}
	release chan struct{}
}

func (l *blockingLedger) Settle(ctx context.Context, rs []inferencetypes.SignedReceipt) (*inferencetypes.MsgSettleResponse, error) {
	l.in <- struct{}{}
	<-l.release
	return l.ledger.Settle(ctx, rs)
}

// Flush is exported, and two at once (the settle loop's tick and a caller's) both send the
// queue's head, then each cuts n receipts off the queue: a receipt never sent is dropped, held
// goes negative (or, with a shorter queue, the slice cut panics the gateway).
func TestConcurrentFlushesSettleEachReceiptOnce(t *testing.T) {
	spender := secp256k1.GenPrivKey()
	base := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", 1000), PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(), ExpiresHeight: 1000}}, settled: map[string]uint64{}, height: 1, paid: sdkmath.ZeroInt()}
	l := &blockingLedger{ledger: base, in: make(chan struct{}), release: make(chan struct{})}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour, MaxBatch: 1}
	if err := b.init(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/v1/completions", nil)
	for _, n := range []uint64{10, 5} {
		ch, err := b.open(t.Context(), req, modelID, int(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.sign(n, []string{"a", "b", "c"}); err != nil {
			t.Fatal(err)
		}
		ch.close()
	}
	var wg sync.WaitGroup
	panicked := make(chan any, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					panicked <- p
				}
			}()
			b.Flush(t.Context())
		}()
	}
	<-l.in // the first Flush is settling; the second waits for it
	close(l.release)
	go func() { // later Settles pass
		for range l.in {
		}
	}()
	wg.Wait()
	close(panicked)
	for p := range panicked {
		// The panic leaves b.mu locked (Flush does not defer its Unlock): the gateway's
		// billing is wedged from here on, so stop.
		t.Fatalf("Flush panicked (with b.mu held): %v", p)
	}
	base.mu.Lock()
	paid := base.paid
	base.mu.Unlock()
	if !paid.Equal(sdkmath.NewInt(15)) || b.Queued() != 0 || !b.heldFor(1).IsZero() {
		t.Errorf("two concurrent Flushes of receipts for 10 and 5 tokens: paid %s (want 15), %d queued, held %s (want 0)", paid, b.Queued(), b.heldFor(1))
	}
}
