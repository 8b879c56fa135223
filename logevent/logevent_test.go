package logevent

import (
	"bytes"
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	u := Update{Step: 7, Microbatch: 3, Input: []byte("in"), Tokens: []int32{1, -2, 3}, Grad: []byte("g"), Targets: []int32{4}, Sent: [32]byte{9}, Root: [32]byte{8}}
	a := Average{Weight: 0.5, Params: []byte("p"), From: []byte("peer"), Sig: []byte("sig")}
	for _, tc := range []struct {
		b    []byte
		want Event
	}{
		{EncodeUpdate(u), Event{Update: &u}},
		{EncodeAverage(a), Event{Average: &a}},
	} {
		got, err := Decode(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		tc.want.Digest = sha256.Sum256(tc.b)
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("decoded %+v, want %+v", got, tc.want)
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
		"unknown kind":   {[]byte{3}, "unknown event kind 3"},
		"torn":           {good[:len(good)-1], "unexpected EOF"},
		"trailing bytes": {append(bytes.Clone(good), 0), "1 bytes after the event"},
		"weight above 1": {bad, "averaging weight 2"},
		"huge length":    {append([]byte{KindUpdate}, bytes.Repeat([]byte{0xff}, 40)...), "unexpected EOF"},
	} {
		if _, err := Decode(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(EncodeUpdate(Update{Step: 1, Input: []byte{1}, Tokens: []int32{5}}))
	f.Add(EncodeAverage(Average{Weight: 0.25, Params: []byte{1, 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b)
		if err != nil {
			return
		}
		var again []byte
		if ev.Update != nil {
			again = EncodeUpdate(*ev.Update)
		} else {
			again = EncodeAverage(*ev.Average)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("an event decoded from %x encodes as %x", b, again)
		}
	})
}
