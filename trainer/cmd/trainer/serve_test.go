package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/spec"
)

// reference is the in-process model with the checkpoints' weights: what the swarm must say.
func reference(t *testing.T, ckpts []string, prompt string, r infer.Request) string {
	t.Helper()
	s, err := spec.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	var l infer.Local
	for i, path := range ckpts {
		st, err := engine.New(testbackend.Go(), s, i, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Load(path, st); err != nil {
			t.Fatal(err)
		}
		l.Stages = append(l.Stages, st)
	}
	r.Prompt = make([]int32, len(prompt))
	for i := range len(prompt) {
		r.Prompt[i] = int32(prompt[i])
	}
	res, err := l.Generate(t.Context(), r, func(infer.Token) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(res.Tokens))
	for i, tok := range res.Tokens {
		b[i] = byte(tok)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// sessions is a serving worker's open sessions, from its metrics.
func sessions(t *testing.T, metricsAddr string) int {
	t.Helper()
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "protolearn_infer_sessions "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// TestServeMultiProcess: a model trained by `trainer local` is served by `trainer serve`
// processes (stage 1 by two replicas) over libp2p with 10 ms links, behind a `trainer gateway`
// process. A completion through the gateway is the in-process model's, token for token, and
// so is one whose stage-1 replica is killed mid-stream: the session moves to the other.
func TestServeMultiProcess(t *testing.T) {
	dir := t.TempDir()
	if logs, err := runCmd(t, "--spec", "tiny", "--data", tinyCorpus(t), "--steps", "30", "--eval-every", "0", "--out", filepath.Join(dir, "trained"), "--quiet"); err != nil {
		t.Fatalf("training: %v\n%s", err, logs)
	}
	ckpts := make([]string, 3)
	for s := range ckpts {
		ckpts[s] = filepath.Join(dir, "trained", "checkpoints", fmt.Sprintf("stage-%d.ckpt", s))
	}
	stages := []int{0, 1, 1, 2}
	rosterPath, keys, listen := swarmRoster(t, dir, stages)
	metrics := make([]string, len(stages))
	for i := range stages {
		metrics[i] = fmt.Sprintf("127.0.0.1:%d", testhost.FreePort(t))
	}
	workers := make([]*proc, len(stages))
	for i, s := range stages {
		workers[i] = startTrainer(t, "serve", "--spec", "tiny", "--model", "1", "--stage", strconv.Itoa(s), "--key", keys[i],
			"--checkpoint", ckpts[s], "--listen", listen[i], "--metrics-addr", metrics[i], "--link-latency", "10ms")
	}
	for i := range stages {
		for deadline := time.Now().Add(time.Minute); sessions(t, metrics[i]) != 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d does not serve:\n%s", i, workers[i].stderr.String())
			}
		}
	}
	gwAddr := fmt.Sprintf("127.0.0.1:%d", testhost.FreePort(t))
	gw := startTrainer(t, "gateway", "--roster", rosterPath, "--spec", "tiny", "--model", "1", "--listen", gwAddr)
	url := "http://" + gwAddr
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(url + "/v1/models"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway does not answer:\n%s", gw.stderr.String())
		}
	}

	const prompt = "func main() {"
	smp := infer.Sampling{Temperature: 0.7, TopP: 0.95, Seed: 11}
	want := reference(t, ckpts, prompt, infer.Request{MaxTokens: 18, Sampling: smp})
	body := fmt.Sprintf(`{"model": "1", "prompt": %q, "max_tokens": 18, "temperature": 0.7, "top_p": 0.95, "seed": 11}`, prompt)
	res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out completionJSON
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %v", res.StatusCode, err)
	}
	res.Body.Close()
	if out.Choices[0].Text != want {
		t.Fatalf("the swarm said %q, the in-process model %q", out.Choices[0].Text, want)
	}

	// Streamed, with the stage-1 replica that holds the session killed after the first event.
	res, err = http.Post(url+"/v1/completions", "application/json", strings.NewReader(strings.Replace(body, "}", `, "stream": true}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	var text strings.Builder
	var last completionJSON
	killed := -1
	for {
		line, err := rd.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			break
		}
		var ev completionJSON
		if err := json.Unmarshal([]byte(data), &ev); err != nil || len(ev.Choices) == 0 {
			t.Fatalf("event %q", data)
		}
		text.WriteString(ev.Choices[0].Text)
		last = ev
		if killed < 0 {
			for _, i := range []int{1, 2} {
				if sessions(t, metrics[i]) == 1 {
					_ = workers[i].cmd.Process.Signal(syscall.SIGKILL)
					killed = i
					break
				}
			}
			if killed < 0 {
				t.Fatal("no stage-1 replica holds the session")
			}
		}
	}
	if text.String() != want {
		t.Fatalf("with worker %d killed mid-stream the swarm said %q, the in-process model %q\ngateway:\n%s", killed, text.String(), want, gw.stderr.String())
	}
	if last.Protolearn.Moved != 1 {
		t.Fatalf("the session moved %d times, want 1 (worker %d killed)", last.Protolearn.Moved, killed)
	}
	t.Logf("stage-1 worker %d killed mid-stream; the completion %q went on", killed, want)
}

type completionJSON struct {
	Choices []struct {
		Text string `json:"text"`
	} `json:"choices"`
	Protolearn struct {
		Moved int `json:"moved"`
	} `json:"protolearn"`
}

func TestServeAndGatewayFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--stage", "0"}, "--key is required"},
		{[]string{"serve", "--key", filepath.Join(t.TempDir(), "k"), "--stage", "3"}, "--stage 3"},
		{[]string{"serve", "--key", filepath.Join(t.TempDir(), "k"), "--stage", "0", "--chain-grpc", "127.0.0.1:1"}, "--chain-id is required"},
		{[]string{"serve", "--key", filepath.Join(t.TempDir(), "k"), "--stage", "0", "--checkpoint", "/nonexistent.ckpt"}, "--checkpoint"},
		{[]string{"gateway"}, "--chain-grpc (the chain's models, paid) or --roster"},
		{[]string{"gateway", "--chain-grpc", "127.0.0.1:1", "--chain-id", "x"}, "--spender-key is required"},
		{[]string{"gateway", "--chain-grpc", "127.0.0.1:1", "--chain-id", "x", "--spender-key", filepath.Join(t.TempDir(), "s")}, "no deposit to charge"},
		{[]string{"gateway", "--roster", "r.json", "--link-bandwidth", "fast"}, "bandwidth"},
	} {
		cmd := newRootCmd(io.Discard, io.Discard, nil)
		cmd.SetArgs(c.args)
		err := cmd.ExecuteContext(t.Context())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}
