package app

import (
	"cosmossdk.io/x/evidence"
	evidencetypes "cosmossdk.io/x/evidence/types"
	"cosmossdk.io/x/feegrant"
	feegrantmodule "cosmossdk.io/x/feegrant/module"
	"cosmossdk.io/x/upgrade"
	upgradetypes "cosmossdk.io/x/upgrade/types"

	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authsims "github.com/cosmos/cosmos-sdk/x/auth/simulation"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	authzmodule "github.com/cosmos/cosmos-sdk/x/authz/module"
	"github.com/cosmos/cosmos-sdk/x/bank"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/mint"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/x/anchor"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
	"github.com/protolearn/protolearn/x/compute"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/inference"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	"github.com/protolearn/protolearn/x/modelgov"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	"github.com/protolearn/protolearn/x/models"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/shares"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	"github.com/protolearn/protolearn/x/verify"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// This file is the one place that lists the modules of the chain. To add a module:
//
//  1. storeKeys: add its store key;
//  2. maccPerms: add its module account and permissions, if it holds coins;
//  3. keepers.go: add an exported keeper field to App and construct it in initKeepers;
//  4. appModules: append its AppModule;
//  5. the order lists below: add its name to initGenesisOrder and exportGenesisOrder (always), and to
//     beginBlockerOrder / endBlockerOrder if it has those hooks. The module manager panics at start-up
//     naming any module with a hook that is missing from a list, so a forgotten entry cannot slip by.
//
// A module added to a running chain also needs a store upgrade (upgrades.go).

// storeKeys are the KV stores the app mounts, one per module with state.
var storeKeys = []string{
	authtypes.StoreKey,
	banktypes.StoreKey,
	stakingtypes.StoreKey,
	slashingtypes.StoreKey,
	distrtypes.StoreKey,
	minttypes.StoreKey,
	govtypes.StoreKey,
	consensustypes.StoreKey,
	upgradetypes.StoreKey,
	evidencetypes.StoreKey,
	authzkeeper.StoreKey,
	feegrant.StoreKey,
	computetypes.StoreKey,
	modelstypes.StoreKey,
	sharestypes.StoreKey,
	anchortypes.StoreKey,
	verifytypes.StoreKey,
	inferencetypes.StoreKey,
	modelgovtypes.StoreKey,
}

// maccPerms are the module accounts and what each may do with coins.
var maccPerms = map[string][]string{
	authtypes.FeeCollectorName:     nil,
	distrtypes.ModuleName:          nil,
	minttypes.ModuleName:           {authtypes.Minter},
	stakingtypes.BondedPoolName:    {authtypes.Burner, authtypes.Staking},
	stakingtypes.NotBondedPoolName: {authtypes.Burner, authtypes.Staking},
	govtypes.ModuleName:            {authtypes.Burner},
	// compute holds providers' bonded stake and burns what is slashed.
	computetypes.ModuleName: {authtypes.Burner},
	// shares mints share/N for verified work and holds the revenue owed to holders.
	sharestypes.ModuleName: {authtypes.Minter},
	// verify holds challengers' bonds and burns what slashing does not pay to challengers.
	verifytypes.ModuleName: {authtypes.Burner},
	// inference holds customers' deposits until they are settled or refunded.
	inferencetypes.ModuleName: nil,
	// modelgov holds proposal deposits and burns those of proposals that miss quorum.
	modelgovtypes.ModuleName: {authtypes.Burner},
}

// receivingModuleAccounts are module accounts that ordinary bank sends may pay into; every other
// module account is blocked so that coins cannot be stranded there by mistake.
var receivingModuleAccounts = []string{
	govtypes.ModuleName,
}

// appModules builds the modules from the app's keepers, in no particular order.
func (app *App) appModules() []module.AppModule {
	cdc := app.appCodec
	return []module.AppModule{
		genutil.NewAppModule(app.AccountKeeper, app.StakingKeeper, app, app.txConfig),
		auth.NewAppModule(cdc, app.AccountKeeper, authsims.RandomGenesisAccounts, nil),
		bank.NewAppModule(cdc, app.BankKeeper, app.AccountKeeper, nil),
		feegrantmodule.NewAppModule(cdc, app.AccountKeeper, app.BankKeeper, app.FeeGrantKeeper, app.interfaceRegistry),
		gov.NewAppModule(cdc, app.GovKeeper, app.AccountKeeper, app.BankKeeper, nil),
		mint.NewAppModule(cdc, app.MintKeeper, app.AccountKeeper, nil, nil),
		slashing.NewAppModule(cdc, app.SlashingKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil, app.interfaceRegistry),
		distr.NewAppModule(cdc, app.DistrKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil),
		staking.NewAppModule(cdc, app.StakingKeeper, app.AccountKeeper, app.BankKeeper, nil),
		upgrade.NewAppModule(app.UpgradeKeeper, app.AccountKeeper.AddressCodec()),
		evidence.NewAppModule(app.EvidenceKeeper),
		authzmodule.NewAppModule(cdc, app.AuthzKeeper, app.AccountKeeper, app.BankKeeper, app.interfaceRegistry),
		consensus.NewAppModule(cdc, app.ConsensusParamsKeeper),
		compute.NewAppModule(cdc, app.ComputeKeeper),
		models.NewAppModule(cdc, app.ModelsKeeper),
		shares.NewAppModule(cdc, app.SharesKeeper),
		anchor.NewAppModule(cdc, app.AnchorKeeper),
		verify.NewAppModule(cdc, app.VerifyKeeper),
		inference.NewAppModule(cdc, app.InferenceKeeper),
		modelgov.NewAppModule(cdc, app.ModelgovKeeper),
	}
}

// customBasics replaces the basic module the manager would derive for a module, where the CLI or
// the default genesis needs something different.
func customBasics(modules map[string]any) map[string]module.AppModuleBasic {
	bankModule, _ := modules[banktypes.ModuleName].(bank.AppModule)
	return map[string]module.AppModuleBasic{
		// genesis subcommands look up genutil's basic module by its concrete type.
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		// no legacy proposal handlers: every proposal is a v1 message proposal.
		govtypes.ModuleName: gov.NewAppModuleBasic(nil),
		// default genesis carries the ulearn denom metadata (genesis.go).
		banktypes.ModuleName: bankBasic{AppModuleBasic: bankModule.AppModuleBasic},
	}
}

// preBlockerOrder: upgrade first, so that an upgrade at this height runs before anything else.
var preBlockerOrder = []string{
	upgradetypes.ModuleName,
	authtypes.ModuleName,
}

// beginBlockerOrder: mint before distribution (distribution pays out the freshly minted fees),
// slashing and evidence before staking updates the validator set.
var beginBlockerOrder = []string{
	minttypes.ModuleName,
	distrtypes.ModuleName,
	slashingtypes.ModuleName,
	evidencetypes.ModuleName,
	stakingtypes.ModuleName,
	authz.ModuleName,
}

// endBlockerOrder: staking returns the validator updates; verify slashes cheaters before compute
// releases matured unbondings (so stake that just matured cannot escape a verdict) and mints
// finalized work; shares re-indexes holders after every module that may have moved shares this
// block, and tells anchor, which checkpoints last. Holders' proposals end first, so that a pause or
// halt voted in a block holds for everything else the block ends.
var endBlockerOrder = []string{
	govtypes.ModuleName,
	modelgovtypes.ModuleName,
	stakingtypes.ModuleName,
	feegrant.ModuleName,
	verifytypes.ModuleName,
	computetypes.ModuleName,
	sharestypes.ModuleName,
	anchortypes.ModuleName,
	inferencetypes.ModuleName,
}

// initGenesisOrder: auth and bank first (accounts and balances), staking before genutil (gentxs
// create validators), distribution before staking (staking hooks write distribution state).
var initGenesisOrder = []string{
	authtypes.ModuleName,
	banktypes.ModuleName,
	distrtypes.ModuleName,
	stakingtypes.ModuleName,
	slashingtypes.ModuleName,
	govtypes.ModuleName,
	minttypes.ModuleName,
	genutiltypes.ModuleName,
	evidencetypes.ModuleName,
	authz.ModuleName,
	feegrant.ModuleName,
	upgradetypes.ModuleName,
	consensustypes.ModuleName,
	computetypes.ModuleName,
	// models after compute (seats name registered workers); shares after bank and models;
	// anchor after them (it reads share balances); verify last (its records name workers and
	// models, and its bonds sit in its module account's bank balance).
	modelstypes.ModuleName,
	sharestypes.ModuleName,
	anchortypes.ModuleName,
	verifytypes.ModuleName,
	// inference after models and shares (its deposits name models; its coins are its module
	// account's bank balance).
	inferencetypes.ModuleName,
	// modelgov last: its proposals name models, its deposits are its module account's balance.
	modelgovtypes.ModuleName,
}

// exportGenesisOrder is the order of modules in an exported genesis.
var exportGenesisOrder = initGenesisOrder
