package infer

import (
	"bufio"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/protolearn/protolearn/trainer/internal/testhost"
)

// Check must refuse a max_tokens so large that len(prompt)+max_tokens-1 overflows: it passes,
// and the session then runs into the stages' context check (refused there as a replica failure).
func TestCheckRefusesMaxTokensPastTheContextWithoutOverflow(t *testing.T) {
	s := tiny(0)
	err := Check(s, Request{Prompt: []int32{'a', 'b'}, MaxTokens: math.MaxInt, Sampling: Sampling{TopP: 1}})
	var bad *BadRequestError
	if !errors.As(err, &bad) {
		t.Fatalf("Check accepted max_tokens=MaxInt with a 2-token prompt (context %d): err=%v", s.SeqLen, err)
	}
}

// A malicious last-stage worker answers every step with a token outside the vocabulary. The
// client emits it to the customer unchecked, then feeds it to stage 0, whose honest replica
// refuses it: the session fails blaming stage 0, and the honest stage-0 replica is marked down.
func TestALastStageTokenOutsideTheVocabularyIsThatReplicasFailure(t *testing.T) {
	s := tiny(0)
	ws := swarm(t, s, 1, ServerConfig{})
	last := len(s.Stages) - 1
	evil := testhost.New(t)
	evil.SetStreamHandler(Protocol, func(str network.Stream) {
		defer str.Close()
		r := bufio.NewReader(str)
		if _, err := readFrame(r, 1<<20); err != nil {
			return
		}
		for {
			if _, err := readFrame(r, 1<<20); err != nil {
				return
			}
			if writeFrame(str, encodeToken(999)) != nil {
				return
			}
		}
	})
	ws[last][0].rep = Replica{Peer: evil.ID(), Stage: last, Addrs: evil.Addrs()}
	c := client(t, s, ws)
	var got []int32
	_, err := c.Generate(t.Context(), Request{Prompt: prompt("hi"), MaxTokens: 4, Sampling: Sampling{TopP: 1}}, func(tok Token) bool {
		got = append(got, tok.ID)
		return true
	})
	for _, id := range got {
		if id < 0 || int(id) >= s.Vocab {
			t.Errorf("emitted token %d outside the vocabulary [0, %d) from a bogus last-stage reply", id, s.Vocab)
		}
	}
	var nr *NoReplicaError
	if errors.As(err, &nr) && nr.Stage != last {
		t.Errorf("the session failed blaming stage %d (honest), not the last stage: %v", nr.Stage, err)
	}
	c.mu.Lock()
	down := time.Now().Before(c.stats(ws[0][0].rep.Peer).down)
	c.mu.Unlock()
	if down {
		t.Errorf("the honest stage-0 replica was marked down because of the last stage's bogus token")
	}
}

// Close says it ends the open sessions; a session blocked reading its next step stays open
// (until Idle, two minutes by default).
func TestCloseEndsOpenSessions(t *testing.T) {
	s := tiny(0)
	ws := swarm(t, s, 1, ServerConfig{})
	w := ws[0][0]
	h := testhost.New(t)
	h.Peerstore().AddAddrs(w.host.ID(), w.host.Addrs(), time.Hour)
	str, err := h.NewStream(context.Background(), w.host.ID(), Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer str.Reset()
	if err := writeFrame(str, hello{Model: model, Stage: 0}.encode()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); w.srv.Sessions() != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the session did not open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.srv.Close()
	time.Sleep(time.Second)
	if n := w.srv.Sessions(); n != 0 {
		t.Errorf("after Close, %d sessions are still open (a hello-only stream holds its slot and its full KV cache)", n)
	}
}

// One peer may hold at most half of a worker's sessions, and a worker that refuses for want of
// room is not passed over as dead.
func TestOnePeerHoldsAtMostHalfTheSessions(t *testing.T) {
	s := tiny(0)
	ws := swarm(t, s, 1, ServerConfig{MaxSessions: 4})
	c := client(t, s, ws)
	rep := ws[0][0].rep
	var open []conn
	defer func() {
		for _, cn := range open {
			cn.close()
		}
	}()
	for range 2 {
		cn, err := c.dial(t.Context(), rep, nil)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, cn)
		if _, _, err := cn.do(t.Context(), step{IDs: []int32{1}}); err != nil {
			t.Fatal(err)
		}
	}
	cn, err := c.dial(t.Context(), rep, nil)
	if err != nil {
		t.Fatal(err)
	}
	open = append(open, cn)
	_, _, err = cn.do(t.Context(), step{IDs: []int32{1}})
	var refused *RemoteError
	if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "most one peer may hold") {
		t.Fatalf("a third session of one peer: %v", err)
	}
	c.mu.Lock()
	down := time.Now().Before(c.stats(rep.Peer).down)
	c.mu.Unlock()
	if down {
		t.Fatal("a busy worker was marked down")
	}
}
