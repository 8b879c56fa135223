package types

import "fmt"

// Defaults: a checkpoint every 100 blocks (about 10 minutes at 6 s blocks) when anything
// changed; the latest 20 kept, which the relayer and late signers have to catch up from.
const (
	DefaultAnchorInterval  = 100
	DefaultCheckpointsKept = 20
	// MaxCheckpointsKept bounds the checkpoints a validator's ExtendVote scans.
	MaxCheckpointsKept = 1000
)

// DefaultParams are the parameters of a new chain.
func DefaultParams() Params {
	return Params{AnchorInterval: DefaultAnchorInterval, CheckpointsKept: DefaultCheckpointsKept}
}

// Validate reports the first field out of range.
func (p Params) Validate() error {
	if p.CheckpointsKept == 0 || p.CheckpointsKept > MaxCheckpointsKept {
		return fmt.Errorf("checkpoints_kept must be in [1, %d], got %d", MaxCheckpointsKept, p.CheckpointsKept)
	}
	return p.Deployment.Validate()
}
