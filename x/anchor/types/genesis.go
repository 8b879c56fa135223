package types

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesis has default params and nothing else.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams()} }

// Validate checks a genesis state without the keepers: params, addresses, unique keys and
// holders, checkpoints strictly ascending and consistent.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	vals, eths := map[string]bool{}, map[string]bool{}
	for i, k := range gs.Keys {
		if _, err := sdk.ValAddressFromBech32(k.ValidatorAddress); err != nil {
			return fmt.Errorf("keys[%d]: validator_address: %w", i, err)
		}
		a, err := ParseEthAddress(k.EthAddress)
		if err != nil {
			return fmt.Errorf("keys[%d]: %w", i, err)
		}
		if vals[k.ValidatorAddress] || eths[a.Hex()] {
			return fmt.Errorf("keys[%d]: validator or Ethereum address listed twice", i)
		}
		vals[k.ValidatorAddress], eths[a.Hex()] = true, true
	}
	for i, k := range gs.RetiredKeys {
		if _, err := sdk.ValAddressFromBech32(k.ValidatorAddress); err != nil {
			return fmt.Errorf("retired_keys[%d]: validator_address: %w", i, err)
		}
		a, err := ParseEthAddress(k.EthAddress)
		if err != nil {
			return fmt.Errorf("retired_keys[%d]: %w", i, err)
		}
		if eths[a.Hex()] {
			return fmt.Errorf("retired_keys[%d]: Ethereum address %s listed twice (a key is one validator's, current or retired)", i, a.Hex())
		}
		eths[a.Hex()] = true
	}
	var last uint64
	for i, c := range gs.Checkpoints {
		if c.Height <= last {
			return fmt.Errorf("checkpoints[%d]: height %d not above %d: checkpoints must be strictly ascending", i, c.Height, last)
		}
		last = c.Height
		if len(c.Hash) != 32 || len(c.ModelsRoot) != 32 {
			return fmt.Errorf("checkpoints[%d]: hash and models_root must be 32 bytes", i)
		}
		if err := CheckSet(c.NextSet, c.NextTotal); err != nil {
			return fmt.Errorf("checkpoints[%d]: next_set: %w", i, err)
		}
		if err := CheckSet(c.SigningSet, c.SigningTotal); err != nil {
			return fmt.Errorf("checkpoints[%d]: signing_set: %w", i, err)
		}
	}
	held := map[string]bool{}
	for i, b := range gs.Balances {
		if _, err := sdk.AccAddressFromBech32(b.Holder); err != nil {
			return fmt.Errorf("balances[%d]: holder: %w", i, err)
		}
		if b.Amount.IsNil() || !b.Amount.IsPositive() {
			return fmt.Errorf("balances[%d]: amount must be positive", i)
		}
		key := fmt.Sprint(b.ModelId, "/", b.Holder)
		if held[key] {
			return fmt.Errorf("balances[%d]: holder %s of model %d listed twice", i, b.Holder, b.ModelId)
		}
		held[key] = true
	}
	for i, p := range gs.Pending {
		if _, err := sdk.AccAddressFromBech32(p.Holder); err != nil {
			return fmt.Errorf("pending[%d]: holder: %w", i, err)
		}
	}
	return nil
}
