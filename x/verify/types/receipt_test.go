package types_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"math"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/x/verify/types"
)

func newIdentity(t *testing.T, typ int) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateKeyPairWithReader(typ, 2048, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

// TestReceiptSignsEveryField: a receipt verifies as signed, and changing any one field, or the
// signature, makes it fail: a receipt is evidence of exactly one payload sent to one receiver.
func TestReceiptSignsEveryField(t *testing.T) {
	sk, sender := newIdentity(t, crypto.Ed25519)
	_, receiver := newIdentity(t, crypto.Ed25519)
	_, other := newIdentity(t, crypto.Ed25519)
	r := types.Receipt{
		ChainID: "protolearn-1", Model: 3, Direction: types.Forward, ToStage: 2, Step: 41, Microbatch: 167,
		Digest: [32]byte{1, 2, 3}, Sender: sender, Receiver: receiver,
	}
	sig, err := types.SignReceipt(sk, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := types.VerifyReceipt(r, sig); err != nil {
		t.Fatalf("an honest receipt: %v", err)
	}
	for name, edit := range map[string]func(*types.Receipt){
		"chain id":   func(r *types.Receipt) { r.ChainID = "protolearn-2" },
		"model":      func(r *types.Receipt) { r.Model++ },
		"direction":  func(r *types.Receipt) { r.Direction = types.Backward },
		"stage":      func(r *types.Receipt) { r.ToStage++ },
		"step":       func(r *types.Receipt) { r.Step++ },
		"microbatch": func(r *types.Receipt) { r.Microbatch++ },
		"digest":     func(r *types.Receipt) { r.Digest[31] ^= 1 },
		"seq":        func(r *types.Receipt) { r.Seq++ },
		"receiver":   func(r *types.Receipt) { r.Receiver = other },
		"sender":     func(r *types.Receipt) { r.Sender = other }, // another key: the signature is not its
	} {
		forged := r
		edit(&forged)
		if err := types.VerifyReceipt(forged, sig); err == nil {
			t.Errorf("%s changed: the receipt still verifies", name)
		}
	}
	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	if err := types.VerifyReceipt(r, bad); err == nil || !strings.Contains(err.Error(), "not "+sender.String()+"'s") {
		t.Errorf("a flipped signature bit: %v", err)
	}
	if err := types.VerifyReceipt(r, sig[:63]); err == nil || !strings.Contains(err.Error(), "63-byte signature") {
		t.Errorf("a short signature: %v", err)
	}
}

// TestReceiptRefusals: a receipt is signed only by its sender's Ed25519 key, between two
// distinct workers, in a known direction.
func TestReceiptRefusals(t *testing.T) {
	sk, sender := newIdentity(t, crypto.Ed25519)
	ok, receiver := newIdentity(t, crypto.Ed25519)
	ek, ecdsaID := newIdentity(t, crypto.Secp256k1)
	base := types.Receipt{Model: 1, Direction: types.Backward, ToStage: 0, Sender: sender, Receiver: receiver}
	for _, c := range []struct {
		key  crypto.PrivKey
		edit func(*types.Receipt)
		want string
	}{
		{ok, func(*types.Receipt) {}, "the receipt names sender"},
		{sk, func(r *types.Receipt) { r.Direction = 3 }, "direction 3"},
		{sk, func(r *types.Receipt) { r.Receiver = sender }, "cannot send to itself"},
		{sk, func(r *types.Receipt) { r.Receiver = "" }, "peer ids are required"},
		{ek, func(r *types.Receipt) { r.Sender = ecdsaID }, "need an Ed25519 identity"},
	} {
		r := base
		c.edit(&r)
		if _, err := types.SignReceipt(c.key, r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", r, err, c.want)
		}
	}
	// A sender whose peer id embeds no Ed25519 key cannot be verified against.
	r := base
	r.Sender = ecdsaID
	if err := types.VerifyReceipt(r, make([]byte, 64)); err == nil || !strings.Contains(err.Error(), "need an Ed25519 identity") {
		t.Errorf("a secp256k1 sender: %v", err)
	}
}

// BenchmarkReceipt: what a receipt costs per tensor frame, at a payload of 256 KiB (the
// sender's SHA-256 and signature; the receiver's SHA-256 and verification).
func BenchmarkReceipt(b *testing.B) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sender, _ := peer.IDFromPrivateKey(sk)
	_, pk, _ := crypto.GenerateEd25519Key(rand.Reader)
	receiver, _ := peer.IDFromPublicKey(pk)
	body := make([]byte, 256<<10)
	r := types.Receipt{Model: 1, Direction: types.Forward, ToStage: 1, Sender: sender, Receiver: receiver, Digest: sha256.Sum256(body)}
	b.Run("sign", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r.Digest = sha256.Sum256(body)
			if _, err := types.SignReceipt(sk, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, _ := types.SignReceipt(sk, r)
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r.Digest = sha256.Sum256(body)
			if err := types.VerifyReceipt(r, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A receipt's number is held to an attestation's sends from its first to its last, and below
// them down to prev_seq where it names one (the log between the attestation before and its
// first send records none); a number at or below prev_seq, or above the last, is not its to
// judge.
func TestSendSpan(t *testing.T) {
	d := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	a := types.Attestation{Sends: []types.SentPayload{{Seq: 10, Digest: d(1)}, {Seq: 14, Digest: d(2)}}}
	for _, tc := range []struct {
		prev, seq uint64
		digest    []byte
		in, named bool
	}{
		{0, 10, d(1), true, true},
		{0, 10, d(9), true, false},
		{0, 12, d(1), true, false}, // between two sends: none named
		{0, 14, d(2), true, true},
		{0, 15, d(2), false, false},
		{0, 9, d(1), false, false}, // below, with no prev_seq: not its to judge
		{5, 9, d(1), true, false},  // above prev_seq: the log gave none
		{5, 6, d(1), true, false},
		{5, 5, d(1), false, false}, // prev_seq itself is the attestation before's
		{5, 4, d(1), false, false},
	} {
		a.PrevSeq = tc.prev
		in, named := types.SendSpan(a, tc.seq, tc.digest)
		require.Equal(t, [2]bool{tc.in, tc.named}, [2]bool{in, named}, "prev %d seq %d", tc.prev, tc.seq)
	}
	in, _ := types.SendSpan(types.Attestation{PrevSeq: 5}, 6, d(1))
	require.False(t, in, "an attestation naming no sends bounds nothing")
}

// ClaimedUnits takes one step's share of the work units, rounded up, from a range with a log
// gap, without overflowing near the top of the range.
func TestClaimedUnits(t *testing.T) {
	for _, tc := range []struct {
		units, from, to uint64
		gap             bool
		want            uint64
	}{
		{16, 1, 8, false, 16},
		{16, 1, 8, true, 14},
		{15, 1, 8, true, 13}, // 15/8 rounded up: 2
		{2, 1, 1, true, 0},   // a one-step range with a gap is paid nothing
		{math.MaxUint64, 1, 2, true, math.MaxUint64 / 2},
		{math.MaxUint64 - 1, 1, 2, true, (math.MaxUint64 - 1) / 2},
	} {
		a := types.Attestation{WorkUnits: tc.units, StepFrom: tc.from, StepTo: tc.to, LogGap: tc.gap}
		require.Equal(t, tc.want, a.ClaimedUnits(), "%+v", tc)
	}
}
