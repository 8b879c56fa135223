package tile

import "testing"

// Verifying keys come from genesis or governance and proofs from any worker: any bytes parse to
// an error or a key, and verifying any proof bytes against it returns an error or nil, never a
// panic.
func FuzzParseAndVerify(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 688), make([]byte, ProofSize))
	f.Fuzz(func(t *testing.T, vk, proof []byte) {
		if k, err := ParseVerifyingKey(vk); err == nil {
			_ = k.Verify(proof, PublicInputs{})
		}
		_ = Verify(vk, proof, PublicInputs{})
	})
}
