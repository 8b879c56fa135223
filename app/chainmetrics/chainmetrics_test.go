package chainmetrics

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/prometheus/client_golang/prometheus"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

func block(t *testing.T, msgs ...proto.Message) *abci.ResponseFinalizeBlock {
	t.Helper()
	var evs []abci.Event
	for _, m := range msgs {
		ev, err := sdk.TypedEventToEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, abci.Event(ev))
	}
	return &abci.ResponseFinalizeBlock{TxResults: []*abci.ExecTxResult{{Code: 0, Events: evs}}}
}

func series(t *testing.T, reg *prometheus.Registry) (n int, models map[string]bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	models = map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n++
			for _, l := range m.GetLabel() {
				if l.GetName() == modelLabel {
					models[l.GetValue()] = true
				}
			}
		}
	}
	return n, models
}

// Creating models (gas only) makes no series; models beyond MaxModels share one label.
func TestSeriesAreBoundedWhateverModelsAreCreated(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	var created []proto.Message
	for id := uint64(1); id <= 2000; id++ {
		created = append(created, &modelstypes.EventModelCreated{ModelId: id, Name: "x"})
	}
	m.Observe(block(t, created...))
	if n, _ := series(t, reg); n > 1 {
		t.Fatalf("%d series after model creations alone", n)
	}
	var work []proto.Message
	for id := uint64(1); id <= MaxModels+50; id++ {
		work = append(work, &verifytypes.EventAttestationSubmitted{ModelId: id})
	}
	m.Observe(block(t, work...))
	_, models := series(t, reg)
	if len(models) != MaxModels+1 || !models["other"] {
		t.Fatalf("%d model labels (other: %v), want %d and other", len(models), models["other"], MaxModels+1)
	}
}

// A fork's royalty is counted at its parent only: a sum over models counts a payment once.
func TestRevenueCountsRoyaltiesOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	coin := func(n int64) sdk.Coin { return sdk.NewInt64Coin("ulearn", n) }
	m.Observe(block(t,
		&sharestypes.EventRevenuePaid{ModelId: 2, Amount: coin(1000), Fee: coin(50), Royalty: coin(190)},
		&sharestypes.EventRevenuePaid{ModelId: 1, Amount: coin(190), Fee: coin(0), Royalty: coin(0)},
	))
	mfs, _ := reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "protolearn_revenue_paid_total" {
			for _, s := range mf.GetMetric() {
				total += s.GetCounter().GetValue()
			}
		}
	}
	if total != 1000 {
		t.Fatalf("revenue summed over the family %v, want 1000", total)
	}
}
