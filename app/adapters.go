package app

import (
	"context"
	"fmt"

	"cosmossdk.io/core/address"

	modelskeeper "github.com/protolearn/protolearn/x/models/keeper"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// modelsForShares gives x/shares the little it needs of x/models, so that x/shares does not
// import x/models' types.
type modelsForShares struct {
	k     *modelskeeper.Keeper
	codec address.Codec
}

var _ sharestypes.ModelsKeeper = modelsForShares{}

// ModelInfo implements sharestypes.ModelsKeeper.
func (m modelsForShares) ModelInfo(ctx context.Context, id uint64) (sharestypes.ModelInfo, error) {
	model, err := m.k.GetModel(ctx, id)
	if err != nil {
		return sharestypes.ModelInfo{}, err
	}
	designer, err := m.codec.StringToBytes(model.Designer)
	if err != nil {
		return sharestypes.ModelInfo{}, fmt.Errorf("model %d designer %q: %w", id, model.Designer, err)
	}
	return sharestypes.ModelInfo{Name: model.Name, Designer: designer, DesignerBps: model.DesignerBps}, nil
}
