package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	cmttime "github.com/cometbft/cometbft/types/time"
	"github.com/spf13/cobra"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/protolearn/protolearn/app"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
)

// testnetFunded is an --account key as made: for the command's summary.
type testnetFunded struct {
	name  string
	addr  sdk.AccAddress
	coins sdk.Coins
}

// initTestnetFiles writes every node home, the extra keys, the gentxs and the shared genesis.
func initTestnetFiles(cmd *cobra.Command, tempApp *app.App, args testnetArgs) ([]*testnetNode, []testnetFunded, error) {
	// The genesis values are read first: a typo in a path or file fails before anything is written.
	sets, err := testnetGenesisSets(args)
	if err != nil {
		return nil, nil, err
	}
	if err := checkGenesisSets(tempApp, args.chainID, sets); err != nil {
		return nil, nil, err
	}

	gentxsDir := filepath.Join(args.outputDir, "gentxs")
	if args.singleHome {
		gentxsDir = filepath.Join(args.outputDir, "config", "gentx")
		if _, err := os.Stat(filepath.Join(args.outputDir, "config", "genesis.json")); err == nil {
			return nil, nil, fmt.Errorf("%s already holds a node (config/genesis.json): remove it or choose another --%s", args.outputDir, flagOutputDir)
		}
	}
	if _, err := os.Stat(gentxsDir); err == nil {
		return nil, nil, fmt.Errorf("%s already exists: remove %s or choose another --%s", gentxsDir, args.outputDir, flagOutputDir)
	}

	// Every node is placed, and every key name checked, before the first file is written.
	nodes := make([]*testnetNode, args.numValidators)
	keyNames := map[string]bool{}
	for i := range nodes {
		if nodes[i], err = newTestnetNode(args, i); err != nil {
			return nil, nil, err
		}
		keyNames[nodes[i].keyName] = true
	}
	for _, a := range args.accounts {
		if keyNames[a.name] {
			return nil, nil, fmt.Errorf("--%s %s: a validator's operator key has that name: choose another (or another --%s)", flagAccount, a.name, flagKeyName)
		}
	}

	var (
		genAccounts []authtypes.GenesisAccount
		genBalances []banktypes.Balance
	)
	for _, n := range nodes {
		if err := writeNodeFiles(cmd, tempApp, args, n, gentxsDir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n.name, err)
		}
		genAccounts = append(genAccounts, authtypes.NewBaseAccount(n.addr, nil, 0, 0))
		genBalances = append(genBalances, banktypes.Balance{Address: n.addr.String(), Coins: args.balance})
	}

	// The extra keys live in node0's keyring, next to its operator key.
	funded := make([]testnetFunded, 0, len(args.accounts))
	for _, a := range args.accounts {
		addr, err := newTestnetKey(nodes[0].kb, nodes[0].home, a.name, args.algo)
		if err != nil {
			return nil, nil, fmt.Errorf("--%s %s: %w", flagAccount, a.name, err)
		}
		funded = append(funded, testnetFunded{name: a.name, addr: addr, coins: a.coins})
		genAccounts = append(genAccounts, authtypes.NewBaseAccount(addr, nil, 0, 0))
		genBalances = append(genBalances, banktypes.Balance{Address: addr.String(), Coins: a.coins})
	}

	if err := writeInitialGenesis(tempApp, args, nodes, genAccounts, genBalances, sets); err != nil {
		return nil, nil, err
	}
	if err := collectGentxs(tempApp, args, nodes, gentxsDir); err != nil {
		return nil, nil, err
	}
	return nodes, funded, nil
}

// writeInitialGenesis writes the default genesis plus the validator and --account accounts, with
// the genesis values of sets, to every node.
func writeInitialGenesis(tempApp *app.App, args testnetArgs, nodes []*testnetNode, accounts []authtypes.GenesisAccount, balances []banktypes.Balance, sets []genesisSet) error {
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
		if args.anchorKeys {
			anchorGen.Keys = append(anchorGen.Keys, anchortypes.AnchorKey{ValidatorAddress: sdk.ValAddress(n.addr).String(), EthAddress: n.ethAddr.Hex()})
		}
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
	if genesis, err = applyGenesisSets(genesis, sets); err != nil {
		return err
	}
	if err := validateAppState(tempApp, genesis); err != nil {
		return fmt.Errorf("the genesis does not validate: %w", err)
	}
	for _, n := range nodes {
		if err := genesis.SaveAs(n.cmtCfg.GenesisFile()); err != nil {
			return fmt.Errorf("%s: write genesis: %w", n.name, err)
		}
	}
	return nil
}

// checkGenesisSets applies sets to the default genesis and validates it, so that a bad value is
// reported before any file is written.
func checkGenesisSets(tempApp *app.App, chainID string, sets []genesisSet) error {
	if len(sets) == 0 {
		return nil
	}
	appState, err := json.Marshal(tempApp.DefaultGenesis())
	if err != nil {
		return fmt.Errorf("encode default genesis: %w", err)
	}
	genesis := genutiltypes.NewAppGenesisWithVersion(chainID, appState)
	if err := genesis.ValidateAndComplete(); err != nil {
		return fmt.Errorf("default genesis: %w", err)
	}
	if genesis, err = applyGenesisSets(genesis, sets); err != nil {
		return err
	}
	if err := validateAppState(tempApp, genesis); err != nil {
		return fmt.Errorf("the genesis with the values of --%s, --%s and --%s does not validate: %w",
			flagVerifyingKeys, flagGenesisOverrides, flagGenesisSet, err)
	}
	return nil
}

// validateAppState runs every module's genesis validation, as `protolearnd genesis validate` does.
func validateAppState(tempApp *app.App, genesis *genutiltypes.AppGenesis) error {
	var state map[string]json.RawMessage
	if err := json.Unmarshal(genesis.AppState, &state); err != nil {
		return fmt.Errorf("app_state: %w", err)
	}
	return tempApp.BasicModuleManager.ValidateGenesis(tempApp.AppCodec(), tempApp.TxConfig(), state)
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
