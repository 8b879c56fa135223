package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/grpc/node"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/node/registry"
)

const (
	flagRegistryOut     = "out"
	flagRegistryName    = "chain-name"
	flagRegistryNetwork = "network-type"
	flagRegistryRPC     = "rpc-address"
	flagRegistryREST    = "rest-address"
	flagRegistryGRPC    = "grpc-address"
)

// registryCmd writes chain.json and assetlist.json from the live chain.
func registryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Write the chain's chain.json and assetlist.json (cosmos chain-registry formats) from a live node",
		Long: `registry asks a running node (--node) for its chain id, staking and fee tokens, minimum gas
price and the bank's denom metadata (LEARN and every model's share/N), and writes chain.json and
assetlist.json in the cosmos chain-registry's formats to --out, checked against the registry's
schemas first. Wallets (Keplr's experimentalSuggestChain in the web app) and explorers read
them; regenerate them when models are created, so they never drift from the chain.

--rpc-address, --rest-address and --grpc-address are the public endpoints the files name
(default: the node queried, and the localnet's REST and gRPC).`,
		Example: `  protolearnd registry --node tcp://127.0.0.1:26657 --out build/registry`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			chain, assets, err := buildRegistry(cmd.Context(), clientCtx, readRegistryOpts(cmd, clientCtx))
			if err != nil {
				return err
			}
			out, _ := cmd.Flags().GetString(flagRegistryOut)
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			for name, v := range map[string]any{"chain.json": chain, "assetlist.json": assets} {
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(out, name), append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			cmd.Printf("wrote %s and %s: chain %s, %d assets\n", filepath.Join(out, "chain.json"), filepath.Join(out, "assetlist.json"), chain.ChainID, len(assets.Assets))
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().String(flagRegistryOut, "build/registry", "directory to write chain.json and assetlist.json to")
	addRegistryFlags(cmd)
	return cmd
}

// addRegistryFlags are the chain description's flags (registry, web).
func addRegistryFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String(flagRegistryName, "protolearn", "the registry's chain_name ([a-z0-9]+)")
	f.String(flagRegistryNetwork, "testnet", "the registry's network_type: mainnet, testnet or devnet")
	f.String(flagRegistryRPC, "", "public CometBFT RPC endpoint (default: --node, as http)")
	f.String(flagRegistryREST, "http://127.0.0.1:1317", "public REST (gRPC-gateway) endpoint")
	f.String(flagRegistryGRPC, "127.0.0.1:9090", "public gRPC endpoint")
}

// registryOpts are the chain description's names and public endpoints.
type registryOpts struct {
	name, network, rpc, rest, grpc string
}

func readRegistryOpts(cmd *cobra.Command, clientCtx client.Context) registryOpts {
	f := cmd.Flags()
	var o registryOpts
	o.name, _ = f.GetString(flagRegistryName)
	o.network, _ = f.GetString(flagRegistryNetwork)
	o.rpc, _ = f.GetString(flagRegistryRPC)
	if o.rpc == "" {
		o.rpc = strings.Replace(clientCtx.NodeURI, "tcp://", "http://", 1)
	}
	o.rest, _ = f.GetString(flagRegistryREST)
	o.grpc, _ = f.GetString(flagRegistryGRPC)
	return o
}

// buildRegistry is chain.json and assetlist.json of the live chain, held to the registry's
// schemas.
func buildRegistry(ctx context.Context, clientCtx client.Context, o registryOpts) (registry.Chain, registry.AssetList, error) {
	info, err := registryInfo(ctx, clientCtx, o)
	if err != nil {
		return registry.Chain{}, registry.AssetList{}, err
	}
	chain, assets := registry.Build(info)
	if err := chain.Validate(); err != nil {
		return chain, assets, fmt.Errorf("chain.json does not fit the registry's schema: %w", err)
	}
	if err := assets.Validate(); err != nil {
		return chain, assets, fmt.Errorf("assetlist.json does not fit the registry's schema: %w", err)
	}
	return chain, assets, nil
}

// registryInfo asks the node what registry.Build needs.
func registryInfo(ctx context.Context, clientCtx client.Context, o registryOpts) (registry.Info, error) {
	in := registry.Info{Bech32Prefix: sdk.GetConfig().GetBech32AccountAddrPrefix(), GoVersion: runtime.Version()}
	in.ChainName, in.NetworkType = o.name, o.network
	in.RPC, in.REST, in.GRPC = []string{o.rpc}, []string{o.rest}, []string{o.grpc}

	rpcClient, err := clientCtx.GetNode()
	if err != nil {
		return in, fmt.Errorf("--node: %w", err)
	}
	status, err := rpcClient.Status(ctx)
	if err != nil {
		return in, fmt.Errorf("node status at %s: %w", clientCtx.NodeURI, err)
	}
	in.ChainID = status.NodeInfo.Network
	staking, err := stakingtypes.NewQueryClient(clientCtx).Params(ctx, &stakingtypes.QueryParamsRequest{})
	if err != nil {
		return in, fmt.Errorf("staking params: %w", err)
	}
	in.BondDenom, in.FeeDenom = staking.Params.BondDenom, staking.Params.BondDenom
	if cfg, err := node.NewServiceClient(clientCtx).Config(ctx, &node.ConfigRequest{}); err == nil {
		if prices, err := sdk.ParseDecCoins(cfg.MinimumGasPrice); err == nil {
			in.MinGasPrice, _ = prices.AmountOf(in.FeeDenom).Float64()
		}
	}
	bank := banktypes.NewQueryClient(clientCtx)
	var key []byte
	for {
		res, err := bank.DenomsMetadata(ctx, &banktypes.QueryDenomsMetadataRequest{Pagination: &query.PageRequest{Key: key, Limit: 200}})
		if err != nil {
			return in, fmt.Errorf("denom metadata: %w", err)
		}
		in.Metadata = append(in.Metadata, res.Metadatas...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			break
		}
		key = res.Pagination.NextKey
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			switch d.Path {
			case "github.com/cosmos/cosmos-sdk":
				in.SDKVersion = simpleVersion(v)
			case "github.com/cometbft/cometbft":
				in.CometVersion = simpleVersion(v)
			}
		}
	}
	return in, nil
}

// simpleVersion is v1.2.3 of a module version (v1.2.3-rc.1+x: v1.2.3), as the registry wants.
func simpleVersion(v string) string {
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	return v
}
