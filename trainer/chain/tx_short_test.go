package chain

import (
	"strings"
	"testing"
)

// TestTxErrorKeepsTheReason: a refusal quoting kilobytes of the inner message is cut in the
// middle; its start and its reason, at the end, stay.
func TestTxErrorKeepsTheReason(t *testing.T) {
	log := "failed to execute message; message index: 0: " + strings.Repeat("x_root:\"\\007\" ", 500) + ": sender is no registered worker's peer: invalid input receipt"
	got := (&TxError{Codespace: "verify", Code: 27, Log: log}).Error()
	if len(got) > 600 || !strings.HasPrefix(got, "tx refused (verify 27): failed to execute message") || !strings.HasSuffix(got, "invalid input receipt") || !strings.Contains(got, " … ") {
		t.Errorf("%d bytes: %q", len(got), got)
	}
	if short := (&TxError{Codespace: "verify", Code: 27, Log: "a reason"}).Error(); short != "tx refused (verify 27): a reason" {
		t.Errorf("a short log changed: %q", short)
	}
}
