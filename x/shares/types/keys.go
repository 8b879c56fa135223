package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and module account name. The module account
	// mints shares and holds revenue owed to holders.
	ModuleName = "shares"
	// StoreKey is the KV store key of x/shares.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey        = collections.NewPrefix(0)
	RevenuesKey      = collections.NewPrefix(1)
	HoldersKey       = collections.NewPrefix(2)
	HoldersByBalance = collections.NewPrefix(3)
	IndexedBalances  = collections.NewPrefix(4)
	DirtyHoldersKey  = collections.NewPrefix(5)
)
