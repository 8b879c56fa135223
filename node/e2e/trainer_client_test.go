package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/chain"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The trainer's model: d_model 16, three stages of two layers; the designated layer's tile is
// 4 rows, challenged 4 columns at a time.
const (
	tD, tRows, tT = 16, 4, 4
	tLayers       = 2
	tPeriod       = 2
)

// TestTrainerClientAgainstNode drives the trainer's chain client (trainer/chain) against a real
// protolearnd, as `trainer run --chain` does: the operator authorizes a hot key from the CLI; the
// hot key takes the seat, attests, commits a checkpoint, hears of a third party's challenge over
// the CometBFT websocket and answers it with a proof; every retry of an already applied
// transaction is recognized, and a refusal comes back as the chain's registered error.
func TestTrainerClientAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	keys := tileKeys(t)
	const funds = "1000000000000ulearn"
	type verifyingKey struct {
		Shape string `json:"shape"`
		Key   []byte `json:"key"`
	}
	var keyList []verifyingKey
	for _, k := range keys {
		b, err := k.MarshalVerifyingKey()
		require.NoError(t, err)
		keyList = append(keyList, verifyingKey{Shape: k.Shape.String(), Key: b})
	}
	vks, err := json.Marshal(keyList)
	require.NoError(t, err)
	n := startNodeWith(t, map[string]string{
		"validator": funds, "designer": funds, "op": funds, "p0": funds, "p2": funds, "challenger": funds,
	}, []string{
		"--genesis-set", fmt.Sprintf("app_state.verify.params.attestation_period=%q", strconv.Itoa(tPeriod)),
		"--genesis-set", `app_state.verify.params.challenge_rate="0.000000000000000000"`, // only the third party challenges here
		"--genesis-set", `app_state.verify.params.challenge_window="400"`, // blocks of 300 ms: pending for the whole test
		"--genesis-set", `app_state.verify.params.response_window="400"`,
		"--genesis-set", `app_state.verify.params.challenge_bond={"denom":"ulearn","amount":"5000000"}`,
		"--genesis-set", "app_state.verify.params.verifying_keys=" + string(vks),
	}, nil)
	peers := n.registerWorkers("op", "p0", "p2")
	code, log := n.tx(createModelArgs("client-e2e", `{"vocab":256,"d_model":16,"n_layers":6,"n_heads":2,"seq_len":4,"compression_rank":4}`, "1", "1000000", strings.Repeat("ab", 32))...)
	require.Zero(t, code, log)
	for stage, p := range map[string]string{"0": "p0", "2": "p2"} {
		code, log = n.tx("tx", "models", "join-stage", "1", stage, "--from", p)
		require.Zero(t, code, log)
	}

	// The operator's one-time setup, as the README shows it.
	hotKey, err := chain.LoadOrCreateHotKey(filepath.Join(t.TempDir(), "hot.key"))
	require.NoError(t, err)
	hot := sdk.AccAddress(hotKey.PubKey().Address()).String()
	code, log = n.tx("tx", "verify", "authorize-trainer", hot, "--model", "1", "--stage", "1", "--spend-limit", "10000000ulearn", "--from", "op")
	require.Zero(t, code, log)

	op := n.addr("op")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := chain.Dial(chain.Config{
		GRPC: n.grpc, ChainID: chainID, HotKey: hotKey, Operator: op,
		GasPrice: sdk.NewDecCoin("ulearn", sdkmath.ZeroInt()), Log: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	defer c.Close()

	// The seat: taken by the hot key; taking it again is a no-op; another stage is beyond the
	// hot key's grant (x/verify SeatAuthorization), and one stage per model besides.
	_, seated, err := c.StageOf(ctx, 1)
	require.NoError(t, err)
	require.False(t, seated)
	require.NoError(t, c.JoinStage(ctx, 1, 1))
	require.NoError(t, c.JoinStage(ctx, 1, 1), "a retry of a join that happened")
	require.ErrorContains(t, c.JoinStage(ctx, 1, 2), "the hot key acts for stage 1 of model 1 only")
	stage, seated, err := c.StageOf(ctx, 1)
	require.NoError(t, err)
	require.True(t, seated)
	require.Equal(t, uint32(1), stage)
	m, err := c.Model(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, modelstypes.MODEL_STATUS_TRAINING, m.Status)
	require.Equal(t, []int{2, 2, 2}, chain.Spec(m).Stages)
	roster, err := chain.Roster{Client: c, Model: 1, Stages: 3}.Roster(ctx)
	require.NoError(t, err)
	require.Len(t, roster.Members(), 3)
	params, err := c.VerifyParams(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(tPeriod), params.AttestationPeriod)
	h1, err := c.Height(ctx) // what a referee times its own-range audits by
	require.NoError(t, err)
	require.Positive(t, h1)
	require.Len(t, params.VerifyingKeys, len(keys)) // stage 1's four shapes

	// One attestation of steps 1..2; the same message again (a retry after a lost answer) is
	// recognized as the stored attestation, not double-submitted.
	rng := rand.New(rand.NewPCG(1, 2))
	secret := []byte("client-e2e secret")
	steps := map[uint64]*attest.Committed{}
	state := sha256.Sum256([]byte("the stage's state before step 1"))
	head := sha256.Sum256([]byte("the replay log's head before step 1"))
	end := sha256.Sum256([]byte("the stage's state after the last step"))
	endHead := sha256.Sum256([]byte("the replay log's head after the last step"))
	msg := &verifytypes.MsgSubmitAttestation{
		Worker: op, ModelId: 1, Stage: 1, StepFrom: 1, StepTo: tPeriod, WorkUnits: tPeriod * tLayers, TileRows: tRows, TileWidth: tT, StateRoot: state[:], LogHead: head[:],
		EndStateRoot: end[:], EndLogHead: endHead[:],
	}
	for s := msg.StepFrom; s <= msg.StepTo; s++ {
		l, err := attest.NewLayer(s, tRows, tD, randoms(rng, tRows*tD, 2), randoms(rng, tD*tD, 0.5), randoms(rng, tRows*tD, 1))
		require.NoError(t, err)
		cm, err := attest.Commit(secret, attest.Owner{ChainID: chainID, ModelID: 1, Stage: 1, Worker: op}, l)
		require.NoError(t, err)
		steps[s] = cm
		roots := cm.Roots()
		roots.Input = receiptFrom(t, peers["p0"], peers["op"], s, verifytypes.Forward)                                           // stage 0's worker sent the inputs
		roots.OtherInputs = []*verifytypes.BoundaryReceipt{receiptFrom(t, peers["p0"], peers["op"], 100+s, verifytypes.Forward)} // 2 a step
		roots.GradInputs = []*verifytypes.BoundaryReceipt{                                                                       // and stage 2's worker the gradients
			receiptFrom(t, peers["p2"], peers["op"], s, verifytypes.Backward), receiptFrom(t, peers["p2"], peers["op"], 100+s, verifytypes.Backward),
		}
		msg.Commitments = append(msg.Commitments, roots)
		for j := range uint64(2) { // each update signed the gradient it sent back
			d := sha256.Sum256(fmt.Appendf(nil, "gradient of step %d update %d", s, j))
			msg.Sends = append(msg.Sends, verifytypes.SentPayload{Event: uint32(len(msg.Sends)), Seq: 10*s + j, Digest: d[:]})
		}
	}
	id, err := c.SubmitAttestation(ctx, msg)
	require.NoError(t, err)
	again, err := c.SubmitAttestation(ctx, msg)
	require.NoError(t, err)
	require.Equal(t, id, again)
	last, ok, err := c.LastAttestedStep(ctx, op, 1)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(tPeriod), last)
	pending, err := c.PendingAttestations(ctx, op, 1)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, id, pending[0].Id)
	onStage, err := c.StagePending(ctx, 1, 1) // what the stage's referees audit
	require.NoError(t, err)
	require.Len(t, onStage, 1)
	require.Equal(t, id, onStage[0].Id)
	none, err := c.StagePending(ctx, 1, 2)
	require.NoError(t, err)
	require.Empty(t, none)
	registered, ok, err := c.PeerOf(ctx, op) // where a worker that left its stage serves its log
	require.NoError(t, err)
	require.True(t, ok)
	opPeer, err := peer.IDFromPrivateKey(peers["op"])
	require.NoError(t, err)
	require.Equal(t, opPeer.String(), registered)
	_, ok, err = c.PeerOf(ctx, sdk.AccAddress(bytes.Repeat([]byte{7}, 20)).String())
	require.NoError(t, err)
	require.False(t, ok)

	// A checkpoint: committed, retried, and a different root at the same step refused.
	root := make([]byte, 32)
	root[0] = 0xaa
	require.NoError(t, c.CommitCheckpoint(ctx, 1, 1, tPeriod, root))
	require.NoError(t, c.CommitCheckpoint(ctx, 1, 1, tPeriod, root), "a retry of a commit that happened")
	other := append([]byte{0xbb}, root[1:]...)
	require.ErrorIs(t, c.CommitCheckpoint(ctx, 1, 1, tPeriod, other), modelstypes.ErrStepNotIncreasing)
	require.ErrorContains(t, c.CommitCheckpoint(ctx, 1, 2, tPeriod+1, root), "the hot key acts for stage 1 of model 1 only") // and no seat there
	cstep, croot, ok, err := c.LastCheckpoint(ctx, 1, 1)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(tPeriod), cstep)
	require.Equal(t, root, croot)

	// A third party challenges step 2's forward tile; the websocket wakes the worker.
	wake := chain.WatchChallenges(ctx, "tcp://"+n.rpc, op, slog.New(slog.DiscardHandler))
	time.Sleep(time.Second) // the subscription is made in the background
	code, log = n.tx("tx", "verify", "open-challenge", strconv.FormatUint(id, 10), "forward", "2", "1", "0", "5000000ulearn", "--from", "challenger")
	require.Zero(t, code, log)
	select {
	case <-wake:
	case <-ctx.Done():
		t.Fatal("no challenge event over the websocket")
	}
	open, err := c.OpenChallenges(ctx, op)
	require.NoError(t, err)
	require.Len(t, open, 1)
	ch := open[0]
	require.Equal(t, id, ch.AttestationId)
	require.Equal(t, uint64(2), ch.Step)

	// A proof for another tile is refused with the chain's error and the challenge stays open.
	otherTile := ch
	otherTile.Row++
	wrong, err := steps[2].Open(otherTile, verifytypes.Tiles{Width: tT}, nil)
	require.NoError(t, err)
	prover := attest.NewProver("")
	for _, k := range keys {
		prover.Add(k)
	}
	bad, err := prover.Prove(wrong)
	require.NoError(t, err)
	err = c.RespondChallenge(ctx, &verifytypes.MsgRespondChallenge{Worker: op, ChallengeId: ch.Id, Proof: bad})
	require.ErrorIs(t, err, verifytypes.ErrInvalidProof)
	var txErr *chain.TxError
	require.ErrorAs(t, err, &txErr)

	o, err := steps[2].Open(ch, verifytypes.Tiles{Width: tT}, nil)
	require.NoError(t, err)
	proof, err := prover.Prove(o)
	require.NoError(t, err)
	answer := &verifytypes.MsgRespondChallenge{Worker: op, ChallengeId: ch.Id, Proof: proof}
	require.NoError(t, c.RespondChallenge(ctx, answer))
	require.NoError(t, c.RespondChallenge(ctx, answer), "a retry of an answer that landed")
	got, err := c.Challenge(ctx, ch.Id)
	require.NoError(t, err)
	require.Equal(t, verifytypes.CHALLENGE_STATUS_ANSWERED, got.Status)
	open, err = c.OpenChallenges(ctx, op)
	require.NoError(t, err)
	require.Empty(t, open)
}

// tileKeys runs the single-party test setup of the model's tile shapes: every stage's, the input
// and embed tiles included (rank 4, the bytes' vocabulary).
func tileKeys(t *testing.T) []*tile.Keys {
	t.Helper()
	shapes, err := verifytypes.Tiles{DModel: tD, Rank: 4, Vocab: 256, Rows: tRows, Width: tT}.ModelShapes()
	require.NoError(t, err)
	var out []*tile.Keys
	for _, s := range shapes {
		k, err := tile.TestSetup(s)
		require.NoError(t, err)
		out = append(out, k)
	}
	return out
}

func randoms(rng *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * scale
	}
	return v
}

// receiptFrom is the receipt of microbatch mb of model 1's stage 1 (activations forward, or
// gradients backward), signed by the sender's identity key for the receiver.
func receiptFrom(t *testing.T, sender, receiver crypto.PrivKey, mb uint64, dir verifytypes.Direction) *verifytypes.BoundaryReceipt {
	t.Helper()
	from, err := peer.IDFromPrivateKey(sender)
	require.NoError(t, err)
	to, err := peer.IDFromPrivateKey(receiver)
	require.NoError(t, err)
	r := verifytypes.Receipt{
		ChainID: chainID, Model: 1, Direction: dir, ToStage: 1, Step: mb, Microbatch: mb,
		Digest: sha256.Sum256([]byte{byte(mb), byte(dir)}), Sender: from, Receiver: to,
	}
	sig, err := verifytypes.SignReceipt(sender, r)
	require.NoError(t, err)
	return &verifytypes.BoundaryReceipt{SwarmStep: mb, Microbatch: mb, PayloadDigest: r.Digest[:], Sender: from.String(), Signature: sig}
}
