package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/compute. Each says what is wrong so a CLI user knows what to fix.
var (
	ErrInvalidStake         = errorsmod.Register(ModuleName, 2, "invalid stake")
	ErrStakeTooLow          = errorsmod.Register(ModuleName, 3, "stake below the minimum worker stake")
	ErrInvalidPeerID        = errorsmod.Register(ModuleName, 4, "invalid libp2p peer id")
	ErrInvalidMultiaddr     = errorsmod.Register(ModuleName, 5, "invalid libp2p multiaddr")
	ErrInvalidHardware      = errorsmod.Register(ModuleName, 6, "invalid hardware description")
	ErrWorkerExists         = errorsmod.Register(ModuleName, 7, "operator already has a worker")
	ErrWorkerNotFound       = errorsmod.Register(ModuleName, 8, "worker not found")
	ErrPeerIDTaken          = errorsmod.Register(ModuleName, 9, "peer id already used by another worker")
	ErrInsufficientBonded   = errorsmod.Register(ModuleName, 10, "amount exceeds bonded stake")
	ErrTooManyUnbonding     = errorsmod.Register(ModuleName, 11, "too many pending unbonding entries")
	ErrNotJailed            = errorsmod.Register(ModuleName, 12, "worker is not jailed")
	ErrJailPeriodNotOver    = errorsmod.Register(ModuleName, 13, "jail period not over")
	ErrInvalidAuthority     = errorsmod.Register(ModuleName, 14, "invalid authority")
	ErrInvalidParams        = errorsmod.Register(ModuleName, 15, "invalid params")
	ErrInvalidAddress       = errorsmod.Register(ModuleName, 16, "invalid address")
	ErrInvalidSlashFraction = errorsmod.Register(ModuleName, 17, "invalid slash fraction")
	ErrNothingToUpdate      = errorsmod.Register(ModuleName, 18, "nothing to update")
	ErrInvalidGenesis       = errorsmod.Register(ModuleName, 19, "invalid genesis")
	ErrUnjailBelowMinStake  = errorsmod.Register(ModuleName, 20, "bonded stake below minimum: add stake before unjailing")
	ErrWrongDenom           = errorsmod.Register(ModuleName, 21, "wrong stake denom")
)
