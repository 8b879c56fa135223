package app

import (
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/protolearn/protolearn/app/chainmetrics"
)

// SetMetrics counts every finalized block's protolearn events into m (a node's; nil: none).
// Set it before the node starts.
func (app *App) SetMetrics(m *chainmetrics.Metrics) { app.metrics = m }

// FinalizeBlock is BaseApp's, then counts the block's events: the block is decided, and its
// events happen once on every node whatever CheckTx and simulations did.
func (app *App) FinalizeBlock(req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	res, err := app.BaseApp.FinalizeBlock(req)
	if err == nil && app.metrics != nil {
		app.metrics.Observe(res)
	}
	return res, err
}
