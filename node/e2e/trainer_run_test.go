package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/circuits/tile"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

var (
	trainerOnce sync.Once
	trainerBin  string
	trainerErr  error
)

// trainerBinary builds the trainer once per test process.
func trainerBinary(t *testing.T) string {
	t.Helper()
	trainerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trainer-e2e-")
		if err != nil {
			trainerErr = err
			return
		}
		trainerBin = filepath.Join(dir, "trainer")
		out, err := exec.Command("go", "build", "-o", trainerBin, "github.com/protolearn/protolearn/trainer/cmd/trainer").CombinedOutput()
		if err != nil {
			trainerErr = fmt.Errorf("building the trainer: %v\n%s", err, out)
		}
	})
	require.NoError(t, trainerErr)
	return trainerBin
}

// TestTrainersOnChain runs three `trainer run --chain` processes, one per stage, against a real
// protolearnd, as operators run them: each operator registers and authorizes its trainer's hot
// key from the CLI; the stage-2 trainer takes its seat itself (--join-stage). Every attestation
// is spot-checked (challenge_rate 1): the trainers must answer with proofs from their stored
// layers, every attestation must finalize into exactly its work in shares, and every stage must
// have committed the root of its weights.
func TestTrainersOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and three trainers")
	}
	const (
		d, rows, seqLen, tw = 32, 2, 32, 4 // tiles of rows·seqLen = 64 rows
		period, steps       = 4, 12
	)
	bin := trainerBinary(t)
	dir := t.TempDir()
	keysDir := filepath.Join(dir, "keys")
	// Every stage's shapes: stage 0's embed tile and the later stages' input tile included
	// (compression rank 8).
	shapes, err := verifytypes.Tiles{DModel: d, Rank: 8, Vocab: 256, Rows: rows * seqLen, Width: tw}.ModelShapes()
	require.NoError(t, err)
	for _, s := range shapes {
		k, err := tile.TestSetup(s)
		require.NoError(t, err)
		pk, err := k.MarshalProvingKey()
		require.NoError(t, err)
		vk, err := k.MarshalVerifyingKey()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(keysDir, s.String()), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(keysDir, s.String(), "proving.key"), pk, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(keysDir, s.String(), "verifying.key"), vk, 0o600))
	}

	const funds = "1000000000000ulearn"
	workers := []string{"p0", "p1", "p2"}
	// make demo's chain (scripts/demo.sh: the same init-files flags and scripts/demo-genesis.json),
	// with faster timing: every attestation spot-checked, of 4 steps.
	n := startNodeWith(t, map[string]string{"validator": funds, "designer": funds, "p0": funds, "p1": funds, "p2": funds},
		[]string{
			"--propose-timeout", "1s", "--verifying-keys", keysDir, "--genesis-overrides", filepath.Join("..", "..", "scripts", "demo-genesis.json"),
			"--genesis-set", fmt.Sprintf("app_state.verify.params.attestation_period=%q", strconv.Itoa(period)),
			"--genesis-set", `app_state.verify.params.challenge_rate="1.000000000000000000"`,
			"--genesis-set", `app_state.verify.params.challenge_window="10"`,
			// Room for a loaded CI machine (2 cores, the other tests proving beside): an answer
			// closes its challenge at once, so an honest run is no slower for it.
			"--genesis-set", `app_state.verify.params.response_window="80"`,
		}, nil)
	// Three stages of two layers: a step is 2 work units a stage. The dataset is the trainers'
	// corpus (the Go source tree, capped at 2 MiB): its root, as the designer computes it.
	root := strings.TrimSpace(run(t, bin, "dataset-root", "--max-bytes", "2MiB"))
	code, log := n.tx(createModelArgs("run-e2e", fmt.Sprintf(`{"vocab":256,"d_model":%d,"n_layers":6,"n_heads":2,"seq_len":%d,"compression_rank":8}`, d, seqLen), "7", "1000000", root)...)
	require.Zero(t, code, log)

	hardware := `{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}`
	listen := map[string]string{}
	ports := freePorts(t, len(workers))
	for stage, w := range workers {
		wd := filepath.Join(dir, w)
		require.NoError(t, os.MkdirAll(wd, 0o700))
		peer := strings.TrimSpace(run(t, bin, "peer-id", "--key", filepath.Join(wd, "peer.key")))
		hot := strings.TrimSpace(run(t, bin, "hot-key", "--hot-key", filepath.Join(wd, "hot.key")))
		listen[w] = "/ip4/127.0.0.1/tcp/" + ports[stage]
		code, log := n.tx("tx", "compute", "register-worker", peer, "200000000ulearn", "--multiaddrs", listen[w], "--hardware", hardware, "--from", w)
		require.Zero(t, code, log)
		code, log = n.tx("tx", "verify", "authorize-trainer", hot, "--spend-limit", "10000000ulearn", "--from", w)
		require.Zero(t, code, log)
		if w != "p2" {
			code, log = n.tx("tx", "models", "join-stage", "1", strconv.Itoa(stage), "--from", w)
			require.Zero(t, code, log)
		}
	}

	start := func(w string, extra ...string) *exec.Cmd {
		wd := filepath.Join(dir, w)
		args := append([]string{
			"run", "--model", "1", "--chain", n.grpc, "--chain-rpc", "tcp://" + n.rpc, "--chain-id", chainID,
			"--operator", n.addr(w), "--hot-key", filepath.Join(wd, "hot.key"), "--key", filepath.Join(wd, "peer.key"),
			"--listen", listen[w], "--rows", strconv.Itoa(rows), "--max-bytes", "2MiB", // 2 microbatches a step: the model's
			"--keys", keysDir, "--out", wd, "--dht=false", "--quiet", "--chain-poll", "500ms",
		}, extra...)
		cmd := exec.Command(bin, args...)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			if cmd.ProcessState == nil {
				_ = cmd.Wait()
			}
			if t.Failed() {
				t.Logf("%s's trainer log:\n%s", w, log.String())
			}
		})
		return cmd
	}
	p2 := start("p2", "--stage", "2", "--join-stage")
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	models := modelstypes.NewQueryClient(conn)
	ctx := t.Context()
	eventually(t, 60*time.Second, "p2's trainer takes stage 2", func() bool {
		res, err := models.Model(ctx, &modelstypes.QueryModelRequest{Id: 1})
		return err == nil && res.Model.Status == modelstypes.MODEL_STATUS_TRAINING
	})
	// A stage-0 trainer on another corpus (a smaller cap: other bytes, another root) refuses to
	// start: it would train on data outside the model's dataset commitment.
	wd := filepath.Join(dir, "p0")
	out, err := exec.Command(bin, "run", "--model", "1", "--chain", n.grpc, "--chain-rpc", "tcp://"+n.rpc, "--chain-id", chainID,
		"--operator", n.addr("p0"), "--hot-key", filepath.Join(wd, "hot.key"), "--key", filepath.Join(wd, "peer.key"),
		"--listen", "/ip4/127.0.0.1/tcp/0", "--rows", strconv.Itoa(rows), "--max-bytes", "1MiB", "--keys", keysDir,
		"--out", filepath.Join(dir, "p0-other-corpus"), "--dht=false", "--quiet").CombinedOutput()
	require.Error(t, err, "a trainer on another corpus started")
	require.Contains(t, string(out), "trains on the dataset with root "+root, string(out))

	p1 := start("p1")
	p0 := start("p0", "--steps", strconv.Itoa(steps))

	// Stage 0 exits once its steps are trained and its attestations are final.
	done := make(chan error, 1)
	go func() { done <- p0.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "stage 0's trainer")
	case <-time.After(5 * time.Minute):
		t.Fatal("stage 0's trainer did not finish in 5 minutes")
	}
	verify := verifytypes.NewQueryClient(conn)
	eventually(t, 90*time.Second, "every attestation final", func() bool {
		res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{Status: verifytypes.ATTESTATION_STATUS_PENDING})
		return err == nil && len(res.Attestations) == 0
	})
	// Interrupted, the other trainers attest what they committed, see it final and leave.
	for _, c := range []*exec.Cmd{p1, p2} {
		_ = c.Process.Signal(syscall.SIGINT)
	}
	for _, c := range []*exec.Cmd{p1, p2} {
		exited := make(chan struct{})
		go func() { _ = c.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			t.Fatal("an interrupted trainer did not leave once its attestations were final")
		}
	}

	bank := banktypes.NewQueryClient(conn)
	for stage, w := range workers {
		op := n.addr(w)
		res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: op})
		require.NoError(t, err)
		var units uint64
		var last uint64
		starts := map[string]bool{}
		for _, a := range res.Attestations {
			// Each starts from the state its steps began with, a new one every time.
			require.Len(t, a.StateRoot, 32, "%s attestation %d names its starting state", w, a.Id)
			require.False(t, starts[string(a.StateRoot)], "%s attestation %d starts where an earlier one did", w, a.Id)
			starts[string(a.StateRoot)] = true
			require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "%s attestation %d", w, a.Id)
			require.Equal(t, uint32(stage), a.Stage)
			// Every step counted the model's 2 microbatches' inputs: stage 0 the gradients stage
			// 1 sent back and as many draws, stage 1 activations and gradients, stage 2
			// activations.
			per := 2
			if stage < 2 {
				per = 4
			}
			require.Len(t, a.InputDigests, per*int(a.StepTo-a.StepFrom+1), "%s attestation %d: the inputs of its steps", w, a.Id)
			units += a.WorkUnits
			last = max(last, a.StepTo)
		}
		require.Equal(t, uint64(steps), last, "%s attested every step", w)
		require.Equal(t, uint64(2*steps), units, "%s: two layers a stage, a unit a layer a step", w)
		bal, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: op, Denom: "share/1"})
		require.NoError(t, err)
		require.Equal(t, sdk.NewInt64Coin("share/1", int64(units)*1_000_000).String(), bal.Balance.String(), w)

		chs, err := verify.Challenges(ctx, &verifytypes.QueryChallengesRequest{Worker: op})
		require.NoError(t, err)
		// Every attestation spot-checked (rate 1): a product tile and, the model being
		// compressed, an input tile each, all answered by the trainer.
		require.Len(t, chs.Challenges, 2*steps/period, "%s: every attestation spot-checked", w)
		inputs := 0
		for _, c := range chs.Challenges {
			require.Equal(t, verifytypes.CHALLENGE_STATUS_ANSWERED, c.Status, "%s challenge %d (%s)", w, c.Id, c.Kind)
			if c.Kind == verifytypes.CHALLENGE_KIND_INPUT {
				inputs++
			}
		}
		require.Equal(t, steps/period, inputs, "%s: one input tile a spot check", w)
	}
	cps, err := models.Checkpoints(ctx, &modelstypes.QueryCheckpointsRequest{ModelId: 1})
	require.NoError(t, err)
	require.Len(t, cps.Stages, 3)
	for _, s := range cps.Stages {
		require.Equal(t, uint32(1), s.CommittedReplicas, "stage %d committed its weights root", s.Stage)
		require.Len(t, s.WeightsRoot, 32)
		require.Equal(t, uint64(steps), s.LatestStep, "stage %d commits its final weights (stage 0 finished, the others drained)", s.Stage)
	}
}

// run runs the binary and returns its stdout, failing the test on an error.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, ee.Stderr)
	}
	require.NoError(t, err)
	return string(out)
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
