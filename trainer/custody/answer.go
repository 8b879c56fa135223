package custody

import (
	"context"
	"errors"
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
// it asks every other replica of the stage at once (the requester among them) to take custody
// of the log (Ask), and posts the first signature it gets.
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
	var asks []modelstypes.Replica
	for _, m := range roster {
		if m.Operator != a.Worker {
			asks = append(asks, m)
		}
	}
	timeout := a.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	if len(asks) == 0 {
		return fmt.Errorf("no replica of stage %d but this worker is seated", r.Stage)
	}
	// Every replica at once, the first signature posted: one that holds the stream open and
	// never answers (a griefing requester) must not use up the window before the others are
	// asked (an attacker's review).
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type got struct {
		p   peer.ID
		sig []byte
		err error
	}
	out := make(chan got, len(asks))
	for _, m := range asks {
		go func() {
			p, err := peer.Decode(m.PeerId)
			if err != nil {
				out <- got{err: fmt.Errorf("replica %s's peer id %q: %w", m.Operator, m.PeerId, err)}
				return
			}
			sig, err := Ask(actx, a.Host, p, r.Id)
			out <- got{p: p, sig: sig, err: err}
		}()
	}
	var errs []error
	for range asks {
		g := <-out
		if g.err != nil {
			errs = append(errs, g.err)
			continue
		}
		if err := a.Chain.AnswerLogRequest(ctx, r.Id, g.p.String(), g.sig); err != nil {
			errs = append(errs, fmt.Errorf("custody of %s not taken by the chain: %w", g.p, err))
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}
