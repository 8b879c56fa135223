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

// Canonical checks that s is an account address (bech32 with the chain's account prefix) in the
// one spelling it encodes back to, so that records keyed by it cannot be duplicated by another
// spelling of the same bytes (upper case, for one).
func Canonical(s string) error {
	a, err := sdk.AccAddressFromBech32(s)
	if err != nil {
		return err
	}
	return canonical(s, a.String())
}

// CanonicalValidator is Canonical for a validator operator address.
func CanonicalValidator(s string) error {
	v, err := sdk.ValAddressFromBech32(s)
	if err != nil {
		return err
	}
	return canonical(s, v.String())
}

func canonical(s, want string) error {
	if s != want {
		return fmt.Errorf("%s is not in its canonical spelling %s", s, want)
	}
	return nil
}
