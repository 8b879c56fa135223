package types

import (
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/crypto"
)

// NewMsgSetAnchorKey registers key for the validator with operator address bytes op (bech32
// valoper), with key's signature of KeyProofHash(chainID, op) as proof of possession.
func NewMsgSetAnchorKey(chainID, valoper string, op []byte, key *ecdsa.PrivateKey) (*MsgSetAnchorKey, error) {
	proof, err := Sign(key, KeyProofHash(chainID, op))
	if err != nil {
		return nil, err
	}
	return &MsgSetAnchorKey{
		ValidatorAddress: valoper, EthAddress: crypto.PubkeyToAddress(key.PublicKey).Hex(), Proof: proof,
	}, nil
}
