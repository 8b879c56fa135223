package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and module account name.
	ModuleName = "compute"
	// StoreKey is the KV store key of x/compute.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey           = collections.NewPrefix(0)
	WorkersKey          = collections.NewPrefix(1)
	WorkersByPeerIDKey  = collections.NewPrefix(2)
	UnbondingEntriesKey = collections.NewPrefix(3)
	UnbondingQueueKey   = collections.NewPrefix(4)
	UnbondingSeqKey     = collections.NewPrefix(5)
	RetiredPeersKey     = collections.NewPrefix(6)
)
