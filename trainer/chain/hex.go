package chain

import (
	"encoding/hex"
	"fmt"
)

// hexBytes decodes TxResponse.Data, which the SDK hex-encodes.
func hexBytes(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("chain: tx data %q: %w", s, err)
	}
	return b, nil
}
