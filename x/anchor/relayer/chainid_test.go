package relayer

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// bigChain is an Ethereum backend of the given chain id, whose accounts have sent nothing.
type bigChain struct {
	Backend
	id *big.Int
}

func (b bigChain) ChainID(context.Context) (*big.Int, error) { return b.id, nil }
func (b bigChain) PendingNonceAt(context.Context, common.Address) (uint64, error) {
	return 0, nil
}

// A chain id of 2^64 or more (EIP-155 allows it) is refused, not truncated: a deployment named
// with the truncated id would have every checkpoint hashed over another id than the contract's
// block.chainid, and none would verify (an attacker review's proof of concept).
func TestPredictRefusesChainIDsBeyondUint64(t *testing.T) {
	from := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	for _, id := range []*big.Int{new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(5)), big.NewInt(0)} {
		if d, err := Predict(context.Background(), bigChain{id: id}, from); err == nil {
			t.Errorf("Ethereum chain id %v predicted as %d", id, d.EthereumChainId)
		}
	}
	d, err := Predict(context.Background(), bigChain{id: big.NewInt(11155111)}, from)
	if err != nil || d.EthereumChainId != 11155111 {
		t.Fatalf("Sepolia: %+v, %v", d, err)
	}
}
