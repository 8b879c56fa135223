package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// Propose is MsgPropose: it checks that the action fits the model now, escrows the deposit and
// opens the vote. Nothing is stored unless every check passes.
func (k *Keeper) Propose(ctx context.Context, msg *types.MsgPropose) (*types.MsgProposeResponse, error) {
	proposer, err := k.parseAddr("proposer", msg.Proposer)
	if err != nil {
		return nil, err
	}
	if len(msg.Summary) > types.MaxSummaryLength {
		return nil, errorsmod.Wrapf(types.ErrInvalidSummary, "summary is %d bytes; at most %d", len(msg.Summary), types.MaxSummaryLength)
	}
	if err := msg.Action.ValidateBasic(); err != nil {
		return nil, err
	}
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	m, err := k.models.GetModel(ctx, msg.ModelId)
	if err != nil {
		return nil, err
	}
	if !m.Status.HoldsSeats() {
		return nil, errorsmod.Wrapf(types.ErrNotGovernable, "model %d is %s: there is nothing left to decide", m.Id, m.Status)
	}
	denom := sharestypes.ShareDenom(m.Id)
	supply := k.bk.GetSupply(ctx, denom).Amount
	if !supply.IsPositive() {
		return nil, errorsmod.Wrapf(types.ErrNotGovernable, "model %d has no shares yet (no verified work): nobody could vote", m.Id)
	}
	if !k.bk.GetBalance(ctx, proposer, denom).Amount.IsPositive() {
		return nil, errorsmod.Wrapf(types.ErrNotHolder, "%s holds no %s; only the model's holders propose", msg.Proposer, denom)
	}
	if err := k.checkAction(ctx, m, msg.Action); err != nil {
		return nil, err
	}
	if p.Deposit.IsPositive() {
		if err := k.bk.SendCoinsFromAccountToModule(ctx, proposer, types.ModuleName, sdk.NewCoins(p.Deposit)); err != nil {
			return nil, errorsmod.Wrapf(err, "escrowing the proposal deposit of %s", p.Deposit)
		}
	}
	id, err := k.ProposalSeq.Next(ctx)
	if err != nil {
		return nil, err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	prop := types.Proposal{
		Id: id, ModelId: m.Id, Proposer: k.addrString(proposer), Action: msg.Action, Summary: msg.Summary,
		Status: types.PROPOSAL_STATUS_VOTING, SubmitHeight: height, VotingEndHeight: height + p.VotingPeriodBlocks,
		Supply: supply, Deposit: p.Deposit, FinalTally: types.ZeroTally(),
	}
	if err := k.storeProposal(ctx, prop); err != nil {
		return nil, err
	}
	k.logger.Info("proposal submitted", "proposal_id", id, "model_id", m.Id, "action", msg.Action.Type, "voting_end_height", prop.VotingEndHeight)
	return &types.MsgProposeResponse{ProposalId: id, VotingEndHeight: prop.VotingEndHeight},
		sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProposalSubmitted{
			ProposalId: id, ModelId: m.Id, Proposer: prop.Proposer, Action: prop.Action, VotingEndHeight: prop.VotingEndHeight,
		})
}

// storeProposal stores p and its indexes (the voting ones only while it votes).
func (k *Keeper) storeProposal(ctx context.Context, p types.Proposal) error {
	if err := k.Proposals.Set(ctx, p.Id, p); err != nil {
		return err
	}
	if err := k.ByModel.Set(ctx, collections.Join(p.ModelId, p.Id)); err != nil {
		return err
	}
	if p.Status != types.PROPOSAL_STATUS_VOTING {
		return nil
	}
	if err := k.Active.Set(ctx, collections.Join(p.ModelId, p.Id)); err != nil {
		return err
	}
	return k.Ending.Set(ctx, collections.Join(p.VotingEndHeight, p.Id))
}

// checkAction reports why a could not be done to m now, or nil. It runs at proposal and again,
// through the action itself, when the proposal passes.
func (k *Keeper) checkAction(ctx context.Context, m modelstypes.Model, a types.Action) error {
	switch a.Type {
	case types.ACTION_TYPE_PAUSE:
		if m.Status != modelstypes.MODEL_STATUS_TRAINING && m.Status != modelstypes.MODEL_STATUS_COMPLETED {
			return errorsmod.Wrapf(types.ErrInvalidAction, "model %d is %s; only a training or completed model can be paused", m.Id, m.Status)
		}
	case types.ACTION_TYPE_RESUME:
		if m.Status != modelstypes.MODEL_STATUS_PAUSED {
			return errorsmod.Wrapf(types.ErrInvalidAction, "model %d is %s; only a paused model can be resumed", m.Id, m.Status)
		}
	case types.ACTION_TYPE_HALT:
		if m.Status == modelstypes.MODEL_STATUS_RECRUITING {
			return errorsmod.Wrapf(types.ErrInvalidAction, "model %d is still recruiting; its designer may cancel it", m.Id)
		}
	case types.ACTION_TYPE_SET_PRICE:
		return k.inference.CheckPrice(ctx, a.PricePer_1KTokens)
	case types.ACTION_TYPE_SET_ECONOMICS:
		_, err := k.models.CheckEconomics(ctx, m.Id, economics(a))
		return err
	case types.ACTION_TYPE_APPROVE_FORK:
		fork, err := k.models.GetModel(ctx, a.ForkModelId)
		if err != nil {
			return err
		}
		if fork.ParentId != m.Id || fork.Status != modelstypes.MODEL_STATUS_AWAITING_APPROVAL {
			return errorsmod.Wrapf(types.ErrInvalidAction, "model %d is %s, forked from model %d: not a fork of model %d awaiting approval", fork.Id, fork.Status, fork.ParentId, m.Id)
		}
	case types.ACTION_TYPE_SET_FORK_POLICY:
		return k.models.CheckForkPolicy(ctx, m.Id, a.ForkPolicy)
	}
	return nil
}

// do carries out a passed proposal's action.
func (k *Keeper) do(ctx context.Context, p types.Proposal) error {
	reason := fmt.Sprintf("proposal %d of model %d's holders", p.Id, p.ModelId)
	switch a := p.Action; a.Type {
	case types.ACTION_TYPE_PAUSE:
		return k.models.Pause(ctx, p.ModelId, reason)
	case types.ACTION_TYPE_RESUME:
		return k.models.Resume(ctx, p.ModelId, reason)
	case types.ACTION_TYPE_HALT:
		return k.models.Halt(ctx, p.ModelId, reason)
	case types.ACTION_TYPE_SET_PRICE:
		return k.inference.SetPriceByHolders(ctx, p.ModelId, a.PricePer_1KTokens)
	case types.ACTION_TYPE_SET_ECONOMICS:
		return k.models.SetEconomics(ctx, p.ModelId, economics(a), reason)
	case types.ACTION_TYPE_APPROVE_FORK:
		return k.models.ApproveFork(ctx, p.ModelId, a.ForkModelId, reason)
	case types.ACTION_TYPE_SET_FORK_POLICY:
		return k.models.SetForkPolicy(ctx, p.ModelId, a.ForkPolicy, reason)
	}
	return errorsmod.Wrapf(types.ErrInvalidAction, "action type %d", p.Action.Type)
}

func economics(a types.Action) modelstypes.Economics {
	return modelstypes.Economics{DesignerBps: a.DesignerBps, MaxReplicasPerStage: a.MaxReplicasPerStage, MinStake: a.MinStake}
}

// Vote is MsgVote: it records (or replaces) the voter's option and returns its power.
func (k *Keeper) Vote(ctx context.Context, msg *types.MsgVote) (sdkmath.Int, error) {
	voter, err := k.parseAddr("voter", msg.Voter)
	if err != nil {
		return sdkmath.Int{}, err
	}
	if !msg.Option.Valid() {
		return sdkmath.Int{}, errorsmod.Wrapf(types.ErrInvalidVote, "option %d; vote yes, no or abstain", msg.Option)
	}
	p, err := k.GetProposal(ctx, msg.ProposalId)
	if err != nil {
		return sdkmath.Int{}, err
	}
	if p.Status != types.PROPOSAL_STATUS_VOTING {
		return sdkmath.Int{}, errorsmod.Wrapf(types.ErrVotingClosed, "proposal %d ended at height %d: %s", p.Id, p.VotingEndHeight, p.Status)
	}
	power, err := k.Power(ctx, p, voter)
	if err != nil {
		return sdkmath.Int{}, err
	}
	if !power.IsPositive() {
		return sdkmath.Int{}, errorsmod.Wrapf(types.ErrNoVotingPower, "%s held no %s when proposal %d opened (height %d); shares received since vote on later proposals",
			msg.Voter, sharestypes.ShareDenom(p.ModelId), p.Id, p.SubmitHeight)
	}
	if err := k.Votes.Set(ctx, collections.Join(p.Id, voter), int32(msg.Option)); err != nil {
		return sdkmath.Int{}, err
	}
	return power, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventVoted{
		ProposalId: p.Id, ModelId: p.ModelId, Voter: k.addrString(voter), Option: msg.Option, Power: power,
	})
}
