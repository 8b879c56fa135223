package app_test

import (
	"testing"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/protolearn/protolearn/app"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

func TestSDKConfigSealedWithLearnPrefixes(t *testing.T) {
	cfg := sdk.GetConfig()
	require.Equal(t, "learn", cfg.GetBech32AccountAddrPrefix())
	require.Equal(t, "learnvaloper", cfg.GetBech32ValidatorAddrPrefix())
	require.Equal(t, "learnvalcons", cfg.GetBech32ConsensusAddrPrefix())
	require.Equal(t, uint32(118), cfg.GetCoinType())
	require.Regexp(t, `^learnvalcons1`, sdk.ConsAddress(make([]byte, 20)).String())

	// Calling it again (e.g. from another package's init) must not panic on the sealed config.
	app.SetAddressPrefixes()
}

func TestAllModulesWiredAndDefaultGenesisValid(t *testing.T) {
	a, err := app.New(log.NewNopLogger(), dbm.NewMemDB(), nil, true, app.AppOptions{})
	require.NoError(t, err)

	for _, name := range []string{
		"auth", "bank", "staking", "slashing", "distribution", "mint", "gov",
		"consensus", "upgrade", "genutil", "evidence", "authz", "feegrant", computetypes.ModuleName, modelstypes.ModuleName, sharestypes.ModuleName, "anchor",
	} {
		require.Contains(t, a.ModuleManager.Modules, name)
		require.Contains(t, a.BasicModuleManager, name)
	}

	genesis := a.DefaultGenesis()
	require.NoError(t, a.BasicModuleManager.ValidateGenesis(a.AppCodec(), a.TxConfig(), genesis))
	var stakingGen stakingtypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(genesis[stakingtypes.ModuleName], &stakingGen)
	require.Equal(t, app.BondDenom, stakingGen.Params.BondDenom)

	// The keepers other packages' tests reach for are wired.
	require.NotNil(t, a.StakingKeeper)
	require.NotNil(t, a.GovKeeper)
	require.NotNil(t, a.UpgradeKeeper)
	require.NotNil(t, a.ComputeKeeper)
	require.NotNil(t, a.GetKey(computetypes.StoreKey))
}

func TestModuleAccounts(t *testing.T) {
	perms := app.ModuleAccountPermissions()
	require.Equal(t, []string{authtypes.Burner}, perms[computetypes.ModuleName])

	blocked := app.BlockedAddresses()
	require.True(t, blocked[authtypes.NewModuleAddress(computetypes.ModuleName).String()])
	require.Equal(t, []string{authtypes.Minter}, perms[sharestypes.ModuleName])
	// Revenue owed to holders sits in the shares account: nobody may pay into it by a bank send.
	require.True(t, blocked[authtypes.NewModuleAddress(sharestypes.ModuleName).String()])
	require.True(t, blocked[authtypes.NewModuleAddress(authtypes.FeeCollectorName).String()])
	require.False(t, blocked[authtypes.NewModuleAddress(govtypes.ModuleName).String()])
}
