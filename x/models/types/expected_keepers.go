package types

import (
	"context"

	"cosmossdk.io/core/address"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
)

// AccountKeeper is what x/models needs of x/auth.
type AccountKeeper interface {
	AddressCodec() address.Codec
}

// ComputeKeeper is what x/models needs of x/compute: the stake denom and floor, and each worker's
// status, bonded stake and libp2p identity. (GetWorker gives everything IsActive would, and the
// status and stake that the errors name.)
type ComputeKeeper interface {
	GetParams(ctx context.Context) (computetypes.Params, error)
	GetWorker(ctx context.Context, operator sdk.AccAddress) (computetypes.Worker, error)
}

// ModelsHooks lets other modules react to models (x/shares registers the bank denom metadata of
// share/N when model N is created).
type ModelsHooks interface {
	AfterModelCreated(ctx context.Context, modelID uint64) error
}

// MultiModelsHooks calls several hooks in order, stopping at the first error.
type MultiModelsHooks []ModelsHooks

// AfterModelCreated implements ModelsHooks.
func (h MultiModelsHooks) AfterModelCreated(ctx context.Context, modelID uint64) error {
	for _, hook := range h {
		if err := hook.AfterModelCreated(ctx, modelID); err != nil {
			return err
		}
	}
	return nil
}
