package votes

import (
	"testing"

	"github.com/protolearn/protolearn/x/anchor/types"
)

// Vote extensions and the injected signatures tx come from other validators: any bytes decode
// to an error or a well-formed value, never a panic.
func FuzzDecodeExtension(f *testing.F) {
	good, err := (&types.VoteExtension{Height: 7, Signature: make([]byte, types.SignatureLength)}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(make([]byte, MaxExtensionBytes+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeExtension(b)
		if err == nil && len(v.Signature) != types.SignatureLength {
			t.Fatalf("decoded a %d-byte signature", len(v.Signature))
		}
		_, _, _ = Injected([][]byte{append(append([]byte(nil), InjectedPrefix...), b...)})
	})
}
