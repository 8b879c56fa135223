package app

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/cosmos/cosmos-sdk/x/auth/ante"
	"github.com/cosmos/cosmos-sdk/x/auth/posthandler"
)

// setAnteHandler installs the SDK's standard ante chain: fees (payable through a fee grant, so a
// trainer's hot key can spend its operator's allowance), signatures, sequences and unordered txs,
// behind a check that fees are paid in the bond denom only.
func (app *App) setAnteHandler() error {
	anteHandler, err := ante.NewAnteHandler(ante.HandlerOptions{
		AccountKeeper:   app.AccountKeeper,
		BankKeeper:      app.BankKeeper,
		FeegrantKeeper:  app.FeeGrantKeeper,
		SignModeHandler: app.txConfig.SignModeHandler(),
		SigGasConsumer:  ante.DefaultSigVerificationGasConsumer,
	})
	if err != nil {
		return fmt.Errorf("ante handler: %w", err)
	}
	app.SetAnteHandler(func(ctx sdk.Context, tx sdk.Tx, simulate bool) (sdk.Context, error) {
		if err := feesInDenom(tx, BondDenom); err != nil {
			return ctx, err
		}
		return anteHandler(ctx, tx, simulate)
	})
	return nil
}

// feesInDenom refuses a fee in any coin but denom. Fees go to x/distribution's fee collector and
// out to stakers; shares (share/N) paid as a fee would sit in a module account, earning model
// revenue that no holder can ever claim, and other coins would not be the stakers' reward.
func feesInDenom(tx sdk.Tx, denom string) error {
	feeTx, ok := tx.(sdk.FeeTx)
	if !ok {
		return nil // the SDK's fee decorator refuses a tx that is no FeeTx
	}
	for _, c := range feeTx.GetFee() {
		if c.Denom != denom {
			return errorsmod.Wrapf(sdkerrors.ErrInvalidCoins, "fee %s: fees are paid in %s only (a share paid as a fee would earn revenue nobody can claim)", c, denom)
		}
	}
	return nil
}

// setPostHandler installs the (currently empty) post-handler chain, the place for logic that must
// run after a tx's messages, such as tips or refunds.
func (app *App) setPostHandler() error {
	postHandler, err := posthandler.NewPostHandler(posthandler.HandlerOptions{})
	if err != nil {
		return fmt.Errorf("post handler: %w", err)
	}
	app.SetPostHandler(postHandler)
	return nil
}
