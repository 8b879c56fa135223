package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/node"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/serving"
	"github.com/protolearn/protolearn/trainer/spec"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// queryClient dials a node for queries only: it signs nothing, so any key will do.
func queryClient(grpc, chainID string) (*chain.Client, error) {
	if chainID == "" {
		return nil, errors.New("--chain-id is required with --chain-grpc")
	}
	return chain.Dial(chain.Config{GRPC: grpc, ChainID: chainID, HotKey: secp256k1.GenPrivKey()})
}

// chainSpec is model's architecture as the chain records it.
func chainSpec(ctx context.Context, c *chain.Client, model uint64) (spec.Spec, error) {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := c.Model(qctx, model)
	if err != nil {
		return spec.Spec{}, err
	}
	return chain.Spec(m), nil
}

func newServeCmd() *cobra.Command {
	var (
		mf                     modelFlags
		model                  uint64
		stage                  int
		key, ckpt, backend     string
		listen, announce       []string
		sessions, batch        int
		metrics, grpc, chainID string
		lf                     linkFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve one stage of a finished model for inference over libp2p",
		Long: `serve loads one stage's weights from its checkpoint (trainer run --out writes
stage-N.ckpt when it exits) and serves inference sessions over libp2p
(/protolearn/infer/1.0.0) until interrupted; a gateway (trainer gateway) routes
completions through one such worker per stage. To be found by gateways and paid by
settlement on chain, run it with the worker's registered identity (--key), for the
stage its operator holds. While a model trains, trainer run --serve serves the
latest weights instead.`,
		Example: `  trainer serve --chain-grpc 127.0.0.1:9090 --chain-id protolearn-1 --model 1 --stage 0 --key w0.key --checkpoint out/stage-0.ckpt --listen /ip4/0.0.0.0/tcp/4100`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if key == "" {
				return errors.New("--key is required: on chain, the worker's registered identity")
			}
			k, err := p2p.LoadOrCreateKey(key)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			var s spec.Spec
			var c *chain.Client
			if grpc != "" {
				if c, err = queryClient(grpc, chainID); err != nil {
					return err
				}
				defer c.Close()
				if s, err = chainSpec(ctx, c, model); err != nil {
					return err
				}
			} else if s, err = mf.resolve(cmd); err != nil {
				return err
			}
			if stage < 0 || stage >= len(s.Stages) {
				return fmt.Errorf("--stage %d: required, one of 0…%d", stage, len(s.Stages)-1)
			}
			lc, err := lf.link()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg := serving.Config{
				Link:  lc,
				Model: model, Spec: s, Stage: stage, Checkpoint: ckpt, Key: k, Listen: listen, Announce: announce, Backend: backend,
				MaxSessions: sessions, MaxBatch: batch, MetricsAddr: metrics, Log: log,
			}
			if c != nil {
				// The served weights are where the model's forks may start: given to their
				// replicas of this stage only.
				cfg.ForkSeeds = func(ctx context.Context, p peer.ID, root [32]byte) error {
					_, err := c.ForkSeated(ctx, model, uint32(stage), root[:], p.String())
					return err
				}
			}
			srv, err := serving.New(cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			if c == nil {
				return srv.Run(ctx)
			}
			return serveUntilHalted(ctx, c, model, ckpt, srv, log)
		},
	}
	fl := cmd.Flags()
	mf.add(fl)
	fl.Uint64Var(&model, "model", 1, "the model's id")
	fl.IntVar(&stage, "stage", -1, "the stage to serve (required)")
	fl.StringVar(&key, "key", "", "identity key file, created (0600) if missing (required; on chain the worker's registered one)")
	fl.StringVar(&ckpt, "checkpoint", "", "the stage's checkpoint (stage-N.ckpt); empty serves the model's initial weights")
	fl.StringSliceVar(&listen, "listen", []string{"/ip4/127.0.0.1/tcp/0"}, "multiaddrs to listen on")
	fl.StringSliceVar(&announce, "announce", nil, "multiaddrs to advertise instead of the listen addresses")
	fl.StringVar(&backend, "backend", "go", "tensor backend: go or xla[:PLUGIN]")
	fl.IntVar(&sessions, "max-sessions", 64, "open sessions at most; more are refused as busy")
	fl.IntVar(&batch, "max-batch", 16, "sessions' steps run in one call at most")
	fl.StringVar(&metrics, "metrics-addr", "", "serve Prometheus /metrics on this address (default off)")
	lf.add(fl, "the replies to the gateways")
	fl.StringVar(&grpc, "chain-grpc", "", "read the model from this node's gRPC (host:port) instead of --spec")
	fl.StringVar(&chainID, "chain-id", "", "the chain id (with --chain-grpc)")
	return cmd
}

// serveUntilHalted serves until ctx ends or the model's holders halt it: then it stops, deletes
// the checkpoint it served (the stage's weights) and says so.
func serveUntilHalted(ctx context.Context, c *chain.Client, model uint64, ckpt string, srv *serving.Server, log *slog.Logger) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var halted atomic.Bool
	go func() {
		t := time.NewTicker(node.DefaultStatusPoll)
		defer t.Stop()
		for {
			if m, err := c.Model(ctx, model); err == nil && m.Status == modelstypes.MODEL_STATUS_HALTED {
				halted.Store(true)
				stop()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	err := srv.Run(ctx)
	if !halted.Load() {
		return err
	}
	srv.Close()
	log.Warn("the model's holders halted it for good: serving stopped", "model", model)
	if ckpt == "" {
		return nil
	}
	if err := os.Remove(ckpt); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("halted model: could not delete the stage's weights %s; delete them yourself: %w", ckpt, err)
	}
	log.Warn("halted model: deleted the stage's weights", "path", ckpt)
	return nil
}
