package app_test

import (
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

// A parent's holders ask every fork for approval and at least 20%. A fork F cannot leave its own
// fork policy open (its forks would owe the parent's holders nothing and need no approval); F
// pays the 20%, asks the same of its forks, and is approved. F's replicas commit step 0 (the
// parent's own roots, no training at all): a fork of F, whatever it pays, is refused, since its
// weights would be the parent's, forked without the parent's holders' approval.
func TestAttackForkOfForkLaundersRoyaltyAndApproval(t *testing.T) {
	designer, h, forker, launderer, w0, w1, w2 := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4), newAccount(5), newAccount(6)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, forker, launderer, w0, w1, w2)
	ws := []*account{w0, w1, w2}
	for s, w := range ws {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s)}).Code)
		res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s), Step: 4, WeightsRoot: root(byte(10 + s))})
		require.Zero(t, res.Code, res.Log)
	}
	id := c.propose(h, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_SET_FORK_POLICY, ForkPolicy: modelstypes.ForkPolicy{NeedsApproval: true, MinParentBps: 2000}})
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)

	// F: 20% to model 1, asking nothing of its own forks: refused.
	res := c.send(forker, forkMsg(forker.addr, 2000))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "asks of its forks at least what model 1 does")
	// F: 20% to model 1, asking the same of its forks, approved by model 1's holders.
	fm := forkMsg(forker.addr, 2000)
	fm.ForkPolicy = modelstypes.ForkPolicy{NeedsApproval: true, MinParentBps: 2000}
	res = c.send(forker, fm)
	require.Zero(t, res.Code, res.Log)
	var out modelstypes.MsgCreateModelResponse
	requireMsgResponse(t, res, &out)
	f := out.ModelId
	id = c.propose(h, modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_APPROVE_FORK, ForkModelId: f})
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	// The same operators take the same stages of F and commit its step 0: the parent's roots.
	for s, w := range ws {
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: f, Stage: uint32(s)}).Code)
	}
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model(f).Status)
	for s, w := range ws {
		res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: f, Stage: uint32(s), Step: 0, WeightsRoot: root(byte(10 + s))})
		require.Zero(t, res.Code, res.Log)
	}

	// G: a fork of F at 0%: below what F asks.
	g := forkMsg(launderer.addr, 0)
	g.ParentId = f
	res = c.send(launderer, g)
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	// G at F's terms: F has not trained, its weights are model 1's.
	g.ParentBps, g.ForkPolicy = 2000, modelstypes.ForkPolicy{NeedsApproval: true, MinParentBps: 2000}
	res = c.send(launderer, g)
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "still the weights it was forked with from model 1")
}

// familyChain is model 1 (share/1 to a), its fork 2 paying parentBps (share/2 to b).
func familyChain(t *testing.T, parentBps uint32, designer, a, b *account, others ...*account) *chain {
	t.Helper()
	return startChainWith(t, 1_000*minStake, func(ap *app.App, gen map[string]json.RawMessage) {
		genesisModel(t, designer.addr, map[string]int64{a.addr.String(): 1_000_000})(ap, gen)
		cdc := ap.AppCodec()
		var models modelstypes.GenesisState
		cdc.MustUnmarshalJSON(gen[modelstypes.ModuleName], &models)
		parent := models.Models[0]
		parent.Status, parent.TrainingStartedHeight = modelstypes.MODEL_STATUS_TRAINING, 1
		models.Models[0] = parent
		fork := parent
		fork.Id, fork.ParentId, fork.ParentBps, fork.FamilyId = 2, 1, parentBps, 1
		fork.ForkRoots = [][]byte{root(1), root(2), root(3)}
		models.Models = append(models.Models, fork)
		models.NextModelId = 3
		gen[modelstypes.ModuleName] = cdc.MustMarshalJSON(&models)
		var bank banktypes.GenesisState
		cdc.MustUnmarshalJSON(gen[banktypes.ModuleName], &bank)
		coins := sdk.NewCoins(sdk.NewInt64Coin(sharestypes.ShareDenom(2), 1_000_000))
		bank.Balances = append(bank.Balances, banktypes.Balance{Address: b.addr.String(), Coins: coins})
		bank.Supply = bank.Supply.Add(coins...)
		gen[banktypes.ModuleName] = cdc.MustMarshalJSON(&bank)
	}, append([]*account{designer, a, b}, others...)...)
}

// Revenue paid to a fork in payments of at most 4 units (an inference settlement batch is one
// payment) passes nothing up: each royalty is rounded down to 0 and never carried. 20 units paid
// at 20% owe the parent 3.8 units (after the 5% fee); it gets 0.
func TestAttackRoyaltyRoundsAwayOnSmallPayments(t *testing.T) {
	designer, a, b, customer := newAccount(0), newAccount(1), newAccount(2), newAccount(3)
	c := familyChain(t, 2000, designer, a, b, customer)
	var msgs []sdk.Msg
	for range 5 {
		msgs = append(msgs, &sharestypes.MsgPayRevenue{Payer: customer.addr.String(), ModelId: 2, Amount: sdk.NewInt64Coin(app.BondDenom, 4)})
	}
	res := c.send(customer, msgs...)
	require.Zero(t, res.Code, res.Log)
	require.NoError(t, c.app.SharesKeeper.CheckInvariants(c.app.NewContext(true)))
	toParent, err := c.app.SharesKeeper.Claimable(c.app.NewContext(true), 1, a.addr)
	require.NoError(t, err)
	toFork, err := c.app.SharesKeeper.Claimable(c.app.NewContext(true), 2, b.addr)
	require.NoError(t, err)
	require.GreaterOrEqual(t, toParent.Int64(), int64(3), "20 units paid to a fork at parent_bps 2000: the parent's holder can claim %s, the fork's %s", toParent, toFork)
}

// exportModels is x/models' exported genesis of c.
func exportModels(t *testing.T, c *chain) modelstypes.GenesisState {
	t.Helper()
	gs, err := c.app.ModelsKeeper.ExportGenesis(c.app.NewContext(true))
	require.NoError(t, err)
	return *gs
}

// Genesis validation takes parent links no transaction could make: a model its own parent, a
// cycle of two forks, a fork whose parent has a higher id. (Royalties then pay a model to
// itself up to 16 times; the line's depth check runs into the cycle.)
func TestAttackGenesisAcceptsParentCycles(t *testing.T) {
	designer, h := newAccount(0), newAccount(1)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000})
	base := exportModels(t, c)
	p := base.Models[0]
	p.FamilyId = p.Id
	fork := func(id, parent uint64) modelstypes.Model {
		m := p
		m.Id, m.ParentId, m.FamilyId, m.ParentBps = id, parent, p.Id, 1000
		m.Status, m.TrainingStartedHeight = modelstypes.MODEL_STATUS_RECRUITING, 0
		m.ForkRoots = [][]byte{root(1), root(2), root(3)}
		return m
	}
	cases := map[string][]modelstypes.Model{
		"a model its own parent": {func() modelstypes.Model {
			m := p
			m.ParentId, m.ParentBps, m.ForkRoots = p.Id, 1000, [][]byte{root(1), root(2), root(3)}
			return m
		}()},
		"two forks each other's parent":  {p, fork(2, 3), fork(3, 2)},
		"a parent younger than its fork": {p, fork(2, 3), fork(3, 1)},
	}
	for name, models := range cases {
		gs := base
		gs.Models, gs.NextModelId = models, 4
		if err := gs.Validate(); err == nil {
			t.Errorf("%s: x/models genesis validates", name)
		}
	}
}

// Validation (validate-genesis) and InitGenesis disagree on the family-wide stage rule: an
// operator seated on stage 0 of model 1 and stage 1 of its fork, with no held_stages record (a
// genesis that leaves them out, as InitGenesis explicitly allows), validates; InitGenesis then
// fails its invariants (the chain does not start), and nothing names the rule at validation.
func TestAttackGenesisTwoStagesOfAFamilyValidateButInitFails(t *testing.T) {
	designer, h, w := newAccount(0), newAccount(1), newAccount(2)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, w)
	require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
	require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: 0}).Code)
	gs := exportModels(t, c)
	f := gs.Models[0]
	f.Id, f.ParentId, f.FamilyId, f.ParentBps = 2, 1, 1, 1000
	f.Status, f.TrainingStartedHeight = modelstypes.MODEL_STATUS_RECRUITING, 0
	f.ForkRoots = [][]byte{root(1), root(2), root(3)}
	gs.Models[0].FamilyId = 1
	gs.Models = append(gs.Models, f)
	gs.NextModelId = 3
	gs.Seats = append(gs.Seats, modelstypes.Seat{ModelId: 2, Stage: 1, Operator: w.addr.String(), JoinedHeight: gs.Seats[0].JoinedHeight})
	gs.HeldStages = nil
	validateErr := gs.Validate()
	ctx, _ := c.app.NewContext(true).CacheContext()
	initErr := c.app.ModelsKeeper.InitGenesis(ctx, &gs)
	t.Logf("validate: %v; init: %v", validateErr, initErr)
	require.Error(t, validateErr, "operator %s seated on stages 0 and 1 of family 1 validates (InitGenesis: %v)", w.addr, initErr)
}

// forkedFamily is holderChain's model 1 with w0..w2 on its stages (step 4, roots 10..12) and a
// fork of it (parent_bps bps) trained by the same operators on the same stages; it returns the
// fork's id. With commitStep0 the fork's replicas commit its step 0 (the parent's roots).
func forkedFamily(t *testing.T, c *chain, forker *account, ws []*account, bps uint32, commitStep0 bool) uint64 {
	t.Helper()
	for s, w := range ws {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s)}).Code)
		res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s), Step: 4, WeightsRoot: root(byte(10 + s))})
		require.Zero(t, res.Code, res.Log)
	}
	res := c.send(forker, forkMsg(forker.addr, bps))
	require.Zero(t, res.Code, res.Log)
	var out modelstypes.MsgCreateModelResponse
	requireMsgResponse(t, res, &out)
	for s, w := range ws {
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: out.ModelId, Stage: uint32(s)}).Code)
	}
	for s, w := range ws {
		if commitStep0 {
			res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: out.ModelId, Stage: uint32(s), Step: 0, WeightsRoot: root(byte(10 + s))})
			require.Zero(t, res.Code, res.Log)
		}
	}
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, c.model(out.ModelId).Status)
	return out.ModelId
}

// Model 1's holders halt it: a halted model is forked no more. Its fork F never trained past step
// 0, so F's committed weights are model 1's: a fork of F is refused too.
func TestAttackHaltedModelForkedThroughItsUntrainedFork(t *testing.T) {
	designer, h, forker, w0, w1, w2 := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4), newAccount(5)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, forker, w0, w1, w2)
	f := forkedFamily(t, c, forker, []*account{w0, w1, w2}, 0, true)
	id := c.propose(h, halt)
	c.vote(h, id, yes)
	require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, c.endVote(id).Status)
	require.Equal(t, modelstypes.MODEL_STATUS_HALTED, c.model(1).Status)
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), c.send(forker, forkMsg(forker.addr, 0)).Code)

	g := forkMsg(forker.addr, 0)
	g.ParentId = f
	res := c.send(forker, g)
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "still the weights it was forked with")
}

// x/verify judges an average in a fork's attestation by x/models' HeldStage(fork, signer)
// (x/verify/types/provenance.go): the signer must have held a seat of the attestation's stage
// before it. HeldStage now answers for the family: an operator that only ever held stage 0 of
// the parent "held stage 0 of the fork", so any parent replica (even one long gone) vouches
// for parameters mixed into the fork's training that no replica of the fork ever had.
func TestAttackParentReplicaCountsAsForkReplicaForProvenance(t *testing.T) {
	designer, h, forker, w0, w1, w2 := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4), newAccount(5)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, forker, w0, w1, w2)
	for s, w := range []*account{w0, w1, w2} {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s)}).Code)
		require.Zero(t, c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: 1, Stage: uint32(s), Step: 4, WeightsRoot: root(byte(10 + s))}).Code)
	}
	res := c.send(forker, forkMsg(forker.addr, 0))
	require.Zero(t, res.Code, res.Log)
	var out modelstypes.MsgCreateModelResponse
	requireMsgResponse(t, res, &out)
	require.Zero(t, c.send(w0, &modelstypes.MsgLeaveStage{Operator: w0.addr.String(), ModelId: 1}).Code)
	stage, first, ok, err := c.app.ModelsKeeper.HeldStage(c.app.NewContext(true), out.ModelId, w0.addr)
	require.NoError(t, err)
	require.False(t, ok, "%s never sat in fork %d, yet counts as having held its stage %d since height %d (x/verify provenance)", w0.addr, out.ModelId, stage, first)
}

// One replica committing any root at a huge step chose every default fork's starting weights
// (the newest step's root won). A fork's default root is now the one most current replicas name;
// against one honest replica the liar only ties, which is no agreement: the fork must name its
// roots, and an explicit root must still be a current replica's latest commit.
func TestAttackLiarAtAHugeStepChoosesTheForksWeights(t *testing.T) {
	designer, h, forker, w0, w1, w2, liar := newAccount(0), newAccount(1), newAccount(2), newAccount(3), newAccount(4), newAccount(5), newAccount(6)
	c := holderChain(t, govPeriod, designer, map[*account]int64{h: 1_000_000}, forker, w0, w1, w2, liar)
	for s, w := range []*account{w0, w1, w2, liar} {
		require.Zero(t, c.send(w, registerMsg(t, w.addr, 2*minStake)).Code)
		stage := uint32(min(s, 2))
		if w == liar {
			stage = 0
		}
		require.Zero(t, c.send(w, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: stage}).Code)
		step, r := uint64(4), root(byte(10+stage))
		if w == liar {
			step, r = 1<<62, root(0xee)
		}
		res := c.send(w, &modelstypes.MsgCommitCheckpoint{Operator: w.addr.String(), ModelId: 1, Stage: stage, Step: step, WeightsRoot: r})
		require.Zero(t, res.Code, res.Log)
	}
	res := c.send(forker, forkMsg(forker.addr, 0))
	require.Equal(t, modelstypes.ErrInvalidFork.ABCICode(), res.Code, res.Log)
	require.Contains(t, res.Log, "do not agree")
	// Named, the honest root is taken; the liar's too, as the fork's designer's own choice.
	res = c.send(forker, forkMsg(forker.addr, 0, root(10), root(11), root(12)))
	require.Zero(t, res.Code, res.Log)
	// Once the liar leaves, the honest root is the default again.
	require.Zero(t, c.send(liar, &modelstypes.MsgLeaveStage{Operator: liar.addr.String(), ModelId: 1}).Code)
	res = c.send(forker, forkMsg(forker.addr, 0))
	require.Zero(t, res.Code, res.Log)
	var out modelstypes.MsgCreateModelResponse
	requireMsgResponse(t, res, &out)
	require.Equal(t, root(10), c.model(out.ModelId).ForkRoots[0])
}
