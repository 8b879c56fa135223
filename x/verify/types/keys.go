package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and module account name. The module account
	// holds challengers' bonds and, for a moment, slashed stake on its way to the challenger and
	// the burn.
	ModuleName = "verify"
	// StoreKey is the KV store key of x/verify.
	StoreKey = ModuleName
)

// Store prefixes; each collection owns one.
var (
	ParamsKey              = collections.NewPrefix(0)
	AttestationsKey        = collections.NewPrefix(1)
	AttestationSeqKey      = collections.NewPrefix(2)
	AttestationsByModelKey = collections.NewPrefix(3)
	AttestationsByWorker   = collections.NewPrefix(4)
	ToDrawKey              = collections.NewPrefix(5)
	ToFinalizeKey          = collections.NewPrefix(6)
	LastStepsKey           = collections.NewPrefix(7)
	ChallengesKey          = collections.NewPrefix(8)
	ChallengeSeqKey        = collections.NewPrefix(9)
	ChallengesByWorkerKey  = collections.NewPrefix(10)
	OpenByAttestationKey   = collections.NewPrefix(11)
	DeadlinesKey           = collections.NewPrefix(12)
	StageStepsKey          = collections.NewPrefix(13)
	RootsInUseKey          = collections.NewPrefix(14)
	PendingByWorkerKey     = collections.NewPrefix(15)
	InputsUsedKey          = collections.NewPrefix(16)
	OpenByWorkerKey        = collections.NewPrefix(17)
	DisputesKey            = collections.NewPrefix(18)
	DisputeSeqKey          = collections.NewPrefix(19)
	DisputesByAttestation  = collections.NewPrefix(20)
	DisputeDeadlinesKey    = collections.NewPrefix(21)
	DisputesByWorkerKey    = collections.NewPrefix(22)
	LogRequestsKey         = collections.NewPrefix(23)
	LogRequestSeqKey       = collections.NewPrefix(24)
	LogRequestsOpenKey     = collections.NewPrefix(25)
	LogDeadlinesKey        = collections.NewPrefix(26)
	LogRequestedByKey      = collections.NewPrefix(27)
)
