package node

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/forkseed"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// A fork's stages start from its parent's weights (x/models fork_roots), not from the seed:
// the worker fetches its stage's parameters from the parent's replicas (package forkseed),
// and every stage it builds (its own, and those its referee and defender replay on) starts
// from them with a fresh optimizer. That state is the fork's "initial state" which a referee
// checks an epoch against, as the seed's is for a model trained from scratch. A parent's
// replica, in turn, keeps the parameters of the roots it commits and serves them to the
// replicas of its forks' same stage.

// forkSeedLimit bounds a fork seed (a stage's parameters).
const forkSeedLimit = stateLimit

// seedsDir keeps the parameters of the roots this worker committed, for its model's forks.
func seedsDir(c *ChainConfig, out string, model uint64, stage int) string {
	return filepath.Join(stateDir(c, out), "seeds", fmt.Sprintf("model-%d-stage-%d", model, stage))
}

// forkSeedPath keeps a fork's starting parameters once fetched: a restart starts from them
// again without asking the parent's replicas.
func forkSeedPath(c *ChainConfig, out string, model uint64, stage int) string {
	return filepath.Join(stateDir(c, out), "fork-seed", fmt.Sprintf("model-%d-stage-%d.params", model, stage))
}

// seedFork sets n.forkSeed, the file of the parameters the fork's stage starts from, when the model is a
// fork: from --fork-seed, from an earlier fetch, or from the parent's replicas, checked
// against the chain's fork root in every case. A joining worker (--join) takes a replica's
// whole state instead, but its stages to replay on still start from the fork's weights.
func (n *Node) seedFork(ctx context.Context, newStage func() (*engine.Stage, error)) error {
	oc, cfg := n.oc, n.cfg
	if oc == nil || oc.parent == 0 {
		return nil
	}
	if len(oc.forkRoot) != 32 {
		return fmt.Errorf("model %d is a fork of model %d without a 32-byte root for stage %d", cfg.Model, oc.parent, oc.stage)
	}
	root := [32]byte(oc.forkRoot)
	check := func(body []byte, what string) error {
		st, err := newStage()
		if err != nil {
			return err
		}
		if _, err := checkpoint.Read(bytes.NewReader(body), st, forkSeedLimit); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		got, err := checkpoint.WeightsRoot(st)
		if err != nil {
			return err
		}
		if got != root {
			return fmt.Errorf("%s holds stage %d's weights with root %x, but model %d (a fork of model %d) starts that stage from %x", what, oc.stage, got, cfg.Model, oc.parent, root)
		}
		return nil
	}
	cache := forkSeedPath(cfg.Chain, cfg.Out, cfg.Model, oc.stage)
	var body []byte
	switch b, err := os.ReadFile(cache); {
	case err == nil && check(b, cache) == nil:
		body = b
		n.log.Info("fork: starting from the parent's weights fetched before", "parent", oc.parent, "root", hex.EncodeToString(root[:]), "path", cache)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fork seed %s: %w", cache, err)
	}
	if body == nil && cfg.Chain.ForkSeed != "" {
		b, err := paramsOf(cfg.Chain.ForkSeed, newStage)
		if err != nil {
			return fmt.Errorf("--fork-seed %s: %w", cfg.Chain.ForkSeed, err)
		}
		if err := check(b, "--fork-seed "+cfg.Chain.ForkSeed); err != nil {
			return err
		}
		body = b
		n.log.Info("fork: starting from the parent's weights in --fork-seed", "parent", oc.parent, "root", hex.EncodeToString(root[:]))
	}
	if body == nil {
		peers, err := n.parentReplicas(ctx)
		if err != nil {
			return err
		}
		limit, err := paramsSize(newStage)
		if err != nil {
			return err
		}
		b, from, err := forkseed.FetchAny(ctx, n.host, peers, forkseed.Request{Parent: oc.parent, Stage: oc.stage, Root: root}, limit, n.log)
		if err != nil {
			return fmt.Errorf("model %d is a fork of model %d: its stage %d starts from the parent's weights at %x: %w (or give them with --fork-seed)", cfg.Model, oc.parent, oc.stage, root, err)
		}
		if err := check(b, "the weights from "+from.String()); err != nil {
			return err
		}
		body = b
		n.log.Info("fork: fetched the parent's weights", "parent", oc.parent, "from", from, "root", hex.EncodeToString(root[:]), "bytes", len(b))
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		return fmt.Errorf("fork seed: %w", err)
	}
	if err := checkpoint.WriteFile(cache, body); err != nil {
		return fmt.Errorf("fork seed: %w", err)
	}
	n.forkSeed = cache // read again for every stage built, rather than held in memory
	return nil
}

// paramsSize bounds a stage's parameters as a checkpoint stream: a fresh stage's, with room for
// a longer header (a step of up to 20 digits). What a replica sends beyond is refused before it
// is held in memory.
func paramsSize(newStage func() (*engine.Stage, error)) (int64, error) {
	st, err := newStage()
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	if err := checkpoint.Write(&b, st, 0, checkpoint.Params); err != nil {
		return 0, err
	}
	return int64(b.Len()) + 64, nil
}

// paramsOf reads a checkpoint file (Full or Params, of the stage newStage builds) and returns its
// parameters as a Params stream.
func paramsOf(path string, newStage func() (*engine.Stage, error)) ([]byte, error) {
	st, err := newStage()
	if err != nil {
		return nil, err
	}
	if _, err := checkpoint.Load(path, st); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := checkpoint.Write(&b, st, 0, checkpoint.Params); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parentReplicas are the parent's replicas of the stage, in random order: a replica's own
// claim to hold the root (its latest commit) earns it no place in front, where a liar would
// be asked first by every fork replica.
func (n *Node) parentReplicas(ctx context.Context) ([]peer.AddrInfo, error) {
	reps, err := n.oc.client.StageRoster(ctx, n.oc.parent, uint32(n.oc.stage))
	if err != nil {
		return nil, err
	}
	rand.Shuffle(len(reps), func(i, j int) { reps[i], reps[j] = reps[j], reps[i] })
	var out []peer.AddrInfo
	for _, r := range reps {
		if ai, err := chain.ReplicaAddrInfo(r); err == nil && ai.ID != n.host.ID() {
			out = append(out, ai)
		}
	}
	return out, nil
}

// fromForkSeed sets a fresh stage's parameters to the fork's starting ones (nothing on a model
// trained from its seed).
func (n *Node) fromForkSeed(st *engine.Stage) error {
	if n.forkSeed == "" {
		return nil
	}
	if _, err := checkpoint.Load(n.forkSeed, st); err != nil {
		return fmt.Errorf("fork seed: %w", err)
	}
	return nil
}

// deleteSeeds deletes the parent's weights this worker kept for forks and, on a fork, the
// starting weights it fetched: a halted model's weights, as its stage checkpoint is.
func (n *Node) deleteSeeds() {
	if n.cfg.Chain == nil {
		return
	}
	for _, path := range []string{seedsDir(n.cfg.Chain, n.cfg.Out, n.cfg.Model, n.cfg.Stage), forkSeedPath(n.cfg.Chain, n.cfg.Out, n.cfg.Model, n.cfg.Stage)} {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			n.log.Error("halted model: could not delete kept weights; delete them yourself", "path", path, "err", err)
			continue
		}
		n.log.Warn("halted model: deleted kept weights", "path", path)
	}
}

// serveForkSeeds keeps the parameters of the roots the worker commits and serves them to the
// replicas of the same stage of its model's forks.
func (n *Node) serveForkSeeds() error {
	cfg := n.cfg
	store, err := forkseed.OpenStore(seedsDir(cfg.Chain, cfg.Out, cfg.Model, cfg.Stage), 0)
	if err != nil {
		return err
	}
	n.seeds = store
	srv, err := forkseed.Serve(forkseed.ServerConfig{
		Host: n.host, Model: cfg.Model, Stage: cfg.Stage, Source: store.Get, Log: n.log,
		Authorize: func(ctx context.Context, p peer.ID, root [32]byte) error {
			fork, err := n.oc.client.ForkSeated(ctx, cfg.Model, uint32(cfg.Stage), root[:], p.String())
			if err == nil {
				n.log.Info("fork seed: a fork's replica asks for the stage's weights", "fork", fork, "peer", p)
			}
			return err
		},
	})
	if err != nil {
		return err
	}
	n.closers = append(n.closers, srv.Close)
	return nil
}

// keepSeed stores the parameters of a committed root and prunes the store: it keeps the newest
// (forkseed.DefaultKeep) and the roots the model's forks start from, at most maxPinned of them.
// When the chain cannot say which forks there are, it prunes nothing this time.
func (n *Node) keepSeed(ctx context.Context, step uint64, root [32]byte, body []byte) {
	if n.seeds == nil || n.halted.Load() {
		return
	}
	if err := n.seeds.Put(step, root, body); err != nil {
		n.log.Warn("fork seeds: the committed weights not kept; forks starting from them must fetch from another replica", "step", step, "err", err)
		return
	}
	forks, err := n.oc.client.Forks(ctx, n.cfg.Model)
	if err != nil {
		n.log.Warn("fork seeds: not pruned (the model's forks unknown)", "err", err)
		return
	}
	pinned := pinnedRoots(forks, n.cfg.Stage)
	if _, err := n.seeds.Prune(func(r [32]byte) bool { return pinned[r] }); err != nil {
		n.log.Warn("fork seeds: not pruned", "err", err)
	}
}

// maxPinned bounds the roots a replica keeps for forks beyond its newest: creating a fork
// costs only gas, and each pinned root is a copy of the stage's parameters on disk.
const maxPinned = 4

// pinnedRoots are the roots of stage the forks still starting from them name: those of forks
// that train (or are paused) first, as their later replicas need them too, then those
// recruiting, then those awaiting their parent's approval, newer forks first in each; at most
// maxPinned. Forks that cannot train (halted, cancelled, completed) pin nothing.
func pinnedRoots(forks []modelstypes.Model, stage int) map[[32]byte]bool {
	rank := func(st modelstypes.ModelStatus) int {
		switch st {
		case modelstypes.MODEL_STATUS_TRAINING, modelstypes.MODEL_STATUS_PAUSED:
			return 0
		case modelstypes.MODEL_STATUS_RECRUITING:
			return 1
		case modelstypes.MODEL_STATUS_AWAITING_APPROVAL:
			return 2
		}
		return -1
	}
	var live []modelstypes.Model
	for _, f := range forks {
		if rank(f.Status) >= 0 && stage < len(f.ForkRoots) && len(f.ForkRoots[stage]) == 32 {
			live = append(live, f)
		}
	}
	slices.SortFunc(live, func(a, b modelstypes.Model) int {
		if c := cmp.Compare(rank(a.Status), rank(b.Status)); c != 0 {
			return c
		}
		return cmp.Compare(b.Id, a.Id)
	})
	pinned := map[[32]byte]bool{}
	for _, f := range live {
		if len(pinned) == maxPinned {
			break
		}
		pinned[[32]byte(f.ForkRoots[stage])] = true
	}
	return pinned
}
