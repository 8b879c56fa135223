package app_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/x/anchor/bindings"
	anchorcli "github.com/protolearn/protolearn/x/anchor/client/cli"
	"github.com/protolearn/protolearn/x/anchor/relayer"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
	"github.com/protolearn/protolearn/x/anchor/votes"
)

// anchorVal is a validator of the anchor tests: operator account, consensus key, Ethereum key.
type anchorVal struct {
	op    *account
	cons  cmted25519.PrivKey
	eth   *ecdsa.PrivateKey
	power int64
}

func (v *anchorVal) consAddr() []byte { return v.cons.PubKey().Address() }
func (v *anchorVal) valoper() string  { return sdk.ValAddress(v.op.addr).String() }

// startAnchorChain: validators with the given powers, the first keyed of them with anchor keys
// in genesis, anchor_interval 2, and share/1 given to holders; its governance has named no
// contract yet.
func startAnchorChain(t *testing.T, powers []int64, keyed int, holders map[string]int64, extra ...*account) (*chain, []*anchorVal) {
	t.Helper()
	return startAnchorChainFor(t, nil, powers, keyed, holders, extra...)
}

// startAnchorChainFor is startAnchorChain whose genesis names the contract e's relayer account
// deploys with its next transaction (none if e is nil).
func startAnchorChainFor(t *testing.T, e *eth, powers []int64, keyed int, holders map[string]int64, extra ...*account) (*chain, []*anchorVal) {
	t.Helper()
	var vals []*anchorVal
	var cmtVals []*cmttypes.Validator
	accounts := append([]*account(nil), extra...)
	for i, p := range powers {
		eth, err := crypto.GenerateKey()
		require.NoError(t, err)
		v := &anchorVal{op: newAccount(uint64(len(extra) + i)), cons: cmted25519.GenPrivKey(), eth: eth, power: p}
		vals = append(vals, v)
		cmtVals = append(cmtVals, cmttypes.NewValidator(v.cons.PubKey(), p))
		accounts = append(accounts, v.op)
	}
	a := newApp(t)
	valSet := cmttypes.NewValidatorSet(cmtVals)
	var genAccs []authtypes.GenesisAccount
	var balances []banktypes.Balance
	for _, acc := range accounts {
		genAccs = append(genAccs, authtypes.NewBaseAccount(acc.addr, acc.priv.PubKey(), acc.number, 0))
		balances = append(balances, banktypes.Balance{Address: acc.addr.String(), Coins: sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1_000_000_000))})
	}
	gen, err := simtestutil.GenesisStateWithValSet(a.AppCodec(), a.DefaultGenesis(), valSet, genAccs, balances...)
	require.NoError(t, err)
	cdc := a.AppCodec()

	// Operators we hold keys for, and the powers we want (the helper gives each power 1).
	var staking stakingtypes.GenesisState
	cdc.MustUnmarshalJSON(gen[stakingtypes.ModuleName], &staking)
	byCons := map[string]*anchorVal{}
	for _, v := range vals {
		byCons[sdk.ValAddress(v.consAddr()).String()] = v
	}
	bonded := sdkmath.ZeroInt()
	for i := range staking.Validators {
		v := byCons[staking.Validators[i].OperatorAddress]
		tokens := sdk.DefaultPowerReduction.MulRaw(v.power)
		staking.Validators[i].OperatorAddress = v.valoper()
		staking.Validators[i].Tokens = tokens
		staking.Validators[i].DelegatorShares = sdkmath.LegacyNewDecFromInt(tokens)
		staking.Delegations[i].ValidatorAddress = v.valoper()
		staking.Delegations[i].Shares = sdkmath.LegacyNewDecFromInt(tokens)
		bonded = bonded.Add(tokens)
	}
	gen[stakingtypes.ModuleName] = cdc.MustMarshalJSON(&staking)
	var bank banktypes.GenesisState
	cdc.MustUnmarshalJSON(gen[banktypes.ModuleName], &bank)
	pool := authtypes.NewModuleAddress(stakingtypes.BondedPoolName).String()
	for i := range bank.Balances {
		if bank.Balances[i].Address == pool {
			// The helper counted one power unit per validator in the supply, but put only one in the pool.
			extra := bonded.Sub(sdk.DefaultPowerReduction.MulRaw(int64(len(vals))))
			bank.Balances[i].Coins = sdk.NewCoins(sdk.NewCoin(app.BondDenom, bonded))
			bank.Supply = bank.Supply.Add(sdk.NewCoin(app.BondDenom, extra))
		}
	}
	gen[banktypes.ModuleName] = cdc.MustMarshalJSON(&bank)
	genesisModel(t, accounts[0].addr, holders)(a, gen)

	var anchor anchortypes.GenesisState
	cdc.MustUnmarshalJSON(gen[anchortypes.ModuleName], &anchor)
	anchor.Params.AnchorInterval = 2
	if e != nil {
		anchor.Params.Deployment = e.next(t)
	}
	for _, v := range vals[:keyed] {
		anchor.Keys = append(anchor.Keys, anchortypes.AnchorKey{ValidatorAddress: v.valoper(), EthAddress: crypto.PubkeyToAddress(v.eth.PublicKey).Hex()})
	}
	gen[anchortypes.ModuleName] = cdc.MustMarshalJSON(&anchor)

	state, err := json.Marshal(gen)
	require.NoError(t, err)
	c := &chain{t: t, app: a, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), valSet: valSet}
	c.initChain(state)
	return c, vals
}

// consensusBlock runs one height as CometBFT would with vote extensions: the signers extend
// their precommits of the last block (and every validator's VerifyVoteExtension accepts
// them), the proposer prepares the block from that commit, the block passes ProcessProposal,
// and is finalized and committed with txs.
func (c *chain) consensusBlock(signers []*anchorVal, txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	ctx := c.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: c.app.LastBlockHeight()})
	var commit []abci.ExtendedVoteInfo
	for _, v := range signers {
		h := votes.NewExtensionHandler(c.app.AnchorKeeper, v.eth, c.app.Logger())
		ext, err := h.ExtendVote(ctx, &abci.RequestExtendVote{Height: c.app.LastBlockHeight()})
		require.NoError(c.t, err)
		verdict, err := h.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{ValidatorAddress: v.consAddr(), VoteExtension: ext.VoteExtension})
		require.NoError(c.t, err)
		require.Equal(c.t, abci.ResponseVerifyVoteExtension_ACCEPT, verdict.Status)
		commit = append(commit, abci.ExtendedVoteInfo{
			Validator: abci.Validator{Address: v.consAddr(), Power: v.power}, VoteExtension: ext.VoteExtension, BlockIdFlag: cmtproto.BlockIDFlagCommit,
		})
	}
	height := c.app.LastBlockHeight() + 1
	c.time = c.time.Add(time.Second)
	prep, err := c.app.PrepareProposal(&abci.RequestPrepareProposal{
		MaxTxBytes: 1 << 20, Txs: txs, LocalLastCommit: abci.ExtendedCommitInfo{Votes: commit},
		Height: height, Time: c.time, NextValidatorsHash: c.valSet.Hash(), ProposerAddress: signers[0].consAddr(),
	})
	require.NoError(c.t, err)
	c.requireProposal(prep.Txs, abci.ResponseProcessProposal_ACCEPT)
	res, err := c.app.FinalizeBlock(&abci.RequestFinalizeBlock{Height: height, Time: c.time, Txs: prep.Txs, NextValidatorsHash: c.valSet.Hash()})
	require.NoError(c.t, err)
	_, err = c.app.Commit()
	require.NoError(c.t, err)
	if _, injected, _ := votes.Injected(prep.Txs); injected {
		return res.TxResults[1:]
	}
	return res.TxResults
}

func (c *chain) requireProposal(txs [][]byte, want abci.ResponseProcessProposal_ProposalStatus) {
	c.t.Helper()
	res, err := c.app.ProcessProposal(&abci.RequestProcessProposal{
		Txs: txs, Height: c.app.LastBlockHeight() + 1, Time: c.time, NextValidatorsHash: c.valSet.Hash(),
	})
	require.NoError(c.t, err)
	require.Equal(c.t, want, res.Status)
}

// signedTx is a signed tx of msgs from from, not yet in a block.
func (c *chain) signedTx(from *account, msgs ...sdk.Msg) []byte {
	c.t.Helper()
	bz := c.encodeTx(from, msgs...)
	from.seq++
	return bz
}

func (c *chain) checkpoint(height uint64) anchortypes.QueryCheckpointResponse {
	c.t.Helper()
	var res anchortypes.QueryCheckpointResponse
	require.NoError(c.t, c.query("/protolearn.anchor.v1.Query/Checkpoint", &anchortypes.QueryCheckpointRequest{Height: height}, &res))
	return res
}

func (c *chain) source() relayer.Source {
	return func(context.Context) ([]anchortypes.Checkpoint, error) {
		var res anchortypes.QueryCheckpointsResponse
		if err := c.query("/protolearn.anchor.v1.Query/Checkpoints", &anchortypes.QueryCheckpointsRequest{}, &res); err != nil {
			return nil, err
		}
		cps := res.Checkpoints
		for i, j := 0, len(cps)-1; i < j; i, j = i+1, j-1 {
			cps[i], cps[j] = cps[j], cps[i]
		}
		return cps, nil
	}
}

// eth is a simulated Ethereum chain and a funded relayer account.
type eth struct {
	sim  *simulated.Backend
	auth *bind.TransactOpts
}

func newEth(t *testing.T) *eth {
	t.Helper()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim := simulated.NewBackend(ethtypes.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	t.Cleanup(func() { sim.Close() })
	id, err := sim.Client().ChainID(context.Background())
	require.NoError(t, err)
	auth, err := bind.NewKeyedTransactorWithChainID(key, id)
	require.NoError(t, err)
	return &eth{sim: sim, auth: auth}
}

// next is the deployment e's account creates with its next transaction.
func (e *eth) next(t *testing.T) anchortypes.Deployment {
	t.Helper()
	d, err := relayer.Predict(context.Background(), e.sim.Client(), e.auth.From)
	require.NoError(t, err)
	return d
}

// nameDeployment has the chain's governance name d (the validators' operators, who hold all
// the stake, vote yes) and runs blocks until a checkpoint signed for d is ready, which it
// returns.
func (c *chain) nameDeployment(vals []*anchorVal, d anchortypes.Deployment) anchortypes.Checkpoint {
	c.t.Helper()
	var params anchortypes.QueryParamsResponse
	require.NoError(c.t, c.query("/protolearn.anchor.v1.Query/Params", &anchortypes.QueryParamsRequest{}, &params))
	p := params.Params
	p.Deployment = d
	var gov govv1.QueryParamsResponse
	require.NoError(c.t, c.query("/cosmos.gov.v1.Query/Params", &govv1.QueryParamsRequest{}, &gov))
	update := &anchortypes.MsgUpdateParams{Authority: authtypes.NewModuleAddress(govtypes.ModuleName).String(), Params: p}
	proposal, err := govv1.NewMsgSubmitProposal([]sdk.Msg{update}, gov.Params.MinDeposit, vals[0].op.addr.String(), "", "Anchor on Ethereum", "Name the ShareAnchor deployment.", false)
	require.NoError(c.t, err)
	txs := [][]byte{c.signedTx(vals[0].op, proposal)}
	var id uint64
	var proposals govv1.QueryProposalsResponse
	require.NoError(c.t, c.query("/cosmos.gov.v1.Query/Proposals", &govv1.QueryProposalsRequest{}, &proposals))
	id = uint64(len(proposals.Proposals)) + 1
	for _, v := range vals {
		txs = append(txs, c.signedTx(v.op, govv1.NewMsgVote(v.op.addr, id, govv1.OptionYes, "")))
	}
	for _, res := range c.consensusBlock(vals, txs...) {
		require.Zero(c.t, res.Code, res.Log)
	}
	c.time = c.time.Add(*gov.Params.VotingPeriod) // the tally runs in gov's EndBlock
	for range 10 {
		c.consensusBlock(vals)
		if latest := c.checkpoint(0); latest.Checkpoint.Deployment == d && latest.Ready {
			return latest.Checkpoint
		}
	}
	c.t.Fatalf("no ready checkpoint signed for %v after governance named it", d)
	return anchortypes.Checkpoint{}
}

// mine is the relayer's Wait on the simulated chain: mine a block, then read the receipt.
func (e *eth) mine(ctx context.Context, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
	e.sim.Commit()
	return bind.WaitMined(ctx, e.sim.Client(), tx)
}

// verifyOnEthereum asks the contract whether holder's current share-proof verifies, through
// the calldata share-proof prints.
func verifyOnEthereum(t *testing.T, c *chain, e *eth, contract common.Address, holder sdk.AccAddress) (anchorcli.ShareProofJSON, bool) {
	t.Helper()
	var res anchortypes.QueryShareProofResponse
	require.NoError(t, c.query("/protolearn.anchor.v1.Query/ShareProof", &anchortypes.QueryShareProofRequest{ModelId: 1, Holder: holder.String()}, &res))
	out, err := anchorcli.ShareProofOutput(&res)
	require.NoError(t, err)
	data, err := hexutil.Decode(out.Calldata)
	require.NoError(t, err)
	ret, err := e.sim.Client().CallContract(context.Background(), ethereum.CallMsg{To: &contract, Data: data}, nil)
	require.NoError(t, err)
	return out, new(big.Int).SetBytes(ret).Sign() == 1
}

// The whole path: the chain checkpoints share balances and validators sign them in vote
// extensions, for no contract at first; governance names the contract a relayer's account
// deploys next; the next checkpoint is signed for it, the contract is deployed with its signing
// set, the relayer submits to it on a simulated Ethereum chain, and a holder's proof from
// share-proof verifies there; a validator registering its key hands the contract over to the
// new set, which signs the next checkpoint; a stale balance stops verifying.
func TestSharesAnchoredOnEthereum(t *testing.T) {
	alice, bob, carol := newAccount(0), newAccount(1), newAccount(2)
	c, vals := startAnchorChain(t, []int64{4, 3, 2, 1}, 3, map[string]int64{
		alice.addr.String(): 3_000_000, bob.addr.String(): 1_000_000,
	}, alice, bob, carol)

	// Genesis shares are pending until the first checkpoint (height 2); then two blocks of
	// vote extensions sign it.
	for c.app.LastBlockHeight() < 4 {
		c.consensusBlock(vals[:3])
	}
	first := c.checkpoint(0)
	require.Equal(t, uint64(2), first.Checkpoint.Height)
	require.True(t, first.Ready, "signed by %d of 3 keyed validators, power %d", len(first.Checkpoint.Signatures), first.Checkpoint.SignedPower)
	require.Len(t, first.Checkpoint.NextSet, 3, "the validator without a key is not in the set")
	require.Len(t, first.Checkpoint.Models, 1)
	require.Equal(t, uint64(2), first.Checkpoint.Models[0].Holders)
	require.True(t, first.Checkpoint.Deployment.IsZero(), "no contract named yet")

	e := newEth(t)
	ctx := context.Background()
	_, err := relayer.Deploy(ctx, e.auth, e.sim.Client(), app.DefaultChainID, first.Checkpoint, e.mine)
	require.ErrorContains(t, err, "signed for no contract", "no contract is deployed for checkpoints signed for none")
	bound := c.nameDeployment(vals[:3], e.next(t))
	require.Greater(t, bound.Height, first.Checkpoint.Height, "naming a contract takes a checkpoint signed for it, though no balance moved")
	contract, err := relayer.Deploy(ctx, e.auth, e.sim.Client(), app.DefaultChainID, bound, e.mine)
	require.NoError(t, err)
	require.Equal(t, bound.Deployment.Contract(), contract)
	r := &relayer.Relayer{Source: c.source(), Backend: e.sim.Client(), Address: contract, Auth: e.auth, Wait: e.mine}
	sent, err := r.Step(ctx)
	require.NoError(t, err)
	require.NotNil(t, sent)
	require.Equal(t, bound.Height, sent.Height)
	again, err := r.Step(ctx)
	require.NoError(t, err)
	require.Nil(t, again, "nothing new: the relayer must not submit the checkpoint twice")

	out, ok := verifyOnEthereum(t, c, e, contract, alice.addr)
	stale := out
	require.True(t, ok, "alice's proof verifies on the contract")
	require.Equal(t, "3000000", out.Balance)
	require.Equal(t, bound.Height, out.CheckpointHeight)

	// Validator 4 registers its key: the validator set changes.
	v4 := vals[3]
	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v4.valoper(), v4.op.addr, v4.eth)
	require.NoError(t, err)
	res := c.consensusBlock(vals[:3], c.signedTx(v4.op, msg))
	require.Zero(t, res[0].Code, res[0].Log)
	if c.app.LastBlockHeight()%2 == 1 {
		c.consensusBlock(vals) // to the next checkpoint height
	}
	handover := c.checkpoint(0)
	require.Equal(t, uint64(c.app.LastBlockHeight()), handover.Checkpoint.Height, "the hand-over checkpoint, signed by the three")
	require.Len(t, handover.Checkpoint.SigningSet, 3)
	require.Len(t, handover.Checkpoint.NextSet, 4)
	// Then alice moves shares to carol.
	res = c.consensusBlock(vals[:3], c.signedTx(alice, banktypes.NewMsgSend(alice.addr, carol.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1_000_000)))))
	require.Zero(t, res[0].Code, res[0].Log)
	for range 6 {
		c.consensusBlock(vals) // all four sign what they are in the signing set of
	}
	latest := c.checkpoint(0)
	require.Len(t, latest.Checkpoint.NextSet, 4)
	require.Len(t, latest.Checkpoint.SigningSet, 4, "after the hand-over the four sign")
	require.True(t, latest.Ready)

	// The relayer follows: the hand-over checkpoint first (signed by the old set), then the
	// newest one (signed by the new set).
	var heights []uint64
	for {
		sent, err := r.Step(ctx)
		require.NoError(t, err)
		if sent == nil {
			break
		}
		heights = append(heights, sent.Height)
	}
	require.GreaterOrEqual(t, len(heights), 2, "hand-over then newest: %v", heights)
	require.Equal(t, latest.Checkpoint.Height, heights[len(heights)-1])
	onChain, err := bindings.NewShareAnchor(contract, e.sim.Client())
	require.NoError(t, err)
	total, err := onChain.TotalPower(&bind.CallOpts{})
	require.NoError(t, err)
	require.Equal(t, int64(10), total.Int64(), "the contract follows the validator-set change")

	out, ok = verifyOnEthereum(t, c, e, contract, carol.addr)
	require.True(t, ok)
	require.Equal(t, "1000000", out.Balance)
	out, ok = verifyOnEthereum(t, c, e, contract, alice.addr)
	require.True(t, ok)
	require.Equal(t, "2000000", out.Balance)

	// alice's old balance with its old proof no longer verifies.
	data, err := hexutil.Decode(stale.Calldata)
	require.NoError(t, err)
	ret, err := e.sim.Client().CallContract(ctx, ethereum.CallMsg{To: &contract, Data: data}, nil)
	require.NoError(t, err)
	require.Zero(t, new(big.Int).SetBytes(ret).Sign(), "a balance from an older checkpoint must not verify")
}

// injectedTx encodes signatures as a proposer's first tx.
func injectedTx(t *testing.T, sigs ...anchortypes.VoteExtension) []byte {
	t.Helper()
	bz, err := (&anchortypes.InjectedSignatures{Signatures: sigs}).Marshal()
	require.NoError(t, err)
	return append(append([]byte(nil), votes.InjectedPrefix...), bz...)
}

func signCheckpoint(t *testing.T, key *ecdsa.PrivateKey, c anchortypes.Checkpoint) anchortypes.VoteExtension {
	t.Helper()
	sig, err := anchortypes.Sign(key, [32]byte(c.Hash))
	require.NoError(t, err)
	return anchortypes.VoteExtension{Height: c.Height, Signature: sig}
}

// Bad signatures never reach a checkpoint: ProcessProposal refuses forged, repeated, misplaced
// and malformed ones; VerifyVoteExtension refuses another validator's key and garbage; an
// under-signed checkpoint is not relayed and the contract refuses it if forced.
func TestAnchorRefusesBadSignatures(t *testing.T) {
	alice := newAccount(0)
	e := newEth(t)
	c, vals := startAnchorChainFor(t, e, []int64{4, 3, 2}, 3, map[string]int64{alice.addr.String(): 5}, alice)
	c.consensusBlock(vals[:1]) // height 2: first checkpoint, nobody signs it yet
	cp := c.checkpoint(2).Checkpoint
	require.Empty(t, cp.Signatures)

	stranger, err := crypto.GenerateKey()
	require.NoError(t, err)
	good := signCheckpoint(t, vals[1].eth, cp)
	wrongDigest := cp
	wrongDigest.Hash = crypto.Keccak256([]byte("another root"))
	for name, txs := range map[string][][]byte{
		"a stranger's signature":      {injectedTx(t, signCheckpoint(t, stranger, cp))},
		"a signature of another hash": {injectedTx(t, signCheckpoint(t, vals[0].eth, wrongDigest))},
		"the same signature twice":    {injectedTx(t, good, good)},
		"a checkpoint never taken":    {injectedTx(t, anchortypes.VoteExtension{Height: 3, Signature: good.Signature})},
		"signatures not first":        {c.signedTx(alice, banktypes.NewMsgSend(alice.addr, alice.addr, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1)))), injectedTx(t, good)},
		"a malformed signatures tx":   {append(append([]byte(nil), votes.InjectedPrefix...), 0xff, 0xff)},
		"a truncated signature":       {injectedTx(t, anchortypes.VoteExtension{Height: 2, Signature: good.Signature[:64]})},
	} {
		t.Run(name, func(t *testing.T) { c.requireProposal(txs, abci.ResponseProcessProposal_REJECT) })
	}
	c.requireProposal([][]byte{injectedTx(t, good)}, abci.ResponseProcessProposal_ACCEPT)

	ctx := c.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: c.app.LastBlockHeight()})
	h := votes.NewExtensionHandler(c.app.AnchorKeeper, nil, c.app.Logger())
	good0 := signCheckpoint(t, vals[0].eth, cp)
	ext0, err := good0.Marshal()
	require.NoError(t, err)
	for name, req := range map[string]*abci.RequestVerifyVoteExtension{
		"validator 1 sending validator 0's signature": {ValidatorAddress: vals[1].consAddr(), VoteExtension: ext0},
		"garbage":   {ValidatorAddress: vals[0].consAddr(), VoteExtension: []byte{0xff, 0x01, 0x02}},
		"oversized": {ValidatorAddress: vals[0].consAddr(), VoteExtension: make([]byte, votes.MaxExtensionBytes+1)},
	} {
		res, err := h.VerifyVoteExtension(ctx, req)
		require.NoError(t, err)
		require.Equal(t, abci.ResponseVerifyVoteExtension_REJECT, res.Status, name)
	}
	res, err := h.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{ValidatorAddress: vals[0].consAddr(), VoteExtension: ext0})
	require.NoError(t, err)
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, res.Status)

	// Only the power-4 validator signs: 4 of 9 is not more than 2/3.
	c.consensusBlock(vals[:1])
	c.consensusBlock(vals[:1])
	cp = c.checkpoint(2).Checkpoint
	require.Len(t, cp.Signatures, 1)
	require.False(t, c.checkpoint(2).Ready)
	bg := context.Background()
	contract, err := relayer.Deploy(bg, e.auth, e.sim.Client(), app.DefaultChainID, cp, e.mine)
	require.NoError(t, err)
	r := &relayer.Relayer{Source: c.source(), Backend: e.sim.Client(), Address: contract, Auth: e.auth, Wait: e.mine}
	sent, err := r.Step(bg)
	require.NoError(t, err)
	require.Nil(t, sent, "an under-signed checkpoint is not relayed")
	args, err := relayer.Args(cp)
	require.NoError(t, err)
	onChain, err := bindings.NewShareAnchor(contract, e.sim.Client())
	require.NoError(t, err)
	opts := *e.auth
	opts.GasLimit = 1_000_000
	tx, err := onChain.SubmitCheckpoint(&opts, cp.Height, args.Root, args.Signers, args.Powers, args.Total, args.Sigs)
	require.NoError(t, err)
	rcpt, err := e.mine(bg, tx)
	require.NoError(t, err)
	require.Equal(t, ethtypes.ReceiptStatusFailed, rcpt.Status, "the contract refuses 4/9 of the power")

	// Once two more sign, it is relayed.
	c.consensusBlock(vals)
	c.consensusBlock(vals)
	require.True(t, c.checkpoint(2).Ready)
	sent, err = r.Step(bg)
	require.NoError(t, err)
	require.NotNil(t, sent)
}

// MsgSetAnchorKey needs a validator, a proof signed by the key over this chain and validator,
// and a key no other validator holds.
func TestSetAnchorKeyRefusals(t *testing.T) {
	alice := newAccount(0)
	c, vals := startAnchorChain(t, []int64{1, 1}, 1, map[string]int64{alice.addr.String(): 5}, alice)
	v := vals[1]
	other, err := crypto.GenerateKey()
	require.NoError(t, err)

	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v.valoper(), v.op.addr, v.eth)
	require.NoError(t, err)
	forged := *msg
	forged.EthAddress = crypto.PubkeyToAddress(other.PublicKey).Hex()
	otherChain, err := anchortypes.NewMsgSetAnchorKey("another-chain", v.valoper(), v.op.addr, v.eth)
	require.NoError(t, err)
	taken, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v.valoper(), v.op.addr, vals[0].eth)
	require.NoError(t, err)
	notVal, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, sdk.ValAddress(alice.addr).String(), alice.addr, other)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		from *account
		msg  *anchortypes.MsgSetAnchorKey
		err  error
	}{
		"a proof by another key":     {v.op, &forged, anchortypes.ErrBadKeyProof},
		"a proof for another chain":  {v.op, otherChain, anchortypes.ErrBadKeyProof},
		"another validator's key":    {v.op, taken, anchortypes.ErrKeyTaken},
		"not a validator":            {alice, notVal, anchortypes.ErrNotValidator},
		"a truncated proof":          {v.op, &anchortypes.MsgSetAnchorKey{ValidatorAddress: msg.ValidatorAddress, EthAddress: msg.EthAddress, Proof: msg.Proof[:10]}, anchortypes.ErrBadKeyProof},
		"an address that is not hex": {v.op, &anchortypes.MsgSetAnchorKey{ValidatorAddress: msg.ValidatorAddress, EthAddress: "0xnothex", Proof: msg.Proof}, anchortypes.ErrInvalidEthAddress},
	} {
		res := c.send(tc.from, tc.msg)
		require.Equal(t, tc.err.(interface{ ABCICode() uint32 }).ABCICode(), res.Code, "%s: %s", name, res.Log)
	}
	require.Zero(t, c.send(v.op, msg).Code)
	var keys anchortypes.QueryAnchorKeysResponse
	require.NoError(t, c.query("/protolearn.anchor.v1.Query/AnchorKeys", &anchortypes.QueryAnchorKeysRequest{}, &keys))
	require.Len(t, keys.Keys, 2)

	// Rotation frees the old key for nobody else but replaces it.
	rotated, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, v.valoper(), v.op.addr, other)
	require.NoError(t, err)
	require.Zero(t, c.send(v.op, rotated).Code)
	var set anchortypes.QueryValsetResponse
	require.NoError(t, c.query("/protolearn.anchor.v1.Query/Valset", &anchortypes.QueryValsetRequest{}, &set))
	require.Len(t, set.Signers, 2)
	require.Contains(t, []string{set.Signers[0].EthAddress, set.Signers[1].EthAddress}, crypto.PubkeyToAddress(other.PublicKey).Hex())
}

// Export and import keep the checkpoints, keys, pending holders and the share trees: the
// imported chain proves the same balances against the same roots.
func TestAnchorExportImport(t *testing.T) {
	alice, bob := newAccount(0), newAccount(1)
	c, vals := startAnchorChain(t, []int64{2, 1}, 2, map[string]int64{alice.addr.String(): 7, bob.addr.String(): 9}, alice, bob)
	for c.app.LastBlockHeight() < 4 {
		c.consensusBlock(vals)
	}
	// A pending change not yet checkpointed.
	res := c.consensusBlock(vals, c.signedTx(alice, banktypes.NewMsgSend(alice.addr, bob.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 2)))))
	require.Zero(t, res[0].Code, res[0].Log)

	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	require.NoError(t, c.app.BasicModuleManager.ValidateGenesis(c.app.AppCodec(), c.app.TxConfig(), state))
	var gs anchortypes.GenesisState
	c.app.AppCodec().MustUnmarshalJSON(state[anchortypes.ModuleName], &gs)
	require.Len(t, gs.Balances, 2)
	require.Len(t, gs.Pending, 2)
	require.Len(t, gs.Keys, 2)

	// A non-zero-height export restarts above its height (x/anchor refuses checkpoints at or
	// above the first height the restarted chain takes one at); here at an odd one, so that its
	// first block takes no checkpoint and the re-export is the export.
	fresh := &chain{t: t, app: newApp(t), time: c.time, valSet: c.valSet, initialHeight: c.app.LastBlockHeight() + 2}
	fresh.initChain(exported.AppState)
	reexported, err := fresh.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var again map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(reexported.AppState, &again))
	require.JSONEq(t, string(state[anchortypes.ModuleName]), string(again[anchortypes.ModuleName]))
	for _, holder := range []sdk.AccAddress{alice.addr, bob.addr} {
		var a, b anchortypes.QueryShareProofResponse
		require.NoError(t, c.query("/protolearn.anchor.v1.Query/ShareProof", &anchortypes.QueryShareProofRequest{ModelId: 1, Holder: holder.String()}, &a))
		require.NoError(t, fresh.query("/protolearn.anchor.v1.Query/ShareProof", &anchortypes.QueryShareProofRequest{ModelId: 1, Holder: holder.String()}, &b))
		require.Equal(t, a, b)
	}
}
