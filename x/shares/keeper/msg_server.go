package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/shares/types"
)

type msgServer struct{ k *Keeper }

// NewMsgServerImpl returns the Msg service of x/shares.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

var _ types.MsgServer = msgServer{}

func (s msgServer) PayRevenue(ctx context.Context, msg *types.MsgPayRevenue) (*types.MsgPayRevenueResponse, error) {
	payer, err := s.k.parseAddr("payer", msg.Payer)
	if err != nil {
		return nil, err
	}
	fee, net, err := s.k.payRevenue(ctx, payer, msg.ModelId, msg.Amount, msg.Reference)
	if err != nil {
		return nil, err
	}
	return &types.MsgPayRevenueResponse{Fee: fee, Distributed: net}, nil
}

func (s msgServer) ClaimRevenue(ctx context.Context, msg *types.MsgClaimRevenue) (*types.MsgClaimRevenueResponse, error) {
	holder, err := s.k.parseAddr("holder", msg.Holder)
	if err != nil {
		return nil, err
	}
	paid, err := s.k.claim(ctx, holder, msg.ModelIds)
	if err != nil {
		return nil, err
	}
	return &types.MsgClaimRevenueResponse{Amount: paid}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidParams, err.Error())
	}
	old, err := s.k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	if old.RevenueDenom != msg.Params.RevenueDenom {
		// Outstanding revenue is held in the old denom; switching would strand it.
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "revenue denom cannot change (%q to %q)", old.RevenueDenom, msg.Params.RevenueDenom)
	}
	if err := s.k.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{
		SharesPerUnit: msg.Params.SharesPerUnit.String(), ProtocolFeeBps: msg.Params.ProtocolFeeBps, RevenueDenom: msg.Params.RevenueDenom,
	})
}
