package types

import (
	"encoding/binary"
	"errors"
	"fmt"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
)

// receiptDomain separates a receipt's signature from anything else a key signs.
const receiptDomain = "protolearn/inference/receipt/v1"

// ReceiptSignBytes are the bytes a deposit's spender signs for r: the domain, then every field
// length-prefixed, so no two receipts share them.
func ReceiptSignBytes(r Receipt) []byte {
	b := appendString(nil, receiptDomain)
	b = appendString(b, r.ChainId)
	b = binary.BigEndian.AppendUint64(b, r.DepositId)
	b = appendString(b, r.RequestId)
	b = binary.BigEndian.AppendUint64(b, r.Tokens)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Servers)))
	for _, s := range r.Servers {
		b = appendString(b, s)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// SignReceipt signs r with the spender's key.
func SignReceipt(key cryptotypes.PrivKey, r Receipt) ([]byte, error) {
	return key.Sign(ReceiptSignBytes(r))
}

// ValidSpender says whether b is a compressed secp256k1 public key, as a deposit's spender must be.
func ValidSpender(b []byte) bool {
	return len(b) == secp256k1.PubKeySize && (b[0] == 2 || b[0] == 3)
}

// VerifyReceipt says whether sig is spender's signature of r (spender: a compressed secp256k1
// public key, as a deposit names it).
func VerifyReceipt(spender []byte, r Receipt, sig []byte) bool {
	if len(spender) != secp256k1.PubKeySize {
		return false
	}
	return (&secp256k1.PubKey{Key: spender}).VerifySignature(ReceiptSignBytes(r), sig)
}

// Validate checks a receipt's own fields (not against the chain).
func (r Receipt) Validate() error {
	switch {
	case r.ChainId == "":
		return errors.New("chain_id is empty: a receipt names the chain it settles on")
	case r.RequestId == "" || len(r.RequestId) > MaxRequestID:
		return fmt.Errorf("request_id is %d bytes; want 1 to %d", len(r.RequestId), MaxRequestID)
	case r.Tokens == 0:
		return errors.New("tokens is 0: a receipt counts the tokens delivered")
	case len(r.Servers) == 0:
		return errors.New("servers is empty: a receipt names the operator that served each stage")
	}
	return nil
}

// Charge is what tokens cost at price per TokensPerPrice tokens, rounded up: the cumulative
// charge of a request, so that settling it in parts costs what settling it at once does, and a
// request of any tokens at a positive price costs at least one base unit (rounding down let
// short requests go free).
func Charge(price sdkmath.Int, tokens uint64) sdkmath.Int {
	n := price.Mul(sdkmath.NewIntFromUint64(tokens))
	return n.AddRaw(TokensPerPrice - 1).QuoRaw(TokensPerPrice)
}

// MaxPrice bounds a price per TokensPerPrice tokens (10^30 base units), so that a charge never
// overflows: a price times 2^64 tokens stays far below 2^256.
var MaxPrice = sdkmath.NewIntWithDecimal(1, 30)
