package app

import (
	"encoding/json"

	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/x/bank"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// GenesisState is the app state in genesis: each module's genesis JSON keyed by module name.
type GenesisState map[string]json.RawMessage

// LearnMetadata is the bank metadata of the staking and fee token: ulearn, displayed as LEARN.
func LearnMetadata() banktypes.Metadata {
	return banktypes.Metadata{
		Description: "The staking and fee token of protolearn.",
		DenomUnits: []*banktypes.DenomUnit{
			{Denom: BondDenom, Exponent: 0, Aliases: []string{"microlearn"}},
			{Denom: DisplayDenom, Exponent: DisplayExponent},
		},
		Base:    BondDenom,
		Display: DisplayDenom,
		Name:    "Learn",
		Symbol:  DisplayDenom,
	}
}

// bankBasic is bank's basic module with the ulearn metadata in its default genesis. `protolearnd
// init` builds genesis from the basic manager, so the metadata has to live here, not in
// App.DefaultGenesis alone.
type bankBasic struct {
	bank.AppModuleBasic
}

// DefaultGenesis returns bank's default genesis plus the ulearn denom metadata.
func (b bankBasic) DefaultGenesis(cdc codec.JSONCodec) json.RawMessage {
	gs := banktypes.DefaultGenesisState()
	gs.DenomMetadata = append(gs.DenomMetadata, LearnMetadata())
	return cdc.MustMarshalJSON(gs)
}
