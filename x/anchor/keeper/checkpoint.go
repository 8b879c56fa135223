package keeper

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/anchor/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// Valset is the set the next checkpoint would commit: every bonded validator with a registered
// Ethereum key and positive consensus power, ascending by Ethereum address, and the total
// consensus power of all bonded validators. Bonded validators without a key are left out of the
// set but not of the total: on Ethereum they count as not signing, so a checkpoint needs
// signatures of more than 2/3 of all bonded power, as a block does.
func (k *Keeper) Valset(ctx context.Context) ([]types.Signer, uint64, error) {
	reduction := k.sk.PowerReduction(ctx)
	var set []types.Signer
	var total uint64
	var ierr error
	err := k.sk.IterateBondedValidatorsByPower(ctx, func(_ int64, v stakingtypes.ValidatorI) bool {
		power := v.GetConsensusPower(reduction)
		if power <= 0 {
			return false
		}
		total += uint64(power)
		op, err := k.sk.ValidatorAddressCodec().StringToBytes(v.GetOperator())
		if err != nil {
			ierr = fmt.Errorf("validator %s: %w", v.GetOperator(), err)
			return true
		}
		eth, err := k.Keys.Get(ctx, op)
		if err != nil {
			if !isNotFound(err) {
				ierr = err
				return true
			}
			return false
		}
		set = append(set, types.Signer{EthAddress: common.BytesToAddress(eth).Hex(), Power: uint64(power)})
		return false
	})
	if err == nil {
		err = ierr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("anchor: validator set: %w", err)
	}
	sort.Slice(set, func(i, j int) bool {
		a, b := common.HexToAddress(set[i].EthAddress), common.HexToAddress(set[j].EthAddress)
		return bytes.Compare(a[:], b[:]) < 0
	})
	return set, total, nil
}

// EndBlock takes a checkpoint at every anchor_interval-th height when share balances, the
// validator set or the deployment the params name changed since the latest one, while validators with keys hold more than 2/3 of
// the bonded power (else no set could sign it: the first validator to register a key must not sign
// share roots alone). Cost: O(log n) store reads and writes per holder whose balance moved,
// plus one pass over the models with holders.
func (k *Keeper) EndBlock(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	sctx := sdk.UnwrapSDKContext(ctx)
	height := uint64(sctx.BlockHeight())
	if params.AnchorInterval == 0 || height%params.AnchorInterval != 0 {
		return nil
	}
	next, total, err := k.Valset(ctx)
	if err != nil {
		return err
	}
	if types.CheckSet(next, total) != nil {
		// Validators with keys hold 2/3 of the power or less: nobody could sign it, and no
		// such set may be handed to the contract. The changes wait.
		return nil
	}
	nextHash, err := types.SetHash(next, total)
	if err != nil {
		return err
	}
	offset, err := k.HeightOffset.Get(ctx)
	if err != nil && !isNotFound(err) {
		return err
	}
	height += offset
	chainID, err := k.anchorChainID(ctx)
	if err != nil {
		return err
	}
	last, haveLast, err := k.Latest(ctx)
	if err != nil {
		return err
	}
	if haveLast && height <= last.Height {
		// Never: genesis refuses checkpoints at or above the first height this chain can take.
		k.logger.Error("anchor: checkpoint height not above the latest; none taken", "height", height, "latest", last.Height)
		return nil
	}
	changed, err := k.applyPending(ctx)
	if err != nil {
		return err
	}
	if haveLast && changed == 0 && last.Deployment == params.Deployment {
		lastHash, err := types.SetHash(last.NextSet, last.NextTotal)
		if err != nil {
			return err
		}
		if lastHash == nextHash {
			return nil
		}
	}
	models, root, err := k.modelsTree(ctx)
	if err != nil {
		return err
	}
	signing, signingTotal := next, total
	if haveLast {
		signing, signingTotal = last.NextSet, last.NextTotal
	}
	h := types.CheckpointHash(chainID, params.Deployment, height, root, nextHash)
	cp := types.Checkpoint{
		Height: height, ModelsRoot: root[:], Models: models, SigningSet: signing, NextSet: next, Hash: h[:],
		SigningTotal: signingTotal, NextTotal: total, Deployment: params.Deployment,
	}
	if err := k.Checkpoints.Set(ctx, height, cp); err != nil {
		return err
	}
	if err := k.prune(ctx, params.CheckpointsKept); err != nil {
		return err
	}
	k.logger.Info("checkpoint", "height", height, "hash", common.Hash(h).Hex(), "models", len(models), "changed_holders", changed, "signers", len(signing),
		"ethereum_chain_id", params.Deployment.EthereumChainId, "contract", params.Deployment.ContractAddress)
	return sctx.EventManager().EmitTypedEvent(&types.EventCheckpointCreated{
		Height: height, Hash: common.Hash(h).Hex(), ModelsRoot: common.Hash(root).Hex(),
		Models: uint32(len(models)), ChangedHolders: uint32(changed), Signers: uint32(len(signing)),
		Deployment: params.Deployment,
	})
}

// applyPending brings every pending holder's leaf up to its current balance and the models'
// roots up to their trees; it returns how many holders it applied.
func (k *Keeper) applyPending(ctx context.Context) (int, error) {
	var pending []collections.Pair[uint64, sdk.AccAddress]
	if err := k.Pending.Walk(ctx, nil, func(p collections.Pair[uint64, sdk.AccAddress]) (bool, error) {
		pending = append(pending, p)
		return false, nil
	}); err != nil {
		return 0, err
	}
	touched := map[uint64]bool{}
	for _, p := range pending {
		model, holder := p.K1(), p.K2()
		bal := k.bk.GetBalance(ctx, holder, sharestypes.ShareDenom(model)).Amount
		if err := k.treap(ctx, model).Set(holder, bal.BigInt()); err != nil {
			return 0, fmt.Errorf("anchor: model %d holder %s: %w", model, holder, err)
		}
		if err := k.Pending.Remove(ctx, p); err != nil {
			return 0, err
		}
		touched[model] = true
	}
	for model := range touched {
		if err := k.refreshModelRoot(ctx, model); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

func (k *Keeper) refreshModelRoot(ctx context.Context, model uint64) error {
	t := k.treap(ctx, model)
	root, err := t.Root()
	if err != nil {
		return err
	}
	n, err := t.Len()
	if err != nil {
		return err
	}
	if n == 0 {
		return k.ModelRoots.Remove(ctx, model)
	}
	return k.ModelRoots.Set(ctx, model, types.ModelRoot{ModelId: model, Root: root[:], Holders: uint64(n)})
}

// modelsTree is every model's root, by id, and the models tree's root over them.
func (k *Keeper) modelsTree(ctx context.Context) ([]types.ModelRoot, merkle.Hash, error) {
	var models []types.ModelRoot
	if err := k.ModelRoots.Walk(ctx, nil, func(_ uint64, m types.ModelRoot) (bool, error) {
		models = append(models, m)
		return false, nil
	}); err != nil {
		return nil, merkle.Hash{}, err
	}
	tree, err := buildModelsTree(models)
	if err != nil {
		return nil, merkle.Hash{}, err
	}
	return models, tree.Root(), nil
}

func buildModelsTree(models []types.ModelRoot) (*merkle.Tree, error) {
	leaves := make([]merkle.Hash, len(models))
	for i, m := range models {
		root, err := hashOf(m.Root)
		if err != nil {
			return nil, fmt.Errorf("model %d root: %w", m.ModelId, err)
		}
		leaves[i] = merkle.ModelLeaf(m.ModelId, root)
	}
	return merkle.Build(leaves), nil
}

// prune drops all but the latest kept checkpoints.
func (k *Keeper) prune(ctx context.Context, kept uint32) error {
	it, err := k.Checkpoints.Iterate(ctx, new(collections.Range[uint64]).Descending())
	if err != nil {
		return err
	}
	var old []uint64
	for n := uint32(0); it.Valid(); it.Next() {
		n++
		if n > kept {
			h, err := it.Key()
			if err != nil {
				it.Close()
				return err
			}
			old = append(old, h)
		}
	}
	it.Close()
	for _, h := range old {
		if err := k.Checkpoints.Remove(ctx, h); err != nil {
			return err
		}
	}
	return nil
}
