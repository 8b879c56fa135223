package types

import (
	"fmt"

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
	prices := map[uint64]bool{}
	for i, p := range gs.Prices {
		if prices[p.ModelId] {
			return fmt.Errorf("prices[%d]: model %d listed twice", i, p.ModelId)
		}
		prices[p.ModelId] = true
		if err := p.Per_1KTokens.Validate(); err != nil {
			return fmt.Errorf("prices[%d]: %w", i, err)
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
		case len(d.Spender) != secp256k1.PubKeySize:
			return fmt.Errorf("deposit %d: spender is %d bytes; want a %d-byte secp256k1 key", d.Id, len(d.Spender), secp256k1.PubKeySize)
		}
		for _, c := range []struct {
			name string
			err  error
		}{{"balance", d.Balance.Validate()}, {"spent", d.Spent.Validate()}, {"price", d.PricePer_1KTokens.Validate()}} {
			if c.err != nil {
				return fmt.Errorf("deposit %d: %s: %w", d.Id, c.name, c.err)
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
	}
	return nil
}
