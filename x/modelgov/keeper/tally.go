package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/modelgov/types"
)

// Tally counts p's votes, each at its voter's power.
func (k *Keeper) Tally(ctx context.Context, p types.Proposal) (types.Tally, error) {
	t := types.ZeroTally()
	err := k.Votes.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](p.Id),
		func(key collections.Pair[uint64, sdk.AccAddress], option int32) (bool, error) {
			power, err := k.Power(ctx, p, key.K2())
			if err != nil {
				return true, err
			}
			t.Add(types.VoteOption(option), power)
			return false, nil
		})
	return t, err
}

// EndBlock ends every proposal whose voting period ends at this block: tallies it, does a
// passed one's action (all of it or, if it no longer fits the model, none of it), refunds or
// burns the deposit, and deletes its votes and snapshots.
func (k *Keeper) EndBlock(ctx context.Context) error {
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	var due []collections.Pair[int64, uint64]
	if err := k.Ending.Walk(ctx, new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(height, ^uint64(0))),
		func(key collections.Pair[int64, uint64]) (bool, error) {
			due = append(due, key)
			return false, nil
		}); err != nil {
		return err
	}
	for _, key := range due {
		if err := k.end(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

func (k *Keeper) end(ctx context.Context, key collections.Pair[int64, uint64]) error {
	p, err := k.GetProposal(ctx, key.K2())
	if err != nil {
		return err
	}
	params, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	tally, err := k.Tally(ctx, p)
	if err != nil {
		return err
	}
	th, err := k.threshold(ctx, params, p)
	if err != nil {
		return err
	}
	p.FinalTally = tally
	p.Status, p.Result = params.Outcome(th, tally, p.Supply)
	if p.Status == types.PROPOSAL_STATUS_PASSED {
		// The action runs on a branch of the state: one that no longer fits the model (it was
		// resumed, halted or changed meanwhile) changes nothing and fails the proposal.
		sdkCtx := sdk.UnwrapSDKContext(ctx)
		branch, write := sdkCtx.CacheContext()
		if err := k.do(branch, p); err != nil {
			p.Status, p.Result = types.PROPOSAL_STATUS_FAILED, "passed, but its action failed: "+err.Error()
		} else {
			write()
		}
	}
	if err := k.settleDeposit(ctx, p); err != nil {
		return err
	}
	if err := k.forget(ctx, p); err != nil {
		return err
	}
	if err := k.Proposals.Set(ctx, p.Id, p); err != nil {
		return err
	}
	k.logger.Info("proposal ended", "proposal_id", p.Id, "model_id", p.ModelId, "action", p.Action.Type, "status", p.Status, "result", p.Result)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProposalEnded{
		ProposalId: p.Id, ModelId: p.ModelId, Action: p.Action.Type, Status: p.Status, Tally: tally, Result: p.Result,
	})
}

// threshold is what p's yes votes must be above: the supermajority for what takes workers' seats
// away (a halt, or economics raising the stake floor, which drops every seat below it: a halt
// by another name otherwise), the plain threshold for the rest.
func (k *Keeper) threshold(ctx context.Context, params types.Params, p types.Proposal) (uint32, error) {
	switch p.Action.Type {
	case types.ACTION_TYPE_HALT:
		return params.HaltThresholdBps, nil
	case types.ACTION_TYPE_SET_ECONOMICS:
		m, err := k.models.GetModel(ctx, p.ModelId)
		if err != nil {
			return 0, err
		}
		if p.Action.MinStake.Denom != m.MinStake.Denom || p.Action.MinStake.Amount.GT(m.MinStake.Amount) {
			return params.HaltThresholdBps, nil
		}
	}
	return params.ThresholdBps, nil
}

// settleDeposit refunds an ended proposal's deposit, or burns it when too few voted.
func (k *Keeper) settleDeposit(ctx context.Context, p types.Proposal) error {
	if !p.Deposit.IsPositive() {
		return nil
	}
	coins := sdk.NewCoins(p.Deposit)
	if p.Status == types.PROPOSAL_STATUS_NO_QUORUM {
		return k.bk.BurnCoins(ctx, types.ModuleName, coins)
	}
	proposer, err := k.parseAddr("proposer", p.Proposer)
	if err != nil {
		return err
	}
	return k.bk.SendCoinsFromModuleToAccount(ctx, types.ModuleName, proposer, coins)
}

// forget deletes an ended proposal's indexes, votes and snapshots: the final tally keeps what
// they came to.
func (k *Keeper) forget(ctx context.Context, p types.Proposal) error {
	if err := k.Active.Remove(ctx, collections.Join(p.ModelId, p.Id)); err != nil {
		return err
	}
	if err := k.Ending.Remove(ctx, collections.Join(p.VotingEndHeight, p.Id)); err != nil {
		return err
	}
	if err := k.Votes.Clear(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](p.Id)); err != nil {
		return err
	}
	return k.pruneSnapshots(ctx, p.ModelId)
}

// pruneSnapshots deletes the model's snapshots no proposal in its voting period needs: those
// written under a proposal older than the oldest still voting (all, if none is). Each was
// written, and paid for, by one share transfer.
func (k *Keeper) pruneSnapshots(ctx context.Context, modelID uint64) error {
	oldest, ok, err := k.activeEdge(ctx, modelID, false)
	if err != nil {
		return err
	}
	var rng collections.Ranger[collections.Triple[uint64, uint64, sdk.AccAddress]] = collections.NewPrefixedTripleRange[uint64, uint64, sdk.AccAddress](modelID)
	if ok {
		rng = new(collections.Range[collections.Triple[uint64, uint64, sdk.AccAddress]]).
			StartInclusive(collections.Join3(modelID, uint64(0), sdk.AccAddress{})).
			EndExclusive(collections.Join3(modelID, oldest, sdk.AccAddress{}))
	}
	var gone []collections.Triple[uint64, uint64, sdk.AccAddress]
	if err := k.SnapshotsByProposal.Walk(ctx, rng, func(key collections.Triple[uint64, uint64, sdk.AccAddress]) (bool, error) {
		gone = append(gone, key)
		return false, nil
	}); err != nil {
		return err
	}
	for _, key := range gone {
		if err := k.Snapshots.Remove(ctx, collections.Join3(key.K1(), key.K3(), key.K2())); err != nil {
			return err
		}
		if err := k.SnapshotsByProposal.Remove(ctx, key); err != nil {
			return err
		}
	}
	return nil
}
