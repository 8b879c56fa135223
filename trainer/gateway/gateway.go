package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/infer"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/spec"
)

// ModelInfo is a model as the gateway lists and serves it.
type ModelInfo struct {
	ID   uint64
	Name string
	Spec spec.Spec
	// Status is the model's status on chain (training, completed, …); Servable says whether
	// it may be used (training or completed).
	Status   string
	Servable bool
	// Price is per 1,000 tokens (zero: not on sale; free without billing).
	Price sdk.Coin
}

// Catalog is where the gateway learns the models and who serves their stages: the chain
// (ChainCatalog) or a fixed list (StaticCatalog).
type Catalog interface {
	Models(ctx context.Context) ([]ModelInfo, error)
	Replicas(ctx context.Context, model uint64, stages int) ([]infer.Replica, error)
}

// Config is a gateway.
type Config struct {
	// Host dials the stages' workers (any libp2p host: a gateway holds no seat and no weights).
	Host    host.Host
	Catalog Catalog
	// Billing charges each completion to a customer's deposit; nil serves for free (a
	// model's own operators, tests).
	Billing *Billing
	// StepTimeout bounds one step on one replica (infer.ClientConfig.StepTimeout).
	StepTimeout time.Duration
	// Link shapes the requests to the workers as an emulated WAN path (benchmarks, tests).
	Link link.Config
	// MaxTokens is max_tokens when a request gives none (0: 16, OpenAI's default).
	MaxTokens int
	Log       *slog.Logger
	Metrics   prometheus.Registerer
}

// Gateway serves the OpenAI-style completions API over a protolearn swarm.
type Gateway struct {
	cfg     Config
	mu      sync.Mutex
	clients map[uint64]*infer.Client
	srv     *http.Server
	ln      net.Listener
	stop    context.CancelFunc
	done    chan struct{}
	m       metrics
}

type metrics struct {
	requests  *prometheus.CounterVec
	tokens    prometheus.Counter
	ttft      prometheus.Histogram
	moved     prometheus.Counter
	perSecond prometheus.Histogram
}

// New checks cfg.
func New(cfg Config) (*Gateway, error) {
	if cfg.Host == nil || cfg.Catalog == nil {
		return nil, errors.New("gateway: a host and a catalog are required")
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 16
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Billing != nil {
		if err := cfg.Billing.init(); err != nil {
			return nil, err
		}
	}
	g := &Gateway{cfg: cfg, clients: map[uint64]*infer.Client{}, done: make(chan struct{})}
	g.m = metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protolearn_gateway_requests_total", Help: "Completion requests by HTTP status."}, []string{"code"}),
		tokens:   prometheus.NewCounter(prometheus.CounterOpts{Name: "protolearn_gateway_tokens_total", Help: "Tokens generated and delivered."}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "protolearn_gateway_first_token_seconds", Help: "Time from a request to its first token.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		moved: prometheus.NewCounter(prometheus.CounterOpts{Name: "protolearn_gateway_sessions_moved_total", Help: "Sessions moved to another replica of a stage after one failed."}),
		perSecond: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "protolearn_gateway_tokens_per_second", Help: "A completion's tokens per second after the first.", Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	if err := promserve.Register(cfg.Metrics, "gateway", g.m.requests, g.m.tokens, g.m.ttft, g.m.moved, g.m.perSecond); err != nil {
		return nil, err
	}
	return g, nil
}

// Handler is the gateway's HTTP API.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", g.models)
	mux.HandleFunc("POST /v1/completions", g.completions)
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{
			http.StatusNotFound, "invalid_request_error", "no_chat_format",
			"protolearn's models are byte-level language models with no chat format: use POST /v1/completions with a prompt",
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{
			http.StatusNotFound, "invalid_request_error", "unknown_url",
			fmt.Sprintf("no %s %s: this gateway serves GET /v1/models and POST /v1/completions", r.Method, r.URL.Path),
		})
	})
	return mux
}

// Serve listens on addr (host:port; port 0 picks one) until Close; with billing, it also
// settles receipts in the background.
func (g *Gateway) Serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", addr, err)
	}
	g.ln = ln
	// ReadTimeout bounds reading a request, body included; answers stream for as long as they take.
	g.srv = &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, stop := context.WithCancel(context.Background())
	g.stop = stop
	go func() {
		defer close(g.done)
		if g.cfg.Billing != nil {
			g.cfg.Billing.run(ctx)
		} else {
			<-ctx.Done()
		}
	}()
	go func() { _ = g.srv.Serve(ln) }()
	return nil
}

// URL is the address the gateway listens on, http://host:port.
func (g *Gateway) URL() string { return "http://" + g.ln.Addr().String() }

// Close stops taking requests, lets the running ones end (up to 30 s), and settles what is
// left.
func (g *Gateway) Close() {
	if g.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
	g.stop()
	<-g.done
}

type modelJSON struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Created       int64           `json:"created"`
	OwnedBy       string          `json:"owned_by"`
	Name          string          `json:"name"`
	Status        string          `json:"status"`
	ContextLength int             `json:"context_length"`
	Stages        int             `json:"stages"`
	Price         json.RawMessage `json:"price_per_1k_tokens"`
}

func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	ms, err := g.cfg.Catalog.Models(r.Context())
	if err != nil {
		writeError(w, &apiError{http.StatusServiceUnavailable, "server_error", "chain_unavailable", err.Error()})
		return
	}
	out := struct {
		Object string      `json:"object"`
		Data   []modelJSON `json:"data"`
	}{Object: "list", Data: []modelJSON{}}
	for _, m := range ms {
		if !m.Servable {
			continue
		}
		price, _ := json.Marshal(map[string]string{"denom": m.Price.Denom, "amount": m.Price.Amount.String()})
		out.Data = append(out.Data, modelJSON{
			ID: strconv.FormatUint(m.ID, 10), Object: "model", OwnedBy: "protolearn", Name: m.Name, Status: m.Status,
			ContextLength: m.Spec.SeqLen, Stages: len(m.Spec.Stages), Price: price,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// find is the model a request names, by id or by name.
func (g *Gateway) find(ctx context.Context, name string) (ModelInfo, error) {
	ms, err := g.cfg.Catalog.Models(ctx)
	if err != nil {
		return ModelInfo{}, &apiError{http.StatusServiceUnavailable, "server_error", "chain_unavailable", err.Error()}
	}
	for _, m := range ms {
		if strconv.FormatUint(m.ID, 10) == name || (m.Name != "" && m.Name == name) {
			if !m.Servable {
				return ModelInfo{}, &apiError{
					http.StatusConflict, "invalid_request_error", "model_not_servable",
					fmt.Sprintf("model %s is %s: only a model that is training or completed serves", name, m.Status),
				}
			}
			if m.Spec.Vocab != 256 {
				return ModelInfo{}, &apiError{
					http.StatusBadRequest, "invalid_request_error", "model_not_byte_level",
					fmt.Sprintf("model %s has a vocabulary of %d; this gateway tokenizes text as bytes (256)", name, m.Spec.Vocab),
				}
			}
			return m, nil
		}
	}
	return ModelInfo{}, &apiError{http.StatusNotFound, "invalid_request_error", "model_not_found", fmt.Sprintf("no model %q: GET /v1/models lists them", name)}
}

// client is the model's inference client, made once.
func (g *Gateway) client(m ModelInfo) (*infer.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.clients[m.ID]; ok {
		return c, nil
	}
	c, err := infer.NewClient(infer.ClientConfig{
		Host: g.cfg.Host, Model: m.ID, Spec: m.Spec, StepTimeout: g.cfg.StepTimeout, Link: g.cfg.Link, Log: g.cfg.Log.With("model", m.ID),
		Replicas: func(ctx context.Context) ([]infer.Replica, error) {
			return g.cfg.Catalog.Replicas(ctx, m.ID, len(m.Spec.Stages))
		},
	})
	if err != nil {
		return nil, err
	}
	g.clients[m.ID] = c
	return c, nil
}

type apiError struct {
	status     int
	kind, code string
	message    string
}

func (e *apiError) Error() string { return e.message }

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"message": e.message, "type": e.kind, "code": e.code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body of at most 1 MiB strictly.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body is not a valid completion request: " + err.Error()}
	}
	return nil
}
