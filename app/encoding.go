package app

import (
	"fmt"
	"os"

	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/client/flags"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
)

// AppOptions is a plain map of app options (app.toml keys and flags), for building an App outside
// the server, which passes its viper instead.
type AppOptions map[string]any

// Get returns the option named key, or nil.
func (o AppOptions) Get(key string) any { return o[key] }

// NewTempApp builds an App over an in-memory database that is used only for what it knows without
// state: codecs, module managers, default genesis and autocli options. The CLI needs these before
// it knows any node home.
func NewTempApp() (*App, error) {
	home, err := os.MkdirTemp("", "protolearn-tmp-app-")
	if err != nil {
		return nil, fmt.Errorf("temp app home: %w", err)
	}
	defer os.RemoveAll(home)

	app, err := New(log.NewNopLogger(), dbm.NewMemDB(), nil, false, AppOptions{flags.FlagHome: home})
	if err != nil {
		return nil, fmt.Errorf("temp app: %w", err)
	}
	return app, nil
}

// MakeEncodingConfig returns the app's codecs and tx config without a running node. The codecs
// are complete only once every module has registered its types, so this builds a temporary App.
func MakeEncodingConfig() (moduletestutil.TestEncodingConfig, error) {
	app, err := NewTempApp()
	if err != nil {
		return moduletestutil.TestEncodingConfig{}, err
	}
	return app.EncodingConfig(), nil
}

// EncodingConfig returns the app's codecs and tx config.
func (app *App) EncodingConfig() moduletestutil.TestEncodingConfig {
	return moduletestutil.TestEncodingConfig{
		InterfaceRegistry: app.interfaceRegistry,
		Codec:             app.appCodec,
		TxConfig:          app.txConfig,
		Amino:             app.legacyAmino,
	}
}
