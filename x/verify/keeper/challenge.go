package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/circuits/tile"
	"github.com/protolearn/protolearn/x/verify/types"
)

// position is where a challenge opens an attestation.
type position struct {
	kind     types.ChallengeKind
	step     uint64
	row, col uint32
}

// openChallenge checks pos against a and stores an open challenge; challenger is nil for a spot
// check. The caller has taken the bond.
func (k *Keeper) openChallenge(ctx context.Context, p types.Params, a types.Attestation, challenger sdk.AccAddress, bond sdk.Coin, pos position) (types.Challenge, error) {
	if a.Status != types.ATTESTATION_STATUS_PENDING {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrNotPending, "attestation %d is %s", a.Id, a.Status)
	}
	if _, ok := a.Commitment(pos.step); !ok {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrInvalidChallenge, "step %d is not in attestation %d (steps %d..%d)", pos.step, a.Id, a.StepFrom, a.StepTo)
	}
	m, err := k.mk.GetModel(ctx, a.ModelId)
	if err != nil {
		return types.Challenge{}, err
	}
	shape, err := types.ModelTiles(a, m).Shape(pos.kind)
	if err != nil {
		return types.Challenge{}, errorsmod.Wrap(types.ErrInvalidChallenge, err.Error())
	}
	if err := shape.CheckChallenge(uint64(pos.row), uint64(pos.col)); err != nil {
		return types.Challenge{}, errorsmod.Wrap(types.ErrInvalidChallenge, err.Error())
	}
	id, err := k.ChallSeq.Next(ctx)
	if err != nil {
		return types.Challenge{}, err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	c := types.Challenge{
		Id: id, AttestationId: a.Id, Worker: a.Worker, Bond: bond,
		Kind: pos.kind, Step: pos.step, Row: pos.row, Col: pos.col, Shape: shape.String(),
		OpenedHeight: h, DeadlineHeight: h + p.ResponseWindow, Status: types.CHALLENGE_STATUS_OPEN,
		Slashed: sdk.NewCoin(bond.Denom, sdkmath.ZeroInt()),
	}
	if challenger != nil {
		c.Challenger = k.addrString(challenger)
	}
	if err := k.storeChallenge(ctx, c); err != nil {
		return types.Challenge{}, err
	}
	k.logger.Info("challenge opened", "id", id, "attestation", a.Id, "worker", a.Worker, "challenger", c.Challenger,
		"kind", pos.kind, "step", pos.step, "row", pos.row, "col", pos.col, "deadline", c.DeadlineHeight)
	return c, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventChallengeOpened{
		ChallengeId: id, AttestationId: a.Id, Worker: a.Worker, Challenger: c.Challenger, Kind: pos.kind,
		Step: pos.step, Row: pos.row, Col: pos.col, Shape: c.Shape, DeadlineHeight: c.DeadlineHeight, ModelId: a.ModelId,
	})
}

// storeChallenge writes c and its indexes (also used by InitGenesis).
func (k *Keeper) storeChallenge(ctx context.Context, c types.Challenge) error {
	worker, err := k.parseAddr("worker", c.Worker)
	if err != nil {
		return err
	}
	if err := k.Challenges.Set(ctx, c.Id, c); err != nil {
		return err
	}
	if err := k.ChallengesByWorker.Set(ctx, collections.Join(worker, c.Id)); err != nil {
		return err
	}
	if c.Status != types.CHALLENGE_STATUS_OPEN {
		return nil
	}
	if err := k.OpenByAttestation.Set(ctx, collections.Join(c.AttestationId, c.Id)); err != nil {
		return err
	}
	if err := k.OpenByWorker.Set(ctx, collections.Join(worker, c.Id)); err != nil {
		return err
	}
	return k.Deadlines.Set(ctx, collections.Join(c.DeadlineHeight, c.Id))
}

// openCount is how many open challenges worker has (the walk stops at limit).
func (k *Keeper) openCount(ctx context.Context, worker sdk.AccAddress, limit int) (int, error) {
	it, err := k.OpenByWorker.Iterate(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](worker))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for ; it.Valid() && n < limit; it.Next() {
		n++
	}
	return n, nil
}

// closeChallenge records c's final status and drops it from the open indexes.
func (k *Keeper) closeChallenge(ctx context.Context, c types.Challenge, status types.ChallengeStatus) error {
	c.Status = status
	c.ClosedHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.Challenges.Set(ctx, c.Id, c); err != nil {
		return err
	}
	if err := k.OpenByAttestation.Remove(ctx, collections.Join(c.AttestationId, c.Id)); err != nil {
		return err
	}
	worker, err := k.parseAddr("worker", c.Worker)
	if err != nil {
		return err
	}
	if err := k.OpenByWorker.Remove(ctx, collections.Join(worker, c.Id)); err != nil {
		return err
	}
	return k.Deadlines.Remove(ctx, collections.Join(c.DeadlineHeight, c.Id))
}

// OpenChallenge is MsgOpenChallenge: a third party challenges a pending attestation during its
// challenge window, posting the bond.
func (k *Keeper) OpenChallenge(ctx context.Context, msg *types.MsgOpenChallenge) (types.Challenge, error) {
	challenger, err := k.parseAddr("challenger", msg.Challenger)
	if err != nil {
		return types.Challenge{}, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return types.Challenge{}, err
	}
	a, err := k.GetAttestation(ctx, msg.AttestationId)
	if err != nil {
		return types.Challenge{}, err
	}
	worker, err := k.parseAddr("worker", a.Worker)
	if err != nil {
		return types.Challenge{}, err
	}
	open, err := k.openCount(ctx, worker, int(p.MaxOpenChallenges))
	if err != nil {
		return types.Challenge{}, err
	}
	if open >= int(p.MaxOpenChallenges) {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrTooManyChallenges, "%s has %d open challenges (max_open_challenges): wait until one is settled", a.Worker, open)
	}
	// Each open challenge doubles the next one's bond: a flood meant to make the worker's
	// prover miss a deadline costs more than the slash it could win.
	bond := p.BondFor(open)
	// A bond decoded without an amount has a nil one, which the comparison below cannot take.
	if err := msg.Bond.Validate(); err != nil {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrWrongBond, "bond: %v; a challenge of %s, with %d open, posts %s: set bond to at least that", err, a.Worker, open, bond)
	}
	if msg.Bond.Denom != bond.Denom || msg.Bond.Amount.LT(bond.Amount) {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrWrongBond, "bond %s: a challenge of %s, with %d open, posts %s (challenge_bond %s × 2^%d); bond is the most you post", msg.Bond, a.Worker, open, bond, p.ChallengeBond, open)
	}
	msg.Bond = bond
	if a.Worker == k.addrString(challenger) {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrInvalidChallenge, "%s cannot challenge its own attestation", msg.Challenger)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); a.Status == types.ATTESTATION_STATUS_PENDING && h >= a.FinalizeHeight {
		return types.Challenge{}, errorsmod.Wrapf(types.ErrNotPending, "attestation %d's challenge window closed at height %d", a.Id, a.FinalizeHeight)
	}
	if err := k.bk.SendCoinsFromAccountToModule(ctx, challenger, types.ModuleName, sdk.NewCoins(msg.Bond)); err != nil {
		return types.Challenge{}, errorsmod.Wrapf(err, "posting challenge bond %s", msg.Bond)
	}
	return k.openChallenge(ctx, p, a, challenger, msg.Bond, position{kind: msg.Kind, step: msg.Step, row: msg.Row, col: msg.Col})
}

// RespondChallenge is MsgRespondChallenge. A proof that does not verify is refused with the
// reason and the challenge stays open: a proof garbled on its way can be resent, and a worker
// without a valid proof is slashed when the deadline passes.
func (k *Keeper) RespondChallenge(ctx context.Context, msg *types.MsgRespondChallenge) error {
	signer, err := k.parseAddr("worker", msg.Worker)
	if err != nil {
		return err
	}
	c, err := k.GetChallenge(ctx, msg.ChallengeId)
	if err != nil {
		return err
	}
	if c.Worker != k.addrString(signer) {
		return errorsmod.Wrapf(types.ErrNotChallengedWorker, "challenge %d is to %s, not %s", c.Id, c.Worker, msg.Worker)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if c.Status != types.CHALLENGE_STATUS_OPEN {
		if c.Status == types.CHALLENGE_STATUS_FAILED && sdkCtx.BlockHeight() > c.DeadlineHeight {
			return errorsmod.Wrapf(types.ErrResponseTooLate, "challenge %d closed at height %d (deadline %d); now %d",
				c.Id, c.ClosedHeight, c.DeadlineHeight, sdkCtx.BlockHeight())
		}
		return errorsmod.Wrapf(types.ErrChallengeClosed, "challenge %d is %s", c.Id, c.Status)
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	if len(msg.Proof) > int(p.MaxProofBytes) {
		return errorsmod.Wrapf(types.ErrProofTooLarge, "%d bytes, at most max_proof_bytes = %d", len(msg.Proof), p.MaxProofBytes)
	}
	if err := checkOpeningSize(c, msg.InputOpening, msg.DatasetOpening); err != nil {
		return err
	}
	sdkCtx.GasMeter().ConsumeGas(p.ProofVerifyGas, "x/verify: verify proof")

	a, err := k.GetAttestation(ctx, c.AttestationId)
	if err != nil {
		return err
	}
	pub, err := k.challengePublic(ctx, a, c, msg.InputOpening, msg.DatasetOpening)
	if err != nil {
		return err
	}
	vk, err := k.verifyingKey(p, c.Shape)
	if err != nil {
		return err
	}
	if err := vk.Verify(msg.Proof, pub); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidProof, "challenge %d (%s, attestation %d, step %d, row %d, block %d; a proof answers this challenge of this worker's step only): %v",
			c.Id, c.Kind, a.Id, c.Step, c.Row, c.Col, err)
	}

	paid := sdk.NewCoin(c.Bond.Denom, sdkmath.ZeroInt())
	if c.Challenger != "" && c.Bond.IsPositive() {
		worker, err := k.parseAddr("worker", c.Worker)
		if err != nil {
			return err
		}
		if err := k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, worker, sdk.NewCoins(c.Bond)); err != nil {
			return err
		}
		paid = c.Bond
	}
	if err := k.closeChallenge(ctx, c, types.CHALLENGE_STATUS_ANSWERED); err != nil {
		return err
	}
	k.logger.Info("challenge answered", "id", c.Id, "attestation", a.Id, "worker", c.Worker, "bond_paid", paid.String())
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventChallengeAnswered{
		ChallengeId: c.Id, AttestationId: a.Id, Worker: c.Worker, BondPaid: paid, ModelId: a.ModelId,
	})
}

// maxOpeningBytes bounds an opening before anything reads it: a payload token's (a 40-byte
// header, a 4-byte id and k ≤ 64 Ki f32 values, 32 siblings) or a dataset byte's (at most two
// 4 KiB chunks with their paths).
const maxOpeningBytes = 1 << 19

// checkOpeningSize refuses an opening on a challenge of another kind, a missing one on an input
// challenge, and one too large to be a token's.
func checkOpeningSize(c types.Challenge, in *types.TokenOpening, ds *types.DatasetOpening) error {
	switch {
	case c.Kind != types.CHALLENGE_KIND_INPUT && (in != nil || ds != nil):
		return errorsmod.Wrapf(types.ErrInvalidProof, "challenge %d is a %s challenge: input_opening and dataset_opening are for input challenges only", c.Id, c.Kind)
	case c.Kind == types.CHALLENGE_KIND_INPUT && in == nil && ds == nil:
		return errorsmod.Wrapf(types.ErrInvalidProof, "challenge %d is an input challenge: answer it with input_opening (the challenged token of the step's input payload; dataset_opening on stage 0) beside the proof", c.Id)
	case in.Size()+ds.Size() > maxOpeningBytes:
		return errorsmod.Wrapf(types.ErrProofTooLarge, "openings of %d bytes, at most %d", in.Size()+ds.Size(), maxOpeningBytes)
	}
	return nil
}

// challengePublic rebuilds the public inputs of challenge c of attestation a; an input
// challenge's need the model's subspace root and the opened token, which must open the step's
// input payload at the challenged row (types.InputPublic).
func (k *Keeper) challengePublic(ctx context.Context, a types.Attestation, c types.Challenge, in *types.TokenOpening, ds *types.DatasetOpening) (tile.PublicInputs, error) {
	chainID := a.ChainIDOr(sdk.UnwrapSDKContext(ctx).ChainID())
	if c.Kind != types.CHALLENGE_KIND_INPUT {
		pub, err := types.ChallengePublic(chainID, a, c)
		if err != nil {
			return pub, errorsmod.Wrap(types.ErrInvalidChallenge, err.Error())
		}
		return pub, nil
	}
	m, err := k.mk.GetModel(ctx, a.ModelId)
	if err != nil {
		return tile.PublicInputs{}, err
	}
	pub, err := types.InputPublic(chainID, a, c, types.ModelTiles(a, m), m, in, ds)
	if err != nil {
		return pub, errorsmod.Wrapf(types.ErrInvalidProof, "challenge %d (input, attestation %d, step %d, row %d): %v", c.Id, a.Id, c.Step, c.Row, err)
	}
	return pub, nil
}
