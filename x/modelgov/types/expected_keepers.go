package types

import (
	"context"

	"cosmossdk.io/core/address"
	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// ModelsKeeper is x/models as x/modelgov uses it: what a proposal's action does there.
type ModelsKeeper interface {
	GetModel(ctx context.Context, id uint64) (modelstypes.Model, error)
	Pause(ctx context.Context, modelID uint64, reason string) error
	Resume(ctx context.Context, modelID uint64, reason string) error
	Halt(ctx context.Context, modelID uint64, reason string) error
	CheckEconomics(ctx context.Context, modelID uint64, e modelstypes.Economics) (modelstypes.Model, error)
	SetEconomics(ctx context.Context, modelID uint64, e modelstypes.Economics, reason string) error
	ApproveFork(ctx context.Context, parentID, forkID uint64, reason string) error
	CheckForkPolicy(ctx context.Context, modelID uint64, p modelstypes.ForkPolicy) error
	SetForkPolicy(ctx context.Context, modelID uint64, p modelstypes.ForkPolicy, reason string) error
}

// InferenceKeeper is x/inference as x/modelgov uses it: the holders' price.
type InferenceKeeper interface {
	CheckPrice(ctx context.Context, per1k sdk.Coin) error
	SetPriceByHolders(ctx context.Context, modelID uint64, per1k sdk.Coin) error
}

// BankKeeper reads share balances and supplies and moves deposits.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	GetSupply(ctx context.Context, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error
	BurnCoins(ctx context.Context, module string, amt sdk.Coins) error
}

// AccountKeeper gives the address codec and the module's account.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
}
