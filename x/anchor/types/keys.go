package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name and store key.
	ModuleName = "anchor"
	// StoreKey is the KV store key of x/anchor.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey      = collections.NewPrefix(0)
	KeysKey        = collections.NewPrefix(1)
	KeyOwnersKey   = collections.NewPrefix(2)
	NodesKey       = collections.NewPrefix(3)
	MetasKey       = collections.NewPrefix(4)
	ModelRootsKey  = collections.NewPrefix(5)
	PendingKey     = collections.NewPrefix(6)
	CheckpointsKey = collections.NewPrefix(7)
	ChainIDKey     = collections.NewPrefix(8)
	OffsetKey      = collections.NewPrefix(9)
)
