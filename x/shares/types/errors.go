package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/shares. Each says what is wrong so a CLI user knows what to fix.
var (
	ErrInvalidAddress   = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrUnknownModel     = errorsmod.Register(ModuleName, 3, "unknown model")
	ErrInvalidAmount    = errorsmod.Register(ModuleName, 4, "invalid amount")
	ErrWrongDenom       = errorsmod.Register(ModuleName, 5, "wrong revenue denom")
	ErrNoShares         = errorsmod.Register(ModuleName, 6, "model has no shares yet")
	ErrNothingToClaim   = errorsmod.Register(ModuleName, 7, "nothing to claim")
	ErrInvalidAuthority = errorsmod.Register(ModuleName, 8, "invalid authority")
	ErrInvalidParams    = errorsmod.Register(ModuleName, 9, "invalid params")
	ErrReferenceTooLong = errorsmod.Register(ModuleName, 10, "reference too long")
	ErrInvalidGenesis   = errorsmod.Register(ModuleName, 11, "invalid genesis")
	ErrZeroWork         = errorsmod.Register(ModuleName, 12, "zero work units")
)
