package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults: one display share (10^6 base units) per work unit; 5% protocol fee.
var DefaultSharesPerUnit = sdkmath.NewInt(1_000_000)

const (
	DefaultProtocolFeeBps = 500
	// MaxBps is 100%.
	MaxBps = 10_000
	// MaxReferenceLength bounds MsgPayRevenue's reference.
	MaxReferenceLength = 256
)

// DefaultParams pays revenue in the chain's bond denom.
func DefaultParams() Params {
	return Params{SharesPerUnit: DefaultSharesPerUnit, ProtocolFeeBps: DefaultProtocolFeeBps, RevenueDenom: sdk.DefaultBondDenom}
}

// Validate reports the first field out of range.
func (p Params) Validate() error {
	if p.SharesPerUnit.IsNil() || !p.SharesPerUnit.IsPositive() {
		return fmt.Errorf("shares_per_unit must be positive, got %v", p.SharesPerUnit)
	}
	if p.ProtocolFeeBps > MaxBps {
		return fmt.Errorf("protocol_fee_bps must be at most %d, got %d", MaxBps, p.ProtocolFeeBps)
	}
	if err := sdk.ValidateDenom(p.RevenueDenom); err != nil {
		return fmt.Errorf("revenue_denom: %w", err)
	}
	if _, isShare := ParseShareDenom(p.RevenueDenom); isShare {
		return fmt.Errorf("revenue_denom %q is a share denom", p.RevenueDenom)
	}
	return nil
}
