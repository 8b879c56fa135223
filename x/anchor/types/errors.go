package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/anchor. Each says what is wrong so a CLI user knows what to fix.
var (
	ErrInvalidAddress    = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrNotValidator      = errorsmod.Register(ModuleName, 3, "not a validator")
	ErrInvalidEthAddress = errorsmod.Register(ModuleName, 4, "invalid Ethereum address")
	ErrBadKeyProof       = errorsmod.Register(ModuleName, 5, "bad proof of key possession")
	ErrKeyTaken          = errorsmod.Register(ModuleName, 6, "Ethereum key registered by another validator")
	ErrInvalidAuthority  = errorsmod.Register(ModuleName, 7, "invalid authority")
	ErrInvalidParams     = errorsmod.Register(ModuleName, 8, "invalid params")
	ErrInvalidGenesis    = errorsmod.Register(ModuleName, 9, "invalid genesis")
	ErrNoCheckpoint      = errorsmod.Register(ModuleName, 10, "no such checkpoint")
	ErrNotAnchored       = errorsmod.Register(ModuleName, 11, "holder not in the latest checkpoint")
	ErrBadSignature      = errorsmod.Register(ModuleName, 12, "bad checkpoint signature")
)
