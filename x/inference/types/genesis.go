package types

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// DefaultGenesis has no prices, deposits or usage.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextDepositId: 1}
}

// Validate reports the first inconsistency.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	denom := gs.Denom()
	sameDenom := func(what string, c sdk.Coin) error {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if c.Denom != denom {
			return fmt.Errorf("%s is in %s; every amount of x/inference is in one denom (%s: x/shares' revenue denom)", what, c.Denom, denom)
		}
		return nil
	}
	prices := map[uint64]bool{}
	for i, p := range gs.Prices {
		if prices[p.ModelId] {
			return fmt.Errorf("prices[%d]: model %d listed twice", i, p.ModelId)
		}
		prices[p.ModelId] = true
		if err := sameDenom(fmt.Sprintf("prices[%d]", i), p.Per_1KTokens); err != nil {
			return err
		}
		if (!p.Per_1KTokens.IsPositive() && !(p.ByHolders && p.Per_1KTokens.IsZero())) || p.Per_1KTokens.Amount.GT(MaxPrice) {
			return fmt.Errorf("prices[%d]: %s; want above 0 (a model off sale has no price, unless its holders voted 0) and at most %s", i, p.Per_1KTokens, MaxPrice)
		}
	}
	if gs.NextDepositId == 0 {
		return fmt.Errorf("next_deposit_id is 0; deposit ids start at 1")
	}
	deposits := map[uint64]bool{}
	for i, d := range gs.Deposits {
		switch {
		case d.Id == 0 || d.Id >= gs.NextDepositId:
			return fmt.Errorf("deposits[%d]: id %d outside [1, next_deposit_id %d)", i, d.Id, gs.NextDepositId)
		case deposits[d.Id]:
			return fmt.Errorf("deposits[%d]: id %d listed twice", i, d.Id)
		case !ValidSpender(d.Spender):
			return fmt.Errorf("deposit %d: spender is not a compressed %d-byte secp256k1 key", d.Id, secp256k1.PubKeySize)
		}
		for name, c := range map[string]sdk.Coin{"balance": d.Balance, "spent": d.Spent, "price": d.PricePer_1KTokens} {
			if err := sameDenom(fmt.Sprintf("deposit %d: %s", d.Id, name), c); err != nil {
				return err
			}
		}
		deposits[d.Id] = true
	}
	type req struct {
		deposit uint64
		id      string
	}
	settled := map[req]bool{}
	for i, s := range gs.Settled {
		k := req{s.DepositId, s.RequestId}
		switch {
		case !deposits[s.DepositId]:
			return fmt.Errorf("settled[%d]: deposit %d is not in the genesis", i, s.DepositId)
		case settled[k]:
			return fmt.Errorf("settled[%d]: request %q of deposit %d listed twice", i, s.RequestId, s.DepositId)
		}
		settled[k] = true
	}
	usage := map[uint64]bool{}
	for i, u := range gs.Usage {
		if usage[u.ModelId] {
			return fmt.Errorf("usage[%d]: model %d listed twice", i, u.ModelId)
		}
		usage[u.ModelId] = true
		for name, c := range map[string]sdk.Coin{"paid": u.Paid, "serving": u.Serving, "revenue": u.Revenue} {
			if err := sameDenom(fmt.Sprintf("usage[%d]: %s", i, name), c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Denom is the denom of the genesis' amounts (its first price's, deposit's or usage's; "" when
// it has none).
func (gs GenesisState) Denom() string {
	switch {
	case len(gs.Prices) > 0:
		return gs.Prices[0].Per_1KTokens.Denom
	case len(gs.Deposits) > 0:
		return gs.Deposits[0].Balance.Denom
	case len(gs.Usage) > 0:
		return gs.Usage[0].Paid.Denom
	}
	return ""
}
