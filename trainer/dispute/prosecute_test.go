package dispute

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/replaylog"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// stalledChain is a chain where the referee opened three disputes from the CLI.
type stalledChain struct{ ProsecutorChain }

func (stalledChain) RefereeDisputes(context.Context, string) ([]verifytypes.Dispute, error) {
	var ds []verifytypes.Dispute
	for id := uint64(1); id <= 3; id++ {
		ds = append(ds, verifytypes.Dispute{Id: id, AttestationId: id, Worker: "x", Phase: verifytypes.DISPUTE_PHASE_LOG, WorkerToMove: true})
	}
	return ds, nil
}

func (stalledChain) Attestation(_ context.Context, id uint64) (verifytypes.Attestation, error) {
	return verifytypes.Attestation{Id: id, Worker: "x"}, nil
}

// TestAdoptionDoesNotStallRounds: a worker that accepts the log request of a dispute opened
// from the CLI and never answers must not hold up the prosecutor's rounds (the moves of every
// other dispute wait on them): the logs are fetched in the background, one fetch a dispute at a
// time, and a failed one is tried again later.
func TestAdoptionDoesNotStallRounds(t *testing.T) {
	release := make(chan struct{})
	var fetches atomic.Int32
	p := &Prosecutor{
		Chain: stalledChain{}, Referee: "r", Log: slog.New(slog.DiscardHandler),
		Fetch: func(ctx context.Context, _ verifytypes.Attestation) ([]replaylog.Segment, error) {
			fetches.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, errors.New("the worker served nothing")
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := p.Round(ctx)
			require.NoError(t, err)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("a round waits on a stalled fetch")
		}
	}
	require.Eventually(t, func() bool { return fetches.Load() == 3 }, time.Minute, time.Millisecond)
	released := time.Now()
	close(release)
	// Each failed fetch is tried again only after a backoff, not on the next round.
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, a := range p.adopting {
			if a.fetching || a.tries != 1 || !a.retry.After(released) {
				return false
			}
		}
		return len(p.adopting) == 3
	}, time.Minute, time.Millisecond)
	require.Zero(t, p.Prosecuting())
}

// windows is a Dataset whose window of row r of microbatch mb is bytes mb+r, mb+r+1, ….
type windows struct{ seq int }

func (w windows) Window(mb uint64, row uint32) ([]byte, error) {
	b := make([]byte, w.seq+1)
	for i := range b {
		b[i] = byte(mb + uint64(row) + uint64(i))
	}
	return b, nil
}

func (windows) OpenWindow(uint64, uint32) (*verifytypes.DatasetOpening, error) {
	return nil, errors.New("not opened here")
}

// offData finds the first row whose data is not the dataset's window: stage 0's token ids are
// the window's first seq_len bytes, the last stage's targets the window shifted by one (each
// token's label).
func TestOffData(t *testing.T) {
	const seq = 4
	p := &Prosecutor{Dataset: windows{seq: seq}}
	p.Codec.Spec.SeqLen = seq
	rows := func(mb uint64, shift int, n int) []int32 {
		var ids []int32
		for r := range n {
			w, err := p.Dataset.Window(mb, uint32(r))
			require.NoError(t, err)
			for _, b := range w[shift : shift+seq] {
				ids = append(ids, int32(b))
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		u    logevent.Update
		want int
	}{
		{"stage 0, the dataset's", logevent.Update{Microbatch: 7, Tokens: rows(7, 0, 3)}, -1},
		{"the last stage, the dataset's", logevent.Update{Microbatch: 7, Targets: rows(7, 1, 3)}, -1},
		{"stage 0, targets' bytes as tokens", logevent.Update{Microbatch: 7, Tokens: rows(7, 1, 3)}, 0},
		{"the last stage, another microbatch's labels", logevent.Update{Microbatch: 7, Targets: rows(9, 1, 3)}, 0},
		{"stage 0, a row of its own", logevent.Update{Microbatch: 7, Tokens: func() []int32 { ids := rows(7, 0, 3); ids[2*seq+1]++; return ids }()}, 2},
	} {
		got, err := p.offData(&tc.u)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.name)
	}
}
