package keeper

import (
	"context"
	"fmt"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/anchor/types"
)

type queryServer struct{ k *Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service of x/anchor.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{k: k} }

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q queryServer) AnchorKeys(ctx context.Context, req *types.QueryAnchorKeysRequest) (*types.QueryAnchorKeysResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	keys, page, err := query.CollectionPaginate(ctx, q.k.Keys, req.Pagination, func(op sdk.ValAddress, eth []byte) (types.AnchorKey, error) {
		s, err := q.k.sk.ValidatorAddressCodec().BytesToString(op)
		return types.AnchorKey{ValidatorAddress: s, EthAddress: common.BytesToAddress(eth).Hex()}, err
	})
	if err != nil {
		return nil, err
	}
	return &types.QueryAnchorKeysResponse{Keys: keys, Pagination: page}, nil
}

func (q queryServer) Valset(ctx context.Context, _ *types.QueryValsetRequest) (*types.QueryValsetResponse, error) {
	set, total, err := q.k.Valset(ctx)
	if err != nil {
		return nil, err
	}
	chainID, err := q.k.anchorChainID(ctx)
	if err != nil {
		return nil, err
	}
	res := &types.QueryValsetResponse{Signers: set, TotalPower: total, ChainId: chainID}
	if len(set) > 0 {
		h, err := types.SetHash(set, total)
		if err != nil {
			return nil, err
		}
		res.ValsetHash = h[:]
	}
	return res, nil
}

func (q queryServer) Checkpoint(ctx context.Context, req *types.QueryCheckpointRequest) (*types.QueryCheckpointResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	var c types.Checkpoint
	var err error
	if req.Height == 0 {
		var ok bool
		c, ok, err = q.k.Latest(ctx)
		if err == nil && !ok {
			return nil, errorsmod.Wrap(types.ErrNoCheckpoint, "none taken yet: validators must register keys (tx anchor set-key) and shares must exist")
		}
	} else {
		c, err = q.k.Checkpoints.Get(ctx, req.Height)
		if isNotFound(err) {
			return nil, errorsmod.Wrapf(types.ErrNoCheckpoint, "height %d (pruned, or never taken)", req.Height)
		}
	}
	if err != nil {
		return nil, err
	}
	return &types.QueryCheckpointResponse{Checkpoint: c, Ready: c.Ready()}, nil
}

func (q queryServer) Checkpoints(ctx context.Context, req *types.QueryCheckpointsRequest) (*types.QueryCheckpointsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	page := req.Pagination
	if page == nil {
		page = &query.PageRequest{}
	}
	page.Reverse = true
	cs, res, err := query.CollectionPaginate(ctx, q.k.Checkpoints, page, func(_ uint64, c types.Checkpoint) (types.Checkpoint, error) {
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return &types.QueryCheckpointsResponse{Checkpoints: cs, Pagination: res}, nil
}

// ShareProof proves holder's balance of model against the latest checkpoint: the share trees
// hold exactly that checkpoint's balances (changes since wait in Pending).
func (q queryServer) ShareProof(ctx context.Context, req *types.QueryShareProofRequest) (*types.QueryShareProofResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	holder, err := q.k.ak.AddressCodec().StringToBytes(req.Holder)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "holder %q: %v", req.Holder, err)
	}
	c, ok, err := q.k.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorsmod.Wrap(types.ErrNoCheckpoint, "none taken yet")
	}
	mi := -1
	for i, m := range c.Models {
		if m.ModelId == req.ModelId {
			mi = i
		}
	}
	if mi < 0 {
		return nil, errorsmod.Wrapf(types.ErrNotAnchored, "model %d has no holders at checkpoint %d", req.ModelId, c.Height)
	}
	node, holderProof, err := q.k.treap(ctx, req.ModelId).Proof(holder)
	if err != nil {
		if merkle.IsNotFound(err) {
			return nil, errorsmod.Wrapf(types.ErrNotAnchored, "%s held no share/%d at checkpoint %d", req.Holder, req.ModelId, c.Height)
		}
		return nil, err
	}
	tree, err := buildModelsTree(c.Models)
	if err != nil {
		return nil, err
	}
	modelProof, err := tree.Proof(mi)
	if err != nil {
		return nil, fmt.Errorf("models tree: %w", err)
	}
	res := &types.QueryShareProofResponse{
		CheckpointHeight: c.Height, ModelsRoot: c.ModelsRoot, ModelId: req.ModelId, HolderBytes: holder,
		Balance: sdkmath.NewIntFromBigInt(node.Balance), ModelRoot: c.Models[mi].Root,
	}
	for _, h := range holderProof {
		res.HolderProof = append(res.HolderProof, append([]byte(nil), h[:]...))
	}
	for _, h := range modelProof {
		res.ModelProof = append(res.ModelProof, append([]byte(nil), h[:]...))
	}
	return res, nil
}
