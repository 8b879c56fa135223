package types

import (
	"fmt"

	"github.com/protolearn/protolearn/x/internal/addresses"
)

// DefaultGenesis is default params and no proposals.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextProposalId: 1}
}

// Validate checks a genesis state: params, unique proposals below next_proposal_id, and votes
// and snapshots only of proposals in their voting period.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	if gs.NextProposalId == 0 {
		return fmt.Errorf("next_proposal_id is 0; proposal ids start at 1")
	}
	voting := map[uint64]bool{}
	oldest := map[uint64]uint64{} // model -> its oldest voting proposal
	modelOf := map[uint64]uint64{}
	for i, p := range gs.Proposals {
		if p.Id == 0 || p.Id >= gs.NextProposalId {
			return fmt.Errorf("proposals[%d]: id %d must be in [1, next_proposal_id=%d)", i, p.Id, gs.NextProposalId)
		}
		if _, dup := voting[p.Id]; dup {
			return fmt.Errorf("proposals[%d]: id %d listed twice", i, p.Id)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("proposals[%d] (id %d): %w", i, p.Id, err)
		}
		voting[p.Id] = p.Status == PROPOSAL_STATUS_VOTING
		modelOf[p.Id] = p.ModelId
		if o, ok := oldest[p.ModelId]; voting[p.Id] && (!ok || p.Id < o) {
			oldest[p.ModelId] = p.Id
		}
	}
	type vote struct {
		id   uint64
		addr string
	}
	seen := map[vote]bool{}
	for i, v := range gs.Votes {
		if !voting[v.ProposalId] {
			return fmt.Errorf("votes[%d]: proposal %d is not in its voting period", i, v.ProposalId)
		}
		if err := addresses.Canonical(v.Voter); err != nil {
			return fmt.Errorf("votes[%d]: voter: %w", i, err)
		}
		if !v.Option.Valid() {
			return fmt.Errorf("votes[%d]: option %d is not yes, no or abstain", i, v.Option)
		}
		if seen[vote{v.ProposalId, v.Voter}] {
			return fmt.Errorf("votes[%d]: %s votes twice on proposal %d", i, v.Voter, v.ProposalId)
		}
		seen[vote{v.ProposalId, v.Voter}] = true
	}
	type snap struct {
		model, id uint64
		addr      string
	}
	snapped := map[snap]bool{}
	for i, s := range gs.Snapshots {
		if o, ok := oldest[s.ModelId]; !ok || s.ProposalId < o || modelOf[s.ProposalId] != s.ModelId {
			return fmt.Errorf("snapshots[%d]: under proposal %d of model %d, which no proposal in its voting period needs", i, s.ProposalId, s.ModelId)
		}
		if err := addresses.Canonical(s.Holder); err != nil {
			return fmt.Errorf("snapshots[%d]: holder: %w", i, err)
		}
		if s.Balance.IsNil() || s.Balance.IsNegative() {
			return fmt.Errorf("snapshots[%d]: balance must be zero or more", i)
		}
		if snapped[snap{s.ModelId, s.ProposalId, s.Holder}] {
			return fmt.Errorf("snapshots[%d]: %s has two snapshots under proposal %d of model %d", i, s.Holder, s.ProposalId, s.ModelId)
		}
		snapped[snap{s.ModelId, s.ProposalId, s.Holder}] = true
	}
	return nil
}

func (p Proposal) validate() error {
	if err := addresses.Canonical(p.Proposer); err != nil {
		return fmt.Errorf("proposer: %w", err)
	}
	if err := p.Action.ValidateBasic(); err != nil {
		return err
	}
	if _, ok := ProposalStatus_name[int32(p.Status)]; !ok || p.Status == PROPOSAL_STATUS_UNSPECIFIED {
		return fmt.Errorf("status %d is not a proposal status", p.Status)
	}
	if len(p.Summary) > MaxSummaryLength {
		return fmt.Errorf("summary is %d bytes; at most %d", len(p.Summary), MaxSummaryLength)
	}
	if p.VotingEndHeight < p.SubmitHeight {
		return fmt.Errorf("voting ends at %d, before it was submitted at %d", p.VotingEndHeight, p.SubmitHeight)
	}
	if p.Supply.IsNil() || !p.Supply.IsPositive() {
		return fmt.Errorf("supply must be positive: a proposal opens only on a model with shares")
	}
	if err := p.Deposit.Validate(); err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	for name, v := range map[string]interface{ IsNil() bool }{"yes": p.FinalTally.Yes, "no": p.FinalTally.No, "abstain": p.FinalTally.Abstain} {
		if v.IsNil() {
			return fmt.Errorf("final_tally.%s is missing", name)
		}
	}
	return nil
}
