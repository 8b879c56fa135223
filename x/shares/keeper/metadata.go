package keeper

import (
	"fmt"

	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// banktypesMetadata describes share/N: base unit share/N, display unit SHARE-N = 10^6 base units.
func banktypesMetadata(denom, display string, modelID uint64, modelName string) banktypes.Metadata {
	name := fmt.Sprintf("protolearn model %d shares", modelID)
	if modelName != "" {
		name = fmt.Sprintf("%s shares (model %d)", modelName, modelID)
	}
	return banktypes.Metadata{
		Description: fmt.Sprintf("Ownership shares of protolearn model %d: minted for verified training work, entitled to the model's inference revenue.", modelID),
		DenomUnits: []*banktypes.DenomUnit{
			{Denom: denom, Exponent: 0},
			{Denom: display, Exponent: 6},
		},
		Base:    denom,
		Display: display,
		Name:    name,
		Symbol:  display,
	}
}
