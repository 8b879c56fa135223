package chain

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// WatchChallenges subscribes, over the node's CometBFT websocket (rpc, e.g.
// tcp://127.0.0.1:26657), to challenges opened against worker: spot checks come in block events,
// third-party challenges in tx events. Each sends on the returned channel, which callers use to
// check for challenges at once rather than at their next poll. The subscription is re-made when
// it drops; polling remains the fallback, so a lost event delays an answer but never loses it.
func WatchChallenges(ctx context.Context, rpc, worker string, log *slog.Logger) <-chan struct{} {
	wake := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			if err := watchOnce(ctx, rpc, worker, wake); err != nil && ctx.Err() == nil {
				log.Warn("challenge subscription lost; polling until it is back", "rpc", rpc, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	return wake
}

func watchOnce(ctx context.Context, rpc, worker string, wake chan<- struct{}) error {
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Stop() //nolint:errcheck // best effort on the way out
	attr := fmt.Sprintf("protolearn.verify.v1.EventChallengeOpened.worker = '\"%s\"'", worker)
	var chans []<-chan struct{}
	for _, q := range []string{"tm.event = 'NewBlock' AND " + attr, "tm.event = 'Tx' AND " + attr} {
		events, err := c.Subscribe(ctx, "trainer-"+worker, q, 16)
		if err != nil {
			return fmt.Errorf("subscribe %q: %w", q, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range events {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		chans = append(chans, done)
	}
	select {
	case <-ctx.Done():
		return nil
	case <-chans[0]:
	case <-chans[1]:
	case <-c.Quit():
	}
	return fmt.Errorf("subscription closed")
}
