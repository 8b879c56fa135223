package types

import (
	"fmt"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults suit a production network; localnet shortens the durations in its genesis.
const (
	DefaultUnbondingTime       = 72 * time.Hour
	DefaultJailDuration        = time.Hour
	DefaultMaxUnbondingEntries = 7
	DefaultMaxMultiaddrs       = 16
)

// DefaultMinWorkerStake is 100 display units (10^6 base units each) of the chain's bond denom.
var DefaultMinWorkerStake = sdkmath.NewInt(100_000_000)

// DefaultParams returns the default parameters, staking the chain's bond denom.
func DefaultParams() Params {
	return Params{
		MinWorkerStake:      sdk.NewCoin(sdk.DefaultBondDenom, DefaultMinWorkerStake),
		UnbondingTime:       DefaultUnbondingTime,
		JailDuration:        DefaultJailDuration,
		MaxUnbondingEntries: DefaultMaxUnbondingEntries,
		MaxMultiaddrs:       DefaultMaxMultiaddrs,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if err := p.MinWorkerStake.Validate(); err != nil {
		return fmt.Errorf("min_worker_stake: %w", err)
	}
	if !p.MinWorkerStake.IsPositive() {
		return fmt.Errorf("min_worker_stake must be positive, got %s", p.MinWorkerStake)
	}
	if p.UnbondingTime <= 0 {
		return fmt.Errorf("unbonding_time must be positive, got %s", p.UnbondingTime)
	}
	if p.JailDuration < 0 {
		return fmt.Errorf("jail_duration must not be negative, got %s", p.JailDuration)
	}
	if p.MaxUnbondingEntries == 0 {
		return fmt.Errorf("max_unbonding_entries must be at least 1")
	}
	if p.MaxMultiaddrs == 0 {
		return fmt.Errorf("max_multiaddrs must be at least 1")
	}
	return nil
}

// StakeDenom is the denom workers bond.
func (p Params) StakeDenom() string { return p.MinWorkerStake.Denom }
