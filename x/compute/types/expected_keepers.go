package types

import (
	"context"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// AccountKeeper is what x/compute needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(name string) sdk.AccAddress
	GetModuleAccount(ctx context.Context, name string) sdk.ModuleAccountI
}

// BankKeeper is what x/compute needs of x/bank.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
}

// ComputeHooks lets other modules react to workers' changes (x/models drops a jailed worker's seats).
type ComputeHooks interface {
	AfterWorkerStatusChanged(ctx context.Context, operator sdk.AccAddress, from, to WorkerStatus) error
	// AfterBondedDecreased follows unbonding and slashing: a worker may stay active yet fall below
	// a floor of its own (x/models' per-model min_stake).
	AfterBondedDecreased(ctx context.Context, operator sdk.AccAddress, bonded sdk.Coin) error
}

// MultiComputeHooks calls several hooks in order, stopping at the first error.
type MultiComputeHooks []ComputeHooks

// AfterWorkerStatusChanged implements ComputeHooks.
func (h MultiComputeHooks) AfterWorkerStatusChanged(ctx context.Context, operator sdk.AccAddress, from, to WorkerStatus) error {
	for _, hook := range h {
		if err := hook.AfterWorkerStatusChanged(ctx, operator, from, to); err != nil {
			return err
		}
	}
	return nil
}

// AfterBondedDecreased implements ComputeHooks.
func (h MultiComputeHooks) AfterBondedDecreased(ctx context.Context, operator sdk.AccAddress, bonded sdk.Coin) error {
	for _, hook := range h {
		if err := hook.AfterBondedDecreased(ctx, operator, bonded); err != nil {
			return err
		}
	}
	return nil
}
