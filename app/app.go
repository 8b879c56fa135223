package app

import (
	"encoding/json"
	"fmt"
	"io"

	abci "github.com/cometbft/cometbft/abci/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/gogoproto/proto"

	"github.com/protolearn/protolearn/app/chainmetrics"
	"github.com/protolearn/protolearn/chaincfg"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
	reflectionv1 "cosmossdk.io/api/cosmos/reflection/v1"
	"cosmossdk.io/log"
	storetypes "cosmossdk.io/store/types"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	runtimeservices "github.com/cosmos/cosmos-sdk/runtime/services"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/std"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
	sigtypes "github.com/cosmos/cosmos-sdk/types/tx/signing"
	"github.com/cosmos/cosmos-sdk/version"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	txmodule "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
)

var _ servertypes.Application = (*App)(nil)

// App is the protolearn application: a BaseApp with the modules of modules.go.
type App struct {
	*baseapp.BaseApp
	Keepers

	legacyAmino       *codec.LegacyAmino
	appCodec          codec.Codec
	txConfig          client.TxConfig
	interfaceRegistry codectypes.InterfaceRegistry

	keys map[string]*storetypes.KVStoreKey

	// ModuleManager runs the modules' hooks in the orders of modules.go.
	ModuleManager *module.Manager
	// metrics counts finalized blocks' events (a node's; SetMetrics).
	metrics *chainmetrics.Metrics
	// BasicModuleManager serves genesis defaults, validation, codecs and gateway routes.
	BasicModuleManager module.BasicManager

	configurator module.Configurator
}

// New builds the app over db. With loadLatest it loads the latest committed state, as a node does;
// without, the caller loads it (tests, or an app built only for its codecs).
func New(
	logger log.Logger,
	db dbm.DB,
	traceStore io.Writer,
	loadLatest bool,
	appOpts servertypes.AppOptions,
	baseAppOptions ...func(*baseapp.BaseApp),
) (*App, error) {
	interfaceRegistry, err := newInterfaceRegistry()
	if err != nil {
		return nil, err
	}
	appCodec := codec.NewProtoCodec(interfaceRegistry)
	legacyAmino := codec.NewLegacyAmino()
	std.RegisterLegacyAminoCodec(legacyAmino)
	std.RegisterInterfaces(interfaceRegistry)

	// baseapp needs a decoder now; the final tx config (with SIGN_MODE_TEXTUAL, which needs the
	// bank keeper) replaces this one below and decodes identically.
	decodingTxConfig := authtx.NewTxConfig(appCodec, authtx.DefaultSignModes)

	bApp := baseapp.NewBaseApp(Name, logger, db, decodingTxConfig.TxDecoder(), baseAppOptions...)
	bApp.SetCommitMultiStoreTracer(traceStore)
	bApp.SetVersion(version.Version)
	bApp.SetInterfaceRegistry(interfaceRegistry)
	bApp.SetTxEncoder(decodingTxConfig.TxEncoder())

	keys := storetypes.NewKVStoreKeys(storeKeys...)
	if err := bApp.RegisterStreamingServices(appOpts, keys); err != nil {
		return nil, fmt.Errorf("register streaming services: %w", err)
	}

	app := &App{
		BaseApp:           bApp,
		legacyAmino:       legacyAmino,
		appCodec:          appCodec,
		txConfig:          decodingTxConfig,
		interfaceRegistry: interfaceRegistry,
		keys:              keys,
	}

	app.initKeepers(appOpts, logger)

	app.txConfig, err = authtx.NewTxConfigWithOptions(appCodec, authtx.ConfigOptions{
		EnabledSignModes:           append(append([]sigtypes.SignMode(nil), authtx.DefaultSignModes...), sigtypes.SignMode_SIGN_MODE_TEXTUAL),
		TextualCoinMetadataQueryFn: txmodule.NewBankKeeperCoinMetadataQueryFn(app.BankKeeper),
	})
	if err != nil {
		return nil, fmt.Errorf("tx config: %w", err)
	}

	if err := app.initModules(); err != nil {
		return nil, err
	}

	app.MountKVStores(keys)
	if err := app.setAnchorHandlers(appOpts, logger); err != nil {
		return nil, err
	}

	app.SetInitChainer(app.InitChainer)
	app.SetPreBlocker(app.PreBlocker)
	app.SetBeginBlocker(app.BeginBlocker)
	app.SetEndBlocker(app.EndBlocker)
	if err := app.setAnteHandler(); err != nil {
		return nil, err
	}
	if err := app.setPostHandler(); err != nil {
		return nil, err
	}
	if err := app.registerUpgrades(); err != nil {
		return nil, err
	}

	if err := validateProtoAnnotations(); err != nil {
		// A bad annotation only breaks the message concerned; report it without refusing to start.
		logger.Error("invalid protobuf annotations", "err", err)
	}

	if loadLatest {
		if err := app.LoadLatestVersion(); err != nil {
			return nil, fmt.Errorf("load latest version: %w", err)
		}
	}
	return app, nil
}

// newInterfaceRegistry builds the registry with our bech32 prefixes for signer extraction.
func newInterfaceRegistry() (codectypes.InterfaceRegistry, error) {
	reg, err := chaincfg.NewInterfaceRegistry()
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// initModules builds the module managers, sets the hook orders and registers the services.
func (app *App) initModules() error {
	app.ModuleManager = module.NewManager(app.appModules()...)
	app.BasicModuleManager = module.NewBasicManagerFromManager(app.ModuleManager, customBasics(app.ModuleManager.Modules))
	app.BasicModuleManager.RegisterLegacyAminoCodec(app.legacyAmino)
	app.BasicModuleManager.RegisterInterfaces(app.interfaceRegistry)

	app.ModuleManager.SetOrderPreBlockers(preBlockerOrder...)
	app.ModuleManager.SetOrderBeginBlockers(beginBlockerOrder...)
	app.ModuleManager.SetOrderEndBlockers(endBlockerOrder...)
	app.ModuleManager.SetOrderInitGenesis(initGenesisOrder...)
	app.ModuleManager.SetOrderExportGenesis(exportGenesisOrder...)

	app.configurator = module.NewConfigurator(app.appCodec, app.MsgServiceRouter(), app.GRPCQueryRouter())
	if err := app.ModuleManager.RegisterServices(app.configurator); err != nil {
		return fmt.Errorf("register module services: %w", err)
	}

	// Clients (autocli, reflection-based tools) discover the app's commands and types through these.
	autocliv1.RegisterQueryServer(app.GRPCQueryRouter(), runtimeservices.NewAutoCLIQueryService(app.ModuleManager.Modules))
	reflectionSvc, err := runtimeservices.NewReflectionService()
	if err != nil {
		return fmt.Errorf("reflection service: %w", err)
	}
	reflectionv1.RegisterReflectionServiceServer(app.GRPCQueryRouter(), reflectionSvc)
	return nil
}

func validateProtoAnnotations() error {
	files, err := proto.MergedRegistry()
	if err != nil {
		return fmt.Errorf("merge proto registries: %w", err)
	}
	return msgservice.ValidateProtoAnnotations(files)
}

// PreBlocker runs the modules' pre-block hooks (upgrades, unordered-tx pruning), then stores
// the anchor checkpoint signatures injected as the block's first tx.
func (app *App) PreBlocker(ctx sdk.Context, req *abci.RequestFinalizeBlock) (*sdk.ResponsePreBlock, error) {
	res, err := app.ModuleManager.PreBlock(ctx)
	if err != nil {
		return res, err
	}
	return res, app.preBlockAnchor(ctx, req.Txs)
}

// BeginBlocker runs the modules' begin-block hooks.
func (app *App) BeginBlocker(ctx sdk.Context) (sdk.BeginBlock, error) {
	return app.ModuleManager.BeginBlock(ctx)
}

// EndBlocker runs the modules' end-block hooks.
func (app *App) EndBlocker(ctx sdk.Context) (sdk.EndBlock, error) {
	return app.ModuleManager.EndBlock(ctx)
}

// InitChainer initialises every module from the genesis app state.
func (app *App) InitChainer(ctx sdk.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	var genesisState GenesisState
	if err := json.Unmarshal(req.AppStateBytes, &genesisState); err != nil {
		return nil, fmt.Errorf("unmarshal genesis app state: %w", err)
	}
	// Record the modules' consensus versions so that the first upgrade knows what to migrate from.
	if err := app.UpgradeKeeper.SetModuleVersionMap(ctx, app.ModuleManager.GetVersionMap()); err != nil {
		return nil, fmt.Errorf("set module version map: %w", err)
	}
	return app.ModuleManager.InitGenesis(ctx, app.appCodec, genesisState)
}

// LoadHeight loads the state at a given height.
func (app *App) LoadHeight(height int64) error {
	return app.LoadVersion(height)
}

// LegacyAmino returns the amino codec (still used for amino-JSON signing).
func (app *App) LegacyAmino() *codec.LegacyAmino { return app.legacyAmino }

// AppCodec returns the app's protobuf codec.
func (app *App) AppCodec() codec.Codec { return app.appCodec }

// InterfaceRegistry returns the app's interface registry.
func (app *App) InterfaceRegistry() codectypes.InterfaceRegistry { return app.interfaceRegistry }

// TxConfig returns the app's tx config.
func (app *App) TxConfig() client.TxConfig { return app.txConfig }

// Configurator returns the module configurator (upgrade handlers run migrations through it).
func (app *App) Configurator() module.Configurator { return app.configurator }

// GetKey returns the KV store key of a store name, or nil.
func (app *App) GetKey(storeKey string) *storetypes.KVStoreKey { return app.keys[storeKey] }

// DefaultGenesis returns the default genesis of every module, as `protolearnd init` writes it.
func (app *App) DefaultGenesis() map[string]json.RawMessage {
	return app.BasicModuleManager.DefaultGenesis(app.appCodec)
}
