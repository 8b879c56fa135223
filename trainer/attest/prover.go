package attest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/protolearn/protolearn/circuits/tile"
)

// Prover proves challenged tiles with the Groth16 keys of their shapes, loaded once each from a
// keys directory laid out as the ceremony and `make keys` write it: <dir>/<shape>/proving.key and
// verifying.key.
type Prover struct {
	dir  string
	mu   sync.Mutex
	keys map[string]*tile.Keys
}

// NewProver reads keys from dir as shapes are needed.
func NewProver(dir string) *Prover { return &Prover{dir: dir, keys: make(map[string]*tile.Keys)} }

// Add registers keys directly (tests, or keys already in memory).
func (p *Prover) Add(k *tile.Keys) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[k.Shape.String()] = k
}

// Keys returns the keys of shape s, loading them on first use.
func (p *Prover) Keys(s tile.Shape) (*tile.Keys, error) {
	name := s.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.keys[name]; ok {
		return k, nil
	}
	if p.dir == "" {
		return nil, fmt.Errorf("attest: no keys for %s and no keys directory", name)
	}
	pk, err := os.ReadFile(filepath.Join(p.dir, name, "proving.key"))
	if err != nil {
		return nil, fmt.Errorf("attest: proving key of %s: %w (run `make keys` or the ceremony)", name, err)
	}
	vk, err := os.ReadFile(filepath.Join(p.dir, name, "verifying.key"))
	if err != nil {
		return nil, fmt.Errorf("attest: verifying key of %s: %w", name, err)
	}
	k, err := tile.LoadKeys(s, pk, vk)
	if err != nil {
		return nil, fmt.Errorf("attest: keys of %s in %s: %w", name, p.dir, err)
	}
	p.keys[name] = k
	return k, nil
}

// Prove proves the openings o. It fails, naming the output or weight, when the tile is not
// right: a cheater's fake outputs cannot be proved.
func (p *Prover) Prove(o *tile.Openings) ([]byte, error) {
	k, err := p.Keys(o.Shape)
	if err != nil {
		return nil, err
	}
	return tile.Prove(o, k)
}
