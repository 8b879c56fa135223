package app_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/app"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
	computetestutil "github.com/protolearn/protolearn/x/compute/testutil"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

var (
	randomSeed   = flag.Uint64("random.seed", 0, "TestRandomOperations: replay this seed only (0: a fixed seed and one from the clock)")
	randomBlocks = flag.Int("random.blocks", 150, "TestRandomOperations: blocks per seed")
)

// TestRandomOperations drives the whole chain through a seeded random mix of every user action,
// as real signed txs in real blocks, and checks the invariants of every module and across them
// after every block; at the end the state is exported, imported into a fresh node, must match,
// and the imported chain goes on. A failure names its seed: -random.seed=N replays it.
func TestRandomOperations(t *testing.T) {
	seeds := []uint64{*randomSeed}
	if *randomSeed == 0 {
		seeds = []uint64{1, uint64(time.Now().UnixNano())}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			o := startRandomOps(t, seed)
			for range *randomBlocks {
				o.randomBlock()
			}
			o.roundTrip()
			for range 5 { // the imported chain goes on
				o.randomBlock()
			}
			t.Logf("seed %d: %d blocks, %d txs accepted, %d refused; by action (accepted/refused): %s",
				seed, o.blocks, o.accepted, o.refused, o.tally())
			o.summary()
			if testing.Verbose() {
				for _, r := range sortedKeys(o.reasons) {
					t.Logf("refused %d×: %s", o.reasons[r], r)
				}
			}
		})
	}
}

// randomOps is the driver of TestRandomOperations: the chain, its actors and what the test
// tracks of them.
type randomOps struct {
	t        *testing.T
	seed     uint64
	rng      *rand.Rand
	keys     io.Reader
	vc       *verifyChain
	designer *account // model 1's designer, the genesis delegator
	ws       []*trainer
	users    []*account // third parties: challengers, payers, holders, new workers, validators
	all      []*account

	blocks            int
	action            string // the action being built or checked, for failure messages
	txs               []queuedTx
	results           []string // the last block's txs and their results, printed on a failure
	accepted, refused int
	byAction          map[string][2]int
	reasons           map[string]int         // refusals by action and reason, for -v
	attested          map[*trainer]bool      // trainers with an attestation in the block being built
	proposed          int                    // proposals in the block being built
	anchored          int                    // checkpoints whose trees were checked against bank
	silent            map[uint64]bool        // challenges an honest worker decided to leave unanswered
	minted            map[uint64]sdkmath.Int // share/N minted, by EventAttestationFinalized
	workAdded         map[uint64]uint64      // work units credited, by EventWorkUnitsAdded
}

// queuedTx is one tx of the block being built; after, if set, sees its result.
type queuedTx struct {
	label string
	from  *account
	msg   sdk.Msg
	after func(*abci.ExecTxResult)
}

const randomUsers = 6

// startRandomOps starts a verify chain, seeded by seed: keys, layers and choices all come from it.
func startRandomOps(t *testing.T, seed uint64) *randomOps {
	t.Helper()
	var chacha [32]byte
	for i := range 8 {
		chacha[i] = byte(seed >> (8 * i))
	}
	o := &randomOps{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), keys: rand.NewChaCha8(chacha),
		byAction: map[string][2]int{}, reasons: map[string]int{}, silent: map[uint64]bool{}, minted: map[uint64]sdkmath.Int{},
		workAdded: map[uint64]uint64{},
	}
	t.Logf("seed %d (replay: go test ./app -run TestRandomOperations -random.seed=%d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED: %s; replay: go test ./app -run TestRandomOperations -random.seed=%d", o.where(), seed)
			for _, r := range o.results {
				t.Logf("  in the block: %s", r)
			}
		}
	})
	for range randomUsers {
		o.users = append(o.users, newAccountFrom(o.keys, 0))
	}
	// Reached in about half the runs, so that the cap is exercised and the training lasts.
	target := uint64(*randomBlocks/3 + o.rng.IntN(*randomBlocks+1))
	rate := sdkmath.LegacyNewDecWithPrec(int64(o.rng.IntN(40)), 2)
	tweak := func(m *modelstypes.GenesisState, _ *verifytypes.GenesisState) { m.Models[0].TargetWorkUnits = target }
	vc, ws := startVerifyChainOpts(t, verifyOptions{keys: o.keys, rng: rand.New(rand.NewPCG(seed, 7)), edit: randomGenesis},
		rate, vWindow, vResponse, tweak, o.users...)
	o.vc, o.ws = vc, ws
	o.designer = vc.designer
	for _, w := range ws {
		o.all = append(o.all, w.account)
	}
	o.all = append(o.all, o.designer)
	o.all = append(o.all, o.users...)
	t.Logf("seed %d: target %d work units, challenge rate %s", seed, target, rate)
	o.check()
	return o
}

// randomGenesis shortens the chain's clocks so that a few hundred blocks of seconds to hours
// see unbonding complete, jails end and proposals pass.
func randomGenesis(a *app.App, gen map[string]json.RawMessage) {
	cdc := a.AppCodec()
	var compute computetypes.GenesisState
	cdc.MustUnmarshalJSON(gen[computetypes.ModuleName], &compute)
	compute.Params.UnbondingTime, compute.Params.JailDuration = 2*time.Hour, 30*time.Minute
	gen[computetypes.ModuleName] = cdc.MustMarshalJSON(&compute)
	var staking stakingtypes.GenesisState
	cdc.MustUnmarshalJSON(gen[stakingtypes.ModuleName], &staking)
	staking.Params.UnbondingTime = 2 * time.Hour
	gen[stakingtypes.ModuleName] = cdc.MustMarshalJSON(&staking)
	var gov govv1.GenesisState
	cdc.MustUnmarshalJSON(gen[govtypes.ModuleName], &gov)
	voting, expedited := 10*time.Minute, 5*time.Minute
	gov.Params.VotingPeriod, gov.Params.ExpeditedVotingPeriod = &voting, &expedited
	gen[govtypes.ModuleName] = cdc.MustMarshalJSON(&gov)
	var anchor anchortypes.GenesisState
	cdc.MustUnmarshalJSON(gen[anchortypes.ModuleName], &anchor)
	anchor.Params.AnchorInterval = 3 // checkpoints of the share trees every few blocks
	gen[anchortypes.ModuleName] = cdc.MustMarshalJSON(&anchor)
}

func (o *randomOps) ctx() sdk.Context { return o.vc.app.NewContext(true) }

// where names the seed, the block and the action, for every failure message.
func (o *randomOps) where() string {
	return fmt.Sprintf("seed %d, block %d (height %d), action %q", o.seed, o.blocks, o.vc.app.LastBlockHeight(), o.action)
}

func (o *randomOps) pick(accs []*account) *account { return accs[o.rng.IntN(len(accs))] }

func (o *randomOps) queue(label string, from *account, msg sdk.Msg, after func(*abci.ExecTxResult)) {
	o.txs = append(o.txs, queuedTx{label: label, from: from, msg: msg, after: after})
}

// randomBlock builds a block of a random handful of actions, the workers' answers to their open
// challenges, runs it after a random duration, and checks the invariants.
func (o *randomOps) randomBlock() {
	o.t.Helper()
	o.txs, o.attested, o.proposed = nil, map[*trainer]bool{}, 0
	o.answerChallenges()
	o.rejoin()
	for range o.rng.IntN(6) {
		o.randomAction()
	}
	var raw [][]byte
	for _, tx := range o.txs {
		o.action = tx.label
		raw = append(raw, o.vc.encodeTx(tx.from, tx.msg))
		tx.from.seq++
	}
	o.action = "the block"
	res := o.vc.finalize(o.duration(), raw...)
	o.blocks++
	require.Len(o.t, res.TxResults, len(o.txs), o.where())
	o.results = o.results[:0]
	for i, r := range res.TxResults {
		tx := o.txs[i]
		o.results = append(o.results, fmt.Sprintf("%s by %s: code %d %s", tx.label, tx.from.addr, r.Code, r.Log))
		o.action = fmt.Sprintf("%s by %s: %s", tx.label, tx.from.addr, r.Log)
		n := o.byAction[tx.label]
		if r.Code == 0 {
			o.accepted++
			n[0]++
		} else {
			o.refused++
			n[1]++
			o.reasons[tx.label+": "+reason(r.Log)]++
		}
		o.byAction[tx.label] = n
		if tx.after != nil {
			tx.after(r)
		}
		o.recordMinted(r.Events)
	}
	o.recordMinted(res.Events)
	o.resync()
	o.action = "invariants after the block"
	o.check()
}

// duration is a random block time: mostly seconds, sometimes minutes, rarely hours (unbonding,
// jails and votes end).
func (o *randomOps) duration() time.Duration {
	switch r := o.rng.IntN(100); {
	case r < 80:
		return time.Duration(1+o.rng.IntN(30)) * time.Second
	case r < 96:
		return time.Duration(1+o.rng.IntN(20)) * time.Minute
	default:
		return time.Duration(1+o.rng.IntN(3)) * time.Hour
	}
}

// resync sets every signer's sequence to the chain's: a tx refused in the ante handler does not
// bump it, one that fails in its msg does.
func (o *randomOps) resync() {
	ctx := o.ctx()
	for _, acc := range o.all {
		if a := o.vc.app.AccountKeeper.GetAccount(ctx, acc.addr); a != nil {
			acc.seq = a.GetSequence()
		}
	}
}

// tally is the accepted/refused count of each action, sorted.
func (o *randomOps) tally() string {
	var out []string
	for _, label := range sortedKeys(o.byAction) {
		out = append(out, fmt.Sprintf("%s %d/%d", label, o.byAction[label][0], o.byAction[label][1]))
	}
	return strings.Join(out, ", ")
}

// summary logs where the run left model 1 and governance.
func (o *randomOps) summary() {
	ctx := o.ctx()
	m, err := o.vc.app.ModelsKeeper.GetModel(ctx, 1)
	require.NoError(o.t, err, o.where())
	statuses := map[string]int{}
	require.NoError(o.t, o.vc.app.GovKeeper.Proposals.Walk(ctx, nil, func(_ uint64, p govv1.Proposal) (bool, error) {
		statuses[p.Status.String()]++
		return false, nil
	}), o.where())
	challenges := map[string]int{}
	require.NoError(o.t, o.vc.app.VerifyKeeper.Challenges.Walk(ctx, nil, func(_ uint64, c verifytypes.Challenge) (bool, error) {
		challenges[c.Status.String()]++
		return false, nil
	}), o.where())
	o.t.Logf("seed %d: model 1 %s with %d of %d work units, %d share/1; %d models; proposals %v; challenges %v; %d validators; %d workers jailed; %d anchor checkpoints checked",
		o.seed, m.Status, m.WorkUnits, m.TargetWorkUnits, o.vc.app.BankKeeper.GetSupply(ctx, "share/1").Amount.Int64(),
		len(o.models()), statuses, challenges, len(o.validators()), len(o.jailed()), o.anchored)
}

// reason is the gist of a refusal's log: its last clause, without the specifics before it.
func reason(log string) string {
	if i := strings.LastIndex(log, ": "); i >= 0 {
		log = log[i+2:]
	}
	return log
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// randomAction queues one random action by a random actor; most are valid, many are not (the
// chain must refuse those cleanly).
func (o *randomOps) randomAction() {
	actions := []struct {
		weight int
		do     func()
	}{
		{12, o.attest},
		{3, o.openChallenge},
		{2, o.register},
		{2, o.addStake},
		{2, o.unbond},
		{2, o.unjail},
		{3, o.join},
		{1, o.leave},
		{2, o.checkpoint},
		{3, o.payRevenue},
		{3, o.sendShares},
		{3, o.claim},
		{1, o.createModel},
		{1, o.cancelModel},
		{1, o.propose},
		{2, o.vote},
		{1, o.createValidator},
		{2, o.delegate},
		{1, o.undelegate},
		{1, o.setAnchorKey},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	r := o.rng.IntN(total)
	for _, a := range actions {
		if r < a.weight {
			a.do()
			return
		}
		r -= a.weight
	}
}

func (o *randomOps) amount(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BondDenom, n) }

// attest queues a random worker's next attestation of 1 to 3 steps (one per worker and block),
// numbered from the chain's clock of the worker; a refused one gives its draws back.
func (o *randomOps) attest() {
	w := o.ws[o.rng.IntN(len(o.ws))]
	if o.attested[w] {
		return
	}
	o.attested[w] = true
	o.action = "attest by " + w.addr.String()
	clock, err := o.vc.app.VerifyKeeper.LastSteps.Get(o.ctx(), collections.Join(uint64(1), w.addr))
	if err != nil && !strings.Contains(err.Error(), "not found") {
		require.NoError(o.t, err, o.where())
	}
	w.next = clock.LastStep + 1
	draws := w.draws
	label := "attest (honest)"
	if w.cheat {
		label = "attest (cheater)"
	}
	o.queue(label, w.account, o.vc.attestation(o.t, w, uint64(1+o.rng.IntN(3))), func(r *abci.ExecTxResult) {
		if r.Code != 0 {
			w.draws = draws // the chain saw none of them
		}
	})
}

// pendingAttestations are the ids of model attestations still pending.
func (o *randomOps) pendingAttestations() []uint64 {
	var ids []uint64
	require.NoError(o.t, o.vc.app.VerifyKeeper.ToFinalize.Walk(o.ctx(), nil, func(k collections.Pair[int64, uint64]) (bool, error) {
		ids = append(ids, k.K2())
		return false, nil
	}), o.where())
	return ids
}

// openChallenge queues a third party's challenge of a pending attestation at a random position
// (some out of range, refused).
func (o *randomOps) openChallenge() {
	ids := o.pendingAttestations()
	if len(ids) == 0 {
		return
	}
	a, err := o.vc.app.VerifyKeeper.GetAttestation(o.ctx(), ids[o.rng.IntN(len(ids))])
	require.NoError(o.t, err, o.where())
	by := o.pick(o.users)
	msg := &verifytypes.MsgOpenChallenge{
		Challenger: by.addr.String(), AttestationId: a.Id, Kind: verifytypes.CHALLENGE_KIND_FORWARD,
		Step: a.StepFrom + uint64(o.rng.IntN(int(a.StepTo-a.StepFrom)+1)), Row: uint32(o.rng.IntN(vRows)), Col: 1, Bond: maxBond,
	}
	if o.rng.IntN(3) == 0 { // any kind, anywhere, past the last step too: many are refused
		msg.Kind = verifytypes.ChallengeKind(1 + o.rng.IntN(4))
		msg.Step = a.StepFrom + uint64(o.rng.IntN(int(a.StepTo-a.StepFrom)+2))
		msg.Row, msg.Col = uint32(o.rng.IntN(vRows+1)), uint32(o.rng.IntN(vD/vT+1))
	}
	o.queue("open challenge", by, msg, nil)
}

// answerChallenges has every worker answer its open challenges: an honest one with its real
// proof, except those it decided (once, at random) to leave to the deadline; a cheater where it
// can prove anything at all. An honest worker's valid answer must be accepted.
func (o *randomOps) answerChallenges() {
	ctx := o.ctx()
	for _, w := range o.ws {
		var ids []uint64
		require.NoError(o.t, o.vc.app.VerifyKeeper.OpenByWorker.Walk(ctx,
			collections.NewPrefixedPairRange[sdk.AccAddress, uint64](w.addr),
			func(k collections.Pair[sdk.AccAddress, uint64]) (bool, error) {
				ids = append(ids, k.K2())
				return false, nil
			}), o.where())
		for _, id := range ids {
			silent, decided := o.silent[id]
			if !decided {
				silent = !w.cheat && o.rng.IntN(10) == 0
				o.silent[id] = silent
			}
			if silent {
				continue
			}
			ch, err := o.vc.app.VerifyKeeper.GetChallenge(ctx, id)
			require.NoError(o.t, err, o.where())
			o.action = fmt.Sprintf("prove challenge %d (%s) of %s", id, ch.Kind, w.addr)
			proof, err := o.vc.prove(o.t, w, ch)
			if w.cheat {
				if err != nil {
					continue // a faked tile cannot be proved
				}
				// Only the tiles it did not fake (its weights' tie, its input) can be proved.
				o.queue(fmt.Sprintf("answer (cheater, %s)", ch.Kind), w.account, o.vc.respondMsg(w, id, proof), nil)
				continue
			}
			require.NoError(o.t, err, "an honest worker proves its tile; %s", o.where())
			o.queue("answer (honest)", w.account, o.vc.respondMsg(w, id, proof), func(r *abci.ExecTxResult) {
				require.Zero(o.t, r.Code, "an honest answer is accepted: %s", o.where())
			})
		}
	}
}

// register queues a new worker by a third party, sometimes below the minimum stake.
func (o *randomOps) register() {
	acc := o.pick(o.users)
	msg := registerMsg(o.t, acc.addr, minStake/2+o.rng.Int64N(3*minStake))
	msg.PeerId = computetestutil.NewPeerID(o.t, o.keys)
	o.queue("register worker", acc, msg, nil)
}

func (o *randomOps) addStake() {
	acc := o.pick(o.all)
	o.queue("add stake", acc, &computetypes.MsgAddStake{Operator: acc.addr.String(), Amount: o.amount(1 + o.rng.Int64N(minStake))}, nil)
}

// unbond queues a partial or a full unbonding (of the stake bonded now, or more).
func (o *randomOps) unbond() {
	acc := o.pick(o.users)
	if o.rng.IntN(4) == 0 { // a trainer too, now and then: its pending work stays at stake
		acc = o.pick(o.all)
	}
	amt := 1 + o.rng.Int64N(minStake)
	if w, err := o.vc.worker(acc.addr); err == nil && o.rng.IntN(3) == 0 {
		amt = w.Bonded.Amount.Int64() + o.rng.Int64N(2)
	}
	o.queue("begin unbonding", acc, &computetypes.MsgBeginUnbonding{Operator: acc.addr.String(), Amount: o.amount(amt)}, nil)
}

// unjail queues an unjail, mostly of a jailed worker, after topping its stake up.
func (o *randomOps) unjail() {
	if jailed := o.jailed(); len(jailed) > 0 && o.rng.IntN(4) != 0 {
		o.revive(jailed[o.rng.IntN(len(jailed))])
		return
	}
	acc := o.pick(o.all)
	o.queue("unjail", acc, &computetypes.MsgUnjail{Operator: acc.addr.String()}, nil)
}

// jailed are the accounts whose worker is jailed.
func (o *randomOps) jailed() []*account {
	var out []*account
	for _, acc := range o.all {
		if w, err := o.vc.worker(acc.addr); err == nil && w.Status == computetypes.WORKER_STATUS_JAILED {
			out = append(out, acc)
		}
	}
	return out
}

// seat is a random seat (ok false: none), as (account, model, stage).
func (o *randomOps) seat() (acc *account, model uint64, stage uint32, ok bool) {
	var seats []collections.Triple[uint64, uint32, sdk.AccAddress]
	require.NoError(o.t, o.vc.app.ModelsKeeper.Seats.Walk(o.ctx(), nil, func(k collections.Triple[uint64, uint32, sdk.AccAddress], _ modelstypes.Seat) (bool, error) {
		seats = append(seats, k)
		return false, nil
	}), o.where())
	if len(seats) == 0 {
		return nil, 0, 0, false
	}
	k := seats[o.rng.IntN(len(seats))]
	for _, a := range o.all {
		if a.addr.Equals(k.K3()) {
			return a, k.K1(), k.K2(), true
		}
	}
	return nil, 0, 0, false
}

// models are the ids of every model so far.
func (o *randomOps) models() []uint64 {
	next, err := o.vc.app.ModelsKeeper.ModelSeq.Peek(o.ctx())
	require.NoError(o.t, err, o.where())
	var ids []uint64
	for id := uint64(1); id < next; id++ {
		ids = append(ids, id)
	}
	return ids
}

// join queues a seat: a trainer mostly its own stage of model 1 (first topping its stake up and
// unjailing it where needed, so that the training goes on), anyone else a random stage of a
// random model.
func (o *randomOps) join() {
	if o.rng.IntN(2) == 0 {
		w := o.ws[o.rng.IntN(len(o.ws))]
		o.revive(w.account)
		o.queue("join stage", w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: w.stage}, nil)
		return
	}
	acc, ids := o.pick(o.all), o.models()
	o.queue("join stage", acc, &modelstypes.MsgJoinStage{
		Operator: acc.addr.String(), ModelId: ids[o.rng.IntN(len(ids))], Stage: uint32(o.rng.IntN(4)),
	}, nil)
}

// rejoin has a trainer that lost its seat (it left, was jailed, unbonded) now and then come back
// to its stage, as a real one keeps trying to: the training goes on through the run.
func (o *randomOps) rejoin() {
	m, err := o.vc.app.ModelsKeeper.GetModel(o.ctx(), 1)
	require.NoError(o.t, err, o.where())
	if !m.Status.Live() {
		return
	}
	for _, w := range o.ws {
		if !o.vc.seated(o.t, w) && o.rng.IntN(3) == 0 {
			o.revive(w.account)
			o.queue("join stage", w.account, &modelstypes.MsgJoinStage{Operator: w.addr.String(), ModelId: 1, Stage: w.stage}, nil)
		}
	}
}

// revive queues what makes acc's worker active again: stake up to the minimum, then an unjail
// if it is jailed.
func (o *randomOps) revive(acc *account) {
	w, err := o.vc.worker(acc.addr)
	if err != nil {
		return
	}
	p, err := o.vc.app.ComputeKeeper.GetParams(o.ctx())
	require.NoError(o.t, err, o.where())
	if short := p.MinWorkerStake.Amount.Sub(w.Bonded.Amount); short.IsPositive() {
		o.queue("add stake", acc, &computetypes.MsgAddStake{Operator: acc.addr.String(), Amount: sdk.NewCoin(app.BondDenom, short)}, nil)
	}
	if w.Status == computetypes.WORKER_STATUS_JAILED {
		o.queue("unjail", acc, &computetypes.MsgUnjail{Operator: acc.addr.String()}, nil)
	}
}

// leave queues leaving a seat: mostly one held, else any model.
func (o *randomOps) leave() {
	acc, model, _, ok := o.seat()
	if !ok || o.rng.IntN(4) == 0 {
		ids := o.models()
		acc, model = o.pick(o.all), ids[o.rng.IntN(len(ids))]
	}
	o.queue("leave stage", acc, &modelstypes.MsgLeaveStage{Operator: acc.addr.String(), ModelId: model}, nil)
}

// checkpoint queues a weights checkpoint of a seat, or now and then of a stage not held.
func (o *randomOps) checkpoint() {
	acc, model, stage, ok := o.seat()
	if !ok || o.rng.IntN(4) == 0 {
		ids := o.models()
		acc, model, stage = o.pick(o.all), ids[o.rng.IntN(len(ids))], uint32(o.rng.IntN(3))
	}
	root := make([]byte, modelstypes.CommitmentLen)
	_, _ = io.ReadFull(o.keys, root)
	o.queue("commit checkpoint", acc, &modelstypes.MsgCommitCheckpoint{
		Operator: acc.addr.String(), ModelId: model, Stage: stage, Step: uint64(1 + o.rng.IntN(100)), WeightsRoot: root,
	}, nil)
}

// payRevenue queues a payment into a model's revenue, mostly model 1's.
func (o *randomOps) payRevenue() {
	acc, model := o.pick(o.all), uint64(1)
	if o.rng.IntN(4) == 0 {
		model = uint64(1 + o.rng.IntN(4))
	}
	amt := o.amount(1 + o.rng.Int64N(1_000_000_000))
	if o.rng.IntN(10) == 0 { // revenue in shares: refused
		amt = sdk.NewInt64Coin(sharestypes.ShareDenom(1), 1+o.rng.Int64N(1000))
	}
	o.queue("pay revenue", acc, &sharestypes.MsgPayRevenue{Payer: acc.addr.String(), ModelId: model, Amount: amt, Reference: "random"}, nil)
}

// sendShares queues a bank send of part (or all) of a holder's share/1 to another account, now
// and then to an address the chain has not seen.
func (o *randomOps) sendShares() {
	from := o.pick(o.all)
	bal := o.vc.app.BankKeeper.GetBalance(o.ctx(), from.addr, sharestypes.ShareDenom(1)).Amount.Int64()
	to := o.pick(o.all).addr
	if o.rng.IntN(5) == 0 {
		to = newAccountFrom(o.keys, 0).addr
	}
	amt := int64(1)
	if bal > 0 {
		amt = 1 + o.rng.Int64N(bal)
	}
	coins := sdk.NewCoins(sdk.NewInt64Coin(sharestypes.ShareDenom(1), amt))
	if o.rng.IntN(10) == 0 { // shares or coins into a module account: bank must refuse both
		to = authtypes.NewModuleAddress([]string{sharestypes.ModuleName, verifytypes.ModuleName, computetypes.ModuleName}[o.rng.IntN(3)])
		if o.rng.IntN(2) == 0 {
			coins = sdk.NewCoins(o.amount(1 + o.rng.Int64N(1000)))
		}
	}
	o.queue("send shares", from, banktypes.NewMsgSend(from.addr, to, coins), nil)
}

func (o *randomOps) claim() {
	acc := o.pick(o.all)
	ids := []uint64{1}
	switch o.rng.IntN(6) {
	case 0:
		ids = append(ids, uint64(2+o.rng.IntN(3)))
	case 1:
		ids = append(ids, 1) // the same model twice: paid once at most
	}
	o.queue("claim revenue", acc, &sharestypes.MsgClaimRevenue{Holder: acc.addr.String(), ModelIds: ids}, nil)
}

// createModel queues a new model by a third party: model 1's design with its own target.
func (o *randomOps) createModel() {
	acc := o.pick(o.users)
	m, err := o.vc.app.ModelsKeeper.GetModel(o.ctx(), 1)
	require.NoError(o.t, err, o.where())
	o.queue("create model", acc, &modelstypes.MsgCreateModel{
		Designer: acc.addr.String(), Name: fmt.Sprintf("random-%d", o.rng.IntN(1000)), Arch: m.Arch, Stages: m.Stages,
		Seed: m.Seed, DatasetCommitment: m.DatasetCommitment, SubspaceRoot: m.SubspaceRoot, DesignerBps: uint32(o.rng.IntN(2000)),
		MinStake: m.MinStake, MaxReplicasPerStage: uint32(1 + o.rng.IntN(2)), TargetWorkUnits: uint64(1 + o.rng.IntN(500)),
	}, nil)
}

// cancelModel queues a cancel of a random model by its designer (or by someone else).
func (o *randomOps) cancelModel() {
	ids := o.models()
	id := ids[o.rng.IntN(len(ids))]
	m, err := o.vc.app.ModelsKeeper.GetModel(o.ctx(), id)
	require.NoError(o.t, err, o.where())
	by := o.pick(o.all)
	for _, acc := range o.all {
		if acc.addr.String() == m.Designer && o.rng.IntN(4) != 0 {
			by = acc
		}
	}
	o.queue("cancel model", by, &modelstypes.MsgCancelModel{Designer: by.addr.String(), ModelId: id}, nil)
}

// propose queues a governance proposal changing one param of x/shares, x/verify or x/compute
// (never shares_per_unit: the mint check reads it); votes pass it later, in gov's EndBlock.
func (o *randomOps) propose() {
	ctx, gov := o.ctx(), authtypes.NewModuleAddress(govtypes.ModuleName).String()
	var update sdk.Msg
	switch o.rng.IntN(3) {
	case 0:
		p, err := o.vc.app.SharesKeeper.GetParams(ctx)
		require.NoError(o.t, err, o.where())
		p.ProtocolFeeBps = uint32(o.rng.IntN(2001))
		update = &sharestypes.MsgUpdateParams{Authority: gov, Params: p}
	case 1:
		p, err := o.vc.app.VerifyKeeper.GetParams(ctx)
		require.NoError(o.t, err, o.where())
		p.ChallengeRate = sdkmath.LegacyNewDecWithPrec(int64(o.rng.IntN(50)), 2)
		p.ChallengerRewardBps = uint32(o.rng.IntN(5001))
		if o.rng.IntN(2) == 0 { // windows change under pending attestations and open challenges
			p.ChallengeWindow, p.ResponseWindow = int64(3+o.rng.IntN(10)), int64(2+o.rng.IntN(6))
		}
		update = &verifytypes.MsgUpdateParams{Authority: gov, Params: p}
	default:
		p, err := o.vc.app.ComputeKeeper.GetParams(ctx)
		require.NoError(o.t, err, o.where())
		p.MinWorkerStake = o.amount(minStake/2 + o.rng.Int64N(2*minStake))
		p.UnbondingTime = time.Duration(1+o.rng.IntN(4)) * time.Hour
		p.JailDuration = time.Duration(1+o.rng.IntN(60)) * time.Minute
		update = &computetypes.MsgUpdateParams{Authority: gov, Params: p}
	}
	gp, err := o.vc.app.GovKeeper.Params.Get(ctx)
	require.NoError(o.t, err, o.where())
	proposal, err := govv1.NewMsgSubmitProposal([]sdk.Msg{update}, gp.MinDeposit, o.designer.addr.String(), "",
		"Random param change", "A param change of TestRandomOperations.", false)
	require.NoError(o.t, err, o.where())
	o.queue("submit proposal", o.designer, proposal, nil)
	// Most of the power votes at once, mostly yes (the id is the next one, proposals of this
	// block counted), so that many pass: the designer, the genesis delegator, and the
	// validators' operators.
	next, err := o.vc.app.GovKeeper.ProposalID.Peek(ctx)
	require.NoError(o.t, err, o.where())
	for _, voter := range append([]*account{o.designer}, o.operators()...) {
		if o.rng.IntN(4) != 0 {
			option := govv1.OptionYes
			if o.rng.IntN(6) == 0 {
				option = govv1.OptionNo
			}
			o.queue("vote", voter, govv1.NewMsgVote(voter.addr, next+uint64(o.proposed), option, ""), nil)
		}
	}
	o.proposed++
}

// operators are the third parties that run a validator.
func (o *randomOps) operators() []*account {
	var out []*account
	for _, acc := range o.users {
		if _, err := o.vc.app.StakingKeeper.GetValidator(o.ctx(), sdk.ValAddress(acc.addr)); err == nil {
			out = append(out, acc)
		}
	}
	return out
}

// setAnchorKey queues a validator operator's registration of an Ethereum key for x/anchor (or a
// third party's, refused).
func (o *randomOps) setAnchorKey() {
	acc := o.pick(o.users)
	if ops := o.operators(); len(ops) > 0 && o.rng.IntN(4) != 0 {
		acc = ops[o.rng.IntN(len(ops))]
	}
	secret := make([]byte, 32)
	_, _ = io.ReadFull(o.keys, secret)
	key, err := ethcrypto.ToECDSA(secret)
	require.NoError(o.t, err, o.where())
	msg, err := anchortypes.NewMsgSetAnchorKey(app.DefaultChainID, sdk.ValAddress(acc.addr).String(), acc.addr, key)
	require.NoError(o.t, err, o.where())
	o.queue("set anchor key", acc, msg, nil)
}

// vote queues a vote, mostly yes, on a proposal in its voting period (or the newest) by the
// designer (the genesis delegator) or a third party, perhaps a validator's operator.
func (o *randomOps) vote() {
	next, err := o.vc.app.GovKeeper.ProposalID.Peek(o.ctx())
	require.NoError(o.t, err, o.where())
	if next <= 1 {
		return
	}
	id := next - 1
	var voting []uint64
	require.NoError(o.t, o.vc.app.GovKeeper.VotingPeriodProposals.Walk(o.ctx(), nil, func(k uint64, _ []byte) (bool, error) {
		voting = append(voting, k)
		return false, nil
	}), o.where())
	if len(voting) > 0 {
		id = voting[o.rng.IntN(len(voting))]
	}
	// Validators' operators hold most of the power once they bonded more than the genesis
	// delegation; the designer is the genesis delegator.
	voter := o.pick(append([]*account{o.designer, o.designer}, o.users...))
	option := govv1.OptionYes
	if o.rng.IntN(5) == 0 {
		option = govv1.VoteOption(1 + o.rng.IntN(4))
	}
	o.queue("vote", voter, govv1.NewMsgVote(voter.addr, id, option, ""), nil)
}

// createValidator queues a new validator by a third party: the bonded power x/anchor reads
// changes (the harness finalizes blocks without consensus, so the set itself is not enforced).
func (o *randomOps) createValidator() {
	acc := o.pick(o.users)
	secret := make([]byte, 32)
	_, _ = io.ReadFull(o.keys, secret)
	msg, err := stakingtypes.NewMsgCreateValidator(sdk.ValAddress(acc.addr).String(), ed25519.GenPrivKeyFromSecret(secret).PubKey(),
		o.amount(1_000_000+o.rng.Int64N(20_000_000)), stakingtypes.NewDescription("random", "", "", "", ""),
		stakingtypes.NewCommissionRates(sdkmath.LegacyNewDecWithPrec(1, 1), sdkmath.LegacyNewDecWithPrec(2, 1), sdkmath.LegacyNewDecWithPrec(1, 2)),
		sdkmath.OneInt())
	require.NoError(o.t, err, o.where())
	o.queue("create validator", acc, msg, nil)
}

// validators are the operator addresses of every validator: the genesis one first, then the
// third parties' in their order. (The store's order is by address, and the genesis validator's
// key is not drawn from the seed: this order keeps a replay's choices the same.)
func (o *randomOps) validators() []string {
	vals, err := o.vc.app.StakingKeeper.GetAllValidators(o.ctx())
	require.NoError(o.t, err, o.where())
	var out []string
	for _, v := range vals {
		if !o.isUserValidator(v.OperatorAddress) {
			out = append(out, v.OperatorAddress)
		}
	}
	for _, acc := range o.users {
		if valoper := sdk.ValAddress(acc.addr).String(); o.isUserValidator(valoper) {
			for _, v := range vals {
				if v.OperatorAddress == valoper {
					out = append(out, valoper)
				}
			}
		}
	}
	return out
}

// isUserValidator is whether valoper is a third party's operator address.
func (o *randomOps) isUserValidator(valoper string) bool {
	for _, acc := range o.users {
		if sdk.ValAddress(acc.addr).String() == valoper {
			return true
		}
	}
	return false
}

func (o *randomOps) delegate() {
	acc, vals := o.pick(o.all), o.validators()
	o.queue("delegate", acc, stakingtypes.NewMsgDelegate(acc.addr.String(), vals[o.rng.IntN(len(vals))], o.amount(1+o.rng.Int64N(10_000_000))), nil)
}

// undelegate queues an undelegation of part (or more than all) of an existing delegation, now
// and then of none.
func (o *randomOps) undelegate() {
	acc, vals := o.pick(o.all), o.validators()
	val, amt := vals[o.rng.IntN(len(vals))], 1+o.rng.Int64N(10_000_000)
	type delegation struct {
		by     *account
		val    string
		shares int64
	}
	var dels []delegation // in the order of o.all and o.validators, for replays
	for _, a := range o.all {
		for _, v := range vals {
			valAddr, err := sdk.ValAddressFromBech32(v)
			require.NoError(o.t, err, o.where())
			if d, err := o.vc.app.StakingKeeper.GetDelegation(o.ctx(), a.addr, valAddr); err == nil {
				dels = append(dels, delegation{a, v, d.Shares.TruncateInt64()})
			}
		}
	}
	if len(dels) > 0 && o.rng.IntN(5) != 0 {
		d := dels[o.rng.IntN(len(dels))]
		// Shares are tokens while no validator was slashed; a little more than all is refused.
		acc, val, amt = d.by, d.val, 1+o.rng.Int64N(d.shares+2)
	}
	o.queue("undelegate", acc, stakingtypes.NewMsgUndelegate(acc.addr.String(), val, o.amount(amt)), nil)
}

// recordMinted checks that an honest worker fails only the challenges it left unanswered, and
// adds the shares each finalization minted (EventAttestationFinalized, emitted by
// x/verify's EndBlock) to the model's total, checking each against its paid units: operator
// amount = paid units × shares_per_unit, designer amount = designer_bps of it.
func (o *randomOps) recordMinted(events []abci.Event) {
	ctx := o.ctx()
	for _, ev := range events {
		if ev.Type == "protolearn.models.v1.EventWorkUnitsAdded" {
			msg, err := sdk.ParseTypedEvent(withoutMode(ev))
			require.NoError(o.t, err, o.where())
			added := msg.(*modelstypes.EventWorkUnitsAdded)
			o.workAdded[added.ModelId] += added.Units
			require.LessOrEqual(o.t, added.WorkUnits, added.TargetWorkUnits, "model %d's work; %s", added.ModelId, o.where())
			continue
		}
		if ev.Type == "protolearn.verify.v1.EventChallengeFailed" {
			msg, err := sdk.ParseTypedEvent(withoutMode(ev))
			require.NoError(o.t, err, o.where())
			failed := msg.(*verifytypes.EventChallengeFailed)
			for _, w := range o.ws {
				// An honest worker answers every challenge in time, but those it chose to leave.
				require.False(o.t, !w.cheat && w.addr.String() == failed.Worker && !o.silent[failed.ChallengeId],
					"honest %s failed challenge %d it answered; %s", failed.Worker, failed.ChallengeId, o.where())
			}
			continue
		}
		if ev.Type != "protolearn.verify.v1.EventAttestationFinalized" {
			continue
		}
		msg, err := sdk.ParseTypedEvent(withoutMode(ev))
		require.NoError(o.t, err, o.where())
		fin := msg.(*verifytypes.EventAttestationFinalized)
		p, err := o.vc.app.SharesKeeper.GetParams(ctx)
		require.NoError(o.t, err, o.where())
		m, err := o.vc.app.ModelsKeeper.GetModel(ctx, fin.ModelId)
		require.NoError(o.t, err, o.where())
		op := p.SharesPerUnit.MulRaw(int64(fin.PaidUnits))
		require.Equal(o.t, op.String(), fin.OperatorAmount.Amount.String(), "attestation %d: operator's shares; %s", fin.AttestationId, o.where())
		require.Equal(o.t, op.MulRaw(int64(m.DesignerBps)).QuoRaw(10_000).String(), fin.DesignerAmount.Amount.String(),
			"attestation %d: designer's cut; %s", fin.AttestationId, o.where())
		prev, ok := o.minted[fin.ModelId]
		if !ok {
			prev = sdkmath.ZeroInt()
		}
		o.minted[fin.ModelId] = prev.Add(fin.OperatorAmount.Amount).Add(fin.DesignerAmount.Amount)
	}
}

// withoutMode drops the "mode" attribute the SDK adds to a block's own events (BeginBlock,
// EndBlock), which is not a field of the typed event.
func withoutMode(ev abci.Event) abci.Event {
	out := abci.Event{Type: ev.Type}
	for _, a := range ev.Attributes {
		if a.Key != "mode" {
			out.Attributes = append(out.Attributes, a)
		}
	}
	return out
}

// check runs every module's invariants and the cross-module ones.
func (o *randomOps) check() {
	o.t.Helper()
	ctx, a := o.ctx(), o.vc.app
	for name, check := range map[string]func(sdk.Context) error{
		"x/compute":   func(ctx sdk.Context) error { return a.ComputeKeeper.CheckInvariants(ctx) },
		"x/models":    func(ctx sdk.Context) error { return a.ModelsKeeper.CheckInvariants(ctx) },
		"x/shares":    func(ctx sdk.Context) error { return a.SharesKeeper.CheckInvariants(ctx) },
		"x/verify":    func(ctx sdk.Context) error { return a.VerifyKeeper.CheckInvariants(ctx) },
		"x/inference": func(ctx sdk.Context) error { return a.InferenceKeeper.CheckInvariants(ctx) },
		"x/modelgov":  func(ctx sdk.Context) error { return a.ModelgovKeeper.CheckInvariants(ctx) },
		"minted":      o.checkMinted,
		"revenue":     o.checkRevenue,
		"bank":        o.checkSupply,
		"staking":     o.checkStaking,
		"anchor":      o.checkAnchor,
	} {
		require.NoError(o.t, check(ctx), "%s invariants; %s", name, o.where())
	}
}

// checkMinted: each model's share supply is exactly what its finalizations minted, both as
// their events said and as the attestation records' paid units give (paid units × rate plus the
// designer's cut of each), and its work units are the units paid, never above its target.
func (o *randomOps) checkMinted(ctx sdk.Context) error {
	a := o.vc.app
	p, err := a.SharesKeeper.GetParams(ctx)
	if err != nil {
		return err
	}
	fromRecords, units := map[uint64]sdkmath.Int{}, map[uint64]uint64{}
	if err := a.VerifyKeeper.Attestations.Walk(ctx, nil, func(_ uint64, at verifytypes.Attestation) (bool, error) {
		if at.Status != verifytypes.ATTESTATION_STATUS_FINALIZED {
			return false, nil
		}
		m, err := a.ModelsKeeper.GetModel(ctx, at.ModelId)
		if err != nil {
			return true, err
		}
		op := p.SharesPerUnit.MulRaw(int64(at.PaidUnits))
		if _, ok := fromRecords[at.ModelId]; !ok {
			fromRecords[at.ModelId] = sdkmath.ZeroInt()
		}
		fromRecords[at.ModelId] = fromRecords[at.ModelId].Add(op).Add(op.MulRaw(int64(m.DesignerBps)).QuoRaw(10_000))
		units[at.ModelId] += at.PaidUnits
		return false, nil
	}); err != nil {
		return err
	}
	for _, id := range o.models() {
		m, err := a.ModelsKeeper.GetModel(ctx, id)
		if err != nil {
			return err
		}
		supply := a.BankKeeper.GetSupply(ctx, sharestypes.ShareDenom(id)).Amount
		minted, recorded := o.minted[id], fromRecords[id]
		if minted.IsNil() {
			minted = sdkmath.ZeroInt()
		}
		if recorded.IsNil() {
			recorded = sdkmath.ZeroInt()
		}
		if !supply.Equal(minted) || !supply.Equal(recorded) {
			return fmt.Errorf("model %d: share supply %s, finalization events minted %s, finalized records pay %s", id, supply, minted, recorded)
		}
		if m.WorkUnits != units[id] || m.WorkUnits != o.workAdded[id] || m.WorkUnits > m.TargetWorkUnits {
			return fmt.Errorf("model %d: %d work units, finalized attestations were paid %d, EventWorkUnitsAdded added %d, target %d",
				id, m.WorkUnits, units[id], o.workAdded[id], m.TargetWorkUnits)
		}
	}
	return nil
}

// checkRevenue: for each model, claimed + what holders can claim ≤ paid − fees, and the shares
// module account covers every claim.
func (o *randomOps) checkRevenue(ctx sdk.Context) error {
	a := o.vc.app
	claimable := map[uint64]sdkmath.Int{}
	if err := a.SharesKeeper.Holders.Walk(ctx, nil, func(k collections.Pair[sdk.AccAddress, uint64], _ sharestypes.HolderState) (bool, error) {
		c, err := a.SharesKeeper.Claimable(ctx, k.K2(), k.K1())
		if err != nil {
			return true, err
		}
		if c.IsNegative() {
			return true, fmt.Errorf("holder %s of model %d can claim %s", k.K1(), k.K2(), c)
		}
		if _, ok := claimable[k.K2()]; !ok {
			claimable[k.K2()] = sdkmath.ZeroInt()
		}
		claimable[k.K2()] = claimable[k.K2()].Add(c)
		return false, nil
	}); err != nil {
		return err
	}
	p, err := a.SharesKeeper.GetParams(ctx)
	if err != nil {
		return err
	}
	total := sdkmath.ZeroInt()
	if err := a.SharesKeeper.Revenues.Walk(ctx, nil, func(id uint64, r sharestypes.ModelRevenue) (bool, error) {
		c := claimable[id]
		if c.IsNil() {
			c = sdkmath.ZeroInt()
		}
		if r.Claimed.Add(c).GT(r.Paid.Sub(r.Fees)) {
			return true, fmt.Errorf("model %d: claimed %s + claimable %s > paid %s − fees %s", id, r.Claimed, c, r.Paid, r.Fees)
		}
		total = total.Add(c)
		return false, nil
	}); err != nil {
		return err
	}
	held := a.BankKeeper.GetBalance(ctx, authtypes.NewModuleAddress(sharestypes.ModuleName), p.RevenueDenom).Amount
	if held.LT(total) {
		return fmt.Errorf("the shares module account holds %s%s, holders can claim %s", held, p.RevenueDenom, total)
	}
	return nil
}

// checkSupply: every denom's supply is the sum of its balances, none negative.
func (o *randomOps) checkSupply(ctx sdk.Context) error {
	sums := sdk.NewCoins()
	var failure error
	o.vc.app.BankKeeper.IterateAllBalances(ctx, func(addr sdk.AccAddress, c sdk.Coin) bool {
		if c.IsNegative() {
			failure = fmt.Errorf("%s holds %s", addr, c)
			return true
		}
		sums = sums.Add(c)
		return false
	})
	if failure != nil {
		return failure
	}
	supply, _, err := o.vc.app.BankKeeper.GetPaginatedTotalSupply(ctx, nil)
	if err != nil {
		return err
	}
	if !supply.Equal(sums) {
		return fmt.Errorf("supply %s, balances sum to %s", supply, sums)
	}
	return nil
}

// checkStaking: no validator has negative tokens or shares, the bonded pool holds the bonded
// validators' tokens and the not-bonded pool the others' plus the undelegations under way.
func (o *randomOps) checkStaking(ctx sdk.Context) error {
	sk := o.vc.app.StakingKeeper
	vals, err := sk.GetAllValidators(ctx)
	if err != nil {
		return err
	}
	bonded, notBonded := sdkmath.ZeroInt(), sdkmath.ZeroInt()
	for _, v := range vals {
		if v.Tokens.IsNegative() || v.DelegatorShares.IsNegative() {
			return fmt.Errorf("validator %s: tokens %s, shares %s", v.OperatorAddress, v.Tokens, v.DelegatorShares)
		}
		if v.IsBonded() {
			bonded = bonded.Add(v.Tokens)
		} else {
			notBonded = notBonded.Add(v.Tokens)
		}
	}
	if err := sk.IterateUnbondingDelegations(ctx, func(_ int64, ubd stakingtypes.UnbondingDelegation) bool {
		for _, e := range ubd.Entries {
			notBonded = notBonded.Add(e.Balance)
		}
		return false
	}); err != nil {
		return err
	}
	bank := o.vc.app.BankKeeper
	if held := bank.GetBalance(ctx, authtypes.NewModuleAddress(stakingtypes.BondedPoolName), app.BondDenom).Amount; !held.Equal(bonded) {
		return fmt.Errorf("bonded pool holds %s, bonded validators' tokens are %s", held, bonded)
	}
	if held := bank.GetBalance(ctx, authtypes.NewModuleAddress(stakingtypes.NotBondedPoolName), app.BondDenom).Amount; !held.Equal(notBonded) {
		return fmt.Errorf("not-bonded pool holds %s, other validators' tokens and undelegations are %s", held, notBonded)
	}
	return nil
}

// checkAnchor: in a block that took an x/anchor checkpoint, the share trees it committed hold
// every account's balance of every anchored model, as bank does (none for an account without).
func (o *randomOps) checkAnchor(ctx sdk.Context) error {
	c, ok, err := o.vc.app.AnchorKeeper.Latest(ctx)
	if err != nil || !ok {
		return err
	}
	offset, err := o.vc.app.AnchorKeeper.HeightOffset.Get(ctx)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		return err
	}
	if c.Height != uint64(o.vc.app.LastBlockHeight())+offset {
		return nil // the trees move on only at a checkpoint
	}
	o.anchored++
	for _, m := range c.Models {
		for _, acc := range o.all {
			bal := o.vc.app.BankKeeper.GetBalance(ctx, acc.addr, sharestypes.ShareDenom(m.ModelId)).Amount
			var proof anchortypes.QueryShareProofResponse
			err := o.vc.query("/protolearn.anchor.v1.Query/ShareProof", &anchortypes.QueryShareProofRequest{ModelId: m.ModelId, Holder: acc.addr.String()}, &proof)
			switch {
			case err != nil && bal.IsPositive():
				return fmt.Errorf("checkpoint %d: %s holds %s share/%d, the tree has none: %w", c.Height, acc.addr, bal, m.ModelId, err)
			case err == nil && !proof.Balance.Equal(bal):
				return fmt.Errorf("checkpoint %d: %s holds %s share/%d, the tree says %s", c.Height, acc.addr, bal, m.ModelId, proof.Balance)
			}
		}
	}
	return nil
}

// roundTrip exports the state, imports it into a fresh node, runs the same empty block on both
// and requires the same exported state, module by module; the driver then goes on with the
// imported chain.
func (o *randomOps) roundTrip() {
	o.t.Helper()
	o.action = "export and import"
	exported, err := o.vc.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(o.t, err, o.where())
	var state map[string]json.RawMessage
	require.NoError(o.t, json.Unmarshal(exported.AppState, &state), o.where())
	require.NoError(o.t, o.vc.app.BasicModuleManager.ValidateGenesis(o.vc.app.AppCodec(), o.vc.app.TxConfig(), state), o.where())

	fresh := &chain{t: o.t, app: newApp(o.t), time: o.vc.time, valSet: o.vc.valSet, initialHeight: exported.Height}
	fresh.initChain(exported.AppState) // and its first block, at the same time as ...
	o.vc.finalize(0)                   // ... the same block on the original chain
	o.recordMinted(o.vc.last.Events)
	before := o.export(o.vc.chain)
	after := o.export(fresh)
	for name := range before {
		require.JSONEq(o.t, string(before[name]), string(after[name]), "module %s after the round trip; %s", name, o.where())
	}
	require.Len(o.t, after, len(before), o.where())

	// A zero-height export (a chain restarting at height 1) imports too, and its first block
	// keeps every invariant. It moves the exporting app's heights, so it comes last.
	o.action = "zero-height export and import"
	zero, err := o.vc.app.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(o.t, err, o.where())
	restarted := &chain{t: o.t, app: newApp(o.t), time: o.vc.time, valSet: o.vc.valSet}
	restarted.initChain(zero.AppState)
	o.vc.chain = restarted
	o.action = "invariants after the zero-height import"
	minted, workAdded := maps.Clone(o.minted), maps.Clone(o.workAdded)
	o.recordMinted(restarted.last.Events) // its first block may finalize what was due next
	o.check()
	o.minted, o.workAdded = minted, workAdded // the run goes on with the other import

	o.vc.chain = fresh
	o.action = "invariants after the import"
	o.check()
}

func (o *randomOps) export(c *chain) map[string]json.RawMessage {
	o.t.Helper()
	exported, err := c.app.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(o.t, err, o.where())
	var state map[string]json.RawMessage
	require.NoError(o.t, json.Unmarshal(exported.AppState, &state), o.where())
	return state
}

// x/verify's CheckInvariants notices each kind of broken state: an index or queue that lost or
// gained an entry, an open challenge off the deadline queue, coins in the module account beside
// the bonds, a pending attestation paid, a model past its target.
func TestVerifyCheckInvariantsCatchesCorruption(t *testing.T) {
	challenger := newAccount(0)
	vc, ws := startVerifyChain(t, sdkmath.LegacyZeroDec(), challenger)
	final := vc.submit(t, ws[0], 1)
	vc.blocks(vWindow)
	att := vc.submit(t, ws[1], 2)
	ch := vc.challenge(t, challenger, att, ws[1].next-1)
	ctx := vc.app.NewUncachedContext(false, cmtproto.Header{ChainID: app.DefaultChainID, Height: vc.app.LastBlockHeight()})
	k := vc.app.VerifyKeeper
	require.NoError(t, k.CheckInvariants(ctx))
	a, err := k.GetAttestation(ctx, att)
	require.NoError(t, err)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_PENDING, a.Status)
	f, err := k.GetAttestation(ctx, final)
	require.NoError(t, err)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, f.Status)

	for name, tc := range map[string]struct {
		corrupt func(sdk.Context) error
		want    string
	}{
		"pending index lost an entry": {func(ctx sdk.Context) error {
			return k.PendingByWorker.Remove(ctx, collections.Join3(ws[1].addr, uint64(1), att))
		}, "pending-by-worker index"},
		"finalization queue lost an entry": {func(ctx sdk.Context) error {
			return k.ToFinalize.Remove(ctx, collections.Join(a.FinalizeHeight, att))
		}, "not queued to finalize"},
		"stray draw": {func(ctx sdk.Context) error { return k.ToDraw.Set(ctx, collections.Join(int64(99), final)) }, "draw queue holds"},
		"by-model index gained an entry": {func(ctx sdk.Context) error {
			return k.ByModel.Set(ctx, collections.Join(uint64(1), uint64(1000)))
		}, "by-model index has"},
		"open challenge off the deadline queue": {func(ctx sdk.Context) error {
			return k.Deadlines.Remove(ctx, collections.Join(ch.DeadlineHeight, ch.Id))
		}, "deadline queue"},
		"open challenge of a final attestation": {func(ctx sdk.Context) error {
			c := ch
			c.AttestationId = final
			return k.Challenges.Set(ctx, c.Id, c)
		}, "not a pending attestation"},
		"coins beside the bonds": {func(ctx sdk.Context) error {
			return vc.app.BankKeeper.SendCoinsFromAccountToModule(ctx, challenger.addr, verifytypes.ModuleName, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1)))
		}, "open challenges' and disputes' bonds"},
		"pending attestation paid": {func(ctx sdk.Context) error {
			b := a
			b.PaidUnits = 1
			return k.Attestations.Set(ctx, att, b)
		}, "pending but paid"},
		"paid more than attested": {func(ctx sdk.Context) error {
			b := f
			b.PaidUnits = b.WorkUnits + 1
			return k.Attestations.Set(ctx, final, b)
		}, "paid"},
		"model past its target": {func(ctx sdk.Context) error {
			m, err := vc.app.ModelsKeeper.GetModel(ctx, 1)
			if err != nil {
				return err
			}
			m.WorkUnits = m.TargetWorkUnits + 1
			return vc.app.ModelsKeeper.Models.Set(ctx, 1, m)
		}, "target"},
	} {
		cache, _ := ctx.CacheContext() // never written: each case breaks a fresh copy
		require.NoError(t, tc.corrupt(cache), name)
		require.ErrorContains(t, k.CheckInvariants(cache), tc.want, name)
	}
}
