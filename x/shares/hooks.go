package shares

import (
	"context"

	"github.com/protolearn/protolearn/x/shares/keeper"
)

// ModelHooks registers the bank metadata of share/N as soon as x/models creates model N, so
// wallets can name the shares before the first are minted.
type ModelHooks struct{ k *keeper.Keeper }

// NewModelHooks returns the hooks for x/models' SetHooks.
func NewModelHooks(k *keeper.Keeper) ModelHooks { return ModelHooks{k: k} }

// AfterModelCreated implements x/models' ModelsHooks.
func (h ModelHooks) AfterModelCreated(ctx context.Context, modelID uint64) error {
	return h.k.RegisterShareDenom(ctx, modelID)
}
