package types

import errorsmod "cosmossdk.io/errors"

// Errors of x/inference. Each says what is wrong so that a customer, a gateway or a CLI user
// knows what to fix.
var (
	ErrInvalidAddress   = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidAuthority = errorsmod.Register(ModuleName, 3, "invalid authority")
	ErrInvalidParams    = errorsmod.Register(ModuleName, 4, "invalid params")
	ErrNotDesigner      = errorsmod.Register(ModuleName, 5, "not the model's designer")
	ErrInvalidPrice     = errorsmod.Register(ModuleName, 6, "invalid price")
	ErrNotServable      = errorsmod.Register(ModuleName, 7, "model not servable")
	ErrInvalidDeposit   = errorsmod.Register(ModuleName, 8, "invalid deposit")
	ErrUnknownDeposit   = errorsmod.Register(ModuleName, 9, "unknown deposit")
	ErrInvalidReceipt   = errorsmod.Register(ModuleName, 10, "invalid receipt")
	ErrBadSignature     = errorsmod.Register(ModuleName, 11, "receipt not signed by the deposit's spender")
	ErrAlreadySettled   = errorsmod.Register(ModuleName, 12, "receipt already settled")
	ErrOverDeposit      = errorsmod.Register(ModuleName, 13, "receipt over the deposit")
	ErrDepositExpired   = errorsmod.Register(ModuleName, 14, "deposit expired")
	ErrDepositHeld      = errorsmod.Register(ModuleName, 15, "deposit still held")
	ErrInvalidGenesis   = errorsmod.Register(ModuleName, 16, "invalid genesis")
	ErrPriceByHolders   = errorsmod.Register(ModuleName, 17, "the model's holders set its price")
)
