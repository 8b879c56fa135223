package dispute

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
