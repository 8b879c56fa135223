package testspec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protolearn/protolearn/trainer/data"
)

// CorpusDir writes a tiny corpus, three text files in the training split and one in the
// validation split, to a temporary directory and returns it.
func CorpusDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	text := strings.Repeat("the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n", 60)
	train, val := 0, 0
	for i := 0; train < 3 || val < 1; i++ {
		name := fmt.Sprintf("doc%d.txt", i)
		isVal := data.IsValidation(name, data.DefaultValFraction)
		if (isVal && val >= 1) || (!isVal && train >= 3) {
			continue
		}
		if isVal {
			val++
		} else {
			train++
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("file %d\n%s", i, text)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
