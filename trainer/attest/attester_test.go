package attest

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	errorsmod "cosmossdk.io/errors"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/trainer/engine"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// scriptedChain refuses attestations as its script says (nil accepts) and records the accepted
// ones; they are pending until final is set. last is the worker's last attested step as the chain
// reports it (0: none), as an attestation landing behind the attester's back would move it.
type scriptedChain struct {
	mu       sync.Mutex
	script   []error
	accepted []*verifytypes.MsgSubmitAttestation
	calls    int
	final    atomic.Bool
	last     uint64
}

func (c *scriptedChain) SubmitAttestation(_ context.Context, msg *verifytypes.MsgSubmitAttestation) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(c.script) > 0 {
		err := c.script[0]
		c.script = c.script[1:]
		if err != nil {
			return 0, err
		}
	}
	c.accepted = append(c.accepted, msg)
	c.last = msg.StepTo
	return uint64(len(c.accepted)), nil
}

func (c *scriptedChain) LastAttestedStep(context.Context, string, uint64) (uint64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.last > 0, nil
}

// landed is an attestation of steps from..to that the chain recorded behind the attester's back:
// the refusal the attester then gets, with the chain's last step moved.
func (c *scriptedChain) landed(to uint64) error {
	c.last = to
	return errorsmod.Wrap(verifytypes.ErrOverlappingSteps, "landed behind the attester's back")
}

func (*scriptedChain) RespondChallenge(context.Context, *verifytypes.MsgRespondChallenge) error {
	return nil
}

func (*scriptedChain) OpenChallenges(context.Context, string) ([]verifytypes.Challenge, error) {
	return nil, nil
}

func (c *scriptedChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	if !c.final.Load() {
		return verifytypes.Attestation{Id: id, Status: verifytypes.ATTESTATION_STATUS_PENDING}, nil
	}
	return verifytypes.Attestation{Id: id, Status: verifytypes.ATTESTATION_STATUS_FINALIZED}, nil
}

func (c *scriptedChain) acceptedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.accepted)
}

func (*scriptedChain) PendingAttestations(context.Context, string, uint64) ([]verifytypes.Attestation, error) {
	return nil, nil
}

// runAttester taps steps random layers into an attester over chain (period 2, from step first),
// waits for want accepted attestations, runs check, then makes them final and waits for the
// attester to finish.
func runAttester(t *testing.T, chain *scriptedChain, first uint64, steps, want int, check func(*Attester, *Store)) {
	t.Helper()
	a, store, ctx, done := startAttester(t, chain, first, 0)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range steps {
		tap := randomTap(rng)
		for len(a.taps) == cap(a.taps) { // never drop in this test
			time.Sleep(time.Millisecond)
		}
		a.Tap(uint64(i), tap, Input{Receipt: &verifytypes.BoundaryReceipt{Microbatch: 1000 + uint64(i)}})
	}
	a.Finish()
	for chain.acceptedCount() < want && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	check(a, store)
	chain.final.Store(true)
	require.NoError(t, <-done)
	require.NoError(t, ctx.Err())
}

// startAttester runs an attester of period 2 from step first over chain (maxQueued 0: the
// default), stopped when the test ends; done receives Run's result.
func startAttester(t *testing.T, chain *scriptedChain, first uint64, maxQueued int) (*Attester, *Store, context.Context, chan error) {
	t.Helper()
	return startAttesterWith(t, chain, first, maxQueued, nil)
}

// startAttesterWith is startAttester with edit applied to the configuration (when set).
func startAttesterWith(t *testing.T, chain *scriptedChain, first uint64, maxQueued int, edit func(*Config)) (*Attester, *Store, context.Context, chan error) {
	t.Helper()
	store, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	cfg := Config{
		Chain: chain, ChainID: testOwner.ChainID, Worker: testOwner.Worker, ModelID: testOwner.ModelID, Stage: testOwner.Stage,
		Layers: 2, Period: 2, FirstStep: first, TileWidth: testT, Secret: []byte("s"), Store: store, Prover: NewProver(""),
		Poll: time.Millisecond, MaxQueued: maxQueued, Log: slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := NewAttester(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, store, ctx, done
}

// randomTap is a designated layer of the test shape.
func randomTap(rng *rand.Rand) *engine.Tap {
	return &engine.Tap{Rows: testRows, D: testD, X: randoms(rng, testRows*testD, 2), G: ones(testD), W: randoms(rng, testD*testD, 0.5), DY: randoms(rng, testRows*testD, 1)}
}

// The attester numbers committed steps contiguously from FirstStep; a clock refusal is retried
// until it lands; a permanent refusal frees its numbers and the next batch is renumbered into
// them, with roots re-bound to the new steps (they match a fresh commit of the stored layers).
func TestAttesterKeepsStepsContiguous(t *testing.T) {
	wait := errorsmod.Wrap(verifytypes.ErrTooFast, "pace")
	ahead := errorsmod.Wrap(verifytypes.ErrStageAhead, "lead")
	refused := errorsmod.Wrap(verifytypes.ErrInvalidAttestation, "refused for good")
	chain := &scriptedChain{script: []error{nil, wait, ahead, nil, refused, nil, nil}}
	runAttester(t, chain, 5, 10, 4, func(a *Attester, store *Store) {
		var got [][2]uint64
		for _, m := range chain.accepted {
			got = append(got, [2]uint64{m.StepFrom, m.StepTo})
			for i, c := range m.Commitments {
				require.Equal(t, m.StepFrom+uint64(i), c.Step)
			}
		}
		// Batches 5–6, 7–8 (after two clock waits), 9–10 refused for good, then 11–12 and
		// 13–14 renumbered to 9–10 and 11–12.
		require.Equal(t, [][2]uint64{{5, 6}, {7, 8}, {9, 10}, {11, 12}}, got)
		require.Equal(t, 7, chain.calls)
		st := a.Stats()
		require.Equal(t, uint64(2), st.ClockWaits)
		require.Equal(t, uint64(4), st.Attestations)

		requireStoredAsAttested(t, chain, store, []uint64{5, 6, 7, 8, 9, 10, 11, 12})
	})
}

// sdkRefusal is a refusal by the SDK, not by a module (trainer/chain TxError of the root
// codespace: a fee, a full mempool).
type sdkRefusal struct{}

func (sdkRefusal) Error() string    { return "tx refused (sdk 13): insufficient fee" }
func (sdkRefusal) ABCICode() uint32 { return 13 }
func (sdkRefusal) Transient() bool  { return true }

// A refusal of the transaction by the SDK (not of the attestation by x/verify) is tried again,
// a bounded number of times: dropping the batch would cost its steps and a log gap after it.
func TestAttesterRetriesTheSDKsRefusals(t *testing.T) {
	script := []error{nil}
	for range maxTransient + 1 {
		script = append(script, sdkRefusal{})
	}
	script = append(script, sdkRefusal{}, nil)
	chain := &scriptedChain{script: script}
	runAttester(t, chain, 1, 6, 2, func(a *Attester, _ *Store) {
		var got [][2]uint64
		for _, m := range chain.accepted {
			got = append(got, [2]uint64{m.StepFrom, m.StepTo})
		}
		// 1–2 lands; 3–4 is tried again maxTransient times and then dropped (its numbers go
		// on); 5–6 lands as 3–4 after one refusal more.
		require.Equal(t, [][2]uint64{{1, 2}, {3, 4}}, got)
		require.Equal(t, len(script), chain.calls)
	})
}

// requireStoredAsAttested checks that the store holds exactly the attested steps want, nothing
// spooled, and that each attested root is that of the layer stored under its step.
func requireStoredAsAttested(t *testing.T, chain *scriptedChain, store *Store, want []uint64) {
	t.Helper()
	stored, err := store.Steps()
	require.NoError(t, err)
	require.Equal(t, want, stored)
	inputs := map[uint64]bool{}
	for _, m := range chain.accepted {
		for _, c := range m.Commitments {
			l, err := store.Load(c.Step)
			require.NoError(t, err)
			cm, err := Commit([]byte("s"), testOwner, l)
			require.NoError(t, err)
			// Each step keeps the input receipt it was tapped with, through any renumbering.
			require.NotNil(t, c.Input, "step %d lost its input receipt", c.Step)
			require.False(t, inputs[c.Input.Microbatch], "input %d attested twice", c.Input.Microbatch)
			inputs[c.Input.Microbatch] = true
			c.Input = nil
			require.Equal(t, c, cm.Roots(), "step %d", c.Step)
		}
	}
	_, err = store.Unspool(0)
	require.ErrorIs(t, err, ErrNoLayer, "nothing left in the spool")
}

// A restarted trainer whose previous process had an attestation in flight: the chain records
// steps 5..8 after the attester read its last step (4), so the attester's 5..6 overlaps. It reads
// the chain's last step again and moves its batch to 9..10, re-committing the roots to their new
// steps; later batches follow. The chain moving backwards is followed too.
func TestAttesterFollowsTheChainsNumbers(t *testing.T) {
	chain := &scriptedChain{}
	chain.script = []error{chain.landed(8), nil, nil}
	runAttester(t, chain, 5, 4, 2, func(_ *Attester, store *Store) {
		var got [][2]uint64
		for _, m := range chain.accepted {
			got = append(got, [2]uint64{m.StepFrom, m.StepTo})
		}
		require.Equal(t, [][2]uint64{{9, 10}, {11, 12}}, got)
		requireStoredAsAttested(t, chain, store, []uint64{9, 10, 11, 12})
	})
}

// An error that is not the chain's verdict (a timeout, a lost connection) leaves open whether the
// attestation landed: the attester sends the same one again, keeping its layers and numbers.
func TestAttesterRetriesAnAmbiguousFailure(t *testing.T) {
	chain := &scriptedChain{script: []error{errors.New("rpc error: connection reset"), nil, nil}}
	runAttester(t, chain, 1, 4, 2, func(_ *Attester, store *Store) {
		var got [][2]uint64
		for _, m := range chain.accepted {
			got = append(got, [2]uint64{m.StepFrom, m.StepTo})
		}
		require.Equal(t, [][2]uint64{{1, 2}, {3, 4}}, got)
		require.Equal(t, 3, chain.calls)
		requireStoredAsAttested(t, chain, store, []uint64{1, 2, 3, 4})
	})
}

// The store never stores a spooled layer over a stored one, and a restart drops what a stopped
// process left behind (spooled layers, a half-done move) but keeps stored layers.
func TestStoreSpoolPromoteAndLeftovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	s, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	l := randomLayer(t, rng, 3)
	require.NoError(t, s.Save(l))
	require.NoError(t, s.Spool(0, randomLayer(t, rng, 3)))
	require.ErrorContains(t, s.Promote(0, 3), "already has a stored layer")
	require.NoError(t, s.Promote(0, 4))
	got, err := s.Load(4)
	require.ErrorContains(t, err, "header says step 3", "a layer is promoted to the step it was committed for")
	require.Nil(t, got)
	require.NoError(t, s.Spool(1, randomLayer(t, rng, 5)))
	require.NoError(t, s.save(randomLayer(t, rng, 6), s.movingPath(6)))
	require.NoError(t, s.DropLeftovers())
	_, err = s.Unspool(1)
	require.ErrorIs(t, err, ErrNoLayer)
	steps, err := s.Steps()
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 4}, steps)
}

// While the chain keeps saying wait, at most MaxQueued batches wait on disk: the steps that come
// meanwhile are dropped (training is never blocked), and what is attested stays contiguous.
func TestAttesterBoundsItsQueue(t *testing.T) {
	var script []error
	for range 40 { // about 0.6 s of waiting: far longer than tapping takes
		script = append(script, errorsmod.Wrap(verifytypes.ErrTooFast, "pace"))
	}
	chain := &scriptedChain{script: script}
	a, _, _, done := startAttester(t, chain, 1, 1)
	rng := rand.New(rand.NewPCG(2, 2))
	const taps = 40
	for i := range taps {
		a.Tap(uint64(i), randomTap(rng), Input{})
	}
	a.Finish()
	for {
		st := a.Stats()
		if st.Steps+st.Dropped == taps && uint64(chain.acceptedCount())*2 >= st.Steps {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st := a.Stats()
	require.Positive(t, st.Dropped, "the queue is bounded: some steps were dropped")
	next := uint64(1)
	for _, m := range chain.accepted {
		require.Equal(t, next, m.StepFrom, "contiguous")
		next = m.StepTo + 1
	}
	require.Equal(t, st.Steps, next-1, "every step committed was attested")
	chain.final.Store(true)
	require.NoError(t, <-done)
}

// ones is a gain of n ones: the folded weights are the weights.
func ones(n int) []float32 {
	g := make([]float32, n)
	for i := range g {
		g[i] = 1
	}
	return g
}

// An attester that is not keeping up says so once half its room for taps is taken (stage 0 then
// stops drawing, swarm.Config.Hold), and no sooner.
func TestAttesterBehind(t *testing.T) {
	store, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	a, err := NewAttester(Config{
		Chain: &scriptedChain{}, ChainID: testOwner.ChainID, Worker: testOwner.Worker, ModelID: testOwner.ModelID, Stage: testOwner.Stage,
		Layers: 2, Period: 2, FirstStep: 1, TileWidth: testT, Secret: []byte("s"), Store: store, Prover: NewProver(""),
		Log: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 4 { // not running: a start and a tap a step wait in its room of 8 × period
		require.False(t, a.Behind(), "after %d steps", i)
		a.Started(uint64(i), [32]byte{}, [32]byte{})
		a.Tap(uint64(i), randomTap(rng), Input{})
	}
	require.False(t, a.Behind(), "half its room")
	a.Started(4, [32]byte{}, [32]byte{})
	require.True(t, a.Behind())
}

// doubtChain is a chain on which the worker's last attested step is last, and pending are its
// pending attestations (with their commitments).
type doubtChain struct {
	scriptedChain
	mu      sync.Mutex
	pending []verifytypes.Attestation
}

func (c *doubtChain) PendingAttestations(context.Context, string, uint64) ([]verifytypes.Attestation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending, nil
}

func (c *doubtChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.pending {
		if a.Id == id {
			return a, nil
		}
	}
	return verifytypes.Attestation{}, errors.New("no such attestation")
}

// A restarted trainer does not give up the layers of an attestation it sent before it stopped
// and whose fate it never learnt: Recover sets aside the layers beyond the chain's last attested
// step (deleting those of final attestations), the step numbers are free for new layers, and if
// the attestation lands after all its challenges are proved from the layers set aside (whichever
// layer commits to the attestation's roots); they go once DoubtWindow has passed and no pending
// attestation holds them.
func TestRecoverKeepsLayersInDoubt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	store, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	layer := func(step uint64) *Layer {
		l, err := NewLayer(step, testRows, testD, randoms(rng, testRows*testD, 2), randoms(rng, testD*testD, 0.5), randoms(rng, testRows*testD, 1))
		require.NoError(t, err)
		return l
	}
	sent := map[uint64]*Layer{}
	for step := uint64(1); step <= 4; step++ {
		sent[step] = layer(step)
		require.NoError(t, store.Save(sent[step]))
	}
	chain := &doubtChain{}
	chain.last = 2 // steps 1..2 final; 3..4 were sent as the process stopped
	a, err := NewAttester(Config{
		Chain: chain, ChainID: testOwner.ChainID, Worker: testOwner.Worker, ModelID: testOwner.ModelID, Stage: testOwner.Stage,
		Layers: 2, Period: 2, FirstStep: 3, TileWidth: testT, Secret: []byte("s"), Store: store, Prover: NewProver(""),
		Poll: time.Millisecond, DoubtWindow: time.Hour, Log: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, a.Recover(ctx))
	steps, err := store.Steps()
	require.NoError(t, err)
	require.Empty(t, steps, "final steps deleted; steps in doubt set aside")
	doubted, err := store.Doubted()
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 4}, doubted)

	// The restarted trainer commits a new step 3; then the attestation in doubt lands.
	require.NoError(t, store.Save(layer(3)))
	var roots []verifytypes.StepCommitment
	for step := uint64(3); step <= 4; step++ {
		cm, err := Commit([]byte("s"), a.owner(), sent[step])
		require.NoError(t, err)
		roots = append(roots, cm.Roots())
	}
	chain.mu.Lock()
	chain.pending = []verifytypes.Attestation{{Id: 9, StepFrom: 3, StepTo: 4, Status: verifytypes.ATTESTATION_STATUS_PENDING, Commitments: roots}}
	chain.mu.Unlock()
	for step := uint64(3); step <= 4; step++ {
		l, cm, err := a.layerFor(ctx, verifytypes.Challenge{AttestationId: 9, Step: step})
		require.NoError(t, err, "step %d", step)
		require.Equal(t, sent[step].X, l.X, "step %d: the layer the attestation was sent with", step)
		require.True(t, committedTo(cm.Roots(), chain.pending[0], step))
	}

	// While the window lasts, or a pending attestation holds them, they stay; then they go.
	a.pruneDoubt(ctx)
	a.mu.Lock()
	a.doubtUntil = time.Now().Add(-time.Second)
	a.mu.Unlock()
	a.pruneDoubt(ctx)
	doubted, err = store.Doubted()
	require.NoError(t, err)
	require.Equal(t, []uint64{3, 4}, doubted, "held by a pending attestation")
	chain.mu.Lock()
	chain.pending = nil
	chain.mu.Unlock()
	a.pruneDoubt(ctx)
	doubted, err = store.Doubted()
	require.NoError(t, err)
	require.Empty(t, doubted)
	steps, err = store.Steps()
	require.NoError(t, err)
	require.Equal(t, []uint64{3}, steps, "the new step 3 is untouched")
}

// floodChain lists open challenges and holds every proof at its first chain read (the
// attestation) until released, counting how many are held at once.
type floodChain struct {
	scriptedChain
	open    []verifytypes.Challenge
	release chan struct{}
	mu      sync.Mutex
	held    []uint64 // challenge ids (by their attestation id) being proved
	most    int
}

func (c *floodChain) OpenChallenges(context.Context, string) ([]verifytypes.Challenge, error) {
	return c.open, nil
}

func (c *floodChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	c.mu.Lock()
	c.held = append(c.held, id)
	c.most = max(c.most, len(c.held))
	c.mu.Unlock()
	<-c.release
	c.mu.Lock()
	c.held = c.held[1:]
	c.mu.Unlock()
	return verifytypes.Attestation{}, errors.New("gone")
}

// A flood of challenges does not start a proof each at once: at most MaxProving are proved at a
// time (each holds a tile circuit in memory), the nearest deadlines first; the rest wait for a
// slot and are taken at later checks.
func TestAnsweringIsBounded(t *testing.T) {
	chain := &floodChain{release: make(chan struct{})}
	for i := range 6 {
		chain.open = append(chain.open, verifytypes.Challenge{Id: uint64(10 + i), AttestationId: uint64(10 + i), DeadlineHeight: int64(100 - i)})
	}
	store, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	a, err := NewAttester(Config{
		Chain: chain, ChainID: testOwner.ChainID, Worker: testOwner.Worker, ModelID: testOwner.ModelID, Stage: testOwner.Stage,
		Layers: 2, Period: 2, FirstStep: 1, TileWidth: testT, Secret: []byte("s"), Store: store, Prover: NewProver(""),
		MaxProving: 2, Log: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	ctx := context.Background()
	a.answer(ctx)
	a.answer(ctx) // a second check while both slots are taken starts nothing more
	require.Eventually(t, func() bool { chain.mu.Lock(); defer chain.mu.Unlock(); return len(chain.held) == 2 }, 10*time.Second, time.Millisecond)
	chain.mu.Lock()
	first := append([]uint64(nil), chain.held...)
	chain.mu.Unlock()
	require.ElementsMatch(t, []uint64{15, 14}, first, "the nearest deadlines first")
	for round := range 3 { // two at a time: the six in three rounds
		chain.release <- struct{}{}
		chain.release <- struct{}{}
		a.wg.Wait()
		if round < 2 {
			a.answer(ctx)
		}
	}
	require.Equal(t, 2, chain.most, "more proofs at once than MaxProving")
	a.mu.Lock()
	require.Len(t, a.answered, 6, "every challenge taken up in the end")
	a.mu.Unlock()
}

// TestAttesterEndsABatchAtAGap: a local step the attester never committed (dropped when it was
// behind) ends the batch before it, whatever the period: an attestation's range (its start to
// its end, x/verify end_state_root) holds only the updates of the steps it names, each with its
// end where the next batch does not start. A full batch whose next step is attested ends where
// that step starts, so that the log between them (an average) is in its range and the next
// range starts where it ends: the chain sees no gap (x/verify log_gap).
func TestAttesterEndsABatchAtAGap(t *testing.T) {
	chain := &scriptedChain{}
	a, _, ctx, done := startAttester(t, chain, 1, 0)
	rng := rand.New(rand.NewPCG(2, 2))
	end := func(step uint64) [32]byte { return [32]byte{byte(step), 'e'} }
	for _, step := range []uint64{0, 1, 2, 4, 5} { // local step 3 was dropped
		a.Tap(step, randomTap(rng), Input{
			Receipt:   &verifytypes.BoundaryReceipt{Microbatch: 1000 + step},
			StateRoot: [32]byte{byte(step), 's'}, LogHead: [32]byte{byte(step), 'h'}, EndRoot: end(step), EndHead: [32]byte{byte(step), 'f'},
		})
	}
	a.Finish()
	for chain.acceptedCount() < 3 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	chain.final.Store(true)
	require.NoError(t, <-done)
	var got [][2]uint64
	var ends, endHeads, starts, heads [][32]byte
	for _, m := range chain.accepted {
		got = append(got, [2]uint64{m.StepFrom, m.StepTo})
		ends, endHeads = append(ends, [32]byte(m.EndStateRoot)), append(endHeads, [32]byte(m.EndLogHead))
		starts, heads = append(starts, [32]byte(m.StateRoot)), append(heads, [32]byte(m.LogHead))
	}
	// Local steps 0–1 (period 2), then 2 alone (3 is missing), then 4–5.
	require.Equal(t, [][2]uint64{{1, 2}, {3, 3}, {4, 5}}, got)
	require.Equal(t, [][32]byte{{0, 's'}, {2, 's'}, {4, 's'}}, starts)
	require.Equal(t, [][32]byte{{0, 'h'}, {2, 'h'}, {4, 'h'}}, heads)
	// 0–1 ends where step 2 starts (what the log holds between is in its range); 2 ends at its
	// own end (step 3 was not attested); 4–5 at its own, the last.
	require.Equal(t, [][32]byte{{2, 's'}, end(2), end(5)}, ends)
	require.Equal(t, [][32]byte{{2, 'h'}, {2, 'f'}, {5, 'f'}}, endHeads)
}

// A full batch is attested as soon as the next step starts (Started), ending where it starts,
// without waiting for that step's tap; with no next step, after HoldFull, ending where its own
// last step did.
func TestAttesterEndsAFullBatchWhereTheNextStepStarts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started bool
	}{{"the next step starts", true}, {"the pipeline stalls", false}} {
		t.Run(tc.name, func(t *testing.T) {
			chain := &scriptedChain{}
			a, _, ctx, done := startAttesterWith(t, chain, 1, 0, func(c *Config) {
				if !tc.started {
					c.HoldFull = 20 * time.Millisecond
				}
			})
			rng := rand.New(rand.NewPCG(3, 3))
			for step := range uint64(2) {
				a.Tap(step, randomTap(rng), Input{
					Receipt:   &verifytypes.BoundaryReceipt{Microbatch: 1000 + step},
					StateRoot: [32]byte{byte(step), 's'}, LogHead: [32]byte{byte(step), 'h'}, EndRoot: [32]byte{byte(step), 'e'}, EndHead: [32]byte{byte(step), 'f'},
				})
			}
			if tc.started {
				a.Started(2, [32]byte{2, 's'}, [32]byte{2, 'h'})
			}
			for chain.acceptedCount() < 1 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			a.Finish()
			chain.final.Store(true)
			require.NoError(t, <-done)
			require.Len(t, chain.accepted, 1)
			m := chain.accepted[0]
			want, wantHead := [32]byte{1, 'e'}, [32]byte{1, 'f'}
			if tc.started {
				want, wantHead = [32]byte{2, 's'}, [32]byte{2, 'h'}
			}
			require.Equal(t, want, [32]byte(m.EndStateRoot))
			require.Equal(t, wantHead, [32]byte(m.EndLogHead))
		})
	}
}
