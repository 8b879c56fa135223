package cli

import (
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/debug"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/pruning"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	"github.com/cosmos/cosmos-sdk/client/snapshot"
	"github.com/cosmos/cosmos-sdk/server"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/protolearn/protolearn/app"
)

// addCommands attaches every subcommand except the autocli-generated module commands.
func addCommands(rootCmd *cobra.Command, tempApp *app.App) {
	home := app.DefaultNodeHome
	basics := tempApp.BasicModuleManager

	rootCmd.AddCommand(
		initCmd(tempApp),
		testnetCmd(tempApp),
		configCmd(),
		debug.Cmd(),
		pruning.Cmd(newApp, home),
		snapshot.Cmd(newApp),
	)

	// start, comet (alias tendermint), export, version, rollback
	server.AddCommandsWithStartCmdOptions(rootCmd, home, newApp, exportApp, server.StartCmdOptions{})

	rootCmd.AddCommand(
		server.StatusCommand(),
		genutilcli.Commands(tempApp.TxConfig(), basics, home),
		queryCmd(),
		txCmd(),
		keys.Commands(),
		anchorCmd(),
		registryCmd(),
		webCmd(),
	)
}

// initCmd is the SDK's init with our defaults spelled out in its help.
func initCmd(tempApp *app.App) *cobra.Command {
	cmd := genutilcli.InitCmd(tempApp.BasicModuleManager, app.DefaultNodeHome)
	if f := cmd.Flags().Lookup(flags.FlagChainID); f != nil {
		f.Usage = "genesis file chain-id (default: client.toml's chain-id, which a new home sets to " + app.DefaultChainID + ")"
	}
	if f := cmd.Flags().Lookup(genutilcli.FlagDefaultBondDenom); f != nil {
		f.Usage = "genesis file default denomination (default " + app.BondDenom + ")"
	}
	// x/anchor needs vote extensions from the first block.
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := run(cmd, args); err != nil {
			return err
		}
		return enableVoteExtensionsInFile(cmd)
	}
	return cmd
}

// queryCmd holds the queries that are not a module's; autocli adds `query <module> …` under it.
func queryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "query",
		Aliases:                    []string{"q"},
		Short:                      "Querying subcommands",
		DisableFlagParsing:         false,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		rpc.WaitTxCmd(),
		rpc.ValidatorCommand(),
		server.QueryBlockCmd(),
		server.QueryBlocksCmd(),
		server.QueryBlockResultsCmd(),
		authcmd.QueryTxsByEventsCmd(),
		authcmd.QueryTxCmd(),
	)
	return cmd
}

// txCmd holds the tx tools that are not a module's; autocli adds `tx <module> …` under it.
func txCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "tx",
		Short:                      "Transactions subcommands",
		DisableFlagParsing:         false,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		authcmd.GetSignCommand(),
		authcmd.GetSignBatchCommand(),
		authcmd.GetMultiSignCommand(),
		authcmd.GetMultiSignBatchCmd(),
		authcmd.GetValidateSignaturesCommand(),
		authcmd.GetBroadcastCommand(),
		authcmd.GetEncodeCommand(),
		authcmd.GetDecodeCommand(),
		authcmd.GetSimulateCmd(),
	)
	return cmd
}
