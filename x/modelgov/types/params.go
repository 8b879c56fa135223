package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults; chain governance may change them.
const (
	// DefaultVotingPeriodBlocks is about a day at 5-second blocks.
	DefaultVotingPeriodBlocks = 17_280
	DefaultQuorumBps          = 3_340
	DefaultThresholdBps       = 5_000
	// DefaultHaltThresholdBps: a halt needs more than two thirds of the votes cast for or against.
	DefaultHaltThresholdBps = 6_667
	// MaxVotingPeriodBlocks bounds the voting period: about 15 years at 5-second blocks.
	MaxVotingPeriodBlocks = 100_000_000
	// MaxBps is 100%.
	MaxBps = 10_000
)

// DefaultDeposit is 10 LEARN.
var DefaultDeposit = sdkmath.NewInt(10_000_000)

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{
		VotingPeriodBlocks: DefaultVotingPeriodBlocks,
		QuorumBps:          DefaultQuorumBps,
		ThresholdBps:       DefaultThresholdBps,
		HaltThresholdBps:   DefaultHaltThresholdBps,
		Deposit:            sdk.NewCoin(sdk.DefaultBondDenom, DefaultDeposit),
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	switch {
	case p.VotingPeriodBlocks < 1 || p.VotingPeriodBlocks > MaxVotingPeriodBlocks:
		return fmt.Errorf("voting_period_blocks is %d; want 1 to %d", p.VotingPeriodBlocks, MaxVotingPeriodBlocks)
	case p.QuorumBps == 0 || p.QuorumBps > MaxBps:
		return fmt.Errorf("quorum_bps is %d; want 1 to %d", p.QuorumBps, MaxBps)
	case p.ThresholdBps >= MaxBps:
		return fmt.Errorf("threshold_bps is %d; want below %d (yes must be above it)", p.ThresholdBps, MaxBps)
	case p.HaltThresholdBps < p.ThresholdBps || p.HaltThresholdBps >= MaxBps:
		return fmt.Errorf("halt_threshold_bps is %d; want threshold_bps (%d) to %d: a halt needs at least what any proposal does", p.HaltThresholdBps, p.ThresholdBps, MaxBps-1)
	}
	if err := p.Deposit.Validate(); err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	return nil
}
