package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/verify/types"
)

// CheckInvariants verifies what every state transition must preserve: each attestation is stored
// under its id and indexed by model and worker; exactly the pending ones are in the
// pending-by-worker index and the finalization queue (and, while their draw is due, the draw
// queue); exactly the open challenges are in the open indexes and the deadline queue, and each is
// of a pending attestation; the module account holds exactly the open challenges' bonds (slashes
// pass through it within one call); only finalized attestations were paid, and no model's work
// exceeds its target or falls below what its finalized attestations were paid. Tests and
// simulations call it after every step; it walks the whole state, so it is not for block hooks.
func (k *Keeper) CheckInvariants(ctx context.Context) error {
	p, err := k.GetParams(ctx)
	if err != nil {
		return err
	}
	nextAtt, err := k.AttestSeq.Peek(ctx)
	if err != nil {
		return err
	}
	pending := map[uint64]types.Attestation{}
	paid := map[uint64]uint64{} // model -> units its finalized attestations were paid
	count := 0
	err = k.Attestations.Walk(ctx, nil, func(id uint64, a types.Attestation) (bool, error) {
		where := fmt.Sprintf("attestation %d", id)
		if a.Id != id || id == 0 || id >= nextAtt {
			return true, fmt.Errorf("%s: record says id %d; ids must be in [1, next id %d)", where, a.Id, nextAtt)
		}
		worker, err := k.parseAddr("worker", a.Worker)
		if err != nil {
			return true, fmt.Errorf("%s: %w", where, err)
		}
		if has, err := k.ByModel.Has(ctx, collections.Join(a.ModelId, id)); err != nil || !has {
			return true, fmt.Errorf("%s: missing from the by-model index (%v)", where, err)
		}
		if has, err := k.ByWorker.Has(ctx, collections.Join(worker, id)); err != nil || !has {
			return true, fmt.Errorf("%s: missing from the by-worker index (%v)", where, err)
		}
		count++
		switch a.Status {
		case types.ATTESTATION_STATUS_PENDING:
			if a.PaidUnits != 0 {
				return true, fmt.Errorf("%s: pending but paid %d units", where, a.PaidUnits)
			}
			if has, err := k.PendingByWorker.Has(ctx, collections.Join3(worker, a.ModelId, id)); err != nil || !has {
				return true, fmt.Errorf("%s: pending but not in the pending-by-worker index (%v)", where, err)
			}
			if has, err := k.ToFinalize.Has(ctx, collections.Join(a.FinalizeHeight, id)); err != nil || !has {
				return true, fmt.Errorf("%s: pending but not queued to finalize at %d (%v)", where, a.FinalizeHeight, err)
			}
			if a.DrawHeight > 0 {
				if has, err := k.ToDraw.Has(ctx, collections.Join(a.DrawHeight, id)); err != nil || !has {
					return true, fmt.Errorf("%s: draw height %d but not in the draw queue (%v)", where, a.DrawHeight, err)
				}
			}
			pending[id] = a
		case types.ATTESTATION_STATUS_FINALIZED:
			if a.PaidUnits > a.ClaimedUnits() {
				return true, fmt.Errorf("%s: paid %d units of the %d it claims (%d attested, log_gap %v)", where, a.PaidUnits, a.ClaimedUnits(), a.WorkUnits, a.LogGap)
			}
			paid[a.ModelId] += a.PaidUnits
		default:
			if a.PaidUnits != 0 {
				return true, fmt.Errorf("%s: %s but paid %d units", where, a.Status, a.PaidUnits)
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := sameCount(ctx, "by-model index", k.ByModel, count); err != nil {
		return err
	}
	if err := sameCount(ctx, "by-worker index", k.ByWorker, count); err != nil {
		return err
	}
	if err := sameCount(ctx, "pending-by-worker index", k.PendingByWorker, len(pending)); err != nil {
		return err
	}
	if err := sameCount(ctx, "finalization queue", k.ToFinalize, len(pending)); err != nil {
		return err
	}
	if err := k.ToDraw.Walk(ctx, nil, func(key collections.Pair[int64, uint64]) (bool, error) {
		if a, ok := pending[key.K2()]; !ok || a.DrawHeight != key.K1() {
			return true, fmt.Errorf("draw queue holds attestation %d at %d: not pending with that draw height", key.K2(), key.K1())
		}
		return false, nil
	}); err != nil {
		return err
	}

	if err := k.checkChallenges(ctx, p, pending); err != nil {
		return err
	}

	for id, units := range paid {
		m, err := k.mk.GetModel(ctx, id)
		if err != nil {
			return fmt.Errorf("model %d of finalized attestations: %w", id, err)
		}
		// Work can also come from genesis, so the model may count more than x/verify paid.
		if units > m.WorkUnits || m.WorkUnits > m.TargetWorkUnits {
			return fmt.Errorf("model %d: finalized attestations were paid %d units, the model counts %d of target %d", id, units, m.WorkUnits, m.TargetWorkUnits)
		}
	}
	return nil
}

// checkChallenges verifies the challenges' indexes and that the module account holds exactly the
// bonds of the open ones.
func (k *Keeper) checkChallenges(ctx context.Context, p types.Params, pending map[uint64]types.Attestation) error {
	nextCh, err := k.ChallSeq.Peek(ctx)
	if err != nil {
		return err
	}
	bonds := sdk.NewCoins()
	open, count := 0, 0
	err = k.Challenges.Walk(ctx, nil, func(id uint64, c types.Challenge) (bool, error) {
		where := fmt.Sprintf("challenge %d", id)
		if c.Id != id || id == 0 || id >= nextCh {
			return true, fmt.Errorf("%s: record says id %d; ids must be in [1, next id %d)", where, c.Id, nextCh)
		}
		worker, err := k.parseAddr("worker", c.Worker)
		if err != nil {
			return true, fmt.Errorf("%s: %w", where, err)
		}
		if has, err := k.ChallengesByWorker.Has(ctx, collections.Join(worker, id)); err != nil || !has {
			return true, fmt.Errorf("%s: missing from the by-worker index (%v)", where, err)
		}
		if c.Bond.IsNegative() || c.Slashed.IsNegative() {
			return true, fmt.Errorf("%s: negative bond %s or slash %s", where, c.Bond, c.Slashed)
		}
		count++
		if c.Status != types.CHALLENGE_STATUS_OPEN {
			return false, nil
		}
		if a, ok := pending[c.AttestationId]; !ok || a.Worker != c.Worker {
			return true, fmt.Errorf("%s: open on attestation %d, which is not a pending attestation of %s", where, c.AttestationId, c.Worker)
		}
		for name, has := range map[string]func() (bool, error){
			"open-by-attestation index": func() (bool, error) { return k.OpenByAttestation.Has(ctx, collections.Join(c.AttestationId, id)) },
			"open-by-worker index":      func() (bool, error) { return k.OpenByWorker.Has(ctx, collections.Join(worker, id)) },
			"deadline queue":            func() (bool, error) { return k.Deadlines.Has(ctx, collections.Join(c.DeadlineHeight, id)) },
		} {
			if ok, err := has(); err != nil || !ok {
				return true, fmt.Errorf("%s: open but missing from the %s (%v)", where, name, err)
			}
		}
		open++
		bonds = bonds.Add(c.Bond)
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := sameCount(ctx, "challenges-by-worker index", k.ChallengesByWorker, count); err != nil {
		return err
	}
	for name, n := range map[string]func() (int, error){
		"open-by-attestation index": func() (int, error) { return countKeys(ctx, k.OpenByAttestation) },
		"open-by-worker index":      func() (int, error) { return countKeys(ctx, k.OpenByWorker) },
		"deadline queue":            func() (int, error) { return countKeys(ctx, k.Deadlines) },
	} {
		got, err := n()
		if err != nil {
			return err
		}
		if got != open {
			return fmt.Errorf("%s has %d entries for %d open challenges", name, got, open)
		}
	}
	disputeBonds, err := k.checkDisputes(ctx, pending)
	if err != nil {
		return err
	}
	bonds = bonds.Add(disputeBonds...)
	if err := k.checkLogRequests(ctx, pending); err != nil {
		return err
	}
	module := k.ak.GetModuleAddress(types.ModuleName)
	denoms := map[string]bool{p.ChallengeBond.Denom: true}
	for _, c := range bonds {
		denoms[c.Denom] = true
	}
	for denom := range denoms {
		held := k.bk.GetBalance(ctx, module, denom)
		if want := bonds.AmountOf(denom); !held.Amount.Equal(want) {
			return fmt.Errorf("module account holds %s, open challenges' and disputes' bonds are %s%s", held, want, denom)
		}
	}
	return nil
}

// checkDisputes checks that every open dispute is on a pending attestation of its worker, in the
// by-attestation index and the deadline queue at its deadline, and that those indexes hold
// nothing else; it returns the open disputes' bonds.
func (k *Keeper) checkDisputes(ctx context.Context, pending map[uint64]types.Attestation) (sdk.Coins, error) {
	next, err := k.DisputeSeq.Peek(ctx)
	if err != nil {
		return nil, err
	}
	bonds := sdk.NewCoins()
	open := 0
	err = k.Disputes.Walk(ctx, nil, func(id uint64, d types.Dispute) (bool, error) {
		where := fmt.Sprintf("dispute %d", id)
		switch {
		case d.Id != id || id == 0 || id >= next:
			return true, fmt.Errorf("%s: record says id %d; ids must be in [1, next id %d)", where, d.Id, next)
		case d.Bond.IsNegative():
			return true, fmt.Errorf("%s: negative bond %s", where, d.Bond)
		case !d.Open():
			return false, nil
		}
		if a, ok := pending[d.AttestationId]; !ok || a.Worker != d.Worker {
			return true, fmt.Errorf("%s: open on attestation %d, which is not a pending attestation of %s", where, d.AttestationId, d.Worker)
		}
		for name, has := range map[string]func() (bool, error){
			"disputes-by-attestation index": func() (bool, error) { return k.DisputesByAttestation.Has(ctx, collections.Join(d.AttestationId, id)) },
			"disputes-by-worker index":      func() (bool, error) { return k.DisputesByWorker.Has(ctx, collections.Join3(d.Worker, d.ModelId, id)) },
			"dispute deadline queue":        func() (bool, error) { return k.DisputeDeadlines.Has(ctx, collections.Join(d.DeadlineHeight, id)) },
		} {
			if ok, err := has(); err != nil || !ok {
				return true, fmt.Errorf("%s: open but missing from the %s (%v)", where, name, err)
			}
		}
		open++
		bonds = bonds.Add(d.Bond)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if err := sameCount(ctx, "disputes-by-attestation index", k.DisputesByAttestation, open); err != nil {
		return nil, err
	}
	if err := sameCount(ctx, "disputes-by-worker index", k.DisputesByWorker, open); err != nil {
		return nil, err
	}
	if err := sameCount(ctx, "dispute deadline queue", k.DisputeDeadlines, open); err != nil {
		return nil, err
	}
	return bonds, nil
}

// checkLogRequests checks that every log request is in the requested-by index (one per
// attestation and referee), every open one on a pending attestation of its worker, by another
// referee, in the open index and the deadline queue at its deadline, and that those indexes hold
// nothing else.
func (k *Keeper) checkLogRequests(ctx context.Context, pending map[uint64]types.Attestation) error {
	next, err := k.LogRequestSeq.Peek(ctx)
	if err != nil {
		return err
	}
	open, all := 0, 0
	err = k.LogRequests.Walk(ctx, nil, func(id uint64, r types.LogRequest) (bool, error) {
		where := fmt.Sprintf("log request %d", id)
		if r.Id != id || id == 0 || id >= next {
			return true, fmt.Errorf("%s: record says id %d; ids must be in [1, next id %d)", where, r.Id, next)
		}
		all++
		if ok, err := k.LogRequestedBy.Has(ctx, collections.Join(r.AttestationId, r.Referee)); err != nil || !ok {
			return true, fmt.Errorf("%s: missing from the requested-by index (%v)", where, err)
		}
		if !r.Open() {
			return false, nil
		}
		if a, ok := pending[r.AttestationId]; !ok || a.Worker != r.Worker || r.Referee == r.Worker {
			return true, fmt.Errorf("%s: open on attestation %d, which is not a pending attestation of %s, or by the worker itself (%s)", where, r.AttestationId, r.Worker, r.Referee)
		}
		for name, has := range map[string]func() (bool, error){
			"open log requests index": func() (bool, error) { return k.LogRequestsOpen.Has(ctx, collections.Join(r.AttestationId, id)) },
			"log deadline queue":      func() (bool, error) { return k.LogDeadlines.Has(ctx, collections.Join(r.DeadlineHeight, id)) },
		} {
			if ok, err := has(); err != nil || !ok {
				return true, fmt.Errorf("%s: open but missing from the %s (%v)", where, name, err)
			}
		}
		open++
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := sameCount(ctx, "open log requests index", k.LogRequestsOpen, open); err != nil {
		return err
	}
	if err := sameCount(ctx, "requested-by index", k.LogRequestedBy, all); err != nil {
		return err
	}
	return sameCount(ctx, "log deadline queue", k.LogDeadlines, open)
}

// countKeys counts the keys of a key set.
func countKeys[K any](ctx context.Context, set collections.KeySet[K]) (int, error) {
	n := 0
	err := set.Walk(ctx, nil, func(K) (bool, error) {
		n++
		return false, nil
	})
	return n, err
}

// sameCount checks that the key set named name has want keys: with each record found in it, the
// index holds nothing else.
func sameCount[K any](ctx context.Context, name string, set collections.KeySet[K], want int) error {
	got, err := countKeys(ctx, set)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s has %d entries for %d records", name, got, want)
	}
	return nil
}
