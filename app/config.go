package app

import (
	"os"
	"path/filepath"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/chaincfg"
)

// Chain-wide names: chaincfg holds them, so that clients (the trainer) need not link the app.
const (
	Name            = chaincfg.Name
	BondDenom       = chaincfg.BondDenom
	DisplayDenom    = chaincfg.DisplayDenom
	DisplayExponent = chaincfg.DisplayExponent
	Bech32Prefix    = chaincfg.Bech32Prefix
	CoinType        = chaincfg.CoinType
	DefaultChainID  = chaincfg.DefaultChainID

	Bech32PrefixAccPub   = chaincfg.Bech32PrefixAccPub
	Bech32PrefixValAddr  = chaincfg.Bech32PrefixValAddr
	Bech32PrefixValPub   = chaincfg.Bech32PrefixValPub
	Bech32PrefixConsAddr = chaincfg.Bech32PrefixConsAddr
	Bech32PrefixConsPub  = chaincfg.Bech32PrefixConsPub
)

// DefaultNodeHome is the default home directory of protolearnd (~/.protolearnd).
var DefaultNodeHome string

func init() {
	userHome, err := os.UserHomeDir()
	if err != nil {
		// No home directory (e.g. a bare container): fall back to the working directory.
		userHome = "."
	}
	DefaultNodeHome = filepath.Join(userHome, ".protolearnd")

	SetAddressPrefixes()
	// Module default genesis (staking, mint, gov, compute) reads the bond denom at call time,
	// so setting it here makes every default genesis use ulearn.
	sdk.DefaultBondDenom = BondDenom
}

// SetAddressPrefixes sets the bech32 prefixes and coin type in the global SDK config and seals it
// (chaincfg.SetAddressPrefixes; importing the app package is enough).
func SetAddressPrefixes() { chaincfg.SetAddressPrefixes() }
