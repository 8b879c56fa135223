// Package chaincfg holds what the chain and its clients share: the chain-wide names (denoms,
// address prefixes, the local chain id) and a codec with only the types a client signs and reads.
// It is a leaf: the chain application (app/) builds on it, and the trainer uses it without linking
// the application or any keeper (a depguard rule in .golangci.yml keeps it so).
package chaincfg

import (
	"sync"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Chain-wide names (docs/ARCHITECTURE.md, "Names that every part shares").
const (
	// Name is the application name reported by the ABCI Info call.
	Name = "protolearn"
	// BondDenom is the base denomination of the staking and fee token.
	BondDenom = "ulearn"
	// DisplayDenom is the human-facing denomination: 1 LEARN = 10^DisplayExponent ulearn.
	DisplayDenom = "LEARN"
	// DisplayExponent is the power of ten between BondDenom and DisplayDenom.
	DisplayExponent = 6
	// Bech32Prefix is the human-readable part of account addresses (learn1…).
	Bech32Prefix = "learn"
	// CoinType is the BIP-44 coin type of account keys (the Cosmos Hub's, so wallets derive
	// the same keys).
	CoinType = 118
	// DefaultChainID is the chain id of local networks.
	DefaultChainID = "protolearn-local-1"
)

// Bech32 prefixes derived from Bech32Prefix, following the SDK convention.
const (
	Bech32PrefixAccPub   = Bech32Prefix + "pub"
	Bech32PrefixValAddr  = Bech32Prefix + "valoper"
	Bech32PrefixValPub   = Bech32Prefix + "valoperpub"
	Bech32PrefixConsAddr = Bech32Prefix + "valcons"
	Bech32PrefixConsPub  = Bech32Prefix + "valconspub"
)

func init() { SetAddressPrefixes() }

var setPrefixesOnce sync.Once

// SetAddressPrefixes sets the bech32 prefixes and coin type in the global SDK config and seals it.
// It runs from this package's init, so importing the package is enough; calling it again is a
// no-op.
func SetAddressPrefixes() {
	setPrefixesOnce.Do(func() {
		cfg := sdk.GetConfig()
		cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32PrefixAccPub)
		cfg.SetBech32PrefixForValidator(Bech32PrefixValAddr, Bech32PrefixValPub)
		cfg.SetBech32PrefixForConsensusNode(Bech32PrefixConsAddr, Bech32PrefixConsPub)
		cfg.SetCoinType(CoinType)
		cfg.SetPurpose(44)
		cfg.Seal()
	})
}
