package types

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// ValidateBasic checks that the action names a known type and fills exactly the fields its type
// uses; whether it fits the model now is the keeper's check.
func (a Action) ValidateBasic() error {
	price, econ := !isEmpty(a.PricePer_1KTokens), a.DesignerBps != 0 || a.MaxReplicasPerStage != 0 || !isEmpty(a.MinStake)
	fork, policy := a.ForkModelId != 0, a.ForkPolicy != (modelstypes.ForkPolicy{})
	uses := map[ActionType]string{ // the one field group each action takes
		ACTION_TYPE_SET_PRICE: "price", ACTION_TYPE_SET_ECONOMICS: "economics", ACTION_TYPE_APPROVE_FORK: "fork", ACTION_TYPE_SET_FORK_POLICY: "policy",
	}
	for name, set := range map[string]bool{"price": price, "economics": econ, "fork": fork, "policy": policy} {
		if set && uses[a.Type] != name {
			return errorsmod.Wrapf(ErrInvalidAction, "%s takes no %s", a.Type, name)
		}
	}
	switch a.Type {
	case ACTION_TYPE_PAUSE, ACTION_TYPE_RESUME, ACTION_TYPE_HALT, ACTION_TYPE_SET_FORK_POLICY:
	case ACTION_TYPE_APPROVE_FORK:
		if !fork {
			return errorsmod.Wrapf(ErrInvalidAction, "%s names the fork to approve (fork_model_id)", a.Type)
		}
	case ACTION_TYPE_SET_PRICE:
		if err := a.PricePer_1KTokens.Validate(); err != nil || a.PricePer_1KTokens.Denom == "" {
			return errorsmod.Wrapf(ErrInvalidAction, "%s needs price_per_1k_tokens (e.g. 2000ulearn; 0ulearn takes the model off sale): %v", a.Type, err)
		}
	case ACTION_TYPE_SET_ECONOMICS:
		if isEmpty(a.MinStake) || a.MaxReplicasPerStage == 0 {
			return errorsmod.Wrapf(ErrInvalidAction, "%s sets designer_bps, max_replicas_per_stage and min_stake together: give all three (query the model for the current ones)", a.Type)
		}
	default:
		return errorsmod.Wrapf(ErrInvalidAction, "action type %d is not one of pause, resume, halt, set-price, set-economics, approve-fork, set-fork-policy", a.Type)
	}
	return nil
}

func isEmpty(c sdk.Coin) bool { return c.Denom == "" && (c.Amount.IsNil() || c.Amount.IsZero()) }

// Options are the vote options a holder may cast.
func (o VoteOption) Valid() bool {
	return o == VOTE_OPTION_YES || o == VOTE_OPTION_NO || o == VOTE_OPTION_ABSTAIN
}

// ZeroTally is a tally with nothing in it.
func ZeroTally() Tally {
	return Tally{Yes: sdkmath.ZeroInt(), No: sdkmath.ZeroInt(), Abstain: sdkmath.ZeroInt()}
}

// Add counts power for option.
func (t *Tally) Add(o VoteOption, power sdkmath.Int) {
	switch o {
	case VOTE_OPTION_YES:
		t.Yes = t.Yes.Add(power)
	case VOTE_OPTION_NO:
		t.No = t.No.Add(power)
	case VOTE_OPTION_ABSTAIN:
		t.Abstain = t.Abstain.Add(power)
	}
}

// Outcome is how a tally ends a proposal that needs threshold th, with supply as the quorum's
// base: NO_QUORUM, REJECTED or PASSED (before its action is tried), with a sentence saying why.
func (p Params) Outcome(th uint32, tally Tally, supply sdkmath.Int) (ProposalStatus, string) {
	voted := tally.Yes.Add(tally.No).Add(tally.Abstain)
	bps := sdkmath.NewInt(MaxBps)
	if !supply.IsPositive() || voted.Mul(bps).LT(supply.MulRaw(int64(p.QuorumBps))) {
		return PROPOSAL_STATUS_NO_QUORUM, fmt.Sprintf("%s of %s shares voted; quorum is %d bps", voted, supply, p.QuorumBps)
	}
	cast := tally.Yes.Add(tally.No)
	if !tally.Yes.IsPositive() || tally.Yes.Mul(bps).LTE(cast.MulRaw(int64(th))) {
		return PROPOSAL_STATUS_REJECTED, fmt.Sprintf("yes %s of yes+no %s is not above %d bps", tally.Yes, cast, th)
	}
	return PROPOSAL_STATUS_PASSED, fmt.Sprintf("yes %s of yes+no %s is above %d bps, with %s of %s shares voting", tally.Yes, cast, th, voted, supply)
}
