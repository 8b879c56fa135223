package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/server"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	anchorcli "github.com/protolearn/protolearn/x/anchor/client/cli"
	"github.com/protolearn/protolearn/x/anchor/ethkey"
	"github.com/protolearn/protolearn/x/anchor/relayer"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
)

const (
	flagEthRPC   = "eth-rpc"
	flagEthKey   = "eth-key"
	flagContract = "contract"
	flagInterval = "interval"
)

// anchorCmd is `protolearnd anchor`: the validator's key file and the Ethereum side (deploy the
// ShareAnchor contract, relay checkpoints to it).
func anchorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "anchor", Short: "Share checkpoints on Ethereum: anchor key, contract deployment, relayer", RunE: client.ValidateCmd}
	cmd.AddCommand(anchorInitKeyCmd(), anchorDeployCmd(), anchorRelayCmd())
	return cmd
}

func anchorInitKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-key",
		Short: "Create this validator's Ethereum key for signing anchor checkpoints (then: tx anchor set-key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString(flags.FlagHome)
			file, _ := cmd.Flags().GetString(anchorcli.FlagEthKeyFile)
			path := ethkey.Path(home, file)
			addr, err := ethkey.Generate(path)
			if err != nil {
				return err
			}
			cmd.Printf("anchor key %s written to %s\nregister it: protolearnd tx anchor set-key --from <operator key>\n", addr.Hex(), path)
			return nil
		},
	}
	cmd.Flags().String(anchorcli.FlagEthKeyFile, "", "where to write the key; relative paths are under --home (default "+ethkey.DefaultFile+")")
	return cmd
}

// ethFlags are the flags of the commands that send Ethereum transactions.
func ethFlags(cmd *cobra.Command) {
	cmd.Flags().String(flagEthRPC, "", "Ethereum JSON-RPC endpoint (http, ws or ipc)")
	cmd.Flags().String(flagEthKey, "", "hex key file of the Ethereum account that pays for the transactions (mode 600)")
	flags.AddQueryFlagsToCmd(cmd)
}

// ethSession dials the Ethereum node and loads the paying key.
func ethSession(cmd *cobra.Command) (*ethclient.Client, *bind.TransactOpts, error) {
	url, _ := cmd.Flags().GetString(flagEthRPC)
	keyFile, _ := cmd.Flags().GetString(flagEthKey)
	if url == "" || keyFile == "" {
		return nil, nil, fmt.Errorf("--%s and --%s are required", flagEthRPC, flagEthKey)
	}
	key, err := ethkey.Load(keyFile)
	if err != nil {
		return nil, nil, err
	}
	ec, err := ethclient.DialContext(cmd.Context(), url)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", url, err)
	}
	id, err := ec.ChainID(cmd.Context())
	if err != nil {
		ec.Close()
		return nil, nil, fmt.Errorf("%s: chain id: %w", url, err)
	}
	auth, err := bind.NewKeyedTransactorWithChainID(key, id)
	if err != nil {
		ec.Close()
		return nil, nil, err
	}
	return ec, auth, nil
}

func anchorDeployCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy ShareAnchor where governance named it, with the signing set of the latest checkpoint signed for it; --predict names it",
		Long: `Checkpoints are signed for one contract: its Ethereum chain id and address are in every
checkpoint hash, and x/anchor's params (deployment) name them. So a deployment goes in three
steps, from a deployer account that sends nothing else meanwhile:

  1. anchor deploy --predict    prints the address the deployer's next transaction creates, and a
                                governance proposal (MsgUpdateParams) naming it;
  2. the proposal passes; the next checkpoint is signed for that contract;
  3. anchor deploy              deploys it, with that checkpoint's signing set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			q := anchortypes.NewQueryClient(clientCtx)
			ec, auth, err := ethSession(cmd)
			if err != nil {
				return err
			}
			defer ec.Close()
			if predict, _ := cmd.Flags().GetBool(flagPredict); predict {
				return printDeploymentProposal(cmd, clientCtx, q, ec, auth.From)
			}
			res, err := q.Checkpoint(cmd.Context(), &anchortypes.QueryCheckpointRequest{})
			if err != nil {
				return fmt.Errorf("latest checkpoint: %w", err)
			}
			// The chain id checkpoints carry: the chain's first, kept across restarts.
			vs, err := q.Valset(cmd.Context(), &anchortypes.QueryValsetRequest{})
			if err != nil {
				return fmt.Errorf("anchor chain id: %w", err)
			}
			addr, err := relayer.Deploy(cmd.Context(), auth, ec, vs.ChainId, res.Checkpoint, nil)
			if err != nil {
				return err
			}
			cmd.Printf("ShareAnchor deployed at %s for chain %s (validator set of checkpoint %d)\n", addr.Hex(), vs.ChainId, res.Checkpoint.Height)
			return nil
		},
	}
	ethFlags(cmd)
	cmd.Flags().Bool(flagPredict, false, "print the deployment the deployer's next transaction creates and a governance proposal naming it; deploy nothing")
	return cmd
}

const flagPredict = "predict"

// printDeploymentProposal prints the deployment from's next transaction creates and a
// proposal file for `tx gov submit-proposal` that names it in x/anchor's params.
func printDeploymentProposal(cmd *cobra.Command, clientCtx client.Context, q anchortypes.QueryClient, ec relayer.Backend, from common.Address) error {
	d, err := relayer.Predict(cmd.Context(), ec, from)
	if err != nil {
		return err
	}
	params, err := q.Params(cmd.Context(), &anchortypes.QueryParamsRequest{})
	if err != nil {
		return fmt.Errorf("anchor params: %w", err)
	}
	p := params.Params
	p.Deployment = d
	msg := &anchortypes.MsgUpdateParams{Authority: authtypes.NewModuleAddress(govtypes.ModuleName).String(), Params: p}
	bz, err := clientCtx.Codec.MarshalInterfaceJSON(msg)
	if err != nil {
		return err
	}
	proposal := map[string]any{
		"messages": []json.RawMessage{bz},
		"title":    "Anchor share balances on Ethereum chain " + fmt.Sprint(d.EthereumChainId),
		"summary":  fmt.Sprintf("Checkpoints are signed for ShareAnchor at %s on Ethereum chain %d, which %s deploys next.", d.ContractAddress, d.EthereumChainId, from.Hex()),
		"deposit":  "",
	}
	out, err := json.MarshalIndent(proposal, "", "  ")
	if err != nil {
		return err
	}
	cmd.Printf("%s's next transaction creates %s on Ethereum chain %d. Send nothing else from it until `anchor deploy`.\n", from.Hex(), d.ContractAddress, d.EthereumChainId)
	cmd.Printf("Proposal for `tx gov submit-proposal` (set its deposit):\n%s\n", out)
	return nil
}

func anchorRelayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Submit the chain's signed checkpoints to ShareAnchor until stopped (safe to restart or run twice)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			contract, _ := cmd.Flags().GetString(flagContract)
			if !common.IsHexAddress(contract) {
				return fmt.Errorf("--%s %q is not an Ethereum address", flagContract, contract)
			}
			interval, _ := cmd.Flags().GetDuration(flagInterval)
			if interval <= 0 {
				return fmt.Errorf("--%s must be positive", flagInterval)
			}
			ec, auth, err := ethSession(cmd)
			if err != nil {
				return err
			}
			defer ec.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			r := &relayer.Relayer{
				Source: relayer.FromQuery(anchortypes.NewQueryClient(clientCtx)), Backend: ec,
				Address: common.HexToAddress(contract), Auth: auth,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
			}
			r.Logger.Info("anchor relay: started", "contract", contract, "from", auth.From, "interval", interval)
			if err := r.Run(ctx, interval); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		},
	}
	ethFlags(cmd)
	cmd.Flags().String(flagContract, "", "the ShareAnchor contract's address")
	cmd.Flags().Duration(flagInterval, 30*time.Second, "how often to look for new checkpoints")
	return cmd
}

// enableVoteExtensions turns on CometBFT vote extensions from height 1 in a genesis file: x/anchor's
// validators sign checkpoints in them.
func enableVoteExtensions(genesis *genutiltypes.AppGenesis) {
	if genesis.Consensus != nil && genesis.Consensus.Params != nil && genesis.Consensus.Params.ABCI.VoteExtensionsEnableHeight == 0 {
		genesis.Consensus.Params.ABCI.VoteExtensionsEnableHeight = 1
	}
}

// enableVoteExtensionsInFile is enableVoteExtensions on the genesis file of cmd's home.
func enableVoteExtensionsInFile(cmd *cobra.Command) error {
	cfg := server.GetServerContextFromCmd(cmd).Config
	path := cfg.GenesisFile()
	genesis, err := genutiltypes.AppGenesisFromFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	enableVoteExtensions(genesis)
	return genesis.SaveAs(path)
}
