package types

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/commit"
)

const (
	// CommitmentLen is the length of a dataset commitment and of a weights root.
	CommitmentLen = 32
	// MaxBps is 100% in basis points.
	MaxBps = 10_000
	// MaxMicrobatchesPerStep bounds Model.microbatches_per_step: a step's attestation carries
	// one receipt per microbatch, each an Ed25519 verification (x/verify ReceiptVerifyGas), so
	// an attestation period of 8 steps checks at most 256 of them.
	MaxMicrobatchesPerStep = 32
)

// ValidateSpec checks the fields a designer chooses against params, naming the first bad field.
// min_stake is only checked to be a positive coin here: its denom and floor come from x/compute,
// which the keeper checks.
func (m Model) ValidateSpec(p Params) error {
	if err := ValidateName(m.Name, p.MaxNameLength); err != nil {
		return err
	}
	if err := m.Arch.Validate(); err != nil {
		return err
	}
	if err := ValidateStages(m.Stages, m.Arch.NLayers, p.MaxStages); err != nil {
		return err
	}
	if err := ValidateCommitment("dataset_commitment", m.DatasetCommitment); err != nil {
		return err
	}
	if err := m.validateSubspaceRoot(); err != nil {
		return err
	}
	if m.DesignerBps > MaxBps {
		return errorsmod.Wrapf(ErrInvalidDesignerBps, "designer_bps is %d; at most %d (100%%) allowed", m.DesignerBps, MaxBps)
	}
	if err := m.MinStake.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidMinStake, "min_stake: %v", err)
	}
	if !m.MinStake.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidMinStake, "min_stake must be positive, got %s", m.MinStake)
	}
	if m.MaxReplicasPerStage == 0 || m.MaxReplicasPerStage > p.MaxReplicasLimit {
		return errorsmod.Wrapf(ErrInvalidReplicas, "max_replicas_per_stage is %d; must be in [1, %d] (param max_replicas_limit)",
			m.MaxReplicasPerStage, p.MaxReplicasLimit)
	}
	if m.TargetWorkUnits == 0 {
		return errorsmod.Wrap(ErrInvalidTargetWork, "target_work_units must be at least 1")
	}
	if m.MicrobatchesPerStep > MaxMicrobatchesPerStep {
		return errorsmod.Wrapf(ErrInvalidMicrobatches, "microbatches_per_step is %d; must be in [1, %d] (0 means 1)", m.MicrobatchesPerStep, MaxMicrobatchesPerStep)
	}
	if err := m.validateFork(); err != nil {
		return err
	}
	return m.Optim().Validate()
}

// validateFork checks a model's fork fields: a fork's royalty and roots (one a stage), none
// without a parent, and its own fork policy.
func (m Model) validateFork() error {
	if m.ForkPolicy.MinParentBps > MaxBps {
		return errorsmod.Wrapf(ErrInvalidFork, "fork_policy.min_parent_bps is %d; at most %d", m.ForkPolicy.MinParentBps, MaxBps)
	}
	if m.ParentId == 0 {
		if m.ParentBps != 0 || len(m.ForkRoots) != 0 {
			return errorsmod.Wrap(ErrInvalidFork, "parent_bps and fork_roots are a fork's: the model has no parent_id")
		}
		return nil
	}
	if m.ParentBps > MaxBps {
		return errorsmod.Wrapf(ErrInvalidFork, "parent_bps is %d; at most %d", m.ParentBps, MaxBps)
	}
	if len(m.ForkRoots) != len(m.Stages) {
		return errorsmod.Wrapf(ErrInvalidFork, "%d fork roots for %d stages", len(m.ForkRoots), len(m.Stages))
	}
	for i, r := range m.ForkRoots {
		if err := ValidateCommitment(fmt.Sprintf("fork_roots[%d]", i), r); err != nil {
			return err
		}
	}
	return nil
}

// Microbatches is the number of microbatches in one of the model's steps: microbatches_per_step,
// where 0 (a model from before the field) means 1.
func (m Model) Microbatches() uint32 { return max(m.MicrobatchesPerStep, 1) }

// ValidateName checks a model name: not empty, at most maxLen bytes of UTF-8, no control
// characters, no surrounding spaces.
func ValidateName(name string, maxLen uint32) error {
	switch {
	case name == "":
		return errorsmod.Wrap(ErrInvalidName, "name is empty")
	case uint64(len(name)) > uint64(maxLen):
		return errorsmod.Wrapf(ErrInvalidName, "name is %d bytes long; at most %d allowed (param max_name_length)", len(name), maxLen)
	case !utf8.ValidString(name):
		return errorsmod.Wrap(ErrInvalidName, "name is not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return errorsmod.Wrapf(ErrInvalidName, "name %q starts or ends with white space", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errorsmod.Wrapf(ErrInvalidName, "name %q contains a control character", name)
	}
	return nil
}

// Validate checks the architecture, naming the bad field.
func (a Architecture) Validate() error {
	for _, f := range []struct {
		name string
		v    uint32
	}{{"vocab", a.Vocab}, {"d_model", a.DModel}, {"n_layers", a.NLayers}, {"n_heads", a.NHeads}, {"seq_len", a.SeqLen}} {
		if f.v == 0 {
			return errorsmod.Wrapf(ErrInvalidArchitecture, "arch.%s must be positive", f.name)
		}
	}
	if a.DModel%a.NHeads != 0 {
		return errorsmod.Wrapf(ErrInvalidArchitecture, "arch.d_model (%d) must be divisible by arch.n_heads (%d)", a.DModel, a.NHeads)
	}
	if hd := a.DModel / a.NHeads; hd%2 != 0 {
		return errorsmod.Wrapf(ErrInvalidArchitecture, "arch.d_model/arch.n_heads = %d is odd; RoPE rotates pairs of dimensions, so the head width must be even", hd)
	}
	if a.CompressionRank == 0 || a.CompressionRank > a.DModel {
		return errorsmod.Wrapf(ErrInvalidArchitecture, "arch.compression_rank is %d; must be in [1, arch.d_model=%d]", a.CompressionRank, a.DModel)
	}
	return nil
}

// ValidateStages checks the stage layout: 1 to maxStages stages of at least one layer each,
// adding up to nLayers.
func ValidateStages(stages []StageSpec, nLayers, maxStages uint32) error {
	if len(stages) == 0 {
		return errorsmod.Wrap(ErrInvalidStages, "stages is empty: give the layers of each stage, stage 0 first")
	}
	if uint64(len(stages)) > uint64(maxStages) {
		return errorsmod.Wrapf(ErrInvalidStages, "%d stages given; at most %d allowed (param max_stages)", len(stages), maxStages)
	}
	var sum uint64
	for i, s := range stages {
		if s.Layers == 0 {
			return errorsmod.Wrapf(ErrInvalidStages, "stages[%d].layers must be at least 1", i)
		}
		sum += uint64(s.Layers)
	}
	if sum != uint64(nLayers) {
		return errorsmod.Wrapf(ErrInvalidStages, "stages add up to %d layers but arch.n_layers is %d", sum, nLayers)
	}
	return nil
}

// Compressed reports whether the stages exchange subspace coordinates (compression_rank below
// d_model) rather than raw activations.
func (a Architecture) Compressed() bool { return a.CompressionRank < a.DModel }

// validateSubspaceRoot: a compressed model names the root of its compression tables, which the
// input tile opens, so it must be a canonical field element (a proof could never verify against
// another); a raw model has no tables and names none.
func (m Model) validateSubspaceRoot() error {
	if !m.Arch.Compressed() {
		if len(m.SubspaceRoot) != 0 {
			return errorsmod.Wrapf(ErrInvalidCommitment, "subspace_root is set, but arch.compression_rank = arch.d_model = %d: an uncompressed model has no compression tables; leave it empty", m.Arch.DModel)
		}
		return nil
	}
	if len(m.SubspaceRoot) == 0 {
		return errorsmod.Wrap(ErrInvalidCommitment, "subspace_root is required for a compressed model: compute it with `trainer subspace-root` from the arch and seed")
	}
	if err := ValidateCommitment("subspace_root", m.SubspaceRoot); err != nil {
		return err
	}
	if _, err := commit.ParseRoot(m.SubspaceRoot); err != nil {
		return errorsmod.Wrapf(ErrInvalidCommitment, "subspace_root: %v", err)
	}
	return nil
}

// ValidateCommitment checks that a hash field is exactly CommitmentLen bytes.
func ValidateCommitment(field string, b []byte) error {
	if len(b) != CommitmentLen {
		return errorsmod.Wrapf(ErrInvalidCommitment, "%s is %d bytes; want exactly %d (hex or base64 on the command line)", field, len(b), CommitmentLen)
	}
	return nil
}

// Live reports whether the model takes replicas (RECRUITING or TRAINING).
func (s ModelStatus) Live() bool {
	return s == MODEL_STATUS_RECRUITING || s == MODEL_STATUS_TRAINING
}

// CreditsWork reports whether finalized work is still credited to m: while it trains, and while
// it is paused from training (work attested before the pause is paid when it finalizes).
func (m Model) CreditsWork() bool {
	return m.Status == MODEL_STATUS_TRAINING || (m.Status == MODEL_STATUS_PAUSED && m.PausedFrom == MODEL_STATUS_TRAINING)
}

// Serves reports whether m's inference may be bought and settled: while it trains (its latest
// weights) and once it has completed; not while paused, never once halted or cancelled.
func (s ModelStatus) Serves() bool {
	return s == MODEL_STATUS_TRAINING || s == MODEL_STATUS_COMPLETED
}

// HoldsSeats reports whether a model of status s may have seats: not once cancelled or halted
// (both release every seat).
func (s ModelStatus) HoldsSeats() bool {
	return s != MODEL_STATUS_CANCELLED && s != MODEL_STATUS_HALTED
}

// MaxForkDepth bounds a family's generations below its first model: royalties pass up the line
// (x/shares), so the line is short.
const MaxForkDepth = 8

// Economics are the parameters of a model its holders may change after creation (x/modelgov).
type Economics struct {
	// DesignerBps applies to work that finalizes after the change.
	DesignerBps         uint32
	MaxReplicasPerStage uint32
	MinStake            sdk.Coin
}

// Family is the first model of m's line: m's family_id, or m itself (a model that is no fork, or
// a record from before forks).
func (m Model) Family() uint64 {
	if m.FamilyId == 0 {
		return m.Id
	}
	return m.FamilyId
}

// NumStages is the number of pipeline stages.
func (m Model) NumStages() uint32 { return uint32(len(m.Stages)) }
