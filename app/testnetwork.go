package app

import (
	"fmt"

	dbm "github.com/cosmos/cosmos-db"

	pruningtypes "cosmossdk.io/store/pruning/types"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/testutil/network"
)

// NewTestNetworkFixture returns what testutil/network needs to run our app as in-process
// validators: an app constructor, the default genesis and the codecs. It panics if the app cannot
// be built, as a test could not go on anyway.
func NewTestNetworkFixture() network.TestFixture {
	tmpApp, err := NewTempApp()
	if err != nil {
		panic(fmt.Errorf("test network fixture: %w", err))
	}

	appConstructor := func(val network.ValidatorI) servertypes.Application {
		app, err := New(
			val.GetCtx().Logger, dbm.NewMemDB(), nil, true,
			AppOptions{flags.FlagHome: val.GetCtx().Config.RootDir},
			baseapp.SetPruning(pruningtypes.NewPruningOptionsFromString(val.GetAppConfig().Pruning)),
			baseapp.SetMinGasPrices(val.GetAppConfig().MinGasPrices),
			baseapp.SetChainID(val.GetCtx().Viper.GetString(flags.FlagChainID)),
		)
		if err != nil {
			panic(fmt.Errorf("test network validator app: %w", err))
		}
		return app
	}

	return network.TestFixture{
		AppConstructor: appConstructor,
		GenesisState:   tmpApp.DefaultGenesis(),
		EncodingConfig: tmpApp.EncodingConfig(),
	}
}

// DefaultTestNetworkConfig is network.DefaultConfig for our app with the first validator's RPC,
// gRPC and REST servers on free loopback ports (the SDK default binds them on all interfaces), and
// the local chain id.
func DefaultTestNetworkConfig() (network.Config, error) {
	cfg := network.DefaultConfig(NewTestNetworkFixture)
	cfg.ChainID = DefaultChainID
	cfg.MinGasPrices = "0" + BondDenom

	ports := make([]string, 3)
	for i := range ports {
		_, port, closeFn, err := network.FreeTCPAddr()
		if err != nil {
			return network.Config{}, fmt.Errorf("free port: %w", err)
		}
		// Hold each port until all are picked, so that the three are distinct.
		defer closeFn() //nolint:errcheck // closing a probe listener
		ports[i] = port
	}
	cfg.RPCAddress = "tcp://127.0.0.1:" + ports[0]
	cfg.GRPCAddress = "127.0.0.1:" + ports[1]
	cfg.APIAddress = "tcp://127.0.0.1:" + ports[2]
	return cfg, nil
}
