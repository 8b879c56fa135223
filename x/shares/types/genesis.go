package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesis has default params and no revenue yet.
func DefaultGenesis() *GenesisState { return &GenesisState{Params: DefaultParams()} }

// Validate checks what InitGenesis relies on, naming the offending record.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	revenues := make(map[uint64]ModelRevenue, len(gs.Revenues))
	for i, r := range gs.Revenues {
		if r.ModelId == 0 {
			return fmt.Errorf("revenues[%d]: model_id must be positive", i)
		}
		if _, dup := revenues[r.ModelId]; dup {
			return fmt.Errorf("revenues[%d]: model %d listed twice", i, r.ModelId)
		}
		if r.Royalties.IsNil() {
			r.Royalties = sdkmath.ZeroInt() // a record from before forks
		}
		for name, v := range map[string]sdkmath.Int{"index": r.Index, "paid": r.Paid, "fees": r.Fees, "claimed": r.Claimed, "dust_scaled": r.DustScaled, "dust_swept": r.DustSwept, "royalties": r.Royalties} {
			if v.IsNil() || v.IsNegative() {
				return fmt.Errorf("revenues[%d] (model %d): %s must be a non-negative integer", i, r.ModelId, name)
			}
		}
		if r.Fees.Add(r.Royalties).Add(r.Claimed).Add(r.DustSwept).GT(r.Paid) {
			return fmt.Errorf("revenues[%d] (model %d): fees + royalties + claimed + dust_swept exceed paid", i, r.ModelId)
		}
		revenues[r.ModelId] = r
	}
	seen := make(map[string]struct{}, len(gs.Holders))
	for i, h := range gs.Holders {
		if _, err := sdk.AccAddressFromBech32(h.Holder); err != nil {
			return fmt.Errorf("holders[%d]: %w", i, err)
		}
		r, ok := revenues[h.ModelId]
		if !ok {
			return fmt.Errorf("holders[%d]: model %d has no revenue record", i, h.ModelId)
		}
		key := fmt.Sprintf("%d/%s", h.ModelId, h.Holder)
		if _, dup := seen[key]; dup {
			return fmt.Errorf("holders[%d]: %s listed twice for model %d", i, h.Holder, h.ModelId)
		}
		seen[key] = struct{}{}
		if h.Index.IsNil() || h.Index.IsNegative() || h.Index.GT(r.Index) {
			return fmt.Errorf("holders[%d] (%s, model %d): index must be in [0, model index %s]", i, h.Holder, h.ModelId, r.Index)
		}
		if h.AccruedScaled.IsNil() || h.AccruedScaled.IsNegative() {
			return fmt.Errorf("holders[%d] (%s, model %d): accrued_scaled must be non-negative", i, h.Holder, h.ModelId)
		}
	}
	return nil
}
