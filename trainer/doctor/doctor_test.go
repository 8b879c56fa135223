package doctor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/protolearn/protolearn/trainer/p2p"
)

// Without a chain, doctor still says what is wrong with the local set-up, and what to do.
func TestDoctorWithoutAChainSaysWhatToFix(t *testing.T) {
	dir := t.TempDir()
	var got []Result
	failed := Run(context.Background(), Config{KeyPath: filepath.Join(dir, "missing.key"), Backend: "go", Wait: time.Second}, func(r Result) { got = append(got, r) })
	by := map[string]Result{}
	for _, r := range got {
		by[r.Check] = r
	}
	if r := by["peer key"]; r.OK || !strings.Contains(r.Fix, "trainer peer-id --key") {
		t.Errorf("a missing peer key: %+v", r)
	}
	if r := by["hot key"]; r.OK || !strings.Contains(r.Fix, "trainer hot-key") {
		t.Errorf("no hot key: %+v", r)
	}
	if r := by["chain"]; !r.Skipped {
		t.Errorf("the chain is not asked without a hot key: %+v", r)
	}
	if r := by["backend"]; !r.OK {
		t.Errorf("the go backend: %+v", r)
	}
	if failed != 2 {
		t.Errorf("%d failed, want 2 (the keys): %+v", failed, got)
	}

	// With a key, the host listens; a bad listen address says how to give one.
	key := filepath.Join(dir, "peer.key")
	if _, err := p2p.LoadOrCreateKey(key); err != nil {
		t.Fatal(err)
	}
	got = nil
	Run(context.Background(), Config{KeyPath: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Wait: time.Second}, func(r Result) { got = append(got, r) })
	for _, r := range got {
		if r.Check == "listen" && !r.OK {
			t.Errorf("listen: %+v", r)
		}
	}
	got = nil
	Run(context.Background(), Config{KeyPath: key, Listen: []string{"not-a-multiaddr"}, Wait: time.Second}, func(r Result) { got = append(got, r) })
	for _, r := range got {
		if r.Check == "listen" && (r.OK || !strings.Contains(r.Fix, "--listen")) {
			t.Errorf("a bad listen address: %+v", r)
		}
	}
}
