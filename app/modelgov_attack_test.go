package app_test

import (
	"encoding/json"
	"testing"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// Attacks on the holders' governance, found by an adversarial review: each must fail.

// No stage ever holds more replicas than its model allows, even after the holders lower the
// bound: a bound below a stage's replicas is refused when proposed, and fails (changing
// nothing) if replicas joined during the vote; the chain's export stays valid.
func TestAttackLowerReplicasBelowTheSeats(t *testing.T) {
	designer, h, w1, w2 := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := holderChain(t, 20, designer, map[*account]int64{h: 1_000_000}, w1, w2)
	for _, w := range []*account{w1, w2} {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
	}
	require.Zero(t, c.send(w1, &modelstypes.MsgJoinStage{Operator: w1.addr.String(), ModelId: 1, Stage: 0}).Code)
	one := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, DesignerBps: 1000, MaxReplicasPerStage: 1, MinStake: sdk.NewInt64Coin(app.BondDenom, minStake)}
	id := c.propose(h, one)
	c.vote(h, id, yes)
	require.Zero(t, c.send(w2, &modelstypes.MsgJoinStage{Operator: w2.addr.String(), ModelId: 1, Stage: 0}).Code)
	p := c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_FAILED, p.Status, p.Result)
	require.Contains(t, p.Result, "would be below them")
	require.Equal(t, uint32(2), c.model1().MaxReplicasPerStage)
	res := c.send(h, &modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: one})
	require.Equal(t, modelstypes.ErrInvalidReplicas.ABCICode(), res.Code, res.Log)

	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	require.NoError(t, c.app.BasicModuleManager.ValidateGenesis(c.app.AppCodec(), c.app.TxConfig(), state))
	c.checkGovInvariants()
}

// A minority cannot block the majority by keeping proposals open: there is no cap on open
// proposals (the work a share transfer does for them is one snapshot at most, however many are
// open), so a holder just over quorum that opens many and abstains on each does not stop a
// majority's halt. Each transfer during them writes one snapshot, not one per proposal.
func TestAttackMinorityFillsProposalSlots(t *testing.T) {
	designer, griefer, majority, friend := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := holderChain(t, 60, designer, map[*account]int64{griefer: 1_750_000, majority: 3_250_000}, friend)
	price := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: sdk.NewInt64Coin(app.BondDenom, 1)}
	var ids []uint64
	for range 12 {
		id := c.propose(griefer, price)
		c.vote(griefer, id, modelgovtypes.VOTE_OPTION_ABSTAIN)
		ids = append(ids, id)
	}
	h := c.propose(majority, halt)
	c.vote(majority, h, yes)
	res := c.send(majority, banktypes.NewMsgSend(majority.addr, friend.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", 1))))
	require.Zero(t, res.Code, res.Log)
	gs, err := c.app.ModelgovKeeper.ExportGenesis(c.app.NewContext(true))
	require.NoError(t, err)
	require.Len(t, gs.Snapshots, 2, "one snapshot for the sender, one for the receiver, with 13 proposals open")
	for _, id := range ids {
		c.vote(majority, id, no)
	}
	for _, id := range ids {
		require.Equal(t, modelgovtypes.PROPOSAL_STATUS_REJECTED, c.endVote(id).Status)
	}
	p := c.endVote(h)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, p.Status, p.Result)
	require.Equal(t, int64(3_250_000), p.FinalTally.Yes.Int64(), "the majority votes with its balance at the start, before its transfer")
	c.checkGovInvariants()
	gs, err = c.app.ModelgovKeeper.ExportGenesis(c.app.NewContext(true))
	require.NoError(t, err)
	require.Empty(t, gs.Snapshots, "no proposal open: no snapshot kept")
}

// A paused model settles no inference: receipts of a deposit made before the pause are refused
// until its holders resume it, when they settle again. A halted model's deposits are refunded at
// once: nothing of it will ever settle.
func TestAttackPausedModelStillSettlesInference(t *testing.T) {
	vc, customer, dep, servers, _ := pricedDeposit(t, 2000, 1_000_000)
	shortcut := func(do func(sdk.Context) error) {
		ctx := vc.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: vc.app.LastBlockHeight()})
		require.NoError(t, do(ctx))
		vc.block(0)
	}
	shortcut(func(ctx sdk.Context) error { return vc.app.ModelsKeeper.Pause(ctx, 1, "holders' vote (test shortcut)") })
	settle := func(request string) uint32 {
		res := vc.send(customer, &inferencetypes.MsgSettle{Submitter: customer.addr.String(), Receipts: []inferencetypes.SignedReceipt{
			receipt(t, customer.priv, dep.DepositId, request, 100_000, servers...),
		}})
		return res.Code
	}
	before := vc.balance(servers[0])
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), settle("during-pause"))
	require.Equal(t, before, vc.balance(servers[0]), "nothing paid while paused")
	shortcut(func(ctx sdk.Context) error {
		return vc.app.ModelsKeeper.Resume(ctx, 1, "holders' vote (test shortcut)")
	})
	require.Zero(t, settle("during-pause"), "settles once resumed")

	shortcut(func(ctx sdk.Context) error { return vc.app.ModelsKeeper.Halt(ctx, 1, "holders' vote (test shortcut)") })
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), settle("after-halt"))
	var d inferencetypes.QueryDepositResponse
	require.NoError(t, vc.query("/protolearn.inference.v1.Query/Deposit", &inferencetypes.QueryDepositRequest{DepositId: dep.DepositId}, &d))
	require.Less(t, vc.height(), d.Deposit.ExpiresHeight, "still within its term")
	bal := vc.balance(customer.addr)
	res := vc.send(customer, &inferencetypes.MsgWithdraw{Customer: customer.addr.String(), DepositId: dep.DepositId})
	require.Zero(t, res.Code, res.Log)
	require.Greater(t, vc.balance(customer.addr), bal, "a halted model's deposit comes back before its term")
}

// What takes workers' seats away needs the halt's supermajority: 60% of the holders, short of a
// halt, cannot evict every worker by raising the stake floor out of reach instead.
func TestAttackEconomicsBypassesHaltSupermajority(t *testing.T) {
	designer, big, small, worker := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := holderChain(t, govPeriod, designer, map[*account]int64{big: 3_000_000, small: 2_000_000}, worker)
	require.Zero(t, c.send(worker, registerMsg(t, worker.addr, 2*minStake)).Code)
	res := c.send(worker, &modelstypes.MsgJoinStage{Operator: worker.addr.String(), ModelId: 1, Stage: 0})
	require.Zero(t, res.Code, res.Log)

	id := c.propose(big, halt)
	c.vote(big, id, yes)
	c.vote(small, id, no)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_REJECTED, c.endVote(id).Status)

	huge, ok := sdkmath.NewIntFromString("1000000000000000000000000000000")
	require.True(t, ok)
	econ := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, DesignerBps: 1000, MaxReplicasPerStage: 2, MinStake: sdk.NewCoin(app.BondDenom, huge)}
	id = c.propose(big, econ)
	c.vote(big, id, yes)
	c.vote(small, id, no)
	p := c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_REJECTED, p.Status, p.Result)
	require.True(t, c.seated(worker.addr))
	// A lower floor evicts nobody: the plain majority passes it.
	econ.MinStake = sdk.NewInt64Coin(app.BondDenom, minStake)
	id = c.propose(big, econ)
	c.vote(big, id, yes)
	c.vote(small, id, no)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
}

// A paused and then a halted model, with a proposal still voting, export and validate at the
// current height and at zero height, and import into a fresh node.
func TestPausedAndHaltedModelsExportAndImport(t *testing.T) {
	designer, h, worker := newAccount(0), newAccount(1), newAccount(2)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, worker)
	require.Zero(t, c.send(worker, registerMsg(t, worker.addr, 2*minStake)).Code)
	require.Zero(t, c.send(worker, &modelstypes.MsgJoinStage{Operator: worker.addr.String(), ModelId: 1, Stage: 0}).Code)
	require.Zero(t, c.send(worker, &modelstypes.MsgCommitCheckpoint{Operator: worker.addr.String(), ModelId: 1, Stage: 0, Step: 1, WeightsRoot: make([]byte, 32)}).Code)
	validate := func(zero bool) {
		exported, err := c.app.ExportAppStateAndValidators(zero, nil, nil)
		require.NoError(t, err)
		var state map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(exported.AppState, &state))
		require.NoError(t, c.app.BasicModuleManager.ValidateGenesis(c.app.AppCodec(), c.app.TxConfig(), state))
	}
	id := c.propose(h, pause)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	c.propose(h, halt) // still voting at the export
	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	fresh := &chain{t: t, app: newApp(t), time: c.time, valSet: c.valSet, initialHeight: c.app.LastBlockHeight() + 1}
	fresh.initChain(exported.AppState)
	require.Equal(t, modelstypes.MODEL_STATUS_PAUSED, fresh.model1().Status)
	validate(false)

	id = c.propose(h, halt)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	require.Equal(t, modelstypes.MODEL_STATUS_HALTED, c.model1().Status)
	validate(false)
	c.checkGovInvariants()
	validate(true)
}

// A newer proposal may end before an older one (chain governance shortened the voting period
// between them). A holder that moved while the newer was open, and moves again once it has
// ended, still votes on the older with what it held when the older opened: the second move
// records nothing more.
func TestSnapshotsWhenANewerProposalEndsFirst(t *testing.T) {
	designer, a, b, x := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := holderChain(t, 30, designer, map[*account]int64{a: 3_000_000, b: 1_000_000}, x)
	older := c.propose(b, pause)
	ctx := c.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: c.app.LastBlockHeight()})
	p, err := c.app.ModelgovKeeper.GetParams(ctx)
	require.NoError(t, err)
	p.VotingPeriodBlocks = 3 // as an update-params proposal would
	require.NoError(t, c.app.ModelgovKeeper.Params.Set(ctx, p))
	c.block(0)
	newer := c.propose(b, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: sdk.NewInt64Coin(app.BondDenom, 5)})
	send := func(n int64) {
		t.Helper()
		res := c.send(a, banktypes.NewMsgSend(a.addr, x.addr, sdk.NewCoins(sdk.NewInt64Coin("share/1", n))))
		require.Zero(t, res.Code, res.Log)
	}
	send(1_000_000) // a: 3M -> 2M while both are open
	require.NotEqual(t, modelgovtypes.PROPOSAL_STATUS_VOTING, c.endVote(newer).Status)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_VOTING, c.proposal(older).Status)
	send(1_000_000) // a: 2M -> 1M, the newer ended
	require.Equal(t, int64(3_000_000), c.vote(a, older, yes).Power.Int64(), "a votes what it held when the older proposal opened")
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(older).Status)
	c.checkGovInvariants()
}
