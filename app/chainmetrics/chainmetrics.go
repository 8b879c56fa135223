// Package chainmetrics exports protolearn's own Prometheus metrics from a node: per model, the
// work attested, finalized and voided, the challenges and disputes and what they slashed, the
// shares minted, and the revenue paid, claimed and settled.
//
// They are counted from the events of each finalized block (Observe), never from inside the
// keepers: a keeper also runs in CheckTx, simulations and queries, while a finalized block's
// events happen exactly once on every node. They are registered next to CometBFT's, so the
// node's instrumentation endpoint (config.toml [instrumentation] prometheus) serves both.
// Counters start at zero on every start of the node (Prometheus' rate and increase handle the
// reset). A model's series are created at zero the first time a block's work, money or vote
// names it (not its creation, which costs only gas), so that a dashboard shows "none yet" as 0
// rather than as no data; beyond MaxModels models, later ones share the series model="other".
package chainmetrics

import (
	"encoding/json"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/prometheus/client_golang/prometheus"

	sdk "github.com/cosmos/cosmos-sdk/types"

	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Namespace prefixes every metric name.
const Namespace = "protolearn"

// Metrics are the node's protolearn counters.
type Metrics struct {
	attSubmitted, attFinalized, attVoided *prometheus.CounterVec
	workUnits                             *prometheus.CounterVec
	chOpened, chAnswered, chFailed        *prometheus.CounterVec
	disputesOpened, disputesSettled       *prometheus.CounterVec
	slashed                               *prometheus.CounterVec
	sharesMinted                          *prometheus.CounterVec
	revenuePaid, revenueClaimed           *prometheus.CounterVec
	inferenceTokens, inferenceSettled     *prometheus.CounterVec
	proposals                             *prometheus.CounterVec
	blocks                                prometheus.Counter
	seen                                  map[string]bool
}

// MaxModels bounds the models with series of their own: a model's creation costs gas only, and
// each tracked model holds about thirty series on every node and in every Prometheus.
const MaxModels = 1000

// otherModels labels the models beyond MaxModels.
const otherModels = "other"

// The label every per-model series carries.
const modelLabel = "model"

// New registers the metrics with reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, append([]string{modelLabel}, labels...))
	}
	m := &Metrics{
		attSubmitted:     counter("attestations_submitted_total", "Attestations of work accepted by x/verify."),
		attFinalized:     counter("attestations_finalized_total", "Attestations whose challenge window closed with their work paid in shares."),
		attVoided:        counter("attestations_voided_total", "Attestations voided (a failed challenge or dispute, an equivocation, a withheld log, a left worker)."),
		workUnits:        counter("work_units_finalized_total", "Work units of finalized attestations."),
		chOpened:         counter("challenges_opened_total", "Spot-check challenges opened (by the chain's draw or a third party).", "kind"),
		chAnswered:       counter("challenges_answered_total", "Challenges answered with a valid proof."),
		chFailed:         counter("challenges_failed_total", "Challenges unanswered or answered wrongly: the worker was slashed."),
		disputesOpened:   counter("disputes_opened_total", "Replay disputes opened by referees."),
		disputesSettled:  counter("disputes_settled_total", "Replay disputes settled, by outcome.", "outcome"),
		slashed:          counter("slashed_total", "Stake slashed from workers, in the stake denom's base units, by cause (challenge, dispute, withheld_log, equivocation).", "cause"),
		sharesMinted:     counter("shares_minted_total", "share/N minted for verified work (operators' and designers' parts), in share base units."),
		revenuePaid:      counter("revenue_paid_total", "Revenue paid to a model's holders (payments, inference settlements and its forks' royalties), in the revenue denom's base units, before fees; a fork's royalty counts at its parent only, so a sum over models counts each payment once."),
		revenueClaimed:   counter("revenue_claimed_total", "Revenue claimed by holders, in the revenue denom's base units."),
		inferenceTokens:  counter("inference_tokens_settled_total", "Inference tokens settled from gateway receipts."),
		inferenceSettled: counter("inference_settled_total", "What customers paid for settled inference, in the revenue denom's base units."),
		proposals:        counter("holder_proposals_total", "Holders' proposals (x/modelgov) by what became of them: submitted, then passed, rejected or failed.", "status"),
		blocks:           prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "blocks_observed_total", Help: "Finalized blocks whose events were counted."}),
		seen:             map[string]bool{},
	}
	for _, c := range []prometheus.Collector{
		m.attSubmitted, m.attFinalized, m.attVoided, m.workUnits, m.chOpened, m.chAnswered, m.chFailed, m.disputesOpened, m.disputesSettled,
		m.slashed, m.sharesMinted, m.revenuePaid, m.revenueClaimed, m.inferenceTokens, m.inferenceSettled, m.proposals, m.blocks,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// model names a model's series, creating them at zero the first time.
func (m *Metrics) model(id uint64) string {
	l := strconv.FormatUint(id, 10)
	if m.seen[l] {
		return l
	}
	if len(m.seen) >= MaxModels {
		l = otherModels
		if m.seen[l] {
			return l
		}
	}
	m.seen[l] = true
	for _, c := range []*prometheus.CounterVec{
		m.attSubmitted, m.attFinalized, m.attVoided, m.workUnits, m.chAnswered, m.chFailed, m.disputesOpened, m.sharesMinted,
		m.revenuePaid, m.revenueClaimed, m.inferenceTokens, m.inferenceSettled,
	} {
		c.WithLabelValues(l)
	}
	for _, cause := range causes {
		m.slashed.WithLabelValues(l, cause)
	}
	for v, name := range verifytypes.ChallengeKind_name {
		if v != 0 {
			m.chOpened.WithLabelValues(l, label(name, "CHALLENGE_KIND_"))
		}
	}
	for v, name := range verifytypes.DisputeOutcome_name {
		if v != 0 {
			m.disputesSettled.WithLabelValues(l, label(name, "DISPUTE_OUTCOME_"))
		}
	}
	for _, st := range []string{"submitted", "passed", "rejected", "failed"} {
		m.proposals.WithLabelValues(l, st)
	}
	return l
}

// Observe counts a finalized block's events: its transactions' (those that succeeded) and the
// block's own (begin and end blockers). It never fails: an event it cannot decode is skipped.
func (m *Metrics) Observe(res *abci.ResponseFinalizeBlock) {
	if res == nil {
		return
	}
	m.blocks.Inc()
	for _, tx := range res.TxResults {
		if tx == nil || tx.Code != 0 {
			continue // a failed tx's events were reverted
		}
		m.events(tx.Events)
	}
	m.events(res.Events)
}

func (m *Metrics) events(evs []abci.Event) {
	for _, ev := range evs {
		if proto.MessageType(ev.Type) == nil {
			continue // not a typed event (the SDK's message, transfer, … events)
		}
		// The SDK adds attributes of its own that are not JSON (a block event's mode:
		// EndBlock); a typed event's own are.
		own := abci.Event{Type: ev.Type}
		for _, a := range ev.Attributes {
			if json.Valid([]byte(a.Value)) {
				own.Attributes = append(own.Attributes, a)
			}
		}
		msg, err := sdk.ParseTypedEvent(own)
		if err != nil {
			continue
		}
		m.count(msg)
	}
}

// add adds a coin's amount to c (an amount beyond float64's precision is counted approximately,
// as a Prometheus counter must be).
func add(c prometheus.Counter, coin sdk.Coin) {
	if coin.Amount.IsNil() || !coin.Amount.IsPositive() {
		return
	}
	f, _ := coin.Amount.ToLegacyDec().Float64()
	c.Add(f)
}

// causes are the slashed counter's causes.
var causes = []string{"challenge", "dispute", "withheld_log", "equivocation"}

func (m *Metrics) slash(model uint64, cause string, coin sdk.Coin) {
	if coin.Denom == "" || coin.Amount.IsNil() {
		return
	}
	add(m.slashed.WithLabelValues(m.model(model), cause), coin)
}

func (m *Metrics) count(msg proto.Message) {
	switch e := msg.(type) {
	case *verifytypes.EventAttestationSubmitted:
		m.attSubmitted.WithLabelValues(m.model(e.ModelId)).Inc()
	case *verifytypes.EventAttestationFinalized:
		l := m.model(e.ModelId)
		m.attFinalized.WithLabelValues(l).Inc()
		m.workUnits.WithLabelValues(l).Add(float64(e.WorkUnits))
	case *verifytypes.EventAttestationVoided:
		m.attVoided.WithLabelValues(m.model(e.ModelId)).Inc()
	case *verifytypes.EventChallengeOpened:
		m.chOpened.WithLabelValues(m.model(e.ModelId), kind(e.Kind)).Inc()
	case *verifytypes.EventChallengeAnswered:
		m.chAnswered.WithLabelValues(m.model(e.ModelId)).Inc()
	case *verifytypes.EventChallengeFailed:
		m.chFailed.WithLabelValues(m.model(e.ModelId)).Inc()
		m.slash(e.ModelId, "challenge", e.Slashed)
	case *verifytypes.EventDisputeOpened:
		m.disputesOpened.WithLabelValues(m.model(e.ModelId)).Inc()
	case *verifytypes.EventDisputeSettled:
		m.disputesSettled.WithLabelValues(m.model(e.ModelId), outcome(e.Outcome)).Inc()
		m.slash(e.ModelId, "dispute", e.Slashed)
	case *verifytypes.EventLogRequestClosed:
		m.slash(e.ModelId, "withheld_log", e.Slashed)
	case *verifytypes.EventEquivocation:
		m.slash(e.ModelId, "equivocation", e.Slashed)
	case *sharestypes.EventSharesMinted:
		l := m.model(e.ModelId)
		add(m.sharesMinted.WithLabelValues(l), e.OperatorAmount)
		add(m.sharesMinted.WithLabelValues(l), e.DesignerAmount)
	case *sharestypes.EventRevenuePaid:
		// What stays with the model: a fork's royalty is counted again at its parent.
		kept := e.Amount
		if e.Royalty.Denom == e.Amount.Denom && !e.Royalty.Amount.IsNil() && e.Royalty.Amount.IsPositive() {
			kept = e.Amount.Sub(e.Royalty)
		}
		add(m.revenuePaid.WithLabelValues(m.model(e.ModelId)), kept)
	case *sharestypes.EventRevenueClaimed:
		add(m.revenueClaimed.WithLabelValues(m.model(e.ModelId)), e.Amount)
	case *inferencetypes.EventSettled:
		l := m.model(e.ModelId)
		m.inferenceTokens.WithLabelValues(l).Add(float64(e.Tokens))
		add(m.inferenceSettled.WithLabelValues(l), e.Amount)
	case *modelgovtypes.EventProposalSubmitted:
		m.proposals.WithLabelValues(m.model(e.ModelId), "submitted").Inc()
	case *modelgovtypes.EventProposalEnded:
		m.proposals.WithLabelValues(m.model(e.ModelId), proposalStatus(e.Status)).Inc()
	}
}

// kind, outcome and proposalStatus are an enum's name without its prefix, lower case: the
// label values a dashboard shows.
func kind(k verifytypes.ChallengeKind) string { return label(k.String(), "CHALLENGE_KIND_") }

func outcome(o verifytypes.DisputeOutcome) string { return label(o.String(), "DISPUTE_OUTCOME_") }

func proposalStatus(s modelgovtypes.ProposalStatus) string {
	return label(s.String(), "PROPOSAL_STATUS_")
}

func label(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}
