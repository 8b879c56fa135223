// Package types holds x/anchor's encodings shared with the Ethereum anchor
// contract (contracts/ShareAnchor.sol): the validator-set hash and the
// checkpoint hash that validators sign with their Ethereum keys.
package types

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/protolearn/protolearn/x/anchor/merkle"
)

// EthSigner is one validator as the contract knows it: its Ethereum signer
// address and voting power.
type EthSigner struct {
	Address common.Address
	Power   uint64
}

// ValsetHash is keccak256(0x03 ‖ uint32be(n) ‖ (address ‖ uint64be(power))… ‖
// uint64be(total)) over signers strictly ascending by address, total the chain's
// bonded power they are part of (ShareAnchor.valsetHash).
func ValsetHash(set []EthSigner, total uint64) (merkle.Hash, error) {
	enc := []byte{0x03}
	enc = binary.BigEndian.AppendUint32(enc, uint32(len(set)))
	for i, s := range set {
		if i > 0 && bytes.Compare(set[i-1].Address[:], s.Address[:]) >= 0 {
			return merkle.Hash{}, fmt.Errorf("anchor: validator set not strictly ascending by address at %d", i)
		}
		if s.Power == 0 {
			return merkle.Hash{}, fmt.Errorf("anchor: validator %s has no power", s.Address)
		}
		enc = append(enc, s.Address[:]...)
		enc = binary.BigEndian.AppendUint64(enc, s.Power)
	}
	enc = binary.BigEndian.AppendUint64(enc, total)
	return merkle.Hash(crypto.Keccak256Hash(enc)), nil
}

// CheckpointHash is what validators sign: keccak256(0x04 ‖ keccak256(chain id) ‖
// uint256be(Ethereum chain id) ‖ contract address ‖ uint64be(height) ‖ models root ‖ next
// validator-set hash) (ShareAnchor.checkpointHash, with block.chainid and address(this)): a
// signature counts on the one deployment it names.
func CheckpointHash(chainID string, d Deployment, height uint64, modelsRoot, nextValset merkle.Hash) merkle.Hash {
	enc := []byte{0x04}
	enc = append(enc, crypto.Keccak256([]byte(chainID))...)
	enc = append(enc, common.BigToHash(new(big.Int).SetUint64(d.EthereumChainId)).Bytes()...)
	contract := d.Contract()
	enc = append(enc, contract[:]...)
	enc = binary.BigEndian.AppendUint64(enc, height)
	enc = append(enc, modelsRoot[:]...)
	enc = append(enc, nextValset[:]...)
	return merkle.Hash(crypto.Keccak256Hash(enc))
}

// CheckHash reports whether c carries its own hash on the chain whose checkpoints name chainID.
func (c Checkpoint) CheckHash(chainID string) error {
	want, err := c.WantHash(chainID)
	if err != nil {
		return err
	}
	if !bytes.Equal(c.Hash, want[:]) {
		return fmt.Errorf("hash %x is not the checkpoint's %x", c.Hash, want)
	}
	return nil
}

// WantHash is the hash c must carry on the chain whose checkpoints name chainID.
func (c Checkpoint) WantHash(chainID string) (merkle.Hash, error) {
	next, err := SetHash(c.NextSet, c.NextTotal)
	if err != nil {
		return merkle.Hash{}, err
	}
	return CheckpointHash(chainID, c.Deployment, c.Height, merkle.Hash(c.ModelsRoot), next), nil
}
