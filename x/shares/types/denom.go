package types

import (
	"fmt"
	"strconv"
	"strings"

	sdkmath "cosmossdk.io/math"
)

// SharePrefix starts every share denom: the shares of model N are "share/N".
const SharePrefix = "share/"

// IndexScale scales revenue indexes so that per-holder accrual is exact: an index step is
// floor(amount × IndexScale / supply) and a holder accrues balance × Δindex, with no division.
var IndexScale = sdkmath.NewIntWithDecimal(1, 27)

// ShareDenom is the bank denom of model id's shares.
func ShareDenom(modelID uint64) string { return SharePrefix + strconv.FormatUint(modelID, 10) }

// ParseShareDenom returns the model id of a share denom; ok is false for any other denom.
func ParseShareDenom(denom string) (modelID uint64, ok bool) {
	rest, found := strings.CutPrefix(denom, SharePrefix)
	if !found || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || id == 0 {
		return 0, false
	}
	return id, true
}

// ShareDisplay is the display denom of model id's shares in wallets.
func ShareDisplay(modelID uint64) string { return fmt.Sprintf("SHARE-%d", modelID) }
