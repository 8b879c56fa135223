package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/modelgov/types"
)

// InitGenesis loads gs (validated); the indexes are rebuilt from the proposals.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, p := range gs.Proposals {
		if err := k.storeProposal(ctx, p); err != nil {
			return err
		}
	}
	if err := k.ProposalSeq.Set(ctx, gs.NextProposalId); err != nil {
		return err
	}
	for _, v := range gs.Votes {
		voter, err := k.parseAddr("voter", v.Voter)
		if err != nil {
			return err
		}
		if err := k.Votes.Set(ctx, collections.Join(v.ProposalId, voter), int32(v.Option)); err != nil {
			return err
		}
	}
	for _, s := range gs.Snapshots {
		holder, err := k.parseAddr("holder", s.Holder)
		if err != nil {
			return err
		}
		if err := k.Snapshots.Set(ctx, collections.Join3(s.ModelId, holder, s.ProposalId), s.Balance); err != nil {
			return err
		}
		if err := k.SnapshotsByProposal.Set(ctx, collections.Join3(s.ModelId, s.ProposalId, holder)); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis dumps the state.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.GetParams(ctx)
	if err != nil {
		return nil, err
	}
	next, err := k.ProposalSeq.Peek(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p, NextProposalId: next}
	if err := k.Proposals.Walk(ctx, nil, func(_ uint64, p types.Proposal) (bool, error) {
		gs.Proposals = append(gs.Proposals, p)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Votes.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], option int32) (bool, error) {
		gs.Votes = append(gs.Votes, types.Vote{ProposalId: key.K1(), Voter: k.addrString(key.K2()), Option: types.VoteOption(option)})
		return false, nil
	}); err != nil {
		return nil, err
	}
	err = k.Snapshots.Walk(ctx, nil, func(key collections.Triple[uint64, sdk.AccAddress, uint64], b sdkmath.Int) (bool, error) {
		gs.Snapshots = append(gs.Snapshots, types.Snapshot{ModelId: key.K1(), Holder: k.addrString(key.K2()), ProposalId: key.K3(), Balance: b})
		return false, nil
	})
	return gs, err
}

// RebaseHeights moves every proposal's heights by -by, for a chain restarting at height zero:
// a proposal in its voting period keeps the blocks it had left.
func (k *Keeper) RebaseHeights(ctx context.Context, by int64) error {
	var all []types.Proposal
	if err := k.Proposals.Walk(ctx, nil, func(_ uint64, p types.Proposal) (bool, error) {
		all = append(all, p)
		return false, nil
	}); err != nil {
		return err
	}
	if err := k.Ending.Clear(ctx, nil); err != nil {
		return err
	}
	for _, p := range all {
		p.SubmitHeight -= by
		p.VotingEndHeight -= by
		if err := k.storeProposal(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// CheckInvariants verifies that the module account holds exactly the deposits of the proposals
// in their voting period, that the indexes match the proposals, and that votes and snapshots
// belong to voting proposals only. It walks the whole state: for tests.
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	held := sdk.NewCoins()
	voting := map[uint64]types.Proposal{}
	if err := k.Proposals.Walk(ctx, nil, func(id uint64, p types.Proposal) (bool, error) {
		if p.Id != id {
			return true, fmt.Errorf("proposal stored under %d says id %d", id, p.Id)
		}
		if ok, err := k.ByModel.Has(ctx, collections.Join(p.ModelId, id)); err != nil || !ok {
			return true, fmt.Errorf("proposal %d is not indexed under model %d (%v)", id, p.ModelId, err)
		}
		active, err := k.Active.Has(ctx, collections.Join(p.ModelId, id))
		if err != nil {
			return true, err
		}
		ending, err := k.Ending.Has(ctx, collections.Join(p.VotingEndHeight, id))
		if err != nil {
			return true, err
		}
		isVoting := p.Status == types.PROPOSAL_STATUS_VOTING
		if active != isVoting || ending != isVoting {
			return true, fmt.Errorf("proposal %d is %s but active=%t ending=%t", id, p.Status, active, ending)
		}
		if isVoting {
			voting[id] = p
			held = held.Add(p.Deposit)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, c := range held {
		if have := k.bk.GetBalance(ctx, k.ak.GetModuleAddress(types.ModuleName), c.Denom); !have.Amount.Equal(c.Amount) {
			return fmt.Errorf("module account holds %s; the voting proposals' deposits are %s", have, c)
		}
	}
	oldest := map[uint64]uint64{} // model -> its oldest voting proposal
	for id, p := range voting {
		if o, ok := oldest[p.ModelId]; !ok || id < o {
			oldest[p.ModelId] = id
		}
	}
	if err := k.Votes.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], _ int32) (bool, error) {
		if _, ok := voting[key.K1()]; !ok {
			return true, fmt.Errorf("vote of %s on proposal %d, which is not voting", k.addrString(key.K2()), key.K1())
		}
		return false, nil
	}); err != nil {
		return err
	}
	snapshots := 0
	if err := k.Snapshots.Walk(ctx, nil, func(key collections.Triple[uint64, sdk.AccAddress, uint64], _ sdkmath.Int) (bool, error) {
		snapshots++
		if o, ok := oldest[key.K1()]; !ok || key.K3() < o {
			return true, fmt.Errorf("snapshot of %s under proposal %d of model %d, which no voting proposal needs", k.addrString(key.K2()), key.K3(), key.K1())
		}
		if has, err := k.SnapshotsByProposal.Has(ctx, collections.Join3(key.K1(), key.K3(), key.K2())); err != nil || !has {
			return true, fmt.Errorf("snapshot of %s under proposal %d of model %d is not indexed (%v)", k.addrString(key.K2()), key.K3(), key.K1(), err)
		}
		return false, nil
	}); err != nil {
		return err
	}
	indexed := 0
	if err := k.SnapshotsByProposal.Walk(ctx, nil, func(collections.Triple[uint64, uint64, sdk.AccAddress]) (bool, error) {
		indexed++
		return false, nil
	}); err != nil {
		return err
	}
	if indexed != snapshots {
		return fmt.Errorf("%d snapshots, %d in the index", snapshots, indexed)
	}
	return nil
}
