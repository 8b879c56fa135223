package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/spec"
)

// Request is one completion: a prompt of token ids, how many tokens to generate at most, and
// how to sample them.
type Request struct {
	Prompt    []int32
	MaxTokens int
	Sampling
}

// Token is a generated token, with the replicas serving the session when it was generated.
type Token struct {
	ID      int32
	Servers []Replica
}

// Result is what a completion produced.
type Result struct {
	// Tokens are the generated tokens, in order.
	Tokens []int32
	// Servers are the replicas that served the request, one per stage (the last one of a
	// stage the session moved away from a dead replica).
	Servers []Replica
	// Moved counts the times the session moved a stage to another replica.
	Moved int
	// FirstToken is the time from the start to the first token.
	FirstToken time.Duration
}

// BadRequestError is a request no replica can serve: what to change.
type BadRequestError struct{ Reason string }

func (e *BadRequestError) Error() string { return e.Reason }

// NoReplicaError says that no replica of a stage could serve the session.
type NoReplicaError struct {
	Stage int
	Last  error // the last replica's failure, if one was tried
}

func (e *NoReplicaError) Error() string {
	if e.Last != nil {
		return fmt.Sprintf("no live replica of stage %d (the last one tried: %v)", e.Stage, e.Last)
	}
	return fmt.Sprintf("no live replica of stage %d", e.Stage)
}

func (e *NoReplicaError) Unwrap() error { return e.Last }

// Check reports a request the model cannot serve.
func Check(s spec.Spec, r Request) error {
	if len(r.Prompt) == 0 {
		return &BadRequestError{"the prompt is empty"}
	}
	if r.MaxTokens <= 0 {
		return &BadRequestError{fmt.Sprintf("max_tokens %d: must be positive", r.MaxTokens)}
	}
	// Compared without adding, so that no max_tokens overflows past the check.
	if len(r.Prompt) > s.SeqLen || r.MaxTokens-1 > s.SeqLen-len(r.Prompt) {
		return &BadRequestError{fmt.Sprintf("a prompt of %d tokens and max_tokens %d do not fit the model's context of %d: at most %d tokens after this prompt",
			len(r.Prompt), r.MaxTokens, s.SeqLen, max(0, s.SeqLen-len(r.Prompt)+1))}
	}
	for _, id := range r.Prompt {
		if id < 0 || int(id) >= s.Vocab {
			return &BadRequestError{fmt.Sprintf("token id %d outside the vocabulary [0, %d)", id, s.Vocab)}
		}
	}
	if err := r.Sampling.Validate(); err != nil {
		return &BadRequestError{err.Error()}
	}
	return nil
}

// conn is a session's link to one stage: a remote replica's stream, or a stage in process.
type conn interface {
	do(ctx context.Context, st step) (rows []float32, tok int32, err error)
	close()
}

// opener opens a session's link to stage s, not on a replica in tried, and replays the steps
// the stage has run for the session (history) into it.
type opener func(ctx context.Context, s int, tried map[string]bool, history []step) (conn, Replica, error)

// generate runs one completion over links that open. emit receives each token; it returns
// false to stop.
func generate(ctx context.Context, sp spec.Spec, open opener, r Request, emit func(Token) bool) (Result, error) {
	if err := Check(sp, r); err != nil {
		return Result{}, err
	}
	stages := len(sp.Stages)
	t0 := time.Now()
	res := Result{Servers: make([]Replica, stages)}
	conns := make([]conn, stages)
	tried := make([]map[string]bool, stages)
	history := make([][]step, stages)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	var failed error // the last replica's failure mid-session
	call := func(s int, st step) ([]float32, int32, error) {
		for {
			if conns[s] == nil {
				if tried[s] == nil {
					tried[s] = map[string]bool{}
				}
				c, rep, err := open(ctx, s, tried[s], history[s])
				if nr := (*NoReplicaError)(nil); errors.As(err, &nr) && nr.Last == nil {
					nr.Last = failed
				}
				if err != nil {
					return nil, 0, err
				}
				conns[s], res.Servers[s] = c, rep
			}
			rows, tok, err := conns[s].do(ctx, st)
			if err == nil {
				history[s] = append(history[s], st)
				return rows, tok, nil
			}
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			failed = err
			conns[s].close()
			conns[s] = nil
			tried[s][res.Servers[s].key()] = true
			res.Moved++
		}
	}
	next := r.Prompt
	for len(res.Tokens) < r.MaxTokens {
		var x []float32
		var tok int32
		for s := range stages {
			st := step{IDs: next, X: x}
			if s == stages-1 {
				st.Sample = r.Sampling
			}
			var err error
			if x, tok, err = call(s, st); err != nil {
				return res, err
			}
		}
		if len(res.Tokens) == 0 {
			res.FirstToken = time.Since(t0)
		}
		res.Tokens = append(res.Tokens, tok)
		if !emit(Token{ID: tok, Servers: slices.Clone(res.Servers)}) {
			break
		}
		next = []int32{tok}
	}
	return res, nil
}

// Local is a model whose stages all run in this process, with the same Decode and sampling
// as the swarm's workers: the reference a swarm's completions are held to, and the in-process
// generation benchmarks compare with.
type Local struct {
	Stages []*engine.Stage
}

// Generate runs one completion through the stages.
func (l Local) Generate(ctx context.Context, r Request, emit func(Token) bool) (Result, error) {
	if len(l.Stages) == 0 {
		return Result{}, errors.New("infer: a local model needs its stages")
	}
	open := func(_ context.Context, s int, tried map[string]bool, history []step) (conn, Replica, error) {
		if len(tried) > 0 {
			return nil, Replica{}, &NoReplicaError{Stage: s}
		}
		c := &localConn{stage: l.Stages[s], cache: l.Stages[s].NewCache()}
		for _, st := range history {
			if _, _, err := c.do(ctx, st); err != nil {
				return nil, Replica{}, err
			}
		}
		return c, Replica{Stage: s}, nil
	}
	return generate(ctx, l.Stages[0].Spec(), open, r, emit)
}

type localConn struct {
	stage *engine.Stage
	cache *engine.Cache
}

func (c *localConn) do(_ context.Context, st step) ([]float32, int32, error) {
	out, err := c.stage.Decode([]engine.DecodeInput{{Cache: c.cache, IDs: st.IDs, X: st.X}})
	if err != nil {
		return nil, 0, err
	}
	if c.stage.Info().Last {
		return nil, Sample(out[0], st.Sample, c.cache.Len()), nil
	}
	return out[0], 0, nil
}

func (c *localConn) close() {}
