package infer

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/internal/testhost"
	"github.com/protolearn/protolearn/trainer/link"
	"github.com/protolearn/protolearn/trainer/spec"
)

// The generation benchmarks (make bench-infer): time to first token and tokens per second of
// in-process generation (with and without the KV cache, one session and a batch) and through
// a swarm of libp2p hosts whose every stream crosses an emulated 80 Mbit/s, 50 ms path each
// way, one session and concurrent ones. Every stage runs in this process on the Go backend,
// for the swarm as for the baseline, so the difference is the protocol and the network.

// benchSpecs are the benchmark's models: small is latency-bound on any link, wide spends
// about as long computing a token as a link takes to carry it.
func benchSpecs(b *testing.B) map[string]spec.Spec {
	small, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	wide := spec.Spec{Vocab: 256, DModel: 512, NLayers: 8, NHeads: 8, SeqLen: 128, CompressionRank: 16, Stages: []int{2, 2, 2, 2}, Seed: 1}
	return map[string]spec.Spec{"small": small, "wide": wide}
}

const (
	benchPrompt = 16
	benchTokens = 32
)

func benchRequest(seed uint64) Request {
	p := make([]int32, benchPrompt)
	for i := range p {
		p[i] = int32('a' + i%26)
	}
	return Request{Prompt: p, MaxTokens: benchTokens, Sampling: Sampling{Temperature: 1, TopP: 1, Seed: seed}}
}

func benchStages(b *testing.B, s spec.Spec) []*engine.Stage {
	var out []*engine.Stage
	for i := range s.Stages {
		st, err := engine.New(testbackend.Go(), s, i, engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

// report records a run of sessions: the mean time to first token, and tokens per second after
// the first token, per session and in all.
func report(b *testing.B, ttft time.Duration, tokens int, elapsed time.Duration, sessions int) {
	b.ReportMetric(float64(ttft.Microseconds())/1000, "ttft_ms")
	b.ReportMetric(float64(tokens)/elapsed.Seconds(), "tokens/s")
	b.ReportMetric(float64(tokens)/elapsed.Seconds()/float64(sessions), "tokens/s/session")
}

func BenchmarkGenerate(b *testing.B) {
	if os.Getenv("PROTOLEARN_BENCH") == "" {
		b.Skip("set PROTOLEARN_BENCH=1 (make bench-infer)")
	}
	path := link.Config{Bandwidth: 80e6, Latency: 50 * time.Millisecond}
	for name, s := range benchSpecs(b) {
		stages := benchStages(b, s)
		local := Local{Stages: stages}
		b.Run(name+"/in-process/kv-cache/1", func(b *testing.B) {
			var ttft, elapsed time.Duration
			tokens := 0
			for i := range b.N {
				t0 := time.Now()
				res, err := local.Generate(context.Background(), benchRequest(uint64(i)), func(Token) bool { return true })
				if err != nil {
					b.Fatal(err)
				}
				ttft += res.FirstToken
				elapsed += time.Since(t0) - res.FirstToken
				tokens += len(res.Tokens) - 1
			}
			report(b, ttft/time.Duration(b.N), tokens, elapsed, 1)
		})
		b.Run(name+"/in-process/no-cache/1", func(b *testing.B) {
			var ttft, elapsed time.Duration
			tokens := 0
			for i := range b.N {
				t0 := time.Now()
				first, n := generateWithoutCache(b, stages, benchRequest(uint64(i)))
				ttft += first
				elapsed += time.Since(t0) - first
				tokens += n - 1
			}
			report(b, ttft/time.Duration(b.N), tokens, elapsed, 1)
		})
		for _, batch := range []int{8, 16, 32, 64} {
			b.Run(fmt.Sprintf("%s/in-process/kv-cache/%d", name, batch), func(b *testing.B) {
				var ttft, elapsed time.Duration
				tokens := 0
				for range b.N {
					first, n, total := generateBatch(b, stages, batch)
					ttft += first
					elapsed += total - first
					tokens += n - batch
				}
				report(b, ttft/time.Duration(b.N), tokens, elapsed, batch)
			})
		}
		var reps []Replica
		for i := range s.Stages {
			h := testhost.New(b)
			srv, err := Serve(ServerConfig{Host: h, Model: 1, Stage: benchStages(b, s)[i], Link: path, MaxSessions: 256, MaxBatch: 64})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(srv.Close)
			reps = append(reps, Replica{Peer: h.ID(), Stage: i, Addrs: h.Addrs()})
		}
		client, err := NewClient(ClientConfig{
			Host: testhost.New(b), Model: 1, Spec: s, Link: path, StepTimeout: time.Minute,
			Replicas: func(context.Context) ([]Replica, error) { return reps, nil },
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, sessions := range []int{1, 8, 16, 32, 64} {
			b.Run(fmt.Sprintf("%s/swarm-80Mbit-50ms/kv-cache/%d", name, sessions), func(b *testing.B) {
				var ttft, elapsed time.Duration
				tokens := 0
				for i := range b.N {
					var mu sync.Mutex
					var wg sync.WaitGroup
					var first, last time.Duration
					t0 := time.Now()
					for k := range sessions {
						wg.Go(func() {
							res, err := client.Generate(context.Background(), benchRequest(uint64(i*sessions+k)), func(Token) bool { return true })
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							first += res.FirstToken
							last = max(last, time.Since(t0))
							tokens += len(res.Tokens) - 1
							mu.Unlock()
						})
					}
					wg.Wait()
					ttft += first / time.Duration(sessions)
					elapsed += last - first/time.Duration(sessions)
				}
				report(b, ttft/time.Duration(b.N), tokens, elapsed, sessions)
			})
		}
	}
}

// generateWithoutCache generates as a model without a KV cache must: every token runs the
// whole sequence so far through every stage. It returns the time to the first token and the
// tokens generated.
func generateWithoutCache(b *testing.B, stages []*engine.Stage, r Request) (time.Duration, int) {
	t0 := time.Now()
	var first time.Duration
	seq := append([]int32(nil), r.Prompt...)
	for n := range r.MaxTokens {
		var x []float32
		for _, st := range stages {
			out, err := st.Decode([]engine.DecodeInput{{Cache: st.NewCache(), IDs: seq, X: x}})
			if err != nil {
				b.Fatal(err)
			}
			x = out[0]
		}
		seq = append(seq, Sample(x, r.Sampling, len(seq)))
		if n == 0 {
			first = time.Since(t0)
		}
	}
	return first, r.MaxTokens
}

// generateBatch generates batch sessions together in process: one Decode call per stage per
// token for all of them. It returns the time to the first tokens, the tokens generated and the
// total time.
func generateBatch(b *testing.B, stages []*engine.Stage, batch int) (time.Duration, int, time.Duration) {
	t0 := time.Now()
	caches := make([][]*engine.Cache, batch)
	next := make([][]int32, batch)
	for k := range batch {
		for _, st := range stages {
			caches[k] = append(caches[k], st.NewCache())
		}
		next[k] = benchRequest(uint64(k)).Prompt
	}
	var first time.Duration
	for n := range benchTokens {
		xs := make([][]float32, batch)
		for i, st := range stages {
			in := make([]engine.DecodeInput, batch)
			for k := range batch {
				in[k] = engine.DecodeInput{Cache: caches[k][i], IDs: next[k], X: xs[k]}
			}
			out, err := st.Decode(in)
			if err != nil {
				b.Fatal(err)
			}
			xs = out
		}
		for k := range batch {
			next[k] = []int32{Sample(xs[k], Sampling{Temperature: 1, TopP: 1, Seed: uint64(k)}, caches[k][0].Len())}
		}
		if n == 0 {
			first = time.Since(t0)
		}
	}
	return first, batch * benchTokens, time.Since(t0)
}
