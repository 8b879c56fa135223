package chain

import (
	"os/exec"
	"strings"
	"testing"
)

// The trainer links no chain application and no keeper: it reads the chain over gRPC and signs
// with chaincfg's encoding. (depguard in .golangci.yml says the same for each import.)
func TestTrainerLinksNoChainApp(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/protolearn/protolearn/trainer/cmd/trainer").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		if p == "github.com/protolearn/protolearn/app" || strings.HasPrefix(p, "github.com/protolearn/protolearn/app/") || strings.HasSuffix(p, "/keeper") {
			t.Errorf("the trainer links %s", p)
		}
	}
	t.Logf("the trainer links %d packages", len(deps))
}
