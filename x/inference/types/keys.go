package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and module account name. The module account
	// holds the customers' deposits until they are settled or refunded.
	ModuleName = "inference"
	// StoreKey is the KV store key of x/inference.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey     = collections.NewPrefix(0)
	PricesKey     = collections.NewPrefix(1)
	DepositsKey   = collections.NewPrefix(2)
	DepositSeqKey = collections.NewPrefix(3)
	ByCustomerKey = collections.NewPrefix(4)
	SettledKey    = collections.NewPrefix(5)
	UsageKey      = collections.NewPrefix(6)
	PruneKey      = collections.NewPrefix(7)
)
