package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/protolearn/protolearn/x/anchor/ethkey"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttime "github.com/cometbft/cometbft/types/time"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	"github.com/cosmos/cosmos-sdk/server"
	srvconfig "github.com/cosmos/cosmos-sdk/server/config"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/app"
)

const (
	flagValidatorCount    = "v"
	flagOutputDir         = "output-dir"
	flagNodeDirPrefix     = "node-dir-prefix"
	flagStartingIPAddress = "starting-ip-address"
	flagSingleHost        = "single-host"
	flagBasePort          = "base-port"
	flagGRPCPort          = "grpc-port"
	flagAPIPort           = "api-port"
	flagCommitTimeout     = "commit-timeout"
	flagBalance           = "balance"
	flagSelfDelegation    = "self-delegation"
)

// testnetArgs are the settings of `testnet init-files`.
type testnetArgs struct {
	numValidators  int
	outputDir      string
	nodeDirPrefix  string
	chainID        string
	keyringBackend string
	algo           string
	startingIP     string
	singleHost     bool
	basePort       int
	grpcPort       int
	apiPort        int
	minGasPrices   string
	commitTimeout  time.Duration
	balance        sdk.Coins
	selfDelegation sdk.Coin
}

// testnetNode is one validator of the generated network.
type testnetNode struct {
	name     string
	home     string
	ip       string
	p2pPort  int
	rpcPort  int
	abciPort int
	grpcPort int
	apiPort  int
	nodeID   string
	valPub   cryptotypes.PubKey
	addr     sdk.AccAddress
	cmtCfg   *cmtcfg.Config
	// ethAddr is the node's anchor key (x/anchor), written under its home and registered in
	// genesis so that the testnet signs share checkpoints from the start.
	ethAddr common.Address
}

func testnetCmd(tempApp *app.App) *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "testnet",
		Short:                      "Generate the files of a local multi-validator network",
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
node), client.toml pointing at the node's own RPC, and one shared genesis carrying every
validator's gentx. Nodes find each other through persistent_peers.

With --single-host (the default) every node listens on --starting-ip-address, node i on ports
--base-port+10i (p2p), +1 (RPC), +2 (ABCI proxy), --grpc-port+i and --api-port+i, so a whole
network runs on one machine. Without it node i listens on the starting address + i with the base
ports. pprof is off.

Example:
  protolearnd testnet init-files --v 4 --output-dir ./.testnets
  protolearnd start --home ./.testnets/node0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			args, err := readTestnetArgs(cmd.Flags())
			if err != nil {
				return err
			}
			nodes, err := initTestnetFiles(cmd, tempApp, args)
			if err != nil {
				return err
			}
			for _, n := range nodes {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: home %s, p2p %s:%d, rpc tcp://%s:%d, grpc %s:%d, api http://%s:%d, operator %s\n",
					n.name, n.home, n.ip, n.p2pPort, n.ip, n.rpcPort, n.ip, n.grpcPort, n.ip, n.apiPort, n.addr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote a %d-validator network %q to %s\n", len(nodes), args.chainID, args.outputDir)
			return nil
		},
	}

	f := cmd.Flags()
	f.Int(flagValidatorCount, 4, "number of validators")
	f.String(flagOutputDir, "./.testnets", "directory for the node homes and gentxs")
	f.String(flagNodeDirPrefix, "node", "prefix of the node directories, monikers and key names")
	f.String(flags.FlagChainID, app.DefaultChainID, "chain id")
	f.String(flags.FlagKeyringBackend, keyring.BackendTest, "keyring backend of the operator keys (os|file|test)")
	f.String(flags.FlagKeyType, string(hd.Secp256k1Type), "key signing algorithm of the operator keys")
	f.String(flagStartingIPAddress, "127.0.0.1", "IP address of node0")
	f.Bool(flagSingleHost, true, "run every node on the starting IP address, with ports shifted per node")
	f.Int(flagBasePort, 26656, "p2p port of node0; RPC is +1, ABCI proxy +2; node i adds 10i")
	f.Int(flagGRPCPort, 9090, "gRPC port of node0; node i adds i")
	f.Int(flagAPIPort, 1317, "REST API port of node0; node i adds i")
	f.String(server.FlagMinGasPrices, "0"+app.BondDenom, "minimum gas prices each node accepts")
	f.Duration(flagCommitTimeout, 0, "CometBFT timeout_commit (0: CometBFT's default)")
	f.String(flagBalance, "1000000000000"+app.BondDenom, "genesis balance of each validator's operator account")
	f.String(flagSelfDelegation, "100000000000"+app.BondDenom, "self-delegation of each validator")
	// --validator-count is the SDK's newer name for --v.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "validator-count" {
			name = flagValidatorCount
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

func readTestnetArgs(f *pflag.FlagSet) (testnetArgs, error) {
	// The flags are all defined by testnetInitFilesCmd with these types, so Get* cannot fail.
	var a testnetArgs
	a.numValidators, _ = f.GetInt(flagValidatorCount)
	a.outputDir, _ = f.GetString(flagOutputDir)
	a.nodeDirPrefix, _ = f.GetString(flagNodeDirPrefix)
	a.chainID, _ = f.GetString(flags.FlagChainID)
	a.keyringBackend, _ = f.GetString(flags.FlagKeyringBackend)
	a.algo, _ = f.GetString(flags.FlagKeyType)
	a.startingIP, _ = f.GetString(flagStartingIPAddress)
	a.singleHost, _ = f.GetBool(flagSingleHost)
	a.basePort, _ = f.GetInt(flagBasePort)
	a.grpcPort, _ = f.GetInt(flagGRPCPort)
	a.apiPort, _ = f.GetInt(flagAPIPort)
	a.minGasPrices, _ = f.GetString(server.FlagMinGasPrices)
	a.commitTimeout, _ = f.GetDuration(flagCommitTimeout)

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
	if a.numValidators < 1 {
		return a, fmt.Errorf("--%s must be at least 1, got %d", flagValidatorCount, a.numValidators)
	}
	if net.ParseIP(a.startingIP).To4() == nil {
		return a, fmt.Errorf("--%s %q is not an IPv4 address", flagStartingIPAddress, a.startingIP)
	}
	if _, err := sdk.ParseDecCoins(a.minGasPrices); err != nil {
		return a, fmt.Errorf("--%s %q: %w", server.FlagMinGasPrices, a.minGasPrices, err)
	}
	return a, nil
}

// initTestnetFiles writes every node home, the gentxs and the shared genesis.
func initTestnetFiles(cmd *cobra.Command, tempApp *app.App, args testnetArgs) ([]*testnetNode, error) {
	gentxsDir := filepath.Join(args.outputDir, "gentxs")
	if _, err := os.Stat(gentxsDir); err == nil {
		return nil, fmt.Errorf("%s already exists: remove %s or choose another --%s", gentxsDir, args.outputDir, flagOutputDir)
	}

	nodes := make([]*testnetNode, args.numValidators)
	var (
		genAccounts []authtypes.GenesisAccount
		genBalances []banktypes.Balance
	)
	for i := range nodes {
		n, err := newTestnetNode(args, i)
		if err != nil {
			return nil, err
		}
		if err := writeNodeFiles(cmd, tempApp, args, n, gentxsDir); err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		nodes[i] = n
		genAccounts = append(genAccounts, authtypes.NewBaseAccount(n.addr, nil, 0, 0))
		genBalances = append(genBalances, banktypes.Balance{Address: n.addr.String(), Coins: args.balance})
	}

	if err := writeInitialGenesis(tempApp, args, nodes, genAccounts, genBalances); err != nil {
		return nil, err
	}
	if err := collectGentxs(tempApp, args, nodes, gentxsDir); err != nil {
		return nil, err
	}
	return nodes, nil
}

// newTestnetNode places node i: its directory, address and ports.
func newTestnetNode(args testnetArgs, i int) (*testnetNode, error) {
	n := &testnetNode{
		name:     fmt.Sprintf("%s%d", args.nodeDirPrefix, i),
		p2pPort:  args.basePort,
		rpcPort:  args.basePort + 1,
		abciPort: args.basePort + 2,
		grpcPort: args.grpcPort,
		apiPort:  args.apiPort,
	}
	n.home = filepath.Join(args.outputDir, n.name)
	if args.singleHost {
		n.ip = args.startingIP
		n.p2pPort += 10 * i
		n.rpcPort += 10 * i
		n.abciPort += 10 * i
		n.grpcPort += i
		n.apiPort += i
	} else {
		ip := net.ParseIP(args.startingIP).To4()
		ip = append(net.IP(nil), ip...)
		for k := 0; k < i; k++ {
			for b := len(ip) - 1; b >= 0; b-- {
				ip[b]++
				if ip[b] != 0 {
					break
				}
			}
		}
		n.ip = ip.String()
	}
	for _, p := range []int{n.p2pPort, n.rpcPort, n.abciPort, n.grpcPort, n.apiPort} {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("%s: port %d out of range", n.name, p)
		}
	}
	return n, nil
}

// writeNodeFiles writes one node's config, keys, app.toml, client.toml and gentx.
func writeNodeFiles(cmd *cobra.Command, tempApp *app.App, args testnetArgs, n *testnetNode, gentxsDir string) error {
	if err := os.MkdirAll(filepath.Join(n.home, "config"), 0o755); err != nil {
		return fmt.Errorf("create home: %w", err)
	}

	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(n.home)
	cfg.Moniker = n.name
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://%s:%d", n.ip, n.p2pPort)
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://%s:%d", n.ip, n.rpcPort)
	cfg.ProxyApp = fmt.Sprintf("tcp://%s:%d", n.ip, n.abciPort)
	cfg.RPC.PprofListenAddress = ""
	// Local networks share one IP (single host) or a private range: accept such peers.
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.AllowDuplicateIP = true
	if args.commitTimeout > 0 {
		cfg.Consensus.TimeoutCommit = args.commitTimeout
	}
	n.cmtCfg = cfg

	nodeID, valPub, err := genutil.InitializeNodeValidatorFiles(cfg)
	if err != nil {
		return fmt.Errorf("node and validator keys: %w", err)
	}
	n.nodeID, n.valPub = nodeID, valPub

	kb, err := keyring.New(sdk.KeyringServiceName(), args.keyringBackend, n.home, bufio.NewReader(cmd.InOrStdin()), tempApp.AppCodec())
	if err != nil {
		return fmt.Errorf("open keyring: %w", err)
	}
	supported, _ := kb.SupportedAlgorithms()
	algo, err := keyring.NewSigningAlgoFromString(args.algo, supported)
	if err != nil {
		return fmt.Errorf("key algorithm %q: %w", args.algo, err)
	}
	record, mnemonic, err := kb.NewMnemonic(n.name, keyring.English, sdk.FullFundraiserPath, keyring.DefaultBIP39Passphrase, algo)
	if err != nil {
		return fmt.Errorf("operator key: %w", err)
	}
	if n.addr, err = record.GetAddress(); err != nil {
		return fmt.Errorf("operator key address: %w", err)
	}
	// The mnemonic lets the key be recovered into another keyring (keys add --recover).
	seed, err := json.Marshal(map[string]string{"name": n.name, "address": n.addr.String(), "secret": mnemonic})
	if err != nil {
		return fmt.Errorf("encode key seed: %w", err)
	}
	if err := os.WriteFile(filepath.Join(n.home, "key_seed.json"), seed, 0o600); err != nil {
		return fmt.Errorf("write key seed: %w", err)
	}

	if err := writeGentx(cmd.Context(), tempApp, args, n, kb, gentxsDir); err != nil {
		return err
	}

	appCfg := srvconfig.DefaultConfig()
	appCfg.MinGasPrices = args.minGasPrices
	appCfg.API.Enable = true
	appCfg.API.Swagger = false
	appCfg.API.Address = fmt.Sprintf("tcp://%s:%d", n.ip, n.apiPort)
	appCfg.GRPC.Address = fmt.Sprintf("%s:%d", n.ip, n.grpcPort)
	appCfg.Telemetry.Enabled = false
	srvconfig.WriteConfigFile(filepath.Join(n.home, "config", "app.toml"), appConfig{Config: *appCfg})
	ethAddr, err := ethkey.Generate(ethkey.Path(n.home, ""))
	if err != nil {
		return fmt.Errorf("%s: anchor key: %w", n.name, err)
	}
	n.ethAddr = ethAddr

	clientCfg := config.DefaultConfig()
	clientCfg.ChainID = args.chainID
	clientCfg.KeyringBackend = args.keyringBackend
	clientCfg.Node = fmt.Sprintf("tcp://%s:%d", n.ip, n.rpcPort)
	return writeClientConfig(n.home, clientCfg)
}

// writeGentx signs the node's create-validator tx into gentxsDir; its memo tells the other nodes
// where to reach this one.
func writeGentx(ctx context.Context, tempApp *app.App, args testnetArgs, n *testnetNode, kb keyring.Keyring, gentxsDir string) error {
	commission := stakingtypes.NewCommissionRates(
		math.LegacyNewDecWithPrec(1, 1), // 10%
		math.LegacyNewDecWithPrec(2, 1), // at most 20%
		math.LegacyNewDecWithPrec(1, 2), // changing by at most 1% a day
	)
	msg, err := stakingtypes.NewMsgCreateValidator(
		sdk.ValAddress(n.addr).String(), n.valPub, args.selfDelegation,
		stakingtypes.NewDescription(n.name, "", "", "", ""), commission, math.OneInt(),
	)
	if err != nil {
		return fmt.Errorf("create-validator msg: %w", err)
	}

	txConfig := tempApp.TxConfig()
	memo := fmt.Sprintf("%s@%s:%d", n.nodeID, n.ip, n.p2pPort)
	builder := txConfig.NewTxBuilder()
	if err := builder.SetMsgs(msg); err != nil {
		return fmt.Errorf("gentx: %w", err)
	}
	builder.SetMemo(memo)
	builder.SetGasLimit(flags.DefaultGasLimit)

	txf := tx.Factory{}.
		WithChainID(args.chainID).
		WithMemo(memo).
		WithKeybase(kb).
		WithTxConfig(txConfig)
	if err := tx.Sign(ctx, txf, n.name, builder, true); err != nil {
		return fmt.Errorf("sign gentx: %w", err)
	}
	bz, err := txConfig.TxJSONEncoder()(builder.GetTx())
	if err != nil {
		return fmt.Errorf("encode gentx: %w", err)
	}
	if err := os.MkdirAll(gentxsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", gentxsDir, err)
	}
	path := filepath.Join(gentxsDir, n.name+".json")
	if err := os.WriteFile(path, bz, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeInitialGenesis writes the default genesis plus the validator accounts to every node.
func writeInitialGenesis(tempApp *app.App, args testnetArgs, nodes []*testnetNode, accounts []authtypes.GenesisAccount, balances []banktypes.Balance) error {
	cdc := tempApp.AppCodec()
	state := tempApp.DefaultGenesis()

	var authGen authtypes.GenesisState
	if err := cdc.UnmarshalJSON(state[authtypes.ModuleName], &authGen); err != nil {
		return fmt.Errorf("default auth genesis: %w", err)
	}
	packed, err := authtypes.PackAccounts(accounts)
	if err != nil {
		return fmt.Errorf("pack genesis accounts: %w", err)
	}
	authGen.Accounts = append(authGen.Accounts, packed...)
	if state[authtypes.ModuleName], err = cdc.MarshalJSON(&authGen); err != nil {
		return fmt.Errorf("auth genesis: %w", err)
	}

	var bankGen banktypes.GenesisState
	if err := cdc.UnmarshalJSON(state[banktypes.ModuleName], &bankGen); err != nil {
		return fmt.Errorf("default bank genesis: %w", err)
	}
	bankGen.Balances = banktypes.SanitizeGenesisBalances(append(bankGen.Balances, balances...))
	if state[banktypes.ModuleName], err = cdc.MarshalJSON(&bankGen); err != nil {
		return fmt.Errorf("bank genesis: %w", err)
	}

	var anchorGen anchortypes.GenesisState
	if err := cdc.UnmarshalJSON(state[anchortypes.ModuleName], &anchorGen); err != nil {
		return fmt.Errorf("default anchor genesis: %w", err)
	}
	for _, n := range nodes {
		anchorGen.Keys = append(anchorGen.Keys, anchortypes.AnchorKey{ValidatorAddress: sdk.ValAddress(n.addr).String(), EthAddress: n.ethAddr.Hex()})
	}
	if state[anchortypes.ModuleName], err = cdc.MarshalJSON(&anchorGen); err != nil {
		return fmt.Errorf("anchor genesis: %w", err)
	}

	appState, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode app state: %w", err)
	}
	genesis := genutiltypes.NewAppGenesisWithVersion(args.chainID, appState)
	// One genesis time for all nodes, or their genesis files (and chain) would differ.
	genesis.GenesisTime = cmttime.Now()
	if err := genesis.ValidateAndComplete(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	enableVoteExtensions(genesis)
	for _, n := range nodes {
		if err := genesis.SaveAs(n.cmtCfg.GenesisFile()); err != nil {
			return fmt.Errorf("%s: write genesis: %w", n.name, err)
		}
	}
	return nil
}

// collectGentxs puts every gentx into each node's genesis and every other node into its
// persistent_peers (config.toml).
func collectGentxs(tempApp *app.App, args testnetArgs, nodes []*testnetNode, gentxsDir string) error {
	txConfig := tempApp.TxConfig()
	for _, n := range nodes {
		genesis, err := genutiltypes.AppGenesisFromFile(n.cmtCfg.GenesisFile())
		if err != nil {
			return fmt.Errorf("%s: read genesis: %w", n.name, err)
		}
		initCfg := genutiltypes.NewInitConfig(args.chainID, gentxsDir, n.nodeID, n.valPub)
		if _, err := genutil.GenAppStateFromConfig(
			tempApp.AppCodec(), txConfig, n.cmtCfg, initCfg, genesis,
			banktypes.GenesisBalancesIterator{}, genutiltypes.DefaultMessageValidator,
			txConfig.SigningContext().ValidatorAddressCodec(),
		); err != nil {
			return fmt.Errorf("%s: collect gentxs: %w", n.name, err)
		}
	}
	return nil
}
