package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/verify. Each says what is wrong so that a CLI user or a trainer knows what to fix.
var (
	ErrInvalidAddress      = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidAuthority    = errorsmod.Register(ModuleName, 3, "invalid authority")
	ErrInvalidParams       = errorsmod.Register(ModuleName, 4, "invalid params")
	ErrInvalidGenesis      = errorsmod.Register(ModuleName, 5, "invalid genesis")
	ErrInvalidAttestation  = errorsmod.Register(ModuleName, 6, "invalid attestation")
	ErrNotSeated           = errorsmod.Register(ModuleName, 7, "worker does not hold this stage")
	ErrOverlappingSteps    = errorsmod.Register(ModuleName, 8, "step range overlaps an earlier attestation")
	ErrTooMuchWork         = errorsmod.Register(ModuleName, 9, "work units above what the steps allow")
	ErrNoVerifyingKey      = errorsmod.Register(ModuleName, 10, "no verifying key for tile shape")
	ErrAttestationNotFound = errorsmod.Register(ModuleName, 11, "attestation not found")
	ErrNotPending          = errorsmod.Register(ModuleName, 12, "attestation is not pending")
	ErrInvalidChallenge    = errorsmod.Register(ModuleName, 13, "invalid challenge")
	ErrWrongBond           = errorsmod.Register(ModuleName, 14, "wrong challenge bond")
	ErrChallengeNotFound   = errorsmod.Register(ModuleName, 15, "challenge not found")
	ErrChallengeClosed     = errorsmod.Register(ModuleName, 16, "challenge is not open")
	ErrNotChallengedWorker = errorsmod.Register(ModuleName, 17, "signer is not the challenged worker")
	ErrResponseTooLate     = errorsmod.Register(ModuleName, 18, "response after the deadline")
	ErrProofTooLarge       = errorsmod.Register(ModuleName, 19, "proof too large")
	ErrInvalidProof        = errorsmod.Register(ModuleName, 20, "invalid proof")
	ErrWorkerInactive      = errorsmod.Register(ModuleName, 21, "worker is not active")
	ErrModelNotTraining    = errorsmod.Register(ModuleName, 22, "model is not training")
	ErrStepsNotContiguous  = errorsmod.Register(ModuleName, 23, "steps do not continue the worker's last attestation")
	// ErrTooFast and ErrStageAhead are the model clock's refusals: they pass with time (the
	// worker's allowance grows every block, its neighbours attest), so a trainer retries later.
	ErrTooFast    = errorsmod.Register(ModuleName, 24, "more steps than the worker's pace allows now")
	ErrStageAhead = errorsmod.Register(ModuleName, 25, "stage ahead of a neighbouring stage")
	ErrRootReused = errorsmod.Register(ModuleName, 26, "commitment root already attested")
	// ErrInvalidReceipt: a step's input receipt is missing, malformed, not signed by its
	// sender, or from a worker not seated in the stage before.
	ErrInvalidReceipt = errorsmod.Register(ModuleName, 27, "invalid input receipt")
	// ErrInputReused: a microbatch's input receipt already counted for another step.
	ErrInputReused = errorsmod.Register(ModuleName, 28, "input receipt already attested")
	// ErrStateNotMoved: an attestation starts from the state its worker's previous one started
	// from, so the steps between trained nothing.
	ErrStateNotMoved = errorsmod.Register(ModuleName, 29, "stage state did not move")
	// ErrTooManyChallenges: the worker already has max_open_challenges open challenges.
	ErrTooManyChallenges = errorsmod.Register(ModuleName, 30, "too many open challenges")
	// ErrInvalidDispute: a dispute cannot be opened, or a move is not the one the dispute
	// waits for (nothing changes: a move may be sent again until its deadline).
	ErrInvalidDispute = errorsmod.Register(ModuleName, 31, "invalid dispute move")
	// ErrDisputeClosed: the dispute has ended.
	ErrDisputeClosed = errorsmod.Register(ModuleName, 32, "dispute closed")
	// ErrDisputeNotFound: no dispute has the id.
	ErrDisputeNotFound = errorsmod.Register(ModuleName, 33, "dispute not found")
	// ErrInvalidLogRequest: a log request cannot be opened, or an answer does not answer it.
	ErrInvalidLogRequest = errorsmod.Register(ModuleName, 34, "invalid log request")
	// ErrLogRequestNotFound: no log request has the id.
	ErrLogRequestNotFound = errorsmod.Register(ModuleName, 35, "log request not found")
)

// IsClockWait reports a refusal that may pass with time: the model clock's, or a pause of the
// model by its holders. The same attestation may be submitted again later (after a pause, one
// of work done before it).
func IsClockWait(err error) bool {
	return errorsmod.IsOf(err, ErrTooFast, ErrStageAhead, ErrModelPaused)
}

// ErrInvalidSends: an attestation's sends are malformed (MsgSubmitAttestation.sends).
var ErrInvalidSends = errorsmod.Register(ModuleName, 36, "invalid sends")

// ErrNoEquivocation: a report of equivocation proves none (the receipt is not the worker's, or
// its attestation names that very payload, or does not cover its number).
var ErrNoEquivocation = errorsmod.Register(ModuleName, 37, "no equivocation")

// ErrModelPaused: the model's holders paused it (x/modelgov); it takes attestations again once
// they resume it.
var ErrModelPaused = errorsmod.Register(ModuleName, 38, "model paused by its holders")
