package custody

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// AnswerChain is what a worker reads and sends to answer log requests (trainer/chain.Client).
type AnswerChain interface {
	OpenLogRequests(ctx context.Context, worker string) ([]verifytypes.LogRequest, error)
	StageRoster(ctx context.Context, model uint64, stage uint32) ([]modelstypes.Replica, error)
	AnswerLogRequest(ctx context.Context, id uint64, custodian string, sig []byte) error
}

// Answerer answers the chain's log requests over its worker's attestations: for each open one
// it asks the requester, then every other replica of the stage, to take custody of the log (Ask),
// and posts the first signature it gets.
type Answerer struct {
	Host  host.Host
	Chain AnswerChain
	// Worker is this worker's operator.
	Worker string
	// Timeout bounds one replica's custody (its fetch of the log).
	Timeout  time.Duration
	Log      *slog.Logger
	answered prometheus.Counter
}

// Register registers the answerer's metric.
func (a *Answerer) Register(reg prometheus.Registerer) error {
	a.answered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "protolearn_trainer_log_requests_answered_total",
		Help: "Log requests on chain over this worker's attestations answered with a replica's custody.",
	})
	return reg.Register(a.answered)
}

// Round answers every open log request over the worker's attestations it can; it returns how
// many it answered. A request no replica would take custody of yet is tried again next round.
func (a *Answerer) Round(ctx context.Context) (int, error) {
	reqs, err := a.Chain.OpenLogRequests(ctx, a.Worker)
	if err != nil {
		return 0, err
	}
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	n := 0
	for _, r := range reqs {
		if err := a.answer(ctx, r); err != nil {
			log.Warn("custody: a log request over this worker's attestation is not answered yet", "request", r.Id, "attestation", r.AttestationId, "referee", r.Referee, "deadline", r.DeadlineHeight, "err", err)
			continue
		}
		n++
		if a.answered != nil {
			a.answered.Inc()
		}
		log.Info("custody: answered a log request", "request", r.Id, "attestation", r.AttestationId)
	}
	return n, nil
}

func (a *Answerer) answer(ctx context.Context, r verifytypes.LogRequest) error {
	roster, err := a.Chain.StageRoster(ctx, r.ModelId, r.Stage)
	if err != nil {
		return err
	}
	// The requester first: it asked, and its custody lets it audit. Then the others.
	var asks []modelstypes.Replica
	for _, m := range roster {
		if m.Operator == r.Referee {
			asks = append([]modelstypes.Replica{m}, asks...)
		} else if m.Operator != a.Worker {
			asks = append(asks, m)
		}
	}
	timeout := a.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	var last error = fmt.Errorf("no replica of stage %d but this worker is seated", r.Stage)
	for _, m := range asks {
		p, err := peer.Decode(m.PeerId)
		if err != nil {
			last = fmt.Errorf("replica %s's peer id %q: %w", m.Operator, m.PeerId, err)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		sig, err := Ask(actx, a.Host, p, r.Id)
		cancel()
		if err != nil {
			last = err
			continue
		}
		if err := a.Chain.AnswerLogRequest(ctx, r.Id, p.String(), sig); err != nil {
			last = fmt.Errorf("custody of %s not taken by the chain: %w", p, err)
			continue
		}
		return nil
	}
	return last
}
