package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/protolearn/protolearn/x/inference/types"
)

type msgServer struct{ k *Keeper }

// NewMsgServerImpl returns the Msg service of x/inference.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) SetPrice(ctx context.Context, msg *types.MsgSetPrice) (*types.MsgSetPriceResponse, error) {
	if err := s.k.SetPrice(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgSetPriceResponse{}, nil
}

func (s msgServer) Deposit(ctx context.Context, msg *types.MsgDeposit) (*types.MsgDepositResponse, error) {
	d, err := s.k.Deposit(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgDepositResponse{DepositId: d.Id, ExpiresHeight: d.ExpiresHeight}, nil
}

func (s msgServer) Settle(ctx context.Context, msg *types.MsgSettle) (*types.MsgSettleResponse, error) {
	paid, skipped, err := s.k.Settle(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgSettleResponse{Paid: paid, Skipped: skipped}, nil
}

func (s msgServer) Withdraw(ctx context.Context, msg *types.MsgWithdraw) (*types.MsgWithdrawResponse, error) {
	refunded, err := s.k.Withdraw(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawResponse{Refunded: refunded}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	if err := s.k.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}
