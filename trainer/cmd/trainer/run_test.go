package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/roster"

	ma "github.com/multiformats/go-multiaddr"
)

// TestMain lets a test start this test binary as the trainer command: with
// PROTOLEARN_TRAINER_MAIN=1 it runs main with the given arguments.
func TestMain(m *testing.M) {
	if os.Getenv("PROTOLEARN_TRAINER_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

// startTrainer runs the trainer command in a child process.
func startTrainer(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "PROTOLEARN_TRAINER_MAIN=1")
	p.cmd.Stderr, p.cmd.Stdout = &p.stderr, io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) wait(t *testing.T, name string, d time.Duration) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("%s exited with %v:\n%s", name, err, p.stderr.String())
		}
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v:\n%s", name, d, p.stderr.String())
	}
}

// TestRunMultiProcess: three `trainer run` processes, one per stage, on
// 127.0.0.1 train the tiny model; stage 0 finishes its steps, the others
// drain on SIGTERM; every microbatch's loss is recorded once and falls,
// and every stage writes its checkpoint.
func TestRunMultiProcess(t *testing.T) {
	dir := t.TempDir()
	corpus := tinyCorpus(t)
	const steps, micro = 8, 4
	rosterPath, keys, listen := swarmRoster(t, dir, []int{0, 1, 2})
	procs := make([]*proc, 3)
	for _, s := range []int{2, 1, 0} {
		procs[s] = startTrainer(t, "run", "--spec", "tiny", "--stage", strconv.Itoa(s), "--key", keys[s],
			"--roster", rosterPath, "--listen", listen[s], "--data", corpus, "--rows", "2", "--microbatches", strconv.Itoa(micro),
			"--steps", strconv.Itoa(steps), "--eval-every", "4", "--eval-batches", "2", "--link-latency", "2ms", "--out", filepath.Join(dir, fmt.Sprintf("out%d", s)), "--quiet")
	}
	procs[0].wait(t, "stage 0", 3*time.Minute)
	// The last validation round leaves with stage 0's last microbatches.
	evalPath := filepath.Join(dir, "out2", "eval.csv")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(evalPath); strings.Count(string(b), "\n") == 3 { // header + rounds 1, 2
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(evalPath)
			t.Fatalf("eval.csv has not 2 rounds:\n%s", b)
		}
	}
	for _, s := range []int{1, 2} {
		_ = procs[s].cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, s := range []int{1, 2} {
		procs[s].wait(t, fmt.Sprintf("stage %d", s), time.Minute)
		if !strings.Contains(procs[s].stderr.String(), "msg=drained") {
			t.Errorf("stage %d did not drain:\n%s", s, procs[s].stderr.String())
		}
	}
	for s := range 3 {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("out%d", s), fmt.Sprintf("stage-%d.ckpt", s))); err != nil {
			t.Errorf("stage %d checkpoint: %v", s, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "out2", "losses.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := steps * micro
	if len(recs) != n+1 {
		t.Fatalf("losses.csv has %d rows, want %d microbatches", len(recs)-1, n)
	}
	seen := map[string]bool{}
	var first, last float64
	for i, rec := range recs[1:] {
		if seen[rec[0]] {
			t.Fatalf("microbatch %s recorded twice", rec[0])
		}
		seen[rec[0]] = true
		l, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		if i < 4 {
			first += l / 4
		}
		if i >= n-4 {
			last += l / 4
		}
	}
	if last > 0.8*first {
		t.Errorf("loss did not fall across the processes: %.3f -> %.3f", first, last)
	}
	t.Logf("3 processes, %d microbatches: loss %.3f -> %.3f", n, first, last)
}

// swarmRoster writes the roster of model 1 with one worker of each of stages (3 stages) to
// dir/roster.json: an identity key dir/w<i>.key and a free address each.
func swarmRoster(t *testing.T, dir string, stages []int) (path string, keys, listen []string) {
	t.Helper()
	var members []roster.Member
	for i, s := range stages {
		keys = append(keys, filepath.Join(dir, fmt.Sprintf("w%d.key", i)))
		k, err := p2p.LoadOrCreateKey(keys[i])
		if err != nil {
			t.Fatal(err)
		}
		id, err := p2p.PeerID(k)
		if err != nil {
			t.Fatal(err)
		}
		listen = append(listen, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", testhost.FreePort(t)))
		members = append(members, roster.Member{Peer: id, Stage: s, Addrs: []ma.Multiaddr{ma.StringCast(listen[i])}})
	}
	r, err := roster.New(1, 3, members)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "roster.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, keys, listen
}

func TestRunFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--roster", "r.json", "--key", "k"}, "--stage -1"},
		{[]string{"--stage", "0", "--key", "k"}, "--roster is required"},
		{[]string{"--stage", "0", "--roster", "r.json"}, "--key is required"},
		{[]string{"--stage", "5", "--roster", "r.json", "--key", "k"}, "one of 0…2"},
		{[]string{"--stage", "1", "--roster", "r.json", "--key", "k", "--rows", "0"}, "--rows 0"},
		{[]string{"--stage", "1", "--roster", "r.json", "--key", "k", "--payload", "f16"}, `--payload "f16"`},
		{[]string{"--stage", "1", "--roster", "r.json", "--key", "k", "--link-loss", "1"}, "--link-loss"},
		{[]string{"--stage", "1", "--roster", "r.json", "--key", "k", "--stages", "1"}, "at least two"},
		// On chain the model fixes the optimizer (a replica replays with it), so no flag may change it.
		{[]string{"--chain", "127.0.0.1:1", "--operator", "learn1x", "--hot-key", "h", "--key", "k", "--lr", "1e-30"}, "--lr: with --chain the model fixes the optimizer"},
		{[]string{"--chain", "127.0.0.1:1", "--operator", "learn1x", "--hot-key", "h", "--key", "k", "--depth", "3"}, "--depth: with --chain"},
		{[]string{"--chain", "127.0.0.1:1", "--operator", "learn1x", "--hot-key", "h", "--key", "k", "--weight-decay", "0"}, "--weight-decay: with --chain"},
	} {
		cmd := newRunCmd(nil)
		cmd.SetArgs(c.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}
