// Package keeper holds the state and state transitions of x/models: model specifications, their
// lifecycle, the stage seats of workers and the replicas' checkpoint commitments.
package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/internal/addresses"
	"github.com/protolearn/protolearn/x/models/types"
)

// Keeper owns the x/models store.
type Keeper struct {
	cdc          codec.BinaryCodec
	storeService store.KVStoreService
	ak           types.AccountKeeper
	ck           types.ComputeKeeper
	logger       log.Logger
	hooks        types.ModelsHooks

	// authority may change params: the gov module account unless wired otherwise.
	authority string

	Schema   collections.Schema
	Params   collections.Item[types.Params]
	Models   collections.Map[uint64, types.Model]
	ModelSeq collections.Sequence
	// Seats is keyed by (model, stage, operator): a stage's roster is one prefix.
	Seats collections.Map[collections.Triple[uint64, uint32, sdk.AccAddress], types.Seat]
	// SeatsByOperator maps (operator, model) to the stage the operator holds: the stage of an
	// operator in a model is one Get, and an operator's seats in every model one prefix. The key
	// itself is the unextractability rule: an operator has one stage per model.
	SeatsByOperator collections.Map[collections.Pair[sdk.AccAddress, uint64], uint32]
	// Checkpoints holds the latest commit of each replica, keyed like Seats.
	Checkpoints collections.Map[collections.Triple[uint64, uint32, sdk.AccAddress], types.Checkpoint]
	// HeldStages records, by (model, operator), the stage the operator has held there, for good:
	// an operator never holds another stage of a model it held one of (the unextractability
	// rule over time: leaving one stage and joining the next would, stage by stage, give one key
	// every stage's weights).
	HeldStages collections.Map[collections.Pair[uint64, sdk.AccAddress], types.HeldStage]
	// FamilyStages is (family, operator) -> the stage the operator has held in any model of the
	// family (a model and its forks start from the same weights): the rule over forks. It is
	// derived from HeldStages and the models' families, and rebuilt from them at genesis.
	FamilyStages collections.Map[collections.Pair[uint64, sdk.AccAddress], uint32]
}

// NewKeeper builds the keeper. authority is the bech32 address allowed to change params.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	ak types.AccountKeeper,
	ck types.ComputeKeeper,
	authority string,
	logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/models: invalid authority address %q: %v", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	seatKey := collections.TripleKeyCodec(collections.Uint64Key, collections.Uint32Key, sdk.AccAddressKey)
	k := &Keeper{
		cdc:          cdc,
		storeService: storeService,
		ak:           ak,
		ck:           ck,
		authority:    authority,
		logger:       logger.With(log.ModuleKey, "x/"+types.ModuleName),
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Models:       collections.NewMap(sb, types.ModelsKey, "models", collections.Uint64Key, codec.CollValue[types.Model](cdc)),
		ModelSeq:     collections.NewSequence(sb, types.ModelSeqKey, "model_seq"),
		Seats:        collections.NewMap(sb, types.SeatsKey, "seats", seatKey, codec.CollValue[types.Seat](cdc)),
		SeatsByOperator: collections.NewMap(sb, types.SeatsByOperatorKey, "seats_by_operator",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), collections.Uint32Value),
		Checkpoints: collections.NewMap(sb, types.CheckpointsKey, "checkpoints", seatKey, codec.CollValue[types.Checkpoint](cdc)),
		HeldStages: collections.NewMap(sb, types.HeldStagesKey, "held_stages",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.HeldStage](cdc)),
		FamilyStages: collections.NewMap(sb, types.FamilyStagesKey, "family_stages",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), collections.Uint32Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/models: building store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// SetHooks installs the hooks other modules use to follow models; it may be called once.
func (k *Keeper) SetHooks(h types.ModelsHooks) {
	if k.hooks != nil {
		panic("x/models: hooks already set")
	}
	k.hooks = h
}

// Authority is the address allowed to change params.
func (k *Keeper) Authority() string { return k.authority }

// Logger is the module's logger.
func (k *Keeper) Logger() log.Logger { return k.logger }

// GetParams returns the current params.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) {
	return k.Params.Get(ctx)
}

// GetModel returns model id, or ErrModelNotFound.
func (k *Keeper) GetModel(ctx context.Context, id uint64) (types.Model, error) {
	m, err := k.Models.Get(ctx, id)
	if isNotFound(err) {
		return m, errorsmod.Wrapf(types.ErrModelNotFound, "no model with id %d", id)
	}
	return m, err
}

// StageOf returns the stage operator holds in model modelID; seated is false when it holds none.
// It does not check that the model exists.
func (k *Keeper) StageOf(ctx context.Context, modelID uint64, operator sdk.AccAddress) (stage uint32, seated bool, err error) {
	stage, err = k.SeatsByOperator.Get(ctx, collections.Join(operator, modelID))
	if isNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return stage, true, nil
}

// HeldStage is the stage operator has held of model modelID, for good, and the height of its
// first seat there (ok false: it never held one). It is about this model only: x/verify asks it
// whether a signer was this model's replica (a fork's replicas are not its parent's).
func (k *Keeper) HeldStage(ctx context.Context, modelID uint64, operator sdk.AccAddress) (stage uint32, firstHeight int64, ok bool, err error) {
	h, err := k.HeldStages.Get(ctx, collections.Join(modelID, operator))
	if isNotFound(err) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	return h.Stage, h.FirstHeight, true, nil
}

// AddWorkUnits credits finalized work to a TRAINING model, or to one paused while training (work
// attested before the pause still finalizes); x/verify calls it when an attestation finalizes.
// The model completes when its work reaches target_work_units (a paused one will resume to
// COMPLETED). It refuses any other model: work that finalizes after completion or a halt is for
// the caller to settle.
func (k *Keeper) AddWorkUnits(ctx context.Context, modelID, units uint64) error {
	m, err := k.GetModel(ctx, modelID)
	if err != nil {
		return err
	}
	if !m.CreditsWork() {
		return errorsmod.Wrapf(types.ErrModelNotTraining, "model %d is %s; work is credited only while it trains", modelID, m.Status)
	}
	if units == 0 {
		return errorsmod.Wrapf(types.ErrInvalidWorkUnits, "model %d: units must be positive", modelID)
	}
	if m.WorkUnits+units < m.WorkUnits {
		return errorsmod.Wrapf(types.ErrInvalidWorkUnits, "model %d: adding %d to %d work units overflows", modelID, units, m.WorkUnits)
	}
	m.WorkUnits += units
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventWorkUnitsAdded{
		ModelId: modelID, Units: units, WorkUnits: m.WorkUnits, TargetWorkUnits: m.TargetWorkUnits,
	}); err != nil {
		return err
	}
	switch {
	case m.WorkUnits < m.TargetWorkUnits:
	case m.Status == types.MODEL_STATUS_PAUSED:
		m.EndedHeight = sdkCtx.BlockHeight()
		m.PausedFrom = types.MODEL_STATUS_COMPLETED
		k.logger.Info("paused model reached its target; it resumes completed", "model_id", modelID, "work_units", m.WorkUnits)
	default:
		m.EndedHeight = sdkCtx.BlockHeight()
		if err := k.setStatus(ctx, &m, types.MODEL_STATUS_COMPLETED); err != nil {
			return err
		}
		k.logger.Info("model completed", "model_id", modelID, "work_units", m.WorkUnits)
	}
	return k.Models.Set(ctx, modelID, m)
}

// setStatus moves m to status to and announces it; the caller stores m.
func (k *Keeper) setStatus(ctx context.Context, m *types.Model, to types.ModelStatus) error {
	return k.setStatusFor(ctx, m, to, "")
}

// setStatusFor is setStatus with the reason the event carries.
func (k *Keeper) setStatusFor(ctx context.Context, m *types.Model, to types.ModelStatus, reason string) error {
	from := m.Status
	m.Status = to
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventModelStatusChanged{
		ModelId: m.Id, From: from, To: to, Reason: reason,
	})
}

// setSeat stores a seat in both of its collections.
func (k *Keeper) setSeat(ctx context.Context, operator sdk.AccAddress, s types.Seat) error {
	if err := k.Seats.Set(ctx, collections.Join3(s.ModelId, s.Stage, operator), s); err != nil {
		return err
	}
	return k.SeatsByOperator.Set(ctx, collections.Join(operator, s.ModelId), s.Stage)
}

// removeSeat deletes a seat and the replica's checkpoint: checkpoints speak for current replicas only.
func (k *Keeper) removeSeat(ctx context.Context, modelID uint64, stage uint32, operator sdk.AccAddress) error {
	key := collections.Join3(modelID, stage, operator)
	if err := k.Seats.Remove(ctx, key); err != nil {
		return err
	}
	if err := k.Checkpoints.Remove(ctx, key); err != nil {
		return err
	}
	return k.SeatsByOperator.Remove(ctx, collections.Join(operator, modelID))
}

// replicas counts the seats of one stage (at most the model's max_replicas_per_stage).
func (k *Keeper) replicas(ctx context.Context, modelID uint64, stage uint32) (uint32, error) {
	var n uint32
	err := k.Seats.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID, stage),
		func(collections.Triple[uint64, uint32, sdk.AccAddress], types.Seat) (bool, error) {
			n++
			return false, nil
		})
	return n, err
}

// StageSeats are the seats of one stage of a model.
func (k *Keeper) StageSeats(ctx context.Context, modelID uint64, stage uint32) ([]types.Seat, error) {
	var out []types.Seat
	err := k.Seats.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID, stage),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (bool, error) {
			out = append(out, s)
			return false, nil
		})
	return out, err
}

// RebaseHeights moves every seat's joining height by -by, for a chain restarting at height zero
// (heights may become negative): x/verify compares them with its rebased heights (a log request's
// witnesses are the replicas seated since it opened). A held stage's first height stays: it is
// compared with attestations' submission heights, which are history.
func (k *Keeper) RebaseHeights(ctx context.Context, by int64) error {
	type seat struct {
		key collections.Triple[uint64, uint32, sdk.AccAddress]
		s   types.Seat
	}
	var seats []seat
	if err := k.Seats.Walk(ctx, nil, func(key collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (bool, error) {
		s.JoinedHeight -= by
		seats = append(seats, seat{key, s})
		return false, nil
	}); err != nil {
		return err
	}
	for _, s := range seats {
		if err := k.Seats.Set(ctx, s.key, s.s); err != nil {
			return err
		}
	}
	return nil
}

// everyStageFilled reports whether every stage of m has at least one replica.
func (k *Keeper) everyStageFilled(ctx context.Context, m types.Model) (bool, error) {
	for s := uint32(0); s < m.NumStages(); s++ {
		n, err := k.replicas(ctx, m.Id, s)
		if err != nil || n == 0 {
			return false, err
		}
	}
	return true, nil
}

// dropSeat removes a seat the chain takes away and says why.
func (k *Keeper) dropSeat(ctx context.Context, s types.Seat, operator sdk.AccAddress, reason string) error {
	if err := k.removeSeat(ctx, s.ModelId, s.Stage, operator); err != nil {
		return err
	}
	k.logger.Info("seat dropped", "model_id", s.ModelId, "stage", s.Stage, "operator", s.Operator, "reason", reason)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSeatDropped{
		ModelId: s.ModelId, Stage: s.Stage, Operator: s.Operator, Reason: reason,
	})
}

// dropOperatorSeats removes every seat of operator, in every model.
func (k *Keeper) dropOperatorSeats(ctx context.Context, operator sdk.AccAddress, reason string) error {
	return k.dropOperatorSeatsIf(ctx, operator, reason, func(types.Seat) (bool, error) { return true, nil })
}

// dropOperatorSeatsIf removes the operator's seats for which drop says so.
func (k *Keeper) dropOperatorSeatsIf(ctx context.Context, operator sdk.AccAddress, reason string, drop func(types.Seat) (bool, error)) error {
	var seats []types.Seat
	err := k.SeatsByOperator.Walk(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](operator),
		func(key collections.Pair[sdk.AccAddress, uint64], stage uint32) (bool, error) {
			s, err := k.Seats.Get(ctx, collections.Join3(key.K2(), stage, operator))
			if err != nil {
				return true, fmt.Errorf("seat index names stage %d of model %d for %s, but the seat is missing: %w", stage, key.K2(), k.addrString(operator), err)
			}
			seats = append(seats, s)
			return false, nil
		})
	if err != nil {
		return err
	}
	for _, s := range seats {
		if ok, err := drop(s); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if err := k.dropSeat(ctx, s, operator, reason); err != nil {
			return err
		}
	}
	return nil
}

// dropModelSeats removes every seat of a model.
func (k *Keeper) dropModelSeats(ctx context.Context, modelID uint64, reason string) error {
	return k.dropModelSeatsIf(ctx, modelID, reason, func(types.Seat, sdk.AccAddress) (bool, error) { return true, nil })
}

// dropModelSeatsIf removes the seats of a model for which drop says so.
func (k *Keeper) dropModelSeatsIf(ctx context.Context, modelID uint64, reason string, drop func(types.Seat, sdk.AccAddress) (bool, error)) error {
	type seat struct {
		s  types.Seat
		op sdk.AccAddress
	}
	var seats []seat
	err := k.Seats.Walk(ctx, collections.NewPrefixedTripleRange[uint64, uint32, sdk.AccAddress](modelID),
		func(key collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (bool, error) {
			seats = append(seats, seat{s, key.K3()})
			return false, nil
		})
	if err != nil {
		return err
	}
	for _, s := range seats {
		if ok, err := drop(s.s, s.op); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if err := k.dropSeat(ctx, s.s, s.op, reason); err != nil {
			return err
		}
	}
	return nil
}

// recordHeld records that operator holds stage of model m, for good, in the model and in its
// family, unless it did before.
func (k *Keeper) recordHeld(ctx context.Context, m types.Model, operator sdk.AccAddress, stage uint32, height int64) error {
	key := collections.Join(m.Id, operator)
	if has, err := k.HeldStages.Has(ctx, key); err != nil || has {
		return err
	}
	if err := k.HeldStages.Set(ctx, key, types.HeldStage{Operator: k.addrString(operator), ModelId: m.Id, Stage: stage, FirstHeight: height}); err != nil {
		return err
	}
	return k.FamilyStages.Set(ctx, collections.Join(m.Family(), operator), stage)
}

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}
