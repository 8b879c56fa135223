package types

import (
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultGenesis has default params and no workers.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextUnbondingId: 1}
}

// Validate checks everything InitGenesis relies on, naming the offending record.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	denom := gs.Params.StakeDenom()
	operators := make(map[string]struct{}, len(gs.Workers))
	peers := make(map[string]struct{}, len(gs.Workers))
	for i, w := range gs.Workers {
		if err := w.validate(denom, gs.Params.MaxMultiaddrs); err != nil {
			return fmt.Errorf("workers[%d] (%s): %w", i, w.Operator, err)
		}
		if err := w.checkStatus(gs.Params.MinWorkerStake); err != nil {
			return fmt.Errorf("workers[%d] (%s): %w", i, w.Operator, err)
		}
		if _, dup := operators[w.Operator]; dup {
			return fmt.Errorf("workers[%d]: operator %s listed twice", i, w.Operator)
		}
		operators[w.Operator] = struct{}{}
		if _, dup := peers[w.PeerId]; dup {
			return fmt.Errorf("workers[%d]: peer id %s used by two workers", i, w.PeerId)
		}
		peers[w.PeerId] = struct{}{}
	}
	if gs.NextUnbondingId == 0 {
		return fmt.Errorf("next_unbonding_id must be at least 1")
	}
	retired := make(map[string]struct{}, len(gs.RetiredPeers))
	for i, r := range gs.RetiredPeers {
		if len(r.PeerId) > MaxPeerIDLen {
			return fmt.Errorf("retired_peers[%d]: a %d-character peer id, at most %d", i, len(r.PeerId), MaxPeerIDLen)
		}
		if _, err := peer.Decode(r.PeerId); err != nil {
			return fmt.Errorf("retired_peers[%d]: %q: %w", i, r.PeerId, err)
		}
		if _, dup := retired[r.PeerId]; dup {
			return fmt.Errorf("retired_peers[%d]: peer id %s listed twice", i, r.PeerId)
		}
		retired[r.PeerId] = struct{}{}
		if _, current := peers[r.PeerId]; current {
			return fmt.Errorf("retired_peers[%d]: peer id %s is also a worker's current id", i, r.PeerId)
		}
	}
	ids := make(map[uint64]struct{}, len(gs.UnbondingEntries))
	perOperator := make(map[string]uint32)
	for i, e := range gs.UnbondingEntries {
		if e.Id == 0 || e.Id >= gs.NextUnbondingId {
			return fmt.Errorf("unbonding_entries[%d]: id %d must be in [1, next_unbonding_id=%d)", i, e.Id, gs.NextUnbondingId)
		}
		if _, dup := ids[e.Id]; dup {
			return fmt.Errorf("unbonding_entries[%d]: id %d listed twice", i, e.Id)
		}
		ids[e.Id] = struct{}{}
		if _, ok := operators[e.Operator]; !ok {
			return fmt.Errorf("unbonding_entries[%d]: operator %s has no worker", i, e.Operator)
		}
		if err := validateEntryCoins(e, denom); err != nil {
			return fmt.Errorf("unbonding_entries[%d]: %w", i, err)
		}
		perOperator[e.Operator]++
		if perOperator[e.Operator] > gs.Params.MaxUnbondingEntries {
			return fmt.Errorf("unbonding_entries[%d]: operator %s has more than max_unbonding_entries=%d entries",
				i, e.Operator, gs.Params.MaxUnbondingEntries)
		}
	}
	return nil
}

func (w Worker) validate(denom string, maxAddrs uint32) error {
	if _, err := sdk.AccAddressFromBech32(w.Operator); err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	if err := ValidatePeerID(w.PeerId); err != nil {
		return err
	}
	if err := ValidateMultiaddrs(w.Multiaddrs, maxAddrs); err != nil {
		return err
	}
	if err := w.Hardware.Validate(); err != nil {
		return err
	}
	for name, c := range map[string]sdk.Coin{"bonded": w.Bonded, "slashed": w.Slashed} {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if c.Denom != denom {
			return fmt.Errorf("%s denom %q is not the stake denom %q", name, c.Denom, denom)
		}
	}
	if _, ok := WorkerStatus_name[int32(w.Status)]; !ok || w.Status == WORKER_STATUS_UNSPECIFIED {
		return fmt.Errorf("status %d is not a worker status", w.Status)
	}
	return nil
}

// checkStatus reports a status that disagrees with the stake: only jail may override it.
func (w Worker) checkStatus(minStake sdk.Coin) error {
	if w.Status == WORKER_STATUS_JAILED {
		return nil
	}
	want := WORKER_STATUS_INACTIVE
	if w.Bonded.Amount.GTE(minStake.Amount) {
		want = WORKER_STATUS_ACTIVE
	}
	if w.Status != want {
		return fmt.Errorf("status %s disagrees with bonded %s and min_worker_stake %s (expected %s)", w.Status, w.Bonded, minStake, want)
	}
	return nil
}

func validateEntryCoins(e UnbondingEntry, denom string) error {
	if _, err := sdk.AccAddressFromBech32(e.Operator); err != nil {
		return fmt.Errorf("operator: %w", err)
	}
	for name, c := range map[string]sdk.Coin{"balance": e.Balance, "initial": e.Initial} {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if c.Denom != denom {
			return fmt.Errorf("%s denom %q is not the stake denom %q", name, c.Denom, denom)
		}
	}
	if e.Balance.Amount.GT(e.Initial.Amount) {
		return fmt.Errorf("balance %s exceeds initial %s", e.Balance, e.Initial)
	}
	return nil
}
