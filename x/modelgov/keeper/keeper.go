// Package keeper holds the state of x/modelgov: every model's holders' proposals, their votes,
// and the balances holders had when a proposal opened, recorded lazily as they move.
package keeper

import (
	"context"
	"errors"
	"fmt"
	"math"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/internal/addresses"
	"github.com/protolearn/protolearn/x/modelgov/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// Keeper owns the x/modelgov store.
type Keeper struct {
	cdc       codec.BinaryCodec
	ak        types.AccountKeeper
	bk        types.BankKeeper
	models    types.ModelsKeeper
	inference types.InferenceKeeper
	logger    log.Logger
	authority string

	Schema      collections.Schema
	Params      collections.Item[types.Params]
	Proposals   collections.Map[uint64, types.Proposal]
	ProposalSeq collections.Sequence
	// ByModel indexes every proposal by (model, id), for the proposals query.
	ByModel collections.KeySet[collections.Pair[uint64, uint64]]
	// Active are the (model, id) of proposals in their voting period: what a share transfer of
	// the model records balances for.
	Active collections.KeySet[collections.Pair[uint64, uint64]]
	// Ending orders the proposals in their voting period by (voting end height, id).
	Ending collections.KeySet[collections.Pair[int64, uint64]]
	// Votes are (proposal, voter) -> option, for proposals in their voting period.
	Votes collections.Map[collections.Pair[uint64, sdk.AccAddress], int32]
	// Snapshots are (model, holder, proposal) -> the holder's share balance just before its first
	// move while that proposal was the model's newest in its voting period (types.Snapshot).
	Snapshots collections.Map[collections.Triple[uint64, sdk.AccAddress, uint64], sdkmath.Int]
	// SnapshotsByProposal indexes them by (model, proposal, holder), to delete those no
	// proposal in its voting period needs.
	SnapshotsByProposal collections.KeySet[collections.Triple[uint64, uint64, sdk.AccAddress]]
}

// NewKeeper builds the keeper.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bk types.BankKeeper,
	models types.ModelsKeeper, inference types.InferenceKeeper, authority string, logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/modelgov: invalid authority address %q: %v", authority, err))
	}
	if ak.GetModuleAddress(types.ModuleName) == nil {
		panic("x/modelgov: module account is not set; add it (Burner) to the app's module account permissions")
	}
	sb := collections.NewSchemaBuilder(storeService)
	pair := collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)
	vote := collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey)
	k := &Keeper{
		cdc: cdc, ak: ak, bk: bk, models: models, inference: inference, authority: authority,
		logger:      logger.With(log.ModuleKey, "x/"+types.ModuleName),
		Params:      collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Proposals:   collections.NewMap(sb, types.ProposalsKey, "proposals", collections.Uint64Key, codec.CollValue[types.Proposal](cdc)),
		ProposalSeq: collections.NewSequence(sb, types.ProposalSeqKey, "proposal_seq"),
		ByModel:     collections.NewKeySet(sb, types.ByModelKey, "by_model", pair),
		Active:      collections.NewKeySet(sb, types.ActiveKey, "active", pair),
		Ending:      collections.NewKeySet(sb, types.EndingKey, "ending", collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		Votes:       collections.NewMap(sb, types.VotesKey, "votes", vote, collections.Int32Value),
		Snapshots: collections.NewMap(sb, types.SnapshotsKey, "snapshots",
			collections.TripleKeyCodec(collections.Uint64Key, sdk.AccAddressKey, collections.Uint64Key), sdk.IntValue),
		SnapshotsByProposal: collections.NewKeySet(sb, types.SnapshotsByProposalKey, "snapshots_by_proposal",
			collections.TripleKeyCodec(collections.Uint64Key, collections.Uint64Key, sdk.AccAddressKey)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/modelgov: building store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// Authority is the address allowed to change params.
func (k *Keeper) Authority() string { return k.authority }

// GetParams returns the module parameters.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) { return k.Params.Get(ctx) }

// GetProposal returns proposal id, or ErrProposalNotFound.
func (k *Keeper) GetProposal(ctx context.Context, id uint64) (types.Proposal, error) {
	p, err := k.Proposals.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return p, errorsmod.Wrapf(types.ErrProposalNotFound, "no proposal with id %d", id)
	}
	return p, err
}

// Power is what holder's vote on p weighs: its share/N balance when p opened. A holder that
// has not moved since has that balance still; one that has, a snapshot of it, written at its
// first move after p opened: the first snapshot of the holder at p or a later proposal.
func (k *Keeper) Power(ctx context.Context, p types.Proposal, holder sdk.AccAddress) (sdkmath.Int, error) {
	snap, err := k.snapshotFrom(ctx, p.ModelId, holder, p.Id)
	switch {
	case err != nil:
		return sdkmath.Int{}, err
	case snap != nil:
		return *snap, nil
	}
	return k.bk.GetBalance(ctx, holder, sharestypes.ShareDenom(p.ModelId)).Amount, nil
}

// BeforeShareBalanceChange records holder's share/N balance before it moves, if a proposal of
// the model is in its voting period and the holder has not moved since the newest of them
// opened: that balance is its power on every proposal opened since its previous move. x/shares
// calls it before the bank moves the balance (its send restriction). It writes once per move at
// most, however many proposals are open.
func (k *Keeper) BeforeShareBalanceChange(ctx context.Context, modelID uint64, holder sdk.AccAddress) error {
	newest, ok, err := k.activeEdge(ctx, modelID, true)
	if err != nil || !ok {
		return err
	}
	// A snapshot under newest or a later proposal (one that has ended since, before an older one:
	// a shorter voting period) was written at a move after newest opened: this is not the first.
	moved, err := k.snapshotFrom(ctx, modelID, holder, newest)
	if err != nil || moved != nil {
		return err
	}
	if err := k.Snapshots.Set(ctx, collections.Join3(modelID, holder, newest), k.bk.GetBalance(ctx, holder, sharestypes.ShareDenom(modelID)).Amount); err != nil {
		return err
	}
	return k.SnapshotsByProposal.Set(ctx, collections.Join3(modelID, newest, holder))
}

// snapshotFrom is holder's first snapshot in model under proposal from or a later one (nil: none).
func (k *Keeper) snapshotFrom(ctx context.Context, modelID uint64, holder sdk.AccAddress, from uint64) (*sdkmath.Int, error) {
	rng := new(collections.Range[collections.Triple[uint64, sdk.AccAddress, uint64]]).
		StartInclusive(collections.Join3(modelID, holder, from)).
		EndInclusive(collections.Join3(modelID, holder, uint64(math.MaxUint64)))
	it, err := k.Snapshots.Iterate(ctx, rng)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Valid() {
		return nil, nil
	}
	v, err := it.Value()
	return &v, err
}

// activeEdge is the newest (or oldest) proposal of model in its voting period; ok is false
// when none is.
func (k *Keeper) activeEdge(ctx context.Context, modelID uint64, newest bool) (id uint64, ok bool, err error) {
	rng := collections.NewPrefixedPairRange[uint64, uint64](modelID)
	if newest {
		rng = rng.Descending()
	}
	it, err := k.Active.Iterate(ctx, rng)
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.Valid() {
		return 0, false, nil
	}
	key, err := it.Key()
	return key.K2(), err == nil, err
}

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}
