package types

import (
	"context"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// AccountKeeper is what x/shares needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
	GetModuleAccount(ctx context.Context, name string) sdk.ModuleAccountI
}

// BankKeeper is what x/shares needs of x/bank.
type BankKeeper interface {
	MintCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	GetSupply(ctx context.Context, denom string) sdk.Coin
	SetDenomMetaData(ctx context.Context, denomMetaData banktypes.Metadata)
	HasDenomMetaData(ctx context.Context, denom string) bool
	IterateAllBalances(ctx context.Context, cb func(address sdk.AccAddress, coin sdk.Coin) (stop bool))
}

// DistributionKeeper receives the protocol fee and rounding dust into the community pool.
type DistributionKeeper interface {
	FundCommunityPool(ctx context.Context, amount sdk.Coins, sender sdk.AccAddress) error
}

// ModelInfo is what x/shares needs to know of a model.
type ModelInfo struct {
	Name        string
	Designer    sdk.AccAddress
	DesignerBps uint32
	// ParentID is the model this one was forked from (0: none); ParentBps of its revenue after
	// fees goes to the parent's holders.
	ParentID  uint64
	ParentBps uint32
}

// ModelsKeeper tells x/shares about models (x/models, through a small adapter in app/).
type ModelsKeeper interface {
	ModelInfo(ctx context.Context, modelID uint64) (ModelInfo, error)
}

// BalanceHooks learn, in EndBlock, of every (model, holder) whose share/N balance moved in the
// block, once each (x/anchor keeps its share trees up to date with it).
type BalanceHooks interface {
	AfterShareBalanceMoved(ctx context.Context, modelID uint64, holder sdk.AccAddress) error
}

// MoveHooks learn of every holder's share/N balance just before it moves, in the same
// transaction (x/modelgov records the balance a holder votes with).
type MoveHooks interface {
	BeforeShareBalanceChange(ctx context.Context, modelID uint64, holder sdk.AccAddress) error
}
