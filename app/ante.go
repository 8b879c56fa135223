package app

import (
	"fmt"

	"github.com/cosmos/cosmos-sdk/x/auth/ante"
	"github.com/cosmos/cosmos-sdk/x/auth/posthandler"
)

// setAnteHandler installs the SDK's standard ante chain: fees (payable through a fee grant, so a
// trainer's hot key can spend its operator's allowance), signatures, sequences and unordered txs.
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
	app.SetAnteHandler(anteHandler)
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
