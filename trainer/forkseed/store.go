package forkseed

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/protolearn/protolearn/trainer/checkpoint"
)

// Store keeps, on disk, the parameters of the roots a replica committed (one
// checkpoint.Params stream a root): what it serves a fork that starts from one of them. It
// keeps the newest Keep and any root a fork names; the rest are pruned as new ones come.
type Store struct {
	dir  string
	keep int
}

// DefaultKeep is how many of its newest committed roots a replica keeps beyond those a fork
// names: a fork created from the roots a stage agrees on names the newest, or the one before
// when a commit landed meanwhile.
const DefaultKeep = 2

// OpenStore opens (creating it) the store in dir, keeping the newest keep roots (DefaultKeep
// when keep ≤ 0).
func OpenStore(dir string, keep int) (*Store, error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fork seeds: %w", err)
	}
	return &Store{dir: dir, keep: keep}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

type entry struct {
	step uint64
	root [32]byte
	name string
}

// name orders entries by step (zero-padded), then names the root.
func name(step uint64, root [32]byte) string {
	return fmt.Sprintf("step-%020d-%s.params", step, hex.EncodeToString(root[:]))
}

func parseName(n string) (entry, bool) {
	rest, ok := strings.CutPrefix(n, "step-")
	if !ok {
		return entry{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".params")
	if !ok || len(rest) != 20+1+64 || rest[20] != '-' {
		return entry{}, false
	}
	step, err := strconv.ParseUint(rest[:20], 10, 64)
	if err != nil {
		return entry{}, false
	}
	r, err := hex.DecodeString(rest[21:])
	if err != nil {
		return entry{}, false
	}
	return entry{step: step, root: [32]byte(r), name: n}, true
}

// entries lists the stored roots, oldest step first.
func (s *Store) entries() ([]entry, error) {
	des, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fork seeds: %w", err)
	}
	var out []entry
	for _, de := range des {
		if e, ok := parseName(de.Name()); ok && de.Type().IsRegular() {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int {
		if a.step != b.step {
			return cmp.Compare(a.step, b.step)
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// Put stores body, the parameters at step whose weights root is root, atomically.
func (s *Store) Put(step uint64, root [32]byte, body []byte) error {
	if err := checkpoint.WriteFile(filepath.Join(s.dir, name(step, root)), body); err != nil {
		return fmt.Errorf("fork seeds: %w", err)
	}
	return nil
}

// Get returns the parameters whose weights root is root (ok false: not stored).
func (s *Store) Get(root [32]byte) ([]byte, bool, error) {
	es, err := s.entries()
	if err != nil {
		return nil, false, err
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].root == root {
			b, err := os.ReadFile(filepath.Join(s.dir, es[i].name))
			if errors.Is(err, fs.ErrNotExist) {
				continue // pruned meanwhile
			}
			if err != nil {
				return nil, false, fmt.Errorf("fork seeds: %w", err)
			}
			return b, true, nil
		}
	}
	return nil, false, nil
}

// Roots lists the stored roots, oldest step first.
func (s *Store) Roots() ([][32]byte, error) {
	es, err := s.entries()
	if err != nil {
		return nil, err
	}
	out := make([][32]byte, len(es))
	for i, e := range es {
		out[i] = e.root
	}
	return out, nil
}

// Prune deletes every stored root but the newest Keep and those named (the roots forks start
// from), and returns how many it deleted.
func (s *Store) Prune(named func(root [32]byte) bool) (int, error) {
	es, err := s.entries()
	if err != nil {
		return 0, err
	}
	pruned := 0
	for i, e := range es {
		if i >= len(es)-s.keep || (named != nil && named(e.root)) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return pruned, fmt.Errorf("fork seeds: %w", err)
		}
		pruned++
	}
	return pruned, nil
}

// RemoveAll deletes the store and everything in it (a halted model's weights).
func (s *Store) RemoveAll() error {
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("fork seeds: %w", err)
	}
	return nil
}
