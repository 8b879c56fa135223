package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/modelgov; codes are part of the API and never reused.
var (
	ErrInvalidAddress = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidAction  = errorsmod.Register(ModuleName, 3, "invalid action")
	ErrNotGovernable  = errorsmod.Register(ModuleName, 4, "the model cannot take proposals")
	ErrNotHolder      = errorsmod.Register(ModuleName, 5, "not a holder of the model's shares")
	// code 6 is retired (a cap on open proposals, dropped: it let a minority block the rest)
	ErrProposalNotFound = errorsmod.Register(ModuleName, 7, "no such proposal")
	ErrVotingClosed     = errorsmod.Register(ModuleName, 8, "the proposal's voting period has ended")
	ErrNoVotingPower    = errorsmod.Register(ModuleName, 9, "no voting power on this proposal")
	ErrInvalidVote      = errorsmod.Register(ModuleName, 10, "invalid vote option")
	ErrInvalidSummary   = errorsmod.Register(ModuleName, 11, "invalid summary")
	ErrInvalidAuthority = errorsmod.Register(ModuleName, 12, "invalid authority")
	ErrInvalidParams    = errorsmod.Register(ModuleName, 13, "invalid params")
)
