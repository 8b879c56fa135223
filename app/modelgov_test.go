package app_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

const (
	govPeriod  = 5 // blocks a proposal votes in most of these tests
	govDeposit = 1_000_000
)

// holderChain is a chain whose model 1 is TRAINING, with share/1 held as given (from genesis:
// the test-only way to own shares before verified work mints them) and proposals that vote
// for govPeriod blocks.
func holderChain(t *testing.T, period int64, designer *account, holders map[*account]int64, others ...*account) *chain {
	t.Helper()
	byAddr := map[string]int64{}
	accounts := []*account{designer}
	for h, n := range holders {
		byAddr[h.addr.String()] = n
		accounts = append(accounts, h)
	}
	model := genesisModel(t, designer.addr, byAddr)
	return startChainWith(t, 10*minStake, func(a *app.App, gen map[string]json.RawMessage) {
		model(a, gen)
		cdc := a.AppCodec()
		var models modelstypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelstypes.ModuleName], &models)
		models.Models[0].Status = modelstypes.MODEL_STATUS_TRAINING
		models.Models[0].TrainingStartedHeight = 1
		gen[modelstypes.ModuleName] = cdc.MustMarshalJSON(&models)
		var gov modelgovtypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelgovtypes.ModuleName], &gov)
		gov.Params.VotingPeriodBlocks = period
		gov.Params.Deposit = sdk.NewInt64Coin(app.BondDenom, govDeposit)
		gen[modelgovtypes.ModuleName] = cdc.MustMarshalJSON(&gov)
	}, append(accounts, others...)...)
}

func (c *chain) propose(from *account, a modelgovtypes.Action) uint64 {
	c.t.Helper()
	res := c.send(from, &modelgovtypes.MsgPropose{Proposer: from.addr.String(), ModelId: 1, Action: a, Summary: "test"})
	require.Zero(c.t, res.Code, res.Log)
	var out modelgovtypes.MsgProposeResponse
	requireMsgResponse(c.t, res, &out)
	return out.ProposalId
}

func (c *chain) vote(from *account, id uint64, o modelgovtypes.VoteOption) *modelgovtypes.MsgVoteResponse {
	c.t.Helper()
	res := c.send(from, &modelgovtypes.MsgVote{Voter: from.addr.String(), ProposalId: id, Option: o})
	require.Zero(c.t, res.Code, res.Log)
	var out modelgovtypes.MsgVoteResponse
	requireMsgResponse(c.t, res, &out)
	return &out
}

func (c *chain) proposal(id uint64) modelgovtypes.Proposal {
	c.t.Helper()
	var res modelgovtypes.QueryProposalResponse
	require.NoError(c.t, c.query("/protolearn.modelgov.v1.Query/Proposal", &modelgovtypes.QueryProposalRequest{ProposalId: id}, &res))
	return res.Proposal
}

// endVote runs blocks until proposal id has ended and returns it.
func (c *chain) endVote(id uint64) modelgovtypes.Proposal {
	c.t.Helper()
	for c.app.LastBlockHeight() < c.proposal(id).VotingEndHeight {
		c.block(0)
	}
	p := c.proposal(id)
	require.NotEqual(c.t, modelgovtypes.PROPOSAL_STATUS_VOTING, p.Status, "proposal %d still voting at height %d (ends %d)", id, c.app.LastBlockHeight(), p.VotingEndHeight)
	return p
}

func (c *chain) model1() modelstypes.Model {
	c.t.Helper()
	m, err := c.app.ModelsKeeper.GetModel(c.app.NewContext(true), 1)
	require.NoError(c.t, err)
	return m
}

func (c *chain) checkGovInvariants() {
	c.t.Helper()
	ctx := c.app.NewContext(true)
	require.NoError(c.t, c.app.ModelgovKeeper.CheckInvariants(ctx))
	require.NoError(c.t, c.app.ModelsKeeper.CheckInvariants(ctx))
	require.NoError(c.t, c.app.SharesKeeper.CheckInvariants(ctx))
}

var (
	pause  = modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_PAUSE}
	resume = modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_RESUME}
	halt   = modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_HALT}
	yes    = modelgovtypes.VOTE_OPTION_YES
	no     = modelgovtypes.VOTE_OPTION_NO
)

// A proposal passes on quorum and threshold only: too few voting fails it and burns its deposit;
// enough voting but too few for it rejects it and refunds the deposit; a halt needs a
// supermajority. What passes is done at the end of its voting period: a paused model takes no
// seats, attestations, checkpoints or deposits; resumed, it takes them again; halted, its seats
// are gone and nothing more can be proposed.
func TestHoldersPauseResumeHalt(t *testing.T) {
	designer, big, mid, small, worker := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4)
	// supply 5M: big 60%, mid 20%, small 20%. Quorum 33.4%, threshold 50%, halt 66.67%.
	c := holderChain(t, govPeriod, designer, map[*account]int64{big: 3_000_000, mid: 1_000_000, small: 1_000_000}, worker)
	require.Zero(t, c.send(worker, registerMsg(t, worker.addr, 2*minStake)).Code)
	res := c.send(worker, &modelstypes.MsgJoinStage{Operator: worker.addr.String(), ModelId: 1, Stage: 0})
	require.Zero(t, res.Code, res.Log)

	// No quorum: mid alone (20%). The deposit is burned.
	midBefore := c.balance(mid.addr)
	id := c.propose(mid, pause)
	c.vote(mid, id, yes)
	p := c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_NO_QUORUM, p.Status, p.Result)
	require.Equal(t, int64(1_000_000), p.FinalTally.Yes.Int64())
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model1().Status)
	require.Less(t, c.balance(mid.addr), midBefore-govDeposit+1, "the deposit is not refunded")
	govAccount := c.app.AccountKeeper.GetModuleAddress(modelgovtypes.ModuleName)
	require.Zero(t, c.balance(govAccount), "nor kept: burned")

	// Quorum, but no majority: 2M for, 3M against. The deposit comes back.
	id = c.propose(mid, pause)
	c.vote(mid, id, yes)
	c.vote(small, id, yes)
	c.vote(big, id, no)
	midBefore = c.balance(mid.addr)
	p = c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_REJECTED, p.Status, p.Result)
	require.Equal(t, midBefore+govDeposit, c.balance(mid.addr), "refunded at quorum")

	// A vote may change: big votes no, then yes; only its last vote counts.
	id = c.propose(small, pause)
	c.vote(big, id, no)
	c.vote(big, id, yes)
	p = c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, p.Status, p.Result)
	require.Equal(t, int64(3_000_000), p.FinalTally.Yes.Int64())
	require.True(t, p.FinalTally.No.IsZero())
	m := c.model1()
	require.Equal(t, modelstypes.MODEL_STATUS_PAUSED, m.Status)
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, m.PausedFrom)
	c.checkGovInvariants()

	// Paused: the chain takes no seat, attestation, checkpoint or deposit; the seat stays.
	other := newAccount(9)
	res = c.send(big, banktypes.NewMsgSend(big.addr, other.addr, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 3*minStake))))
	require.Zero(t, res.Code, res.Log)
	other.number = c.app.AccountKeeper.GetAccount(c.app.NewContext(true), other.addr).GetAccountNumber()
	require.Zero(t, c.send(other, registerMsg(t, other.addr, 2*minStake)).Code)
	res = c.send(other, &modelstypes.MsgJoinStage{Operator: other.addr.String(), ModelId: 1, Stage: 1})
	require.Equal(t, modelstypes.ErrModelNotOpen.ABCICode(), res.Code, res.Log)
	res = c.send(worker, &modelstypes.MsgCommitCheckpoint{Operator: worker.addr.String(), ModelId: 1, Stage: 0, Step: 1, WeightsRoot: make([]byte, 32)})
	require.Equal(t, modelstypes.ErrModelNotTraining.ABCICode(), res.Code, res.Log)
	res = c.send(worker, &verifytypes.MsgSubmitAttestation{Worker: worker.addr.String(), ModelId: 1, Stage: 0, StepFrom: 0, StepTo: 0})
	require.Equal(t, verifytypes.ErrModelPaused.ABCICode(), res.Code, res.Log)
	require.True(t, verifytypes.IsClockWait(verifytypes.ErrModelPaused), "the attester waits out a pause instead of dropping its steps")
	res = c.send(designer, &inferencetypes.MsgSetPrice{Designer: designer.addr.String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, 1000)})
	require.Zero(t, res.Code, res.Log)
	res = c.send(mid, &inferencetypes.MsgDeposit{Customer: mid.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 10_000)})
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), res.Code, res.Log)
	require.True(t, c.seated(worker.addr), "a pause keeps the seats")
	// A paused model is paused: a second pause cannot even be proposed.
	res = c.send(mid, &modelgovtypes.MsgPropose{Proposer: mid.addr.String(), ModelId: 1, Action: pause})
	require.Equal(t, modelgovtypes.ErrInvalidAction.ABCICode(), res.Code, res.Log)

	// Resumed: it takes checkpoints and deposits again.
	id = c.propose(mid, resume)
	c.vote(big, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model1().Status)
	res = c.send(worker, &modelstypes.MsgCommitCheckpoint{Operator: worker.addr.String(), ModelId: 1, Stage: 0, Step: 1, WeightsRoot: make([]byte, 32)})
	require.Zero(t, res.Code, res.Log)
	res = c.send(mid, &inferencetypes.MsgDeposit{Customer: mid.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 10_000)})
	require.Zero(t, res.Code, res.Log)

	// A halt needs two thirds of yes + no: 60% is not enough, 80% is.
	id = c.propose(big, halt)
	c.vote(big, id, yes)
	c.vote(mid, id, no)
	c.vote(small, id, no)
	p = c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_REJECTED, p.Status, p.Result)
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model1().Status)
	id = c.propose(big, halt)
	c.vote(big, id, yes)
	c.vote(mid, id, yes)
	c.vote(small, id, no)
	p = c.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, p.Status, p.Result)
	m = c.model1()
	require.Equal(t, modelstypes.MODEL_STATUS_HALTED, m.Status)
	require.Equal(t, c.app.LastBlockHeight(), m.EndedHeight)
	require.False(t, c.seated(worker.addr), "a halt releases every seat")
	res = c.send(worker, &modelstypes.MsgJoinStage{Operator: worker.addr.String(), ModelId: 1, Stage: 0})
	require.Equal(t, modelstypes.ErrModelNotOpen.ABCICode(), res.Code, res.Log)
	res = c.send(mid, &modelgovtypes.MsgPropose{Proposer: mid.addr.String(), ModelId: 1, Action: resume})
	require.Equal(t, modelgovtypes.ErrNotGovernable.ABCICode(), res.Code, res.Log)
	c.checkGovInvariants()
}

func (c *chain) seated(op sdk.AccAddress) bool {
	c.t.Helper()
	_, seated, err := c.app.ModelsKeeper.StageOf(c.app.NewContext(true), 1, op)
	require.NoError(c.t, err)
	return seated
}

// A share votes once, with the balance its holder had when the proposal opened: a holder that
// votes and then sends its shares on still votes with them, and its receiver (who held none
// then) cannot vote them again; a holder that sent its shares away before voting still votes
// with what it had, and shares received during the vote add nothing.
func TestSharesMovedDuringAVoteDoNotVoteTwice(t *testing.T) {
	designer, a, b, x, y := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4)
	c := holderChain(t, 50, designer, map[*account]int64{a: 3_000_000, b: 2_000_000}, x, y)
	send := func(from *account, to sdk.AccAddress, n int64) {
		t.Helper()
		res := c.send(from, banktypes.NewMsgSend(from.addr, to, sdk.NewCoins(sdk.NewInt64Coin("share/1", n))))
		require.Zero(t, res.Code, res.Log)
	}
	id := c.propose(b, pause)

	// a votes yes with 3M, then hands everything to x; x cannot vote it again.
	require.Equal(t, int64(3_000_000), c.vote(a, id, yes).Power.Int64())
	send(a, x.addr, 3_000_000)
	res := c.send(x, &modelgovtypes.MsgVote{Voter: x.addr.String(), ProposalId: id, Option: yes})
	require.Equal(t, modelgovtypes.ErrNoVotingPower.ABCICode(), res.Code, res.Log)
	// x hands them back: a's power is still what it had at the start, not 6M or 0.
	send(x, a.addr, 3_000_000)
	require.Equal(t, int64(3_000_000), c.vote(a, id, yes).Power.Int64())

	// b moves half to y before voting: b votes its 2M at the start; y nothing.
	send(b, y.addr, 1_000_000)
	require.Equal(t, int64(2_000_000), c.vote(b, id, no).Power.Int64())
	res = c.send(y, &modelgovtypes.MsgVote{Voter: y.addr.String(), ProposalId: id, Option: no})
	require.Equal(t, modelgovtypes.ErrNoVotingPower.ABCICode(), res.Code, res.Log)

	var tally modelgovtypes.QueryTallyResponse
	require.NoError(t, c.query("/protolearn.modelgov.v1.Query/Tally", &modelgovtypes.QueryTallyRequest{ProposalId: id}, &tally))
	require.False(t, tally.Final)
	require.Equal(t, int64(3_000_000), tally.Tally.Yes.Int64())
	require.Equal(t, int64(2_000_000), tally.Tally.No.Int64())
	require.Equal(t, int64(5_000_000), tally.Supply.Int64())
	c.checkGovInvariants()

	// Exported mid-vote and imported into a fresh node, the proposal, votes and snapshots are
	// all there and tally the same.
	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &state))
	require.NoError(t, c.app.BasicModuleManager.ValidateGenesis(c.app.AppCodec(), c.app.TxConfig(), state))
	var gs modelgovtypes.GenesisState
	c.app.AppCodec().MustUnmarshalJSON(state[modelgovtypes.ModuleName], &gs)
	require.Len(t, gs.Proposals, 1)
	require.Len(t, gs.Votes, 2)
	require.Len(t, gs.Snapshots, 4, "a, x, b and y moved during the vote")
	fresh := &chain{t: t, app: newApp(t), time: c.time, valSet: c.valSet, initialHeight: c.app.LastBlockHeight() + 1}
	fresh.initChain(exported.AppState)
	var again modelgovtypes.QueryTallyResponse
	require.NoError(t, fresh.query("/protolearn.modelgov.v1.Query/Tally", &modelgovtypes.QueryTallyRequest{ProposalId: id}, &again))
	require.Equal(t, tally.Tally, again.Tally)
	reexported, err := fresh.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var state2 map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(reexported.AppState, &state2))
	require.JSONEq(t, string(state[modelgovtypes.ModuleName]), string(state2[modelgovtypes.ModuleName]))
	fresh.checkGovInvariants()

	// The vote ends as counted, and its votes and snapshots are gone.
	p := fresh.endVote(id)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, p.Status, p.Result)
	fresh.checkGovInvariants()
	gsAfter, err := fresh.app.ModelgovKeeper.ExportGenesis(fresh.app.NewContext(true))
	require.NoError(t, err)
	require.Empty(t, gsAfter.Votes)
	require.Empty(t, gsAfter.Snapshots)
}

// The holders set the price and the economics; once they have voted a price, its designer can
// no longer change it. A proposal whose action no longer fits when it passes (economics the
// chain's bounds refuse, a resume of a model not paused) changes nothing and fails; one that
// does not fit when proposed is refused outright, as is anyone who holds no share, a proposal
// over the model's limit of open ones, and a summary too long.
func TestHoldersSetPriceAndEconomics(t *testing.T) {
	designer, h, stranger, worker := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, stranger, worker)
	require.Zero(t, c.send(worker, registerMsg(t, worker.addr, 2*minStake)).Code)
	require.Zero(t, c.send(worker, &modelstypes.MsgJoinStage{Operator: worker.addr.String(), ModelId: 1, Stage: 2}).Code)

	govAccount := c.app.AccountKeeper.GetModuleAddress(modelgovtypes.ModuleName)
	price := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: sdk.NewInt64Coin(app.BondDenom, 3000)}
	id := c.propose(h, price)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	var pr inferencetypes.QueryPriceResponse
	require.NoError(t, c.query("/protolearn.inference.v1.Query/Price", &inferencetypes.QueryPriceRequest{ModelId: 1}, &pr))
	require.Equal(t, int64(3000), pr.Price.Per_1KTokens.Amount.Int64())
	require.True(t, pr.Price.ByHolders)
	res := c.send(designer, &inferencetypes.MsgSetPrice{Designer: designer.addr.String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, 1)})
	require.Equal(t, inferencetypes.ErrPriceByHolders.ABCICode(), res.Code, res.Log)

	// Off sale by vote: deposits refused, and still the holders' price.
	id = c.propose(h, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: sdk.NewInt64Coin(app.BondDenom, 0)})
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	res = c.send(h, &inferencetypes.MsgDeposit{Customer: h.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 10_000)})
	require.Equal(t, inferencetypes.ErrNotServable.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "off sale")
	res = c.send(designer, &inferencetypes.MsgSetPrice{Designer: designer.addr.String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, 1)})
	require.Equal(t, inferencetypes.ErrPriceByHolders.ABCICode(), res.Code, res.Log)

	// Economics: a higher stake floor drops the worker bonded below it.
	econ := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, DesignerBps: 500, MaxReplicasPerStage: 3, MinStake: sdk.NewInt64Coin(app.BondDenom, 3*minStake)}
	id = c.propose(h, econ)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	m := c.model1()
	require.Equal(t, uint32(500), m.DesignerBps)
	require.Equal(t, uint32(3), m.MaxReplicasPerStage)
	require.Equal(t, int64(3*minStake), m.MinStake.Amount.Int64())
	require.False(t, c.seated(worker.addr), "bonded 2x min stake, below the new floor of 3x")

	// Refused at proposal: what the chain's bounds refuse, who holds nothing, a long summary,
	// an unknown action, fields the action does not take.
	refused := map[string]struct {
		msg  *modelgovtypes.MsgPropose
		code uint32
	}{
		"replicas over the limit": {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{
			Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, MaxReplicasPerStage: 1000, MinStake: sdk.NewInt64Coin(app.BondDenom, minStake),
		}}, modelstypes.ErrInvalidReplicas.ABCICode()},
		"stake under x/compute's floor": {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{
			Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, MaxReplicasPerStage: 2, MinStake: sdk.NewInt64Coin(app.BondDenom, 1),
		}}, modelstypes.ErrInvalidMinStake.ABCICode()},
		"price in shares": {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{
			Type: modelgovtypes.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: sdk.NewInt64Coin("share/1", 5),
		}}, inferencetypes.ErrInvalidPrice.ABCICode()},
		"pause with a price": {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{
			Type: modelgovtypes.ACTION_TYPE_PAUSE, PricePer_1KTokens: sdk.NewInt64Coin(app.BondDenom, 5),
		}}, modelgovtypes.ErrInvalidAction.ABCICode()},
		"unknown action":   {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{Type: 99}}, modelgovtypes.ErrInvalidAction.ABCICode()},
		"no shares":        {&modelgovtypes.MsgPropose{Proposer: stranger.addr.String(), ModelId: 1, Action: pause}, modelgovtypes.ErrNotHolder.ABCICode()},
		"unknown model":    {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 7, Action: pause}, modelstypes.ErrModelNotFound.ABCICode()},
		"resume unpaused":  {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: resume}, modelgovtypes.ErrInvalidAction.ABCICode()},
		"summary too long": {&modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: pause, Summary: string(make([]byte, 1001))}, modelgovtypes.ErrInvalidSummary.ABCICode()},
	}
	for name, tc := range refused {
		from := h
		if tc.msg.Proposer == stranger.addr.String() {
			from = stranger
		}
		res := c.send(from, tc.msg)
		require.Equal(t, tc.code, res.Code, "%s: %s", name, res.Log)
		require.Zero(t, c.balance(govAccount), "%s: no deposit taken", name)
	}

	// A pause and two resumes racing: the first resume, ending after the pause passed, fits
	// and passes; the second fails and changes nothing.
	first := c.propose(h, pause)
	c.vote(h, first, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(first).Status)
	r1 := c.propose(h, resume)
	r2 := c.propose(h, resume)
	c.vote(h, r1, yes)
	c.vote(h, r2, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(r1).Status)
	p := c.endVote(r2)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_FAILED, p.Status)
	require.Contains(t, p.Result, "only a paused model can be resumed")
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model1().Status)
	c.checkGovInvariants()

	var list modelgovtypes.QueryProposalsResponse
	require.NoError(t, c.query("/protolearn.modelgov.v1.Query/Proposals", &modelgovtypes.QueryProposalsRequest{ModelId: 1, Status: modelgovtypes.PROPOSAL_STATUS_FAILED}, &list))
	require.Len(t, list.Proposals, 1)
	require.Equal(t, r2, list.Proposals[0].Id)
	require.NoError(t, c.query("/protolearn.modelgov.v1.Query/Proposals", &modelgovtypes.QueryProposalsRequest{}, &list))
	require.Greater(t, list.Proposals[0].Id, list.Proposals[1].Id, "newest first")
}
