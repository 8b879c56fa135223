package cli

import (
	cmtcfg "github.com/cometbft/cometbft/config"

	serverconfig "github.com/cosmos/cosmos-sdk/server/config"

	"github.com/protolearn/protolearn/app"
)

// appConfigDefaults returns the app.toml template and defaults: the SDK's, with free transactions
// (0ulearn) so that a local node starts without editing app.toml. Public nodes should raise
// minimum-gas-prices.
func appConfigDefaults() (string, any) {
	cfg := serverconfig.DefaultConfig()
	cfg.MinGasPrices = "0" + app.BondDenom
	cfg.API.Swagger = false
	return serverconfig.DefaultConfigTemplate + anchorConfigTemplate, appConfig{Config: *cfg}
}

// appConfig is app.toml: the SDK's sections and [anchor].
type appConfig struct {
	serverconfig.Config `mapstructure:",squash"`

	Anchor anchorConfig `mapstructure:"anchor"`
}

type anchorConfig struct {
	EthKeyFile string `mapstructure:"eth-key-file"`
}

const anchorConfigTemplate = `
###############################################################################
###                        Anchor (x/anchor) Configuration                  ###
###############################################################################

[anchor]

# The Ethereum key this validator signs share checkpoints with, in its vote extensions: a hex
# key file, mode 600 (create it with ` + "`protolearnd anchor init-key`" + `, register it with
# ` + "`protolearnd tx anchor set-key`" + `). Relative paths are under the node's home. Empty:
# config/anchor_eth_key.hex if that file exists. A node without a key signs nothing.
eth-key-file = "{{ .Anchor.EthKeyFile }}"
`

// cometConfigDefaults returns the CometBFT defaults for a new config.toml. The SDK then sets
// timeout_commit to 5s and pprof to localhost:6060 where these are left at CometBFT's defaults.
func cometConfigDefaults() *cmtcfg.Config {
	return cmtcfg.DefaultConfig()
}
