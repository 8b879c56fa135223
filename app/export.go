package app

import (
	"encoding/json"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// ExportAppStateAndValidators exports the state of the given modules (all when empty) as a genesis
// app state, with the current validator set. With forZeroHeight the state is first rewritten so
// that a new chain can start from it at height zero: rewards are paid out and every height
// recorded in staking, distribution and slashing state is reset; validators not listed in
// jailAllowedAddrs (when it is non-empty) are jailed.
func (app *App) ExportAppStateAndValidators(forZeroHeight bool, jailAllowedAddrs, modulesToExport []string) (servertypes.ExportedApp, error) {
	ctx := app.NewContextLegacy(true, cmtproto.Header{Height: app.LastBlockHeight()})

	// CometBFT starts InitChain of the new chain at the last height + 1.
	height := app.LastBlockHeight() + 1
	if forZeroHeight {
		height = 0
		if err := app.prepForZeroHeightGenesis(ctx, jailAllowedAddrs); err != nil {
			return servertypes.ExportedApp{}, fmt.Errorf("prepare zero-height genesis: %w", err)
		}
	}

	genState, err := app.ModuleManager.ExportGenesisForModules(ctx, app.appCodec, modulesToExport)
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("export module genesis: %w", err)
	}
	appState, err := json.MarshalIndent(genState, "", "  ")
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("marshal app state: %w", err)
	}
	validators, err := staking.WriteValidators(ctx, app.StakingKeeper)
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("export validators: %w", err)
	}
	return servertypes.ExportedApp{
		AppState:        appState,
		Validators:      validators,
		Height:          height,
		ConsensusParams: app.GetConsensusParams(ctx),
	}, nil
}

// prepForZeroHeightGenesis rewrites state for a chain restarting at height zero.
func (app *App) prepForZeroHeightGenesis(ctx sdk.Context, jailAllowedAddrs []string) error {
	allowed := make(map[string]bool, len(jailAllowedAddrs))
	for _, addr := range jailAllowedAddrs {
		if _, err := sdk.ValAddressFromBech32(addr); err != nil {
			return fmt.Errorf("jail-allowed address %q: %w", addr, err)
		}
		allowed[addr] = true
	}

	if err := app.resetDistribution(ctx); err != nil {
		return fmt.Errorf("distribution: %w", err)
	}
	if err := app.resetStaking(ctx, allowed); err != nil {
		return fmt.Errorf("staking: %w", err)
	}
	if err := app.resetSlashing(ctx); err != nil {
		return fmt.Errorf("slashing: %w", err)
	}
	// Seats' joining heights, compared with x/verify's rebased heights.
	if err := app.ModelsKeeper.RebaseHeights(ctx, app.LastBlockHeight()); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	// Pending spot-check draws, finalizations and response deadlines count blocks from now.
	if err := app.VerifyKeeper.RebaseHeights(ctx, app.LastBlockHeight()); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	// Checkpoint heights go on above the exported ones: the Ethereum contract takes only higher.
	if err := app.AnchorKeeper.RebaseHeights(ctx, app.LastBlockHeight()); err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	// Deposits keep the blocks they had left to settle and to be withdrawn.
	if err := app.InferenceKeeper.RebaseHeights(ctx, app.LastBlockHeight()); err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	// Proposals keep the blocks they had left to vote.
	if err := app.ModelgovKeeper.RebaseHeights(ctx, app.LastBlockHeight()); err != nil {
		return fmt.Errorf("modelgov: %w", err)
	}
	return nil
}

// resetDistribution pays out all commission and rewards, sends the rounding dust to the community
// pool, and re-creates the reward records from period zero.
func (app *App) resetDistribution(ctx sdk.Context) error {
	valCodec := app.StakingKeeper.ValidatorAddressCodec()

	validators, err := app.StakingKeeper.GetAllValidators(ctx)
	if err != nil {
		return fmt.Errorf("list validators: %w", err)
	}
	for _, val := range validators {
		valAddr, err := valCodec.StringToBytes(val.GetOperator())
		if err != nil {
			return fmt.Errorf("validator %s: %w", val.GetOperator(), err)
		}
		// A validator with nothing to withdraw returns an error; that is not a failure here.
		_, _ = app.DistrKeeper.WithdrawValidatorCommission(ctx, valAddr)
	}

	delegations, err := app.StakingKeeper.GetAllDelegations(ctx)
	if err != nil {
		return fmt.Errorf("list delegations: %w", err)
	}
	for _, del := range delegations {
		valAddr, delAddr, err := delegationAddrs(del)
		if err != nil {
			return err
		}
		// As for commission, nothing to withdraw is not a failure.
		_, _ = app.DistrKeeper.WithdrawDelegationRewards(ctx, delAddr, valAddr)
	}

	app.DistrKeeper.DeleteAllValidatorSlashEvents(ctx)
	app.DistrKeeper.DeleteAllValidatorHistoricalRewards(ctx)

	// Reward records are re-created as if at height zero.
	zeroCtx := ctx.WithBlockHeight(0)
	hooks := app.DistrKeeper.Hooks()

	for _, val := range validators {
		valAddr, err := valCodec.StringToBytes(val.GetOperator())
		if err != nil {
			return fmt.Errorf("validator %s: %w", val.GetOperator(), err)
		}
		scraps, err := app.DistrKeeper.GetValidatorOutstandingRewardsCoins(zeroCtx, valAddr)
		if err != nil {
			return fmt.Errorf("outstanding rewards of %s: %w", val.GetOperator(), err)
		}
		feePool, err := app.DistrKeeper.FeePool.Get(zeroCtx)
		if err != nil {
			return fmt.Errorf("fee pool: %w", err)
		}
		feePool.CommunityPool = feePool.CommunityPool.Add(scraps...)
		if err := app.DistrKeeper.FeePool.Set(zeroCtx, feePool); err != nil {
			return fmt.Errorf("fee pool: %w", err)
		}
		if err := hooks.AfterValidatorCreated(zeroCtx, valAddr); err != nil {
			return fmt.Errorf("re-create rewards of %s: %w", val.GetOperator(), err)
		}
	}

	for _, del := range delegations {
		valAddr, delAddr, err := delegationAddrs(del)
		if err != nil {
			return err
		}
		if err := hooks.BeforeDelegationCreated(zeroCtx, delAddr, valAddr); err != nil {
			return fmt.Errorf("re-create delegation %s/%s: %w", del.DelegatorAddress, del.ValidatorAddress, err)
		}
		if err := hooks.AfterDelegationModified(zeroCtx, delAddr, valAddr); err != nil {
			return fmt.Errorf("re-create delegation %s/%s: %w", del.DelegatorAddress, del.ValidatorAddress, err)
		}
	}
	return nil
}

func delegationAddrs(del stakingtypes.Delegation) (sdk.ValAddress, sdk.AccAddress, error) {
	valAddr, err := sdk.ValAddressFromBech32(del.ValidatorAddress)
	if err != nil {
		return nil, nil, fmt.Errorf("delegation validator %q: %w", del.ValidatorAddress, err)
	}
	delAddr, err := sdk.AccAddressFromBech32(del.DelegatorAddress)
	if err != nil {
		return nil, nil, fmt.Errorf("delegator %q: %w", del.DelegatorAddress, err)
	}
	return valAddr, delAddr, nil
}

// resetStaking zeroes creation and unbonding heights and jails validators not in allowed (when
// allowed is non-empty).
func (app *App) resetStaking(ctx sdk.Context, allowed map[string]bool) error {
	sk := app.StakingKeeper

	var redelegations []stakingtypes.Redelegation
	if err := sk.IterateRedelegations(ctx, func(_ int64, red stakingtypes.Redelegation) bool {
		redelegations = append(redelegations, red)
		return false
	}); err != nil {
		return fmt.Errorf("list redelegations: %w", err)
	}
	for _, red := range redelegations {
		for i := range red.Entries {
			red.Entries[i].CreationHeight = 0
		}
		if err := sk.SetRedelegation(ctx, red); err != nil {
			return fmt.Errorf("redelegation of %s: %w", red.DelegatorAddress, err)
		}
	}

	var unbondings []stakingtypes.UnbondingDelegation
	if err := sk.IterateUnbondingDelegations(ctx, func(_ int64, ubd stakingtypes.UnbondingDelegation) bool {
		unbondings = append(unbondings, ubd)
		return false
	}); err != nil {
		return fmt.Errorf("list unbonding delegations: %w", err)
	}
	for _, ubd := range unbondings {
		for i := range ubd.Entries {
			ubd.Entries[i].CreationHeight = 0
		}
		if err := sk.SetUnbondingDelegation(ctx, ubd); err != nil {
			return fmt.Errorf("unbonding delegation of %s: %w", ubd.DelegatorAddress, err)
		}
	}

	validators, err := sk.GetAllValidators(ctx)
	if err != nil {
		return fmt.Errorf("list validators: %w", err)
	}
	for _, val := range validators {
		val.UnbondingHeight = 0
		if len(allowed) > 0 && !allowed[val.OperatorAddress] {
			val.Jailed = true
		}
		if err := sk.SetValidator(ctx, val); err != nil {
			return fmt.Errorf("validator %s: %w", val.OperatorAddress, err)
		}
	}

	if _, err := sk.ApplyAndReturnValidatorSetUpdates(ctx); err != nil {
		return fmt.Errorf("apply validator set updates: %w", err)
	}
	return nil
}

// resetSlashing restarts every validator's signing window at height zero.
func (app *App) resetSlashing(ctx sdk.Context) error {
	type entry struct {
		addr sdk.ConsAddress
		info slashingtypes.ValidatorSigningInfo
	}
	var infos []entry
	if err := app.SlashingKeeper.IterateValidatorSigningInfos(ctx, func(addr sdk.ConsAddress, info slashingtypes.ValidatorSigningInfo) bool {
		infos = append(infos, entry{addr, info})
		return false
	}); err != nil {
		return fmt.Errorf("list signing infos: %w", err)
	}
	for _, e := range infos {
		e.info.StartHeight = 0
		if err := app.SlashingKeeper.SetValidatorSigningInfo(ctx, e.addr, e.info); err != nil {
			return fmt.Errorf("signing info of %s: %w", e.addr, err)
		}
	}
	return nil
}
