// Package keeper holds the state of x/verify: attestations of training work, the spot checks and
// third-party challenges against them, and the verdicts that slash cheaters or mint shares.
package keeper

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/x/internal/addresses"
	"github.com/protolearn/protolearn/x/verify/types"
)

// Keeper owns the x/verify store.
type Keeper struct {
	cdc       codec.BinaryCodec
	ak        types.AccountKeeper
	bk        types.BankKeeper
	ck        types.ComputeKeeper
	mk        types.ModelsKeeper
	sk        types.SharesKeeper
	logger    log.Logger
	authority string

	Schema       collections.Schema
	Params       collections.Item[types.Params]
	Attestations collections.Map[uint64, types.Attestation]
	AttestSeq    collections.Sequence
	// ByModel and ByWorker index attestations for queries.
	ByModel  collections.KeySet[collections.Pair[uint64, uint64]]
	ByWorker collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// ToDraw holds (draw height, attestation) awaiting their spot-check draw; ToFinalize
	// (finalize height, attestation) of pending attestations.
	ToDraw     collections.KeySet[collections.Pair[int64, uint64]]
	ToFinalize collections.KeySet[collections.Pair[int64, uint64]]
	// LastSteps is each worker's clock on each model: its last attested step and its pace
	// allowance (clock.go).
	LastSteps collections.Map[collections.Pair[uint64, sdk.AccAddress], types.WorkerClock]
	// StageSteps counts the steps each stage of each model attested at each height, for the
	// last clock_window blocks: (model, stage, height) → steps.
	StageSteps collections.Map[collections.Triple[uint64, uint32, int64], uint64]
	// RootsInUse maps every root of a pending attestation to that attestation (its first
	// holder): a root is bound to one worker's step, so a root seen twice is a copy or a reuse.
	RootsInUse collections.Map[[]byte, uint64]
	// PendingByWorker indexes pending attestations by (worker, model), for voiding them.
	PendingByWorker collections.KeySet[collections.Triple[sdk.AccAddress, uint64, uint64]]
	// InputsUsed holds (model, types.InputKey(worker, digest)) for every input digest ever
	// attested (receipts' payloads, stage 0's draws): an input counts for one microbatch of one
	// step of its receiver, per worker so that no one can count another's first (rebuilt from
	// the attestations' input_digests).
	InputsUsed collections.KeySet[collections.Pair[uint64, []byte]]
	Challenges collections.Map[uint64, types.Challenge]
	ChallSeq   collections.Sequence
	// ChallengesByWorker indexes challenges for queries and for the trainer's polling.
	ChallengesByWorker collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// OpenByAttestation are the open challenges of each attestation; Deadlines the open
	// challenges by the last height a response is accepted.
	OpenByAttestation collections.KeySet[collections.Pair[uint64, uint64]]
	// OpenByWorker are the open challenges of each worker (max_open_challenges, BondFor).
	OpenByWorker collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	Deadlines    collections.KeySet[collections.Pair[int64, uint64]]
	// Disputes are the replay disputes (dispute.go); DisputesByAttestation the open ones of each
	// attestation, DisputesByWorker the open ones of each worker by model (none of whose
	// attestations on the model finalizes meanwhile), DisputeDeadlines the open ones by the last height of their current
	// move.
	Disputes              collections.Map[uint64, types.Dispute]
	DisputeSeq            collections.Sequence
	DisputesByAttestation collections.KeySet[collections.Pair[uint64, uint64]]
	DisputesByWorker      collections.KeySet[collections.Triple[string, uint64, uint64]]
	DisputeDeadlines      collections.KeySet[collections.Pair[int64, uint64]]
	// LogRequests are the on-chain log requests (logrequest.go); LogRequestsOpen the open ones of
	// each attestation (none of which finalizes meanwhile), LogDeadlines the open ones by the
	// last height of their answer.
	LogRequests     collections.Map[uint64, types.LogRequest]
	LogRequestSeq   collections.Sequence
	LogRequestsOpen collections.KeySet[collections.Pair[uint64, uint64]]
	LogDeadlines    collections.KeySet[collections.Pair[int64, uint64]]
	// LogRequestedBy holds (attestation, referee) of every request, open or closed: a referee
	// asks for one attestation's log once.
	LogRequestedBy collections.KeySet[collections.Pair[uint64, string]]

	// vks caches parsed verifying keys by the SHA-256 of their bytes: parsing (subgroup checks)
	// costs about as much as verifying. Parsing is deterministic, so the cache cannot change a
	// result; CheckTx and block execution may share it concurrently.
	vkMu sync.Mutex
	vks  map[[32]byte]*tile.VerifyingKey
}

// NewKeeper builds the keeper.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	ak types.AccountKeeper,
	bk types.BankKeeper,
	ck types.ComputeKeeper,
	mk types.ModelsKeeper,
	sk types.SharesKeeper,
	authority string,
	logger log.Logger,
) *Keeper {
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("x/verify: invalid authority address %q: %v", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	heightID := collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)
	k := &Keeper{
		cdc: cdc, ak: ak, bk: bk, ck: ck, mk: mk, sk: sk, authority: authority,
		logger:       logger.With("module", "x/"+types.ModuleName),
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Attestations: collections.NewMap(sb, types.AttestationsKey, "attestations", collections.Uint64Key, codec.CollValue[types.Attestation](cdc)),
		AttestSeq:    collections.NewSequence(sb, types.AttestationSeqKey, "attestation_seq"),
		ByModel: collections.NewKeySet(sb, types.AttestationsByModelKey, "attestations_by_model",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)),
		ByWorker: collections.NewKeySet(sb, types.AttestationsByWorker, "attestations_by_worker",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		ToDraw:     collections.NewKeySet(sb, types.ToDrawKey, "to_draw", heightID),
		ToFinalize: collections.NewKeySet(sb, types.ToFinalizeKey, "to_finalize", heightID),
		LastSteps: collections.NewMap(sb, types.LastStepsKey, "last_steps",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.WorkerClock](cdc)),
		StageSteps: collections.NewMap(sb, types.StageStepsKey, "stage_steps",
			collections.TripleKeyCodec(collections.Uint64Key, collections.Uint32Key, collections.Int64Key), collections.Uint64Value),
		RootsInUse: collections.NewMap(sb, types.RootsInUseKey, "roots_in_use", collections.BytesKey, collections.Uint64Value),
		PendingByWorker: collections.NewKeySet(sb, types.PendingByWorkerKey, "pending_by_worker",
			collections.TripleKeyCodec(sdk.AccAddressKey, collections.Uint64Key, collections.Uint64Key)),
		InputsUsed: collections.NewKeySet(sb, types.InputsUsedKey, "inputs_used",
			collections.PairKeyCodec(collections.Uint64Key, collections.BytesKey)),
		Challenges: collections.NewMap(sb, types.ChallengesKey, "challenges", collections.Uint64Key, codec.CollValue[types.Challenge](cdc)),
		ChallSeq:   collections.NewSequence(sb, types.ChallengeSeqKey, "challenge_seq"),
		ChallengesByWorker: collections.NewKeySet(sb, types.ChallengesByWorkerKey, "challenges_by_worker",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		OpenByWorker: collections.NewKeySet(sb, types.OpenByWorkerKey, "open_by_worker",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		OpenByAttestation: collections.NewKeySet(sb, types.OpenByAttestationKey, "open_by_attestation",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)),
		Deadlines:  collections.NewKeySet(sb, types.DeadlinesKey, "deadlines", heightID),
		Disputes:   collections.NewMap(sb, types.DisputesKey, "disputes", collections.Uint64Key, codec.CollValue[types.Dispute](cdc)),
		DisputeSeq: collections.NewSequence(sb, types.DisputeSeqKey, "dispute_seq"),
		DisputesByAttestation: collections.NewKeySet(sb, types.DisputesByAttestation, "disputes_by_attestation",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)),
		DisputesByWorker: collections.NewKeySet(sb, types.DisputesByWorkerKey, "disputes_by_worker",
			collections.TripleKeyCodec(collections.StringKey, collections.Uint64Key, collections.Uint64Key)),
		DisputeDeadlines: collections.NewKeySet(sb, types.DisputeDeadlinesKey, "dispute_deadlines", heightID),
		LogRequests:      collections.NewMap(sb, types.LogRequestsKey, "log_requests", collections.Uint64Key, codec.CollValue[types.LogRequest](cdc)),
		LogRequestSeq:    collections.NewSequence(sb, types.LogRequestSeqKey, "log_request_seq"),
		LogRequestsOpen: collections.NewKeySet(sb, types.LogRequestsOpenKey, "log_requests_open",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint64Key)),
		LogDeadlines: collections.NewKeySet(sb, types.LogDeadlinesKey, "log_deadlines", heightID),
		LogRequestedBy: collections.NewKeySet(sb, types.LogRequestedByKey, "log_requested_by",
			collections.PairKeyCodec(collections.Uint64Key, collections.StringKey)),
		vks: make(map[[32]byte]*tile.VerifyingKey),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(fmt.Sprintf("x/verify: building the store schema: %v", err))
	}
	k.Schema = schema
	return k
}

// Authority is the address allowed to change params (gov).
func (k *Keeper) Authority() string { return k.authority }

// Logger is the module's logger.
func (k *Keeper) Logger() log.Logger { return k.logger }

// GetParams returns the module parameters.
func (k *Keeper) GetParams(ctx context.Context) (types.Params, error) { return k.Params.Get(ctx) }

// GetAttestation returns attestation id, or ErrAttestationNotFound.
func (k *Keeper) GetAttestation(ctx context.Context, id uint64) (types.Attestation, error) {
	a, err := k.Attestations.Get(ctx, id)
	if isNotFound(err) {
		return a, errorsmod.Wrapf(types.ErrAttestationNotFound, "no attestation with id %d", id)
	}
	return a, err
}

// GetChallenge returns challenge id, or ErrChallengeNotFound.
func (k *Keeper) GetChallenge(ctx context.Context, id uint64) (types.Challenge, error) {
	c, err := k.Challenges.Get(ctx, id)
	if isNotFound(err) {
		return c, errorsmod.Wrapf(types.ErrChallengeNotFound, "no challenge with id %d", id)
	}
	return c, err
}

// verifyingKey returns the parsed key registered for shape.
func (k *Keeper) verifyingKey(p types.Params, shape string) (*tile.VerifyingKey, error) {
	raw, ok := p.Key(shape)
	if !ok {
		return nil, errorsmod.Wrapf(types.ErrNoVerifyingKey, "%s (governance registers keys in params.verifying_keys)", shape)
	}
	sum := sha256.Sum256(raw)
	k.vkMu.Lock()
	defer k.vkMu.Unlock()
	if vk, ok := k.vks[sum]; ok {
		return vk, nil
	}
	vk, err := tile.ParseVerifyingKey(raw)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrNoVerifyingKey, "registered key of %s: %v", shape, err)
	}
	k.vks[sum] = vk
	return vk, nil
}

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

func (k *Keeper) addrString(a sdk.AccAddress) string { return addresses.String(k.ak.AddressCodec(), a) }

func (k *Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	return addresses.Parse(k.ak.AddressCodec(), types.ErrInvalidAddress, field, s)
}
