package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/gogoproto/proto"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log"
	"cosmossdk.io/x/feegrant"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"

	"github.com/protolearn/protolearn/app"
	computetestutil "github.com/protolearn/protolearn/x/compute/testutil"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
)

// chain drives an App in-process through ABCI, as CometBFT would, with real signed txs.
type chain struct {
	t      testing.TB
	app    *app.App
	time   time.Time
	valSet *cmttypes.ValidatorSet
	// initialHeight is the first block's height, for a chain started from an exported genesis.
	initialHeight int64
	// last is the response to the last block, initChain's first included.
	last *abci.ResponseFinalizeBlock
}

type account struct {
	priv   *secp256k1.PrivKey
	addr   sdk.AccAddress
	number uint64
	seq    uint64
}

func newAccount(number uint64) *account {
	return newAccountFrom(nil, number)
}

// newAccountFrom is newAccount with its key drawn from keys (nil: crypto/rand), so that a seeded
// test makes the same addresses again.
func newAccountFrom(keys io.Reader, number uint64) *account {
	priv := secp256k1.GenPrivKey()
	if keys != nil {
		secret := make([]byte, 32)
		if _, err := io.ReadFull(keys, secret); err != nil {
			panic(err)
		}
		priv = secp256k1.GenPrivKeyFromSecret(secret)
	}
	return &account{priv: priv, addr: sdk.AccAddress(priv.PubKey().Address()), number: number}
}

func newApp(t testing.TB) *app.App {
	t.Helper()
	a, err := app.New(log.NewNopLogger(), dbm.NewMemDB(), nil, true, app.AppOptions{flags.FlagHome: t.TempDir()},
		baseapp.SetChainID(app.DefaultChainID))
	require.NoError(t, err)
	return a
}

// startChain builds genesis with one validator and the given accounts, each funded with funds ulearn.
func startChain(t testing.TB, funds int64, accounts ...*account) *chain {
	t.Helper()
	return startChainWith(t, funds, nil, accounts...)
}

// startChainWith is startChain with a last edit of the genesis app state.
func startChainWith(t testing.TB, funds int64, edit func(a *app.App, gen map[string]json.RawMessage), accounts ...*account) *chain {
	t.Helper()
	a := newApp(t)
	valSet := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(cmted25519.GenPrivKey().PubKey(), 1)})
	var genAccs []authtypes.GenesisAccount
	var balances []banktypes.Balance
	for _, acc := range accounts {
		genAccs = append(genAccs, authtypes.NewBaseAccount(acc.addr, acc.priv.PubKey(), acc.number, 0))
		balances = append(balances, banktypes.Balance{Address: acc.addr.String(), Coins: sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, funds))})
	}
	gen, err := simtestutil.GenesisStateWithValSet(a.AppCodec(), a.DefaultGenesis(), valSet, genAccs, balances...)
	require.NoError(t, err)
	if edit != nil {
		edit(a, gen)
	}
	state, err := json.Marshal(gen)
	require.NoError(t, err)
	c := &chain{t: t, app: a, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), valSet: valSet}
	c.initChain(state)
	return c
}

func (c *chain) initChain(state []byte) {
	c.t.Helper()
	_, err := c.app.InitChain(&abci.RequestInitChain{
		ChainId: app.DefaultChainID, Time: c.time, ConsensusParams: simtestutil.DefaultConsensusParams, AppStateBytes: state,
		InitialHeight: c.initialHeight,
	})
	require.NoError(c.t, err)
	c.block(0)
}

// block finalizes and commits one block, d after the previous one, and returns the tx results.
func (c *chain) block(d time.Duration, txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	return c.finalize(d, txs...).TxResults
}

// finalize is block returning the whole response: the block's own events (BeginBlock and
// EndBlock) beside the tx results.
func (c *chain) finalize(d time.Duration, txs ...[]byte) *abci.ResponseFinalizeBlock {
	c.t.Helper()
	c.time = c.time.Add(d)
	res, err := c.app.FinalizeBlock(&abci.RequestFinalizeBlock{
		Height: max(c.app.LastBlockHeight()+1, c.initialHeight), Time: c.time, Txs: txs, NextValidatorsHash: c.valSet.Hash(),
	})
	require.NoError(c.t, err)
	_, err = c.app.Commit()
	require.NoError(c.t, err)
	c.last = res
	return res
}

// send signs msgs by from and runs them in a block of their own.
func (c *chain) send(from *account, msgs ...sdk.Msg) *abci.ExecTxResult {
	c.t.Helper()
	return c.sendWithFee(from, sdk.NewCoins(), nil, msgs...)
}

// sendWithFee is send with a fee, paid by feeGranter when it is set (x/feegrant).
func (c *chain) sendWithFee(from *account, fee sdk.Coins, feeGranter sdk.AccAddress, msgs ...sdk.Msg) *abci.ExecTxResult {
	c.t.Helper()
	bz := c.encodeTxWithFee(from, fee, feeGranter, msgs...)
	res := c.block(time.Second, bz)[0]
	from.seq++ // the ante handler bumps the sequence even when the msg fails
	return res
}

// encodeTx signs msgs by from at its current sequence, without fee.
func (c *chain) encodeTx(from *account, msgs ...sdk.Msg) []byte {
	c.t.Helper()
	return c.encodeTxWithFee(from, sdk.NewCoins(), nil, msgs...)
}

func (c *chain) encodeTxWithFee(from *account, fee sdk.Coins, feeGranter sdk.AccAddress, msgs ...sdk.Msg) []byte {
	c.t.Helper()
	cfg := c.app.TxConfig()
	txb := cfg.NewTxBuilder()
	require.NoError(c.t, txb.SetMsgs(msgs...))
	txb.SetFeeAmount(fee)
	txb.SetGasLimit(2_000_000)
	txb.SetFeeGranter(feeGranter)
	mode := signing.SignMode(cfg.SignModeHandler().DefaultMode())
	// Signing covers the signer infos, so they go in first with an empty signature.
	require.NoError(c.t, txb.SetSignatures(signing.SignatureV2{
		PubKey: from.priv.PubKey(), Data: &signing.SingleSignatureData{SignMode: mode}, Sequence: from.seq,
	}))
	sig, err := clienttx.SignWithPrivKey(c.t.Context(), mode, authsigning.SignerData{
		ChainID: app.DefaultChainID, AccountNumber: from.number, Sequence: from.seq,
		PubKey: from.priv.PubKey(), Address: from.addr.String(),
	}, txb, from.priv, cfg, from.seq)
	require.NoError(c.t, err)
	require.NoError(c.t, txb.SetSignatures(sig))
	bz, err := cfg.TxEncoder()(txb.GetTx())
	require.NoError(c.t, err)
	return bz
}

// query runs a gRPC query through the app's router, as the node's gRPC server does.
func (c *chain) query(path string, req, resp proto.Message) error {
	c.t.Helper()
	bz, err := proto.Marshal(req)
	require.NoError(c.t, err)
	res, err := c.app.Query(c.t.Context(), &abci.RequestQuery{Path: path, Data: bz})
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("query %s: code %d: %s", path, res.Code, res.Log)
	}
	require.NoError(c.t, proto.Unmarshal(res.Value, resp))
	return nil
}

func (c *chain) worker(op sdk.AccAddress) (computetypes.Worker, error) {
	var res computetypes.QueryWorkerResponse
	err := c.query("/protolearn.compute.v1.Query/Worker", &computetypes.QueryWorkerRequest{Operator: op.String()}, &res)
	return res.Worker, err
}

func (c *chain) balance(addr sdk.AccAddress) int64 {
	var res banktypes.QueryBalanceResponse
	require.NoError(c.t, c.query("/cosmos.bank.v1beta1.Query/Balance",
		&banktypes.QueryBalanceRequest{Address: addr.String(), Denom: app.BondDenom}, &res))
	return res.Balance.Amount.Int64()
}

func registerMsg(t testing.TB, op sdk.AccAddress, stake int64) *computetypes.MsgRegisterWorker {
	return &computetypes.MsgRegisterWorker{
		Operator:   op.String(),
		PeerId:     computetestutil.NewPeerID(t, nil),
		Multiaddrs: []string{"/ip4/127.0.0.1/tcp/4001"},
		Hardware:   computetypes.Hardware{Accelerator: "cpu", MemoryGib: 16, BandwidthMbps: 100},
		Stake:      sdk.NewInt64Coin(app.BondDenom, stake),
	}
}

const minStake = 100_000_000 // x/compute's default min_worker_stake: 100 LEARN

func TestAddressesAndDenoms(t *testing.T) {
	acc := newAccount(0)
	require.Regexp(t, "^learn1", acc.addr.String())
	require.Regexp(t, "^learnvaloper1", sdk.ValAddress(acc.addr).String())
	require.Equal(t, "ulearn", sdk.DefaultBondDenom)

	a := newApp(t)
	gen := a.DefaultGenesis()
	var bank banktypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(gen[banktypes.ModuleName], &bank)
	require.Len(t, bank.DenomMetadata, 1)
	md := bank.DenomMetadata[0]
	require.Equal(t, "ulearn", md.Base)
	require.Equal(t, "LEARN", md.Display)
	require.Equal(t, uint32(6), md.DenomUnits[len(md.DenomUnits)-1].Exponent)
	var compute computetypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(gen[computetypes.ModuleName], &compute)
	require.Equal(t, "ulearn", compute.Params.MinWorkerStake.Denom)
}

func TestRegisterWorkerBySignedTx(t *testing.T) {
	alice := newAccount(0)
	c := startChain(t, 1_000*minStake, alice)

	res := c.send(alice, registerMsg(t, alice.addr, minStake-1))
	require.Equal(t, computetypes.ErrStakeTooLow.ABCICode(), res.Code, res.Log)
	require.Equal(t, computetypes.ModuleName, res.Codespace)
	require.Contains(t, res.Log, "below min_worker_stake 100000000ulearn")
	_, err := c.worker(alice.addr)
	require.ErrorContains(t, err, "no worker registered")

	msg := registerMsg(t, alice.addr, 2*minStake)
	res = c.send(alice, msg)
	require.Zero(t, res.Code, res.Log)
	w, err := c.worker(alice.addr)
	require.NoError(t, err)
	require.Equal(t, msg.PeerId, w.PeerId)
	require.Equal(t, computetypes.WORKER_STATUS_ACTIVE, w.Status)
	require.Equal(t, int64(1_000*minStake-2*minStake), c.balance(alice.addr))

	var sawEvent bool
	for _, ev := range res.Events {
		sawEvent = sawEvent || ev.Type == "protolearn.compute.v1.EventWorkerRegistered"
	}
	require.True(t, sawEvent)

	res = c.send(alice, registerMsg(t, alice.addr, 2*minStake))
	require.Equal(t, computetypes.ErrWorkerExists.ABCICode(), res.Code, res.Log)
}

// Unbonding entries mature in the app's EndBlock by block time, whatever the height.
func TestUnbondingPaysOutInEndBlock(t *testing.T) {
	bob := newAccount(0)
	c := startChain(t, 10*minStake, bob)
	require.Zero(t, c.send(bob, registerMsg(t, bob.addr, 3*minStake)).Code)
	res := c.send(bob, &computetypes.MsgBeginUnbonding{Operator: bob.addr.String(), Amount: sdk.NewInt64Coin(app.BondDenom, minStake)})
	require.Zero(t, res.Code, res.Log)
	before := c.balance(bob.addr)

	c.block(computetypes.DefaultUnbondingTime - time.Minute)
	require.Equal(t, before, c.balance(bob.addr), "not yet mature")
	c.block(time.Minute)
	require.Equal(t, before+minStake, c.balance(bob.addr), "paid out at maturity")
	w, err := c.worker(bob.addr)
	require.NoError(t, err)
	require.Equal(t, int64(2*minStake), w.Bonded.Amount.Int64())
}

// The whole app state exports, validates, and imports into a fresh node with x/compute intact.
func TestExportImportRoundTrip(t *testing.T) {
	alice, bob := newAccount(0), newAccount(1)
	c := startChain(t, 10*minStake, alice, bob)
	require.Zero(t, c.send(alice, registerMsg(t, alice.addr, 3*minStake)).Code)
	require.Zero(t, c.send(bob, registerMsg(t, bob.addr, 2*minStake)).Code)
	require.Zero(t, c.send(bob, &computetypes.MsgBeginUnbonding{Operator: bob.addr.String(), Amount: sdk.NewInt64Coin(app.BondDenom, minStake)}).Code)

	for _, zeroHeight := range []bool{false, true} {
		exported, err := c.app.ExportAppStateAndValidators(zeroHeight, nil, nil)
		require.NoError(t, err, "zero height %v", zeroHeight)
		var state map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(exported.AppState, &state))
		require.NoError(t, c.app.BasicModuleManager.ValidateGenesis(c.app.AppCodec(), c.app.TxConfig(), state))

		fresh := &chain{t: t, app: newApp(t), time: c.time, valSet: c.valSet}
		fresh.initChain(exported.AppState)
		reexported, err := fresh.app.ExportAppStateAndValidators(false, nil, nil)
		require.NoError(t, err)
		var again map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(reexported.AppState, &again))
		require.JSONEq(t, string(state[computetypes.ModuleName]), string(again[computetypes.ModuleName]))

		w, err := fresh.worker(bob.addr)
		require.NoError(t, err)
		require.Equal(t, int64(minStake), w.Bonded.Amount.Int64())
	}
}

// The operator's cold key authorizes a hot key on the GPU box (x/authz) and pays its fees
// (x/feegrant): the hot key, holding no coins, manages the worker; the staked key never signs.
func TestHotKeyActsForOperatorThroughAuthzAndFeegrant(t *testing.T) {
	operator, hot := newAccount(0), newAccount(1)
	c := startChain(t, 10*minStake, operator)
	require.Zero(t, c.send(operator, registerMsg(t, operator.addr, 2*minStake)).Code)

	// The hot key needs an on-chain account before it can sign; 1ulearn creates it.
	res := c.send(operator, banktypes.NewMsgSend(operator.addr, hot.addr, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1))))
	require.Zero(t, res.Code, res.Log)
	hot.number = c.app.AccountKeeper.GetAccount(c.app.NewContext(true), hot.addr).GetAccountNumber()

	expiry := c.time.Add(24 * time.Hour)
	grant, err := authz.NewMsgGrant(operator.addr, hot.addr,
		authz.NewGenericAuthorization(sdk.MsgTypeURL(&computetypes.MsgAddStake{})), &expiry)
	require.NoError(t, err)
	allowance, err := feegrant.NewMsgGrantAllowance(&feegrant.BasicAllowance{
		SpendLimit: sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1_000_000)),
	}, operator.addr, hot.addr)
	require.NoError(t, err)
	res = c.send(operator, grant, allowance)
	require.Zero(t, res.Code, res.Log)

	fee := sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 5000))
	exec := authz.NewMsgExec(hot.addr, []sdk.Msg{&computetypes.MsgAddStake{
		Operator: operator.addr.String(), Amount: sdk.NewInt64Coin(app.BondDenom, minStake),
	}})
	operatorBefore := c.balance(operator.addr)
	res = c.sendWithFee(hot, fee, operator.addr, &exec)
	require.Zero(t, res.Code, res.Log)
	w, err := c.worker(operator.addr)
	require.NoError(t, err)
	require.Equal(t, int64(3*minStake), w.Bonded.Amount.Int64())
	require.Equal(t, operatorBefore-minStake-5000, c.balance(operator.addr), "stake and the hot key's fee come from the operator")
	require.Equal(t, int64(1), c.balance(hot.addr))

	// The grant covers add-stake only: the hot key cannot unbond the operator's stake.
	exec = authz.NewMsgExec(hot.addr, []sdk.Msg{&computetypes.MsgBeginUnbonding{
		Operator: operator.addr.String(), Amount: sdk.NewInt64Coin(app.BondDenom, minStake),
	}})
	res = c.sendWithFee(hot, fee, operator.addr, &exec)
	require.NotZero(t, res.Code)
	require.Contains(t, res.Log, "authorization not found")
	w, err = c.worker(operator.addr)
	require.NoError(t, err)
	require.Equal(t, int64(3*minStake), w.Bonded.Amount.Int64())
}

// Only governance changes x/compute params: a proposal carrying MsgUpdateParams passes a vote
// and the chain applies it; the same message sent directly is refused.
func TestGovernanceUpdatesComputeParams(t *testing.T) {
	alice := newAccount(0) // the genesis delegator: all the voting power
	c := startChain(t, 1_000*minStake, alice)
	gov := authtypes.NewModuleAddress(govtypes.ModuleName).String()

	var current computetypes.QueryParamsResponse
	require.NoError(t, c.query("/protolearn.compute.v1.Query/Params", &computetypes.QueryParamsRequest{}, &current))
	want := current.Params
	want.MinWorkerStake = sdk.NewInt64Coin(app.BondDenom, 3*minStake)
	want.UnbondingTime = 10 * 24 * time.Hour
	update := &computetypes.MsgUpdateParams{Authority: gov, Params: want}

	res := c.send(alice, &computetypes.MsgUpdateParams{Authority: alice.addr.String(), Params: want})
	require.Equal(t, computetypes.ErrInvalidAuthority.ABCICode(), res.Code, res.Log)

	var govParams govv1.QueryParamsResponse
	require.NoError(t, c.query("/cosmos.gov.v1.Query/Params", &govv1.QueryParamsRequest{}, &govParams))
	proposal, err := govv1.NewMsgSubmitProposal([]sdk.Msg{update}, govParams.Params.MinDeposit, alice.addr.String(),
		"", "Raise the worker stake floor", "Three times the minimum stake per worker.", false)
	require.NoError(t, err)
	res = c.send(alice, proposal)
	require.Zero(t, res.Code, res.Log)
	res = c.send(alice, govv1.NewMsgVote(alice.addr, 1, govv1.OptionYes, ""))
	require.Zero(t, res.Code, res.Log)

	c.block(*govParams.Params.VotingPeriod + time.Second) // the tally runs in gov's EndBlock
	var got computetypes.QueryParamsResponse
	require.NoError(t, c.query("/protolearn.compute.v1.Query/Params", &computetypes.QueryParamsRequest{}, &got))
	require.Equal(t, want, got.Params)

	var status govv1.QueryProposalResponse
	require.NoError(t, c.query("/cosmos.gov.v1.Query/Proposal", &govv1.QueryProposalRequest{ProposalId: 1}, &status))
	require.Equal(t, govv1.StatusPassed, status.Proposal.Status, status.Proposal.FailedReason)
}
