package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/singleflight"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"

	"github.com/protolearn/protolearn/node/registry"
	"github.com/protolearn/protolearn/web"
)

const (
	flagWebListen     = "listen"
	flagWebPrometheus = "prometheus"
)

// webCmd serves the web app.
func webCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the web app: models, ownership, accounts, challenges, holders' votes, with a Keplr wallet",
		Long: `web serves protolearn's web app (web/, built into the binary) on --listen. The page reads the
node's REST (--rest-address) and broadcasts through its CometBFT RPC (--rpc-address): the node
must allow the page's origin (protolearnd testnet init-files does, for local networks: [api]
enabled-unsafe-cors and [rpc] cors_allowed_origins). Keplr is offered the chain from
chain.json and assetlist.json, which web builds from the node (--node) as protolearnd registry
does, at /registry/. With --prometheus, a model's page also charts its trainers' loss.`,
		Example: `  protolearnd web --node tcp://127.0.0.1:26657 --rest-address http://127.0.0.1:1317 --listen 127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			listen, _ := cmd.Flags().GetString(flagWebListen)
			prom, _ := cmd.Flags().GetString(flagWebPrometheus)
			h := newWebHandler(clientCtx, readRegistryOpts(cmd, clientCtx), prom)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			cmd.Printf("protolearn web app on http://%s (node %s, REST %s)\n", ln.Addr(), clientCtx.NodeURI, h.opts.rest)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	addRegistryFlags(cmd)
	cmd.Flags().String(flagWebListen, "127.0.0.1:8080", "address to serve the app on")
	cmd.Flags().String(flagWebPrometheus, "", "a Prometheus (its HTTP API) scraping the trainers, for loss charts; it must allow the page's origin")
	return cmd
}

// webHandler serves the app's files, its /config.json and the chain's registry files.
type webHandler struct {
	clientCtx  client.Context
	opts       registryOpts
	prometheus string
	files      http.Handler
	builds     singleflight.Group

	mu       sync.Mutex
	built    time.Time // of the last good description
	failedAt time.Time // of the last failed build
	failure  error
	chain    registry.Chain
	assets   registry.AssetList
}

func newWebHandler(clientCtx client.Context, o registryOpts, prometheus string) *webHandler {
	return &webHandler{clientCtx: clientCtx, opts: o, prometheus: prometheus, files: http.FileServerFS(web.Assets())}
}

// registry is the chain's description, rebuilt from the node at most every 10 seconds (a new
// model's shares reach the wallet soon after it is created), one build at a time whoever asks.
// A failed build serves the last good description; a node that does not answer is asked again
// after 5 seconds, not on every request.
func (h *webHandler) registry(ctx context.Context) (registry.Chain, registry.AssetList, error) {
	h.mu.Lock()
	fresh := time.Since(h.built) < 10*time.Second
	recentFailure := h.failure != nil && time.Since(h.failedAt) < 5*time.Second
	chain, assets, have, failure := h.chain, h.assets, !h.built.IsZero(), h.failure
	h.mu.Unlock()
	switch {
	case fresh:
		return chain, assets, nil
	case recentFailure && have:
		return chain, assets, nil
	case recentFailure:
		return chain, assets, failure
	}
	ch := h.builds.DoChan("registry", func() (any, error) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		c, a, err := buildRegistry(bctx, h.clientCtx, h.opts)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.failure, h.failedAt = err, time.Now()
			return nil, err
		}
		h.chain, h.assets, h.built, h.failure = c, a, time.Now(), nil
		return nil, nil
	})
	select {
	case res := <-ch:
		h.mu.Lock()
		defer h.mu.Unlock()
		if res.Err != nil && h.built.IsZero() {
			return h.chain, h.assets, res.Err
		}
		return h.chain, h.assets, nil // the new one, or the last good one
	case <-ctx.Done():
		return chain, assets, ctx.Err()
	}
}

func (h *webHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Not to be framed by another site (a click on Claim or Vote there would be this page's).
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/config.json", "/registry/chain.json", "/registry/assetlist.json":
	default:
		w.Header().Set("Cache-Control", "no-cache")
		h.files.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 25*time.Second)
	defer cancel()
	chain, assets, err := h.registry(ctx)
	if err != nil {
		log.Printf("protolearnd web: describing the chain: %v", err)
		http.Error(w, "the node did not answer; try again shortly", http.StatusBadGateway)
		return
	}
	var v any
	switch r.URL.Path {
	case "/config.json":
		v = map[string]string{"chainId": chain.ChainID, "chainName": chain.ChainName, "rest": h.opts.rest, "rpc": h.opts.rpc, "prometheus": h.prometheus}
	case "/registry/chain.json":
		v = chain
	default:
		v = assets
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
