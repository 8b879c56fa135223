package types

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	errorsmod "cosmossdk.io/errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/protolearn/protolearn/x/anchor/merkle"
)

// SignatureLength is r ‖ s ‖ v.
const SignatureLength = 65

// halfN is secp256k1n / 2: the contract refuses a larger s (a malleable copy).
var halfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

// KeyProofHash is what a validator's Ethereum key signs to prove possession:
// keccak256(0x05 ‖ keccak256(chain id) ‖ uint8(len) ‖ validator operator address bytes). The
// 0x05 prefix keeps it from ever reading as a checkpoint (0x04) or tree hash.
func KeyProofHash(chainID string, validator []byte) merkle.Hash {
	enc := []byte{0x05}
	enc = append(enc, crypto.Keccak256([]byte(chainID))...)
	enc = append(enc, byte(len(validator)))
	enc = append(enc, validator...)
	return merkle.Hash(crypto.Keccak256Hash(enc))
}

// Sign signs digest with key as the contract's ecrecover takes it: r ‖ s ‖ v with v = 27 or 28
// (go-ethereum's signatures are already low-s).
func Sign(key *ecdsa.PrivateKey, digest merkle.Hash) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("anchor: sign: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// Recover returns the address that signed digest, refusing what the contract would refuse:
// a wrong length, v other than 27/28, a high s.
func Recover(digest merkle.Hash, sig []byte) (common.Address, error) {
	if len(sig) != SignatureLength {
		return common.Address{}, fmt.Errorf("signature is %d bytes, want %d", len(sig), SignatureLength)
	}
	if v := sig[64]; v != 27 && v != 28 {
		return common.Address{}, fmt.Errorf("signature v is %d, want 27 or 28", v)
	}
	if new(big.Int).SetBytes(sig[32:64]).Cmp(halfN) > 0 {
		return common.Address{}, fmt.Errorf("signature s is in the upper half of the curve order")
	}
	raw := append([]byte(nil), sig...)
	raw[64] -= 27
	pub, err := crypto.SigToPub(digest[:], raw)
	if err != nil {
		return common.Address{}, fmt.Errorf("recover signer: %w", err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// ParseEthAddress parses a 0x-prefixed hex address, refusing the zero address.
func ParseEthAddress(s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, errorsmod.Wrapf(ErrInvalidEthAddress, "%q is not a 0x-prefixed 20-byte hex address", s)
	}
	a := common.HexToAddress(s)
	if a == (common.Address{}) {
		return common.Address{}, errorsmod.Wrap(ErrInvalidEthAddress, "the zero address")
	}
	return a, nil
}

// EthSigners converts a stored set to the contract's form.
func EthSigners(set []Signer) ([]EthSigner, error) {
	out := make([]EthSigner, len(set))
	for i, s := range set {
		a, err := ParseEthAddress(s.EthAddress)
		if err != nil {
			return nil, err
		}
		out[i] = EthSigner{Address: a, Power: s.Power}
	}
	return out, nil
}

// SetHash is ValsetHash of a stored set, part of a chain of total bonded power total.
func SetHash(set []Signer, total uint64) (merkle.Hash, error) {
	es, err := EthSigners(set)
	if err != nil {
		return merkle.Hash{}, err
	}
	return ValsetHash(es, total)
}

// CheckSet checks a set against the chain's total bonded power it was taken from, as the
// contract does: its keys hold more than 2/3 of it, and no more than all of it.
func CheckSet(set []Signer, total uint64) error {
	if _, err := SetHash(set, total); err != nil {
		return err
	}
	var keyed uint64
	for _, s := range set {
		if keyed+s.Power < keyed {
			return fmt.Errorf("anchor: the set's powers overflow 64 bits")
		}
		keyed += s.Power
	}
	if keyed > total || !MoreThanTwoThirds(keyed, total) {
		return fmt.Errorf("anchor: validators with keys hold %d of %d bonded power; a set must hold more than 2/3 of it (and no more than all)", keyed, total)
	}
	return nil
}

// TotalPower sums a set's powers.
func TotalPower(set []Signer) uint64 {
	var t uint64
	for _, s := range set {
		t += s.Power
	}
	return t
}

// Ready reports whether signatures of more than 2/3 of the chain's total bonded power (when the
// signing set was taken: signing_total) are in, as the contract requires (3·signed > 2·total,
// in 128-bit arithmetic so that no power overflows).
func (c Checkpoint) Ready() bool { return MoreThanTwoThirds(c.SignedPower, c.SigningTotal) }

// MoreThanTwoThirds is the contract's test 3·signed > 2·total, without overflow.
func MoreThanTwoThirds(signed, total uint64) bool {
	s := new(big.Int).Mul(big.NewInt(3), new(big.Int).SetUint64(signed))
	t := new(big.Int).Mul(big.NewInt(2), new(big.Int).SetUint64(total))
	return s.Cmp(t) > 0
}

// SignerIndex is addr's position in set, or -1.
func SignerIndex(set []Signer, addr common.Address) int {
	for i, s := range set {
		if common.HexToAddress(s.EthAddress) == addr {
			return i
		}
	}
	return -1
}
