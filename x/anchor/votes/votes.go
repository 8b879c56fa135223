// Package votes carries checkpoint signatures through CometBFT's vote extensions (ABCI++):
//
//   - ExtendVote (height H): a validator with an Ethereum key signs the stored checkpoint it
//     should sign next (keeper.ToSign) and adds the signature to its precommit.
//   - VerifyVoteExtension: refuses malformed extensions and signatures that do not come from
//     the voter's registered key; lenient otherwise, so that precommits are never lost to a
//     signature that is merely late or redundant.
//   - PrepareProposal (height H+1): the proposer puts the last commit's valid, new signatures
//     into one injected first tx (InjectedPrefix ‖ InjectedSignatures).
//   - ProcessProposal: every validator re-verifies that tx and refuses the block if any
//     signature in it is invalid or repeated.
//   - PreBlock: the signatures are stored with their checkpoints before any tx runs.
//
// No signer process and no fees; a checkpoint is signed within two blocks of being taken. The
// injected tx is not an SDK tx: FinalizeBlock reports it as undecodable, which is harmless.
package votes

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"cosmossdk.io/log"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/protolearn/protolearn/x/anchor/keeper"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// InjectedPrefix starts the proposer's signatures tx. A leading zero byte is field number 0,
// which no protobuf-encoded SDK tx can start with.
var InjectedPrefix = []byte("\x00protolearn/anchor/signatures\x00")

// MaxExtensionBytes bounds a vote extension: one height and one 65-byte signature.
const MaxExtensionBytes = 128

// ExtensionHandler signs checkpoints in this validator's precommits.
type ExtensionHandler struct {
	k      *keeper.Keeper
	key    *ecdsa.PrivateKey
	addr   common.Address
	logger log.Logger
}

// NewExtensionHandler signs with key; a nil key (no key configured) signs nothing.
func NewExtensionHandler(k *keeper.Keeper, key *ecdsa.PrivateKey, logger log.Logger) *ExtensionHandler {
	h := &ExtensionHandler{k: k, key: key, logger: logger.With("module", "x/anchor/votes")}
	if key != nil {
		h.addr = crypto.PubkeyToAddress(key.PublicKey)
	}
	return h
}

// ExtendVote returns this validator's signature of the next checkpoint it should sign, or an
// empty extension. It never fails: an error here would cost the validator its precommit.
func (h *ExtensionHandler) ExtendVote(ctx sdk.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	empty := &abci.ResponseExtendVote{}
	if h.key == nil {
		return empty, nil
	}
	c, ok, err := h.k.ToSign(ctx, h.addr)
	if err != nil {
		h.logger.Error("anchor: choosing a checkpoint to sign", "height", req.Height, "err", err)
		return empty, nil
	}
	if !ok {
		return empty, nil
	}
	var digest [32]byte
	copy(digest[:], c.Hash)
	sig, err := types.Sign(h.key, digest)
	if err != nil {
		h.logger.Error("anchor: signing checkpoint", "checkpoint", c.Height, "err", err)
		return empty, nil
	}
	bz, err := (&types.VoteExtension{Height: c.Height, Signature: sig}).Marshal()
	if err != nil {
		return empty, nil
	}
	return &abci.ResponseExtendVote{VoteExtension: bz}, nil
}

// VerifyVoteExtension refuses an extension that is oversized, undecodable, or signed by a key
// other than the voter's registered one. Everything else is accepted: the proposer drops
// signatures that are stale or already stored.
func (h *ExtensionHandler) VerifyVoteExtension(ctx sdk.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	accept := &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}
	reject := &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}
	if len(req.VoteExtension) == 0 {
		return accept, nil
	}
	v, err := decodeExtension(req.VoteExtension)
	if err != nil {
		h.logger.Info("anchor: refusing a vote extension", "validator", sdk.ConsAddress(req.ValidatorAddress), "err", err)
		return reject, nil
	}
	c, err := h.k.Checkpoints.Get(ctx, v.Height)
	if err != nil {
		return accept, nil //nolint:nilerr // not stored (pruned, or not yet): the proposer drops it
	}
	var digest [32]byte
	copy(digest[:], c.Hash)
	signer, err := types.Recover(digest, v.Signature)
	if err != nil {
		h.logger.Info("anchor: refusing a vote extension", "validator", sdk.ConsAddress(req.ValidatorAddress), "err", err)
		return reject, nil
	}
	// The voter's key, current or retired: a validator that rotated its key signs with the old
	// one the checkpoints whose signing set holds it, and must not lose its precommits for it.
	owns, err := h.k.OwnsKey(ctx, req.ValidatorAddress, signer)
	if err != nil || !owns {
		h.logger.Info("anchor: refusing a vote extension signed by another key", "validator", sdk.ConsAddress(req.ValidatorAddress), "signer", signer)
		return reject, nil
	}
	return accept, nil
}

func decodeExtension(bz []byte) (types.VoteExtension, error) {
	var v types.VoteExtension
	if len(bz) > MaxExtensionBytes {
		return v, fmt.Errorf("vote extension is %d bytes, at most %d", len(bz), MaxExtensionBytes)
	}
	if err := v.Unmarshal(bz); err != nil {
		return v, fmt.Errorf("decode vote extension: %w", err)
	}
	if len(v.Signature) != types.SignatureLength {
		return v, fmt.Errorf("vote extension signature is %d bytes, want %d", len(v.Signature), types.SignatureLength)
	}
	return v, nil
}

// ProposalHandler wraps the app's proposal handlers with the signatures tx.
type ProposalHandler struct {
	k       *keeper.Keeper
	prepare sdk.PrepareProposalHandler
	process sdk.ProcessProposalHandler
	logger  log.Logger
}

// NewProposalHandler wraps prepare and process (the default mempool handlers).
func NewProposalHandler(k *keeper.Keeper, prepare sdk.PrepareProposalHandler, process sdk.ProcessProposalHandler, logger log.Logger) *ProposalHandler {
	return &ProposalHandler{k: k, prepare: prepare, process: process, logger: logger.With("module", "x/anchor/votes")}
}

// PrepareProposal puts the last commit's valid new checkpoint signatures first.
func (h *ProposalHandler) PrepareProposal(ctx sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var injected []byte
	if votes := h.collect(ctx, req.LocalLastCommit.Votes); len(votes) > 0 {
		bz, err := (&types.InjectedSignatures{Signatures: votes}).Marshal()
		if err != nil {
			return nil, fmt.Errorf("anchor: encode signatures: %w", err)
		}
		injected = append(append([]byte(nil), InjectedPrefix...), bz...)
		if int64(len(injected)) > req.MaxTxBytes {
			injected = nil // cannot happen with sane limits; the next proposer carries them
		}
	}
	inner := *req
	inner.MaxTxBytes -= int64(len(injected))
	res, err := h.prepare(ctx, &inner)
	if err != nil || injected == nil {
		return res, err
	}
	res.Txs = append([][]byte{injected}, res.Txs...)
	return res, nil
}

// collect keeps the signatures of the committed votes that CheckVote accepts, once each.
func (h *ProposalHandler) collect(ctx sdk.Context, votes []abci.ExtendedVoteInfo) []types.VoteExtension {
	var out []types.VoteExtension
	seen := map[string]bool{}
	for _, vote := range votes {
		if vote.BlockIdFlag != cmtproto.BlockIDFlagCommit || len(vote.VoteExtension) == 0 {
			continue
		}
		v, err := decodeExtension(vote.VoteExtension)
		if err != nil {
			continue
		}
		addr, _, err := h.k.CheckVote(ctx, v)
		if err != nil {
			continue
		}
		key := fmt.Sprint(v.Height, addr.Hex())
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
	return out
}

// ProcessProposal refuses a block whose signatures tx carries any invalid or repeated
// signature, or that hides a signatures tx anywhere but first.
func (h *ProposalHandler) ProcessProposal(ctx sdk.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	reject := &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}
	votes, ok, err := Injected(req.Txs)
	if err != nil {
		h.logger.Info("anchor: refusing a proposal", "height", req.Height, "err", err)
		return reject, nil
	}
	txs := req.Txs
	if ok {
		if err := h.k.CheckVotes(ctx, votes); err != nil {
			h.logger.Info("anchor: refusing a proposal", "height", req.Height, "err", err)
			return reject, nil
		}
		txs = txs[1:]
	}
	for _, tx := range txs {
		if bytes.HasPrefix(tx, InjectedPrefix) {
			h.logger.Info("anchor: refusing a proposal with a signatures tx out of place", "height", req.Height)
			return reject, nil
		}
	}
	inner := *req
	inner.Txs = txs
	return h.process(ctx, &inner)
}

// Injected decodes the signatures tx if txs starts with one.
func Injected(txs [][]byte) ([]types.VoteExtension, bool, error) {
	if len(txs) == 0 || !bytes.HasPrefix(txs[0], InjectedPrefix) {
		return nil, false, nil
	}
	var s types.InjectedSignatures
	if err := s.Unmarshal(txs[0][len(InjectedPrefix):]); err != nil {
		return nil, false, fmt.Errorf("decode the signatures tx: %w", err)
	}
	if len(s.Signatures) == 0 {
		return nil, false, fmt.Errorf("empty signatures tx")
	}
	return s.Signatures, true, nil
}

// PreBlock stores the block's injected signatures. ProcessProposal has verified them; a
// malformed tx here (impossible in a committed block) is logged and skipped.
func PreBlock(ctx sdk.Context, k *keeper.Keeper, txs [][]byte) error {
	votes, ok, err := Injected(txs)
	if err != nil {
		k.Logger().Error("anchor: skipping a malformed signatures tx", "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return k.AddSignatures(ctx, votes)
}
