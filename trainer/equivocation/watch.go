// Package equivocation holds a worker's neighbours to what they signed: every boundary payload
// this worker receives comes with its sender's receipt, numbered (x/verify types.Receipt.Seq),
// and every attestation of the sender commits what its log records it signed under each number
// (x/verify Attestation.sends). A Watcher keeps the receipts it received and, once a pending
// attestation of the sender covers a receipt's number, compares: a payload the attestation does
// not name there is the sender's equivocation (it signed one payload and logged, so attested and
// would defend, another), which the Watcher reports on chain (MsgReportEquivocation) to have the
// sender slashed and its pending work voided. The receiver is the only one who holds the
// receipt, so it is the one to report.
package equivocation

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/prometheus/client_golang/prometheus"

	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Chain is what a Watcher reads and sends (trainer/chain.Client).
type Chain interface {
	StagePending(ctx context.Context, model uint64, stage uint32) ([]verifytypes.Attestation, error)
	ReportEquivocation(ctx context.Context, id, next uint64, forward bool, receiver string, r *verifytypes.BoundaryReceipt) (sdk.Coin, error)
}

// Config configures a Watcher.
type Config struct {
	Chain Chain
	// Model and Stage are the watcher's own: it holds the receipts of the stages beside it.
	Model  uint64
	Stage  int
	Stages int
	// Keep is how long a receipt is held waiting for an attestation that covers it (an hour by
	// default: longer than a worker takes to attest what it sent); MaxHeld bounds the receipts
	// held (the oldest go first; 1<<16 by default, about 16 MiB).
	Keep    time.Duration
	MaxHeld int
	Log     *slog.Logger
	Metrics prometheus.Registerer
}

// Watcher holds received receipts and reports equivocations.
type Watcher struct {
	cfg      Config
	mu       sync.Mutex
	held     []held
	reported map[uint64]bool // attestations reported (each is proven once)
	tried    map[uint64]bool // attestations whose report failed this round (tried once a round)
	reports  *prometheus.CounterVec
}

type held struct {
	r   verifytypes.Receipt
	sig []byte
	at  time.Time
}

// New makes a Watcher.
func New(cfg Config) (*Watcher, error) {
	if cfg.Chain == nil || cfg.Stages < 2 {
		return nil, fmt.Errorf("equivocation: a chain and a model of several stages are required (%d stages)", cfg.Stages)
	}
	if cfg.Keep <= 0 {
		cfg.Keep = time.Hour
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 1 << 16
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	w := &Watcher{cfg: cfg, reported: map[uint64]bool{}}
	w.reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "protolearn_trainer_equivocation_reports_total",
		Help: "Reports of a neighbour's equivocation (a receipt of a payload its attestation does not name), by outcome.",
	}, []string{"outcome"})
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(w.reports); err != nil {
			return nil, fmt.Errorf("equivocation: metrics: %w", err)
		}
	}
	return w, nil
}

// Received holds the receipt of a payload this worker accepted (swarm Config.OnReceipt).
func (w *Watcher) Received(r verifytypes.Receipt, sig []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.held) >= w.cfg.MaxHeld {
		w.held = w.held[1:]
	}
	w.held = append(w.held, held{r: r, sig: bytes.Clone(sig), at: time.Now()})
}

// Held is the number of receipts held.
func (w *Watcher) Held() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}

// Round compares the receipts held with the pending attestations of the neighbouring stages,
// reports each equivocation found, and lets go of the receipts an attestation covered (and
// named) or that are older than Keep. It returns the reports made.
func (w *Watcher) Round(ctx context.Context) (int, error) {
	var pending []verifytypes.Attestation
	for _, s := range []int{w.cfg.Stage - 1, w.cfg.Stage + 1} {
		if s < 0 || s >= w.cfg.Stages {
			continue
		}
		atts, err := w.cfg.Chain.StagePending(ctx, w.cfg.Model, uint32(s))
		if err != nil {
			return 0, err
		}
		pending = append(pending, atts...)
	}
	w.tried = map[uint64]bool{}
	w.mu.Lock()
	batch := w.held
	w.held = nil
	w.mu.Unlock()
	var keep []held
	reports, warned := 0, false
	for _, h := range batch {
		done, err := w.check(ctx, h, pending, &reports)
		if err != nil && !warned {
			warned = true // once a round: a refusal is likely the same for every receipt
			w.cfg.Log.Warn("equivocation: a receipt not checked; held for the next round", "sender", h.r.Sender, "seq", h.r.Seq, "err", err)
		}
		if !done && time.Since(h.at) < w.cfg.Keep {
			keep = append(keep, h)
		}
	}
	w.mu.Lock()
	w.held = append(keep, w.held...) // what arrived during the round stays after
	w.mu.Unlock()
	return reports, nil
}

// check compares receipt h with the sender's pending attestations: one whose sends cover its
// number must name its payload there, and a number between two attestations that follow each
// other in the sender's log (the second starts where the first's range ends) is one the log
// never gave. It says whether the receipt is settled (named, or reported).
func (w *Watcher) check(ctx context.Context, h held, pending []verifytypes.Attestation, reports *int) (bool, error) {
	// The sender's attestations of the stage it signed from: before the receiving stage on the
	// way forward, after it on the way back.
	from := int64(h.r.ToStage) - 1
	if h.r.Direction == verifytypes.Backward {
		from = int64(h.r.ToStage) + 1
	}
	var mine []verifytypes.Attestation
	for _, a := range pending {
		if a.PeerId == h.r.Sender.String() && a.ModelId == h.r.Model && int64(a.Stage) == from && len(a.Sends) > 0 {
			mine = append(mine, a)
		}
	}
	seq := h.r.Seq
	for _, a := range mine {
		in, named := verifytypes.SendSpan(a, seq, h.r.Digest[:])
		if !in {
			continue
		}
		if named {
			return true, nil // the attestation names what was signed
		}
		return w.settle(ctx, a, 0, h, reports)
	}
	for _, a := range mine {
		for _, b := range mine {
			if bytes.Equal(b.LogHead, a.EndLogHead) && verifytypes.SendBetween(a, b, seq) {
				return w.settle(ctx, a, b.Id, h, reports)
			}
		}
	}
	return false, nil
}

// settle reports h against a (and next, where the number falls between them), once an
// attestation.
func (w *Watcher) settle(ctx context.Context, a verifytypes.Attestation, next uint64, h held, reports *int) (bool, error) {
	if w.reported[a.Id] {
		return true, nil
	}
	if w.tried[a.Id] {
		return false, nil
	}
	if err := w.report(ctx, a, next, h); err != nil {
		w.tried[a.Id] = true
		return false, err // asked again at the next round, while it is held
	}
	*reports++
	return true, nil
}

func (w *Watcher) report(ctx context.Context, a verifytypes.Attestation, next uint64, h held) error {
	r := h.r
	slashed, err := w.cfg.Chain.ReportEquivocation(ctx, a.Id, next, r.Direction == verifytypes.Forward, r.Receiver.String(), verifytypes.BoundaryReceiptOf(r, h.sig))
	if err != nil {
		w.reports.WithLabelValues("refused").Inc()
		return fmt.Errorf("reporting attestation %d's equivocation: %w", a.Id, err)
	}
	w.reported[a.Id] = true
	w.reports.WithLabelValues("slashed").Inc()
	w.cfg.Log.Error("equivocation: a neighbour signed a payload its attestation does not name; reported, it was slashed",
		"worker", a.Worker, "attestation", a.Id, "seq", r.Seq, "microbatch", r.Microbatch, "slashed", slashed)
	return nil
}
