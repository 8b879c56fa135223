package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/internal/testspec"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
)

const modelID = 3

func tinyModel(t *testing.T) ModelInfo {
	s := testspec.Tiny(2)
	s.SeqLen = 32
	return ModelInfo{ID: modelID, Name: "tiny", Spec: s, Status: "training", Servable: true, Price: sdk.NewInt64Coin("ulearn", 1000)}
}

// catalog is a model served by one in-process worker per stage, each seated for an operator.
type catalog struct {
	model ModelInfo
	reps  []infer.Replica
	mu    sync.Mutex
}

func (c *catalog) Models(context.Context) ([]ModelInfo, error) { return []ModelInfo{c.model}, nil }

func (c *catalog) Replicas(context.Context, uint64, int) ([]infer.Replica, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reps, nil
}

func serveModel(t *testing.T, m ModelInfo) (*catalog, []*infer.Server) {
	t.Helper()
	c := &catalog{model: m}
	var srvs []*infer.Server
	for i := range m.Spec.Stages {
		h := testhost.New(t)
		st, err := engine.New(testbackend.Go(), m.Spec, i, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := infer.Serve(infer.ServerConfig{Host: h, Model: m.ID, Stage: st})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
		c.reps = append(c.reps, infer.Replica{Peer: h.ID(), Stage: i, Addrs: h.Addrs(), Operator: fmt.Sprintf("operator-%d", i)})
	}
	return c, srvs
}

func localText(t *testing.T, m ModelInfo, prompt string, n int, smp infer.Sampling) string {
	t.Helper()
	var l infer.Local
	for i := range m.Spec.Stages {
		st, err := engine.New(testbackend.Go(), m.Spec, i, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		l.Stages = append(l.Stages, st)
	}
	res, err := l.Generate(t.Context(), infer.Request{Prompt: tokens(prompt), MaxTokens: n, Sampling: smp}, func(infer.Token) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(res.Tokens))
	for i, tok := range res.Tokens {
		b[i] = byte(tok)
	}
	return string(b)
}

func start(t *testing.T, c Catalog, b *Billing) *Gateway {
	t.Helper()
	g, err := New(Config{Host: testhost.New(t), Catalog: c, Billing: b, StepTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Serve("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func post(t *testing.T, g *Gateway, key string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL()+"/v1/completions", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

// sseText joins the text of a stream's events, and returns the last event before [DONE].
func sseText(t *testing.T, body []byte) (string, completion) {
	t.Helper()
	var text strings.Builder
	var last completion
	sc := bufio.NewScanner(bytes.NewReader(body))
	done := false
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var c completion
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		text.WriteString(c.Choices[0].Text)
		last = c
	}
	if !done {
		t.Fatalf("the stream did not end with [DONE]: %s", body)
	}
	return text.String(), last
}

// The gateway speaks OpenAI's completions API: the text is the model's (the in-process model's
// bytes for the same seed), whole or streamed as server-sent events, cut at a stop sequence.
func TestCompletionsFree(t *testing.T) {
	m := tinyModel(t)
	c, _ := serveModel(t, m)
	g := start(t, c, nil)

	res, err := http.Get(g.URL() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []modelJSON `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Data) != 1 || list.Data[0].ID != "3" || list.Data[0].ContextLength != 32 || !strings.Contains(string(list.Data[0].Price), `"amount":"1000"`) {
		t.Fatalf("models: %+v", list.Data)
	}

	want := strings.ToValidUTF8(localText(t, m, "Once upon", 12, infer.Sampling{Temperature: 0.8, TopP: 0.9, Seed: 5}), "\uFFFD")
	resp, body := post(t, g, "", map[string]any{"model": "tiny", "prompt": "Once upon", "max_tokens": 12, "temperature": 0.8, "top_p": 0.9, "seed": 5})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out completion
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out.Choices[0].Text != want || *out.Choices[0].FinishReason != "length" || out.Usage.CompletionTokens != 12 || out.Usage.PromptTokens != 9 {
		t.Fatalf("got %+v (text %q), want text %q", out, out.Choices[0].Text, want)
	}
	if len(out.Protolearn.Servers) != 3 {
		t.Fatalf("servers %v", out.Protolearn.Servers)
	}

	resp, body = post(t, g, "", map[string]any{"model": "3", "prompt": "Once upon", "max_tokens": 12, "temperature": 0.8, "top_p": 0.9, "seed": 5, "stream": true})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	text, last := sseText(t, body)
	if text != want || *last.Choices[0].FinishReason != "length" {
		t.Fatalf("streamed %q, want %q", text, want)
	}

	// A stop sequence taken from the text itself ends it just before.
	raw := localText(t, m, "ab", 20, infer.Sampling{TopP: 1})
	i := 3
	for i < len(raw) && raw[i] >= 0x80 {
		i++
	}
	if i == len(raw) {
		t.Skip("the untrained model generated no ASCII byte to stop at")
	}
	stop := raw[i : i+1]
	cut := strings.ToValidUTF8(raw[:strings.Index(raw, stop)], "\uFFFD")
	for _, stream := range []bool{false, true} {
		resp, body = post(t, g, "", map[string]any{"model": "tiny", "prompt": "ab", "max_tokens": 20, "temperature": 0, "stop": []string{stop}, "stream": stream})
		var got string
		var fin string
		if stream {
			var last completion
			got, last = sseText(t, body)
			fin = *last.Choices[0].FinishReason
		} else {
			_ = json.Unmarshal(body, &out)
			got, fin = out.Choices[0].Text, *out.Choices[0].FinishReason
		}
		if resp.StatusCode != http.StatusOK || got != cut || fin != "stop" {
			t.Fatalf("stream %v, stop %q: %d %q (%s), want %q", stream, stop, resp.StatusCode, got, fin, cut)
		}
	}
}

// ledger is x/inference's settlement as a test double: it checks the signatures and the
// cumulative counts as the chain does.
type ledger struct {
	mu       sync.Mutex
	deposits map[uint64]*inferencetypes.Deposit
	settled  map[string]uint64
	height   int64
	paid     sdkmath.Int
	batches  int
	servers  [][]string
}

func (l *ledger) Deposit(_ context.Context, id uint64) (inferencetypes.Deposit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.deposits[id]
	if !ok {
		return inferencetypes.Deposit{}, errors.New("not found")
	}
	return *d, nil
}

func (l *ledger) Height(context.Context) (int64, error) { return l.height, nil }

func (l *ledger) Settle(_ context.Context, rs []inferencetypes.SignedReceipt) (*inferencetypes.MsgSettleResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches++
	res := &inferencetypes.MsgSettleResponse{Paid: sdk.NewInt64Coin("ulearn", 0)}
	for _, r := range rs {
		d := l.deposits[r.Receipt.DepositId]
		if !inferencetypes.VerifyReceipt(d.Spender, r.Receipt, r.Signature) {
			return nil, errors.New("bad signature")
		}
		key := fmt.Sprint(r.Receipt.DepositId, r.Receipt.RequestId)
		prev := l.settled[key]
		if r.Receipt.Tokens <= prev {
			res.Skipped++
			continue
		}
		amt := inferencetypes.Charge(d.PricePer_1KTokens.Amount, r.Receipt.Tokens).Sub(inferencetypes.Charge(d.PricePer_1KTokens.Amount, prev))
		d.Balance.Amount = d.Balance.Amount.Sub(amt)
		d.Spent = sdk.NewCoin(d.Balance.Denom, amount(d.Spent).Add(amt))
		l.settled[key] = r.Receipt.Tokens
		l.paid = l.paid.Add(amt)
		res.Paid = res.Paid.AddAmount(amt)
		l.servers = append(l.servers, r.Receipt.Servers)
	}
	return res, nil
}

// With billing, each completion is charged to the API key's deposit for the tokens delivered,
// settled in batches; requests that cannot be paid, or served, are refused and cost nothing.
func TestCompletionsCharged(t *testing.T) {
	m := tinyModel(t)
	c, _ := serveModel(t, m)
	spender := secp256k1.GenPrivKey()
	other := secp256k1.GenPrivKey()
	price := sdk.NewInt64Coin("ulearn", 1000) // 1 ulearn a token
	dep := func(id, model uint64, balance int64, key *secp256k1.PrivKey, expires int64) *inferencetypes.Deposit {
		return &inferencetypes.Deposit{Id: id, ModelId: model, Balance: sdk.NewInt64Coin("ulearn", balance), PricePer_1KTokens: price, Spender: key.PubKey().Bytes(), ExpiresHeight: expires}
	}
	l := &ledger{
		deposits: map[uint64]*inferencetypes.Deposit{
			1: dep(1, modelID, 60, spender, 1000),
			2: dep(2, modelID, 10, spender, 1000), // too little for most requests
			3: dep(3, modelID, 100, spender, 12),  // expires within the margin
			4: dep(4, modelID, 100, other, 1000),  // another gateway's
			5: dep(5, modelID+1, 100, spender, 1000),
		},
		settled: map[string]uint64{}, height: 10, paid: sdkmath.ZeroInt(),
	}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5}, SettleEvery: time.Hour}
	g := start(t, c, b)

	for _, tc := range []struct {
		key    string
		body   map[string]any
		status int
		code   string
	}{
		{"", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4}, 401, "missing_api_key"},
		{"nope", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4}, 401, "invalid_api_key"},
		{"k2", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 20}, 402, "insufficient_funds"},
		{"k3", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4}, 402, "deposit_expired"},
		{"k4", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4}, 403, "wrong_spender"},
		{"k5", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4}, 403, "wrong_deposit"},
		{"k1", map[string]any{"model": "nope", "prompt": "hi", "max_tokens": 4}, 404, "model_not_found"},
		{"k1", map[string]any{"model": "tiny", "prompt": strings.Repeat("x", 30), "max_tokens": 4}, 400, "invalid_request"},
		{"k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4, "temperature": 3}, 400, "invalid_request"},
		{"k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4, "top_p": 0}, 400, "invalid_request"},
		{"k1", map[string]any{"model": "tiny", "prompt": 5}, 400, "invalid_prompt"},
		{"k1", map[string]any{"model": "tiny", "prompt": "hi", "stop": []string{"a", "b", "c", "d", "e"}}, 400, "invalid_stop"},
	} {
		resp, body := post(t, g, tc.key, tc.body)
		var e struct {
			Error struct{ Message, Type, Code string }
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("%s %v: %d %s, want %d %s", tc.key, tc.body, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	if b.Queued() != 0 {
		t.Fatalf("refused requests queued %d receipts", b.Queued())
	}

	// Two paid requests, one streamed: 2+6 and 3+5 tokens at 1 ulearn each.
	resp, body := post(t, g, "k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 6, "seed": 1})
	var out completion
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != 200 || out.Protolearn.Charged != "8ulearn" || out.Protolearn.DepositID != 1 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = post(t, g, "k1", map[string]any{"model": "tiny", "prompt": "hey", "max_tokens": 5, "stream": true})
	_, last := sseText(t, body)
	if resp.StatusCode != 200 || last.Protolearn.Charged != "8ulearn" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	// What is queued is held against the deposit: 60 − 16 leaves 44, then 60 − 47 leaves 13,
	// too little for 2 + 12 tokens.
	resp, _ = post(t, g, "k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 29})
	if resp.StatusCode != 200 {
		t.Fatalf("a request within what is left: %d", resp.StatusCode)
	}
	resp, body = post(t, g, "k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 12})
	if resp.StatusCode != 402 {
		t.Fatalf("a request beyond what is left: %d %s", resp.StatusCode, body)
	}
	if b.Queued() != 3 {
		t.Fatalf("%d receipts queued, want 3", b.Queued())
	}
	b.Flush(t.Context())
	if b.Queued() != 0 || l.batches != 1 || !l.paid.Equal(sdkmath.NewInt(8+8+31)) {
		t.Fatalf("settled %s in %d batches, %d left", l.paid, l.batches, b.Queued())
	}
	for _, s := range l.servers {
		if strings.Join(s, ",") != "operator-0,operator-1,operator-2" {
			t.Fatalf("a receipt names servers %v", s)
		}
	}
	// A stage with no live replica: 503, nothing charged.
	c.mu.Lock()
	c.reps = c.reps[:2]
	c.mu.Unlock()
	resp, body = post(t, g, "k1", map[string]any{"model": "tiny", "prompt": "hi", "max_tokens": 4})
	if resp.StatusCode != 503 || !strings.Contains(string(body), "no_live_replica") || b.Queued() != 0 {
		t.Fatalf("%d %s, %d queued", resp.StatusCode, body, b.Queued())
	}
}

// A streamed completion is paid for what reached the customer: one that leaves early pays for
// what it read.
func TestStreamPaysForWhatWasDelivered(t *testing.T) {
	m := tinyModel(t)
	c, _ := serveModel(t, m)
	spender := secp256k1.GenPrivKey()
	l := &ledger{deposits: map[uint64]*inferencetypes.Deposit{1: {Id: 1, ModelId: modelID, Balance: sdk.NewInt64Coin("ulearn", 1000), PricePer_1KTokens: sdk.NewInt64Coin("ulearn", 1000), Spender: spender.PubKey().Bytes(), ExpiresHeight: 1000}}, settled: map[string]uint64{}, height: 1, paid: sdkmath.ZeroInt()}
	b := &Billing{ChainID: "test", Ledger: l, Spender: spender, Keys: map[string]uint64{"": 1}, SettleEvery: time.Hour}
	g := start(t, c, b)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL()+"/v1/completions",
		strings.NewReader(`{"model":"tiny","prompt":"x","max_tokens":30,"stream":true,"temperature":0}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(res.Body)
	events := 0
	for events < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			events++
		}
	}
	cancel()
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for b.Queued() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.Flush(t.Context())
	if l.paid.IsZero() || l.paid.GTE(sdkmath.NewInt(31)) {
		t.Fatalf("a customer that left after 3 events paid %s (prompt 1 + 30 tokens would be 31)", l.paid)
	}
}
