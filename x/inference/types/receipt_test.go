package types_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/x/inference/types"
)

// A request's charge rounds up, so a short request at a positive price is never free, and
// settling it in parts costs what settling it at once does.
func TestCharge(t *testing.T) {
	for _, tc := range []struct {
		price  int64
		tokens uint64
		want   int64
	}{{2000, 500, 1000}, {1, 1, 1}, {3, 999, 3}, {3, 1000, 3}, {3, 1001, 4}, {0, 500, 0}} {
		require.Equal(t, sdkmath.NewInt(tc.want).String(), types.Charge(sdkmath.NewInt(tc.price), tc.tokens).String(), "%+v", tc)
	}
	// In parts: the sum of the differences is the charge of the whole.
	price := sdkmath.NewInt(7)
	sum := sdkmath.ZeroInt()
	prev := uint64(0)
	for _, n := range []uint64{13, 140, 999, 1000, 2501} {
		sum = sum.Add(types.Charge(price, n).Sub(types.Charge(price, prev)))
		prev = n
	}
	require.Equal(t, types.Charge(price, 2501).String(), sum.String())
	// The largest price times the most tokens does not overflow.
	require.NotPanics(t, func() { types.Charge(types.MaxPrice, ^uint64(0)) })
}

// A receipt's signature covers every field: changing any one breaks it.
func TestReceiptSignature(t *testing.T) {
	key := secp256k1.GenPrivKey()
	r := types.Receipt{ChainId: "c", DepositId: 1, RequestId: "req", Tokens: 10, Servers: []string{"a", "b"}}
	sig, err := types.SignReceipt(key, r)
	require.NoError(t, err)
	spender := key.PubKey().Bytes()
	require.True(t, types.VerifyReceipt(spender, r, sig))
	for name, edit := range map[string]func(*types.Receipt){
		"chain":   func(r *types.Receipt) { r.ChainId = "d" },
		"deposit": func(r *types.Receipt) { r.DepositId = 2 },
		"request": func(r *types.Receipt) { r.RequestId = "reqx" },
		"tokens":  func(r *types.Receipt) { r.Tokens = 11 },
		"servers": func(r *types.Receipt) { r.Servers = []string{"ab"} },
	} {
		e := r
		e.Servers = append([]string(nil), r.Servers...)
		edit(&e)
		require.False(t, types.VerifyReceipt(spender, e, sig), name)
	}
	require.False(t, types.VerifyReceipt(spender[:32], r, sig), "a key of the wrong size")
	require.False(t, types.VerifyReceipt(secp256k1.GenPrivKey().PubKey().Bytes(), r, sig), "another key")
}
