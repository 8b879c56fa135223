// Package keeper holds the state of x/anchor: validators' Ethereum keys, the models' share trees
// as of the latest checkpoint, the holders changed since, and the checkpoints with their
// signatures.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	collcodec "cosmossdk.io/collections/codec"
	"cosmossdk.io/core/store"
	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/anchor/types"
)

// Keeper owns the x/anchor store.
type Keeper struct {
	cdc       codec.BinaryCodec
	ak        types.AccountKeeper
	bk        types.BankKeeper
	sk        types.StakingKeeper
	logger    log.Logger
	authority string

	Schema collections.Schema
	Params collections.Item[types.Params]
	// Keys maps a validator operator address to its 20-byte Ethereum address; KeyOwners the
	// other way, for current and retired keys alike, so one key serves one validator only, and
	// a vote extension signed by a key its validator rotated away from is still that
	// validator's (it signs checkpoints whose signing set holds the old key).
	Keys      collections.Map[sdk.ValAddress, []byte]
	KeyOwners collections.Map[[]byte, sdk.ValAddress]
	// Nodes and Metas are the models' share trees (merkle.Treap), as of the latest checkpoint.
	Nodes collections.Map[collections.Pair[uint64, []byte], types.TreapNode]
	Metas collections.Map[uint64, types.TreapMeta]
	// ModelRoots are the non-empty trees' roots, the models tree's leaves.
	ModelRoots collections.Map[uint64, types.ModelRoot]
	// Pending are (model, holder) pairs whose balance moved since the latest checkpoint.
	Pending collections.KeySet[collections.Pair[uint64, sdk.AccAddress]]
	// Checkpoints by height; the latest checkpoints_kept of them.
	Checkpoints collections.Map[uint64, types.Checkpoint]
	// ChainID is the chain id checkpoint hashes carry (the first genesis's); HeightOffset is
	// added to block heights to give checkpoint heights (raised by a zero-height export, so
	// they only grow).
	ChainID      collections.Item[string]
	HeightOffset collections.Item[uint64]
}

// NewKeeper builds the keeper.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	ak types.AccountKeeper,
	bk types.BankKeeper,
	sk types.StakingKeeper,
	authority string,
	logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/anchor: invalid authority address %q: %v", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc: cdc, ak: ak, bk: bk, sk: sk, authority: authority,
		logger: logger.With("module", "x/"+types.ModuleName),
		Params: collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Keys:   collections.NewMap(sb, types.KeysKey, "keys", sdk.ValAddressKey, collections.BytesValue),
		KeyOwners: collections.NewMap(sb, types.KeyOwnersKey, "key_owners", collections.BytesKey,
			collcodec.KeyToValueCodec(sdk.ValAddressKey)),
		Nodes: collections.NewMap(sb, types.NodesKey, "nodes",
			collections.PairKeyCodec(collections.Uint64Key, collections.BytesKey), codec.CollValue[types.TreapNode](cdc)),
		Metas:      collections.NewMap(sb, types.MetasKey, "metas", collections.Uint64Key, codec.CollValue[types.TreapMeta](cdc)),
		ModelRoots: collections.NewMap(sb, types.ModelRootsKey, "model_roots", collections.Uint64Key, codec.CollValue[types.ModelRoot](cdc)),
		Pending: collections.NewKeySet(sb, types.PendingKey, "pending",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey)),
		Checkpoints:  collections.NewMap(sb, types.CheckpointsKey, "checkpoints", collections.Uint64Key, codec.CollValue[types.Checkpoint](cdc)),
		ChainID:      collections.NewItem(sb, types.ChainIDKey, "chain_id", collections.StringValue),
		HeightOffset: collections.NewItem(sb, types.OffsetKey, "height_offset", collections.Uint64Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/anchor: building the store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// Authority is the address that may change params (gov).
func (k *Keeper) Authority() string { return k.authority }

// Logger is the module's logger.
func (k *Keeper) Logger() log.Logger { return k.logger }

// GetParams returns the current parameters.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) { return k.Params.Get(ctx) }

// AfterShareBalanceMoved implements x/shares' BalanceHooks: the holder's leaf is re-read at the
// next checkpoint.
func (k *Keeper) AfterShareBalanceMoved(ctx context.Context, modelID uint64, holder sdk.AccAddress) error {
	return k.Pending.Set(ctx, collections.Join(modelID, holder))
}

// RebaseHeights prepares a zero-height export: checkpoint heights go on from the exported
// height, so the contract, which takes only higher ones, accepts the restarted chain's.
func (k *Keeper) RebaseHeights(ctx context.Context, last int64) error {
	off, err := k.HeightOffset.Get(ctx)
	if err != nil && !isNotFound(err) {
		return err
	}
	return k.HeightOffset.Set(ctx, off+uint64(max(last, 0)))
}

// anchorChainID is the chain id checkpoints carry: the first genesis's.
func (k *Keeper) anchorChainID(ctx context.Context) (string, error) {
	id, err := k.ChainID.Get(ctx)
	if isNotFound(err) {
		return sdk.UnwrapSDKContext(ctx).ChainID(), nil
	}
	return id, err
}

// Latest is the latest checkpoint, and false when there is none yet.
func (k *Keeper) Latest(ctx context.Context) (types.Checkpoint, bool, error) {
	it, err := k.Checkpoints.Iterate(ctx, new(collections.Range[uint64]).Descending())
	if err != nil {
		return types.Checkpoint{}, false, err
	}
	defer it.Close()
	if !it.Valid() {
		return types.Checkpoint{}, false, nil
	}
	c, err := it.Value()
	return c, err == nil, err
}
