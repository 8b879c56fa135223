package keeper

import (
	"bytes"
	"context"
	"fmt"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/types"
)

// ValidatorKey is the Ethereum key registered for the validator with consensus address cons.
func (k *Keeper) ValidatorKey(ctx context.Context, cons sdk.ConsAddress) (common.Address, bool, error) {
	v, err := k.sk.GetValidatorByConsAddr(ctx, cons)
	if err != nil {
		return common.Address{}, false, nil //nolint:nilerr // not a validator: no key
	}
	op, err := k.sk.ValidatorAddressCodec().StringToBytes(v.GetOperator())
	if err != nil {
		return common.Address{}, false, err
	}
	eth, err := k.Keys.Get(ctx, op)
	if isNotFound(err) {
		return common.Address{}, false, nil
	}
	if err != nil {
		return common.Address{}, false, err
	}
	return common.BytesToAddress(eth), true, nil
}

// OwnsKey says whether Ethereum address addr is a key (current or retired) of the validator
// with consensus address cons.
func (k *Keeper) OwnsKey(ctx context.Context, cons sdk.ConsAddress, addr common.Address) (bool, error) {
	v, err := k.sk.GetValidatorByConsAddr(ctx, cons)
	if err != nil {
		return false, nil //nolint:nilerr // not a validator: owns no key
	}
	op, err := k.sk.ValidatorAddressCodec().StringToBytes(v.GetOperator())
	if err != nil {
		return false, err
	}
	owner, err := k.KeyOwners.Get(ctx, addr[:])
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return bytes.Equal(owner, op), nil
}

// ToSign is the checkpoint a validator with Ethereum address addr should sign next: the
// oldest stored one that is not ready and lacks its signature, else the latest if it lacks it.
func (k *Keeper) ToSign(ctx context.Context, addr common.Address) (types.Checkpoint, bool, error) {
	var pick, latest *types.Checkpoint
	err := k.Checkpoints.Walk(ctx, nil, func(_ uint64, c types.Checkpoint) (bool, error) {
		c2 := c
		latest = &c2
		if pick == nil && !c.Ready() && needs(c, addr) {
			pick = &c2
		}
		return false, nil
	})
	if err != nil {
		return types.Checkpoint{}, false, err
	}
	switch {
	case pick != nil:
		return *pick, true, nil
	case latest != nil && needs(*latest, addr):
		return *latest, true, nil
	}
	return types.Checkpoint{}, false, nil
}

// needs: addr is in c's signing set and has not signed c.
func needs(c types.Checkpoint, addr common.Address) bool {
	if types.SignerIndex(c.SigningSet, addr) < 0 {
		return false
	}
	for _, s := range c.Signatures {
		if common.HexToAddress(s.EthAddress) == addr {
			return false
		}
	}
	return true
}

// CheckVote verifies a checkpoint signature: the checkpoint is stored, the signature is valid
// for its hash and comes from a member of its signing set that has not signed it yet. It
// returns the signer and its power.
func (k *Keeper) CheckVote(ctx context.Context, v types.VoteExtension) (common.Address, uint64, error) {
	c, err := k.Checkpoints.Get(ctx, v.Height)
	if isNotFound(err) {
		return common.Address{}, 0, errorsmod.Wrapf(types.ErrNoCheckpoint, "height %d (pruned, or never taken)", v.Height)
	}
	if err != nil {
		return common.Address{}, 0, err
	}
	digest, err := hashOf(c.Hash)
	if err != nil {
		return common.Address{}, 0, err
	}
	addr, err := types.Recover(digest, v.Signature)
	if err != nil {
		return common.Address{}, 0, errorsmod.Wrapf(types.ErrBadSignature, "checkpoint %d: %v", v.Height, err)
	}
	i := types.SignerIndex(c.SigningSet, addr)
	if i < 0 {
		return common.Address{}, 0, errorsmod.Wrapf(types.ErrBadSignature, "checkpoint %d: signer %s is not in its signing set", v.Height, addr)
	}
	if !needs(c, addr) {
		return common.Address{}, 0, errorsmod.Wrapf(types.ErrBadSignature, "checkpoint %d: %s already signed it", v.Height, addr)
	}
	return addr, c.SigningSet[i].Power, nil
}

// CheckVotes verifies a batch as ProcessProposal must: each signature valid, none twice.
func (k *Keeper) CheckVotes(ctx context.Context, votes []types.VoteExtension) error {
	seen := map[string]bool{}
	for i, v := range votes {
		addr, _, err := k.CheckVote(ctx, v)
		if err != nil {
			return fmt.Errorf("signature %d: %w", i, err)
		}
		key := fmt.Sprint(v.Height, addr.Hex())
		if seen[key] {
			return errorsmod.Wrapf(types.ErrBadSignature, "signature %d: %s signs checkpoint %d twice", i, addr, v.Height)
		}
		seen[key] = true
	}
	return nil
}

// AddSignatures stores the valid signatures of votes with their checkpoints and skips the rest
// (ProcessProposal has refused a block with any, so none should come). It emits one
// EventCheckpointSigned per checkpoint that gained signatures.
func (k *Keeper) AddSignatures(ctx context.Context, votes []types.VoteExtension) error {
	gained := map[uint64]uint32{}
	var order []uint64
	for _, v := range votes {
		addr, power, err := k.CheckVote(ctx, v)
		if err != nil {
			k.logger.Error("skipping a checkpoint signature", "height", v.Height, "err", err)
			continue
		}
		c, err := k.Checkpoints.Get(ctx, v.Height)
		if err != nil {
			return err
		}
		c.Signatures = append(c.Signatures, types.CheckpointSignature{EthAddress: addr.Hex(), Signature: v.Signature})
		c.SignedPower += power
		if err := k.Checkpoints.Set(ctx, v.Height, c); err != nil {
			return err
		}
		if gained[v.Height] == 0 {
			order = append(order, v.Height)
		}
		gained[v.Height]++
	}
	em := sdk.UnwrapSDKContext(ctx).EventManager()
	for _, h := range order {
		c, err := k.Checkpoints.Get(ctx, h)
		if err != nil {
			return err
		}
		if err := em.EmitTypedEvent(&types.EventCheckpointSigned{
			Height: h, NewSignatures: gained[h], SignedPower: c.SignedPower, TotalPower: c.SigningTotal, Ready: c.Ready(),
		}); err != nil {
			return err
		}
	}
	return nil
}
