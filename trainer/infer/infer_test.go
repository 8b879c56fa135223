package infer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	"github.com/protolearn/protolearn/trainer/spec"
)

const model = 7

// tiny is the shared test model with a context of 32 tokens.
func tiny(rank int) spec.Spec {
	s := testspec.Tiny(rank)
	s.SeqLen = 32
	return s
}

func newStage(t *testing.T, s spec.Spec, i int) *engine.Stage {
	t.Helper()
	st, err := engine.New(testbackend.Go(), s, i, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type worker struct {
	host host.Host
	srv  *Server
	rep  Replica
}

// swarm starts replicas workers of every stage of s, each serving its own copy of the
// stage's initial weights.
func swarm(t *testing.T, s spec.Spec, replicas int, cfg ServerConfig) [][]*worker {
	t.Helper()
	out := make([][]*worker, len(s.Stages))
	for i := range s.Stages {
		for range replicas {
			h := testhost.New(t)
			c := cfg
			c.Host, c.Model, c.Stage = h, model, newStage(t, s, i)
			srv, err := Serve(c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			out[i] = append(out[i], &worker{host: h, srv: srv, rep: Replica{Peer: h.ID(), Stage: i, Addrs: h.Addrs()}})
		}
	}
	return out
}

func client(t *testing.T, s spec.Spec, ws [][]*worker) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{
		Host: testhost.New(t), Model: model, Spec: s, StepTimeout: 10 * time.Second,
		Replicas: func(context.Context) ([]Replica, error) {
			var reps []Replica
			for _, st := range ws {
				for _, w := range st {
					reps = append(reps, w.rep)
				}
			}
			return reps, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func local(t *testing.T, s spec.Spec) Local {
	t.Helper()
	var l Local
	for i := range s.Stages {
		l.Stages = append(l.Stages, newStage(t, s, i))
	}
	return l
}

func prompt(text string) []int32 {
	out := make([]int32, len(text))
	for i, c := range []byte(text) {
		out[i] = int32(c)
	}
	return out
}

func collect(t *testing.T, gen func(context.Context, Request, func(Token) bool) (Result, error), r Request) Result {
	t.Helper()
	var streamed []int32
	res, err := gen(t.Context(), r, func(tok Token) bool { streamed = append(streamed, tok.ID); return true })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(streamed, res.Tokens) {
		t.Fatalf("streamed %v, returned %v", streamed, res.Tokens)
	}
	return res
}

// A completion through workers over libp2p is the in-process model's, token for token: greedy
// and sampled, raw and compressed boundaries; and names one serving replica per stage.
func TestSwarmCompletionIsTheInProcessModels(t *testing.T) {
	for _, rank := range []int{0, 2} {
		s := tiny(rank)
		ws := swarm(t, s, 2, ServerConfig{})
		c := client(t, s, ws)
		l := local(t, s)
		for _, smp := range []Sampling{{TopP: 1}, {Temperature: 0.9, TopP: 0.95, Seed: 42}, {Temperature: 1.5, TopP: 1, Seed: 7}} {
			r := Request{Prompt: prompt("the cat "), MaxTokens: 12, Sampling: smp}
			want := collect(t, l.Generate, r)
			got := collect(t, c.Generate, r)
			if !slices.Equal(got.Tokens, want.Tokens) {
				t.Fatalf("rank %d, %+v: the swarm generated %v, the in-process model %v", rank, smp, got.Tokens, want.Tokens)
			}
			if len(got.Tokens) != r.MaxTokens || got.Moved != 0 {
				t.Fatalf("%d tokens, moved %d", len(got.Tokens), got.Moved)
			}
			for i, sv := range got.Servers {
				if sv.Stage != i || sv.Peer == "" {
					t.Fatalf("server of stage %d: %+v", i, sv)
				}
			}
		}
		// Different seeds sample different text (the seed is used).
		a := collect(t, c.Generate, Request{Prompt: prompt("ab"), MaxTokens: 16, Sampling: Sampling{Temperature: 1.5, TopP: 1, Seed: 1}})
		b := collect(t, c.Generate, Request{Prompt: prompt("ab"), MaxTokens: 16, Sampling: Sampling{Temperature: 1.5, TopP: 1, Seed: 2}})
		if slices.Equal(a.Tokens, b.Tokens) {
			t.Fatalf("seeds 1 and 2 sampled the same %v", a.Tokens)
		}
	}
}

// A replica that dies mid-stream hands the session to another replica of its stage, whose
// cache is rebuilt from the session's steps: the tokens are those of an uninterrupted run.
func TestReplicaKilledMidStreamHandsTheSessionOn(t *testing.T) {
	s := tiny(2)
	for _, victim := range []int{0, 1, 2} {
		ws := swarm(t, s, 2, ServerConfig{})
		c := client(t, s, ws)
		r := Request{Prompt: prompt("hello "), MaxTokens: 14, Sampling: Sampling{Temperature: 0.8, TopP: 0.9, Seed: 3}}
		want := collect(t, local(t, s).Generate, r)
		killed := false
		res, err := c.Generate(t.Context(), r, func(Token) bool {
			if !killed && len(ws) > 0 {
				for _, w := range ws[victim] {
					if w.srv.Sessions() > 0 {
						_ = w.host.Close() // the process dies: its streams reset
						killed = true
					}
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("stage %d's replica killed: %v", victim, err)
		}
		if !killed || res.Moved != 1 {
			t.Fatalf("stage %d: killed %v, moved %d", victim, killed, res.Moved)
		}
		if !slices.Equal(res.Tokens, want.Tokens) {
			t.Fatalf("stage %d's replica killed: generated %v, uninterrupted %v", victim, res.Tokens, want.Tokens)
		}
	}
}

// Requests no model can serve are refused before any worker computes; a stage with no live
// replica is named.
func TestBadRequestsAndDeadStages(t *testing.T) {
	s := tiny(2)
	ws := swarm(t, s, 1, ServerConfig{})
	c := client(t, s, ws)
	long := make([]int32, s.SeqLen)
	for _, tc := range []struct {
		name string
		r    Request
		want string
	}{
		{"empty prompt", Request{MaxTokens: 1, Sampling: Sampling{TopP: 1}}, "empty"},
		{"past the context", Request{Prompt: long, MaxTokens: 2, Sampling: Sampling{TopP: 1}}, "context"},
		{"no tokens", Request{Prompt: prompt("a"), Sampling: Sampling{TopP: 1}}, "max_tokens"},
		{"temperature", Request{Prompt: prompt("a"), MaxTokens: 1, Sampling: Sampling{Temperature: -1, TopP: 1}}, "temperature"},
		{"top_p", Request{Prompt: prompt("a"), MaxTokens: 1, Sampling: Sampling{TopP: 0}}, "top_p"},
		{"vocabulary", Request{Prompt: []int32{int32(s.Vocab)}, MaxTokens: 1, Sampling: Sampling{TopP: 1}}, "vocabulary"},
	} {
		_, err := c.Generate(t.Context(), tc.r, func(Token) bool { return true })
		var bad *BadRequestError
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a bad request naming %q", tc.name, err, tc.want)
		}
	}
	for _, srv := range ws[0] {
		if srv.srv.Sessions() != 0 {
			t.Fatal("a bad request opened a session")
		}
	}
	_ = ws[1][0].host.Close()
	_, err := c.Generate(t.Context(), Request{Prompt: prompt("a"), MaxTokens: 2, Sampling: Sampling{TopP: 1}}, func(Token) bool { return true })
	var none *NoReplicaError
	if !errors.As(err, &none) || none.Stage != 1 {
		t.Fatalf("with stage 1 dead: %v", err)
	}
}

// A worker refuses a session for another model or stage, and one over its limit, with the
// reason; the client then tries another replica.
func TestWorkerRefusesWrongStageAndBusy(t *testing.T) {
	s := tiny(2)
	ws := swarm(t, s, 1, ServerConfig{MaxSessions: 1})
	c := client(t, s, ws)
	wrong := ws[1][0].rep
	wrong.Stage = 2 // a roster that names the stage-1 worker for stage 2
	_, err := c.dial(t.Context(), wrong, []step{{IDs: []int32{1}, X: make([]float32, s.BoundaryWidth())}})
	var refused *RemoteError
	if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "serves stage 1") {
		t.Fatalf("wrong stage: %v", err)
	}
	// One session open on stage 0's only worker: a second is refused as busy.
	first, err := c.dial(t.Context(), ws[0][0].rep, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.close()
	if _, _, err := first.do(t.Context(), step{IDs: []int32{1}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Generate(t.Context(), Request{Prompt: prompt("a"), MaxTokens: 2, Sampling: Sampling{TopP: 1}}, func(Token) bool { return true })
	var none *NoReplicaError
	if !errors.As(err, &none) || none.Stage != 0 || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("busy stage 0: %v", err)
	}
}

// Concurrent sessions on the same workers each get their own cache: their tokens are what each
// gets alone.
func TestConcurrentSessionsAreIndependent(t *testing.T) {
	s := tiny(2)
	ws := swarm(t, s, 1, ServerConfig{})
	c := client(t, s, ws)
	l := local(t, s)
	texts := []string{"one ", "two two ", "three ", "f", "five five five ", "six", "seven ", "eight"}
	want := make([][]int32, len(texts))
	for i, txt := range texts {
		want[i] = collect(t, l.Generate, Request{Prompt: prompt(txt), MaxTokens: 8, Sampling: Sampling{Temperature: 1, TopP: 1, Seed: uint64(i)}}).Tokens
	}
	errs := make(chan error, len(texts))
	for i, txt := range texts {
		go func() {
			res, err := c.Generate(t.Context(), Request{Prompt: prompt(txt), MaxTokens: 8, Sampling: Sampling{Temperature: 1, TopP: 1, Seed: uint64(i)}}, func(Token) bool { return true })
			if err == nil && !slices.Equal(res.Tokens, want[i]) {
				err = errors.New("session " + txt + " got other tokens than alone")
			}
			errs <- err
		}()
	}
	for range texts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
