package app

import (
	"context"
	"fmt"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computekeeper "github.com/protolearn/protolearn/x/compute/keeper"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelskeeper "github.com/protolearn/protolearn/x/models/keeper"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
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
	return sharestypes.ModelInfo{
		Name: model.Name, Designer: designer, DesignerBps: model.DesignerBps, ParentID: model.ParentId, ParentBps: model.ParentBps,
	}, nil
}

// computeForVerify gives x/verify the slashing, jailing and status of x/compute; slashed stake
// goes to x/verify's module account, which pays the challenger and burns the rest.
type computeForVerify struct{ k *computekeeper.Keeper }

var _ verifytypes.ComputeKeeper = computeForVerify{}

// IsActive implements verifytypes.ComputeKeeper.
func (c computeForVerify) IsActive(ctx context.Context, operator sdk.AccAddress) (bool, error) {
	return c.k.IsActive(ctx, operator)
}

// SlashToVerify implements verifytypes.ComputeKeeper.
func (c computeForVerify) SlashToVerify(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, reason string) (sdk.Coin, error) {
	return c.k.Slash(ctx, operator, fraction, reason, computekeeper.SlashToModule(verifytypes.ModuleName))
}

// PeerID implements verifytypes.ComputeKeeper.
func (c computeForVerify) PeerID(ctx context.Context, operator sdk.AccAddress) (string, error) {
	w, err := c.k.GetWorker(ctx, operator)
	return w.PeerId, err
}

// OperatorOfPeer implements verifytypes.ComputeKeeper.
func (c computeForVerify) OperatorOfPeer(ctx context.Context, peerID string) (sdk.AccAddress, bool, error) {
	return c.k.OperatorOfPeer(ctx, peerID)
}

// Jail implements verifytypes.ComputeKeeper.
func (c computeForVerify) Jail(ctx context.Context, operator sdk.AccAddress, reason string) error {
	return c.k.Jail(ctx, operator, reason)
}

// modelsForInference gives x/inference a model's designer, stages and whether it may serve, and
// who holds its stages.
type modelsForInference struct {
	k     *modelskeeper.Keeper
	codec address.Codec
}

var _ inferencetypes.ModelsKeeper = modelsForInference{}

// InferenceModel implements inferencetypes.ModelsKeeper: a model serves while it trains (its
// latest weights) and once it has completed.
func (m modelsForInference) InferenceModel(ctx context.Context, id uint64) (inferencetypes.ModelInfo, error) {
	model, err := m.k.GetModel(ctx, id)
	if err != nil {
		return inferencetypes.ModelInfo{}, err
	}
	designer, err := m.codec.StringToBytes(model.Designer)
	if err != nil {
		return inferencetypes.ModelInfo{}, fmt.Errorf("model %d designer %q: %w", id, model.Designer, err)
	}
	return inferencetypes.ModelInfo{
		Designer: designer, Stages: len(model.Stages), Servable: model.Status.Serves(), Ended: !model.Status.HoldsSeats(),
	}, nil
}

// ServesStage implements inferencetypes.ModelsKeeper.
func (m modelsForInference) ServesStage(ctx context.Context, model uint64, stage uint32, operator sdk.AccAddress) (bool, error) {
	held, seated, err := m.k.StageOf(ctx, model, operator)
	return seated && held == stage, err
}
