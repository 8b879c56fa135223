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
	return watch(ctx, rpc, "trainer-"+worker, fmt.Sprintf("protolearn.verify.v1.EventChallengeOpened.worker = '\"%s\"'", worker), "challenge", log)
}

// WatchModelStatus wakes its caller on every status change of model (x/models
// EventModelStatusChanged: a pause, resume or halt voted by its holders ends in a block's
// events, a completion in a transaction's), as WatchChallenges does for challenges.
func WatchModelStatus(ctx context.Context, rpc string, model uint64, log *slog.Logger) <-chan struct{} {
	return watch(ctx, rpc, fmt.Sprintf("trainer-model-%d", model),
		fmt.Sprintf("protolearn.models.v1.EventModelStatusChanged.model_id = '\"%d\"'", model), "model status", log)
}

// watch keeps a subscription to the events that match attr, in blocks and in transactions, and
// sends on the returned channel (without blocking) for each.
func watch(ctx context.Context, rpc, subscriber, attr, what string, log *slog.Logger) <-chan struct{} {
	wake := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			if err := watchOnce(ctx, rpc, subscriber, attr, wake); err != nil && ctx.Err() == nil {
				log.Warn(what+" subscription lost; polling until it is back", "rpc", rpc, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	return wake
}

func watchOnce(ctx context.Context, rpc, subscriber, attr string, wake chan<- struct{}) error {
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Stop() //nolint:errcheck // best effort on the way out
	var chans []<-chan struct{}
	for _, q := range []string{"tm.event = 'NewBlock' AND " + attr, "tm.event = 'Tx' AND " + attr} {
		events, err := c.Subscribe(ctx, subscriber, q, 16)
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
