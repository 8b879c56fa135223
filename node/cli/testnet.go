package cli

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/server"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
)

// `testnet init-files` is the one place a local chain is set up: make localnet, make demo,
// scripts/bench-chain.sh and the node end-to-end tests all call it (issue 17).

const (
	flagValidatorCount    = "v"
	flagOutputDir         = "output-dir"
	flagNodeDirPrefix     = "node-dir-prefix"
	flagStartingIPAddress = "starting-ip-address"
	flagSingleHost        = "single-host"
	flagSingleHome        = "single-home"
	flagKeyName           = "key-name"
	flagBasePort          = "base-port"
	flagP2PPort           = "p2p-port"
	flagRPCPort           = "rpc-port"
	flagABCIPort          = "abci-port"
	flagGRPCPort          = "grpc-port"
	flagAPIPort           = "api-port"
	flagPrometheusPort    = "prometheus-port"
	flagCommitTimeout     = "commit-timeout"
	flagProposeTimeout    = "propose-timeout"
	flagBalance           = "balance"
	flagSelfDelegation    = "self-delegation"
	flagAccount           = "account"
	flagAnchorKeys        = "anchor-keys"
	flagVerifyingKeys     = "verifying-keys"
	flagVerifyingShapes   = "verifying-key-shapes"
	flagGenesisOverrides  = "genesis-overrides"
	flagGenesisSet        = "genesis-set"
)

// testnetArgs are the settings of `testnet init-files`.
type testnetArgs struct {
	numValidators  int
	outputDir      string
	nodeDirPrefix  string
	singleHome     bool
	keyName        string
	chainID        string
	keyringBackend string
	algo           string
	startingIP     string
	singleHost     bool
	// Ports of node0; 0 for p2p, rpc and abci means base+0, +1 and +2, for prometheus "off".
	basePort, p2pPort, rpcPort, abciPort, grpcPort, apiPort, promPort int

	minGasPrices   string
	commitTimeout  time.Duration
	proposeTimeout time.Duration
	balance        sdk.Coins
	selfDelegation sdk.Coin
	accounts       []testnetAccount
	anchorKeys     bool
	// Genesis values, in the order they are applied: the verifying keys, the override files, sets.
	verifyingKeysDir string
	verifyingShapes  []string
	overrideFiles    []string
	sets             []genesisSet
}

// testnetAccount is one --account: a key made in node0's keyring and funded in genesis.
type testnetAccount struct {
	name  string
	coins sdk.Coins
}

func testnetCmd(tempApp *app.App) *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "testnet",
		Short:                      "Generate the files of a local network of one or more validators",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(testnetInitFilesCmd(tempApp))
	return cmd
}

func testnetInitFilesCmd(tempApp *app.App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-files",
		Short: "Write the homes of N validators that form one network, ready for `protolearnd start --home`",
		Long: `Write one node home per validator under --output-dir (node0, node1, …), each with its
CometBFT config, node and validator keys, a funded operator key in the keyring (named like the
node, or --key-name), client.toml pointing at the node's own RPC, and one shared genesis carrying
every validator's gentx. Nodes find each other through persistent_peers. Every key's mnemonic is
kept in <home>/mnemonics/<name>.json (test networks only).

With --single-host (the default) every node listens on --starting-ip-address, node i on ports
--base-port+10i (p2p), +1 (RPC), +2 (ABCI proxy), --grpc-port+i and --api-port+i, so a whole
network runs on one machine; --p2p-port, --rpc-port and --abci-port place those three elsewhere
(node i still adds 10i). Without it node i listens on the starting address + i with the base
ports. pprof is off; Prometheus is on only with --prometheus-port.

A local chain (make localnet, make demo, the end-to-end tests) is one validator whose home is
--output-dir itself (--v 1 --single-home), with more funded keys (--account NAME=COINS), the tile
verifying keys of ceremonies (--verifying-keys DIR) and genesis parameters of its own: a JSON file
of {"path": value} (--genesis-overrides) and single values (--genesis-set path=value), applied in
that order. A path names an existing genesis field, dot-separated, e.g.
app_state.gov.params.voting_period; the value is JSON of the field's type ('"60s"', '"8"', '{…}').
The genesis must still validate afterwards.

Examples:
  protolearnd testnet init-files --v 4 --output-dir ./.testnets
  protolearnd start --home ./.testnets/node0

  protolearnd testnet init-files --v 1 --single-home --output-dir ./.localnet --key-name validator \
    --account alice=1000000000000ulearn --verifying-keys build/ceremony \
    --genesis-overrides scripts/localnet-genesis.json \
    --genesis-set 'app_state.compute.params.jail_duration="60s"'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			args, err := readTestnetArgs(cmd.Flags())
			if err != nil {
				return err
			}
			// The flags are fine: an error from here on is about the files, not the usage.
			cmd.SilenceUsage = true
			nodes, accounts, err := initTestnetFiles(cmd, tempApp, args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, n := range nodes {
				fmt.Fprintf(out, "%s: home %s, p2p %s:%d, rpc tcp://%s:%d, grpc %s:%d, api http://%s:%d, operator %s (key %s)\n",
					n.name, n.home, n.ip, n.p2pPort, n.ip, n.rpcPort, n.ip, n.grpcPort, n.ip, n.apiPort, n.addr, n.keyName)
			}
			for _, a := range accounts {
				fmt.Fprintf(out, "account %s: %s, %s\n", a.name, a.addr, a.coins)
			}
			fmt.Fprintf(out, "Wrote a %d-validator network %q to %s\n", len(nodes), args.chainID, args.outputDir)
			return nil
		},
	}

	f := cmd.Flags()
	f.Int(flagValidatorCount, 4, "number of validators")
	f.String(flagOutputDir, "./.testnets", "directory for the node homes and gentxs")
	f.String(flagNodeDirPrefix, "node", "prefix of the node directories, monikers and (without --key-name) key names")
	f.Bool(flagSingleHome, false, "with --v 1: the node's home is --output-dir itself, not --output-dir/node0")
	f.String(flagKeyName, "", "name of the operator keys: NAME with --v 1, NAME<i> for node i otherwise (default: the node's name)")
	f.String(flags.FlagChainID, app.DefaultChainID, "chain id")
	f.String(flags.FlagKeyringBackend, keyring.BackendTest, "keyring backend of the operator and --account keys (os|file|test)")
	f.String(flags.FlagKeyType, string(hd.Secp256k1Type), "key signing algorithm of the operator and --account keys")
	f.String(flagStartingIPAddress, "127.0.0.1", "IP address of node0")
	f.Bool(flagSingleHost, true, "run every node on the starting IP address, with ports shifted per node")
	f.Int(flagBasePort, 26656, "p2p port of node0; RPC is +1, ABCI proxy +2; node i adds 10i")
	f.Int(flagP2PPort, 0, "p2p port of node0 (default --base-port); node i adds 10i")
	f.Int(flagRPCPort, 0, "CometBFT RPC port of node0 (default --base-port+1); node i adds 10i")
	f.Int(flagABCIPort, 0, "ABCI proxy port of node0 (default --base-port+2); node i adds 10i")
	f.Int(flagGRPCPort, 9090, "gRPC port of node0; node i adds i")
	f.Int(flagAPIPort, 1317, "REST API port of node0; node i adds i")
	f.Int(flagPrometheusPort, 0, "CometBFT Prometheus metrics port of node0, node i adds i (0: metrics off)")
	f.String(server.FlagMinGasPrices, "0"+app.BondDenom, "minimum gas prices each node accepts")
	f.Duration(flagCommitTimeout, 0, "CometBFT timeout_commit (0: CometBFT's default)")
	f.Duration(flagProposeTimeout, 0, "CometBFT timeout_propose (0: CometBFT's default)")
	f.String(flagBalance, "1000000000000"+app.BondDenom, "genesis balance of each validator's operator account")
	f.String(flagSelfDelegation, "100000000000"+app.BondDenom, "self-delegation of each validator")
	f.StringArray(flagAccount, nil, "NAME=COINS: one more key, in node0's keyring, funded in genesis (repeatable)")
	f.Bool(flagAnchorKeys, true, "give each validator an anchor key (x/anchor), registered in genesis")
	f.String(flagVerifyingKeys, "", "directory of ceremony outputs, <shape>/verifying.key: their keys become x/verify's verifying_keys")
	f.StringSlice(flagVerifyingShapes, nil, "the shapes to take from --verifying-keys (default: every shape there)")
	f.StringArray(flagGenesisOverrides, nil, `JSON file of genesis values, {"path": value, …} (repeatable)`)
	f.StringArray(flagGenesisSet, nil, `path=value: one genesis value, JSON, e.g. 'app_state.gov.params.voting_period="60s"' (repeatable)`)
	// --validator-count is the SDK's newer name for --v.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "validator-count" {
			name = flagValidatorCount
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// keyNamePattern keeps key names usable as file names (mnemonics/<name>.json) and shell words.
var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func readTestnetArgs(f *pflag.FlagSet) (testnetArgs, error) {
	// The flags are all defined by testnetInitFilesCmd with these types, so Get* cannot fail.
	var a testnetArgs
	a.numValidators, _ = f.GetInt(flagValidatorCount)
	a.outputDir, _ = f.GetString(flagOutputDir)
	a.nodeDirPrefix, _ = f.GetString(flagNodeDirPrefix)
	a.singleHome, _ = f.GetBool(flagSingleHome)
	a.keyName, _ = f.GetString(flagKeyName)
	a.chainID, _ = f.GetString(flags.FlagChainID)
	a.keyringBackend, _ = f.GetString(flags.FlagKeyringBackend)
	a.algo, _ = f.GetString(flags.FlagKeyType)
	a.startingIP, _ = f.GetString(flagStartingIPAddress)
	a.singleHost, _ = f.GetBool(flagSingleHost)
	a.basePort, _ = f.GetInt(flagBasePort)
	a.p2pPort, _ = f.GetInt(flagP2PPort)
	a.rpcPort, _ = f.GetInt(flagRPCPort)
	a.abciPort, _ = f.GetInt(flagABCIPort)
	a.grpcPort, _ = f.GetInt(flagGRPCPort)
	a.apiPort, _ = f.GetInt(flagAPIPort)
	a.promPort, _ = f.GetInt(flagPrometheusPort)
	a.minGasPrices, _ = f.GetString(server.FlagMinGasPrices)
	a.commitTimeout, _ = f.GetDuration(flagCommitTimeout)
	a.proposeTimeout, _ = f.GetDuration(flagProposeTimeout)
	a.anchorKeys, _ = f.GetBool(flagAnchorKeys)
	a.verifyingKeysDir, _ = f.GetString(flagVerifyingKeys)
	a.verifyingShapes, _ = f.GetStringSlice(flagVerifyingShapes)
	a.overrideFiles, _ = f.GetStringArray(flagGenesisOverrides)

	if a.numValidators < 1 {
		return a, fmt.Errorf("--%s must be at least 1, got %d", flagValidatorCount, a.numValidators)
	}
	if a.singleHome && a.numValidators != 1 {
		return a, fmt.Errorf("--%s needs --%s 1 (got %d): several nodes cannot share one home", flagSingleHome, flagValidatorCount, a.numValidators)
	}
	if a.chainID == "" {
		return a, fmt.Errorf("--%s must not be empty", flags.FlagChainID)
	}
	if a.keyName != "" && !keyNamePattern.MatchString(a.keyName) {
		return a, fmt.Errorf("--%s %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", flagKeyName, a.keyName)
	}
	if net.ParseIP(a.startingIP).To4() == nil {
		return a, fmt.Errorf("--%s %q is not an IPv4 address", flagStartingIPAddress, a.startingIP)
	}
	for name, p := range map[string]int{flagP2PPort: a.p2pPort, flagRPCPort: a.rpcPort, flagABCIPort: a.abciPort, flagPrometheusPort: a.promPort} {
		if p < 0 || p > 65535 {
			return a, fmt.Errorf("--%s %d is not a port (1-65535, or 0 for the default)", name, p)
		}
	}
	if a.commitTimeout < 0 || a.proposeTimeout < 0 {
		return a, fmt.Errorf("--%s and --%s must not be negative", flagCommitTimeout, flagProposeTimeout)
	}
	if _, err := sdk.ParseDecCoins(a.minGasPrices); err != nil {
		return a, fmt.Errorf("--%s %q: %w", server.FlagMinGasPrices, a.minGasPrices, err)
	}

	var err error
	balance, _ := f.GetString(flagBalance)
	if a.balance, err = sdk.ParseCoinsNormalized(balance); err != nil {
		return a, fmt.Errorf("--%s %q: %w", flagBalance, balance, err)
	}
	selfDelegation, _ := f.GetString(flagSelfDelegation)
	if a.selfDelegation, err = sdk.ParseCoinNormalized(selfDelegation); err != nil {
		return a, fmt.Errorf("--%s %q: %w", flagSelfDelegation, selfDelegation, err)
	}
	if a.selfDelegation.Denom != app.BondDenom {
		return a, fmt.Errorf("--%s must be in %s, got %s", flagSelfDelegation, app.BondDenom, a.selfDelegation)
	}
	if a.balance.AmountOf(app.BondDenom).LT(a.selfDelegation.Amount) {
		return a, fmt.Errorf("--%s %s does not cover --%s %s", flagBalance, a.balance, flagSelfDelegation, a.selfDelegation)
	}

	accounts, _ := f.GetStringArray(flagAccount)
	if a.accounts, err = parseTestnetAccounts(accounts); err != nil {
		return a, err
	}
	if len(a.verifyingShapes) > 0 && a.verifyingKeysDir == "" {
		return a, fmt.Errorf("--%s needs --%s, the directory the shapes are in", flagVerifyingShapes, flagVerifyingKeys)
	}
	sets, _ := f.GetStringArray(flagGenesisSet)
	for _, s := range sets {
		set, err := parseGenesisSet(s)
		if err != nil {
			return a, err
		}
		a.sets = append(a.sets, set)
	}
	return a, nil
}

// parseTestnetAccounts reads the --account NAME=COINS values.
func parseTestnetAccounts(values []string) ([]testnetAccount, error) {
	seen := map[string]bool{}
	accounts := make([]testnetAccount, 0, len(values))
	for _, v := range values {
		name, coins, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--%s %q: want NAME=COINS, e.g. alice=1000000ulearn", flagAccount, v)
		}
		if !keyNamePattern.MatchString(name) {
			return nil, fmt.Errorf("--%s %q: the name must be letters, digits, '_', '.' and '-', starting with a letter or digit", flagAccount, v)
		}
		if seen[name] {
			return nil, fmt.Errorf("--%s %s is given twice: one balance per key", flagAccount, name)
		}
		seen[name] = true
		parsed, err := sdk.ParseCoinsNormalized(coins)
		if err != nil || parsed.IsZero() {
			return nil, fmt.Errorf("--%s %q: %q is not a positive amount of coins, e.g. 1000000ulearn or 5ulearn,2share/1 (%v)", flagAccount, v, coins, err)
		}
		accounts = append(accounts, testnetAccount{name: name, coins: parsed})
	}
	return accounts, nil
}
