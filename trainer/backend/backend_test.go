package backend

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, name := range []string{"", "go"} {
		b, err := New(name)
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if b.Name() == "" {
			t.Errorf("New(%q): backend without a name", name)
		}
		b.Finalize()
	}
	for name, want := range map[string]string{
		"tpu":        `backend "tpu": accepted values: go, xla`,
		"go:fast":    "the go backend takes no configuration",
		"cuda":       "accepted values",
		"xla:nope.z": "backend xla:nope.z:",
	} {
		if _, err := New(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q): error %v, want one containing %q", name, err, want)
		}
	}
	if !XLA {
		if _, err := New("xla:cuda"); err == nil || !strings.Contains(err.Error(), "-tags xla") {
			t.Errorf("New(xla:cuda) without the xla tag: %v", err)
		}
	}
}
