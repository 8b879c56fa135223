package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name and store key. x/models holds no coins, so it has no
	// module account.
	ModuleName = "models"
	// StoreKey is the KV store key of x/models.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey          = collections.NewPrefix(0)
	ModelsKey          = collections.NewPrefix(1)
	ModelSeqKey        = collections.NewPrefix(2)
	SeatsKey           = collections.NewPrefix(3)
	SeatsByOperatorKey = collections.NewPrefix(4)
	CheckpointsKey     = collections.NewPrefix(5)
	HeldStagesKey      = collections.NewPrefix(6)
	// FamilyStagesKey holds the stage each operator holds in each family (rebuilt from the held
	// stages at genesis).
	FamilyStagesKey = collections.NewPrefix(7)
)
