package types

import (
	"context"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// AccountKeeper is what x/verify needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
}

// BankKeeper is what x/verify needs of x/bank: bonds in and out, and burning the slashed rest.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
}

// ComputeKeeper is what x/verify needs of x/compute (through a small adapter in app/).
type ComputeKeeper interface {
	IsActive(ctx context.Context, operator sdk.AccAddress) (bool, error)
	// SlashToVerify slashes fraction of operator's stake at risk into x/verify's module account.
	SlashToVerify(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, reason string) (sdk.Coin, error)
	Jail(ctx context.Context, operator sdk.AccAddress, reason string) error
	// PeerID is the libp2p peer id operator's worker registered; OperatorOfPeer the operator
	// that registered peer id p (ok false: none). Boundary receipts name workers by peer id.
	PeerID(ctx context.Context, operator sdk.AccAddress) (string, error)
	OperatorOfPeer(ctx context.Context, p string) (operator sdk.AccAddress, ok bool, err error)
}

// ModelsKeeper is what x/verify needs of x/models.
type ModelsKeeper interface {
	GetModel(ctx context.Context, id uint64) (modelstypes.Model, error)
	StageOf(ctx context.Context, modelID uint64, operator sdk.AccAddress) (stage uint32, seated bool, err error)
	// StageSeats are the seats of one stage of a model.
	StageSeats(ctx context.Context, modelID uint64, stage uint32) ([]modelstypes.Seat, error)
	// HeldStage is the stage operator has ever held of the model (x/models keeps it for good)
	// and the height of its first seat there.
	HeldStage(ctx context.Context, modelID uint64, operator sdk.AccAddress) (stage uint32, firstHeight int64, ok bool, err error)
	AddWorkUnits(ctx context.Context, modelID, units uint64) error
}

// SharesKeeper is what x/verify needs of x/shares.
type SharesKeeper interface {
	MintForWork(ctx context.Context, modelID uint64, operator sdk.AccAddress, workUnits uint64) (operatorAmount, designerAmount sdk.Coin, err error)
}
