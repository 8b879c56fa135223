package swarm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/data"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/internal/testbackend"
	"github.com/protolearn/protolearn/trainer/roster"
	"github.com/protolearn/protolearn/trainer/wire"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// rogue opens a pipeline stream from h to target, writes raw, and returns
// the reject reason the worker answers with (empty if none came) and
// whether the stream then ended.
func rogue(t *testing.T, h host.Host, target host.Host, raw []byte) (reason string, ended bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: target.ID(), Addrs: target.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, target.ID(), wire.Protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if _, err := s.Write(raw); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(s)
	f, err := wire.Read(r, 0)
	if err != nil {
		return "", true
	}
	if f.Type == wire.Reject {
		reason = string(f.Body)
	}
	_, err = wire.Read(r, 0)
	return reason, err != nil
}

func frameBytes(t *testing.T, f *wire.Frame) []byte {
	t.Helper()
	b, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedBy is the encoding of tensor frame f with the receipt signature key gives it for the
// receipt r (by default, the honest receipt of f from the key's peer to receiver).
func signedBy(t *testing.T, key crypto.PrivKey, receiver peer.ID, f *wire.Frame, edit func(*verifytypes.Receipt)) []byte {
	t.Helper()
	sender, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := (&Worker{}).receipt(f, sender, receiver) // garbage bodies have no digest: signed over zero
	if edit != nil {
		edit(&r)
	}
	sig, err := verifytypes.SignReceipt(key, r)
	if err != nil {
		t.Fatal(err)
	}
	sf := *f
	sf.Sig = sig
	return frameBytes(t, &sf)
}

func hostKey(h host.Host) crypto.PrivKey { return h.Peerstore().PrivKey(h.ID()) }

// TestHostilePeersCutOff: peers sending an oversize frame, a payload of
// the wrong shape, a NaN, garbage, a frame for another model, or a frame whose
// receipt signature is missing, another peer's, made for another receiver or
// for another payload are each cut off with a logged reason; a frame's header is judged before its body is
// read (a bad header is refused while the body is still unsent), and a
// frame above go-libp2p's default stream memory is admitted by the
// resource manager (the pipeline's limits) and then judged; a peer that is
// not registered for a neighbouring stage has its stream refused when it
// opens. The swarm keeps training and no hostile input reaches the engine;
// the worker hands over a verified receipt for every frame it accepted, and for no other.
func TestHostilePeersCutOff(t *testing.T) {
	const steps, m = 6, 4
	const nRogues = 13
	rogues := make([]host.Host, nRogues)
	var extra []roster.Member
	for i := range rogues {
		rogues[i] = newHost(t)
		extra = append(extra, roster.Member{Peer: rogues[i].ID(), Stage: 0})
	}
	sw, hosts := newSwarm(t, []int{1, 1, 1}, extra...)
	var target *node
	var receiptsMu sync.Mutex
	var receipts []verifytypes.Receipt
	var sigs [][]byte
	for s := range hosts {
		var mod func(*Config)
		if s == 1 {
			mod = func(c *Config) {
				c.MaxSendSkew = time.Minute
				c.OnReceipt = func(r verifytypes.Receipt, sig []byte) {
					receiptsMu.Lock()
					defer receiptsMu.Unlock()
					receipts, sigs = append(receipts, r), append(sigs, sig)
				}
			}
		}
		nd := sw.start(hosts[s][0], s, steps, m, mod)
		if s == 1 {
			target = nd
		}
	}
	codec := target.w.codec
	shape := codec.ActivationShape(rows, sw.spec.SeqLen)
	good := func(mut func(*payload.Payload)) []byte {
		n := int(shape.Batch * shape.Seq)
		pl := &payload.Payload{
			Kind: shape.Kind, DType: shape.DType, Compressed: shape.Compressed, Batch: shape.Batch, Seq: shape.Seq,
			Width: shape.Width, Vocab: shape.Vocab, Data: make([]float32, n*int(shape.Width)), IDs: make([]int32, n),
		}
		if mut != nil {
			mut(pl)
		}
		b, err := payload.Encode(pl)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	act := func(body []byte) *wire.Frame {
		return &wire.Frame{Type: wire.Activations, Model: model, Stage: 1, Microbatch: 1 << 40, Seq: uint64(time.Now().UnixMicro()), Body: body}
	}
	to := target.h.ID()
	signed := func(from host.Host, f *wire.Frame) []byte { return signedBy(t, hostKey(from), to, f, nil) }
	oversize := binary.AppendUvarint(nil, wire.DefaultMaxSize+1)
	wrongShape := signed(rogues[1], act(good(func(p *payload.Payload) {
		p.Seq--
		p.Data = p.Data[:int(p.Batch*p.Seq*p.Width)]
		p.IDs = p.IDs[:p.Batch*p.Seq]
	})))
	nanBody := good(nil)
	// The values follow the header and the one-byte ids (vocabulary 256).
	binary.LittleEndian.PutUint32(nanBody[payload.HeaderSize+int(shape.Batch*shape.Seq):], math.Float32bits(float32(math.NaN())))
	nan := signed(rogues[2], act(nanBody))
	// Finite coordinates the input tile cannot hold (|C| ≥ 2^15): the receiver could never prove
	// the layer it would train on them.
	huge := signed(rogues[11], act(good(func(p *payload.Payload) { p.Data[0] = 1e6 })))
	otherModel := act(good(nil))
	otherModel.Model = model + 1
	// Only the length prefix and header of a 1 MiB frame for another model: the body never comes.
	announced := act(make([]byte, 1<<20))
	announced.Model = model + 1
	headerOnly := signed(rogues[5], announced)
	headerOnly = headerOnly[:len(headerOnly)-(1<<20)]
	// 20 MiB of garbage where a payload belongs: above go-libp2p's default stream memory (16 MiB).
	big := signed(rogues[6], act(bytes.Repeat([]byte{0xee}, 20<<20)))
	// Receipts: a frame written without a signature (its first 64 payload bytes read as one),
	// signed with another peer's key, signed for another receiver, signed for another payload.
	valid := act(good(nil))
	unsigned := binary.AppendUvarint(nil, uint64(wire.HeaderSize+len(valid.Body)))
	unsigned = append(unsigned, frameBytes(t, &wire.Frame{Type: wire.Ack, Model: model, Stage: 1, Microbatch: 1 << 40})[1:]...)
	unsigned[len(binary.AppendUvarint(nil, uint64(wire.HeaderSize+len(valid.Body))))+4] = byte(wire.Activations)
	unsigned = append(unsigned, valid.Body...)
	otherKey := signedBy(t, hostKey(rogues[0]), to, valid, nil)
	otherReceiver := signedBy(t, hostKey(rogues[9]), to, valid, func(r *verifytypes.Receipt) { r.Receiver = hosts[2][0].ID() })
	tampered := signedBy(t, hostKey(rogues[10]), to, act(good(func(p *payload.Payload) { p.Data[0] = 1 })), nil)
	tampered = append(tampered[:len(tampered)-len(valid.Body)], valid.Body...)
	// A send number an hour old: one an attestation of the sender's may have made final, or one
	// its log never gave (x/verify "What a worker signs is what it logs").
	stale := act(good(nil))
	stale.Seq -= uint64(time.Hour.Microseconds())
	cases := []struct {
		name string
		from host.Host
		raw  []byte
		want string
	}{
		{"oversize frame", rogues[0], oversize, "too large"},
		{"wrong shape", rogues[1], wrongShape, "unexpected shape"},
		{"NaN payload", rogues[2], nan, "non-finite"},
		{"coordinates out of the input tile's range", rogues[11], huge, "boundary coordinates"},
		{"garbage", rogues[3], []byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 8)), "malformed"},
		{"another model", rogues[4], signed(rogues[4], otherModel), "model 10"},
		{"a bad header, its body unsent", rogues[5], headerOnly, "model 10"},
		{"20 MiB of garbage", rogues[6], big, "microbatch"},
		{"no receipt signature", rogues[7], unsigned, "payload: malformed"}, // its payload read 64 bytes late
		{"another peer's signature", rogues[8], otherKey, "receipt: the signature is not"},
		{"a receipt for another receiver", rogues[9], otherReceiver, "receipt: the signature is not"},
		{"a receipt for another payload", rogues[10], tampered, "receipt: the signature is not"},
		{"a send number far from the clock", rogues[12], signed(rogues[12], stale), "from this worker's clock"},
	}
	for _, c := range cases {
		reason, ended := rogue(t, c.from, target.h, c.raw)
		if !strings.Contains(reason, c.want) || !ended {
			t.Errorf("%s: reject reason %q (stream ended: %v), want a reason mentioning %q and the stream cut", c.name, reason, ended, c.want)
		}
		if _, banned := target.w.bannedUntil(c.from.ID()); !banned {
			t.Errorf("%s: the peer is not banned", c.name)
		}
	}
	// A peer registered for no neighbouring stage: its stream is reset when it opens, before a
	// byte is read, with no reply (and no ban: the roster may lag behind a new replica).
	stranger := newHost(t)
	if reason, ended := rogue(t, stranger, target.h, signed(stranger, act(good(nil)))); reason != "" || !ended {
		t.Errorf("unregistered peer: reason %q, ended %v; want a reset without a reply", reason, ended)
	}
	if _, banned := target.w.bannedUntil(stranger.ID()); banned {
		t.Error("an unregistered peer was banned")
	}
	// A banned peer's next stream is refused at once.
	if reason, ended := rogue(t, rogues[1], target.h, signed(rogues[1], act(good(nil)))); reason != "" || !ended {
		t.Errorf("banned peer's new stream: reason %q, ended %v; want a reset without a reply", reason, ended)
	}
	sw.wait(3 * time.Minute)
	n := steps * m
	if got := sw.lossesInOrder(); len(got) != n || sw.dups != 0 {
		t.Fatalf("%d losses (%d twice), want %d: the swarm must keep training", len(got), sw.dups, n)
	}
	if st := target.w.Status(); st.Updates != uint64(n) {
		t.Errorf("stage 1 made %d updates, want %d: hostile input reached the engine", st.Updates, n)
	}
	// One verified receipt per accepted frame: n activations from stage 0, n gradients from
	// stage 2, each signed by that neighbour for this worker; none from a rogue.
	receiptsMu.Lock()
	defer receiptsMu.Unlock()
	from := map[verifytypes.Direction]peer.ID{verifytypes.Forward: hosts[0][0].ID(), verifytypes.Backward: hosts[2][0].ID()}
	count := map[verifytypes.Direction]int{}
	for i, r := range receipts {
		if err := verifytypes.VerifyReceipt(r, sigs[i]); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		if r.Sender != from[r.Direction] || r.Receiver != to || r.ToStage != 1 || r.Model != model {
			t.Errorf("receipt %d: %+v", i, r)
		}
		count[r.Direction]++
	}
	if count[verifytypes.Forward] != n || count[verifytypes.Backward] != n {
		t.Errorf("receipts: %d forward and %d backward, want %d each", count[verifytypes.Forward], count[verifytypes.Backward], n)
	}
}

// TestNewChecksTheSeat: a worker registered for another stage, or a stage-0
// worker without a seat, is refused; a later stage may start before its seat
// (a joining replica), and its neighbours refuse its frames until then.
func TestNewChecksTheSeat(t *testing.T) {
	sw, hosts := newSwarm(t, []int{1, 1, 1})
	sampler, err := testCorpus(t).Sampler(data.Train, sw.spec.SeqLen, rows, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := sw.roster.Roster(context.Background())
	try := func(h host.Host, stage int) error {
		st, err := engine.New(testbackend.Go(), sw.spec, stage, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := New(context.Background(), Config{Host: h, Model: model, Stage: st, Roster: roster.Static{R: r}, Data: sampler, Rows: rows, Log: testLog(t)})
		if err == nil {
			w.Close()
		}
		return err
	}
	if err := try(hosts[0][0], 1); err == nil || !strings.Contains(err.Error(), "registered for stage 0") {
		t.Errorf("a stage-0 member as stage 1: %v", err)
	}
	if err := try(newHost(t), 0); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("stage 0 without a seat: %v", err)
	}
	if err := try(newHost(t), 2); err != nil {
		t.Errorf("a last-stage worker waiting for its seat: %v", err)
	}
}
