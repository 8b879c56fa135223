package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/models/types"
)

type modelOperator struct {
	model    uint64
	operator string
}

// CheckInvariants verifies what every state transition must preserve: no operator holds two
// stages of one model, no stage has more replicas than its model allows, every seated operator is
// an active worker in x/compute, each model's status agrees with its seats and work, the
// operator index matches the seats, and checkpoints belong to current replicas. Tests and
// simulations call it after every step; it walks the whole state, so it is not for block hooks.
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	next, err := k.ModelSeq.Peek(ctx)
	if err != nil {
		return err
	}
	models := map[uint64]types.Model{}
	err = k.Models.Walk(ctx, nil, func(id uint64, m types.Model) (bool, error) {
		if id == 0 || id >= next || m.Id != id {
			return true, fmt.Errorf("model stored under id %d says id %d; ids must be in [1, next id %d)", id, m.Id, next)
		}
		if err := m.CheckStatus(); err != nil {
			return true, fmt.Errorf("model %d: %w", id, err)
		}
		models[id] = m
		return false, nil
	})
	if err != nil {
		return err
	}

	seats := map[modelOperator]uint32{}        // (model, operator) -> stage
	replicas := map[uint64]map[uint32]uint32{} // model -> stage -> replicas
	err = k.Seats.Walk(ctx, nil, func(key collections.Triple[uint64, uint32, sdk.AccAddress], s types.Seat) (bool, error) {
		modelID, stage, op := key.K1(), key.K2(), key.K3()
		where := fmt.Sprintf("seat of %s in stage %d of model %d", k.addrString(op), stage, modelID)
		if s.ModelId != modelID || s.Stage != stage || s.Operator != k.addrString(op) {
			return true, fmt.Errorf("%s: record says %s in stage %d of model %d", where, s.Operator, s.Stage, s.ModelId)
		}
		m, ok := models[modelID]
		if !ok {
			return true, fmt.Errorf("%s: no such model", where)
		}
		if !m.Status.HoldsSeats() {
			return true, fmt.Errorf("%s: the model is %s", where, m.Status)
		}
		if stage >= m.NumStages() {
			return true, fmt.Errorf("%s: the model has %d stages", where, m.NumStages())
		}
		mo := modelOperator{modelID, s.Operator}
		if other, dup := seats[mo]; dup {
			return true, fmt.Errorf("%s: the operator also holds stage %d", where, other)
		}
		seats[mo] = stage
		if replicas[modelID] == nil {
			replicas[modelID] = map[uint32]uint32{}
		}
		replicas[modelID][stage]++
		if n := replicas[modelID][stage]; n > m.MaxReplicasPerStage {
			return true, fmt.Errorf("%s: stage has %d replicas, max_replicas_per_stage is %d", where, n, m.MaxReplicasPerStage)
		}
		if indexed, err := k.SeatsByOperator.Get(ctx, collections.Join(op, modelID)); err != nil || indexed != stage {
			return true, fmt.Errorf("%s: operator index says stage %d (%v)", where, indexed, err)
		}
		w, err := k.ck.GetWorker(ctx, op)
		if err != nil {
			return true, fmt.Errorf("%s: %w", where, err)
		}
		if w.Status != computetypes.WORKER_STATUS_ACTIVE {
			return true, fmt.Errorf("%s: worker is %s", where, w.Status)
		}
		if h, err := k.HeldStages.Get(ctx, collections.Join(modelID, op)); err != nil || h.Stage != stage {
			return true, fmt.Errorf("%s: the record of stages held says stage %d (%v): an operator holds only the stage it first held", where, h.Stage, err)
		}
		return false, nil
	})
	if err != nil {
		return err
	}

	indexed := 0
	if err := k.SeatsByOperator.Walk(ctx, nil, func(collections.Pair[sdk.AccAddress, uint64], uint32) (bool, error) {
		indexed++
		return false, nil
	}); err != nil {
		return err
	}
	if indexed != len(seats) {
		return fmt.Errorf("operator index has %d entries for %d seats", indexed, len(seats))
	}
	families := map[modelOperator]bool{}
	if err := k.HeldStages.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], h types.HeldStage) (bool, error) {
		m, ok := models[key.K1()]
		if !ok || h.ModelId != key.K1() || h.Operator != k.addrString(key.K2()) || h.Stage >= m.NumStages() {
			return true, fmt.Errorf("record of %s holding stage %d of model %d: stored under model %d and %s, or no such stage", h.Operator, h.Stage, h.ModelId, key.K1(), k.addrString(key.K2()))
		}
		families[modelOperator{m.Family(), h.Operator}] = true
		if fs, err := k.FamilyStages.Get(ctx, collections.Join(m.Family(), key.K2())); err != nil || fs != h.Stage {
			return true, fmt.Errorf("%s held stage %d of model %d, but its family %d's record says stage %d (%v)", h.Operator, h.Stage, m.Id, m.Family(), fs, err)
		}
		return false, nil
	}); err != nil {
		return err
	}
	n := 0
	if err := k.FamilyStages.Walk(ctx, nil, func(collections.Pair[uint64, sdk.AccAddress], uint32) (bool, error) {
		n++
		return false, nil
	}); err != nil {
		return err
	}
	if n != len(families) {
		return fmt.Errorf("%d family records for %d (family, operator) pairs held", n, len(families))
	}

	for id, m := range models {
		if m.Status != types.MODEL_STATUS_RECRUITING {
			continue
		}
		filled := true
		for s := uint32(0); s < m.NumStages(); s++ {
			filled = filled && replicas[id][s] > 0
		}
		if filled {
			return fmt.Errorf("model %d is RECRUITING but every stage has a replica", id)
		}
	}

	return k.Checkpoints.Walk(ctx, nil, func(key collections.Triple[uint64, uint32, sdk.AccAddress], c types.Checkpoint) (bool, error) {
		where := fmt.Sprintf("checkpoint of %s in stage %d of model %d", c.Operator, key.K2(), key.K1())
		if stage, ok := seats[modelOperator{key.K1(), k.addrString(key.K3())}]; !ok || stage != key.K2() {
			return true, fmt.Errorf("%s: the operator holds no seat there", where)
		}
		if c.ModelId != key.K1() || c.Stage != key.K2() || c.Operator != k.addrString(key.K3()) {
			return true, fmt.Errorf("%s: record disagrees with its key", where)
		}
		if err := types.ValidateCommitment("weights_root", c.WeightsRoot); err != nil {
			return true, fmt.Errorf("%s: %w", where, err)
		}
		if m := models[key.K1()]; m.Status == types.MODEL_STATUS_RECRUITING {
			return true, fmt.Errorf("%s: the model has not started training", where)
		}
		return false, nil
	})
}
