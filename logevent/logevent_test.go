package logevent

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	u := Update{
		Step: 7, Microbatch: 3, Input: []byte("in"), Tokens: []int32{1, -2, 3}, Grad: []byte("g"), Targets: []int32{4}, Sent: [32]byte{9}, Root: [32]byte{8},
		Seq: 1_765_000_000_000_002, Sends: []Send{{Seq: 1_765_000_000_000_000, Digest: [32]byte{5}}, {Seq: 1_765_000_000_000_001, Digest: [32]byte{6}}},
	}
	if got := u.Signed(); len(got) != 3 || got[2] != (Send{Seq: u.Seq, Digest: u.Sent}) || got[0] != u.Sends[0] {
		t.Fatalf("Signed: %+v, want the sends before the update, then its gradient", got)
	}
	if got := (&Update{Sends: u.Sends}).Signed(); len(got) != 2 {
		t.Fatalf("Signed of an update that sent nothing back: %+v, want its two sends", got)
	}
	a := Average{Weight: 0.5, Sel: 1, Root: [32]byte{7}, Params: []byte("p"), From: []byte("peer"), Sig: []byte("sig"), ParamsDigest: sha256.Sum256([]byte("p"))}
	claim := a
	claim.Params = nil
	for _, tc := range []struct {
		b      []byte
		want   Event
		digest [32]byte
	}{
		{EncodeUpdate(u), Event{Update: &u}, sha256.Sum256(EncodeUpdate(u))},
		// An average's digest is its claim's, from the log's encoding and from the claim alike.
		{EncodeAverage(a), Event{Average: &a}, sha256.Sum256(EncodeAverageClaim(a))},
		{EncodeAverageClaim(a), Event{Average: &claim}, sha256.Sum256(EncodeAverageClaim(a))},
	} {
		got, err := Decode(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		tc.want.Digest = tc.digest
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("decoded %+v, want %+v", got, tc.want)
		}
	}
	// The claim binds every field of the average: another one is another digest.
	for name, edit := range map[string]func(*Average){
		"weight": func(a *Average) { a.Weight = 0.25 }, "selection": func(a *Average) { a.Sel = 0 },
		"root": func(a *Average) { a.Root[0]++ }, "parameters": func(a *Average) { a.ParamsDigest[0]++ },
		"from": func(a *Average) { a.From = []byte("other") }, "signature": func(a *Average) { a.Sig = []byte("other") },
	} {
		b := a
		edit(&b)
		if bytes.Equal(EncodeAverageClaim(a), EncodeAverageClaim(b)) {
			t.Errorf("the claim does not bind the %s", name)
		}
	}
}

// TestMix: an average's value is the mix rounded once to float32 from exactly rounded products,
// the same on every platform.
func TestMix(t *testing.T) {
	for _, tc := range []struct {
		own, theirs float32
		w           float64
		want        float32
	}{
		{1, 3, 0.5, 2},
		{1, 3, 0, 1},
		{1, 3, 1, 3},
		{-2, 2, 0.25, -1},
		{0.1, 0.2, 0.5, float32(float64(0.5*float64(float32(0.1))) + float64(0.5*float64(float32(0.2))))},
	} {
		if got := Mix(tc.own, tc.theirs, tc.w); got != tc.want {
			t.Errorf("Mix(%v, %v, %v) = %v, want %v", tc.own, tc.theirs, tc.w, got, tc.want)
		}
	}
}

// TestDecodeRefuses: the chain decodes an event a worker reveals, so everything malformed is an
// error, never a panic or a silently different event.
func TestDecodeRefuses(t *testing.T) {
	good := EncodeUpdate(Update{Step: 1, Tokens: []int32{1, 2}})
	bad := EncodeAverage(Average{Weight: 2})
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":          {nil, "unexpected EOF"},
		"unknown kind":   {[]byte{4}, "unknown event kind 4"},
		"torn":           {good[:len(good)-1], "unexpected EOF"},
		"trailing bytes": {append(bytes.Clone(good), 0), "1 bytes after the event"},
		"weight above 1": {bad, "averaging weight 2"},
		"huge length":    {append([]byte{KindUpdate}, bytes.Repeat([]byte{0xff}, 40)...), "unexpected EOF"},
		"huge sends":     {append(good[:len(good)-8], bytes.Repeat([]byte{0xff}, 8)...), "unexpected EOF"},
	} {
		if _, err := Decode(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(EncodeUpdate(Update{Step: 1, Input: []byte{1}, Tokens: []int32{5}}))
	f.Add(EncodeAverage(Average{Weight: 0.25, Params: []byte{1, 2}}))
	f.Add(EncodeAverageClaim(Average{Weight: 0.25, Sel: 1, From: []byte{3}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b)
		if err != nil {
			return
		}
		var again []byte
		switch {
		case ev.Update != nil:
			again = EncodeUpdate(*ev.Update)
		case b[0] == KindAverageClaim:
			again = EncodeAverageClaim(*ev.Average)
		default:
			again = EncodeAverage(*ev.Average)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("an event decoded from %x encodes as %x", b, again)
		}
	})
}
