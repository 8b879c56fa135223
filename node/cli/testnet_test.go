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

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/node/cli"
)

// runErr executes protolearnd with args in-process and returns its error and what it printed.
func runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root, err := cli.NewRootCmd()
	require.NoError(t, err)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err = svrcmd.Execute(root, cli.EnvPrefix, app.DefaultNodeHome)
	return out.String(), err
}

// A local chain as make localnet, make demo and the e2e tests set it up: one validator whose home
// is the output directory, chosen ports, funded keys with their mnemonics, ceremony keys and
// genesis values from a file and from flags (the later one winning).
func TestTestnetInitFilesLocalChain(t *testing.T) {
	home := t.TempDir()
	ceremony := t.TempDir()
	// Genesis validation parses the keys: those of a test setup of two small shapes (a second).
	vks := map[string][]byte{}
	for _, name := range []string{"forward-4x4x4-T4-tol4", "tie-4x4x4-T4-tol0"} {
		shape, err := tile.ParseShape(name)
		require.NoError(t, err)
		keys, err := tile.TestSetup(shape)
		require.NoError(t, err)
		vks[name], err = keys.MarshalVerifyingKey()
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(ceremony, name), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(ceremony, name, "verifying.key"), vks[name], 0o600))
	}
	overrides := filepath.Join(t.TempDir(), "genesis.json")
	require.NoError(t, os.WriteFile(overrides, []byte(`{
		"app_state.gov.params.voting_period": "60s",
		"app_state.gov.params.expedited_voting_period": "30s",
		"app_state.compute.params.jail_duration": "60s",
		"app_state.verify.params.challenge_bond": {"denom": "ulearn", "amount": "5"}
	}`), 0o600))

	out := run(t, "testnet", "init-files", "--v", "1", "--single-home", "--output-dir", home, "--home", home,
		"--chain-id", "local-7", "--key-name", "validator", "--anchor-keys=false",
		"--account", "alice=1000ulearn", "--account", "bob=5ulearn,2share/1",
		"--verifying-keys", ceremony, "--verifying-key-shapes", "tie-4x4x4-T4-tol0,forward-4x4x4-T4-tol4", "--genesis-overrides", overrides,
		"--genesis-set", `app_state.compute.params.jail_duration="90s"`,
		"--rpc-port", "46101", "--p2p-port", "46102", "--abci-port", "46103", "--grpc-port", "46104", "--api-port", "46105",
		"--prometheus-port", "46106", "--commit-timeout", "300ms", "--propose-timeout", "1s")
	require.Contains(t, out, "account alice: ")
	require.NoDirExists(t, filepath.Join(home, "node0"), "--single-home writes the home itself")
	require.Contains(t, run(t, "genesis", "validate", "--home", home), "is a valid genesis file")

	bz, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	var gen struct {
		ChainID  string `json:"chain_id"`
		AppState struct {
			Gov struct {
				Params struct {
					VotingPeriod string `json:"voting_period"`
				} `json:"params"`
			} `json:"gov"`
			Compute struct {
				Params struct {
					JailDuration string `json:"jail_duration"`
				} `json:"params"`
			} `json:"compute"`
			Verify struct {
				Params struct {
					VerifyingKeys []struct {
						Shape string `json:"shape"`
						Key   []byte `json:"key"`
					} `json:"verifying_keys"`
					ChallengeBond struct {
						Amount string `json:"amount"`
					} `json:"challenge_bond"`
				} `json:"params"`
			} `json:"verify"`
			Anchor struct {
				Keys []any `json:"keys"`
			} `json:"anchor"`
			Bank struct {
				Balances []struct {
					Address string `json:"address"`
				} `json:"balances"`
			} `json:"bank"`
		} `json:"app_state"`
	}
	require.NoError(t, json.Unmarshal(bz, &gen))
	require.Equal(t, "local-7", gen.ChainID)
	require.Equal(t, "60s", gen.AppState.Gov.Params.VotingPeriod)
	require.Equal(t, "90s", gen.AppState.Compute.Params.JailDuration, "--genesis-set wins over the file")
	require.Equal(t, "5", gen.AppState.Verify.Params.ChallengeBond.Amount)
	require.Len(t, gen.AppState.Verify.Params.VerifyingKeys, 2)
	require.Equal(t, "tie-4x4x4-T4-tol0", gen.AppState.Verify.Params.VerifyingKeys[0].Shape, "in the order of --verifying-key-shapes")
	require.Equal(t, vks["tie-4x4x4-T4-tol0"], gen.AppState.Verify.Params.VerifyingKeys[0].Key)
	require.Empty(t, gen.AppState.Anchor.Keys, "--anchor-keys=false")
	require.Len(t, gen.AppState.Bank.Balances, 3, "validator, alice and bob")

	cfg, err := os.ReadFile(filepath.Join(home, "config", "config.toml"))
	require.NoError(t, err)
	for _, want := range []string{
		`proxy_app = "tcp://127.0.0.1:46103"`, `laddr = "tcp://127.0.0.1:46101"`, `laddr = "tcp://127.0.0.1:46102"`,
		`prometheus = true`, `prometheus_listen_addr = "127.0.0.1:46106"`, `timeout_commit = "300ms"`, `timeout_propose = "1s"`,
		`pprof_laddr = ""`,
	} {
		require.Contains(t, string(cfg), want)
	}
	appToml, err := os.ReadFile(filepath.Join(home, "config", "app.toml"))
	require.NoError(t, err)
	require.Contains(t, string(appToml), `address = "tcp://127.0.0.1:46105"`)
	require.Contains(t, string(appToml), `address = "127.0.0.1:46104"`)
	client, err := os.ReadFile(filepath.Join(home, "config", "client.toml"))
	require.NoError(t, err)
	require.Contains(t, string(client), `node = "tcp://127.0.0.1:46101"`)
	require.Contains(t, string(client), `chain-id = "local-7"`)

	keys := run(t, "keys", "list", "--keyring-backend", "test", "--home", home)
	for _, name := range []string{"validator", "alice", "bob"} {
		require.Contains(t, keys, "name: "+name)
		var saved struct {
			Address  string `json:"address"`
			Mnemonic string `json:"mnemonic"`
		}
		bz, err := os.ReadFile(filepath.Join(home, "mnemonics", name+".json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(bz, &saved))
		require.Len(t, strings.Fields(saved.Mnemonic), 24, name)
		require.Equal(t, saved.Address, strings.TrimSpace(run(t, "keys", "show", name, "-a", "--keyring-backend", "test", "--home", home)))
	}

	// A second run must not overwrite the chain.
	_, err = runErr(t, "testnet", "init-files", "--v", "1", "--single-home", "--output-dir", home, "--home", home)
	require.ErrorContains(t, err, "already holds a node")
}

// Bad values are refused before anything is written, with what to fix.
func TestTestnetInitFilesRefusesBadValues(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badFile, []byte(`["not", "an object"]`), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown field", []string{"--genesis-set", `app_state.verify.params.attestation_perod="4"`}, `app_state.verify.params has no field "attestation_perod"; it has: attestation_period`},
		{"unknown module", []string{"--genesis-set", `app_state.nope.params="4"`}, `app_state has no field "nope"`},
		{"wrong type", []string{"--genesis-set", `app_state.verify.params.attestation_period=4`}, "is a JSON string in genesis"},
		{"not JSON", []string{"--genesis-set", `app_state.gov.params.voting_period=60s`}, "is not JSON: strings need double quotes"},
		{"no value", []string{"--genesis-set", `app_state.gov.params.voting_period`}, "want path=value"},
		{"empty path part", []string{"--genesis-set", `app_state..x="1"`}, "has an empty part"},
		{"invalid value", []string{"--genesis-set", `app_state.gov.params.voting_period="60s"`}, "does not validate: expedited voting period"},
		{"bad duration", []string{"--genesis-set", `app_state.compute.params.jail_duration="soon"`}, "does not validate"},
		{"file not an object", []string{"--genesis-overrides", badFile}, "want one JSON object"},
		{"missing file", []string{"--genesis-overrides", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{"missing ceremony", []string{"--verifying-keys", t.TempDir(), "--verifying-key-shapes", "forward-x"}, "run the ceremony of forward-x first"},
		{"shapes without dir", []string{"--verifying-key-shapes", "forward-x"}, "--verifying-key-shapes needs --verifying-keys"},
		{"account without coins", []string{"--account", "alice"}, "want NAME=COINS"},
		{"account bad coins", []string{"--account", "alice=lots"}, "is not a positive amount of coins"},
		{"account twice", []string{"--account", "alice=1ulearn", "--account", "alice=2ulearn"}, "alice is given twice"},
		{"account bad name", []string{"--account", "../x=1ulearn"}, "the name must be letters"},
		{"account clashes with validator", []string{"--account", "validator=1ulearn"}, "a validator's operator key has that name"},
		{"single home, two nodes", []string{"--v", "2"}, "--single-home needs --v 1"},
		{"port clash", []string{"--rpc-port", "46201", "--grpc-port", "46201"}, "the rpc and grpc ports are both 46201"},
		{"port range", []string{"--prometheus-port", "70000"}, "--prometheus-port 70000 is not a port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			args := append([]string{
				"testnet", "init-files", "--v", "1", "--single-home", "--output-dir", home, "--home", home,
				"--key-name", "validator", "--base-port", "46200",
			}, tc.args...)
			out, err := runErr(t, args...)
			require.Error(t, err, out)
			require.Contains(t, err.Error(), tc.want)
			require.NoFileExists(t, filepath.Join(home, "config", "genesis.json"))
			require.NoDirExists(t, filepath.Join(home, "keyring-test"), "nothing is written")
		})
	}
}
