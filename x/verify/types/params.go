package types

import (
	"fmt"
	"sort"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/tile"
)

// Defaults for a localnet with ~1 s blocks. A spot check every 10th attestation, a window of
// 30 blocks to challenge and 20 to answer (a proof of a standard tile takes seconds).
var (
	DefaultChallengeRate = sdkmath.LegacyNewDecWithPrec(1, 1)
	DefaultSlashFraction = sdkmath.LegacyNewDecWithPrec(1, 1)
)

const (
	DefaultAttestationPeriod   = 8
	DefaultChallengeWindow     = 30
	DefaultResponseWindow      = 20
	DefaultChallengerRewardBps = 5_000
	// DefaultMaxProofBytes leaves room above tile.ProofSize (196) for another proof system.
	DefaultMaxProofBytes = 1024
	// DefaultProofVerifyGas prices a ~2 ms verification (two pairing checks plus parsing) like
	// ~2 ms of other state machine work.
	DefaultProofVerifyGas = 300_000
	// MaxBps is 100%.
	MaxBps = 10_000
	// MaxAttestationPeriod bounds how many per-step commitments one attestation carries.
	MaxAttestationPeriod = 1024

	// The model clock (keeper/clock.go). The fastest pipeline measured here (docs/BENCHMARKS.md:
	// the small model, 4 stages on one 2-core machine, no network) steps about 4 times a second;
	// a model worth training over the internet steps far slower (each step waits on WAN round
	// trips between stages). At localnet's 1 s blocks, 16 steps a block per worker is 4× that
	// fastest pipeline, and still 3 steps a second at a public chain's 5 s blocks.
	DefaultMaxStepsPerBlock = 16
	// DefaultStepBurst lets a worker file 8 attestations of the default period at once after a
	// pause (a chain halt, a restart) before its pace binds.
	DefaultStepBurst = 8 * DefaultAttestationPeriod
	// DefaultMaxStageLead: honest neighbours differ by the pipeline's depth in flight plus one
	// attestation each (their attestations land at different blocks); 8 periods covers both
	// with room to spare.
	DefaultMaxStageLead = 8 * DefaultAttestationPeriod
	// MaxClockSteps bounds the clock's step counts (pace, burst, lead) so that no sum of them
	// wraps: "switch the rule off" is a large value, not 2^64−1.
	MaxClockSteps = 1 << 40
	// MaxClockWindow bounds the blocks of stage records kept (and summed at each attestation).
	MaxClockWindow = 100_000
	// DefaultClockWindow compares stages over the last 100 blocks: long enough to hold several
	// attestations of every stage, short enough that a stage's lost steps (a dropped tap, a void)
	// stop counting against its neighbours soon.
	DefaultClockWindow = 100
)

// DefaultParams has no verifying keys: a chain gets them from its ceremony, in genesis or by
// governance. Until then no attestation can be submitted.
func DefaultParams() Params {
	return Params{
		AttestationPeriod:   DefaultAttestationPeriod,
		ChallengeWindow:     DefaultChallengeWindow,
		ChallengeRate:       DefaultChallengeRate,
		ResponseWindow:      DefaultResponseWindow,
		SlashFraction:       DefaultSlashFraction,
		ChallengerRewardBps: DefaultChallengerRewardBps,
		ChallengeBond:       sdk.NewInt64Coin(sdk.DefaultBondDenom, 10_000_000),
		MaxProofBytes:       DefaultMaxProofBytes,
		ProofVerifyGas:      DefaultProofVerifyGas,
		MaxStepsPerBlock:    DefaultMaxStepsPerBlock,
		StepBurst:           DefaultStepBurst,
		MaxStageLead:        DefaultMaxStageLead,
		ClockWindow:         DefaultClockWindow,
		MaxOpenChallenges:   DefaultMaxOpenChallenges,
		DisputeBond:         sdk.NewInt64Coin(sdk.DefaultBondDenom, 50_000_000),
		DisputeMoveGas:      DefaultDisputeMoveGas,
		LogWindow:           DefaultLogWindow,
	}
}

// DefaultLogWindow is how many blocks a worker has to answer a log request: time for a replica
// to fetch the log and sign (a few MB at "small"; larger stages need more, set by governance).
// MaxLogWindow bounds it: an attestation waits for the answer before it finalizes.
const (
	DefaultLogWindow = 40
	MaxLogWindow     = 10_000
)

// DefaultDisputeMoveGas is charged for each dispute move the chain judges: the reference program
// of a stage is built (about a millisecond at "small") and a leaf recomputes one value from at
// most a few thousand it reads.
const DefaultDisputeMoveGas = 500_000

// DefaultMaxOpenChallenges lets a worker's prover (two at a time, trainer/attest) answer every
// open challenge well within the response window at the largest tile shape; MaxOpenChallenges
// bounds the bond's doubling (challenge_bond × 2^open).
const (
	DefaultMaxOpenChallenges = 8
	MaxOpenChallenges        = 32
)

// BondFor is the bond of a third-party challenge of a worker with open challenges already:
// challenge_bond × 2^open.
func (p Params) BondFor(open int) sdk.Coin {
	return sdk.NewCoin(p.ChallengeBond.Denom, p.ChallengeBond.Amount.Mul(sdkmath.NewInt(1).MulRaw(1<<min(open, MaxOpenChallenges))))
}

// Validate reports the first field out of range.
func (p Params) Validate() error {
	switch {
	case p.AttestationPeriod == 0 || p.AttestationPeriod > MaxAttestationPeriod:
		return fmt.Errorf("attestation_period must be in [1, %d], got %d", MaxAttestationPeriod, p.AttestationPeriod)
	case p.ChallengeWindow < 1:
		return fmt.Errorf("challenge_window must be at least 1 block, got %d", p.ChallengeWindow)
	case p.ResponseWindow < 1:
		return fmt.Errorf("response_window must be at least 1 block, got %d", p.ResponseWindow)
	case p.LogWindow < 0 || p.LogWindow > MaxLogWindow:
		return fmt.Errorf("log_window must be in [0, %d] blocks (0: no log requests), got %d", MaxLogWindow, p.LogWindow)
	case p.ChallengeRate.IsNil() || p.ChallengeRate.IsNegative() || p.ChallengeRate.GT(sdkmath.LegacyOneDec()):
		return fmt.Errorf("challenge_rate must be in [0, 1], got %v", p.ChallengeRate)
	case p.SlashFraction.IsNil() || !p.SlashFraction.IsPositive() || p.SlashFraction.GT(sdkmath.LegacyOneDec()):
		return fmt.Errorf("slash_fraction must be in (0, 1], got %v", p.SlashFraction)
	case p.ChallengerRewardBps > MaxBps:
		return fmt.Errorf("challenger_reward_bps must be at most %d, got %d", MaxBps, p.ChallengerRewardBps)
	case p.MaxProofBytes < tile.ProofSize:
		return fmt.Errorf("max_proof_bytes must be at least %d (a tile proof), got %d", tile.ProofSize, p.MaxProofBytes)
	case p.ProofVerifyGas == 0:
		return fmt.Errorf("proof_verify_gas must be positive")
	case p.MaxStepsPerBlock == 0 || p.MaxStepsPerBlock > MaxClockSteps:
		return fmt.Errorf("max_steps_per_block must be in [1, %d], got %d", MaxClockSteps, p.MaxStepsPerBlock)
	case p.StepBurst < p.AttestationPeriod || p.StepBurst > MaxClockSteps:
		return fmt.Errorf("step_burst must be in [attestation_period %d, %d] (below the period a full attestation could never pass), got %d", p.AttestationPeriod, MaxClockSteps, p.StepBurst)
	case p.MaxStageLead < p.AttestationPeriod || p.MaxStageLead > MaxClockSteps:
		return fmt.Errorf("max_stage_lead must be in [attestation_period %d, %d] (below the period neighbouring stages would wait on each other forever), got %d", p.AttestationPeriod, MaxClockSteps, p.MaxStageLead)
	case p.ClockWindow < 1 || p.ClockWindow > MaxClockWindow:
		return fmt.Errorf("clock_window must be in [1, %d] blocks, got %d", MaxClockWindow, p.ClockWindow)
	case p.MaxOpenChallenges < 1 || p.MaxOpenChallenges > MaxOpenChallenges:
		return fmt.Errorf("max_open_challenges must be in [1, %d], got %d", MaxOpenChallenges, p.MaxOpenChallenges)
	}
	if err := p.ChallengeBond.Validate(); err != nil {
		return fmt.Errorf("challenge_bond: %w", err)
	}
	if !p.ChallengeBond.IsPositive() {
		return fmt.Errorf("challenge_bond must be positive, got %s", p.ChallengeBond)
	}
	if err := p.DisputeBond.Validate(); err != nil {
		return fmt.Errorf("dispute_bond: %w", err)
	}
	if !p.DisputeBond.IsPositive() {
		return fmt.Errorf("dispute_bond must be positive (a referee that loses pays the worker for its moves), got %s", p.DisputeBond)
	}
	seen := make(map[string]bool, len(p.VerifyingKeys))
	for i, vk := range p.VerifyingKeys {
		if err := vk.Validate(); err != nil {
			return fmt.Errorf("verifying_keys[%d]: %w", i, err)
		}
		if seen[vk.Shape] {
			return fmt.Errorf("verifying_keys[%d]: shape %s listed twice", i, vk.Shape)
		}
		seen[vk.Shape] = true
	}
	return nil
}

// Validate checks that the shape names a valid tile and that the key decodes as one; it does not
// check that the key belongs to the shape (only the ceremony's transcript can tell).
func (vk VerifyingKey) Validate() error {
	s, err := tile.ParseShape(vk.Shape)
	if err != nil {
		return err
	}
	if s.String() != vk.Shape {
		return fmt.Errorf("shape %q is not in canonical form %q", vk.Shape, s.String())
	}
	if len(vk.Key) != tile.VerifyingKeySize {
		return fmt.Errorf("shape %s: key is %d bytes, want %d", vk.Shape, len(vk.Key), tile.VerifyingKeySize)
	}
	if _, err := tile.ParseVerifyingKey(vk.Key); err != nil {
		return fmt.Errorf("shape %s: %w", vk.Shape, err)
	}
	return nil
}

// Key returns the verifying key of shape, if registered.
func (p Params) Key(shape string) ([]byte, bool) {
	for _, vk := range p.VerifyingKeys {
		if vk.Shape == shape {
			return vk.Key, true
		}
	}
	return nil, false
}

// SortVerifyingKeys orders the keys by shape, so that params read the same however they were
// written.
func (p *Params) SortVerifyingKeys() {
	sort.Slice(p.VerifyingKeys, func(i, j int) bool { return p.VerifyingKeys[i].Shape < p.VerifyingKeys[j].Shape })
}
