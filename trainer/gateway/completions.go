package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/protolearn/protolearn/trainer/infer"
)

// completionRequest is OpenAI's completion request, the fields a byte-level model takes.
type completionRequest struct {
	Model       string          `json:"model"`
	Prompt      json.RawMessage `json:"prompt"`
	MaxTokens   *int            `json:"max_tokens"`
	Temperature *float64        `json:"temperature"`
	TopP        *float64        `json:"top_p"`
	Stop        json.RawMessage `json:"stop"`
	Stream      bool            `json:"stream"`
	Seed        *int64          `json:"seed"`
	N           *int            `json:"n"`
	User        string          `json:"user"`
}

// MaxStops bounds the stop sequences of a request (OpenAI's limit).
const MaxStops = 4

// parse checks the request and returns the prompt, the stop sequences and the request to run.
func (g *Gateway) parse(req completionRequest, m ModelInfo) (string, []string, infer.Request, error) {
	bad := func(code, format string, args ...any) error {
		return &apiError{http.StatusBadRequest, "invalid_request_error", code, fmt.Sprintf(format, args...)}
	}
	var prompt string
	if err := json.Unmarshal(req.Prompt, &prompt); err != nil {
		var list []string
		if err := json.Unmarshal(req.Prompt, &list); err != nil || len(list) != 1 {
			return "", nil, infer.Request{}, bad("invalid_prompt", "prompt must be a string (or a list of one string)")
		}
		prompt = list[0]
	}
	var stops []string
	if len(req.Stop) > 0 && string(req.Stop) != "null" {
		var one string
		if err := json.Unmarshal(req.Stop, &one); err == nil {
			stops = []string{one}
		} else if err := json.Unmarshal(req.Stop, &stops); err != nil {
			return "", nil, infer.Request{}, bad("invalid_stop", "stop must be a string or a list of at most %d strings", MaxStops)
		}
	}
	if len(stops) > MaxStops {
		return "", nil, infer.Request{}, bad("invalid_stop", "%d stop sequences; at most %d", len(stops), MaxStops)
	}
	for _, s := range stops {
		if s == "" {
			return "", nil, infer.Request{}, bad("invalid_stop", "a stop sequence is empty")
		}
	}
	if req.N != nil && *req.N != 1 {
		return "", nil, infer.Request{}, bad("invalid_n", "n %d: this gateway returns one completion per request", *req.N)
	}
	r := infer.Request{Prompt: tokens(prompt), MaxTokens: g.cfg.MaxTokens, Sampling: infer.Sampling{Temperature: 1, TopP: 1}}
	if req.MaxTokens != nil {
		r.MaxTokens = *req.MaxTokens
	}
	if req.Temperature != nil {
		r.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.TopP = *req.TopP
	}
	if req.Seed != nil {
		if *req.Seed < 0 {
			return "", nil, infer.Request{}, bad("invalid_seed", "seed %d: must not be negative", *req.Seed)
		}
		r.Seed = uint64(*req.Seed)
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		r.Seed = binary.LittleEndian.Uint64(b[:]) >> 1 // fits the int64 the answer reports
	}
	if err := infer.Check(m.Spec, r); err != nil {
		return "", nil, infer.Request{}, bad("invalid_request", "%v", err)
	}
	return prompt, stops, r, nil
}

type choice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// accounting is protolearn's addition to an answer: who served it and what it cost.
type accounting struct {
	Seed      int64    `json:"seed"`
	Servers   []string `json:"servers"`
	Moved     int      `json:"moved"`
	DepositID uint64   `json:"deposit_id,omitempty"`
	Charged   string   `json:"charged,omitempty"`
}

type completion struct {
	ID         string      `json:"id"`
	Object     string      `json:"object"`
	Created    int64       `json:"created"`
	Model      string      `json:"model"`
	Choices    []choice    `json:"choices"`
	Usage      *usage      `json:"usage,omitempty"`
	Protolearn *accounting `json:"protolearn,omitempty"`
}

func (g *Gateway) completions(w http.ResponseWriter, r *http.Request) {
	code := g.complete(w, r)
	g.m.requests.WithLabelValues(fmt.Sprint(code)).Inc()
}

// complete serves one request and returns the HTTP status it answered with.
func (g *Gateway) complete(w http.ResponseWriter, r *http.Request) int {
	fail := func(err error) int {
		var e *apiError
		if !errors.As(err, &e) {
			e = &apiError{http.StatusInternalServerError, "server_error", "internal", err.Error()}
		}
		writeError(w, e)
		return e.status
	}
	var req completionRequest
	if err := readJSON(r, &req); err != nil {
		return fail(err)
	}
	m, err := g.find(r.Context(), req.Model)
	if err != nil {
		return fail(err)
	}
	_, stops, ir, err := g.parse(req, m)
	if err != nil {
		return fail(err)
	}
	var ch *charge
	if g.cfg.Billing != nil {
		if m.Price.IsNil() || !m.Price.IsPositive() {
			return fail(&apiError{http.StatusForbidden, "invalid_request_error", "model_not_on_sale", fmt.Sprintf("model %s has no price: its designer has not put it on sale", req.Model)})
		}
		if ch, err = g.cfg.Billing.open(r.Context(), r, m.ID, len(ir.Prompt)+ir.MaxTokens); err != nil {
			return fail(err)
		}
		defer ch.close()
	}
	cl, err := g.client(m)
	if err != nil {
		return fail(err)
	}
	id := "cmpl-local"
	if ch != nil {
		id = ch.request
	}
	out := completion{ID: id, Object: "text_completion", Created: time.Now().Unix(), Model: req.Model}
	ts := &textStream{stops: stops}
	var text []byte
	delivered := 0
	var sse *sseWriter
	if req.Stream {
		if sse, err = newSSE(w); err != nil {
			return fail(err)
		}
	}
	// pay signs for the tokens delivered so far (the prompt, and the generated ones whose text
	// was written).
	pay := func(servers []infer.Replica) error {
		if ch == nil {
			return nil
		}
		ops := make([]string, len(servers))
		for i, s := range servers {
			ops[i] = s.Operator
		}
		return ch.sign(uint64(len(ir.Prompt)+delivered), ops)
	}
	generated := 0
	res, err := cl.Generate(r.Context(), ir, func(tok infer.Token) bool {
		generated++
		chunk := ts.add(tok.ID)
		if sse == nil {
			text = append(text, chunk...)
			return !ts.done
		}
		if chunk == "" && !ts.done {
			return true // held back: not delivered yet
		}
		out.Choices = []choice{{Text: chunk}}
		if err := sse.send(out); err != nil {
			return false // the customer left: what it got is what it pays
		}
		delivered = generated
		if err := pay(tok.Servers); err != nil {
			g.cfg.Log.Error("signing a receipt", "err", err)
			return false
		}
		return !ts.done
	})
	g.m.tokens.Add(float64(len(res.Tokens)))
	g.m.moved.Add(float64(res.Moved))
	if len(res.Tokens) > 0 {
		g.m.ttft.Observe(res.FirstToken.Seconds())
	}
	finish := "length"
	if ts.done {
		finish = "stop"
	}
	acct := &accounting{Seed: int64(ir.Seed), Moved: res.Moved}
	for _, s := range res.Servers {
		acct.Servers = append(acct.Servers, s.Peer.String())
	}
	if err != nil {
		e := generationError(err)
		if sse == nil {
			return fail(e) // nothing was delivered: nothing is charged
		}
		g.cfg.Log.Warn("completion failed mid-stream", "request", id, "delivered", delivered, "err", err)
		_ = sse.send(map[string]any{"error": map[string]any{"message": e.message, "type": e.kind, "code": e.code}})
		sse.done()
		return e.status
	}
	out.Usage = &usage{PromptTokens: len(ir.Prompt), CompletionTokens: len(res.Tokens), TotalTokens: len(ir.Prompt) + len(res.Tokens)}
	if sse == nil {
		text = append(text, ts.flush()...)
		delivered = len(res.Tokens)
		if err := pay(res.Servers); err != nil {
			return fail(err)
		}
		if ch != nil {
			acct.DepositID, acct.Charged = ch.deposit.Id, ch.cost().String()
		}
		out.Choices = []choice{{Text: string(text), FinishReason: &finish}}
		out.Protolearn = acct
		writeJSON(w, http.StatusOK, out)
		return http.StatusOK
	}
	out.Choices = []choice{{Text: ts.flush(), FinishReason: &finish}}
	if ch != nil {
		// The last chunk's tokens are charged once it is written; its accounting says so.
		delivered = len(res.Tokens)
		saved := ch.latest()
		if err := pay(res.Servers); err != nil {
			g.cfg.Log.Error("signing a receipt", "err", err)
		}
		acct.DepositID, acct.Charged = ch.deposit.Id, ch.cost().String()
		if err := sse.send(completion{ID: id, Object: out.Object, Created: out.Created, Model: out.Model, Choices: out.Choices, Usage: out.Usage, Protolearn: acct}); err != nil {
			ch.restore(saved) // not delivered
		}
		sse.done()
		return http.StatusOK
	}
	out.Protolearn = acct
	_ = sse.send(out)
	sse.done()
	return http.StatusOK
}

// generationError is the API's answer to a failed completion.
func generationError(err error) *apiError {
	var bad *infer.BadRequestError
	var none *infer.NoReplicaError
	switch {
	case errors.As(err, &bad):
		return &apiError{http.StatusBadRequest, "invalid_request_error", "invalid_request", bad.Error()}
	case errors.As(err, &none):
		return &apiError{http.StatusServiceUnavailable, "server_error", "no_live_replica", none.Error()}
	}
	return &apiError{http.StatusServiceUnavailable, "server_error", "swarm_error", err.Error()}
}

// sseWriter writes server-sent events, flushed one by one.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// chunkTimeout bounds the write of one event: a client that stops reading ends its stream (and
// pays for what it read), rather than holding the workers' sessions.
const chunkTimeout = 30 * time.Second

func newSSE(w http.ResponseWriter) (*sseWriter, error) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}, nil
}

func (s *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(chunkTimeout))
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) done() {
	_ = s.rc.SetWriteDeadline(time.Now().Add(chunkTimeout))
	_, _ = fmt.Fprint(s.w, "data: [DONE]\n\n")
	_ = s.rc.Flush()
}
