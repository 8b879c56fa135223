package types

import (
	"fmt"
	"math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/internal/addresses"
)

// DefaultGenesis has default params and no models.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextModelId: 1}
}

// unbounded lets genesis check a model's structure without today's params: params bound new
// models only, and governance may have lowered a bound since a model was created.
var unbounded = Params{MaxStages: math.MaxUint32, MaxReplicasLimit: math.MaxUint32, MaxNameLength: math.MaxUint32}

type seatKey struct {
	model    uint64
	operator string
}

type stageKey struct {
	model uint64
	stage uint32
}

// Validate checks everything InitGenesis relies on, naming the offending record. Whether seated
// operators are active workers is checked by InitGenesis against x/compute.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	if gs.NextModelId == 0 {
		return fmt.Errorf("next_model_id must be at least 1")
	}
	models := make(map[uint64]Model, len(gs.Models))
	for i, m := range gs.Models {
		if m.Id == 0 || m.Id >= gs.NextModelId {
			return fmt.Errorf("models[%d]: id %d must be in [1, next_model_id=%d)", i, m.Id, gs.NextModelId)
		}
		if _, dup := models[m.Id]; dup {
			return fmt.Errorf("models[%d]: id %d listed twice", i, m.Id)
		}
		if err := m.validate(); err != nil {
			return fmt.Errorf("models[%d] (id %d): %w", i, m.Id, err)
		}
		models[m.Id] = m
	}

	seated := make(map[seatKey]uint32, len(gs.Seats))
	replicas := make(map[stageKey]uint32)
	for i, s := range gs.Seats {
		m, ok := models[s.ModelId]
		if !ok {
			return fmt.Errorf("seats[%d]: model %d does not exist", i, s.ModelId)
		}
		if err := addresses.Canonical(s.Operator); err != nil {
			return fmt.Errorf("seats[%d]: operator: %w", i, err)
		}
		if !m.Status.HoldsSeats() {
			return fmt.Errorf("seats[%d]: model %d is %s and holds no seats", i, s.ModelId, m.Status)
		}
		if s.Stage >= m.NumStages() {
			return fmt.Errorf("seats[%d]: stage %d out of range: model %d has stages 0..%d", i, s.Stage, s.ModelId, m.NumStages()-1)
		}
		k := seatKey{s.ModelId, s.Operator}
		if other, dup := seated[k]; dup {
			return fmt.Errorf("seats[%d]: operator %s holds stages %d and %d of model %d; one operator may hold at most one stage of a model",
				i, s.Operator, other, s.Stage, s.ModelId)
		}
		seated[k] = s.Stage
		sk := stageKey{s.ModelId, s.Stage}
		replicas[sk]++
		if replicas[sk] > m.MaxReplicasPerStage {
			return fmt.Errorf("seats[%d]: stage %d of model %d has more than max_replicas_per_stage=%d replicas",
				i, s.Stage, s.ModelId, m.MaxReplicasPerStage)
		}
	}
	held := make(map[seatKey]uint32, len(gs.HeldStages))
	for i, h := range gs.HeldStages {
		m, ok := models[h.ModelId]
		if !ok {
			return fmt.Errorf("held_stages[%d]: model %d does not exist", i, h.ModelId)
		}
		if err := addresses.Canonical(h.Operator); err != nil {
			return fmt.Errorf("held_stages[%d]: operator: %w", i, err)
		}
		if h.Stage >= m.NumStages() {
			return fmt.Errorf("held_stages[%d]: stage %d out of range: model %d has stages 0..%d", i, h.Stage, h.ModelId, m.NumStages()-1)
		}
		k := seatKey{h.ModelId, h.Operator}
		if other, dup := held[k]; dup {
			return fmt.Errorf("held_stages[%d]: operator %s is recorded on stages %d and %d of model %d; an operator holds one stage of a model, ever",
				i, h.Operator, other, h.Stage, h.ModelId)
		}
		held[k] = h.Stage
	}
	for k, stage := range seated {
		if h, ok := held[k]; ok && h != stage {
			return fmt.Errorf("operator %s holds stage %d of model %d but held stage %d of it before; an operator holds one stage of a model, ever", k.operator, stage, k.model, h)
		}
	}
	// And of a family (a model and its forks), seats and records together.
	familyStage := map[seatKey]uint32{}
	for _, byModel := range []map[seatKey]uint32{held, seated} {
		for k, stage := range byModel {
			fk := seatKey{models[k.model].Family(), k.operator}
			if other, ok := familyStage[fk]; ok && other != stage {
				return fmt.Errorf("operator %s holds or held stages %d and %d of model %d's family; an operator holds one stage of a family, ever", k.operator, other, stage, fk.model)
			}
			familyStage[fk] = stage
		}
	}
	for _, m := range gs.Models {
		if m.FamilyId != 0 && m.FamilyId != m.Id {
			root, ok := models[m.FamilyId]
			if !ok || root.Family() != root.Id {
				return fmt.Errorf("model %d: family_id %d is no family's first model", m.Id, m.FamilyId)
			}
		}
		if m.ParentId != 0 {
			parent, ok := models[m.ParentId]
			if !ok || parent.Family() != m.Family() || m.FamilyId == 0 || m.ParentId >= m.Id {
				return fmt.Errorf("model %d: parent %d is not an older model of its family %d", m.Id, m.ParentId, m.Family())
			}
			if parent.Arch != m.Arch || parent.Seed != m.Seed || len(parent.Stages) != len(m.Stages) {
				return fmt.Errorf("model %d: a fork of model %d has its architecture, seed and stages", m.Id, m.ParentId)
			}
			depth := 0
			for up := m; up.ParentId != 0; up = models[up.ParentId] {
				if depth++; depth > MaxForkDepth {
					return fmt.Errorf("model %d is more than %d forks down from its family's first model", m.Id, MaxForkDepth)
				}
			}
		}
	}
	for _, m := range gs.Models {
		if m.Status != MODEL_STATUS_RECRUITING {
			continue
		}
		filled := true
		for s := uint32(0); s < m.NumStages(); s++ {
			filled = filled && replicas[stageKey{m.Id, s}] > 0
		}
		if filled {
			return fmt.Errorf("model %d is RECRUITING but every stage has a replica; it should be TRAINING", m.Id)
		}
	}

	committed := make(map[seatKey]struct{}, len(gs.Checkpoints))
	for i, c := range gs.Checkpoints {
		stage, ok := seated[seatKey{c.ModelId, c.Operator}]
		if !ok || stage != c.Stage {
			return fmt.Errorf("checkpoints[%d]: operator %s holds no seat in stage %d of model %d", i, c.Operator, c.Stage, c.ModelId)
		}
		if _, dup := committed[seatKey{c.ModelId, c.Operator}]; dup {
			return fmt.Errorf("checkpoints[%d]: operator %s has two checkpoints in model %d", i, c.Operator, c.ModelId)
		}
		committed[seatKey{c.ModelId, c.Operator}] = struct{}{}
		if err := ValidateCommitment("weights_root", c.WeightsRoot); err != nil {
			return fmt.Errorf("checkpoints[%d]: %w", i, err)
		}
		if models[c.ModelId].Status == MODEL_STATUS_RECRUITING {
			return fmt.Errorf("checkpoints[%d]: model %d has not started training", i, c.ModelId)
		}
	}
	return nil
}

// validate checks a stored model: its specification, designer and status.
func (m Model) validate() error {
	if _, err := sdk.AccAddressFromBech32(m.Designer); err != nil {
		return fmt.Errorf("designer: %w", err)
	}
	if err := m.ValidateSpec(unbounded); err != nil {
		return err
	}
	return m.CheckStatus()
}

// CheckStatus reports a status that disagrees with the model's work.
func (m Model) CheckStatus() error {
	if m.Status == MODEL_STATUS_PAUSED {
		if m.PausedFrom != MODEL_STATUS_TRAINING && m.PausedFrom != MODEL_STATUS_COMPLETED {
			return fmt.Errorf("status %s but paused_from is %s; a model is paused from TRAINING or COMPLETED", m.Status, m.PausedFrom)
		}
		m.Status = m.PausedFrom // the work must agree with the status it resumes to
	} else if m.PausedFrom != MODEL_STATUS_UNSPECIFIED {
		return fmt.Errorf("status %s but paused_from is %s; only a paused model has one", m.Status, m.PausedFrom)
	}
	switch m.Status {
	case MODEL_STATUS_RECRUITING, MODEL_STATUS_CANCELLED, MODEL_STATUS_AWAITING_APPROVAL:
		if m.WorkUnits != 0 {
			return fmt.Errorf("status %s but work_units is %d; work is only credited while training", m.Status, m.WorkUnits)
		}
	case MODEL_STATUS_TRAINING:
		if m.WorkUnits >= m.TargetWorkUnits {
			return fmt.Errorf("status %s but work_units %d reached target_work_units %d", m.Status, m.WorkUnits, m.TargetWorkUnits)
		}
	case MODEL_STATUS_COMPLETED:
		if m.WorkUnits < m.TargetWorkUnits {
			return fmt.Errorf("status %s but work_units %d is below target_work_units %d", m.Status, m.WorkUnits, m.TargetWorkUnits)
		}
	case MODEL_STATUS_HALTED: // halted at any point of its training
	default:
		return fmt.Errorf("status %d is not a model status", m.Status)
	}
	return nil
}
