package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/trainer/chain"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// TestHoldersPauseResumeHaltTheirTrainers runs a chain and three `trainer run --chain`
// processes, one a stage, until their verified work has made them holders of the model. Then
// the holders vote over the CLI (tx modelgov propose / vote), and the trainers follow each
// outcome within two blocks of its tally: paused, stage 0 draws nothing and no attestation
// lands; resumed, training and attesting go on; halted, every trainer stops, deletes the stage's
// saved weights, then (its attestations final) what it kept to answer for them, and exits.
func TestHoldersPauseResumeHaltTheirTrainers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and three trainers")
	}
	workers := []string{"p0", "p1", "p2"}
	forkers := []string{"f0", "f1", "f2"} // the fork's operators: none holds a stage of model 1
	f := newTrainerNet(t, append(slices.Clone(workers), forkers...), 2,
		`app_state.verify.params.challenge_rate="0.000000000000000000"`,
		`app_state.verify.params.challenge_window="6"`,
		`app_state.modelgov.params.voting_period_blocks="40"`,
		`app_state.modelgov.params.deposit={"denom":"ulearn","amount":"1000000"}`,
	)
	n := f.n
	for stage, w := range workers {
		f.register(w, stage, true)
	}
	// A checkpoint left by an earlier run of p1's: the saved weights a halt deletes.
	saved := filepath.Join(f.dir, "p1", "stage-1.ckpt")
	require.NoError(t, os.WriteFile(saved, []byte("an earlier run's weights"), 0o600))

	procs := map[string]*exec.Cmd{}
	logs := map[string]*lockedBuffer{}
	for _, w := range workers {
		procs[w], logs[w] = f.start(w, "--steps", "1000000") // stage 0 trains until the halt
	}
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	bank, verify, gov, blocks := banktypes.NewQueryClient(conn), verifytypes.NewQueryClient(conn), modelgovtypes.NewQueryClient(conn), cmtservice.NewServiceClient(conn)
	models := modelstypes.NewQueryClient(conn)
	height := func() int64 {
		res, err := blocks.GetLatestBlock(ctx, &cmtservice.GetLatestBlockRequest{})
		require.NoError(t, err)
		return res.SdkBlock.Header.Height
	}
	holds := func(w string) bool {
		res, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: n.addr(w), Denom: "share/1"})
		return err == nil && res.Balance.Amount.IsPositive()
	}
	eventually(t, 4*time.Minute, "every worker holds shares of its verified work", func() bool { return holds("p0") && holds("p1") && holds("p2") })
	lastStep := func(w string) uint64 {
		res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: n.addr(w)})
		require.NoError(t, err)
		var last uint64
		for _, a := range res.Attestations {
			last = max(last, a.StepTo)
		}
		return last
	}

	// decide has p0 propose action, every worker vote yes, and returns the proposal once its
	// voting period ended.
	decide := func(action ...string) modelgovtypes.Proposal {
		t.Helper()
		code, log := n.tx(append(append([]string{"tx", "modelgov", "propose"}, action...), "--summary", "e2e", "--from", "p0")...)
		require.Zero(t, code, log)
		list, err := gov.Proposals(ctx, &modelgovtypes.QueryProposalsRequest{ModelId: 1})
		require.NoError(t, err)
		id := list.Proposals[0].Id
		var votes []broadcastResult // all in flight at once: a few blocks, well within the vote
		for _, w := range workers {
			votes = append(votes, n.broadcast("tx", "modelgov", "vote", strconv.FormatUint(id, 10), "yes", "--from", w))
		}
		for _, v := range votes {
			// On a loaded machine a vote may land after the end (the blocks are fast); the
			// proposal must pass on those that landed.
			if code, log := n.await(v); code != 0 && code != modelgovtypes.ErrVotingClosed.ABCICode() {
				t.Fatalf("vote refused (%d): %s", code, log)
			}
		}
		var p modelgovtypes.Proposal
		eventually(t, time.Minute, "the vote ends", func() bool {
			res, err := gov.Proposal(ctx, &modelgovtypes.QueryProposalRequest{ProposalId: id})
			p = res.GetProposal()
			return err == nil && p.Status != modelgovtypes.PROPOSAL_STATUS_VOTING
		})
		require.Equal(t, modelgovtypes.PROPOSAL_STATUS_PASSED, p.Status, p.Result)
		return p
	}
	// followed waits until every trainer logged msg, and checks that each did within two
	// blocks of the tally (the voting end height's block).
	followed := func(p modelgovtypes.Proposal, msg string) {
		t.Helper()
		seen := map[string]int64{}
		deadline := time.Now().Add(30 * time.Second)
		for len(seen) < len(workers) {
			require.False(t, time.Now().After(deadline), "not every trainer logged %q within 30s: %v", msg, seen)
			h := height()
			for _, w := range workers {
				if _, ok := seen[w]; !ok && strings.Contains(logs[w].String(), msg) {
					seen[w] = h
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		for w, h := range seen {
			require.LessOrEqual(t, h-p.VotingEndHeight, int64(2), "%s logged %q at height %d, more than two blocks after the tally at %d", w, msg, h, p.VotingEndHeight)
		}
	}

	p := decide("pause", "1")
	followed(p, "the model's holders paused it")
	m, err := models.Model(ctx, &modelstypes.QueryModelRequest{Id: 1})
	require.NoError(t, err)
	require.Equal(t, modelstypes.MODEL_STATUS_PAUSED, m.Model.Status)
	// Paused, nothing more is attested: what was in flight is held until the resume.
	paused := lastStep("p0")
	pausedAt := height()
	n.waitForHeight(pausedAt + 8)
	require.Equal(t, paused, lastStep("p0"), "an attestation landed while the model was paused")

	forkOfPaused(t, f, workers, forkers, logs)
	require.Equal(t, paused, lastStep("p0"), "an attestation landed while the model was paused")

	p = decide("resume", "1")
	followed(p, "the model's holders resumed it")
	eventually(t, 2*time.Minute, "stage 0 trains and attests again", func() bool { return lastStep("p0") > paused })

	// A serving-only process of the model (trainer serve) stops on the halt too.
	serve := exec.Command(f.bin, "serve", "--chain-grpc", n.grpc, "--chain-id", chainID, "--model", "1", "--stage", "1",
		"--key", filepath.Join(f.dir, "server.key"), "--listen", "/ip4/127.0.0.1/tcp/0")
	serveLog := &lockedBuffer{}
	serve.Stdout, serve.Stderr = serveLog, serveLog
	require.NoError(t, serve.Start())
	served := make(chan error, 1)
	go func() { served <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		if t.Failed() {
			t.Logf("trainer serve's log:\n%s", serveLog.String())
		}
	})

	p = decide("halt", "1")
	followed(p, "the model's holders halted it for good")
	select {
	case err := <-served:
		require.NoError(t, err, "trainer serve exits cleanly on the halt")
	case <-time.After(30 * time.Second):
		t.Fatal("trainer serve did not stop on the halt")
	}
	require.Contains(t, serveLog.String(), "serving stopped")
	for stage, w := range workers {
		var status syscall.WaitStatus
		eventually(t, 2*time.Minute, w+"'s trainer leaves once its attestations are final", func() bool {
			pid, err := syscall.Wait4(procs[w].Process.Pid, &status, syscall.WNOHANG, nil)
			return err == nil && pid == procs[w].Process.Pid
		})
		require.Zero(t, status.ExitStatus(), "%s exits cleanly: the halt is the holders' decision, not a failure\n%s", w, logs[w].String())
		require.NoFileExists(t, filepath.Join(f.dir, w, "stage-"+strconv.Itoa(stage)+".ckpt"), "%s saved weights after the halt", w)
		require.NoDirExists(t, filepath.Join(f.dir, w, "attest", "replaylog", "model-1-stage-"+strconv.Itoa(stage)), "%s kept its replay log", w)
		require.NoDirExists(t, filepath.Join(f.dir, w, "attest", "layers"), "%s kept its attested layers", w)
		require.NoDirExists(t, filepath.Join(f.dir, w, "attest", "seeds", "model-1-stage-"+strconv.Itoa(stage)), "%s kept the weights it served forks", w)
		require.Contains(t, logs[w].String(), "halted model: deleted what its attestations needed", w)
	}
	require.Contains(t, logs["p1"].String(), "halted model: deleted the stage's weights")
	require.NoFileExists(t, saved)

	// A trainer away at the halt deletes what it kept when it comes back, and leaves.
	seeds := filepath.Join(f.dir, "p1", "attest", "seeds", "model-1-stage-1")
	require.NoError(t, os.MkdirAll(seeds, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(seeds, "kept.params"), []byte("weights kept for forks"), 0o600))
	require.NoError(t, os.WriteFile(saved, []byte("weights saved before the halt"), 0o600))
	back, backLog := f.start("p1")
	require.NoError(t, back.Wait(), "a trainer of a halted model leaves cleanly\n%s", backLog.String())
	require.Contains(t, backLog.String(), "halted it for good while this trainer was away")
	require.NoFileExists(t, saved)
	require.NoDirExists(t, seeds)
	res, err := models.StageRoster(ctx, &modelstypes.QueryStageRosterRequest{ModelId: 1, Stage: 0})
	require.NoError(t, err)
	require.Empty(t, res.Replicas, "a halt releases every seat")
}

// forkOfPaused forks model 1 (paused: its trainers wait, and serve) into model 2, trained by
// operators that hold nothing of model 1. Each fork trainer fetches its stage's starting
// weights from model 1's replica of the stage (which serves them to the fork's seated replica
// of that stage only), commits them as step 0 (the chain takes only the fork's root there),
// trains, and is paid in the fork's shares for verified work.
func forkOfPaused(t *testing.T, f *trainerNet, workers, forkers []string, logs map[string]*lockedBuffer) {
	n := f.n
	code, log := n.tx("tx", "models", "create-model", "fork-e2e", "--parent", "1", "--parent-bps", "500",
		"--dataset-commitment", f.root, "--designer-bps", "1000", "--min-stake", "100000000ulearn", "--max-replicas-per-stage", "2",
		"--target-work-units", "1000000", "--microbatches-per-step", "2", "--from", "designer")
	require.Zero(t, code, log)
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	models, bank := modelstypes.NewQueryClient(conn), banktypes.NewQueryClient(conn)
	fork, err := models.Model(ctx, &modelstypes.QueryModelRequest{Id: 2})
	require.NoError(t, err)
	require.Equal(t, uint64(1), fork.Model.ParentId)
	list, err := models.Models(ctx, &modelstypes.QueryModelsRequest{ParentId: 1})
	require.NoError(t, err)
	require.Len(t, list.Models, 1, "model 1's forks")
	for stage, w := range forkers {
		f.registerOn(w, 2, stage, true)
	}
	procs := map[string]*exec.Cmd{}
	for _, w := range forkers {
		procs[w], logs[w] = f.startOn(w, 2, "--steps", "4")
	}
	for stage, w := range forkers {
		eventually(t, 2*time.Minute, w+" starts from the parent's weights, committed as step 0", func() bool {
			return strings.Contains(logs[w].String(), "the parent's weights committed on chain as step 0")
		})
		require.Contains(t, logs[w].String(), "fork: fetched the parent's weights", w)
		require.Contains(t, logs[workers[stage]].String(), "served a fork's starting weights", workers[stage])
	}

	// Who the parent's replicas serve, as the chain answers it: the fork's replica of the same
	// stage, for the fork's root; nobody else, nor another root.
	hot, err := chain.LoadOrCreateHotKey(filepath.Join(t.TempDir(), "hot.key"))
	require.NoError(t, err)
	c, err := chain.Dial(chain.Config{GRPC: n.grpc, ChainID: chainID, HotKey: hot, Operator: n.addr("designer"), GasPrice: sdk.NewDecCoin("ulearn", sdkmath.ZeroInt())})
	require.NoError(t, err)
	defer c.Close()
	peerOf := func(w string) string {
		return strings.TrimSpace(run(t, f.bin, "peer-id", "--key", filepath.Join(f.dir, w, "peer.key")))
	}
	root := fork.Model.ForkRoots[1]
	got, err := c.ForkSeated(ctx, 1, 1, root, peerOf("f1"))
	require.NoError(t, err)
	require.Equal(t, uint64(2), got)
	for _, tc := range []struct {
		stage uint32
		root  []byte
		peer  string
	}{
		{1, root, peerOf("f0")},                    // seated in the fork, in another stage
		{0, fork.Model.ForkRoots[0], peerOf("f1")}, // the same: asked for stage 0's weights
		{1, root, peerOf("p0")},                    // a replica of the parent's stage 0
		{1, fork.Model.ForkRoots[0], peerOf("f1")}, // another root than its stage's (a stage-0 root)
		{1, bytesOf(0xab, 32), peerOf("f1")},       // a root no fork names
	} {
		_, err := c.ForkSeated(ctx, 1, tc.stage, tc.root, tc.peer)
		require.Error(t, err, "stage %d root %X peer %s", tc.stage, tc.root, tc.peer)
	}

	// The fork trains: verified work in it is paid in its own shares.
	eventually(t, 3*time.Minute, "the fork's stage-0 operator holds shares of the fork", func() bool {
		res, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: n.addr("f0"), Denom: "share/2"})
		return err == nil && res.Balance.Amount.IsPositive()
	})
	for _, w := range forkers {
		_ = syscall.Kill(-procs[w].Process.Pid, syscall.SIGINT)
	}
}

func bytesOf(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
