package chain

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// What a gateway reads and sends: the models, their prices and customers' deposits (x/models,
// x/inference), and batches of receipts to settle.

// Models lists every model on chain.
func (c *Client) Models(ctx context.Context) ([]modelstypes.Model, error) {
	out, err := allPages(func(p *query.PageRequest) ([]modelstypes.Model, *query.PageResponse, error) {
		res, err := modelstypes.NewQueryClient(c.conn).Models(ctx, &modelstypes.QueryModelsRequest{Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Models, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: models: %w", err)
	}
	return out, nil
}

// Price is a model's inference price per 1,000 tokens (zero: not on sale).
func (c *Client) Price(ctx context.Context, modelID uint64) (sdk.Coin, error) {
	res, err := inferencetypes.NewQueryClient(c.conn).Price(ctx, &inferencetypes.QueryPriceRequest{ModelId: modelID})
	if err != nil {
		return sdk.Coin{}, fmt.Errorf("chain: price of model %d: %w", modelID, err)
	}
	return res.Price.Per_1KTokens, nil
}

// Deposit is a customer's deposit, with what is left of it.
func (c *Client) Deposit(ctx context.Context, id uint64) (inferencetypes.Deposit, error) {
	res, err := inferencetypes.NewQueryClient(c.conn).Deposit(ctx, &inferencetypes.QueryDepositRequest{DepositId: id})
	if err != nil {
		return inferencetypes.Deposit{}, fmt.Errorf("chain: deposit %d: %w", id, err)
	}
	return res.Deposit, nil
}

// Settle submits signed receipts (x/inference MsgSettle), its fee paid by the key's account.
func (c *Client) Settle(ctx context.Context, receipts []inferencetypes.SignedReceipt) (*inferencetypes.MsgSettleResponse, error) {
	bz, err := c.Submit(ctx, &inferencetypes.MsgSettle{Submitter: c.hot.String(), Receipts: receipts})
	if err != nil {
		return nil, err
	}
	var res inferencetypes.MsgSettleResponse
	if err := res.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("chain: settle response: %w", err)
	}
	return &res, nil
}
