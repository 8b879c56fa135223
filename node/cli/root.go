package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	txmodule "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/protolearn/protolearn/app"
)

// EnvPrefix prefixes the environment variables that stand in for flags (PROTOLEARND_HOME, …).
const EnvPrefix = "PROTOLEARND"

// NewRootCmd returns the root command of protolearnd with every subcommand attached.
func NewRootCmd() (*cobra.Command, error) {
	// The commands need the codecs, default genesis and autocli options before any node home is
	// known; a temporary app over an in-memory database provides them.
	tempApp, err := app.NewTempApp()
	if err != nil {
		return nil, err
	}
	enc := tempApp.EncodingConfig()

	initClientCtx := client.Context{}.
		WithCodec(enc.Codec).
		WithInterfaceRegistry(enc.InterfaceRegistry).
		WithTxConfig(enc.TxConfig).
		WithLegacyAmino(enc.Amino).
		WithInput(os.Stdin).
		WithAccountRetriever(authtypes.AccountRetriever{}).
		WithHomeDir(app.DefaultNodeHome).
		WithViper(EnvPrefix).
		// A new home's client.toml (and so `init` without --chain-id) gets the local chain id.
		WithChainID(app.DefaultChainID)

	rootCmd := &cobra.Command{
		Use:           "protolearnd",
		Short:         "protolearn chain daemon: run a node, manage keys, send transactions and queries",
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())

			// Flags first (for --home), then client.toml, then flags again so that they win over
			// the file: the textual sign mode below captures this context's --node.
			clientCtx := initClientCtx.WithCmdContext(cmd.Context())
			clientCtx, err := client.ReadPersistentCommandFlags(clientCtx, cmd.Flags())
			if err != nil {
				return fmt.Errorf("read flags: %w", err)
			}
			clientCtx, err = config.ReadFromClientConfig(clientCtx)
			if err != nil {
				return fmt.Errorf("read client.toml: %w", err)
			}
			clientCtx, err = client.ReadPersistentCommandFlags(clientCtx, cmd.Flags())
			if err != nil {
				return fmt.Errorf("read flags: %w", err)
			}
			// Online, sign with SIGN_MODE_TEXTUAL too; it looks denom metadata up on the node.
			if !clientCtx.Offline {
				txConfig, err := authtx.NewTxConfigWithOptions(clientCtx.Codec, authtx.ConfigOptions{
					EnabledSignModes:           append(append([]signing.SignMode(nil), authtx.DefaultSignModes...), signing.SignMode_SIGN_MODE_TEXTUAL),
					TextualCoinMetadataQueryFn: txmodule.NewGRPCCoinMetadataQueryFn(clientCtx),
				})
				if err != nil {
					return fmt.Errorf("tx config: %w", err)
				}
				clientCtx = clientCtx.WithTxConfig(txConfig)
			}
			if err := client.SetCmdClientContextHandler(clientCtx, cmd); err != nil {
				return err
			}

			appTemplate, appConfig := appConfigDefaults()
			return server.InterceptConfigsPreRunHandler(cmd, appTemplate, appConfig, cometConfigDefaults())
		},
	}

	addCommands(rootCmd, tempApp)

	autoCliOpts := tempApp.AutoCliOpts()
	autoCliOpts.ClientCtx = initClientCtx
	if err := autoCliOpts.EnhanceRootCommand(rootCmd); err != nil {
		return nil, fmt.Errorf("autocli: %w", err)
	}
	return rootCmd, nil
}
