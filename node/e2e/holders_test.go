package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

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
	f := newTrainerNet(t, workers, 2,
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
		require.Contains(t, logs[w].String(), "halted model: deleted what its attestations needed", w)
	}
	require.Contains(t, logs["p1"].String(), "halted model: deleted the stage's weights")
	require.NoFileExists(t, saved)
	res, err := models.StageRoster(ctx, &modelstypes.QueryStageRosterRequest{ModelId: 1, Stage: 0})
	require.NoError(t, err)
	require.Empty(t, res.Replicas, "a halt releases every seat")
}
