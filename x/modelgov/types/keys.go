package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and module account name. The module account
	// holds the deposits of proposals in their voting period.
	ModuleName = "modelgov"
	// StoreKey is the KV store key of x/modelgov.
	StoreKey = ModuleName
	// MaxSummaryLength bounds a proposal's summary, in bytes.
	MaxSummaryLength = 1000
)

// Store prefixes; each collection owns one.
var (
	ParamsKey      = collections.NewPrefix(0)
	ProposalsKey   = collections.NewPrefix(1)
	ProposalSeqKey = collections.NewPrefix(2)
	ByModelKey     = collections.NewPrefix(3)
	ActiveKey      = collections.NewPrefix(4)
	EndingKey      = collections.NewPrefix(5)
	VotesKey       = collections.NewPrefix(6)
	SnapshotsKey   = collections.NewPrefix(7)
	// SnapshotsByProposalKey indexes the snapshots by the proposal they were written under.
	SnapshotsByProposalKey = collections.NewPrefix(8)
)
