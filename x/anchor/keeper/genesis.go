package keeper

import (
	"bytes"
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// InitGenesis loads keys and checkpoints, rebuilds the share trees from the anchored balances
// (their shape depends only on the holders, so the roots are those of the exporting chain),
// and marks pending every holder whose bank balance differs from its anchored one: a genesis
// that gives out shares without an anchor section has them all in the first checkpoint.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return fmt.Errorf("x/anchor genesis: %w", err)
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, key := range gs.Keys {
		op, err := k.sk.ValidatorAddressCodec().StringToBytes(key.ValidatorAddress)
		if err != nil {
			return fmt.Errorf("x/anchor genesis: key of %s: %w", key.ValidatorAddress, err)
		}
		eth := common.HexToAddress(key.EthAddress)
		if err := k.Keys.Set(ctx, op, eth[:]); err != nil {
			return err
		}
		if err := k.KeyOwners.Set(ctx, eth[:], op); err != nil {
			return err
		}
	}
	for _, key := range gs.RetiredKeys {
		op, err := k.sk.ValidatorAddressCodec().StringToBytes(key.ValidatorAddress)
		if err != nil {
			return fmt.Errorf("x/anchor genesis: retired key of %s: %w", key.ValidatorAddress, err)
		}
		eth := common.HexToAddress(key.EthAddress)
		if err := k.KeyOwners.Set(ctx, eth[:], op); err != nil {
			return err
		}
	}
	// Checkpoints the restarted chain takes must come after the exported ones (the contract
	// takes only higher heights, and one height is one checkpoint).
	first := uint64(max(sdk.UnwrapSDKContext(ctx).BlockHeight(), 1)) + gs.HeightOffset
	for _, c := range gs.Checkpoints {
		if c.Height >= first {
			return fmt.Errorf("x/anchor genesis: checkpoint %d is not below the first height this chain can take one at (%d: block height %d plus height_offset %d): restart a non-zero-height export at its next height, or export at zero height",
				c.Height, first, first-gs.HeightOffset, gs.HeightOffset)
		}
		if err := k.Checkpoints.Set(ctx, c.Height, c); err != nil {
			return err
		}
	}
	chainID := gs.AnchorChainId
	if chainID == "" {
		chainID = sdk.UnwrapSDKContext(ctx).ChainID() // the first genesis: its id is the anchor's
		// Validate could not check the checkpoints' hashes without it: a checkpoint whose
		// stored hash is not its own (moved to another deployment, say) would be relayed to a
		// contract that refuses it, and nothing newer would be taken.
		for _, c := range gs.Checkpoints {
			if err := c.CheckHash(chainID); err != nil {
				return fmt.Errorf("x/anchor genesis: checkpoint %d on chain %s: %w", c.Height, chainID, err)
			}
		}
	}
	if err := k.ChainID.Set(ctx, chainID); err != nil {
		return err
	}
	if err := k.HeightOffset.Set(ctx, gs.HeightOffset); err != nil {
		return err
	}
	anchored := map[string]string{}
	touched := map[uint64]bool{}
	for _, b := range gs.Balances {
		holder, err := k.ak.AddressCodec().StringToBytes(b.Holder)
		if err != nil {
			return fmt.Errorf("x/anchor genesis: holder %s: %w", b.Holder, err)
		}
		if err := k.treap(ctx, b.ModelId).Set(holder, b.Amount.BigInt()); err != nil {
			return fmt.Errorf("x/anchor genesis: model %d holder %s: %w", b.ModelId, b.Holder, err)
		}
		anchored[pendingKey(b.ModelId, holder)] = b.Amount.String()
		touched[b.ModelId] = true
	}
	for model := range touched {
		if err := k.refreshModelRoot(ctx, model); err != nil {
			return err
		}
	}
	for _, p := range gs.Pending {
		holder, err := k.ak.AddressCodec().StringToBytes(p.Holder)
		if err != nil {
			return fmt.Errorf("x/anchor genesis: pending holder %s: %w", p.Holder, err)
		}
		if err := k.Pending.Set(ctx, collections.Join(p.ModelId, sdk.AccAddress(holder))); err != nil {
			return err
		}
	}
	var err error
	k.bk.IterateAllBalances(ctx, func(addr sdk.AccAddress, coin sdk.Coin) bool {
		model, ok := sharestypes.ParseShareDenom(coin.Denom)
		if !ok {
			return false
		}
		key := pendingKey(model, addr)
		if anchored[key] != coin.Amount.String() {
			err = k.Pending.Set(ctx, collections.Join(model, addr))
		}
		delete(anchored, key)
		return err != nil
	})
	if err != nil {
		return err
	}
	// Anchored holders whose shares are gone from the bank leave the tree at the next checkpoint.
	for _, b := range gs.Balances {
		holder, _ := k.ak.AddressCodec().StringToBytes(b.Holder)
		if _, left := anchored[pendingKey(b.ModelId, holder)]; left {
			if err := k.Pending.Set(ctx, collections.Join(b.ModelId, sdk.AccAddress(holder))); err != nil {
				return err
			}
		}
	}
	return nil
}

func pendingKey(model uint64, holder []byte) string { return fmt.Sprintf("%d/%x", model, holder) }

// ExportGenesis dumps the state; the trees as their balances.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	err = k.Keys.Walk(ctx, nil, func(op sdk.ValAddress, eth []byte) (bool, error) {
		s, err := k.sk.ValidatorAddressCodec().BytesToString(op)
		gs.Keys = append(gs.Keys, types.AnchorKey{ValidatorAddress: s, EthAddress: common.BytesToAddress(eth).Hex()})
		return false, err
	})
	if err != nil {
		return nil, err
	}
	err = k.KeyOwners.Walk(ctx, nil, func(eth []byte, op sdk.ValAddress) (bool, error) {
		current, err := k.Keys.Get(ctx, op)
		if err != nil && !isNotFound(err) {
			return true, err
		}
		if bytes.Equal(current, eth) {
			return false, nil
		}
		s, err := k.sk.ValidatorAddressCodec().BytesToString(op)
		gs.RetiredKeys = append(gs.RetiredKeys, types.AnchorKey{ValidatorAddress: s, EthAddress: common.BytesToAddress(eth).Hex()})
		return false, err
	})
	if err != nil {
		return nil, err
	}
	err = k.Checkpoints.Walk(ctx, nil, func(_ uint64, c types.Checkpoint) (bool, error) {
		gs.Checkpoints = append(gs.Checkpoints, c)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if gs.AnchorChainId, err = k.anchorChainID(ctx); err != nil {
		return nil, err
	}
	if gs.HeightOffset, err = k.HeightOffset.Get(ctx); err != nil && !isNotFound(err) {
		return nil, err
	}
	err = k.Nodes.Walk(ctx, nil, func(key collections.Pair[uint64, []byte], n types.TreapNode) (bool, error) {
		s, err := k.ak.AddressCodec().BytesToString(key.K2())
		gs.Balances = append(gs.Balances, types.AnchoredBalance{ModelId: key.K1(), Holder: s, Amount: n.Balance})
		return false, err
	})
	if err != nil {
		return nil, err
	}
	err = k.Pending.Walk(ctx, nil, func(p collections.Pair[uint64, sdk.AccAddress]) (bool, error) {
		s, err := k.ak.AddressCodec().BytesToString(p.K2())
		gs.Pending = append(gs.Pending, types.PendingHolder{ModelId: p.K1(), Holder: s})
		return false, err
	})
	return gs, err
}
