// Package relayer submits the chain's signed anchor checkpoints to the ShareAnchor contract on
// Ethereum (`protolearnd anchor relay`).
//
// Each step reads the contract's state (last height, current validator set) and the chain's
// stored checkpoints, and submits the newest ready checkpoint signed for this contract (its
// address and Ethereum chain id, which x/anchor's params name) by the contract's current set; when the set changed, that is the checkpoint handing over, and the next step goes on
// from the new set. The contract is the only record the relayer trusts, so a restart, a second
// relayer or a lost receipt never leads to a checkpoint applied twice: at worst a transaction
// reverts as stale, which the relayer sees before sending (gas estimation) and skips. It does
// not send while one of its own transactions is pending.
package relayer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/protolearn/protolearn/x/anchor/bindings"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// Source lists the chain's stored checkpoints, oldest first.
type Source func(ctx context.Context) ([]types.Checkpoint, error)

// Backend is what the relayer needs of an Ethereum client (ethclient.Client, simulated).
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	ChainID(ctx context.Context) (*big.Int, error)
}

// Relayer submits checkpoints from Source to the contract at Address.
type Relayer struct {
	Source  Source
	Backend Backend
	Address common.Address
	// Auth signs and pays; its GasLimit, if set, skips estimation.
	Auth *bind.TransactOpts
	// Wait returns the receipt of a sent tx (default bind.WaitMined).
	Wait   func(ctx context.Context, tx *ethtypes.Transaction) (*ethtypes.Receipt, error)
	Logger *slog.Logger
}

// ErrPending: one of the relayer's own transactions is still unconfirmed.
var ErrPending = errors.New("a transaction from the relayer's account is still pending")

// Step submits at most one checkpoint and returns it (nil when there is nothing to submit).
func (r *Relayer) Step(ctx context.Context) (*types.Checkpoint, error) {
	contract, err := bindings.NewShareAnchor(r.Address, r.Backend)
	if err != nil {
		return nil, err
	}
	pending, err := r.Backend.PendingNonceAt(ctx, r.Auth.From)
	if err != nil {
		return nil, fmt.Errorf("pending nonce: %w", err)
	}
	mined, err := r.Backend.NonceAt(ctx, r.Auth.From, nil)
	if err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	if pending > mined {
		return nil, ErrPending
	}
	call := &bind.CallOpts{Context: ctx}
	last, err := contract.LastHeight(call)
	if err != nil {
		return nil, fmt.Errorf("contract lastHeight: %w", err)
	}
	current, err := contract.CurrentValset(call)
	if err != nil {
		return nil, fmt.Errorf("contract currentValset: %w", err)
	}
	id, err := chainID(ctx, r.Backend)
	if err != nil {
		return nil, err
	}
	cps, err := r.Source(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain checkpoints: %w", err)
	}
	c, err := Next(cps, types.NewDeployment(id, r.Address), last, current)
	if err != nil || c == nil {
		return nil, err
	}
	args, err := Args(*c)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", c.Height, err)
	}
	opts := *r.Auth
	opts.Context = ctx
	tx, err := contract.SubmitCheckpoint(&opts, c.Height, args.Root, args.Signers, args.Powers, args.Total, args.Sigs)
	if err != nil {
		if strings.Contains(err.Error(), "revert") {
			// Someone else submitted it (or a newer one) since we read the contract.
			r.log().Info("anchor relay: checkpoint no longer accepted; re-reading the contract", "height", c.Height, "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("submit checkpoint %d: %w", c.Height, err)
	}
	wait := r.Wait
	if wait == nil {
		wait = func(ctx context.Context, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
			return bind.WaitMined(ctx, r.Backend, tx)
		}
	}
	rcpt, err := wait(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: tx %s: %w", c.Height, tx.Hash(), err)
	}
	if rcpt.Status != ethtypes.ReceiptStatusSuccessful {
		return nil, fmt.Errorf("checkpoint %d: tx %s reverted", c.Height, tx.Hash())
	}
	r.log().Info("anchor relay: checkpoint submitted", "height", c.Height, "tx", tx.Hash(), "gas", rcpt.GasUsed, "signatures", len(args.Sigs))
	return c, nil
}

// Run steps until ctx ends: every interval when idle, at once after a submission, with
// doubling back-off (up to 5 minutes) after errors.
func (r *Relayer) Run(ctx context.Context, interval time.Duration) error {
	backoff := interval
	for {
		c, err := r.Step(ctx)
		wait := interval
		switch {
		case err != nil && ctx.Err() == nil:
			r.log().Warn("anchor relay: step failed; retrying", "err", err, "in", backoff)
			wait, backoff = backoff, min(2*backoff, 5*time.Minute)
		case c != nil:
			wait, backoff = 0, interval
		default:
			backoff = interval
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (r *Relayer) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Next picks the checkpoint to submit to the contract d names: the newest ready one above last,
// signed for d, whose signing set is the contract's current set.
func Next(cps []types.Checkpoint, d types.Deployment, last uint64, current [32]byte) (*types.Checkpoint, error) {
	var pick *types.Checkpoint
	for i := range cps {
		c := &cps[i]
		if c.Height <= last || !c.Ready() || c.Deployment != d {
			continue
		}
		h, err := types.SetHash(c.SigningSet, c.SigningTotal)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %d: %w", c.Height, err)
		}
		if h == current && (pick == nil || c.Height > pick.Height) {
			pick = c
		}
	}
	return pick, nil
}

// SubmitArgs are submitCheckpoint's arguments.
type SubmitArgs struct {
	Root    [32]byte
	Signers []common.Address
	Powers  []uint64
	// Total is the chain's bonded power the next set is part of.
	Total uint64
	Sigs  []bindings.ShareAnchorSig
}

// Args builds submitCheckpoint's arguments from a stored checkpoint, with the fewest
// signatures (largest powers first) that pass 2/3, ascending by index as the contract wants.
func Args(c types.Checkpoint) (SubmitArgs, error) {
	var a SubmitArgs
	copy(a.Root[:], c.ModelsRoot)
	a.Total = c.NextTotal
	next, err := types.EthSigners(c.NextSet)
	if err != nil {
		return a, err
	}
	for _, s := range next {
		a.Signers = append(a.Signers, s.Address)
		a.Powers = append(a.Powers, s.Power)
	}
	type indexed struct {
		index int
		power uint64
		sig   []byte
	}
	var all []indexed
	for _, s := range c.Signatures {
		i := types.SignerIndex(c.SigningSet, common.HexToAddress(s.EthAddress))
		if i < 0 || len(s.Signature) != types.SignatureLength {
			return a, fmt.Errorf("stored signature of %s does not fit the signing set", s.EthAddress)
		}
		all = append(all, indexed{i, c.SigningSet[i].Power, s.Signature})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].power > all[j].power })
	total := c.SigningTotal
	var signed uint64
	var use []indexed
	for _, s := range all {
		if types.MoreThanTwoThirds(signed, total) {
			break
		}
		use = append(use, s)
		signed += s.power
	}
	sort.Slice(use, func(i, j int) bool { return use[i].index < use[j].index })
	for _, s := range use {
		a.Sigs = append(a.Sigs, bindings.ShareAnchorSig{
			Index: big.NewInt(int64(s.index)), R: [32]byte(s.sig[:32]), S: [32]byte(s.sig[32:64]), V: s.sig[64],
		})
	}
	return a, nil
}

// FromQuery is a Source over x/anchor's Checkpoints query (a gRPC client of a node).
func FromQuery(q types.QueryClient) Source {
	return func(ctx context.Context) ([]types.Checkpoint, error) {
		res, err := q.Checkpoints(ctx, &types.QueryCheckpointsRequest{})
		if err != nil {
			return nil, err
		}
		cps := res.Checkpoints
		sort.Slice(cps, func(i, j int) bool { return cps[i].Height < cps[j].Height })
		return cps, nil
	}
}

// Predict is the deployment the account from creates with its next transaction on backend's
// Ethereum chain: what governance names in x/anchor's params before the contract exists, so
// that the chain's checkpoints are signed for it (CREATE addresses follow from the sender and
// its nonce; the deployer must send nothing else in between).
func Predict(ctx context.Context, backend Backend, from common.Address) (types.Deployment, error) {
	id, err := chainID(ctx, backend)
	if err != nil {
		return types.Deployment{}, err
	}
	nonce, err := backend.PendingNonceAt(ctx, from)
	if err != nil {
		return types.Deployment{}, fmt.Errorf("nonce of %s: %w", from, err)
	}
	return types.NewDeployment(id, crypto.CreateAddress(from, nonce)), nil
}

// chainID is backend's Ethereum chain id, which a deployment holds as a uint64: a larger one
// (EIP-155 allows it) is refused rather than truncated, since no checkpoint hashed over the
// truncated id would verify on the contract, which hashes the whole block.chainid.
func chainID(ctx context.Context, backend Backend) (uint64, error) {
	id, err := backend.ChainID(ctx)
	if err != nil {
		return 0, fmt.Errorf("ethereum chain id: %w", err)
	}
	if !id.IsUint64() || id.Sign() == 0 {
		return 0, fmt.Errorf("ethereum chain id %s: anchoring supports chain ids in [1, 2^64)", id)
	}
	return id.Uint64(), nil
}

// Deploy deploys ShareAnchor for chainID (the chain id checkpoints carry: x/anchor's Valset
// query) with cp's signing set as its first validator set, cp being a checkpoint signed for the
// deployment this transaction creates: it refuses to deploy anywhere else, where no checkpoint
// of the chain would verify.
func Deploy(ctx context.Context, auth *bind.TransactOpts, backend Backend, chainID string, cp types.Checkpoint,
	wait func(context.Context, *ethtypes.Transaction) (*ethtypes.Receipt, error),
) (common.Address, error) {
	if cp.Deployment.IsZero() {
		return common.Address{}, fmt.Errorf("checkpoint %d is signed for no contract: governance must first name the deployment (x/anchor params)", cp.Height)
	}
	want, err := Predict(ctx, backend, auth.From)
	if err != nil {
		return common.Address{}, err
	}
	if want != cp.Deployment {
		return common.Address{}, fmt.Errorf("checkpoint %d is signed for %s on Ethereum chain %d, but %s's next transaction creates %s on chain %d: deploy from the account and nonce governance named",
			cp.Height, cp.Deployment.ContractAddress, cp.Deployment.EthereumChainId, auth.From, want.ContractAddress, want.EthereumChainId)
	}
	set, total := cp.SigningSet, cp.SigningTotal
	signers, err := types.EthSigners(set)
	if err != nil {
		return common.Address{}, err
	}
	var addrs []common.Address
	var powers []uint64
	for _, s := range signers {
		addrs = append(addrs, s.Address)
		powers = append(powers, s.Power)
	}
	opts := *auth
	opts.Context = ctx
	addr, tx, _, err := bindings.DeployShareAnchor(&opts, backend, chainID, addrs, powers, total)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy ShareAnchor: %w", err)
	}
	if wait == nil {
		wait = func(ctx context.Context, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
			return bind.WaitMined(ctx, backend, tx)
		}
	}
	rcpt, err := wait(ctx, tx)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy ShareAnchor: tx %s: %w", tx.Hash(), err)
	}
	if rcpt.Status != ethtypes.ReceiptStatusSuccessful {
		return common.Address{}, fmt.Errorf("deploy ShareAnchor: tx %s reverted", tx.Hash())
	}
	if addr != cp.Deployment.Contract() {
		return common.Address{}, fmt.Errorf("deploy ShareAnchor: created %s, not %s (another transaction from %s came first)", addr, cp.Deployment.ContractAddress, auth.From)
	}
	return addr, nil
}
