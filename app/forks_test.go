package app_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/app"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

func root(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// forkMsg is a fork of model 1 by designer, its spec left to the parent's.
func forkMsg(designer sdk.AccAddress, parentBps uint32, roots ...[]byte) *modelstypes.MsgCreateModel {
	return &modelstypes.MsgCreateModel{
		Designer: designer.String(), Name: "tiny-fork", DatasetCommitment: root(9), DesignerBps: 500,
		MinStake: sdk.NewInt64Coin(app.BondDenom, minStake), MaxReplicasPerStage: 2, TargetWorkUnits: 500,
		ParentId: 1, ParentBps: parentBps, ForkRoots: roots,
	}
}

func (c *chain) model(id uint64) modelstypes.Model {
	c.t.Helper()
	m, err := c.app.ModelsKeeper.GetModel(c.app.NewContext(true), id)
	require.NoError(c.t, err)
	return m
}

// A fork starts from its parent's committed weights: it takes the parent's architecture, stages,
// seed and subspace root, and, per stage, a root a current replica of the parent committed (the
// agreed one by default); a checkpoint of its stage at step 0 must be that root. A fork of a
// model without trained weights, with another architecture, from roots nobody committed, or
// paying the parent's holders less than they ask, is refused. No operator holds two different
// stages across a model and its forks.
func TestForkStartsFromItsParentsWeights(t *testing.T) {
	designer, h, forker, w0, w1, w2, w3 := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4), newAccount(5), newAccount(6)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, forker, w0, w1, w2, w3)
	ws := []*account{w0, w1, w2}
	for _, w := range append(ws, w3) {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
	}
	// Nothing committed yet: nothing to fork from.
	res := c.send(forker, forkMsg(forker.addr, 0))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "no committed weights")
	for s, w := range ws {
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s)}).Code)
		res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s), Step: 4, WeightsRoot: root(byte(10 + s))})
		require.Zero(t, res.Code, res.Log)
	}

	refused := map[string]struct {
		msg  *modelstypes.MsgCreateModel
		code uint32
	}{
		"roots nobody committed": {forkMsg(forker.addr, 0, root(10), root(99), root(12)), modelstypes.ErrInvalidFork.ABCICode()},
		"a root too few":         {forkMsg(forker.addr, 0, root(10), root(11)), modelstypes.ErrInvalidFork.ABCICode()},
		"unknown parent":         {func() *modelstypes.MsgCreateModel { m := forkMsg(forker.addr, 0); m.ParentId = 9; return m }(), modelstypes.ErrModelNotFound.ABCICode()},
		"another architecture": {func() *modelstypes.MsgCreateModel {
			m := forkMsg(forker.addr, 0)
			p := c.model(1)
			m.Arch, m.Stages, m.Seed, m.SubspaceRoot = p.Arch, p.Stages, p.Seed+1, p.SubspaceRoot
			return m
		}(), modelstypes.ErrInvalidFork.ABCICode()},
		"royalty over 100%": {forkMsg(forker.addr, 10_001), modelstypes.ErrInvalidFork.ABCICode()},
		"roots without a parent": {func() *modelstypes.MsgCreateModel {
			m := forkMsg(forker.addr, 0, root(10), root(11), root(12))
			m.ParentId = 0
			return m
		}(), modelstypes.ErrInvalidFork.ABCICode()},
	}
	for name, tc := range refused {
		res := c.send(forker, tc.msg)
		require.Equal(t, tc.code, res.Code, "%s: %s", name, res.Log)
	}

	res = c.send(forker, forkMsg(forker.addr, 1500))
	require.Zero(t, res.Code, res.Log)
	var out modelstypes.MsgCreateModelResponse
	requireMsgResponse(t, res, &out)
	fork, parent := c.model(out.ModelId), c.model(1)
	require.Equal(t, modelstypes.MODEL_STATUS_RECRUITING, fork.Status, "the parent asks no approval")
	require.Equal(t, uint64(1), fork.ParentId)
	require.Equal(t, uint64(1), fork.Family())
	require.Equal(t, uint32(1500), fork.ParentBps)
	require.Equal(t, parent.Arch, fork.Arch)
	require.Equal(t, parent.Stages, fork.Stages)
	require.Equal(t, parent.Seed, fork.Seed)
	require.Equal(t, [][]byte{root(10), root(11), root(12)}, fork.ForkRoots)

	// The family-wide stage rule: w0 held stage 0 of the parent; it may hold stage 0 of the fork
	// (the same weights), never another stage. w3 takes stage 1 of the fork: it may then never
	// take stage 0 of the parent.
	res = c.send(w0, &modelstypes.MsgJoinStage{Operator: w0.addr.String(), ModelId: fork.Id, Stage: 1})
	require.Equal(t, modelstypes.ErrStageHopping.ABCICode(), res.Code, res.Log)
	require.Zero(t, c.send(w0, &modelstypes.MsgJoinStage{Operator: w0.addr.String(), ModelId: fork.Id, Stage: 0}).Code)
	require.Zero(t, c.send(w3, &modelstypes.MsgJoinStage{Operator: w3.addr.String(), ModelId: fork.Id, Stage: 1}).Code)
	res = c.send(w3, &modelstypes.MsgJoinStage{Operator: w3.addr.String(), ModelId: 1, Stage: 0})
	require.Equal(t, modelstypes.ErrStageHopping.ABCICode(), res.Code, res.Log)
	var held modelstypes.QueryHeldStageResponse
	require.NoError(t, c.query("/protolearn.models.v1.Query/HeldStage", &modelstypes.QueryHeldStageRequest{ModelId: fork.Id, Operator: w3.addr.String()}, &held))
	require.Equal(t, uint32(1), held.HeldStage.Stage)
	require.Error(t, c.query("/protolearn.models.v1.Query/HeldStage", &modelstypes.QueryHeldStageRequest{ModelId: 1, Operator: w3.addr.String()}, &held),
		"held stages are per model (x/verify asks them whether a signer was that model's replica); the family's rule is kept apart")

	// The fork's step-0 weights are its parent's.
	require.Zero(t, c.send(w2, &modelstypes.MsgJoinStage{Operator: w2.addr.String(), ModelId: fork.Id, Stage: 2}).Code)
	res = c.send(w2, &modelstypes.MsgCommitCheckpoint{Operator: w2.addr.String(), ModelId: fork.Id, Stage: 2, Step: 0, WeightsRoot: root(77)})
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	res = c.send(w2, &modelstypes.MsgCommitCheckpoint{Operator: w2.addr.String(), ModelId: fork.Id, Stage: 2, Step: 0, WeightsRoot: root(12)})
	require.Zero(t, res.Code, res.Log)

	require.NoError(t, c.app.ModelsKeeper.CheckInvariants(c.app.NewContext(true)))

	// The parent's holders ask for approval and at least 20%: a fork offering less is refused,
	// one offering enough waits, recruits nobody, and recruits once they approve it.
	id := c.propose(h, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_FORK_POLICY, ForkPolicy: modelstypes.ForkPolicy{NeedsApproval: true, MinParentBps: 2000}})
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	asks := modelstypes.ForkPolicy{NeedsApproval: true, MinParentBps: 2000} // a fork asks its forks as much
	strict := func(bps uint32) *modelstypes.MsgCreateModel {
		m := forkMsg(forker.addr, bps)
		m.ForkPolicy = asks
		return m
	}
	res = c.send(forker, strict(1999))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "ask at least 2000")
	res = c.send(forker, forkMsg(forker.addr, 2000))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, "a fork asking its forks less than its parent does: %s", res.Log)
	res = c.send(forker, strict(2000))
	require.Zero(t, res.Code, res.Log)
	requireMsgResponse(t, res, &out)
	waiting := out.ModelId
	require.Equal(t, modelstypes.MODEL_STATUS_AWAITING_APPROVAL, c.model(waiting).Status)
	res = c.send(w1, &modelstypes.MsgJoinStage{Operator: w1.addr.String(), ModelId: waiting, Stage: 1})
	require.Equal(t, modelstypes.ErrModelNotOpen.ABCICode(), res.Code, res.Log)
	res = c.send(h, &modelgovtypes.MsgPropose{Proposer: h.addr.String(), ModelId: 1, Action: modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_APPROVE_FORK, ForkModelId: fork.Id}})
	require.Equal(t, modelgovtypes.ErrInvalidAction.ABCICode(), res.Code, "a fork not awaiting approval: %s", res.Log)
	id = c.propose(h, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_APPROVE_FORK, ForkModelId: waiting})
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	require.Equal(t, modelstypes.MODEL_STATUS_RECRUITING, c.model(waiting).Status)
	require.Zero(t, c.send(w1, &modelstypes.MsgJoinStage{Operator: w1.addr.String(), ModelId: waiting, Stage: 1}).Code)
	// A fork awaiting approval may be withdrawn by its designer.
	res = c.send(forker, strict(2000))
	requireMsgResponse(t, res, &out)
	require.Zero(t, c.send(forker, &modelstypes.MsgCancelModel{Designer: forker.addr.String(), ModelId: out.ModelId}).Code)
	require.Equal(t, modelstypes.MODEL_STATUS_CANCELLED, c.model(out.ModelId).Status)
	c.checkGovInvariants()

	// A fork's replicas start from the parent's weights: its floor is at least the parent's, at
	// creation and whenever its economics change (the parent's holders raise theirs here).
	econ := modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_ECONOMICS, DesignerBps: 1000, MaxReplicasPerStage: 2, MinStake: sdk.NewInt64Coin(app.BondDenom, 2*minStake)}
	id = c.propose(h, econ)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status, c.proposal(id).Result)
	res = c.send(forker, strict(2000))
	require.Equal(t, modelstypes.ErrInvalidMinStake.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "a fork of model 1 bonds at least")
	same := modelstypes.Economics{DesignerBps: fork.DesignerBps, MaxReplicasPerStage: fork.MaxReplicasPerStage, MinStake: fork.MinStake}
	_, err := c.app.ModelsKeeper.CheckEconomics(c.app.NewContext(true), fork.Id, same)
	require.ErrorIs(t, err, modelstypes.ErrInvalidMinStake, "the fork's floor, now below its parent's, cannot stay there through a change")
	same.MinStake = econ.MinStake
	_, err = c.app.ModelsKeeper.CheckEconomics(c.app.NewContext(true), fork.Id, same)
	require.NoError(t, err)

	// Halted, a model is forked no more: its weights are to be deleted.
	id = c.propose(h, halt)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	res = c.send(forker, strict(2000))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "HALTED")
}

// A fork pays its parent_bps of its revenue (after the protocol fee) into its parent's revenue
// index, and the parent passes its own parent_bps of that on up: exact, to the unit, and what
// every holder can claim adds up to what was paid less the fees.
func TestForkRoyaltiesReachTheFamily(t *testing.T) {
	designer, a, b, cc, customer := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4)
	// Model 1, its fork 2 (20% to model 1), and 2's fork 3 (10% to model 2), each with one holder.
	c := startChainWith(t, 1_000*minStake, func(ap *app.App, gen map[string]json.RawMessage) {
		genesisModel(t, designer.addr, map[string]int64{a.addr.String(): 1_000_000})(ap, gen)
		cdc := ap.AppCodec()
		var models modelstypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelstypes.ModuleName], &models)
		parent := models.Models[0]
		parent.Status, parent.TrainingStartedHeight = modelstypes.MODEL_STATUS_TRAINING, 1
		models.Models[0] = parent
		for i, bps := range []uint32{2000, 1000} {
			fork := parent
			fork.Id, fork.ParentId, fork.ParentBps, fork.FamilyId = uint64(i+2), uint64(i+1), bps, 1
			fork.ForkRoots = [][]byte{root(1), root(2), root(3)}
			models.Models = append(models.Models, fork)
		}
		models.NextModelId = 4
		gen[modelstypes.ModuleName] = cdc.MustMarshalJSON(&models)
		var bank banktypes.GenesisState
		cdc.MustUnmarshalJSON(gen[banktypes.ModuleName], &bank)
		for i, h := range []*account{b, cc} {
			coins := sdk.NewCoins(sdk.NewInt64Coin(sharestypes.ShareDenom(uint64(i+2)), 1_000_000))
			bank.Balances = append(bank.Balances, banktypes.Balance{Address: h.addr.String(), Coins: coins})
			bank.Supply = bank.Supply.Add(coins...)
		}
		gen[banktypes.ModuleName] = cdc.MustMarshalJSON(&bank)
	}, designer, a, b, cc, customer)
	pay := func(model uint64, amount int64) {
		t.Helper()
		res := c.send(customer, &sharestypes.MsgPayRevenue{Payer: customer.addr.String(), ModelId: model, Amount: sdk.NewInt64Coin(app.BondDenom, amount)})
		require.Zero(t, res.Code, res.Log)
	}
	claimable := func(h *account, model uint64) int64 {
		t.Helper()
		n, err := c.app.SharesKeeper.Claimable(c.app.NewContext(true), model, h.addr)
		require.NoError(t, err)
		return n.Int64()
	}
	// 10,000 to model 2: 500 fee, 9,500 net; 1,900 (20%) to model 1, 7,600 to model 2's holder.
	pay(2, 10_000)
	require.Equal(t, int64(1_900), claimable(a, 1))
	require.Equal(t, int64(7_600), claimable(b, 2))
	// 10,000 to model 3: 9,500 net; 950 (10%) to model 2, of which 190 (20%) on to model 1.
	pay(3, 10_000)
	require.Equal(t, int64(8_550), claimable(cc, 3))
	require.Equal(t, int64(7_600+760), claimable(b, 2))
	require.Equal(t, int64(1_900+190), claimable(a, 1))
	var rev sharestypes.QueryRevenueResponse
	require.NoError(t, c.query("/protolearn.shares.v1.Query/Revenue", &sharestypes.QueryRevenueRequest{ModelId: 2}, &rev))
	require.Equal(t, int64(10_000+950), rev.Revenue.Paid.Int64(), "a fork's paid counts the royalties it received")
	require.Equal(t, int64(1_900+190), rev.Revenue.Royalties.Int64())
	require.NoError(t, c.app.SharesKeeper.CheckInvariants(c.app.NewContext(true)))
	// Claims pay it out.
	before := c.balance(a.addr)
	require.Zero(t, c.send(a, &sharestypes.MsgClaimRevenue{Holder: a.addr.String()}).Code)
	require.Equal(t, before+2_090, c.balance(a.addr))
}
