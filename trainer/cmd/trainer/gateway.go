package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/gateway"
	"github.com/protolearn/protolearn/trainer/internal/promserve"
	"github.com/protolearn/protolearn/trainer/p2p"
	"github.com/protolearn/protolearn/trainer/roster"
)

func newGatewayCmd() *cobra.Command {
	var (
		mf                                  modelFlags
		model                               uint64
		listen, key, rosterPath             string
		grpc, chainID, spenderPath, apiKeys string
		gasPrice, metrics                   string
		deposit                             uint64
		settleEvery, stepTimeout            time.Duration
		free                                bool
		lf                                  linkFlags
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the OpenAI-style completions API over a model's swarm",
		Long: `gateway serves GET /v1/models and POST /v1/completions (whole or streamed as
server-sent events) over HTTP, routing each completion through one worker per
stage of the model (/protolearn/infer/1.0.0). It holds no weights.

On chain (--chain-grpc) it lists the servable models with their prices and charges
every completion to a deposit (x/inference): --api-keys maps each customer's
bearer token to its deposit, --deposit is the deposit of requests without one.
The deposits must name the gateway's spender key (trainer spender-key prints it),
whose account pays the settlement fees. Off chain (--roster) it serves one model
for free.`,
		Example: `  trainer spender-key --spender-key gw.key   # the key to name in tx inference deposit --spender
  trainer gateway --chain-grpc 127.0.0.1:9090 --chain-id protolearn-1 --spender-key gw.key --deposit 1 --listen 127.0.0.1:8080
  curl -s localhost:8080/v1/completions -d '{"model": "1", "prompt": "func main", "max_tokens": 16}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			var k crypto.PrivKey
			var err error
			if key != "" {
				k, err = p2p.LoadOrCreateKey(key)
			} else {
				k, _, err = crypto.GenerateEd25519Key(nil)
			}
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			reg := prometheus.NewRegistry()
			h, err := p2p.New(p2p.Config{Key: k, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Metrics: reg})
			if err != nil {
				return err
			}
			defer h.Close()
			lc, err := lf.link()
			if err != nil {
				return err
			}
			cfg := gateway.Config{Host: h, StepTimeout: stepTimeout, Link: lc, Log: log, Metrics: reg}
			switch {
			case grpc != "":
				if spenderPath == "" && !free {
					return errors.New("--spender-key is required on chain (the key deposits name to be charged), or --free")
				}
				var c *chain.Client
				if free {
					c, err = queryClient(grpc, chainID)
				} else {
					var sk *secp256k1.PrivKey
					if sk, err = chain.LoadOrCreateHotKey(spenderPath); err != nil {
						return fmt.Errorf("--spender-key: %w", err)
					}
					price, perr := sdk.ParseDecCoin(gasPrice)
					if perr != nil {
						return fmt.Errorf("--gas-price %q: %w", gasPrice, perr)
					}
					c, err = chain.Dial(chain.Config{GRPC: grpc, ChainID: chainID, HotKey: sk, GasPrice: price, Log: log})
					if err == nil {
						keys := map[string]uint64{}
						if apiKeys != "" {
							if keys, err = readAPIKeys(apiKeys); err != nil {
								return err
							}
						}
						if cmd.Flags().Changed("deposit") {
							keys[""] = deposit
						}
						if len(keys) == 0 {
							return errors.New("no deposit to charge: give --deposit N (requests without an API key) and/or --api-keys FILE")
						}
						cfg.Billing = &gateway.Billing{ChainID: chainID, Ledger: c, Spender: sk, Keys: keys, SettleEvery: settleEvery, Log: log}
						log.Info("billing", "spender", hex.EncodeToString(sk.PubKey().Bytes()), "account", sdk.AccAddress(sk.PubKey().Address()).String(), "deposits", len(keys))
					}
				}
				if err != nil {
					return err
				}
				defer c.Close()
				cfg.Catalog = &gateway.ChainCatalog{Client: c}
			case rosterPath != "":
				s, err := mf.resolve(cmd)
				if err != nil {
					return err
				}
				cfg.Catalog = gateway.StaticCatalog{
					Model:  gateway.ModelInfo{ID: model, Name: mf.spec, Spec: s, Status: "local", Servable: true, Price: sdk.NewInt64Coin("ulearn", 0)},
					Roster: roster.File{Path: rosterPath},
				}
			default:
				return errors.New("--chain-grpc (the chain's models, paid) or --roster (one model off chain, free) is required")
			}
			g, err := gateway.New(cfg)
			if err != nil {
				return err
			}
			if err := g.Serve(listen); err != nil {
				return err
			}
			defer g.Close()
			if metrics != "" {
				m, err := promserve.Serve(metrics, reg)
				if err != nil {
					return fmt.Errorf("--metrics-addr: %w", err)
				}
				defer m.Close()
			}
			log.Info("gateway", "url", g.URL(), "peer", h.ID())
			fmt.Fprintln(cmd.OutOrStdout(), g.URL())
			<-ctx.Done()
			return nil
		},
	}
	fl := cmd.Flags()
	mf.add(fl)
	fl.Uint64Var(&model, "model", 1, "off chain: the model's id")
	fl.StringVar(&rosterPath, "roster", "", "off chain: the roster file of the workers serving the model (free)")
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP address to listen on (port 0 picks one; the URL is printed)")
	fl.StringVar(&key, "key", "", "libp2p identity key file (default: a new one each run)")
	fl.StringVar(&grpc, "chain-grpc", "", "the chain node's gRPC address (host:port)")
	fl.StringVar(&chainID, "chain-id", "", "the chain id (with --chain-grpc)")
	fl.StringVar(&spenderPath, "spender-key", "", "on chain: the secp256k1 key file (hex, created 0600 if missing) that signs receipts and settles them; deposits name its public key")
	fl.StringVar(&apiKeys, "api-keys", "", `on chain: a JSON file {"<api key>": <deposit id>, …}: the deposit each bearer token charges`)
	fl.Uint64Var(&deposit, "deposit", 0, "on chain: the deposit charged for requests without an API key")
	fl.BoolVar(&free, "free", false, "on chain: serve without charging (a model's own operators)")
	fl.StringVar(&gasPrice, "gas-price", "0ulearn", "gas price of the settlement transactions (paid by the spender key's account)")
	fl.DurationVar(&settleEvery, "settle-every", 10*time.Second, "how often receipts are settled on chain")
	fl.DurationVar(&stepTimeout, "step-timeout", 30*time.Second, "a replica that takes longer for one step is left for another")
	fl.StringVar(&metrics, "metrics-addr", "", "serve Prometheus /metrics on this address (default off)")
	lf.add(fl, "the requests to the workers")
	return cmd
}

func readAPIKeys(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--api-keys: %w", err)
	}
	keys := map[string]uint64{}
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf(`--api-keys %s: want {"<api key>": <deposit id>, …}: %w`, path, err)
	}
	for k := range keys {
		if k == "" {
			return nil, fmt.Errorf("--api-keys %s: an empty API key (use --deposit for requests without one)", path)
		}
	}
	return keys, nil
}

func newSpenderKeyCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "spender-key",
		Short: "Print a gateway's spender public key (created if missing) and its account",
		Long: `spender-key prints the compressed public key (hex) that a customer names in
  protolearnd tx inference deposit MODEL AMOUNT --spender <key>
so that the gateway holding the key may charge the deposit, and the account that
pays the gateway's settlement fees. Run one gateway process per spender key: each
keeps its own account of what the deposits it charges have left.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("--spender-key is required")
			}
			k, err := chain.LoadOrCreateHotKey(path)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(k.PubKey().Bytes()), sdk.AccAddress(k.PubKey().Address()).String())
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "spender-key", "", "the key file (required)")
	return cmd
}
