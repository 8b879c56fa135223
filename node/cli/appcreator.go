package cli

import (
	"errors"
	"fmt"
	"io"
	"sync"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cast"

	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/app/chainmetrics"
)

// newApp builds the app for start, rollback, pruning and snapshots. servertypes.AppCreator cannot
// return an error, so a failure panics with its cause; the server prints it.
func newApp(logger log.Logger, db dbm.DB, traceStore io.Writer, appOpts servertypes.AppOptions) servertypes.Application {
	a, err := app.New(logger, db, traceStore, true, appOpts, server.DefaultBaseappOptions(appOpts)...)
	if err != nil {
		panic(fmt.Errorf("create app: %w", err))
	}
	m, err := nodeMetrics()
	if err != nil {
		panic(fmt.Errorf("create app: metrics: %w", err))
	}
	a.SetMetrics(m)
	return a
}

// nodeMetrics are the process's protolearn metrics, registered once with the registry CometBFT's
// instrumentation serves ([instrumentation] prometheus in config.toml).
var nodeMetrics = sync.OnceValues(func() (*chainmetrics.Metrics, error) {
	return chainmetrics.New(prometheus.DefaultRegisterer)
})

// exportApp exports state at height (-1: the latest) for `protolearnd export`.
func exportApp(
	logger log.Logger,
	db dbm.DB,
	traceStore io.Writer,
	height int64,
	forZeroHeight bool,
	jailAllowedAddrs []string,
	appOpts servertypes.AppOptions,
	modulesToExport []string,
) (servertypes.ExportedApp, error) {
	// x/upgrade reads the home; fail here with a clear message rather than deep inside.
	if cast.ToString(appOpts.Get(flags.FlagHome)) == "" {
		return servertypes.ExportedApp{}, errors.New("export: node home is not set")
	}

	loadLatest := height == -1
	a, err := app.New(logger, db, traceStore, loadLatest, appOpts)
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("export: create app: %w", err)
	}
	if !loadLatest {
		if err := a.LoadHeight(height); err != nil {
			return servertypes.ExportedApp{}, fmt.Errorf("export: load height %d: %w", height, err)
		}
	}
	return a.ExportAppStateAndValidators(forZeroHeight, jailAllowedAddrs, modulesToExport)
}
