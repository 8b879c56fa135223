package keeper

import (
	"bytes"
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/types"
)

type msgServer struct{ k *Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service of x/anchor.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{k: k} }

// SetAnchorKey registers or rotates a validator's Ethereum key after checking that the key
// signed KeyProofHash(chain id, validator).
func (s msgServer) SetAnchorKey(ctx context.Context, msg *types.MsgSetAnchorKey) (*types.MsgSetAnchorKeyResponse, error) {
	op, err := s.k.sk.ValidatorAddressCodec().StringToBytes(msg.ValidatorAddress)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "validator_address %q: %v", msg.ValidatorAddress, err)
	}
	if _, err := s.k.sk.GetValidator(ctx, op); err != nil {
		return nil, errorsmod.Wrapf(types.ErrNotValidator, "%s: create the validator first (tx staking create-validator)", msg.ValidatorAddress)
	}
	eth, err := types.ParseEthAddress(msg.EthAddress)
	if err != nil {
		return nil, err
	}
	sctx := sdk.UnwrapSDKContext(ctx)
	signer, err := types.Recover(types.KeyProofHash(sctx.ChainID(), op), msg.Proof)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrBadKeyProof, "%v", err)
	}
	if signer != eth {
		return nil, errorsmod.Wrapf(types.ErrBadKeyProof, "the proof is signed by %s, not %s", signer, eth)
	}
	owner, err := s.k.KeyOwners.Get(ctx, eth[:])
	switch {
	case err == nil && !bytes.Equal(owner, op):
		return nil, errorsmod.Wrapf(types.ErrKeyTaken, "%s", eth)
	case err != nil && !isNotFound(err):
		return nil, err
	}
	var previous string
	old, err := s.k.Keys.Get(ctx, op)
	switch {
	case err == nil:
		// The old key stays the validator's (KeyOwners): its node may go on signing with it the
		// checkpoints whose signing set holds it, until a set with the new key is in.
		previous = common.BytesToAddress(old).Hex()
	case !isNotFound(err):
		return nil, err
	}
	if err := s.k.Keys.Set(ctx, op, eth[:]); err != nil {
		return nil, err
	}
	if err := s.k.KeyOwners.Set(ctx, eth[:], op); err != nil {
		return nil, err
	}
	return &types.MsgSetAnchorKeyResponse{}, sctx.EventManager().EmitTypedEvent(&types.EventAnchorKeySet{
		ValidatorAddress: msg.ValidatorAddress, EthAddress: eth.Hex(), PreviousEthAddress: previous,
	})
}

// UpdateParams replaces the params; only the authority may.
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
	return &types.MsgUpdateParamsResponse{}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{
		AnchorInterval: msg.Params.AnchorInterval, CheckpointsKept: msg.Params.CheckpointsKept,
	})
}
