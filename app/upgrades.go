package app

import (
	"context"
	"fmt"

	storetypes "cosmossdk.io/store/types"
	upgradetypes "cosmossdk.io/x/upgrade/types"

	"github.com/cosmos/cosmos-sdk/types/module"
)

// Upgrade is one named software upgrade: the migrations to run and the stores it adds or removes.
type Upgrade struct {
	// Name is the plan name of the governance upgrade proposal.
	Name string
	// StoreUpgrades lists the stores of modules added (or removed) by this upgrade.
	StoreUpgrades storetypes.StoreUpgrades
	// Handler runs at the upgrade height; nil runs the modules' registered migrations only.
	Handler func(ctx context.Context, app *App, plan upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error)
}

// upgrades are the software upgrades this binary can apply, oldest first. A module added to a
// running chain goes into StoreUpgrades.Added of the upgrade that introduces it.
var upgrades = []Upgrade{}

// registerUpgrades registers the upgrade handlers and, when the node restarts at a planned upgrade
// height, the store loader that adds or removes stores.
func (app *App) registerUpgrades() error {
	for _, u := range upgrades {
		app.UpgradeKeeper.SetUpgradeHandler(u.Name, func(ctx context.Context, plan upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error) {
			if u.Handler != nil {
				return u.Handler(ctx, app, plan, fromVM)
			}
			return app.ModuleManager.RunMigrations(ctx, app.configurator, fromVM)
		})
	}

	if len(upgrades) == 0 {
		// Nothing to load; reading the upgrade info would create <home>/data for nothing.
		return nil
	}
	info, err := app.UpgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		return fmt.Errorf("read upgrade info from disk: %w", err)
	}
	if info.Name == "" || app.UpgradeKeeper.IsSkipHeight(info.Height) {
		return nil
	}
	for _, u := range upgrades {
		if u.Name == info.Name {
			app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &u.StoreUpgrades))
		}
	}
	return nil
}
