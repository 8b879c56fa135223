package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	srvconfig "github.com/cosmos/cosmos-sdk/server/config"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/x/anchor/ethkey"
)

// testnetNode is one validator of the generated network.
type testnetNode struct {
	name     string
	keyName  string
	home     string
	ip       string
	p2pPort  int
	rpcPort  int
	abciPort int
	grpcPort int
	apiPort  int
	promPort int // 0: metrics off
	nodeID   string
	valPub   cryptotypes.PubKey
	addr     sdk.AccAddress
	cmtCfg   *cmtcfg.Config
	kb       keyring.Keyring
	// ethAddr is the node's anchor key (x/anchor), written under its home and registered in
	// genesis so that the testnet signs share checkpoints from the start; zero with
	// --anchor-keys=false.
	ethAddr common.Address
}

// orDefault is p, or def where p is 0 (the flag was not given).
func orDefault(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// newTestnetNode places node i: its directory, key name, address and ports.
func newTestnetNode(args testnetArgs, i int) (*testnetNode, error) {
	n := &testnetNode{
		name:     fmt.Sprintf("%s%d", args.nodeDirPrefix, i),
		p2pPort:  orDefault(args.p2pPort, args.basePort),
		rpcPort:  orDefault(args.rpcPort, args.basePort+1),
		abciPort: orDefault(args.abciPort, args.basePort+2),
		grpcPort: args.grpcPort,
		apiPort:  args.apiPort,
		promPort: args.promPort,
	}
	n.keyName = n.name
	switch {
	case args.keyName != "" && args.numValidators == 1:
		n.keyName = args.keyName
	case args.keyName != "":
		n.keyName = fmt.Sprintf("%s%d", args.keyName, i)
	}
	n.home = filepath.Join(args.outputDir, n.name)
	if args.singleHome {
		n.home = args.outputDir
	}
	if args.singleHost {
		n.ip = args.startingIP
		n.p2pPort += 10 * i
		n.rpcPort += 10 * i
		n.abciPort += 10 * i
		n.grpcPort += i
		n.apiPort += i
		if n.promPort != 0 {
			n.promPort += i
		}
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
	ports := []struct {
		what string
		port int
	}{{"p2p", n.p2pPort}, {"rpc", n.rpcPort}, {"abci", n.abciPort}, {"grpc", n.grpcPort}, {"api", n.apiPort}, {"prometheus", n.promPort}}
	used := map[int]string{}
	for _, p := range ports {
		if p.what == "prometheus" && p.port == 0 {
			continue
		}
		if p.port <= 0 || p.port > 65535 {
			return nil, fmt.Errorf("%s: %s port %d out of range: lower --%s or the port flags", n.name, p.what, p.port, flagBasePort)
		}
		if other, ok := used[p.port]; ok {
			return nil, fmt.Errorf("%s: the %s and %s ports are both %d: give them different --*-port values", n.name, other, p.what, p.port)
		}
		used[p.port] = p.what
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
	// A browser app on another origin (protolearnd web) reads REST and broadcasts through RPC:
	// local and test networks allow any origin; a public node names its own.
	cfg.RPC.CORSAllowedOrigins = []string{"*"}
	if args.commitTimeout > 0 {
		cfg.Consensus.TimeoutCommit = args.commitTimeout
	}
	if args.proposeTimeout > 0 {
		cfg.Consensus.TimeoutPropose = args.proposeTimeout
	}
	cfg.Instrumentation.Prometheus = n.promPort != 0
	if n.promPort != 0 {
		cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("%s:%d", n.ip, n.promPort)
	}
	n.cmtCfg = cfg

	nodeID, valPub, err := genutil.InitializeNodeValidatorFiles(cfg)
	if err != nil {
		return fmt.Errorf("node and validator keys: %w", err)
	}
	n.nodeID, n.valPub = nodeID, valPub

	n.kb, err = keyring.New(sdk.KeyringServiceName(), args.keyringBackend, n.home, bufio.NewReader(cmd.InOrStdin()), tempApp.AppCodec())
	if err != nil {
		return fmt.Errorf("open keyring: %w", err)
	}
	if n.addr, err = newTestnetKey(n.kb, n.home, n.keyName, args.algo); err != nil {
		return fmt.Errorf("operator key: %w", err)
	}
	// key_seed.json is where earlier versions kept the operator's mnemonic; it stays for scripts
	// that read it.
	mnemonic, err := os.ReadFile(filepath.Join(n.home, "mnemonics", n.keyName+".json"))
	if err != nil {
		return fmt.Errorf("read operator mnemonic: %w", err)
	}
	var key struct {
		Mnemonic string `json:"mnemonic"`
	}
	if err := json.Unmarshal(mnemonic, &key); err != nil {
		return fmt.Errorf("read operator mnemonic: %w", err)
	}
	seed, err := json.Marshal(map[string]string{"name": n.keyName, "address": n.addr.String(), "secret": key.Mnemonic})
	if err != nil {
		return fmt.Errorf("encode key seed: %w", err)
	}
	if err := os.WriteFile(filepath.Join(n.home, "key_seed.json"), seed, 0o600); err != nil {
		return fmt.Errorf("write key seed: %w", err)
	}

	if err := writeGentx(cmd.Context(), tempApp, args, n, gentxsDir); err != nil {
		return err
	}

	appCfg := srvconfig.DefaultConfig()
	appCfg.MinGasPrices = args.minGasPrices
	appCfg.API.Enable = true
	appCfg.API.Swagger = false
	appCfg.API.EnableUnsafeCORS = true // as the RPC's CORS above
	appCfg.API.Address = fmt.Sprintf("tcp://%s:%d", n.ip, n.apiPort)
	appCfg.GRPC.Address = fmt.Sprintf("%s:%d", n.ip, n.grpcPort)
	appCfg.Telemetry.Enabled = false
	srvconfig.WriteConfigFile(filepath.Join(n.home, "config", "app.toml"), appConfig{Config: *appCfg})
	if args.anchorKeys {
		if n.ethAddr, err = ethkey.Generate(ethkey.Path(n.home, "")); err != nil {
			return fmt.Errorf("anchor key: %w", err)
		}
	}

	clientCfg := config.DefaultConfig()
	clientCfg.ChainID = args.chainID
	clientCfg.KeyringBackend = args.keyringBackend
	clientCfg.Node = fmt.Sprintf("tcp://%s:%d", n.ip, n.rpcPort)
	return writeClientConfig(n.home, clientCfg)
}

// newTestnetKey makes key name in kb and keeps its mnemonic in home/mnemonics/name.json (the
// output of `keys add --output json`), so that it can be recovered into another keyring (keys
// add --recover). Test networks only: the mnemonic is in the clear.
func newTestnetKey(kb keyring.Keyring, home, name, algoName string) (sdk.AccAddress, error) {
	supported, _ := kb.SupportedAlgorithms()
	algo, err := keyring.NewSigningAlgoFromString(algoName, supported)
	if err != nil {
		return nil, fmt.Errorf("key algorithm %q: %w", algoName, err)
	}
	if _, err := kb.Key(name); err == nil {
		return nil, fmt.Errorf("key %q already exists in %s: give every key its own name", name, home)
	}
	record, mnemonic, err := kb.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, keyring.DefaultBIP39Passphrase, algo)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	addr, err := record.GetAddress()
	if err != nil {
		return nil, fmt.Errorf("key %s address: %w", name, err)
	}
	out, err := keys.MkAccKeyOutput(record)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	out.Mnemonic = mnemonic
	bz, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", name, err)
	}
	dir := filepath.Join(home, "mnemonics")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), bz, 0o600); err != nil {
		return nil, fmt.Errorf("write mnemonic of %s: %w", name, err)
	}
	return addr, nil
}

// writeGentx signs the node's create-validator tx into gentxsDir; its memo tells the other nodes
// where to reach this one.
func writeGentx(ctx context.Context, tempApp *app.App, args testnetArgs, n *testnetNode, gentxsDir string) error {
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
		WithKeybase(n.kb).
		WithTxConfig(txConfig)
	if err := tx.Sign(ctx, txf, n.keyName, builder, true); err != nil {
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
