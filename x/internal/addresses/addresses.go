// Package addresses decodes and encodes the account addresses of protolearn's modules' messages
// the same way everywhere, with errors that name the field.
package addresses

import (
	"fmt"

	"cosmossdk.io/core/address"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Parse decodes field's value s, as errInvalid (the module's registered error) naming the field.
func Parse(codec address.Codec, errInvalid *errorsmod.Error, field, s string) (sdk.AccAddress, error) {
	if s == "" {
		return nil, errorsmod.Wrapf(errInvalid, "%s is empty", field)
	}
	bz, err := codec.StringToBytes(s)
	if err != nil {
		return nil, errorsmod.Wrapf(errInvalid, "%s %q: %v", field, s, err)
	}
	return bz, nil
}

// String encodes a for events, errors and logs; hex if the codec refuses it, so a message is
// never lost to a formatting error.
func String(codec address.Codec, a sdk.AccAddress) string {
	s, err := codec.BytesToString(a)
	if err != nil {
		return fmt.Sprintf("%X", []byte(a))
	}
	return s
}
