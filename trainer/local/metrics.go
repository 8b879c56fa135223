package local

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/pipeline"
)

// metrics are a run's Prometheus metrics and the server exposing them.
type metrics struct {
	*promserve.Server
	tokens    prometheus.Gauge
	train     prometheus.Gauge
	val       prometheus.Gauge
	steps     prometheus.Counter
	bytes     *prometheus.CounterVec
	ratio     prometheus.Gauge
	stageTime *prometheus.HistogramVec
}

func startMetrics(addr string, stages int) (*metrics, error) {
	reg := prometheus.NewRegistry()
	m := &metrics{
		tokens: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trainer_tokens_per_second", Help: "Training tokens per second in the last step.",
		}),
		train: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trainer_train_loss", Help: "Mean cross-entropy of the last training batch (nats/token).",
		}),
		val: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trainer_val_loss", Help: "Mean cross-entropy of the last validation (nats/token); NaN before the first.",
		}),
		steps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trainer_steps_total", Help: "Training steps completed by this process.",
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trainer_boundary_bytes_total",
			Help: "Payload bytes sent across each stage boundary (boundary i joins stage i and i+1); direction forward = activations, backward = gradients.",
		}, []string{"boundary", "direction"}),
		ratio: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trainer_compression_ratio",
			Help: "Bytes a raw float32 d_model-wide activation payload would take divided by the bytes actually sent.",
		}),
		stageTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trainer_stage_step_seconds", Help: "Wall time of each stage per training step, waiting included (the mean over each pipeline stream of steps).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}, []string{"stage"}),
	}
	m.val.Set(math.NaN())
	reg.MustRegister(m.tokens, m.train, m.val, m.steps, m.bytes, m.ratio, m.stageTime)
	for i := 0; i < stages-1; i++ {
		m.bytes.WithLabelValues(strconv.Itoa(i), "forward")
		m.bytes.WithLabelValues(strconv.Itoa(i), "backward")
	}
	for i := range stages {
		m.stageTime.WithLabelValues(strconv.Itoa(i))
	}

	srv, err := promserve.Serve(addr, reg)
	if err != nil {
		return nil, err
	}
	m.Server = srv
	return m, nil
}

func (m *metrics) addBytes(boundary int, forward, backward int64) {
	b := strconv.Itoa(boundary)
	m.bytes.WithLabelValues(b, "forward").Add(float64(forward))
	m.bytes.WithLabelValues(b, "backward").Add(float64(backward))
}

// observe records a training step.
func (m *metrics) observe(train, tps float64) {
	m.steps.Inc()
	m.train.Set(train)
	m.tokens.Set(tps)
}

// observeStages records each stage's mean time per step over a stream of
// steps steps, once per step.
func (m *metrics) observeStages(times []pipeline.StageTime, steps int) {
	for i, t := range times {
		per := t.Total.Seconds() / float64(steps)
		for range steps {
			m.stageTime.WithLabelValues(strconv.Itoa(i)).Observe(per)
		}
	}
}
