// Package keeper holds the state and state transitions of x/compute: workers, their bonded
// stake, unbonding entries, jailing and slashing.
package keeper

import (
	"context"
	"fmt"
	"time"

	"cosmossdk.io/collections"
	collcodec "cosmossdk.io/collections/codec"
	"cosmossdk.io/collections/indexes"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/internal/addresses"
)

// Keeper owns the x/compute store.
type Keeper struct {
	cdc          codec.BinaryCodec
	storeService store.KVStoreService
	ak           types.AccountKeeper
	bk           types.BankKeeper
	logger       log.Logger
	hooks        types.ComputeHooks

	// authority may change params: the gov module account unless wired otherwise.
	authority string

	Schema collections.Schema
	Params collections.Item[types.Params]
	// Workers is keyed by operator, with a unique index on the libp2p peer id.
	Workers *collections.IndexedMap[sdk.AccAddress, types.Worker, WorkerIndexes]
	// Unbonding is keyed by (operator, entry id), so one operator's entries are one prefix.
	Unbonding collections.Map[collections.Pair[sdk.AccAddress, uint64], types.UnbondingEntry]
	// UnbondingQueue orders entries by completion time for EndBlock.
	UnbondingQueue collections.KeySet[collections.Triple[time.Time, sdk.AccAddress, uint64]]
	UnbondingSeq   collections.Sequence
	// RetiredPeers maps each peer id a worker announced before changing it to that worker's
	// operator: the id still names it (receipts signed with it stay its), and no one else may
	// take it.
	RetiredPeers collections.Map[string, sdk.AccAddress]
}

// WorkerIndexes are the secondary indexes of Workers.
type WorkerIndexes struct {
	PeerID *indexes.Unique[string, sdk.AccAddress, types.Worker]
}

// IndexesList implements collections.Indexes.
func (i WorkerIndexes) IndexesList() []collections.Index[sdk.AccAddress, types.Worker] {
	return []collections.Index[sdk.AccAddress, types.Worker]{i.PeerID}
}

// NewKeeper builds the keeper. authority is the bech32 address allowed to change params.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	ak types.AccountKeeper,
	bk types.BankKeeper,
	authority string,
	logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/compute: invalid authority address %q: %v", authority, err))
	}
	if ak.GetModuleAddress(types.ModuleName) == nil {
		panic("x/compute: module account is not set; add it to the app's module account permissions")
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc:          cdc,
		storeService: storeService,
		ak:           ak,
		bk:           bk,
		authority:    authority,
		logger:       logger.With(log.ModuleKey, "x/"+types.ModuleName),
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Workers: collections.NewIndexedMap(sb, types.WorkersKey, "workers", sdk.AccAddressKey,
			codec.CollValue[types.Worker](cdc),
			WorkerIndexes{PeerID: indexes.NewUnique(sb, types.WorkersByPeerIDKey, "workers_by_peer_id",
				collections.StringKey, sdk.AccAddressKey,
				func(_ sdk.AccAddress, w types.Worker) (string, error) { return w.PeerId, nil })},
		),
		Unbonding: collections.NewMap(sb, types.UnbondingEntriesKey, "unbonding",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), codec.CollValue[types.UnbondingEntry](cdc)),
		UnbondingQueue: collections.NewKeySet(sb, types.UnbondingQueueKey, "unbonding_queue",
			collections.TripleKeyCodec(sdk.TimeKey, sdk.AccAddressKey, collections.Uint64Key)),
		UnbondingSeq: collections.NewSequence(sb, types.UnbondingSeqKey, "unbonding_seq"),
		RetiredPeers: collections.NewMap(sb, types.RetiredPeersKey, "retired_peers", collections.StringKey, collcodec.KeyToValueCodec(sdk.AccAddressKey)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/compute: building store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// SetHooks installs the hooks other modules use to follow workers; it may be called once.
func (k *Keeper) SetHooks(h types.ComputeHooks) {
	if k.hooks != nil {
		panic("x/compute: hooks already set")
	}
	k.hooks = h
}

// Authority is the address allowed to change params.
func (k *Keeper) Authority() string { return k.authority }

// Logger is the module's logger.
func (k *Keeper) Logger() log.Logger { return k.logger }

// GetParams returns the current params.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) {
	return k.Params.Get(ctx)
}

// GetWorker returns the worker of operator, or ErrWorkerNotFound.
func (k *Keeper) GetWorker(ctx context.Context, operator sdk.AccAddress) (types.Worker, error) {
	w, err := k.Workers.Get(ctx, operator)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return w, errorsmod.Wrapf(types.ErrWorkerNotFound, "operator %s has not registered a worker", k.addrString(operator))
	}
	return w, err
}

// OperatorOfPeer returns the operator whose worker announces libp2p peer id p, or announced it
// before changing it; ok is false if none did.
func (k *Keeper) OperatorOfPeer(ctx context.Context, p string) (operator sdk.AccAddress, ok bool, err error) {
	operator, err = k.Workers.Indexes.PeerID.MatchExact(ctx, p)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		operator, err = k.RetiredPeers.Get(ctx, p)
	}
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, false, nil
	}
	return operator, err == nil, err
}

// IsActive reports whether operator has a worker that may take work (bonded at least
// min_worker_stake, not jailed). An unknown operator is simply not active.
func (k *Keeper) IsActive(ctx context.Context, operator sdk.AccAddress) (bool, error) {
	w, err := k.Workers.Get(ctx, operator)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return w.Status == types.WORKER_STATUS_ACTIVE, nil
}

// statusFor derives a worker's status from its stake; jail is sticky until MsgUnjail.
func statusFor(w types.Worker, p types.Params) types.WorkerStatus {
	switch {
	case w.Status == types.WORKER_STATUS_JAILED:
		return types.WORKER_STATUS_JAILED
	case w.Bonded.Amount.GTE(p.MinWorkerStake.Amount):
		return types.WORKER_STATUS_ACTIVE
	default:
		return types.WORKER_STATUS_INACTIVE
	}
}

// saveWorker stores w with its status set to to, announcing a change from the stored status.
func (k *Keeper) saveWorker(ctx context.Context, operator sdk.AccAddress, from types.WorkerStatus, w types.Worker) error {
	if err := k.Workers.Set(ctx, operator, w); err != nil {
		return err
	}
	if from == w.Status {
		return nil
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkerStatusChanged{
		Operator: w.Operator, From: from, To: w.Status,
	}); err != nil {
		return err
	}
	if k.hooks != nil {
		return k.hooks.AfterWorkerStatusChanged(ctx, operator, from, w.Status)
	}
	return nil
}

// afterBondedDecreased tells the hooks a worker's bonded stake went down (unbonding, slash).
func (k *Keeper) afterBondedDecreased(ctx context.Context, operator sdk.AccAddress, bonded sdk.Coin) error {
	if k.hooks == nil {
		return nil
	}
	return k.hooks.AfterBondedDecreased(ctx, operator, bonded)
}

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}
