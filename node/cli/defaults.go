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
	return serverconfig.DefaultConfigTemplate, cfg
}

// cometConfigDefaults returns the CometBFT defaults for a new config.toml. The SDK then sets
// timeout_commit to 5s and pprof to localhost:6060 where these are left at CometBFT's defaults.
func cometConfigDefaults() *cmtcfg.Config {
	return cmtcfg.DefaultConfig()
}
