package types

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// NewDeployment names the contract at addr on the Ethereum chain ethChainID.
func NewDeployment(ethChainID uint64, addr common.Address) Deployment {
	return Deployment{EthereumChainId: ethChainID, ContractAddress: addr.Hex()}
}

// IsZero reports whether d names no contract: checkpoints taken then verify on none.
func (d Deployment) IsZero() bool { return d.EthereumChainId == 0 && d.ContractAddress == "" }

// Validate accepts the zero deployment or one with a chain id and a non-zero address spelled
// as go-ethereum spells it (0x, EIP-55 checksum), so equal deployments compare equal.
func (d Deployment) Validate() error {
	if d.IsZero() {
		return nil
	}
	if d.EthereumChainId == 0 || d.ContractAddress == "" {
		return fmt.Errorf("deployment: set both ethereum_chain_id and contract_address, or neither (got %d and %q)", d.EthereumChainId, d.ContractAddress)
	}
	addr, err := ParseEthAddress(d.ContractAddress)
	if err != nil {
		return fmt.Errorf("deployment: contract_address: %w", err)
	}
	if addr.Hex() != d.ContractAddress {
		return fmt.Errorf("deployment: contract_address must be checksummed: %s", addr.Hex())
	}
	return nil
}

// Contract is d's contract address (the zero address for the zero deployment).
func (d Deployment) Contract() common.Address {
	if d.ContractAddress == "" {
		return common.Address{}
	}
	return common.HexToAddress(d.ContractAddress)
}
