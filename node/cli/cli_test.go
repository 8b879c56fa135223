package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/node/cli"
)

// run executes protolearnd with args in-process and returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	root, err := cli.NewRootCmd()
	require.NoError(t, err)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err = svrcmd.Execute(root, cli.EnvPrefix, app.DefaultNodeHome)
	require.NoError(t, err, "protolearnd %s: %s", strings.Join(args, " "), out.String())
	return out.String()
}

func TestSingleValidatorGenesisFlow(t *testing.T) {
	home := t.TempDir()
	kr := []string{"--keyring-backend", "test", "--home", home}

	run(t, "init", "mynode", "--home", home)
	gen, err := genutiltypes.AppGenesisFromFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	require.Equal(t, app.DefaultChainID, gen.ChainID)

	run(t, append([]string{"keys", "add", "val"}, kr...)...)
	run(t, append([]string{"genesis", "add-genesis-account", "val", "2000000000ulearn"}, kr...)...)
	run(t, append([]string{"genesis", "gentx", "val", "1000000000ulearn", "--chain-id", app.DefaultChainID}, kr...)...)
	run(t, "genesis", "collect-gentxs", "--home", home)
	require.Contains(t, run(t, "genesis", "validate", "--home", home), "is a valid genesis file")
}

func TestTestnetInitFiles(t *testing.T) {
	dir := t.TempDir()
	run(t, "testnet", "init-files", "--v", "2", "--output-dir", dir, "--base-port", "46000", "--grpc-port", "47000", "--api-port", "48000")

	gen0, err := os.ReadFile(filepath.Join(dir, "node0", "config", "genesis.json"))
	require.NoError(t, err)
	gen1, err := os.ReadFile(filepath.Join(dir, "node1", "config", "genesis.json"))
	require.NoError(t, err)
	require.Equal(t, gen0, gen1, "every node must get the same genesis")

	var genesis struct {
		ChainID  string `json:"chain_id"`
		AppState struct {
			Genutil struct {
				GenTxs []json.RawMessage `json:"gen_txs"`
			} `json:"genutil"`
		} `json:"app_state"`
	}
	require.NoError(t, json.Unmarshal(gen0, &genesis))
	require.Equal(t, app.DefaultChainID, genesis.ChainID)
	require.Len(t, genesis.AppState.Genutil.GenTxs, 2)

	for _, node := range []struct{ name, rpc, peerPort string }{
		{"node0", "tcp://127.0.0.1:46001", "46010"},
		{"node1", "tcp://127.0.0.1:46011", "46000"},
	} {
		home := filepath.Join(dir, node.name)
		require.Contains(t, run(t, "genesis", "validate", "--home", home), "is a valid genesis file")

		cfg, err := os.ReadFile(filepath.Join(home, "config", "config.toml"))
		require.NoError(t, err)
		require.True(t, strings.Contains(string(cfg), `pprof_laddr = ""`), "%s: pprof must be off", node.name)
		require.True(t, strings.Contains(string(cfg), `laddr = "`+node.rpc+`"`), "%s: rpc must listen on %s", node.name, node.rpc)
		require.Regexp(t, `persistent_peers = "[0-9a-f]{40}@127\.0\.0\.1:`+node.peerPort+`"`, string(cfg))

		client, err := os.ReadFile(filepath.Join(home, "config", "client.toml"))
		require.NoError(t, err)
		require.Contains(t, string(client), `keyring-backend = "test"`)

		require.Contains(t, run(t, "keys", "list", "--keyring-backend", "test", "--home", home), node.name)
	}
}
