package bindings_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"

	ethereum "github.com/ethereum/go-ethereum"
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

func set(vs []validator) (addrs []common.Address, powers []uint64, signers []anchortypes.EthSigner) {
	for _, v := range vs {
		addrs = append(addrs, v.addr())
		powers = append(powers, v.power)
		signers = append(signers, anchortypes.EthSigner{Address: v.addr(), Power: v.power})
	}
	return
}

// env is a simulated Ethereum chain with the anchor deployed.
type env struct {
	contractAddr common.Address
	backend      *simulated.Backend
	auth         *bind.TransactOpts
	contract     *bindings.ShareAnchor
}

func deploy(t *testing.T, vs []validator) *env {
	t.Helper()
	return deployWith(t, vs, sum(vs))
}

// sum is the validators' total power: a chain where every bonded validator has a key.
func sum(vs []validator) uint64 {
	var t uint64
	for _, v := range vs {
		t += v.power
	}
	return t
}

// deployWith deploys the anchor with vs, part of a chain of total bonded power total.
func deployWith(t *testing.T, vs []validator, total uint64) *env {
	t.Helper()
	e, rcpt := deployReceipt(t, vs, total)
	require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	return e
}

// deployReceipt sends the anchor's deployment (mined even if it reverts) and returns its receipt.
func deployReceipt(t *testing.T, vs []validator, total uint64) (*env, *types.Receipt) {
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
	opts := *auth
	opts.GasLimit = 16_000_000 // skip estimation (under the 2^24 cap): a reverting deployment is mined and seen failed
	addrs, powers, _ := set(vs)
	addr, tx, contract, err := bindings.DeployShareAnchor(&opts, backend.Client(), chainID, addrs, powers, total)
	require.NoError(t, err)
	backend.Commit()
	rcpt, err := bind.WaitMined(context.Background(), backend.Client(), tx)
	require.NoError(t, err)
	return &env{contractAddr: addr, backend: backend, auth: auth, contract: contract}, rcpt
}

// deployment names e's contract, as the chain's params name it for checkpoints to be signed for.
func (e *env) deployment(t *testing.T) anchortypes.Deployment {
	t.Helper()
	id, err := e.backend.Client().ChainID(context.Background())
	require.NoError(t, err)
	return anchortypes.NewDeployment(id.Uint64(), e.contractAddr)
}

// hash is the checkpoint hash validators sign for e's contract.
func (e *env) hash(t *testing.T, height uint64, root, nextValset merkle.Hash) merkle.Hash {
	t.Helper()
	return anchortypes.CheckpointHash(chainID, e.deployment(t), height, root, nextValset)
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
	return e.submitWith(t, height, root, next, sum(next), sigs)
}

// submitWith sends a checkpoint whose next set is part of a chain of total bonded power total.
func (e *env) submitWith(t *testing.T, height uint64, root merkle.Hash, next []validator, total uint64, sigs []bindings.ShareAnchorSig) bool {
	t.Helper()
	addrs, powers, _ := set(next)
	opts := *e.auth
	opts.GasLimit = 2_000_000 // skip estimation: a reverting call is mined and seen failed
	tx, err := e.contract.SubmitCheckpoint(&opts, height, root, addrs, powers, total, sigs)
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
		require.Equal(t, [32]byte(e.hash(t, model, a, b)), gotCk)
	}
	addrs, powers, signers := set(validators(t, 3, 1, 7, 2))
	want, err := anchortypes.ValsetHash(signers, powerOf(signers))
	require.NoError(t, err)
	got, err := e.contract.ValsetHash(call, addrs, powers, powerOf(signers))
	require.NoError(t, err)
	require.Equal(t, [32]byte(want), got)
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// holders is a model's random balances and their tree.
func holders(t *testing.T, rng *rand.Rand, model uint64, n int) ([]merkle.Balance, *merkle.Tree) {
	t.Helper()
	bs := make([]merkle.Balance, n)
	for i := range bs {
		h := make([]byte, 20)
		fill(rng, h)
		bs[i] = merkle.Balance{Holder: h, Amount: new(big.Int).SetUint64(rng.Uint64())}
	}
	tree, err := merkle.ModelTree(model, bs)
	require.NoError(t, err)
	return bs, tree
}

// idx are the ascending positions of the validators with these powers.
func idx(vs []validator, powers ...uint64) []int {
	var out []int
	for i, v := range vs {
		for _, p := range powers {
			if v.power == p {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func proof32(p []merkle.Hash) [][32]byte {
	out := make([][32]byte, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out
}

// TestCheckpointsAndShareProofs: a checkpoint signed by more than 2/3 of
// the power is accepted and a real holder's balance verifies against it; a
// wrong balance, too little power, a forged, repeated or out-of-order
// signature, a replayed height, and the old set after a validator-set change
// are all refused.
func TestCheckpointsAndShareProofs(t *testing.T) {
	vs := validators(t, 10, 20, 30, 40) // total 100: > 66.67 needed
	e := deploy(t, vs)
	rng := rand.New(rand.NewPCG(3, 4))
	call := &bind.CallOpts{}

	// Two models; the checkpoint's models tree holds both roots.
	bs7, tree7 := holders(t, rng, 7, 37)
	_, tree9 := holders(t, rng, 9, 5)
	models := merkle.Build([]merkle.Hash{merkle.ModelLeaf(7, tree7.Root()), merkle.ModelLeaf(9, tree9.Root())})
	root := models.Root()
	_, _, signers := set(vs)
	valset, err := anchortypes.ValsetHash(signers, powerOf(signers))
	require.NoError(t, err)
	digest := e.hash(t, 100, root, valset)

	// Refused: 10+20+30 = 60 of 100 is not more than 2/3.
	require.False(t, e.submit(t, 100, root, vs, sign(t, vs, idx(vs, 10, 20, 30), digest)), "60 of 100 power accepted")
	// Refused: a signature repeated to count twice, or out of order.
	big40 := idx(vs, 40)[0]
	dup := sign(t, vs, []int{big40, big40}, digest)
	require.False(t, e.submit(t, 100, root, vs, dup), "a repeated signature counted twice")
	enough := idx(vs, 30, 40)
	require.False(t, e.submit(t, 100, root, vs, sign(t, vs, []int{enough[1], enough[0]}, digest)), "signatures out of order accepted")
	// Refused: forged (a key outside the set signs at a member's index).
	outsider := validators(t, 1)
	p30 := idx(vs, 30)[0]
	forged := sign(t, vs, enough, digest)
	fake := sign(t, outsider, []int{0}, digest)[0]
	for k := range forged {
		if forged[k].Index.Int64() == int64(p30) {
			fake.Index = forged[k].Index
			forged[k] = fake // the outsider signs in the 30-power member's place
		}
	}
	require.False(t, e.submit(t, 100, root, vs, forged), "a forged signature accepted")
	// Refused: signed for another root.
	require.False(t, e.submit(t, 100, root, vs, sign(t, vs, enough, e.hash(t, 100, merkle.Hash{1}, valset))), "a signature of another checkpoint accepted")
	last, err := e.contract.LastHeight(call)
	require.NoError(t, err)
	require.Zero(t, last)

	// Accepted: 30+40 = 70.
	require.True(t, e.submit(t, 100, root, vs, sign(t, vs, enough, digest)))
	got, err := e.contract.ModelsRoot(call)
	require.NoError(t, err)
	require.Equal(t, [32]byte(root), got)

	// A real holder's balance verifies; a wrong balance, holder or model does not.
	modelProof, err := models.Proof(0)
	require.NoError(t, err)
	for _, i := range []int{0, 17, 36} {
		hp, err := tree7.Proof(i)
		require.NoError(t, err)
		ok, err := e.contract.VerifyShares(call, 7, bs7[i].Holder, bs7[i].Amount, proof32(hp), tree7.Root(), proof32(modelProof))
		require.NoError(t, err)
		require.True(t, ok, "holder %d", i)
		wrong := new(big.Int).Add(bs7[i].Amount, big.NewInt(1))
		ok, err = e.contract.VerifyShares(call, 7, bs7[i].Holder, wrong, proof32(hp), tree7.Root(), proof32(modelProof))
		require.NoError(t, err)
		require.False(t, ok, "a wrong balance verified")
		ok, err = e.contract.VerifyShares(call, 9, bs7[i].Holder, bs7[i].Amount, proof32(hp), tree7.Root(), proof32(modelProof))
		require.NoError(t, err)
		require.False(t, ok, "model 7's balance verified as model 9's")
	}

	// Replayed: the same height again.
	require.False(t, e.submit(t, 100, root, vs, sign(t, vs, enough, digest)), "a replayed checkpoint accepted")

	// A validator-set change: checkpoint 200 hands over to a new set; then the
	// old set cannot sign, the new one can.
	next := validators(t, 5, 5, 5)
	_, _, nextSigners := set(next)
	nextHash, err := anchortypes.ValsetHash(nextSigners, powerOf(nextSigners))
	require.NoError(t, err)
	require.True(t, e.submit(t, 200, root, next, sign(t, vs, enough, e.hash(t, 200, root, nextHash))))
	cur, err := e.contract.CurrentValset(call)
	require.NoError(t, err)
	require.Equal(t, [32]byte(nextHash), cur)
	require.False(t, e.submit(t, 300, root, vs, sign(t, vs, []int{0, 1, 2, 3}, e.hash(t, 300, root, valset))), "the stale set signed a checkpoint")
	require.True(t, e.submit(t, 300, root, next, sign(t, next, []int{0, 1, 2}, e.hash(t, 300, root, nextHash))))
}

// TestGas measures (and logs, for scripts/bench-anchor.sh) the gas of
// submitCheckpoint with 4 and 100 validators, all signing, and of
// verifyShares for a holder among 100,000 (a 17-level proof); it checks
// only that each call succeeds.
func TestGas(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{4, 100} {
		powers := make([]uint64, n)
		for i := range powers {
			powers[i] = 1 + rng.Uint64N(1000)
		}
		vs := validators(t, powers...)
		e := deploy(t, vs)
		_, _, signers := set(vs)
		valset, err := anchortypes.ValsetHash(signers, powerOf(signers))
		require.NoError(t, err)
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		root := merkle.Hash{7}
		addrs, pw, _ := set(vs)
		opts := *e.auth
		opts.GasLimit = 16_000_000 // the simulated chain caps a transaction at 2^24
		tx, err := e.contract.SubmitCheckpoint(&opts, 1, root, addrs, pw, sum(vs), sign(t, vs, all, e.hash(t, 1, root, valset)))
		require.NoError(t, err)
		e.backend.Commit()
		rcpt, err := bind.WaitMined(context.Background(), e.backend.Client(), tx)
		require.NoError(t, err)
		require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
		t.Logf("gas submitCheckpoint validators=%d signatures=%d gas=%d", n, n, rcpt.GasUsed)
	}
	// verifyShares of one holder among 100,000: its gas as a transaction's
	// would be (eth_estimateGas of the view call).
	vs := validators(t, 1)
	e := deploy(t, vs)
	bs, tree := holders(t, rng, 3, 100_000)
	models := merkle.Build([]merkle.Hash{merkle.ModelLeaf(3, tree.Root())})
	_, _, signers := set(vs)
	valset, err := anchortypes.ValsetHash(signers, powerOf(signers))
	require.NoError(t, err)
	require.True(t, e.submit(t, 1, models.Root(), vs, sign(t, vs, []int{0}, e.hash(t, 1, models.Root(), valset))))
	hp, err := tree.Proof(12345)
	require.NoError(t, err)
	mp, err := models.Proof(0)
	require.NoError(t, err)
	ok, err := e.contract.VerifyShares(&bind.CallOpts{}, 3, bs[12345].Holder, bs[12345].Amount, proof32(hp), tree.Root(), proof32(mp))
	require.NoError(t, err)
	require.True(t, ok)
	parsed, err := bindings.ShareAnchorMetaData.GetAbi()
	require.NoError(t, err)
	data, err := parsed.Pack("verifyShares", uint64(3), bs[12345].Holder, bs[12345].Amount, proof32(hp), [32]byte(tree.Root()), proof32(mp))
	require.NoError(t, err)
	to := e.contractAddr
	gas, err := e.backend.Client().EstimateGas(context.Background(), ethereum.CallMsg{To: &to, Data: data})
	require.NoError(t, err)
	t.Logf("gas verifyShares holders=100000 proof=%d gas=%d", len(hp), gas)
}

// TestTreapProofsVerifyOnChain: proofs from the incremental share tree
// (merkle.Treap, any shape) verify in the contract unchanged.
func TestTreapProofsVerifyOnChain(t *testing.T) {
	vs := validators(t, 1)
	e := deploy(t, vs)
	rng := rand.New(rand.NewPCG(11, 12))
	bs, _ := holders(t, rng, 4, 64)
	tr := merkle.NewTreap(4)
	for _, b := range bs {
		require.NoError(t, tr.Set(b.Holder, b.Amount))
	}
	trRoot, err := tr.Root()
	require.NoError(t, err)
	models := merkle.Build([]merkle.Hash{merkle.ModelLeaf(4, trRoot)})
	_, _, signers := set(vs)
	valset, err := anchortypes.ValsetHash(signers, powerOf(signers))
	require.NoError(t, err)
	require.True(t, e.submit(t, 1, models.Root(), vs, sign(t, vs, []int{0}, e.hash(t, 1, models.Root(), valset))))
	mp, err := models.Proof(0)
	require.NoError(t, err)
	for _, b := range bs[:10] {
		_, hp, err := tr.Proof(b.Holder)
		require.NoError(t, err)
		ok, err := e.contract.VerifyShares(&bind.CallOpts{}, 4, b.Holder, b.Amount, proof32(hp), trRoot, proof32(mp))
		require.NoError(t, err)
		require.True(t, ok, "holder %x", b.Holder)
	}
}

// powerOf sums a set's powers: its total where every validator has a key.
func powerOf(set []anchortypes.EthSigner) uint64 {
	var t uint64
	for _, s := range set {
		t += s.Power
	}
	return t
}

// A checkpoint needs signatures of more than 2/3 of the chain's total bonded power, not of the
// validators that registered keys: with keys on 70 of 100 power, 60 signing (6/7 of the keyed
// set) is refused and 70 accepted; a set whose keys hold 2/3 of the power or less is refused
// at deployment and at a hand-over, so the first validators to register keys cannot sign share
// roots alone.
func TestTotalPowerQuorum(t *testing.T) {
	vs := validators(t, 40, 20, 10)
	e := deployWith(t, vs, 100)
	call := &bind.CallOpts{}
	total, err := e.contract.TotalPower(call)
	require.NoError(t, err)
	require.Equal(t, uint64(100), total.Uint64())
	_, _, signers := set(vs)
	valset, err := anchortypes.ValsetHash(signers, 100)
	require.NoError(t, err)
	root := merkle.Hash{7}
	digest := e.hash(t, 10, root, valset)
	without := func(power uint64) []int {
		var out []int
		for i, v := range vs {
			if v.power != power {
				out = append(out, i)
			}
		}
		return out
	}
	require.False(t, e.submitWith(t, 10, root, vs, 100, sign(t, vs, without(10), digest)), "60 of 100 bonded power accepted")
	// A hand-over to a set whose keys hold 60 of 100 power: refused whoever signs it.
	small := validators(t, 40, 20)
	_, _, smallSigners := set(small)
	smallHash, err := anchortypes.ValsetHash(smallSigners, 100)
	require.NoError(t, err)
	require.False(t, e.submitWith(t, 10, root, small, 100, sign(t, vs, []int{0, 1, 2}, e.hash(t, 10, root, smallHash))), "a hand-over to 60 of 100")
	require.True(t, e.submitWith(t, 10, root, vs, 100, sign(t, vs, []int{0, 1, 2}, digest)))

	// Deploying with keys on 2/3 of the power or less fails.
	_, rcpt := deployReceipt(t, small, 90)
	require.Equal(t, types.ReceiptStatusFailed, rcpt.Status, "a contract whose keyed set holds 60 of 90 power")
}

// TestCheckpointBoundToDeployment: a checkpoint counts on the one contract, on the one
// Ethereum chain, the chain signed it for. Signatures for another address (a second deployment
// of the same contract for the same chain, with the same validators), for another Ethereum
// chain id, or for no contract (a chain whose governance named none yet) are refused.
func TestCheckpointBoundToDeployment(t *testing.T) {
	vs := validators(t, 10, 20, 30, 40)
	e := deploy(t, vs)
	other := deploy(t, vs) // the same validators, another contract
	_, _, signers := set(vs)
	valset, err := anchortypes.ValsetHash(signers, powerOf(signers))
	require.NoError(t, err)
	root := merkle.Hash{7}
	all := []int{0, 1, 2, 3}
	d := e.deployment(t)

	forOther := anchortypes.CheckpointHash(chainID, other.deployment(t), 5, root, valset)
	require.False(t, e.submit(t, 5, root, vs, sign(t, vs, all, forOther)), "a checkpoint signed for another contract accepted")
	otherChain := anchortypes.NewDeployment(d.EthereumChainId+1, e.contractAddr)
	require.False(t, e.submit(t, 5, root, vs, sign(t, vs, all, anchortypes.CheckpointHash(chainID, otherChain, 5, root, valset))),
		"a checkpoint signed for this address on another Ethereum chain accepted")
	require.False(t, e.submit(t, 5, root, vs, sign(t, vs, all, anchortypes.CheckpointHash(chainID, anchortypes.Deployment{}, 5, root, valset))),
		"a checkpoint signed for no contract accepted")

	require.True(t, e.submit(t, 5, root, vs, sign(t, vs, all, e.hash(t, 5, root, valset))))
	require.True(t, other.submit(t, 5, root, vs, sign(t, vs, all, forOther)), "each contract takes its own")
}
