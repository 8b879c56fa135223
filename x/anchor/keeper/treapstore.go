package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// treapStore keeps one model's merkle.Treap in the module's store.
type treapStore struct {
	ctx   context.Context
	k     *Keeper
	model uint64
}

func (k *Keeper) treap(ctx context.Context, model uint64) *merkle.Treap {
	return merkle.OpenTreap(model, &treapStore{ctx: ctx, k: k, model: model})
}

func hashOf(b []byte) (merkle.Hash, error) {
	var h merkle.Hash
	if len(b) == 0 {
		return h, nil
	}
	if len(b) != len(h) {
		return h, fmt.Errorf("stored hash is %d bytes", len(b))
	}
	copy(h[:], b)
	return h, nil
}

func hashBytes(h merkle.Hash) []byte {
	if h == (merkle.Hash{}) {
		return nil
	}
	return append([]byte(nil), h[:]...)
}

func (s *treapStore) Node(holder []byte) (*merkle.TreapNode, error) {
	n, err := s.k.Nodes.Get(s.ctx, collections.Join(s.model, holder))
	if errors.Is(err, collections.ErrNotFound) {
		return nil, fmt.Errorf("%w: model %d holder %x", merkle.ErrNotFound, s.model, holder)
	}
	if err != nil {
		return nil, err
	}
	out := &merkle.TreapNode{Holder: n.Holder, Left: n.Left, Right: n.Right}
	if !n.Balance.IsNil() {
		out.Balance = n.Balance.BigInt()
	}
	for _, f := range []struct {
		dst *merkle.Hash
		src []byte
	}{{&out.Leaf, n.Leaf}, {&out.LeftHash, n.LeftHash}, {&out.RightHash, n.RightHash}, {&out.Hash, n.Hash}} {
		if *f.dst, err = hashOf(f.src); err != nil {
			return nil, fmt.Errorf("model %d holder %x: %w", s.model, holder, err)
		}
	}
	return out, nil
}

func (s *treapStore) SetNode(n *merkle.TreapNode) error {
	return s.k.Nodes.Set(s.ctx, collections.Join(s.model, n.Holder), types.TreapNode{
		Holder: n.Holder, Balance: sdkmath.NewIntFromBigInt(n.Balance), Leaf: hashBytes(n.Leaf),
		Left: n.Left, Right: n.Right, LeftHash: hashBytes(n.LeftHash), RightHash: hashBytes(n.RightHash), Hash: hashBytes(n.Hash),
	})
}

func (s *treapStore) DeleteNode(holder []byte) error {
	return s.k.Nodes.Remove(s.ctx, collections.Join(s.model, holder))
}

func (s *treapStore) Meta() ([]byte, uint64, error) {
	m, err := s.k.Metas.Get(s.ctx, s.model)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, 0, nil
	}
	return m.Root, m.Size_, err
}

func (s *treapStore) SetMeta(root []byte, size uint64) error {
	if root == nil {
		return s.k.Metas.Remove(s.ctx, s.model)
	}
	return s.k.Metas.Set(s.ctx, s.model, types.TreapMeta{Root: root, Size_: size})
}
