package swarm

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/protolearn/protolearn/trainer/internal/promserve"
)

// metrics are a worker's Prometheus series (protolearn_swarm_*).
type metrics struct {
	framesIn, framesOut, bytesIn, bytesOut *prometheus.CounterVec

	forwards, backwards, tokens, completed, repeats, late, resent, handedBack,
	busy, cutOff, refused, blacklisted, gradsLost, badReceipts prometheus.Counter

	pending, loss, valLoss prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "protolearn", Subsystem: "swarm", Name: name, Help: help})
	}
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "protolearn", Subsystem: "swarm", Name: name, Help: help}, []string{"type"})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "protolearn", Subsystem: "swarm", Name: name, Help: help})
	}
	m := &metrics{
		framesIn:    vec("frames_in_total", "Pipeline frames received, by type."),
		framesOut:   vec("frames_out_total", "Pipeline frames sent, by type."),
		bytesIn:     vec("frame_bytes_in_total", "Bytes of pipeline frames received (length prefix, header and body), by type."),
		bytesOut:    vec("frame_bytes_out_total", "Bytes of pipeline frames sent (length prefix, header and body), by type."),
		forwards:    counter("forwards_total", "Forward passes run (microbatches sent on)."),
		backwards:   counter("updates_total", "Backward passes that updated the stage's weights."),
		tokens:      counter("tokens_total", "Tokens the stage trained on (rows × seq_len a microbatch updated): its throughput, by rate()."),
		completed:   counter("completed_total", "Microbatches completed (stage 0: gradient back and applied)."),
		repeats:     counter("repeats_total", "Microbatches seen again after a re-send: gradient computed, no second update."),
		late:        counter("late_gradients_total", "Gradients of microbatches no longer outstanding (dropped)."),
		resent:      counter("resent_total", "Microbatches re-sent to another replica."),
		handedBack:  counter("handed_back_total", "Queued microbatches handed back to their senders while draining."),
		busy:        counter("busy_replies_total", "Frames answered busy because the queue was full or the resource manager had no memory for them."),
		cutOff:      counter("peers_cut_off_total", "Peers cut off for a protocol violation."),
		refused:     counter("streams_refused_total", "Inbound streams refused when opened: the peer is registered for neither neighbouring stage."),
		blacklisted: counter("peers_blacklisted_total", "Times a next-stage peer was blacklisted after a failure."),
		gradsLost:   counter("gradients_lost_total", "Gradients that could not be delivered upstream."),
		badReceipts: counter("bad_receipts_total", "Tensor frames whose receipt signature did not verify (their sender is cut off)."),
		pending:     gauge("pending", "Microbatches sent on whose gradient has not come back."),
		loss:        gauge("loss", "The last stage's most recent microbatch loss."),
		valLoss:     gauge("val_loss", "The last stage's most recent evaluation round's mean loss."),
	}
	if err := promserve.Register(reg, "swarm",
		m.framesIn, m.framesOut, m.bytesIn, m.bytesOut, m.forwards, m.backwards, m.tokens, m.completed, m.repeats, m.late,
		m.resent, m.handedBack, m.busy, m.cutOff, m.refused, m.blacklisted, m.gradsLost, m.badReceipts, m.pending, m.loss, m.valLoss,
	); err != nil {
		return nil, err
	}
	return m, nil
}
