package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/inference/types"
)

// SetPrice sets model's price per 1,000 tokens (zero takes it off sale); only its designer may,
// and only until its holders have voted a price.
func (k *Keeper) SetPrice(ctx context.Context, msg *types.MsgSetPrice) error {
	designer, err := k.parseAddr("designer", msg.Designer)
	if err != nil {
		return err
	}
	m, err := k.models.InferenceModel(ctx, msg.ModelId)
	if err != nil {
		return err
	}
	if !m.Designer.Equals(designer) {
		return errorsmod.Wrapf(types.ErrNotDesigner, "model %d was designed by %s, not %s", msg.ModelId, k.addrString(m.Designer), msg.Designer)
	}
	switch prev, err := k.Prices.Get(ctx, msg.ModelId); {
	case err == nil && prev.ByHolders:
		return errorsmod.Wrapf(types.ErrPriceByHolders, "model %d's holders voted its price (%s per 1,000 tokens); only their vote changes it (x/modelgov)", msg.ModelId, prev.Per_1KTokens)
	case err != nil && !errors.Is(err, collections.ErrNotFound):
		return err
	}
	return k.setPrice(ctx, msg.ModelId, msg.Per_1KTokens, false)
}

// CheckPrice reports why per1k could not be a price, or nil.
func (k *Keeper) CheckPrice(ctx context.Context, per1k sdk.Coin) error {
	denom, err := k.shares.RevenueDenom(ctx)
	if err != nil {
		return err
	}
	if err := per1k.Validate(); err != nil || per1k.Denom != denom || per1k.Amount.GT(types.MaxPrice) {
		return errorsmod.Wrapf(types.ErrInvalidPrice, "a price is an amount of %s (x/shares' revenue denom) from 0 to %s, got %s", denom, types.MaxPrice, per1k)
	}
	return nil
}

// SetPriceByHolders sets model's price as its holders voted it (x/modelgov); from then on the
// designer may not change it. Zero takes the model off sale.
func (k *Keeper) SetPriceByHolders(ctx context.Context, modelID uint64, per1k sdk.Coin) error {
	if _, err := k.models.InferenceModel(ctx, modelID); err != nil {
		return err
	}
	return k.setPrice(ctx, modelID, per1k, true)
}

func (k *Keeper) setPrice(ctx context.Context, modelID uint64, per1k sdk.Coin, byHolders bool) error {
	if err := k.CheckPrice(ctx, per1k); err != nil {
		return err
	}
	if per1k.IsZero() && !byHolders {
		if err := k.Prices.Remove(ctx, modelID); err != nil {
			return err
		}
	} else if err := k.Prices.Set(ctx, modelID, types.Price{ModelId: modelID, Per_1KTokens: per1k, ByHolders: byHolders}); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventPriceSet{ModelId: modelID, Per_1KTokens: per1k, ByHolders: byHolders})
}

// Deposit escrows msg's amount for model's inference at its current price and returns the
// deposit.
func (k *Keeper) Deposit(ctx context.Context, msg *types.MsgDeposit) (types.Deposit, error) {
	customer, err := k.parseAddr("customer", msg.Customer)
	if err != nil {
		return types.Deposit{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return types.Deposit{}, err
	}
	price, err := k.servablePrice(ctx, msg.ModelId)
	if err != nil {
		return types.Deposit{}, err
	}
	// An empty coin is no bound (a CLI flag left out arrives so).
	if mp := msg.MaxPricePer_1KTokens; mp != nil && mp.Denom != "" && (mp.Denom != price.Denom || mp.Amount.IsNil() || price.Amount.GT(mp.Amount)) {
		return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "model %d's price is %s per 1,000 tokens, above the %s this deposit allows", msg.ModelId, price, mp)
	}
	if !k.shares.HasHolders(ctx, msg.ModelId) {
		return types.Deposit{}, errorsmod.Wrapf(types.ErrNotServable, "model %d has no share holders yet (no verified work): its revenue would have nowhere to go", msg.ModelId)
	}
	if err := msg.Amount.Validate(); err != nil || msg.Amount.Denom != price.Denom || !msg.Amount.IsPositive() {
		return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "a deposit is a positive amount of %s, got %s", price.Denom, msg.Amount)
	}
	blocks := msg.Blocks
	if blocks == 0 {
		blocks = p.MinDepositBlocks
	}
	if blocks < p.MinDepositBlocks || blocks > p.MaxDepositBlocks {
		return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "held for %d blocks; want %d to %d (0: %d)", blocks, p.MinDepositBlocks, p.MaxDepositBlocks, p.MinDepositBlocks)
	}
	spender := msg.Spender
	if len(spender) == 0 {
		acc := k.ak.GetAccount(ctx, customer)
		if acc == nil || acc.GetPubKey() == nil {
			return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "%s has no public key on chain: name the spender key that signs the receipts", msg.Customer)
		}
		pk, ok := acc.GetPubKey().(*secp256k1.PubKey)
		if !ok {
			return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "%s's key is a %s, not secp256k1: name the spender key that signs the receipts", msg.Customer, acc.GetPubKey().Type())
		}
		spender = pk.Key
	}
	if !types.ValidSpender(spender) {
		return types.Deposit{}, errorsmod.Wrapf(types.ErrInvalidDeposit, "spender is %d bytes; want a compressed secp256k1 public key (%d bytes, 02 or 03 first)", len(spender), secp256k1.PubKeySize)
	}
	if err := k.bk.SendCoinsFromAccountToModule(ctx, customer, types.ModuleName, sdk.NewCoins(msg.Amount)); err != nil {
		return types.Deposit{}, errorsmod.Wrapf(err, "escrowing %s", msg.Amount)
	}
	id, err := k.DepositSeq.Next(ctx)
	if err != nil {
		return types.Deposit{}, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	d := types.Deposit{
		Id: id, Customer: k.addrString(customer), ModelId: msg.ModelId, Balance: msg.Amount, Spent: sdk.NewCoin(msg.Amount.Denom, sdkmath.ZeroInt()),
		PricePer_1KTokens: price, Spender: spender, ExpiresHeight: h + blocks, CreatedHeight: h,
	}
	if err := k.Deposits.Set(ctx, id, d); err != nil {
		return types.Deposit{}, err
	}
	if err := k.ByCustomer.Set(ctx, collections.Join(customer, id)); err != nil {
		return types.Deposit{}, err
	}
	return d, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDeposited{
		DepositId: id, Customer: d.Customer, ModelId: d.ModelId, Amount: msg.Amount, ExpiresHeight: d.ExpiresHeight,
	})
}

// servablePrice is model's price, where it is on sale and may serve.
func (k *Keeper) servablePrice(ctx context.Context, model uint64) (sdk.Coin, error) {
	m, err := k.models.InferenceModel(ctx, model)
	if err != nil {
		return sdk.Coin{}, err
	}
	if !m.Servable {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotServable, "model %d neither trains nor has completed: it serves nothing", model)
	}
	price, err := k.Prices.Get(ctx, model)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotServable, "model %d has no price: its designer sets one (tx inference set-price)", model)
	case err == nil && price.Per_1KTokens.IsZero():
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotServable, "model %d's holders took it off sale (price 0 by vote)", model)
	}
	return price.Per_1KTokens, err
}

// Settle pays each receipt from its deposit, in order, and returns what they took in all and
// how many it skipped. Receipts are cumulative per request: one pays the tokens above what its
// request has settled, and one whose request settled as far is skipped (refused, if all are).
// The whole message is refused at the first bad receipt, naming it. The batch is settled as
// one: each deposit, model and usage record is read and written once, each server paid once
// and each model's revenue paid once, so a receipt in a batch costs little more than its
// signature check and its request's record.
func (k *Keeper) Settle(ctx context.Context, msg *types.MsgSettle) (paid sdk.Coin, skipped uint32, err error) {
	if _, err := k.parseAddr("submitter", msg.Submitter); err != nil {
		return sdk.Coin{}, 0, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return sdk.Coin{}, 0, err
	}
	if len(msg.Receipts) == 0 || len(msg.Receipts) > int(p.MaxReceipts) {
		return sdk.Coin{}, 0, errorsmod.Wrapf(types.ErrInvalidReceipt, "%d receipts; want 1 to max_receipts = %d", len(msg.Receipts), p.MaxReceipts)
	}
	denom, err := k.shares.RevenueDenom(ctx)
	if err != nil {
		return sdk.Coin{}, 0, err
	}
	b := newBatch(denom)
	var first error // the first receipt skipped as settled: the answer if all were
	for i, sr := range msg.Receipts {
		err := k.settle(ctx, p, b, sr)
		if errors.Is(err, types.ErrAlreadySettled) {
			// Settled already as far (its submitter was overtaken, by a copy or a later
			// receipt): it pays nothing, and must not sink the batch (a front-runner could
			// otherwise fail a gateway's every batch with one copied receipt).
			b.skipped++
			if first == nil {
				first = errorsmod.Wrapf(err, "receipts[%d] (deposit %d, request %q)", i, sr.Receipt.DepositId, sr.Receipt.RequestId)
			}
			continue
		}
		if err != nil {
			return sdk.Coin{}, 0, errorsmod.Wrapf(err, "receipts[%d] (deposit %d, request %q)", i, sr.Receipt.DepositId, sr.Receipt.RequestId)
		}
	}
	if b.skipped == len(msg.Receipts) {
		return sdk.Coin{}, 0, first
	}
	if err := k.flush(ctx, b); err != nil {
		return sdk.Coin{}, 0, err
	}
	return sdk.NewCoin(denom, b.total), uint32(b.skipped), nil
}

// batch is a settlement's state in memory until flush: what it read, and what it owes, each
// in the order first met (deterministic).
type batch struct {
	denom    string
	total    sdkmath.Int
	deposits map[uint64]*types.Deposit
	depOrder []uint64
	models   map[uint64]types.ModelInfo
	serves   map[string]bool // "model/stage/operator": holds the stage now
	pay      map[string]sdkmath.Int
	payOrder []string
	usage    map[uint64]*types.Usage
	useOrder []uint64
	// revenue is what the batch owes each model's holders (paid once a model, in flush).
	revenue map[uint64]sdkmath.Int
	skipped int
}

func newBatch(denom string) *batch {
	return &batch{
		denom: denom, total: sdkmath.ZeroInt(), deposits: map[uint64]*types.Deposit{}, models: map[uint64]types.ModelInfo{},
		serves: map[string]bool{}, pay: map[string]sdkmath.Int{}, usage: map[uint64]*types.Usage{}, revenue: map[uint64]sdkmath.Int{},
	}
}

func (k *Keeper) deposit(ctx context.Context, b *batch, id uint64) (*types.Deposit, error) {
	if d, ok := b.deposits[id]; ok {
		return d, nil
	}
	d, err := k.Deposits.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, errorsmod.Wrapf(types.ErrUnknownDeposit, "deposit %d does not exist (or was withdrawn)", id)
	} else if err != nil {
		return nil, err
	}
	b.deposits[id], b.depOrder = &d, append(b.depOrder, id)
	return &d, nil
}

func (k *Keeper) model(ctx context.Context, b *batch, id uint64) (types.ModelInfo, error) {
	if m, ok := b.models[id]; ok {
		return m, nil
	}
	m, err := k.models.InferenceModel(ctx, id)
	if err == nil {
		b.models[id] = m
	}
	return m, err
}

func (k *Keeper) holds(ctx context.Context, b *batch, model uint64, stage uint32, op sdk.AccAddress) (bool, error) {
	key := fmt.Sprintf("%d/%d/%s", model, stage, op)
	if ok, seen := b.serves[key]; seen {
		return ok, nil
	}
	ok, err := k.models.ServesStage(ctx, model, stage, op)
	if err == nil {
		b.serves[key] = ok
	}
	return ok, err
}

func (k *Keeper) usageOf(ctx context.Context, b *batch, model uint64) (*types.Usage, error) {
	if u, ok := b.usage[model]; ok {
		return u, nil
	}
	u, err := k.usage(ctx, model, b.denom)
	if err != nil {
		return nil, err
	}
	b.usage[model], b.useOrder, b.revenue[model] = &u, append(b.useOrder, model), sdkmath.ZeroInt()
	return &u, nil
}

func (k *Keeper) settle(ctx context.Context, p types.Params, b *batch, sr types.SignedReceipt) error {
	r := sr.Receipt
	if err := r.Validate(); err != nil {
		return errorsmod.Wrap(types.ErrInvalidReceipt, err.Error())
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if r.ChainId != sdkCtx.ChainID() {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "signed for chain %q, this is %q", r.ChainId, sdkCtx.ChainID())
	}
	d, err := k.deposit(ctx, b, r.DepositId)
	if err != nil {
		return err
	}
	if h := sdkCtx.BlockHeight(); h > d.ExpiresHeight {
		return errorsmod.Wrapf(types.ErrDepositExpired, "deposit %d expired at height %d (now %d): its receipts no longer settle", d.Id, d.ExpiresHeight, h)
	}
	sdkCtx.GasMeter().ConsumeGas(types.ReceiptVerifyGas, "inference receipt signature")
	if !types.VerifyReceipt(d.Spender, r, sr.Signature) {
		return errorsmod.Wrapf(types.ErrBadSignature, "deposit %d's receipts are signed by the key %X", d.Id, d.Spender)
	}
	m, err := k.model(ctx, b, d.ModelId)
	if err != nil {
		return err
	}
	if !m.Servable {
		// Paused or halted by its holders: nothing of it is paid until they resume it.
		return errorsmod.Wrapf(types.ErrNotServable, "model %d is paused or halted by its holders: its receipts settle only while it serves", d.ModelId)
	}
	if len(r.Servers) != m.Stages {
		return errorsmod.Wrapf(types.ErrInvalidReceipt, "%d servers for model %d's %d stages: one operator a stage", len(r.Servers), d.ModelId, m.Stages)
	}
	servers := make([]sdk.AccAddress, len(r.Servers))
	for i, s := range r.Servers {
		if servers[i], err = k.parseAddr(fmt.Sprintf("servers[%d]", i), s); err != nil {
			return err
		}
	}
	key := collections.Join(d.Id, r.RequestId)
	prev, err := k.Settled.Get(ctx, key)
	first := errors.Is(err, collections.ErrNotFound)
	if err != nil && !first {
		return err
	}
	if r.Tokens <= prev {
		return errorsmod.Wrapf(types.ErrAlreadySettled, "request %q of deposit %d has settled %d tokens; this receipt counts %d", r.RequestId, d.Id, prev, r.Tokens)
	}
	price := d.PricePer_1KTokens.Amount
	charge := types.Charge(price, r.Tokens).Sub(types.Charge(price, prev))
	if charge.GT(d.Balance.Amount) {
		return errorsmod.Wrapf(types.ErrOverDeposit, "%d tokens more cost %s%s; deposit %d holds %s", r.Tokens-prev, charge, d.Balance.Denom, d.Id, d.Balance)
	}
	amount := sdk.NewCoin(d.Balance.Denom, charge)

	// The serving workers' part, split evenly among the stages; a server that does not hold its
	// stage now is not paid, and its part goes to the holders.
	perStage := charge.MulRaw(int64(p.ServingBps)).QuoRaw(types.MaxBps).QuoRaw(int64(len(servers)))
	serving := sdkmath.ZeroInt()
	var paidTo []string
	for i, s := range servers {
		ok, err := k.holds(ctx, b, d.ModelId, uint32(i), s)
		if err != nil {
			return err
		}
		if !ok || !perStage.IsPositive() {
			continue
		}
		addr := s.String()
		if _, seen := b.pay[addr]; !seen {
			b.pay[addr], b.payOrder = sdkmath.ZeroInt(), append(b.payOrder, addr)
		}
		b.pay[addr] = b.pay[addr].Add(perStage)
		serving = serving.Add(perStage)
		paidTo = append(paidTo, r.Servers[i])
	}
	revenue := charge.Sub(serving)

	d.Balance = d.Balance.Sub(amount)
	d.Spent = d.Spent.Add(amount)
	if err := k.Settled.Set(ctx, key, r.Tokens); err != nil {
		return err
	}
	u, err := k.usageOf(ctx, b, d.ModelId)
	if err != nil {
		return err
	}
	u.Tokens += r.Tokens - prev
	if first {
		u.Requests++
	}
	u.Paid = u.Paid.Add(amount)
	u.Serving = u.Serving.AddAmount(serving)
	u.Revenue = u.Revenue.AddAmount(revenue)
	b.revenue[d.ModelId] = b.revenue[d.ModelId].Add(revenue)
	b.total = b.total.Add(charge)
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventSettled{
		DepositId: d.Id, ModelId: d.ModelId, RequestId: r.RequestId, Tokens: r.Tokens - prev, Amount: amount,
		Serving: sdk.NewCoin(amount.Denom, serving), Revenue: sdk.NewCoin(amount.Denom, revenue), Servers: paidTo,
	})
}

// flush writes a batch: its deposits and usage, the servers' pay and each model's revenue (what
// the batch's usage records added to it).
func (k *Keeper) flush(ctx context.Context, b *batch) error {
	for _, id := range b.depOrder {
		if err := k.Deposits.Set(ctx, id, *b.deposits[id]); err != nil {
			return err
		}
	}
	for _, addr := range b.payOrder {
		to, err := k.parseAddr("server", addr)
		if err != nil {
			return err
		}
		if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, to, sdk.NewCoins(sdk.NewCoin(b.denom, b.pay[addr]))); err != nil {
			return errorsmod.Wrapf(err, "paying server %s", addr)
		}
	}
	for _, model := range b.useOrder {
		u := b.usage[model]
		if revenue := b.revenue[model]; revenue.IsPositive() {
			if err := k.shares.PayRevenue(ctx, k.moduleAddr, model, sdk.NewCoin(b.denom, revenue), "inference settlement"); err != nil {
				return errorsmod.Wrapf(err, "paying model %d's holders", model)
			}
		}
		if err := k.Usage.Set(ctx, model, *u); err != nil {
			return err
		}
	}
	return nil
}

// usage is model's usage record (zero in denom where it has none).
func (k *Keeper) usage(ctx context.Context, model uint64, denom string) (types.Usage, error) {
	u, err := k.Usage.Get(ctx, model)
	if errors.Is(err, collections.ErrNotFound) {
		zero := sdk.NewCoin(denom, sdkmath.ZeroInt())
		return types.Usage{ModelId: model, Paid: zero, Serving: zero, Revenue: zero}, nil
	}
	return u, err
}

// Withdraw refunds what is left of the customer's expired deposit and forgets it (its requests'
// records are pruned after: a receipt names its deposit, so none can settle again).
func (k *Keeper) Withdraw(ctx context.Context, msg *types.MsgWithdraw) (sdk.Coin, error) {
	customer, err := k.parseAddr("customer", msg.Customer)
	if err != nil {
		return sdk.Coin{}, err
	}
	d, err := k.Deposits.Get(ctx, msg.DepositId)
	if errors.Is(err, collections.ErrNotFound) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrUnknownDeposit, "deposit %d does not exist (or was withdrawn)", msg.DepositId)
	} else if err != nil {
		return sdk.Coin{}, err
	}
	if d.Customer != k.addrString(customer) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrUnknownDeposit, "deposit %d is %s's, not %s's", d.Id, d.Customer, msg.Customer)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h <= d.ExpiresHeight {
		// A model that will never serve again settles nothing more: its deposits come back at once.
		m, err := k.models.InferenceModel(ctx, d.ModelId)
		if err != nil {
			return sdk.Coin{}, err
		}
		if !m.Ended {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrDepositHeld, "deposit %d is held until height %d (now %d): its receipts may still settle", d.Id, d.ExpiresHeight, h)
		}
	}
	if d.Balance.IsPositive() {
		if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, customer, sdk.NewCoins(d.Balance)); err != nil {
			return sdk.Coin{}, err
		}
	}
	if err := k.Deposits.Remove(ctx, d.Id); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.ByCustomer.Remove(ctx, collections.Join(customer, d.Id)); err != nil {
		return sdk.Coin{}, err
	}
	// Its requests' records go in EndBlock, a few hundred a block (Prune): a deposit may have
	// settled more than one transaction could delete. Its id is never reused, so they settle
	// nothing meanwhile.
	if err := k.Prune.Set(ctx, d.Id); err != nil {
		return sdk.Coin{}, err
	}
	return d.Balance, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWithdrawn{DepositId: d.Id, Customer: d.Customer, Refunded: d.Balance})
}

// PruneWithdrawn deletes up to limit settled records of withdrawn deposits (EndBlock).
func (k *Keeper) PruneWithdrawn(ctx context.Context, limit int) error {
	ids, err := k.Prune.Iterate(ctx, nil)
	if err != nil {
		return err
	}
	var queue []uint64
	for ; ids.Valid() && len(queue) < limit; ids.Next() {
		id, err := ids.Key()
		if err != nil {
			ids.Close()
			return err
		}
		queue = append(queue, id)
	}
	ids.Close()
	for _, id := range queue {
		it, err := k.Settled.Iterate(ctx, collections.NewPrefixedPairRange[uint64, string](id))
		if err != nil {
			return err
		}
		var keys []collections.Pair[uint64, string]
		for ; it.Valid() && len(keys) < limit; it.Next() {
			key, err := it.Key()
			if err != nil {
				it.Close()
				return err
			}
			keys = append(keys, key)
		}
		more := it.Valid()
		it.Close()
		for _, key := range keys {
			if err := k.Settled.Remove(ctx, key); err != nil {
				return err
			}
		}
		if more {
			return nil // the limit is reached: the rest next block
		}
		if err := k.Prune.Remove(ctx, id); err != nil { // all of this deposit's records are gone
			return err
		}
		if limit -= len(keys); limit <= 0 {
			return nil
		}
	}
	return nil
}

// RebaseHeights moves deposits' heights by -by, for a chain restarting at height zero: a deposit
// keeps the blocks it had left.
func (k *Keeper) RebaseHeights(ctx context.Context, by int64) error {
	var ds []types.Deposit
	if err := k.Deposits.Walk(ctx, nil, func(_ uint64, d types.Deposit) (bool, error) {
		ds = append(ds, d)
		return false, nil
	}); err != nil {
		return err
	}
	for _, d := range ds {
		d.ExpiresHeight -= by
		d.CreatedHeight -= by
		if err := k.Deposits.Set(ctx, d.Id, d); err != nil {
			return err
		}
	}
	return nil
}
