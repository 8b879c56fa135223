package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/protolearn/protolearn/circuits/tile"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
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

// trainerNet is a real protolearnd with a 3-stage model of two layers a stage (d_model 32,
// compressed, 2 microbatches a step) and the trainer binary, for `trainer run --chain`
// processes of registered operators.
type trainerNet struct {
	t       *testing.T
	n       *node
	bin     string
	dir     string
	keysDir string
	root    string // the model's dataset root
	listen  map[string]string
}

const (
	netD, netRows, netSeqLen, netTileWidth = 32, 2, 32, 4 // tiles of rows·seqLen = 64 rows
)

// newTrainerNet starts make demo's chain (scripts/demo.sh: the same init-files flags and
// scripts/demo-genesis.json) with attestations of period steps and the genesis settings in
// sets, funds the operators and creates the model.
func newTrainerNet(t *testing.T, operators []string, period int, sets ...string) *trainerNet {
	return newTrainerNetReplicas(t, operators, period, 2, sets...)
}

// newTrainerNetReplicas is newTrainerNet with the model's max_replicas_per_stage.
func newTrainerNetReplicas(t *testing.T, operators []string, period, replicas int, sets ...string) *trainerNet {
	return newTrainerNetWith(t, operators, period, replicas, nil, sets...)
}

// newTrainerNetWith is newTrainerNetReplicas with more `testnet init-files` flags.
func newTrainerNetWith(t *testing.T, operators []string, period, replicas int, initFlags []string, sets ...string) *trainerNet {
	f := &trainerNet{t: t, bin: trainerBinary(t), dir: t.TempDir(), listen: map[string]string{}}
	f.keysDir = filepath.Join(f.dir, "keys")
	// Every stage's shapes: stage 0's embed tile and the later stages' input tile included
	// (compression rank 8).
	shapes, err := verifytypes.Tiles{DModel: netD, Rank: 8, Vocab: 256, Rows: netRows * netSeqLen, Width: netTileWidth}.ModelShapes()
	require.NoError(t, err)
	for _, s := range shapes {
		k, err := tile.TestSetup(s)
		require.NoError(t, err)
		pk, err := k.MarshalProvingKey()
		require.NoError(t, err)
		vk, err := k.MarshalVerifyingKey()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(f.keysDir, s.String()), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(f.keysDir, s.String(), "proving.key"), pk, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(f.keysDir, s.String(), "verifying.key"), vk, 0o600))
	}
	const funds = "1000000000000ulearn"
	keys := map[string]string{"validator": funds, "designer": funds}
	for _, w := range operators {
		keys[w] = funds
	}
	flags := []string{
		"--propose-timeout", "1s", "--verifying-keys", f.keysDir, "--genesis-overrides", filepath.Join("..", "..", "scripts", "demo-genesis.json"),
		"--genesis-set", fmt.Sprintf("app_state.verify.params.attestation_period=%q", strconv.Itoa(period)),
	}
	for _, s := range sets {
		flags = append(flags, "--genesis-set", s)
	}
	f.n = startNodeWith(t, keys, append(flags, initFlags...), nil)
	// Three stages of two layers: a step is 2 work units a stage. The dataset is the trainers'
	// corpus (the Go source tree, capped at 2 MiB): its root, as the designer computes it.
	f.root = strings.TrimSpace(run(t, f.bin, "dataset-root", "--max-bytes", "2MiB"))
	args := createModelArgs("run-e2e", fmt.Sprintf(`{"vocab":256,"d_model":%d,"n_layers":6,"n_heads":2,"seq_len":%d,"compression_rank":8}`, netD, netSeqLen), "7", "1000000", f.root)
	args[slices.Index(args, "--max-replicas-per-stage")+1] = strconv.Itoa(replicas)
	code, log := f.n.tx(args...)
	require.Zero(t, code, log)
	ports := freePorts(t, len(operators))
	for i, w := range operators {
		f.listen[w] = "/ip4/127.0.0.1/tcp/" + ports[i]
	}
	return f
}

// register registers operator w as a worker with its trainer's peer id and hot key (authorized
// for stage of model 1, with the authorize-trainer flags in authorize), and seats it in stage
// unless seat is false (its trainer takes the seat itself).
func (f *trainerNet) register(w string, stage int, seat bool, authorize ...string) {
	f.registerOn(w, 1, stage, seat, authorize...)
}

// registerOn is register for the stage of another model.
func (f *trainerNet) registerOn(w string, model uint64, stage int, seat bool, authorize ...string) {
	t := f.t
	id := strconv.FormatUint(model, 10)
	wd := filepath.Join(f.dir, w)
	require.NoError(t, os.MkdirAll(wd, 0o700))
	peer := strings.TrimSpace(run(t, f.bin, "peer-id", "--key", filepath.Join(wd, "peer.key")))
	hot := strings.TrimSpace(run(t, f.bin, "hot-key", "--hot-key", filepath.Join(wd, "hot.key")))
	hardware := `{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}`
	code, log := f.n.tx("tx", "compute", "register-worker", peer, "200000000ulearn", "--multiaddrs", f.listen[w], "--hardware", hardware, "--from", w)
	require.Zero(t, code, log)
	code, log = f.n.tx(append([]string{"tx", "verify", "authorize-trainer", hot, "--model", id, "--stage", strconv.Itoa(stage), "--spend-limit", "10000000ulearn", "--from", w}, authorize...)...)
	require.Zero(t, code, log)
	if seat {
		code, log = f.n.tx("tx", "models", "join-stage", id, strconv.Itoa(stage), "--from", w)
		require.Zero(t, code, log)
	}
}

// lockedBuffer is a trainer's output, written by its process and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs operator w's trainer; it is killed when the test ends, and its log shown if the
// test failed.
func (f *trainerNet) start(w string, extra ...string) (*exec.Cmd, *lockedBuffer) {
	return f.startOn(w, 1, extra...)
}

// startOn is start for another model.
func (f *trainerNet) startOn(w string, model uint64, extra ...string) (*exec.Cmd, *lockedBuffer) {
	t := f.t
	wd := filepath.Join(f.dir, w)
	args := append([]string{
		"run", "--model", strconv.FormatUint(model, 10), "--chain", f.n.grpc, "--chain-rpc", "tcp://" + f.n.rpc, "--chain-id", chainID,
		"--operator", f.n.addr(w), "--hot-key", filepath.Join(wd, "hot.key"), "--key", filepath.Join(wd, "peer.key"),
		"--listen", f.listen[w], "--rows", strconv.Itoa(netRows), "--max-bytes", "2MiB", // 2 microbatches a step: the model's
		"--keys", f.keysDir, "--out", wd, "--dht=false", "--quiet", "--chain-poll", "500ms",
	}, extra...)
	cmd := exec.Command(f.bin, args...)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
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
	return cmd, log
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
	const period, steps = 4, 12
	workers := []string{"p0", "p1", "p2"}
	// The node serves its metrics (CometBFT's and protolearn's), as do the trainers: a real
	// Prometheus scrapes them, and every dashboard's query must return data.
	promPort := freePort(t)
	metrics := map[string]string{"p1": "127.0.0.1:" + freePort(t), "p2": "127.0.0.1:" + freePort(t)}
	// Every attestation spot-checked, of 4 steps.
	f := newTrainerNetWith(t, workers, period, 2, []string{"--prometheus-port", promPort},
		`app_state.verify.params.challenge_rate="1.000000000000000000"`,
		`app_state.verify.params.challenge_window="10"`,
		// Room for a loaded CI machine (2 cores, the other tests proving beside): an answer
		// closes its challenge at once, so an honest run is no slower for it.
		`app_state.verify.params.response_window="80"`,
	)
	n, bin, dir, keysDir, root, rows := f.n, f.bin, f.dir, f.keysDir, f.root, netRows
	f.register("p0", 0, true)
	f.register("p1", 1, true)
	f.register("p2", 2, false)
	start := func(w string, extra ...string) *exec.Cmd {
		cmd, _ := f.start(w, extra...)
		return cmd
	}
	p2 := start("p2", "--stage", "2", "--join-stage", "--metrics-addr", metrics["p2"])
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

	p1 := start("p1", "--metrics-addr", metrics["p1"])
	p0 := start("p0", "--steps", strconv.Itoa(steps))

	// trainer doctor, beside p1's running trainer, with its flags: every check passes (its port
	// in use is taken as the trainer's, whose registered address answers as p1's peer).
	doctor := func(w string, extra ...string) (string, error) {
		wd := filepath.Join(dir, w)
		out, err := exec.Command(bin, append([]string{
			"doctor", "--model", "1", "--chain", n.grpc, "--chain-rpc", "tcp://" + n.rpc,
			"--chain-id", chainID, "--operator", n.addr(w), "--hot-key", filepath.Join(wd, "hot.key"), "--key", filepath.Join(wd, "peer.key"),
			"--listen", f.listen[w], "--wait", "2s",
		}, extra...)...).CombinedOutput()
		return string(out), err
	}
	report, err := doctor("p1")
	require.NoError(t, err, report)
	for _, check := range []string{"peer key", "hot key", "chain", "chain RPC", "registration", "seat", "hot key grants", "backend", "listen", "registered addresses"} {
		require.Regexp(t, `(?m)^ok   `+check+` `, report, "doctor's %s check", check)
	}
	require.Contains(t, report, "every check passed")
	// Misconfigured, it says what to fix: another chain id, a stage not held.
	report, err = doctor("p1", "--chain-id", "another-chain")
	require.Error(t, err)
	require.Contains(t, report, "FAIL chain")
	require.Contains(t, report, "fix: give --chain-id "+chainID)
	report, err = doctor("p1", "--stage", "2")
	require.Error(t, err)
	require.Contains(t, report, "holds stage 1 of model 1, not --stage 2")
	require.Contains(t, report, "fix: run --stage 1")

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
	// Revenue paid and claimed, for the economics dashboard; then every dashboard panel shows
	// data from the running node and trainers.
	code, log := n.tx("tx", "shares", "pay-revenue", "1", "10000ulearn", "dashboards", "--from", "designer")
	require.Zero(t, code, log)
	code, log = n.tx("tx", "shares", "claim-revenue", "--from", "p0")
	require.Zero(t, code, log)
	if prom := startPrometheus(t, []string{"127.0.0.1:" + promPort}, []string{metrics["p1"], metrics["p2"]}); prom != nil {
		prom.checkDashboards()
		// The web app charts the trainers' loss from the same Prometheus.
		if chromium := browser(t); chromium != "" {
			web := startWeb(t, n, "--prometheus", prom.url)
			ctx := newBrowser(t, chromium)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("http://"+web+"/#/models/1")))
			has := false
			for deadline := time.Now().Add(time.Minute); !has && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
				has, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="loss-chart"]') && !!document.querySelector('[data-testid="work-chart"]')`))
				require.NoError(t, err)
			}
			if !has {
				html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("[data-testid], h2, .error")].map(e => e.dataset.testid || e.textContent).join(" | ")`))
				probe, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+strconv.Quote(prom.url+"/api/v1/query?query=protolearn_swarm_loss")+`).then(r => r.text()).catch(e => "fetch failed: " + e)`, chromedp.EvalAwaitPromise))
				t.Fatalf("no loss chart; Prometheus from the page: %s\npage: %.3000s", probe, html)
			}
			if os.Getenv("UPDATE_SCREENSHOTS") != "" {
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "web-model-training.png"), png, 0o644))
			}
		}
		// What the chain's metrics count is what the chain holds: every attestation final.
		final := prom.query(`sum(protolearn_attestations_finalized_total{model="1"})`)
		all, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Status: verifytypes.ATTESTATION_STATUS_FINALIZED})
		require.NoError(t, err)
		require.Equal(t, []string{strconv.Itoa(len(all.Attestations))}, final)
	}
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

// TestRefereeDisputesSkippedLayer runs a swarm with two replicas of stage 1, each auditing the
// other (--audit-rate 1): one is honest, the other skips its stage's last layer
// (--cheat-skip-layer), which no spot check of its designated (first) layer sees. Over the state
// protocol each fetches the other's replay log from its pending attestations' starting states
// and replays it: the honest replica reports the cheater's work as not replaying, and the
// cheater's audit of the honest replica passes. The honest replica's operator opted in to
// disputes (authorize-trainer --disputes, trainer run --dispute): it opens a replay dispute on
// chain over the cheater's attestation and plays it against the cheater's own Defender, over the
// real chain, until the chain judges the skipped layer. The cheater is slashed, jailed and voided
// and holds no share; the honest replica's work finalizes.
func TestRefereeDisputesSkippedLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and four trainers")
	}
	const period, steps = 2, 16
	workers := []string{"p0", "p1", "p3", "p2"}
	f := newTrainerNet(t, workers, period,
		`app_state.verify.params.challenge_rate="0.000000000000000000"`, // no spot checks: the replay's business
		`app_state.verify.params.challenge_window="40"`,                 // attestations stay pending long enough to be audited and disputed
		`app_state.verify.params.response_window="40"`,                  // room for a loaded CI machine between moves
	)
	f.register("p0", 0, true)
	f.register("p1", 1, true, "--disputes")
	f.register("p3", 1, true)
	f.register("p2", 2, true)
	_, p2 := f.start("p2")
	// The replicas average every 2 updates, so the audited logs and the disputed ranges hold
	// averages with each other (signed parameters, judged on chain like updates).
	_, honest := f.start("p1", "--audit-rate", "1", "--dispute", "--average-every", "2")
	_, cheater := f.start("p3", "--audit-rate", "1", "--cheat-skip-layer", "--average-every", "2")
	p0, _ := f.start("p0", "--steps", strconv.Itoa(steps))
	_ = p2

	const found, passed = `msg="referee: a replica's work does not replay"`, `msg="referee: a replica's attestation replays"`
	eventually(t, 4*time.Minute, "the honest replica finds the cheater's work does not replay, and the cheater's audit of it passes", func() bool {
		return logged(honest, found, f.n.addr("p3")) > 0 && logged(cheater, passed, f.n.addr("p1")) > 0
	})
	require.Zero(t, logged(cheater, found, f.n.addr("p1")), "an honest replica's work was reported")
	require.Zero(t, logged(honest, passed, f.n.addr("p3")), "an audit of the cheater passed")
	require.Positive(t, logged(honest, `msg="averaged parameters with a replica"`, ""), "the replicas averaged")

	// The dispute, played by the two trainers over the chain, ends with the cheater losing.
	conn, err := grpc.NewClient(f.n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	verify := verifytypes.NewQueryClient(conn)
	var disputes []verifytypes.Dispute
	eventually(t, 5*time.Minute, "a dispute over the cheater's work settles", func() bool {
		res, err := verify.Disputes(ctx, &verifytypes.QueryDisputesRequest{Party: f.n.addr("p3")})
		if err != nil || len(res.Disputes) == 0 {
			return false
		}
		disputes = res.Disputes
		return !res.Disputes[0].Open()
	})
	// One dispute at a time over a worker (the prosecutor's rule): the first settles it.
	require.Len(t, disputes, 1, "%+v", disputes)
	settled := disputes[0]
	require.Equal(t, verifytypes.DISPUTE_OUTCOME_WORKER_LOST, settled.Outcome, "dispute %d: %s", settled.Id, settled.Reason)
	require.Equal(t, f.n.addr("p1"), settled.Referee)
	// The cheater defended its own arithmetic, so the game was played past the bisection of
	// its log to the event and the state after it, where its engine, which skips a layer and
	// keeps no optimizer state for it, has no trained state to show.
	require.Positive(t, logged(cheater, `msg="dispute move sent"`, ""), "the cheater's Defender moved")
	for _, early := range []string{"LOG", "EVENT"} {
		require.NotContains(t, settled.Reason, "DISPUTE_PHASE_"+early, "dispute %d", settled.Id)
	}
	_ = p0.Process.Signal(syscall.SIGINT)

	// Nothing the cheater attested is paid, and it is jailed; the honest replica's work is final.
	compute := computetypes.NewQueryClient(conn)
	w, err := compute.Worker(ctx, &computetypes.QueryWorkerRequest{Operator: f.n.addr("p3")})
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Worker.Status, "the cheater is jailed")
	require.True(t, w.Worker.Slashed.IsPositive(), "the cheater is slashed")
	eventually(t, 3*time.Minute, "the cheater's attestations are void and the honest replica's final", func() bool {
		for _, op := range []string{"p3", "p1"} {
			res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr(op), Status: verifytypes.ATTESTATION_STATUS_PENDING})
			if err != nil || len(res.Attestations) > 0 {
				return false
			}
		}
		return true
	})
	res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr("p3")})
	require.NoError(t, err)
	require.NotEmpty(t, res.Attestations)
	for _, a := range res.Attestations {
		require.Equal(t, verifytypes.ATTESTATION_STATUS_VOID, a.Status, "the cheater's attestation %d", a.Id)
	}
	bank := banktypes.NewQueryClient(conn)
	bal, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: f.n.addr("p3"), Denom: "share/1"})
	require.NoError(t, err)
	require.True(t, bal.Balance.IsZero(), "the cheater holds %s", bal.Balance)
	res, err = verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr("p1"), Status: verifytypes.ATTESTATION_STATUS_FINALIZED})
	require.NoError(t, err)
	require.NotEmpty(t, res.Attestations, "the honest replica's work finalized")
	bal, err = bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: f.n.addr("p1"), Denom: "share/1"})
	require.NoError(t, err)
	var units uint64
	for _, a := range res.Attestations {
		units += a.WorkUnits
		// Its ranges follow each other in its log, the averages between its steps included.
		require.False(t, a.LogGap, "attestation %d (steps %d..%d) does not start where the one before ended", a.Id, a.StepFrom, a.StepTo)
	}
	require.Equal(t, sdk.NewInt64Coin("share/1", int64(units)*1_000_000).String(), bal.Balance.String(), "the honest replica is paid its finalized work")
}

// TestWithheldLogIsSlashed runs a swarm with three replicas of stage 1: an honest referee that
// audits every attestation of the others (--audit-rate 1) and opted in to disputes, an honest
// witness, and a worker that skips its stage's last layer and serves no replay log
// (--cheat-skip-layer --cheat-withhold-log), so that no audit can replay it. Refused its log
// three times, the referee asks for it on chain; no replica takes custody (none was served the
// log), and at log_window the chain slashes and jails the withholder and voids its pending
// work. The honest replicas lose nothing.
func TestWithheldLogIsSlashed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and five trainers")
	}
	const period, steps = 2, 16
	workers := []string{"p0", "p1", "p3", "p4", "p2"}
	f := newTrainerNetReplicas(t, workers, period, 3,
		`app_state.verify.params.challenge_rate="0.000000000000000000"`, // no spot checks: the referee's business
		`app_state.verify.params.challenge_window="60"`,                 // pending long enough to be asked for on chain
		`app_state.verify.params.log_window="16"`,
	)
	f.register("p0", 0, true)
	f.register("p1", 1, true, "--disputes")
	f.register("p3", 1, true)
	f.register("p4", 1, true)
	f.register("p2", 2, true)
	f.start("p2")
	_, referee := f.start("p1", "--audit-rate", "1", "--dispute", "--audit-retry", "1s")
	_, withholder := f.start("p3", "--cheat-skip-layer", "--cheat-withhold-log")
	_, witness := f.start("p4")
	p0, _ := f.start("p0", "--steps", strconv.Itoa(steps))

	conn, err := grpc.NewClient(f.n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	verify := verifytypes.NewQueryClient(conn)
	var req verifytypes.LogRequest
	eventually(t, 5*time.Minute, "the referee's log request over the withholder settles", func() bool {
		res, err := verify.LogRequests(ctx, &verifytypes.QueryLogRequestsRequest{Party: f.n.addr("p3")})
		if err != nil || len(res.Requests) == 0 || res.Requests[len(res.Requests)-1].Open() {
			return false
		}
		req = res.Requests[len(res.Requests)-1] // newest first: the first request
		return true
	})
	require.Equal(t, verifytypes.LOG_REQUEST_STATUS_WITHHELD, req.Status, "request %d: %s", req.Id, req.Reason)
	require.Equal(t, f.n.addr("p1"), req.Referee)
	require.Positive(t, logged(referee, `msg="referee: asked on chain for a log the worker did not serve"`, f.n.addr("p3")))
	require.Zero(t, logged(withholder, `msg="custody: answered a log request"`, ""), "nobody vouched for a log never served")
	_ = p0.Process.Signal(syscall.SIGINT)

	compute := computetypes.NewQueryClient(conn)
	w, err := compute.Worker(ctx, &computetypes.QueryWorkerRequest{Operator: f.n.addr("p3")})
	require.NoError(t, err)
	require.Equal(t, computetypes.WORKER_STATUS_JAILED, w.Worker.Status, "the withholder is jailed")
	require.True(t, w.Worker.Slashed.IsPositive(), "the withholder is slashed")
	res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr("p3"), Status: verifytypes.ATTESTATION_STATUS_FINALIZED})
	require.NoError(t, err)
	require.Empty(t, res.Attestations, "nothing the withholder attested before the request was paid")
	// The honest replicas: never slashed, nothing voided, and the referee's audits of the
	// witness pass.
	for _, op := range []string{"p1", "p4"} {
		w, err := compute.Worker(ctx, &computetypes.QueryWorkerRequest{Operator: f.n.addr(op)})
		require.NoError(t, err)
		require.True(t, w.Worker.Slashed.IsZero(), "%s slashed", op)
		res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr(op), Status: verifytypes.ATTESTATION_STATUS_VOID})
		require.NoError(t, err)
		require.Empty(t, res.Attestations, "%s has void attestations", op)
	}
	require.Positive(t, logged(referee, `msg="referee: a replica's attestation replays"`, f.n.addr("p4")), "the referee's audit of the witness passed")
	_ = witness
}

// logged counts the lines of a trainer's log with msg about worker (any, if empty).
func logged(log *lockedBuffer, msg, worker string) int {
	n := 0
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, msg) && (worker == "" || strings.Contains(line, "worker="+worker+" ")) {
			n++
		}
	}
	return n
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

// TestEquivocatorIsSlashed runs a chain and three trainers, one a stage. Stage 1's worker runs
// with --cheat-equivocate: it trains and logs honestly, but every payload it signs for its
// neighbours (the activations forward, the gradients back) is another than the one its log
// records under that send number, so its attestations, replays and disputes all show honest
// work while its receivers train on garbage. Its receivers hold its receipts; once its first
// attestation commits its sends, a receiver reports the mismatch on chain and it is slashed,
// jailed and paid nothing. The honest neighbours lose nothing.
func TestEquivocatorIsSlashed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and three trainers")
	}
	const period, steps = 2, 16
	f := newTrainerNet(t, []string{"p0", "p1", "p2"}, period,
		`app_state.verify.params.challenge_rate="0.000000000000000000"`, // no spot checks: the receivers' business
		`app_state.verify.params.challenge_window="30"`,
	)
	f.register("p0", 0, true)
	f.register("p1", 1, true)
	f.register("p2", 2, true)
	_, last := f.start("p2")
	_, cheater := f.start("p1", "--cheat-equivocate")
	p0, first := f.start("p0", "--steps", strconv.Itoa(steps))

	conn, err := grpc.NewClient(f.n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()
	compute := computetypes.NewQueryClient(conn)
	eventually(t, 4*time.Minute, "the equivocator is slashed", func() bool {
		w, err := compute.Worker(ctx, &computetypes.QueryWorkerRequest{Operator: f.n.addr("p1")})
		return err == nil && w.Worker.Status == computetypes.WORKER_STATUS_JAILED && w.Worker.Slashed.IsPositive()
	})
	_ = p0.Process.Signal(syscall.SIGINT)
	reports := logged(first, `msg="equivocation: a neighbour signed a payload its attestation does not name; reported, it was slashed"`, f.n.addr("p1")) +
		logged(last, `msg="equivocation: a neighbour signed a payload its attestation does not name; reported, it was slashed"`, f.n.addr("p1"))
	require.Equal(t, 1, reports, "one receiver's report slashed it")
	require.Positive(t, logged(cheater, `msg="CHEATING (test tool): signing payloads other than those logged"`, ""))
	verify := verifytypes.NewQueryClient(conn)
	res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr("p1")})
	require.NoError(t, err)
	require.NotEmpty(t, res.Attestations)
	for _, a := range res.Attestations {
		require.NotEqual(t, verifytypes.ATTESTATION_STATUS_FINALIZED, a.Status, "attestation %d of the equivocator was paid", a.Id)
	}
	for _, op := range []string{"p0", "p2"} {
		w, err := compute.Worker(ctx, &computetypes.QueryWorkerRequest{Operator: f.n.addr(op)})
		require.NoError(t, err)
		require.True(t, w.Worker.Slashed.IsZero(), "%s slashed", op)
		res, err := verify.Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: 1, Worker: f.n.addr(op), Status: verifytypes.ATTESTATION_STATUS_VOID})
		require.NoError(t, err)
		require.Empty(t, res.Attestations, "%s has void attestations", op)
	}
}
