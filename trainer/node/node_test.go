package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/roster"
)

// swarmConfigs are the configurations of a three-stage swarm of the tiny model on 127.0.0.1,
// one worker per stage, stage 0 training steps steps.
func swarmConfigs(t *testing.T, steps uint64) []Config {
	t.Helper()
	corpus, out := testspec.CorpusDir(t), t.TempDir()
	nadam := optim.DefaultNAdam()
	nadam.Beta1 = 0
	var members []roster.Member
	cfgs := make([]Config, 3)
	for s := range cfgs {
		key, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &cfgs[s]
		listen := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", testhost.FreePort(t))
		*c = Config{
			Model: 1, Spec: testspec.Tiny(2), Stage: s, Key: key, Listen: []string{listen}, DataDir: corpus, Seed: 1,
			Rows: 2, Microbatches: 2, Steps: steps, NAdam: nadam, Payload: payload.F32,
			AckTimeout: 10 * time.Second, Timeout: time.Minute, Drain: 30 * time.Second, Out: filepath.Join(out, fmt.Sprint(s)),
			LogEvery: time.Hour, HeartbeatEvery: time.Second, Backend: "go",
		}
		id, err := p2p.PeerID(key)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, roster.Member{Peer: id, Stage: s, Addrs: []ma.Multiaddr{ma.StringCast(listen)}})
	}
	r, err := roster.New(1, 3, members)
	if err != nil {
		t.Fatal(err)
	}
	for s := range cfgs {
		cfgs[s].Roster = roster.Static{R: r}
	}
	return cfgs
}

// TestSwarmInProcess: three nodes train the tiny model; stage 0 finishes its steps, the others
// drain when their context ends; every stage saves its checkpoint, the last writes its losses,
// and each node refuses a second Run and closes twice without harm.
func TestSwarmInProcess(t *testing.T) {
	cfgs := swarmConfigs(t, 3)
	ctx := context.Background()
	nodes := make([]*Node, len(cfgs))
	for s, c := range cfgs {
		n, err := New(ctx, c)
		if err != nil {
			t.Fatalf("stage %d: %v", s, err)
		}
		t.Cleanup(n.Close)
		nodes[s] = n
	}
	rest, stopRest := context.WithCancel(ctx)
	errs := make(chan error, 2)
	for _, n := range nodes[1:] {
		go func() { errs <- n.Run(rest) }()
	}
	if err := nodes[0].Run(ctx); err != nil {
		t.Fatalf("stage 0: %v", err)
	}
	stopRest()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a later stage: %v", err)
		}
	}
	for s, n := range nodes {
		if _, err := os.Stat(filepath.Join(cfgs[s].Out, fmt.Sprintf("stage-%d.ckpt", s))); err != nil {
			t.Errorf("stage %d checkpoint: %v", s, err)
		}
		if err := n.Run(ctx); err == nil || !strings.Contains(err.Error(), "Run called twice") {
			t.Errorf("stage %d: second Run: %v", s, err)
		}
		n.Close()
		n.Close()
	}
	b, err := os.ReadFile(filepath.Join(cfgs[2].Out, "losses.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(b), "\n") - 1; rows != 3*2 {
		t.Errorf("losses.csv has %d rows, want the 6 microbatches", rows)
	}
}

// TestConfigErrors: New refuses a bad configuration, naming the setting, and leaves nothing
// listening.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Key = nil }, "no identity key"},
		{func(c *Config) { c.Roster = nil }, "no roster"},
		{func(c *Config) { c.Rows = 0 }, "rows 0"},
		{func(c *Config) { c.Microbatches = -1 }, "microbatches -1"},
		{func(c *Config) { c.EvalEvery, c.EvalBatches = 1, 0 }, "eval batches 0"},
		{func(c *Config) { c.Depth = -1 }, "depth -1"},
		{func(c *Config) { c.Drain = 0 }, "drain 0s"},
		{func(c *Config) { c.NAdam.LearningRate = -1 }, "optimizer"},
		{func(c *Config) { c.Stage = 3 }, "stage 3: required, one of 0…2"},
		{func(c *Config) { c.Spec.Stages = []int{3} }, "at least two"},
		{func(c *Config) { c.Steps = 0 }, "stage 0 needs a positive step count"},
		{func(c *Config) { c.Backend = "tpu" }, "backend"},
		{func(c *Config) { c.Chain, c.NAdam = &ChainConfig{Cheat: 2, Poll: time.Second}, optim.NAdamConfig{} }, "cheat 2"},
		{func(c *Config) { c.Chain = &ChainConfig{Poll: time.Second} }, "the model fixes the optimizer"},
		{func(c *Config) { c.Chain, c.NAdam, c.Depth = &ChainConfig{Poll: time.Second}, optim.NAdamConfig{}, 3 }, "the model fixes the optimizer"},
		{func(c *Config) { c.Listen = []string{"/ip4/127.0.0.1/udp/1/nonsense"} }, "nonsense"},
	} {
		cfg := swarmConfigs(t, 1)[0]
		c.edit(&cfg)
		n, err := New(context.Background(), cfg)
		if err == nil {
			n.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

// TestInterrupts: the first signal cancels the context, the second closes leave.
func TestInterrupts(t *testing.T) {
	ctx, leave, stop := Interrupts(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first interrupt did not cancel the context")
	}
	select {
	case <-leave:
		t.Fatal("one interrupt closed leave")
	default:
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-leave:
	case <-time.After(10 * time.Second):
		t.Fatal("the second interrupt did not close leave")
	}
	stop()
	stop()
}

// TestLinkSeedFromTheSeat: a worker given no link seed draws its emulated link's randomness
// from its stage, as the command did before it learned the stage from the chain.
func TestLinkSeedFromTheSeat(t *testing.T) {
	cfg := swarmConfigs(t, 1)[1]
	cfg.Link.Seed = 0
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.cfg.Link.Seed != 2 {
		t.Errorf("stage 1's link seed is %d, want 2", n.cfg.Link.Seed)
	}
}

// TestServeWhileTraining: workers with Serve answer completions while they train, from a copy
// of their weights; once training has ended, a refreshed copy serves the final weights: a
// completion is the in-process model's from the saved checkpoints, token for token.
func TestServeWhileTraining(t *testing.T) {
	cfgs := swarmConfigs(t, 6)
	ctx := context.Background()
	nodes := make([]*Node, len(cfgs))
	var reps []infer.Replica
	for s, c := range cfgs {
		c.Serve = &ServeConfig{Refresh: 100 * time.Millisecond}
		n, err := New(ctx, c)
		if err != nil {
			t.Fatalf("stage %d: %v", s, err)
		}
		t.Cleanup(n.Close)
		nodes[s] = n
		reps = append(reps, infer.Replica{Peer: n.ID(), Stage: s, Addrs: n.host.Addrs()})
	}
	client, err := infer.NewClient(infer.ClientConfig{
		Host: testhost.New(t), Model: 1, Spec: cfgs[0].Spec, StepTimeout: 10 * time.Second,
		Replicas: func(context.Context) ([]infer.Replica, error) { return reps, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	req := infer.Request{Prompt: []int32{'a', 'b'}, MaxTokens: 5, Sampling: infer.Sampling{Temperature: 0.5, TopP: 1, Seed: 9}}
	generate := func() []int32 {
		res, err := client.Generate(ctx, req, func(infer.Token) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		return res.Tokens
	}
	rest, stopRest := context.WithCancel(ctx)
	errs := make(chan error, 2)
	for _, n := range nodes[1:] {
		go func() { errs <- n.Run(rest) }()
	}
	done := make(chan error, 1)
	go func() { done <- nodes[0].Run(ctx) }()
	if len(generate()) != req.MaxTokens { // while training
		t.Fatal("a completion during training came short")
	}
	if err := <-done; err != nil {
		t.Fatalf("stage 0: %v", err)
	}
	stopRest()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a later stage: %v", err)
		}
	}
	var l infer.Local
	for s := range cfgs {
		st, err := engine.New(testbackend.Go(), cfgs[s].Spec, s, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Load(filepath.Join(cfgs[s].Out, fmt.Sprintf("stage-%d.ckpt", s)), st); err != nil {
			t.Fatal(err)
		}
		l.Stages = append(l.Stages, st)
	}
	want, err := l.Generate(ctx, req, func(infer.Token) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // a few refreshes
	if got := generate(); !slices.Equal(got, want.Tokens) {
		t.Fatalf("after training the workers said %v, the final weights %v", got, want.Tokens)
	}
}
