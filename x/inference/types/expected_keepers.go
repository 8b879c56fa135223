package types

import (
	"context"

	"cosmossdk.io/core/address"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// ModelInfo is what x/inference needs of a model (x/models).
type ModelInfo struct {
	Designer sdk.AccAddress
	Stages   int
	// Servable: the model exists and is training or completed (not paused, halted or cancelled).
	Servable bool
	// Ended: the model will never serve again (halted by its holders, or cancelled).
	Ended bool
}

// ModelsKeeper is x/models as x/inference uses it.
type ModelsKeeper interface {
	InferenceModel(ctx context.Context, id uint64) (ModelInfo, error)
	// ServesStage says whether operator holds stage of model now.
	ServesStage(ctx context.Context, model uint64, stage uint32, operator sdk.AccAddress) (bool, error)
}

// SharesKeeper is x/shares as x/inference uses it.
type SharesKeeper interface {
	RevenueDenom(ctx context.Context) (string, error)
	// PayRevenue pays amount from payer into model's revenue (the protocol fee, then holders).
	PayRevenue(ctx context.Context, payer sdk.AccAddress, modelID uint64, amount sdk.Coin, reference string) error
	// HasHolders says whether anybody holds model's shares (revenue has someone to go to).
	HasHolders(ctx context.Context, modelID uint64) bool
}

// BankKeeper moves the deposits.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
}

// AccountKeeper gives the customers' public keys and the module's account.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetAccount(ctx context.Context, addr sdk.AccAddress) sdk.AccountI
	GetModuleAddress(name string) sdk.AccAddress
}
