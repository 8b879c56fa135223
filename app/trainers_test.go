package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/backend"
	trainerchain "github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// tWriter sends log lines to the test's log (shown on failure or with -v).
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// goBackend is the test binary's GoMLX Go backend, made once.
var goBackend = func() func(t *testing.T) compute.Backend {
	var once sync.Once
	var b compute.Backend
	var err error
	return func(t *testing.T) compute.Backend {
		once.Do(func() { b, err = backend.New("go") })
		require.NoError(t, err)
		return b
	}
}()

// inProcessChain is attest.Chain over the in-process app: every transaction is a block of its
// own, and a producer adds an empty block every blockTime, so the chain's clock runs while the
// trainers work. Calls are serialized, as blocks are.
type inProcessChain struct {
	mu sync.Mutex
	vc *verifyChain
	by map[string]*account
}

func (c *inProcessChain) tx(worker string, msg sdk.Msg) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := c.vc.send(c.by[worker], msg)
	if res.Code != 0 {
		return nil, &trainerchain.TxError{Codespace: res.Codespace, Code: res.Code, Log: res.Log}
	}
	var data sdk.TxMsgData
	if err := data.Unmarshal(res.Data); err != nil {
		return nil, err
	}
	return data.MsgResponses[0].Value, nil
}

func (c *inProcessChain) SubmitAttestation(_ context.Context, msg *verifytypes.MsgSubmitAttestation) (uint64, error) {
	bz, err := c.tx(msg.Worker, msg)
	if err != nil {
		return 0, err
	}
	var out verifytypes.MsgSubmitAttestationResponse
	return out.AttestationId, out.Unmarshal(bz)
}

func (c *inProcessChain) RespondChallenge(_ context.Context, msg *verifytypes.MsgRespondChallenge) error {
	_, err := c.tx(msg.Worker, msg)
	return err
}

func (c *inProcessChain) OpenChallenges(_ context.Context, worker string) ([]verifytypes.Challenge, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx := c.vc.app.NewContext(true)
	var out []verifytypes.Challenge
	err := c.vc.app.VerifyKeeper.Challenges.Walk(ctx, nil, func(_ uint64, ch verifytypes.Challenge) (bool, error) {
		if ch.Worker == worker && ch.Status == verifytypes.CHALLENGE_STATUS_OPEN {
			out = append(out, ch)
		}
		return false, nil
	})
	return out, err
}

func (c *inProcessChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.app.VerifyKeeper.GetAttestation(c.vc.app.NewContext(true), id)
}

func (c *inProcessChain) LastAttestedStep(_ context.Context, worker string, model uint64) (uint64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last uint64
	var found bool
	err := c.vc.app.VerifyKeeper.Attestations.Walk(c.vc.app.NewContext(true), nil, func(_ uint64, a verifytypes.Attestation) (bool, error) {
		if a.Worker == worker && a.ModelId == model {
			last, found = max(last, a.StepTo), true
		}
		return false, nil
	})
	return last, found, err
}

func (c *inProcessChain) PendingAttestations(_ context.Context, worker string, model uint64) ([]verifytypes.Attestation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []verifytypes.Attestation
	err := c.vc.app.VerifyKeeper.Attestations.Walk(c.vc.app.NewContext(true), nil, func(_ uint64, a verifytypes.Attestation) (bool, error) {
		if a.Worker == worker && a.ModelId == model && a.Status == verifytypes.ATTESTATION_STATUS_PENDING {
			out = append(out, a)
		}
		return false, nil
	})
	return out, err
}

// The trainers' chain makes a block every blockTime, with windows long enough for proofs: 10 s
// to answer, room for a cold CI machine whose 2 cores prove two tiles a spot check for every
// worker while other packages' tests run beside (3 s was not). An answer closes its challenge at
// once, so honest runs are no slower for it; only the cheater's verdicts wait the window out.
const (
	blockTime                        = 50 * time.Millisecond
	trainersWindow, trainersResponse = 220, 200
)

// trainStage runs steps backward passes of w's engine stage on random data (one microbatch per
// step) and hands each step's tap to the attester, as `trainer run --chain` does.
func trainStage(t *testing.T, vc *verifyChain, w *trainer, steps int, att *attest.Attester, sent *sentLog) {
	t.Helper()
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), 1)
	require.NoError(t, err)
	s := trainerchain.Spec(m)
	st, err := engine.New(goBackend(t), s, int(w.stage), engine.Options{})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(uint64(w.stage), binary.BigEndian.Uint64(w.addr))) // each worker its own payloads
	ids := func() *tensors.Tensor {
		v := make([]int32, s.SeqLen)
		for i := range v {
			v[i] = int32(rng.IntN(s.Vocab))
		}
		return tensors.FromFlatDataAndDimensions(v, 1, s.SeqLen)
	}
	floats := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	last := int(w.stage) == len(s.Stages)-1
	for step := range steps {
		tok := ids()
		in := tok
		var input attest.Input
		if w.stage == 0 {
			// A draw of the model's dataset, as the sampler makes it.
			input.Microbatch, input.Draw = w.draw()
			input.Receipt = vc.input(t, w, nil, input.Microbatch) // the gradient stage 1 sent back
			tok = tensors.FromFlatDataAndDimensions(vSampled.draw(input.Microbatch), 1, s.SeqLen)
			in = tok
		} else {
			c := floats(s.SeqLen * s.BoundaryWidth())
			in = tensors.FromFlatDataAndDimensions(c, 1, s.SeqLen, s.BoundaryWidth())
			// The payload the neighbour sent (f32: the engine trains on exactly its values).
			body, err := payload.Encode(&payload.Payload{
				Kind: payload.Activations, DType: payload.F32, Compressed: true, Step: uint64(step), Batch: 1, Seq: uint32(s.SeqLen),
				Width: uint32(s.BoundaryWidth()), Vocab: uint32(s.Vocab), Data: c, IDs: tensors.MustCopyFlatData[int32](tok),
			})
			require.NoError(t, err)
			input = attest.Input{Receipt: vc.input(t, w, body, 0), Payload: body}
			sc := verifytypes.StepCommitment{Input: input.Receipt}
			vc.withGrads(t, w, &sc) // stage 1: the gradient stage 2 sent back
			input.Grads = sc.GradInputs
		}
		// The state the step starts from, as the swarm takes it before the tapped update.
		if input.StateRoot, err = checkpoint.StateRoot(st); err != nil {
			t.Fatal(err)
		}
		// These trainers keep no replay log; a head of their own stands for its head there.
		input.LogHead = sha256.Sum256(append([]byte("the replay log's head before "), input.StateRoot[:]...))
		var tap *engine.Tap
		if last {
			_, _, tap, err = st.BackwardLossTap(in, tok, ids())
		} else {
			dOut := tensors.FromFlatDataAndDimensions(floats(s.SeqLen*s.BoundaryWidth()), 1, s.SeqLen, s.BoundaryWidth())
			_, tap, err = st.BackwardTap(in, tok, dOut)
		}
		require.NoError(t, err)
		// And where it ends, after its update.
		if input.EndRoot, err = checkpoint.StateRoot(st); err != nil {
			t.Fatal(err)
		}
		input.EndHead = sha256.Sum256(append([]byte("the replay log's head after "), input.EndRoot[:]...))
		sent.step(input.LogHead, input.EndHead)
		att.Tap(uint64(step), tap, input)
	}
}

// sentLog stands for the replay log these trainers do not keep, as far as an attestation's
// sends go: each step (one update) signed one payload, numbered by its place.
type sentLog struct {
	mu    sync.Mutex
	heads [][2][32]byte // each step's starting and ending head
}

func (l *sentLog) step(from, to [32]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heads = append(l.heads, [2][32]byte{from, to})
}

// sends is attest.Config.Sends: one send for each step from the one starting at from to the
// one ending at to, or to the last one before the step starting at to (a range that ends where
// the next one starts, with what the log holds between: these heads differ between steps, as a
// log's do where an average lies between them).
func (l *sentLog) sends(from, to [32]byte) ([]verifytypes.SentPayload, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []verifytypes.SentPayload
	for i, h := range l.heads {
		if len(out) > 0 && h[0] == to {
			return out, nil
		}
		if h[0] == from || len(out) > 0 {
			d := sha256.Sum256(h[1][:])
			out = append(out, verifytypes.SentPayload{Event: uint32(len(out)), Seq: uint64(i + 1), Digest: d[:]})
			if h[1] == to {
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("no steps from head %x to %x", from[:4], to[:4])
}

// runTrainers trains each worker's stage for steps steps with an attester (cheat: the fraction
// of steps on which it fakes its outputs and takes an input of its own) and waits until every attester has seen all its attestations final.
func runTrainers(t *testing.T, vc *verifyChain, ws []*trainer, cheat map[*trainer]float64, steps int, during func(locked func(func()))) map[*trainer]attest.Stats {
	t.Helper()
	_, prover := verifyKeys(t)
	c := &inProcessChain{vc: vc, by: map[string]*account{}}
	for _, w := range ws {
		c.by[w.addr.String()] = w.account
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// Blocks every blockTime: trainersResponse blocks leave a loaded 2-core machine seconds to
	// prove a tiny tile.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		tick := time.NewTicker(blockTime)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.mu.Lock()
				c.vc.block(time.Second)
				c.mu.Unlock()
			}
		}
	}()
	defer func() { cancel(); <-produced }()
	atts := map[*trainer]*attest.Attester{}
	sent := map[*trainer]*sentLog{}
	var wg sync.WaitGroup
	for _, w := range ws {
		sent[w] = &sentLog{}
		store, err := attest.OpenStore(t.TempDir())
		require.NoError(t, err)
		att, err := attest.NewAttester(attest.Config{
			Chain: c, ChainID: app.DefaultChainID, Worker: w.addr.String(), ModelID: 1, Stage: w.stage, Layers: vLayers, Period: 4, FirstStep: 1,
			TileWidth: vT, Secret: w.secret, Store: store, Prover: prover, Cheat: cheat[w], CheatOwnInput: cheat[w], Tables: vTables(t), Sampled: stageSampled(w.stage),
			Rand: rand.New(rand.NewPCG(1, uint64(w.stage))), Poll: 5 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(tWriter{t}, nil)).With("stage", w.stage, "cheat", cheat[w]), Sends: sent[w].sends,
		})
		require.NoError(t, err)
		atts[w] = att
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, att.Run(ctx))
		}()
	}
	for _, w := range ws {
		trainStage(t, vc, w, steps, atts[w], sent[w])
	}
	// Training is over: the attesters attest what they hold (a full batch waits for the next
	// step's start until then) and answer challenges until every attestation is final.
	for _, att := range atts {
		att.Finish()
	}
	if during != nil {
		during(func(f func()) {
			c.mu.Lock()
			defer c.mu.Unlock()
			f()
		})
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the attestations did not all become final")
	out := map[*trainer]attest.Stats{}
	for w, att := range atts {
		out[w] = att.Stats()
	}
	return out
}

// Trainers on real engine stages attest through their attesters; with every attestation
// spot-checked, the honest ones answer every challenge and are paid exactly for their steps,
// and the cheater (faking every step) cannot answer: it is slashed, jailed and unseated, and
// its work mints nothing.
func TestTrainersSpotCheckedOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and proves")
	}
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyOneDec(), trainersWindow, trainersResponse)
	cheater := ws[3]
	before, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	stats := runTrainers(t, vc, ws, map[*trainer]float64{cheater: 1}, 8, nil)

	for _, w := range ws[:3] {
		s := stats[w]
		require.Equal(t, uint64(8), s.Steps, "stage %d", w.stage)
		require.Equal(t, uint64(2), s.Attestations)
		require.Equal(t, uint64(2), s.Finalized)
		require.Equal(t, uint64(4), s.Answered, "rate 1: both attestations were checked, each on a product and an input tile")
		require.Equal(t, int64(8*vLayers*sharesPerUnit), vc.shares(w.addr), "stage %d", w.stage)
	}
	require.Zero(t, vc.shares(cheater.addr))
	require.Positive(t, stats[cheater].Voided)
	after, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, after.Status)
	require.True(t, after.Bonded.Amount.LT(before.Bonded.Amount), "slashed")
	require.False(t, vc.seated(t, cheater))
}

// With no spot checks, a third party challenges the cheater's attestation while it is pending;
// the cheater's attester cannot prove the faked tile, and the challenger is paid.
func TestTrainersThirdPartyCatchesCheater(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and proves")
	}
	challenger := newAccount(0)
	vc, ws := startVerifyChainWindows(t, sdkmath.LegacyZeroDec(), trainersWindow, trainersResponse, challenger)
	honest, cheater := ws[0], ws[3]
	start := vc.balance(challenger.addr)
	stats := runTrainers(t, vc, []*trainer{honest, cheater}, map[*trainer]float64{cheater: 1}, 4, func(locked func(func())) {
		// Wait for the cheater's attestation, then challenge its forward tile at step 2.
		var id uint64
		require.Eventually(t, func() bool {
			locked(func() {
				_ = vc.app.VerifyKeeper.Attestations.Walk(vc.app.NewContext(true), nil, func(_ uint64, a verifytypes.Attestation) (bool, error) {
					if a.Worker == cheater.addr.String() {
						id = a.Id
					}
					return id != 0, nil
				})
			})
			return id != 0
		}, time.Minute, 10*time.Millisecond)
		locked(func() {
			res := vc.send(challenger, &verifytypes.MsgOpenChallenge{
				Challenger: challenger.addr.String(), AttestationId: id, Kind: verifytypes.CHALLENGE_KIND_FORWARD,
				Step: 2, Row: 1, Col: 0, Bond: sdk.NewInt64Coin(app.BondDenom, 5_000_000),
			})
			require.Zero(t, res.Code, res.Log)
		})
	})
	require.Equal(t, int64(4*vLayers*sharesPerUnit), vc.shares(honest.addr))
	require.Zero(t, vc.shares(cheater.addr))
	require.Equal(t, uint64(1), stats[cheater].Unprovable)
	w, err := vc.worker(cheater.addr)
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Status)
	require.Greater(t, vc.balance(challenger.addr), start, "bond back plus the reward")
}

// stageSampled is the dataset stage 0's attester opens draws of (nil on later stages).
func stageSampled(stage uint32) *attest.Sampled {
	if stage == 0 {
		return vSampled.Sampled
	}
	return nil
}
