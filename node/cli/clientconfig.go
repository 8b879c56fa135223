package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
)

// clientConfigTemplate renders client.toml, with the keys and comments of the SDK's own template.
const clientConfigTemplate = `# This is a TOML config file.
# For more information, see https://github.com/toml-lang/toml

###############################################################################
###                           Client Configuration                            ###
###############################################################################

# The network chain ID
chain-id = "{{ .ChainID }}"
# The keyring's backend, where the keys are stored (os|file|kwallet|pass|test|memory)
keyring-backend = "{{ .KeyringBackend }}"
# Default key name, if set, defines the default key to use for signing transaction when the --from flag is not specified
keyring-default-keyname = "{{ .KeyringDefaultKeyName }}"
# CLI output format (text|json)
output = "{{ .Output }}"
# <host>:<port> to CometBFT RPC interface for this chain
node = "{{ .Node }}"
# Transaction broadcasting mode (sync|async)
broadcast-mode = "{{ .BroadcastMode }}"
`

// clientConfigKeyOrder is the order of the keys in client.toml.
var clientConfigKeyOrder = []string{"chain-id", "keyring-backend", "keyring-default-keyname", "output", "node", "broadcast-mode"}

// clientConfigKeys maps each client.toml key to its field.
var clientConfigKeys = map[string]func(c *config.ClientConfig) *string{
	"chain-id":                func(c *config.ClientConfig) *string { return &c.ChainID },
	"keyring-backend":         func(c *config.ClientConfig) *string { return &c.KeyringBackend },
	"keyring-default-keyname": func(c *config.ClientConfig) *string { return &c.KeyringDefaultKeyName },
	"output":                  func(c *config.ClientConfig) *string { return &c.Output },
	"node":                    func(c *config.ClientConfig) *string { return &c.Node },
	"broadcast-mode":          func(c *config.ClientConfig) *string { return &c.BroadcastMode },
}

func clientConfigField(key string) (func(c *config.ClientConfig) *string, error) {
	field, ok := clientConfigKeys[key]
	if !ok {
		return nil, fmt.Errorf("unknown client.toml key %q; the keys are %s", key, strings.Join(clientConfigKeyOrder, ", "))
	}
	return field, nil
}

func clientConfigPath(home string) string {
	return filepath.Join(home, "config", "client.toml")
}

// readClientConfig reads <home>/config/client.toml over the SDK defaults.
func readClientConfig(home string) (*config.ClientConfig, error) {
	conf := config.DefaultConfig()
	v := viper.New()
	v.SetConfigFile(clientConfigPath(home))
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", clientConfigPath(home), err)
	}
	if err := v.Unmarshal(conf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", clientConfigPath(home), err)
	}
	return conf, nil
}

// writeClientConfig writes conf to <home>/config/client.toml.
func writeClientConfig(home string, conf *config.ClientConfig) error {
	tmpl, err := template.New("client.toml").Parse(clientConfigTemplate)
	if err != nil {
		return fmt.Errorf("client.toml template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, conf); err != nil {
		return fmt.Errorf("render client.toml: %w", err)
	}
	path := clientConfigPath(home)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// configCmd reads and edits client.toml (the defaults of the client flags).
func configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or change the client configuration (client.toml)",
		Long: `Show or change the client configuration in <home>/config/client.toml: the defaults of
--chain-id, --keyring-backend, --node, --output and --broadcast-mode.

  protolearnd config                       print client.toml
  protolearnd config get node              print one value
  protolearnd config set keyring-backend test`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := readClientConfig(client.GetClientContextFromCmd(cmd).HomeDir)
			if err != nil {
				return err
			}
			for _, key := range clientConfigKeyOrder {
				fmt.Fprintf(cmd.OutOrStdout(), "%s = %q\n", key, *clientConfigKeys[key](conf))
			}
			return nil
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "get <key>",
			Short: "Print one client.toml value",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				field, err := clientConfigField(args[0])
				if err != nil {
					return err
				}
				conf, err := readClientConfig(client.GetClientContextFromCmd(cmd).HomeDir)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), *field(conf))
				return nil
			},
		},
		&cobra.Command{
			Use:   "set <key> <value>",
			Short: "Change one client.toml value",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				field, err := clientConfigField(args[0])
				if err != nil {
					return err
				}
				home := client.GetClientContextFromCmd(cmd).HomeDir
				conf, err := readClientConfig(home)
				if err != nil {
					return err
				}
				*field(conf) = args[1]
				return writeClientConfig(home, conf)
			},
		},
	)
	return cmd
}
