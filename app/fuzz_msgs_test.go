package app_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cosmos/gogoproto/proto"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/core/header"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	"github.com/protolearn/protolearn/app"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The message fuzz targets: every Msg of a protolearn module, decoded from fuzzed bytes, runs
// through the whole app's router against one chain with real state (a TRAINING model with
// seated workers, finalized work and paid revenue, pending attestations under open
// challenges, a registered anchor key). Nothing may panic; a handler that refuses returns an
// error; one that accepts leaves the modules' invariants whole; and no input writes past its
// branch of the committed state, so the inputs are independent of each other.
//
// An input is (kind, who, body): kind picks the module's Msg type (modulo their number), who
// leaves the signer (or authority) as decoded (0) or sets it to an actor of the fixture
// (1 + an actor index below, modulo their number plus one), and body is the Msg's protobuf encoding.

func FuzzComputeMsgs(f *testing.F)   { fuzzMsgs(f, computeMsgKinds) }
func FuzzModelsMsgs(f *testing.F)    { fuzzMsgs(f, modelsMsgKinds) }
func FuzzSharesMsgs(f *testing.F)    { fuzzMsgs(f, sharesMsgKinds) }
func FuzzVerifyMsgs(f *testing.F)    { fuzzMsgs(f, verifyMsgKinds) }
func FuzzAnchorMsgs(f *testing.F)    { fuzzMsgs(f, anchorMsgKinds) }
func FuzzInferenceMsgs(f *testing.F) { fuzzMsgs(f, inferenceMsgKinds) }
func FuzzModelgovMsgs(f *testing.F)  { fuzzMsgs(f, modelgovMsgKinds) }

// msgKind is one Msg type a target fuzzes: a fresh instance, and how to set its signer.
type msgKind struct {
	url  string
	new  func() sdk.Msg
	sign func(sdk.Msg, sdk.AccAddress)
}

// kindOf is the msgKind of the Msg type P, whose signer field sign sets.
func kindOf[M any, P interface {
	*M
	sdk.Msg
}](sign func(P, sdk.AccAddress),
) msgKind {
	return msgKind{
		url:  sdk.MsgTypeURL(P(new(M))),
		new:  func() sdk.Msg { return P(new(M)) },
		sign: func(m sdk.Msg, a sdk.AccAddress) { sign(m.(P), a) },
	}
}

// Every Msg of each module, UpdateParams included; a new Msg goes in its module's list (the
// seeds of a list's kinds are checked to cover it, see fuzzMsgs).
var (
	computeMsgKinds = []msgKind{
		kindOf(func(m *computetypes.MsgRegisterWorker, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *computetypes.MsgUpdateWorker, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *computetypes.MsgAddStake, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *computetypes.MsgBeginUnbonding, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *computetypes.MsgUnjail, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *computetypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
	modelsMsgKinds = []msgKind{
		kindOf(func(m *modelstypes.MsgCreateModel, a sdk.AccAddress) { m.Designer = a.String() }),
		kindOf(func(m *modelstypes.MsgCancelModel, a sdk.AccAddress) { m.Designer = a.String() }),
		kindOf(func(m *modelstypes.MsgJoinStage, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *modelstypes.MsgLeaveStage, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *modelstypes.MsgCommitCheckpoint, a sdk.AccAddress) { m.Operator = a.String() }),
		kindOf(func(m *modelstypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
	sharesMsgKinds = []msgKind{
		kindOf(func(m *sharestypes.MsgPayRevenue, a sdk.AccAddress) { m.Payer = a.String() }),
		kindOf(func(m *sharestypes.MsgClaimRevenue, a sdk.AccAddress) { m.Holder = a.String() }),
		kindOf(func(m *sharestypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
	verifyMsgKinds = []msgKind{
		kindOf(func(m *verifytypes.MsgSubmitAttestation, a sdk.AccAddress) { m.Worker = a.String() }),
		kindOf(func(m *verifytypes.MsgOpenChallenge, a sdk.AccAddress) { m.Challenger = a.String() }),
		kindOf(func(m *verifytypes.MsgRespondChallenge, a sdk.AccAddress) { m.Worker = a.String() }),
		kindOf(func(m *verifytypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
		kindOf(func(m *verifytypes.MsgOpenDispute, a sdk.AccAddress) { m.Referee = a.String() }),
		kindOf(func(m *verifytypes.MsgDisputeClaim, a sdk.AccAddress) { m.Worker = a.String() }),
		kindOf(func(m *verifytypes.MsgDisputeRespond, a sdk.AccAddress) { m.Referee = a.String() }),
		kindOf(func(m *verifytypes.MsgRequestLog, a sdk.AccAddress) { m.Referee = a.String() }),
		kindOf(func(m *verifytypes.MsgAnswerLogRequest, a sdk.AccAddress) { m.Submitter = a.String() }),
		kindOf(func(m *verifytypes.MsgReportEquivocation, a sdk.AccAddress) { m.Reporter = a.String() }),
	}
	inferenceMsgKinds = []msgKind{
		kindOf(func(m *inferencetypes.MsgSetPrice, a sdk.AccAddress) { m.Designer = a.String() }),
		kindOf(func(m *inferencetypes.MsgDeposit, a sdk.AccAddress) { m.Customer = a.String() }),
		kindOf(func(m *inferencetypes.MsgSettle, a sdk.AccAddress) { m.Submitter = a.String() }),
		kindOf(func(m *inferencetypes.MsgWithdraw, a sdk.AccAddress) { m.Customer = a.String() }),
		kindOf(func(m *inferencetypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
	modelgovMsgKinds = []msgKind{
		kindOf(func(m *modelgovtypes.MsgPropose, a sdk.AccAddress) { m.Proposer = a.String() }),
		kindOf(func(m *modelgovtypes.MsgVote, a sdk.AccAddress) { m.Voter = a.String() }),
		kindOf(func(m *modelgovtypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
	anchorMsgKinds = []msgKind{
		// The signer of MsgSetAnchorKey is the validator's operator, in valoper form.
		kindOf(func(m *anchortypes.MsgSetAnchorKey, a sdk.AccAddress) {
			m.ValidatorAddress = sdk.ValAddress(a).String()
		}),
		kindOf(func(m *anchortypes.MsgUpdateParams, a sdk.AccAddress) { m.Authority = a.String() }),
	}
)

// The fixture's actors, by index: who − 1 of an input.
const (
	actorWorker    = iota // seated on stage 0; a share holder with revenue to claim; a pending attestation under an open challenge
	actorReplica          // seated on stage 1, a share holder
	actorCheater          // seated on stage 1; its pending attestation of a faked tile is under an open challenge, and the replica's dispute (its move)
	actorIdle             // a registered worker with no seat
	actorDesigner         // model 1's designer
	actorCustomer         // funded: pays revenue, opens challenges
	actorGov              // the modules' authority
	actorStranger         // an address the chain has never seen
	actorValidator        // the validator's operator, with an anchor key
	numActors
)

// msgSeed is a Msg built from the fixture, sent by actor who (an index of the actors); refused
// says the fixture's state refuses it (the rest it accepts: checkSeeds).
type msgSeed struct {
	who     int
	msg     sdk.Msg
	refused bool
}

func accepts(who int, msg sdk.Msg) msgSeed { return msgSeed{who: who, msg: msg} }
func refuses(who int, msg sdk.Msg) msgSeed { return msgSeed{who: who, msg: msg, refused: true} }

// msgFixture is the chain every input runs against, and the seeds built from it. Its chain's
// helpers report to the tb that built it, so after newMsgFixture only its app and clock are
// used.
type msgFixture struct {
	vc     *verifyChain
	actors [numActors]sdk.AccAddress
	seeds  []msgSeed
}

var (
	msgFixtureOnce sync.Once
	msgFixtureVal  *msgFixture
)

// sharedMsgFixture builds the fixture once per process (real keys and proofs: seconds), with
// the first target's tb; every target of the process shares it, read-only.
func sharedMsgFixture(tb testing.TB) *msgFixture {
	tb.Helper()
	msgFixtureOnce.Do(func() { msgFixtureVal = newMsgFixture(tb) })
	if msgFixtureVal == nil {
		tb.Fatal("the message fuzz fixture failed to build (see the first target's failure)")
	}
	return msgFixtureVal
}

// fuzzMsgs is a target over kinds: the fixture's seeds of those kinds, then fuzzed inputs.
func fuzzMsgs(f *testing.F, kinds []msgKind) {
	fx := sharedMsgFixture(f)
	seeded := map[int]bool{}
	for _, s := range fx.seeds {
		for i, k := range kinds {
			if k.url != sdk.MsgTypeURL(s.msg) {
				continue
			}
			body, err := proto.Marshal(s.msg)
			require.NoError(f, err)
			f.Add(byte(i), byte(1+s.who), body)
			seeded[i] = true
		}
	}
	for i, k := range kinds {
		require.True(f, seeded[i], "no seed of %s: add one to newMsgFixture", k.url)
	}
	fx.requireAllMsgs(f, kinds)
	f.Fuzz(func(t *testing.T, kind, who byte, body []byte) {
		fx.run(t, kinds[int(kind)%len(kinds)], who, body)
	})
}

// requireAllMsgs fails unless kinds hold every Msg the app registers in their module's
// package (the package of kinds[0]): a Msg added to a module must be added to its target.
func (fx *msgFixture) requireAllMsgs(tb testing.TB, kinds []msgKind) {
	tb.Helper()
	pkg := kinds[0].url[:strings.LastIndex(kinds[0].url, ".")+1] // "/protolearn.compute.v1."
	for _, url := range fx.vc.app.InterfaceRegistry().ListImplementations(sdk.MsgInterfaceProtoName) {
		if strings.HasPrefix(url, pkg) {
			require.True(tb, slices.ContainsFunc(kinds, func(k msgKind) bool { return k.url == url }),
				"%s is not fuzzed: add it to its module's msgKinds, with a seed", url)
		}
	}
}

// run decodes body as a Msg of k, sets its signer as who says, and runs it in a branch of the
// committed state (apply).
func (fx *msgFixture) run(t *testing.T, k msgKind, who byte, body []byte) {
	msg := k.new()
	if err := proto.Unmarshal(body, msg); err != nil {
		return // not an encoding of k's Msg: the tx decoder refuses it before any handler
	}
	if i := int(who) % (numActors + 1); i > 0 {
		k.sign(msg, fx.actors[i-1])
	}
	_ = fx.apply(t, msg) // a refusal is an outcome like any other: apply checked what it owes
}

// apply runs msg in a branch of the committed state: ValidateBasic (where the type has one),
// then its handler. It returns the handler's error, after checking what every outcome owes.
func (fx *msgFixture) apply(tb testing.TB, msg sdk.Msg) error {
	tb.Helper()
	a := fx.vc.app
	committed := a.CommitMultiStore().WorkingHash()
	ctx, _ := fx.context().CacheContext() // never written back: inputs stay independent
	res, err := handleMsg(tb, a, ctx, msg)
	if err == nil {
		// Accepted: a result with the Msg's response, and state that keeps every invariant.
		require.NotNil(tb, res, "%s: no error and no result", sdk.MsgTypeURL(msg))
		require.Len(tb, res.MsgResponses, 1, "%s: accepted without its response", sdk.MsgTypeURL(msg))
		require.NoError(tb, a.ComputeKeeper.CheckInvariants(ctx), "x/compute after %s", msg)
		require.NoError(tb, a.ModelsKeeper.CheckInvariants(ctx), "x/models after %s", msg)
		require.NoError(tb, a.SharesKeeper.CheckInvariants(ctx), "x/shares after %s", msg)
		require.NoError(tb, a.InferenceKeeper.CheckInvariants(ctx), "x/inference after %s", msg)
		require.NoError(tb, a.ModelgovKeeper.CheckInvariants(ctx), "x/modelgov after %s", msg)
	}
	// Whatever the outcome, the handler wrote only to its branch, which the caller drops on
	// an error (baseapp's contract) and which we drop always: the parent must be untouched.
	require.Equal(tb, committed, a.CommitMultiStore().WorkingHash(), "%s wrote past its branch: %s", sdk.MsgTypeURL(msg), msg)
	return err
}

// handleMsg runs msg as baseapp does inside a tx: ValidateBasic where the type has one, then
// the handler the Msg service router has for it.
func handleMsg(t testing.TB, a *app.App, ctx sdk.Context, msg sdk.Msg) (*sdk.Result, error) {
	if v, ok := msg.(sdk.HasValidateBasic); ok {
		if err := v.ValidateBasic(); err != nil {
			return nil, err
		}
	}
	h := a.MsgServiceRouter().Handler(msg)
	require.NotNil(t, h, "no handler routes %s", sdk.MsgTypeURL(msg))
	return h(ctx, msg)
}

// context is a fresh context of the block after the fixture's last, over the committed state
// itself: callers branch it before writing.
func (fx *msgFixture) context() sdk.Context {
	h := cmtproto.Header{ChainID: app.DefaultChainID, Height: fx.vc.app.LastBlockHeight() + 1, Time: fx.vc.time.Add(time.Second)}
	return fx.vc.app.NewUncachedContext(false, h).
		WithHeaderInfo(header.Info{Height: h.Height, Time: h.Time, ChainID: h.ChainID})
}

// newMsgFixture starts the verify chain (model 1 TRAINING, four seated workers) and drives it
// into the state the actors' comments describe, then builds one seed of every Msg type.
func newMsgFixture(tb testing.TB) *msgFixture {
	tb.Helper()
	customer, idle := newAccount(0), newAccount(0)
	vc, ws := startVerifyChain(tb, sdkmath.LegacyZeroDec(), customer, idle)
	worker, replica, cheater := ws[0], ws[1], ws[3]
	require.Zero(tb, vc.send(idle, registerMsg(tb, idle.addr, 2*minStake)).Code)

	// Finalized work: shares for the worker, the replica and the designer; then revenue for them.
	vc.submit(tb, worker, 1)
	vc.submit(tb, replica, 1)
	vc.blocks(vWindow)
	require.Positive(tb, vc.shares(worker.addr), "the worker's first step finalized into shares")
	pay := &sharestypes.MsgPayRevenue{Payer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 1_000_000), Reference: "invoice 1"}
	res := vc.send(customer, pay)
	require.Zero(tb, res.Code, res.Log)

	// Model 1 on sale, and the customer's deposit 1 for it (held, its receipts signed by its key).
	res = vc.send(vc.designer, &inferencetypes.MsgSetPrice{Designer: vc.designer.addr.String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, 3000)})
	require.Zero(tb, res.Code, res.Log)
	res = vc.send(customer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 500_000)})
	require.Zero(tb, res.Code, res.Log)

	// Pending work under open challenges: the worker's (answerable) and the cheater's (not).
	honest := vc.challenge(tb, customer, vc.submit(tb, worker, 1), worker.next-1)
	cheatID := vc.submit(tb, cheater, 1)
	faked := vc.challenge(tb, customer, cheatID, cheater.next-1)
	// The replica disputes the cheater's updates: dispute 1, the cheater to move.
	disputeBond := sdk.NewInt64Coin(app.BondDenom, 50_000_000)
	res = vc.send(replica.account, &verifytypes.MsgOpenDispute{Referee: replica.addr.String(), AttestationId: cheatID, Bond: disputeBond})
	require.Zero(tb, res.Code, res.Log)

	ctx := vc.app.NewContext(true)
	model, err := vc.app.ModelsKeeper.GetModel(ctx, 1)
	require.NoError(tb, err)
	vals, err := vc.app.StakingKeeper.GetAllValidators(ctx)
	require.NoError(tb, err)
	require.Len(tb, vals, 1)
	valoper, err := sdk.ValAddressFromBech32(vals[0].OperatorAddress)
	require.NoError(tb, err)
	fx := &msgFixture{vc: vc}
	fx.actors = [numActors]sdk.AccAddress{
		actorWorker: worker.addr, actorReplica: replica.addr, actorCheater: cheater.addr, actorIdle: idle.addr,
		actorDesigner: sdk.MustAccAddressFromBech32(model.Designer), actorCustomer: customer.addr,
		actorGov: authtypes.NewModuleAddress(govtypes.ModuleName), actorStranger: newAccount(0).addr,
		actorValidator: sdk.AccAddress(valoper),
	}
	fx.registerAnchorKey(tb, valoper)
	fx.checkFixture(tb)

	proof, err := vc.prove(tb, worker, honest)
	require.NoError(tb, err)
	gov := fx.actors[actorGov].String()
	stake := sdk.NewInt64Coin(app.BondDenom, minStake)
	fx.seeds = []msgSeed{
		refuses(actorStranger, registerMsg(tb, fx.actors[actorStranger], minStake)),
		accepts(actorCustomer, registerMsg(tb, customer.addr, minStake)),
		accepts(actorWorker, &computetypes.MsgUpdateWorker{Operator: worker.addr.String(), Multiaddrs: []string{"/ip4/10.0.0.1/tcp/4001"}}),
		accepts(actorWorker, &computetypes.MsgAddStake{Operator: worker.addr.String(), Amount: stake}),
		accepts(actorWorker, &computetypes.MsgBeginUnbonding{Operator: worker.addr.String(), Amount: stake}),
		refuses(actorCheater, &computetypes.MsgUnjail{Operator: cheater.addr.String()}),
		accepts(actorGov, &computetypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.ComputeKeeper.GetParams)}),

		accepts(actorCustomer, newModelMsg(customer.addr, model)),
		refuses(actorDesigner, &modelstypes.MsgCancelModel{Designer: model.Designer, ModelId: 1}),
		accepts(actorIdle, &modelstypes.MsgJoinStage{Operator: idle.addr.String(), ModelId: 1, Stage: 2}),
		accepts(actorReplica, &modelstypes.MsgLeaveStage{Operator: replica.addr.String(), ModelId: 1}),
		accepts(actorWorker, &modelstypes.MsgCommitCheckpoint{Operator: worker.addr.String(), ModelId: 1, Stage: 0, Step: 1, WeightsRoot: stateRoot(worker, 1, 1)}),
		accepts(actorGov, &modelstypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.ModelsKeeper.GetParams)}),

		accepts(actorCustomer, pay),
		accepts(actorWorker, &sharestypes.MsgClaimRevenue{Holder: worker.addr.String(), ModelIds: []uint64{1}}),
		accepts(actorGov, &sharestypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.SharesKeeper.GetParams)}),

		// The replica's next attestation, built but never sent: valid against the fixture.
		accepts(actorReplica, vc.attestation(tb, replica, 1)),
		accepts(actorCustomer, &verifytypes.MsgOpenChallenge{
			Challenger: customer.addr.String(), AttestationId: cheatID, Kind: verifytypes.CHALLENGE_KIND_FORWARD,
			Step: faked.Step, Row: 2, Col: 1, Bond: maxBond,
		}),
		accepts(actorWorker, &verifytypes.MsgRespondChallenge{Worker: worker.addr.String(), ChallengeId: honest.Id, Proof: proof}),
		refuses(actorCheater, &verifytypes.MsgRespondChallenge{Worker: cheater.addr.String(), ChallengeId: faked.Id, Proof: []byte("not a proof")}),
		refuses(actorReplica, &verifytypes.MsgOpenDispute{Referee: replica.addr.String(), AttestationId: cheatID, Bond: disputeBond}),
		accepts(actorCheater, &verifytypes.MsgDisputeClaim{Worker: cheater.addr.String(), DisputeId: 1, Events: 4, StateRoot: stateRoot(cheater, 1, 99), LogHead: logHead(cheater, 1, 99)}),
		refuses(actorReplica, &verifytypes.MsgDisputeRespond{Referee: replica.addr.String(), DisputeId: 1, Agree: true}),
		// Stage 1 holds the replica and the cheater only: no third replica could take custody.
		refuses(actorReplica, &verifytypes.MsgRequestLog{Referee: replica.addr.String(), AttestationId: cheatID}),
		refuses(actorCheater, &verifytypes.MsgAnswerLogRequest{Submitter: cheater.addr.String(), RequestId: 1, Custodian: replica.peerID().String(), Signature: make([]byte, 64)}),
		// The cheater (stage 1) signed its first send's number over another gradient for stage 0.
		accepts(actorWorker, equivocation(tb, vc.attestationByID(tb, cheatID), cheater, worker, worker.addr)),
		accepts(actorGov, &verifytypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.VerifyKeeper.GetParams)}),

		accepts(actorValidator, fx.anchorKeyMsg(tb, valoper)),
		accepts(actorGov, &anchortypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.AnchorKeeper.GetParams)}),

		accepts(actorDesigner, &inferencetypes.MsgSetPrice{Designer: fx.actors[actorDesigner].String(), ModelId: 1, Per_1KTokens: sdk.NewInt64Coin(app.BondDenom, 4000)}),
		accepts(actorCustomer, &inferencetypes.MsgDeposit{Customer: customer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 100_000)}),
		accepts(actorWorker, &inferencetypes.MsgSettle{Submitter: worker.addr.String(), Receipts: []inferencetypes.SignedReceipt{
			receipt(tb, customer.priv, 1, "seed", 100, worker.addr, replica.addr, ws[2].addr),
		}}),
		refuses(actorCustomer, &inferencetypes.MsgWithdraw{Customer: customer.addr.String(), DepositId: 1}),
		accepts(actorGov, &inferencetypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.InferenceKeeper.GetParams)}),

		// The worker holds share/1: it may propose; nobody has yet, so there is nothing to vote on.
		accepts(actorWorker, &modelgovtypes.MsgPropose{Proposer: worker.addr.String(), ModelId: 1, Action: modelgovtypes.Action{Type: modelgovtypes.ACTION_TYPE_PAUSE}}),
		refuses(actorWorker, &modelgovtypes.MsgVote{Voter: worker.addr.String(), ProposalId: 1, Option: modelgovtypes.VOTE_OPTION_YES}),
		accepts(actorGov, &modelgovtypes.MsgUpdateParams{Authority: gov, Params: moduleParams(tb, fx, fx.vc.app.ModelgovKeeper.GetParams)}),
	}
	fx.checkSeeds(tb)
	return fx
}

// checkSeeds runs each seed as its actor sends it: the fixture accepts or refuses it as the seed
// says, so that the targets start from inputs that reach the handlers' ends.
func (fx *msgFixture) checkSeeds(tb testing.TB) {
	tb.Helper()
	for _, s := range fx.seeds {
		err := fx.apply(tb, s.msg)
		if s.refused {
			require.Error(tb, err, "seed %s", sdk.MsgTypeURL(s.msg))
		} else {
			require.NoError(tb, err, "seed %s", sdk.MsgTypeURL(s.msg))
		}
	}
}

// newModelMsg creates a copy of model m, designed by designer.
func newModelMsg(designer sdk.AccAddress, m modelstypes.Model) *modelstypes.MsgCreateModel {
	return &modelstypes.MsgCreateModel{
		Designer: designer.String(), Name: "copy of " + m.Name, Arch: m.Arch, Stages: m.Stages, Seed: m.Seed,
		DatasetCommitment: m.DatasetCommitment, DesignerBps: m.DesignerBps, MinStake: m.MinStake,
		MaxReplicasPerStage: m.MaxReplicasPerStage, TargetWorkUnits: m.TargetWorkUnits, SubspaceRoot: m.SubspaceRoot,
		MicrobatchesPerStep: m.MicrobatchesPerStep, Optimizer: m.Optimizer,
	}
}

// anchorKeyMsg registers a fresh Ethereum key for the validator valoper, with its proof.
func (fx *msgFixture) anchorKeyMsg(tb testing.TB, valoper sdk.ValAddress) *anchortypes.MsgSetAnchorKey {
	tb.Helper()
	key, err := ethcrypto.GenerateKey()
	require.NoError(tb, err)
	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, valoper.String(), valoper, key)
	require.NoError(tb, err)
	return msg
}

// registerAnchorKey gives the validator an anchor key. Its operator's key is not ours to sign a
// tx with (the genesis helper made it), so the handler runs on the working state directly,
// which the next block commits.
func (fx *msgFixture) registerAnchorKey(tb testing.TB, valoper sdk.ValAddress) {
	tb.Helper()
	_, err := handleMsg(tb, fx.vc.app, fx.context(), fx.anchorKeyMsg(tb, valoper))
	require.NoError(tb, err)
	fx.vc.block(time.Second)
}

// checkFixture makes sure the fixture holds what the targets rely on: its invariants, so that a
// broken one after an input is the input's doing.
func (fx *msgFixture) checkFixture(tb testing.TB) {
	tb.Helper()
	a, ctx := fx.vc.app, fx.context()
	require.NoError(tb, a.ComputeKeeper.CheckInvariants(ctx))
	require.NoError(tb, a.ModelsKeeper.CheckInvariants(ctx))
	require.NoError(tb, a.SharesKeeper.CheckInvariants(ctx))
	m, err := a.ModelsKeeper.GetModel(ctx, 1)
	require.NoError(tb, err)
	require.Equal(tb, modelstypes.MODEL_STATUS_TRAINING, m.Status)
	keys, err := a.AnchorKeeper.Keys.Get(ctx, sdk.ValAddress(fx.actors[actorValidator]))
	require.NoError(tb, err, "the validator's anchor key")
	require.Len(tb, keys, 20)
}

// moduleParams reads a module's params (get is its keeper's GetParams) from the committed state.
func moduleParams[P any](tb testing.TB, fx *msgFixture, get func(context.Context) (P, error)) P {
	tb.Helper()
	p, err := get(fx.context())
	require.NoError(tb, err)
	return p
}
