package app

import (
	"github.com/spf13/cast"

	corestore "cosmossdk.io/core/store"
	"cosmossdk.io/log"
	evidencekeeper "cosmossdk.io/x/evidence/keeper"
	evidencetypes "cosmossdk.io/x/evidence/types"
	"cosmossdk.io/x/feegrant"
	feegrantkeeper "cosmossdk.io/x/feegrant/keeper"
	upgradekeeper "cosmossdk.io/x/upgrade/keeper"
	upgradetypes "cosmossdk.io/x/upgrade/types"

	"github.com/cosmos/cosmos-sdk/client/flags"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	consensuskeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	govkeeper "github.com/cosmos/cosmos-sdk/x/gov/keeper"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1beta1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1beta1"
	mintkeeper "github.com/cosmos/cosmos-sdk/x/mint/keeper"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingkeeper "github.com/cosmos/cosmos-sdk/x/staking/keeper"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	anchorkeeper "github.com/protolearn/protolearn/x/anchor/keeper"
	anchortypes "github.com/protolearn/protolearn/x/anchor/types"
	computekeeper "github.com/protolearn/protolearn/x/compute/keeper"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	inferencekeeper "github.com/protolearn/protolearn/x/inference/keeper"
	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelgovkeeper "github.com/protolearn/protolearn/x/modelgov/keeper"
	modelgovtypes "github.com/protolearn/protolearn/x/modelgov/types"
	modelskeeper "github.com/protolearn/protolearn/x/models/keeper"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	"github.com/protolearn/protolearn/x/shares"
	shareskeeper "github.com/protolearn/protolearn/x/shares/keeper"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifykeeper "github.com/protolearn/protolearn/x/verify/keeper"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Keepers are the module keepers, exported so that tests and upgrade handlers can reach state.
type Keepers struct {
	AccountKeeper         authkeeper.AccountKeeper
	BankKeeper            bankkeeper.BaseKeeper
	StakingKeeper         *stakingkeeper.Keeper
	SlashingKeeper        slashingkeeper.Keeper
	MintKeeper            mintkeeper.Keeper
	DistrKeeper           distrkeeper.Keeper
	GovKeeper             *govkeeper.Keeper
	ConsensusParamsKeeper consensuskeeper.Keeper
	UpgradeKeeper         *upgradekeeper.Keeper
	EvidenceKeeper        evidencekeeper.Keeper
	AuthzKeeper           authzkeeper.Keeper
	FeeGrantKeeper        feegrantkeeper.Keeper
	ComputeKeeper         *computekeeper.Keeper
	ModelsKeeper          *modelskeeper.Keeper
	SharesKeeper          *shareskeeper.Keeper
	AnchorKeeper          *anchorkeeper.Keeper
	VerifyKeeper          *verifykeeper.Keeper
	InferenceKeeper       *inferencekeeper.Keeper
	ModelgovKeeper        *modelgovkeeper.Keeper
}

// Authority is the address allowed to change module parameters: the gov module account.
func Authority() string {
	return authtypes.NewModuleAddress(govtypes.ModuleName).String()
}

// initKeepers constructs every keeper; a keeper comes after the keepers it is given.
func (app *App) initKeepers(appOpts servertypes.AppOptions, logger log.Logger) {
	cdc := app.appCodec
	kv := func(storeKey string) corestore.KVStoreService {
		return runtime.NewKVStoreService(app.keys[storeKey])
	}
	signing := app.interfaceRegistry.SigningContext()
	authority := Authority()

	app.ConsensusParamsKeeper = consensuskeeper.NewKeeper(cdc, kv(consensustypes.StoreKey), authority, runtime.EventService{})
	// baseapp reads and writes the CometBFT consensus params through the consensus keeper.
	app.SetParamStore(app.ConsensusParamsKeeper.ParamsStore)

	app.AccountKeeper = authkeeper.NewAccountKeeper(
		cdc, kv(authtypes.StoreKey), authtypes.ProtoBaseAccount, maccPerms,
		signing.AddressCodec(), Bech32Prefix, authority,
		// lets trainers post attestations fire-and-forget, without tracking sequence numbers.
		authkeeper.WithUnorderedTransactions(true),
	)
	app.BankKeeper = bankkeeper.NewBaseKeeper(cdc, kv(banktypes.StoreKey), app.AccountKeeper, BlockedAddresses(), authority, logger)

	app.StakingKeeper = stakingkeeper.NewKeeper(
		cdc, kv(stakingtypes.StoreKey), app.AccountKeeper, app.BankKeeper, authority,
		signing.ValidatorAddressCodec(), addresscodec.NewBech32Codec(Bech32PrefixConsAddr),
	)
	app.MintKeeper = mintkeeper.NewKeeper(cdc, kv(minttypes.StoreKey), app.StakingKeeper, app.AccountKeeper, app.BankKeeper, authtypes.FeeCollectorName, authority)
	app.DistrKeeper = distrkeeper.NewKeeper(cdc, kv(distrtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.StakingKeeper, authtypes.FeeCollectorName, authority)
	app.SlashingKeeper = slashingkeeper.NewKeeper(cdc, app.legacyAmino, kv(slashingtypes.StoreKey), app.StakingKeeper, authority)
	app.StakingKeeper.SetHooks(stakingtypes.NewMultiStakingHooks(app.DistrKeeper.Hooks(), app.SlashingKeeper.Hooks()))

	app.FeeGrantKeeper = feegrantkeeper.NewKeeper(cdc, kv(feegrant.StoreKey), app.AccountKeeper)
	app.AuthzKeeper = authzkeeper.NewKeeper(kv(authzkeeper.StoreKey), cdc, app.MsgServiceRouter(), app.AccountKeeper)

	skipUpgradeHeights := map[int64]bool{}
	for _, h := range cast.ToIntSlice(appOpts.Get(server.FlagUnsafeSkipUpgrades)) {
		skipUpgradeHeights[int64(h)] = true
	}
	homePath := cast.ToString(appOpts.Get(flags.FlagHome))
	app.UpgradeKeeper = upgradekeeper.NewKeeper(skipUpgradeHeights, kv(upgradetypes.StoreKey), cdc, homePath, app.BaseApp, authority)

	app.GovKeeper = govkeeper.NewKeeper(
		cdc, kv(govtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.StakingKeeper, app.DistrKeeper,
		app.MsgServiceRouter(), govtypes.DefaultConfig(), authority,
	)
	// Legacy (v1beta1) text proposals still route through this router; the keeper dereferences it.
	legacyRouter := govv1beta1.NewRouter()
	legacyRouter.AddRoute(govtypes.RouterKey, govv1beta1.ProposalHandler)
	app.GovKeeper.SetLegacyRouter(legacyRouter)

	app.EvidenceKeeper = *evidencekeeper.NewKeeper(
		cdc, kv(evidencetypes.StoreKey), app.StakingKeeper, app.SlashingKeeper,
		app.AccountKeeper.AddressCodec(), runtime.ProvideCometInfoService(),
	)

	app.ComputeKeeper = computekeeper.NewKeeper(cdc, kv(computetypes.StoreKey), app.AccountKeeper, app.BankKeeper, authority, logger)
	app.ModelsKeeper = modelskeeper.NewKeeper(cdc, kv(modelstypes.StoreKey), app.AccountKeeper, app.ComputeKeeper, authority, logger)
	app.SharesKeeper = shareskeeper.NewKeeper(cdc, kv(sharestypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.DistrKeeper, authority, logger)
	app.SharesKeeper.SetModelsKeeper(modelsForShares{k: app.ModelsKeeper, codec: app.AccountKeeper.AddressCodec()})
	app.InferenceKeeper = inferencekeeper.NewKeeper(cdc, kv(inferencetypes.StoreKey), app.AccountKeeper, app.BankKeeper,
		modelsForInference{k: app.ModelsKeeper, codec: app.AccountKeeper.AddressCodec()}, app.SharesKeeper, authority, logger)
	app.AnchorKeeper = anchorkeeper.NewKeeper(cdc, kv(anchortypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.StakingKeeper, authority, logger)
	app.VerifyKeeper = verifykeeper.NewKeeper(cdc, kv(verifytypes.StoreKey), app.AccountKeeper, app.BankKeeper,
		computeForVerify{k: app.ComputeKeeper}, app.ModelsKeeper, app.SharesKeeper, authority, logger)
	app.ModelgovKeeper = modelgovkeeper.NewKeeper(cdc, kv(modelgovtypes.StoreKey), app.AccountKeeper, app.BankKeeper,
		app.ModelsKeeper, app.InferenceKeeper, authority, logger)
	// A holder's share balance is recorded for the votes in progress before it first moves.
	app.SharesKeeper.AddMoveHooks(app.ModelgovKeeper)
	// Moved share balances reach the next anchor checkpoint.
	app.SharesKeeper.AddBalanceHooks(app.AnchorKeeper)

	// A worker jailed or under-staked in x/compute loses its stage seats in x/models.
	app.ComputeKeeper.SetHooks(app.ModelsKeeper.ComputeHooks())
	// A new model gets its share/N denom metadata.
	app.ModelsKeeper.SetHooks(shares.NewModelHooks(app.SharesKeeper))
	// Every movement of share/N settles sender and receiver first: no path around the revenue split.
	app.BankKeeper.AppendSendRestriction(app.SharesKeeper.SendRestriction)
}

// BlockedAddresses are the addresses that may not receive coins through bank sends: every module
// account except receivingModuleAccounts.
func BlockedAddresses() map[string]bool {
	blocked := make(map[string]bool, len(maccPerms))
	for name := range maccPerms {
		blocked[authtypes.NewModuleAddress(name).String()] = true
	}
	for _, name := range receivingModuleAccounts {
		delete(blocked, authtypes.NewModuleAddress(name).String())
	}
	return blocked
}

// ModuleAccountPermissions returns a copy of the module accounts and their permissions.
func ModuleAccountPermissions() map[string][]string {
	perms := make(map[string][]string, len(maccPerms))
	for name, p := range maccPerms {
		perms[name] = append([]string(nil), p...)
	}
	return perms
}
