package types

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/internal/addresses"
)

// checkSignatures checks a stored checkpoint against itself: its hash is the checkpoint's
// (when the chain id it carries is known), each signature is a distinct member of the signing
// set over that hash, and signed_power is their power.
func (c Checkpoint) checkSignatures(chainID string) error {
	if err := c.Deployment.Validate(); err != nil {
		return err
	}
	if chainID != "" {
		if err := c.CheckHash(chainID); err != nil {
			return err
		}
	}
	seen := map[common.Address]bool{}
	var power uint64
	for j, s := range c.Signatures {
		addr, err := Recover(merkle.Hash(c.Hash), s.Signature)
		if err != nil {
			return fmt.Errorf("signatures[%d]: %w", j, err)
		}
		i := SignerIndex(c.SigningSet, addr)
		if i < 0 || addr != common.HexToAddress(s.EthAddress) || seen[addr] {
			return fmt.Errorf("signatures[%d]: %s is not a signer of its signing set that signed it once", j, addr)
		}
		seen[addr] = true
		power += c.SigningSet[i].Power
	}
	if power != c.SignedPower {
		return fmt.Errorf("signed_power %d, but its signatures hold %d", c.SignedPower, power)
	}
	return nil
}

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
		if err := addresses.CanonicalValidator(k.ValidatorAddress); err != nil {
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
		if err := addresses.CanonicalValidator(k.ValidatorAddress); err != nil {
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
		if i > 0 {
			prev := gs.Checkpoints[i-1]
			ph, _ := SetHash(prev.NextSet, prev.NextTotal)
			sh, _ := SetHash(c.SigningSet, c.SigningTotal)
			if ph != sh {
				return fmt.Errorf("checkpoints[%d]: its signing set is not checkpoint %d's next set: a checkpoint is signed by the set the one before handed over to", i, prev.Height)
			}
		}
		if err := c.checkSignatures(gs.AnchorChainId); err != nil {
			return fmt.Errorf("checkpoints[%d] (height %d): %w", i, c.Height, err)
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
