package bindings_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/x/anchor/bindings"
	"github.com/protolearn/protolearn/x/anchor/merkle"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
)

const chainID = "protolearn-local-1"

// validator is a protolearn validator's Ethereum key and power.
type validator struct {
	key   *ecdsa.PrivateKey
	power uint64
}

func (v validator) addr() common.Address { return crypto.PubkeyToAddress(v.key.PublicKey) }

// validators makes n keys, sorted by address as the contract wants them.
func validators(t *testing.T, powers ...uint64) []validator {
	t.Helper()
	vs := make([]validator, len(powers))
	for i, p := range powers {
		k, err := crypto.GenerateKey()
		require.NoError(t, err)
		vs[i] = validator{key: k, power: p}
	}
	sort.Slice(vs, func(i, j int) bool { a, b := vs[i].addr(), vs[j].addr(); return bytes.Compare(a[:], b[:]) < 0 })
	return vs
}

func set(vs []validator) (addrs []common.Address, powers []uint64, signers []anchortypes.Signer) {
	for _, v := range vs {
		addrs = append(addrs, v.addr())
		powers = append(powers, v.power)
		signers = append(signers, anchortypes.Signer{Address: v.addr(), Power: v.power})
	}
	return
}

// env is a simulated Ethereum chain with the anchor deployed.
type env struct {
	backend  *simulated.Backend
	auth     *bind.TransactOpts
	contract *bindings.ShareAnchor
}

func deploy(t *testing.T, vs []validator) *env {
	t.Helper()
	deployer, err := crypto.GenerateKey()
	require.NoError(t, err)
	from := crypto.PubkeyToAddress(deployer.PublicKey)
	backend := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	t.Cleanup(func() { backend.Close() })
	chain, err := backend.Client().ChainID(context.Background())
	require.NoError(t, err)
	auth, err := bind.NewKeyedTransactorWithChainID(deployer, chain)
	require.NoError(t, err)
	addrs, powers, _ := set(vs)
	_, tx, contract, err := bindings.DeployShareAnchor(auth, backend.Client(), chainID, addrs, powers)
	require.NoError(t, err)
	backend.Commit()
	rcpt, err := bind.WaitMined(context.Background(), backend.Client(), tx)
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	return &env{backend: backend, auth: auth, contract: contract}
}

// sign has the validators at idx sign a checkpoint.
func sign(t *testing.T, vs []validator, idx []int, digest merkle.Hash) []bindings.ShareAnchorSig {
	t.Helper()
	var sigs []bindings.ShareAnchorSig
	for _, i := range idx {
		sig, err := crypto.Sign(digest[:], vs[i].key)
		require.NoError(t, err)
		sigs = append(sigs, bindings.ShareAnchorSig{
			Index: big.NewInt(int64(i)), V: sig[64] + 27, R: [32]byte(sig[:32]), S: [32]byte(sig[32:64]),
		})
	}
	return sigs
}

// submit sends a checkpoint and reports whether it was accepted.
func (e *env) submit(t *testing.T, height uint64, root merkle.Hash, next []validator, sigs []bindings.ShareAnchorSig) bool {
	t.Helper()
	addrs, powers, _ := set(next)
	opts := *e.auth
	opts.GasLimit = 2_000_000 // skip estimation: a reverting call is mined and seen failed
	tx, err := e.contract.SubmitCheckpoint(&opts, height, root, addrs, powers, sigs)
	require.NoError(t, err)
	e.backend.Commit()
	rcpt, err := bind.WaitMined(context.Background(), e.backend.Client(), tx)
	require.NoError(t, err)
	return rcpt.Status == types.ReceiptStatusSuccessful
}

// TestLeafEncodingsAgree: Go and the contract hash the same leaves, model
// leaves, nodes and validator sets, on random data.
func TestLeafEncodingsAgree(t *testing.T) {
	vs := validators(t, 10)
	e := deploy(t, vs)
	rng := rand.New(rand.NewPCG(1, 2))
	call := &bind.CallOpts{}
	for range 20 {
		model := rng.Uint64()
		holder := make([]byte, 1+rng.IntN(40))
		for i := range holder {
			holder[i] = byte(rng.Uint32())
		}
		raw := make([]byte, 1+rng.IntN(32))
		fill(rng, raw)
		amount := new(big.Int).SetBytes(raw)
		want, err := merkle.Leaf(model, holder, amount)
		require.NoError(t, err)
		got, err := e.contract.Leaf(call, model, holder, amount)
		require.NoError(t, err)
		require.Equal(t, [32]byte(want), got, "leaf of model %d holder %x amount %s", model, holder, amount)

		var a, b merkle.Hash
		fill(rng, a[:])
		fill(rng, b[:])
		gotNode, err := e.contract.Node(call, a, b)
		require.NoError(t, err)
		require.Equal(t, [32]byte(merkle.Node(a, b)), gotNode)
		gotModel, err := e.contract.ModelLeaf(call, model, a)
		require.NoError(t, err)
		require.Equal(t, [32]byte(merkle.ModelLeaf(model, a)), gotModel)
		gotCk, err := e.contract.CheckpointHash(call, model, a, b)
		require.NoError(t, err)
		require.Equal(t, [32]byte(anchortypes.CheckpointHash(chainID, model, a, b)), gotCk)
	}
	addrs, powers, signers := set(validators(t, 3, 1, 7, 2))
	want, err := anchortypes.ValsetHash(signers)
	require.NoError(t, err)
	got, err := e.contract.ValsetHash(call, addrs, powers)
	require.NoError(t, err)
	require.Equal(t, [32]byte(want), got)
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
