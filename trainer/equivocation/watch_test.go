package equivocation_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/equivocation"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

type report struct {
	id, next uint64
	forward  bool
	r        *verifytypes.BoundaryReceipt
}

// fakeChain holds the neighbours' pending attestations by stage and takes reports.
type fakeChain struct {
	pending map[uint32][]verifytypes.Attestation
	reports []report
	refuse  error
}

func (c *fakeChain) StagePending(_ context.Context, _ uint64, stage uint32) ([]verifytypes.Attestation, error) {
	return c.pending[stage], nil
}

func (c *fakeChain) ReportEquivocation(_ context.Context, id, next uint64, forward bool, _ string, r *verifytypes.BoundaryReceipt) (sdk.Coin, error) {
	if c.refuse != nil {
		return sdk.Coin{}, c.refuse
	}
	c.reports = append(c.reports, report{id, next, forward, r})
	return sdk.NewInt64Coin("ulearn", 10), nil
}

func identity(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// The receipts of a stage-1 worker: a sender of stage 0 (forward) and one of stage 2 (backward),
// each with a pending attestation whose sends name some of what they signed.
func TestWatcherReportsWhatTheSendsDoNotName(t *testing.T) {
	_, self := identity(t)
	k0, p0 := identity(t)
	k2, p2 := identity(t)
	sign := func(k crypto.PrivKey, from peer.ID, dir verifytypes.Direction, seq uint64, payload string) (verifytypes.Receipt, []byte) {
		r := verifytypes.Receipt{ChainID: "c", Model: 1, Direction: dir, ToStage: 1, Microbatch: seq, Digest: sha256.Sum256([]byte(payload)), Seq: seq, Sender: from, Receiver: self}
		sig, err := verifytypes.SignReceipt(k, r)
		if err != nil {
			t.Fatal(err)
		}
		return r, sig
	}
	sends := func(seqs ...uint64) []verifytypes.SentPayload {
		var out []verifytypes.SentPayload
		for _, s := range seqs {
			d := sha256.Sum256([]byte{byte(s)})
			out = append(out, verifytypes.SentPayload{Seq: s, Digest: d[:]})
		}
		return out
	}
	chain := &fakeChain{
		pending: map[uint32][]verifytypes.Attestation{
			0: {{Id: 5, Worker: "w0", PeerId: p0.String(), ModelId: 1, Stage: 0, Sends: sends(10, 11, 12)}},
			2: {{Id: 7, Worker: "w2", PeerId: p2.String(), ModelId: 1, Stage: 2, Sends: sends(20, 21)}},
		},
	}
	w, err := equivocation.New(equivocation.Config{Chain: chain, Model: 1, Stage: 1, Stages: 3})
	if err != nil {
		t.Fatal(err)
	}
	w.Received(sign(k0, p0, verifytypes.Forward, 10, string([]byte{10}))) // named: let go
	w.Received(sign(k0, p0, verifytypes.Forward, 11, "garbage"))          // another payload under 11: reported
	w.Received(sign(k0, p0, verifytypes.Forward, 12, "more garbage"))     // the same attestation: reported once
	w.Received(sign(k2, p2, verifytypes.Backward, 30, "later"))           // beyond 7's sends: held
	n, err := w.Round(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(chain.reports) != 1 || chain.reports[0].id != 5 || !chain.reports[0].forward || chain.reports[0].r.Seq != 11 {
		t.Fatalf("%d reports %+v, want one, of attestation 5's send 11 (forward)", n, chain.reports)
	}
	if w.Held() != 1 {
		t.Errorf("%d receipts held, want the one no attestation covers yet", w.Held())
	}
	// Its attestation comes, and names another gradient under 30: reported, backward.
	chain.pending[2] = append(chain.pending[2], verifytypes.Attestation{Id: 8, Worker: "w2", PeerId: p2.String(), ModelId: 1, Stage: 2, Sends: sends(29, 30)})
	if n, err := w.Round(context.Background()); err != nil || n != 1 || chain.reports[1].id != 8 || chain.reports[1].forward {
		t.Fatalf("%d reports (%v): %+v, want attestation 8's, backward", n, err, chain.reports)
	}
	if w.Held() != 0 {
		t.Errorf("%d receipts held after their reports", w.Held())
	}
}

// A refused report keeps its receipt for the next round; a receipt no attestation covers is
// let go after Keep.
func TestWatcherRetriesAndForgets(t *testing.T) {
	_, self := identity(t)
	k0, p0 := identity(t)
	r := verifytypes.Receipt{ChainID: "c", Model: 1, Direction: verifytypes.Forward, ToStage: 1, Digest: [32]byte{1}, Seq: 11, Sender: p0, Receiver: self}
	sig, err := verifytypes.SignReceipt(k0, r)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("logged"))
	chain := &fakeChain{
		pending: map[uint32][]verifytypes.Attestation{0: {{Id: 5, Worker: "w0", PeerId: p0.String(), ModelId: 1, Sends: []verifytypes.SentPayload{{Seq: 10, Digest: d[:]}, {Seq: 12, Digest: d[:]}}}}},
		refuse:  errors.New("the chain is down"),
	}
	w, err := equivocation.New(equivocation.Config{Chain: chain, Model: 1, Stage: 1, Stages: 2, Keep: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.Received(r, sig)
	if n, _ := w.Round(context.Background()); n != 0 || w.Held() != 1 {
		t.Fatalf("%d reports, %d held: want the refused one held", n, w.Held())
	}
	chain.refuse = nil
	if n, _ := w.Round(context.Background()); n != 1 || w.Held() != 0 {
		t.Fatalf("%d reports, %d held: want it reported at the next round", n, w.Held())
	}
	short, err := equivocation.New(equivocation.Config{Chain: chain, Model: 1, Stage: 1, Stages: 2, Keep: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Seq = 99 // covered by nothing
	short.Received(r, sig)
	time.Sleep(time.Millisecond)
	if _, err := short.Round(context.Background()); err != nil || short.Held() != 0 {
		t.Errorf("held %d past Keep (%v)", short.Held(), err)
	}
}

// A number between two attestations that follow each other in the sender's log (the second
// starts where the first's range ends) is one its log never gave: reported with both, or with
// the second alone once the first is final (it keeps the first's last number, prev_seq).
// Between two that do not follow each other (steps left unattested between), it is not.
func TestWatcherReportsANumberBetweenAttestations(t *testing.T) {
	_, self := identity(t)
	k, p := identity(t)
	digest := sha256.Sum256([]byte("sent"))
	send := func(seq uint64) verifytypes.SentPayload {
		return verifytypes.SentPayload{Seq: seq, Digest: digest[:]}
	}
	for _, tc := range []struct {
		name       string
		contiguous bool
		firstFinal bool
	}{{"contiguous", true, false}, {"a gap between", false, false}, {"the first final", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			end := []byte("head after attestation 7")
			start := end
			var prev uint64 = 21 // the chain keeps it where 9 follows 7 (x/verify prev_seq)
			if !tc.contiguous {
				start, prev = []byte("a head further on"), 0
			}
			pending := []verifytypes.Attestation{
				{Id: 7, Worker: "w", PeerId: p.String(), ModelId: 1, EndLogHead: end, Sends: []verifytypes.SentPayload{send(20), send(21)}},
				{Id: 9, Worker: "w", PeerId: p.String(), ModelId: 1, LogHead: start, PrevSeq: prev, Sends: []verifytypes.SentPayload{send(25), send(26)}},
			}
			if tc.firstFinal {
				pending = pending[1:]
			}
			chain := &fakeChain{pending: map[uint32][]verifytypes.Attestation{0: pending}}
			w, err := equivocation.New(equivocation.Config{Chain: chain, Model: 1, Stage: 1, Stages: 2})
			if err != nil {
				t.Fatal(err)
			}
			r := verifytypes.Receipt{ChainID: "c", Model: 1, Direction: verifytypes.Forward, ToStage: 1, Digest: digest, Seq: 23, Sender: p, Receiver: self}
			sig, err := verifytypes.SignReceipt(k, r)
			if err != nil {
				t.Fatal(err)
			}
			w.Received(r, sig)
			n, err := w.Round(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.firstFinal && (n != 1 || chain.reports[0].id != 9 || chain.reports[0].next != 0):
				t.Fatalf("%d reports %+v, want one of 9 alone", n, chain.reports)
			case tc.contiguous && !tc.firstFinal && n != 1:
				t.Fatalf("%d reports %+v, want one", n, chain.reports)
			}
			if !tc.contiguous && (n != 0 || w.Held() != 1) {
				t.Fatalf("%d reports %+v (%d held), want none and the receipt held", n, chain.reports, w.Held())
			}
		})
	}
}
