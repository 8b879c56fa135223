package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/trainer/chain"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
)

// Ledger is the chain as billing uses it: customers' deposits, the height their expiry is
// counted in, and the settlement of receipts (trainer/chain.Client).
type Ledger interface {
	Deposit(ctx context.Context, id uint64) (inferencetypes.Deposit, error)
	Height(ctx context.Context) (int64, error)
	Settle(ctx context.Context, receipts []inferencetypes.SignedReceipt) (*inferencetypes.MsgSettleResponse, error)
}

// Billing charges completions to customers' deposits: the gateway holds a spender key that
// deposits name (the customer's own, when the customer runs the gateway, or one a customer
// authorised), signs a cumulative receipt for the tokens each request delivered, and settles
// the receipts on chain in batches.
type Billing struct {
	ChainID string
	Ledger  Ledger
	// Spender signs the receipts; a deposit it may charge names its public key.
	Spender *secp256k1.PrivKey
	// Keys maps an API key (the request's bearer token) to the deposit it charges. The empty
	// key is the deposit of requests without one (a single customer's own gateway).
	Keys map[string]uint64
	// SettleEvery is how often receipts are submitted (0: 10 s); MaxBatch bounds a batch (0:
	// 100, and never more than the chain's max_receipts).
	SettleEvery time.Duration
	MaxBatch    int
	// ExpiryMargin refuses a deposit that expires within this many blocks (0: 20, a fifth of
	// x/inference's shortest term): the receipts of a request that starts must settle before the
	// deposit expires (after that the customer may withdraw what they would have taken). Running
	// requests' receipts settle every SettleEvery, not only when they end.
	ExpiryMargin int64
	Log          *slog.Logger

	mu sync.Mutex
	// held is what this gateway has committed to charge each deposit and not settled yet:
	// reservations of requests running and receipts queued; settled what it has settled.
	held, settled map[uint64]sdkmath.Int
	queue         []queued
	wake          chan struct{}
	// running are the requests being served: Flush settles their receipts so far.
	running map[*charge]struct{}
	// flushing serialises Flush: the settle loop's and a caller's.
	flushing sync.Mutex
}

type queued struct {
	r      inferencetypes.SignedReceipt
	charge sdkmath.Int
}

func (b *Billing) init() error {
	if b.ChainID == "" || b.Ledger == nil || b.Spender == nil {
		return errors.New("gateway: billing needs the chain id, the chain and the spender key")
	}
	if b.SettleEvery <= 0 {
		b.SettleEvery = 10 * time.Second
	}
	if b.MaxBatch <= 0 {
		b.MaxBatch = 100
	}
	if b.ExpiryMargin <= 0 {
		b.ExpiryMargin = 20
	}
	if b.Log == nil {
		b.Log = slog.New(slog.DiscardHandler)
	}
	b.held, b.settled = map[uint64]sdkmath.Int{}, map[uint64]sdkmath.Int{}
	b.wake = make(chan struct{}, 1)
	b.running = map[*charge]struct{}{}
	return nil
}

// charge is one request's account: the deposit it is charged to, at the deposit's price, and
// the most it may cost (reserved until it ends).
type charge struct {
	b        *Billing
	deposit  inferencetypes.Deposit
	request  string
	reserved sdkmath.Int
	// last is the latest signed receipt; queued what the receipts queued so far charge (under
	// Billing.mu).
	last   *inferencetypes.SignedReceipt
	queued sdkmath.Int
}

// open checks that the request's deposit can pay for up to tokens tokens of model and reserves
// that much; the answer's error is an *apiError.
func (b *Billing) open(ctx context.Context, r *http.Request, model uint64, tokens int) (*charge, error) {
	key := bearer(r)
	id, ok := b.Keys[key]
	if !ok {
		if key == "" {
			return nil, &apiError{http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "this gateway charges a deposit per API key: send Authorization: Bearer <key>"}
		}
		return nil, &apiError{http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "unknown API key"}
	}
	d, err := b.Ledger.Deposit(ctx, id)
	if err != nil {
		return nil, &apiError{http.StatusServiceUnavailable, "server_error", "chain_unavailable", fmt.Sprintf("reading deposit %d: %v", id, err)}
	}
	if d.ModelId != model {
		return nil, &apiError{http.StatusForbidden, "invalid_request_error", "wrong_deposit", fmt.Sprintf("deposit %d pays for model %d, not model %d: deposit for this model (tx inference deposit)", id, d.ModelId, model)}
	}
	if string(d.Spender) != string(b.Spender.PubKey().Bytes()) {
		return nil, &apiError{http.StatusForbidden, "invalid_request_error", "wrong_spender", fmt.Sprintf("deposit %d does not name this gateway's key as its spender (%X)", id, b.Spender.PubKey().Bytes())}
	}
	h, err := b.Ledger.Height(ctx)
	if err != nil {
		return nil, &apiError{http.StatusServiceUnavailable, "server_error", "chain_unavailable", err.Error()}
	}
	if h+b.ExpiryMargin > d.ExpiresHeight {
		return nil, &apiError{http.StatusPaymentRequired, "insufficient_quota", "deposit_expired", fmt.Sprintf("deposit %d expires at height %d (now %d): make a new deposit", id, d.ExpiresHeight, h)}
	}
	cost := inferencetypes.Charge(d.PricePer_1KTokens.Amount, uint64(tokens))
	b.mu.Lock()
	defer b.mu.Unlock()
	// What the deposit was (balance + spent, which settlement does not change) less what is
	// spent: on chain, or by this gateway if the read predates its last settlements.
	spent := amount(d.Spent)
	total := amount(d.Balance).Add(spent)
	held := get(b.held, id)
	free := total.Sub(sdkmath.MaxInt(spent, get(b.settled, id))).Sub(held)
	if free.LT(cost) {
		return nil, &apiError{
			http.StatusPaymentRequired, "insufficient_quota", "insufficient_funds",
			fmt.Sprintf("deposit %d has %s%s left (%s held for requests not yet settled); up to %d tokens at %s per 1000 cost %s: deposit more or ask for fewer max_tokens",
				id, sdkmath.MaxInt(free, sdkmath.ZeroInt()), d.Balance.Denom, held, tokens, d.PricePer_1KTokens, cost),
		}
	}
	b.held[id] = held.Add(cost)
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	c := &charge{b: b, deposit: d, request: "cmpl-" + hex.EncodeToString(nonce[:]), reserved: cost, queued: sdkmath.ZeroInt()}
	b.running[c] = struct{}{}
	return c, nil
}

func get(m map[uint64]sdkmath.Int, id uint64) sdkmath.Int {
	if v, ok := m[id]; ok {
		return v
	}
	return sdkmath.ZeroInt()
}

func (b *Billing) heldFor(id uint64) sdkmath.Int { return get(b.held, id) }

// amount is a coin's amount, zero when unset.
func amount(c sdk.Coin) sdkmath.Int {
	if c.Amount.IsNil() {
		return sdkmath.ZeroInt()
	}
	return c.Amount
}

func bearer(r *http.Request) string {
	const p = "Bearer "
	if a := r.Header.Get("Authorization"); len(a) > len(p) && a[:len(p)] == p {
		return a[len(p):]
	}
	return ""
}

// sign signs the cumulative receipt for tokens delivered so far, served by servers (operators,
// one per stage).
func (c *charge) sign(tokens uint64, servers []string) error {
	r := inferencetypes.Receipt{ChainId: c.b.ChainID, DepositId: c.deposit.Id, RequestId: c.request, Tokens: tokens, Servers: servers}
	sig, err := inferencetypes.SignReceipt(c.b.Spender, r)
	if err != nil {
		return err
	}
	c.b.mu.Lock()
	c.last = &inferencetypes.SignedReceipt{Receipt: r, Signature: sig}
	c.b.mu.Unlock()
	return nil
}

// latest is the latest signed receipt (nil: none yet).
func (c *charge) latest() *inferencetypes.SignedReceipt {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.last
}

// restore makes r the latest receipt again (a final one that was not delivered).
func (c *charge) restore(r *inferencetypes.SignedReceipt) {
	c.b.mu.Lock()
	c.last = r
	c.b.mu.Unlock()
}

// enqueueLocked queues the part of c's latest receipt not queued yet (under b.mu).
func (b *Billing) enqueueLocked(c *charge) {
	if c.last == nil {
		return
	}
	total := inferencetypes.Charge(c.deposit.PricePer_1KTokens.Amount, c.last.Receipt.Tokens)
	if !total.GT(c.queued) {
		return
	}
	amt := total.Sub(c.queued)
	c.queued = total
	id := c.deposit.Id
	b.held[id] = get(b.held, id).Add(amt)
	b.queue = append(b.queue, queued{r: *c.last, charge: amt})
}

// cost is what the last signed receipt charges.
func (c *charge) cost() sdk.Coin {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.last == nil {
		return sdk.NewCoin(c.deposit.Balance.Denom, sdkmath.ZeroInt())
	}
	return sdk.NewCoin(c.deposit.Balance.Denom, inferencetypes.Charge(c.deposit.PricePer_1KTokens.Amount, c.last.Receipt.Tokens))
}

// close ends the request: its reservation is released, and its last receipt queued for
// settlement, held against the deposit until it settles.
func (c *charge) close() {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.running, c)
	id := c.deposit.Id
	b.held[id] = b.heldFor(id).Sub(c.reserved)
	b.enqueueLocked(c)
	if len(b.queue) >= b.MaxBatch {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// run settles queued receipts every SettleEvery (sooner when a batch is full) until ctx ends,
// then once more.
func (b *Billing) run(ctx context.Context) {
	t := time.NewTicker(b.SettleEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.wake:
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			b.Flush(sctx)
			cancel()
			return
		}
		b.Flush(ctx)
	}
}

// Flush submits the queued receipts now, in batches; a batch the chain cannot take is kept for
// the next try, a receipt it refused is dropped (logged).
func (b *Billing) Flush(ctx context.Context) {
	b.flushing.Lock()
	defer b.flushing.Unlock()
	b.mu.Lock()
	for c := range b.running { // what running requests delivered so far
		b.enqueueLocked(c)
	}
	b.mu.Unlock()
	for {
		batch := b.head()
		if len(batch) == 0 {
			return
		}
		receipts := make([]inferencetypes.SignedReceipt, len(batch))
		for i, q := range batch {
			receipts[i] = q.r
		}
		res, err := b.Ledger.Settle(ctx, receipts)
		paid := make([]bool, len(batch))
		switch {
		case err == nil || errors.Is(err, inferencetypes.ErrAlreadySettled):
			// Already settled: someone (a copy of this batch, or a try whose answer was lost)
			// settled every receipt first; the money moved once.
			if res != nil {
				b.Log.Info("settled", "receipts", len(batch), "paid", res.Paid.String(), "skipped", res.Skipped)
			}
			for i := range paid {
				paid[i] = true
			}
		case !refused(err):
			b.Log.Warn("settling receipts; will retry", "receipts", len(batch), "err", err)
			return
		case len(batch) > 1:
			// One receipt the chain refuses (its deposit expired, say) fails the batch: each
			// is settled alone, so that the others still pay.
			b.Log.Warn("the chain refused a batch of receipts; settling them one by one", "receipts", len(batch), "err", err)
			for i, r := range receipts {
				_, err := b.Ledger.Settle(ctx, []inferencetypes.SignedReceipt{r})
				switch {
				case err == nil || errors.Is(err, inferencetypes.ErrAlreadySettled):
					paid[i] = true
				case !refused(err):
					b.Log.Warn("settling receipts; will retry", "receipts", len(batch)-i, "err", err)
					b.done(batch[:i], paid[:i])
					return
				default:
					b.Log.Error("the chain refused a receipt; dropped", "deposit", r.Receipt.DepositId, "request", r.Receipt.RequestId, "err", err)
				}
			}
		default:
			b.Log.Error("the chain refused a receipt; dropped", "deposit", receipts[0].Receipt.DepositId, "request", receipts[0].Receipt.RequestId, "err", err)
		}
		b.done(batch, paid)
	}
}

// refused says whether err is the chain's verdict on the receipts: a refusal by x/inference
// (or another module), not a transport failure or a refusal of the SDK's (a fee, a full
// mempool) that the same transaction may pass later.
func refused(err error) bool {
	var te *chain.TxError
	return errors.As(err, &te) && !te.Transient()
}

// head is the next batch to settle.
func (b *Billing) head() []queued {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]queued(nil), b.queue[:min(len(b.queue), b.MaxBatch)]...)
}

// done takes a settled batch (the queue's head: only Flush removes receipts, one at a time)
// off the queue; what paid counts as settled.
func (b *Billing) done(batch []queued, paid []bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = b.queue[len(batch):]
	for i, q := range batch {
		id := q.r.Receipt.DepositId
		b.held[id] = get(b.held, id).Sub(q.charge)
		if paid[i] {
			b.settled[id] = get(b.settled, id).Add(q.charge)
		}
	}
}

// Queued is the number of receipts waiting to settle.
func (b *Billing) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}
