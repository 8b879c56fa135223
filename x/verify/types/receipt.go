package types

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
)

// Direction is which way a boundary tensor crosses a stage boundary.
type Direction uint8

const (
	// Forward carries activations from stage s to stage s+1.
	Forward Direction = 1
	// Backward carries gradients from stage s+1 to stage s.
	Backward Direction = 2
)

func (d Direction) String() string {
	switch d {
	case Forward:
		return "forward"
	case Backward:
		return "backward"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// MaxPeerIDLen bounds a peer id before it is decoded (base58 decoding is quadratic in the
// length); x/compute registers nothing longer.
const MaxPeerIDLen = 128

// ReceiptSignatureSize is the size of a receipt's signature: an Ed25519 signature by the
// sender's libp2p identity key.
const ReceiptSignatureSize = ed25519.SignatureSize

// receiptDomain separates receipt signatures from anything else a libp2p key signs.
const receiptDomain = "protolearn/boundary-receipt/v2"

// Receipt is what the sender of a boundary tensor signs for its receiver, with its registered
// libp2p identity: "I sent you this payload for this microbatch of this model". The receiver
// keeps it as transferable evidence of its input (a worker cannot claim inputs nobody sent it),
// and it binds the sender to what it sent (a sender cannot sign one payload and commit
// another). The payload itself is not in it, only its SHA-256.
type Receipt struct {
	// ChainID is the chain the swarm trains for (empty off-chain): a receipt of one chain is
	// no evidence on another.
	ChainID string
	Model   uint64
	// Direction and ToStage say which boundary: forward into ToStage (from ToStage−1), or
	// backward into ToStage (from ToStage+1).
	Direction Direction
	ToStage   uint32
	// Step and Microbatch are the swarm's numbering of the microbatch, as in the frame.
	Step, Microbatch uint64
	// Digest is the SHA-256 of the payload encoding the frame carried.
	Digest [32]byte
	// Seq is the sender's number for the payload (its "send"): strictly increasing over
	// everything the sender signs, and recorded in the sender's replay log with the digest
	// (logevent.Update: the send, or the sends before the update), which its attestations
	// commit (x/verify Attestation.sends). A receipt whose number an attestation of its sender
	// covers with another digest, or none, proves the sender signed one payload and logged
	// another (MsgReportEquivocation).
	Seq uint64
	// Sender and Receiver are the two workers' libp2p peer ids.
	Sender, Receiver peer.ID
}

// SignBytes is the receipt's canonical encoding, the message its signature signs: the domain,
// then the fields in order, integers big-endian, strings and ids length-prefixed.
func (r Receipt) SignBytes() []byte {
	b := make([]byte, 0, len(receiptDomain)+len(r.ChainID)+len(r.Sender)+len(r.Receiver)+80)
	b = appendString(b, receiptDomain)
	b = appendString(b, r.ChainID)
	b = binary.BigEndian.AppendUint64(b, r.Model)
	b = append(b, byte(r.Direction))
	b = binary.BigEndian.AppendUint32(b, r.ToStage)
	b = binary.BigEndian.AppendUint64(b, r.Step)
	b = binary.BigEndian.AppendUint64(b, r.Microbatch)
	b = append(b, r.Digest[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = appendString(b, string(r.Sender))
	return appendString(b, string(r.Receiver))
}

func (r Receipt) validate() error {
	if r.Direction != Forward && r.Direction != Backward {
		return fmt.Errorf("receipt: direction %d, want forward (1) or backward (2)", r.Direction)
	}
	if r.Sender == "" || r.Receiver == "" {
		return errors.New("receipt: sender and receiver peer ids are required")
	}
	if r.Sender == r.Receiver {
		return errors.New("receipt: a worker cannot send to itself")
	}
	return nil
}

// SignReceipt signs r with the sender's libp2p identity key, which must be Ed25519 and the
// key of r.Sender.
func SignReceipt(k crypto.PrivKey, r Receipt) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if k.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("receipt: the signing key is %v; boundary receipts need an Ed25519 identity", k.Type())
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	if id != r.Sender {
		return nil, fmt.Errorf("receipt: signing key is %s's, the receipt names sender %s", id, r.Sender)
	}
	return k.Sign(r.SignBytes())
}

// VerifyReceipt checks sig on r against the public key in r.Sender's peer id (an Ed25519 id
// embeds its key).
func VerifyReceipt(r Receipt, sig []byte) error {
	if err := r.validate(); err != nil {
		return err
	}
	if len(sig) != ReceiptSignatureSize {
		return fmt.Errorf("receipt: a %d-byte signature, want %d", len(sig), ReceiptSignatureSize)
	}
	pub, err := r.Sender.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("receipt: sender %s: no public key in its peer id: %w", r.Sender, err)
	}
	if pub.Type() != cryptopb.KeyType_Ed25519 {
		return fmt.Errorf("receipt: sender %s has a %v key; boundary receipts need an Ed25519 identity", r.Sender, pub.Type())
	}
	ok, err := pub.Verify(r.SignBytes(), sig)
	if err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	if !ok {
		return fmt.Errorf("receipt: the signature is not %s's over this receipt", r.Sender)
	}
	return nil
}

// ValidateSends checks an attestation's sends (MsgSubmitAttestation.sends) in themselves:
// 32-byte digests, send numbers strictly increasing, events not decreasing (the log's order).
func ValidateSends(sends []SentPayload) error {
	for i, s := range sends {
		if len(s.Digest) != 32 {
			return fmt.Errorf("sends[%d]: a %d-byte digest, want the payload's 32-byte payload.Digest", i, len(s.Digest))
		}
		if i > 0 && (s.Seq <= sends[i-1].Seq || s.Event < sends[i-1].Event) {
			return fmt.Errorf("sends[%d] (seq %d, event %d) after seq %d, event %d: numbers strictly increase and events do not decrease, in the log's order",
				i, s.Seq, s.Event, sends[i-1].Seq, sends[i-1].Event)
		}
	}
	return nil
}

// SendsAt are the sends a names for event index i of its range.
func SendsAt(a Attestation, i uint64) []SentPayload {
	lo := sort.Search(len(a.Sends), func(j int) bool { return uint64(a.Sends[j].Event) >= i })
	hi := lo
	for hi < len(a.Sends) && uint64(a.Sends[hi].Event) == i {
		hi++
	}
	return a.Sends[lo:hi]
}

// SendsMismatch is why the event at index i of attestation a's range, which records signed as
// what its worker signed (nil: an event that signs nothing, an average or a snapshot), cannot
// be a's ("" when it can): a's sends must name exactly those there, in order (an attestation
// that names none claims its range signed nothing). The chain judges a revealed event by it,
// and a referee steers a dispute onto the first event it fails.
func SendsMismatch(a Attestation, i uint64, signed []logevent.Send) string {
	named := SendsAt(a, i)
	if len(named) != len(signed) {
		return fmt.Sprintf("it records %d payloads signed, but the attestation's sends name %d at event %d", len(signed), len(named), i)
	}
	for j, s := range signed {
		if named[j].Seq != s.Seq || !bytes.Equal(named[j].Digest, s.Digest[:]) {
			return fmt.Sprintf("its signed payload %d is send %d %x, but the attestation's sends name send %d %x there", j, s.Seq, s.Digest[:6], named[j].Seq, named[j].Digest[:min(6, len(named[j].Digest))])
		}
	}
	return ""
}

// SendsBeyond is why a's sends cannot all be events of a range of events events ("" when they
// can).
func SendsBeyond(a Attestation, events uint64) string {
	if n := len(a.Sends); n > 0 && uint64(a.Sends[n-1].Event) >= events {
		return fmt.Sprintf("the attestation's sends name event %d, beyond the %d events of its range", a.Sends[n-1].Event, events)
	}
	return ""
}

// SendSpan says where send number seq falls in a's sends: inside the span from its first to its
// last, or above its prev_seq where it names one (the log between the attestation before it and
// its first send records none) (in), and if so whether they name exactly (seq, digest) there
// (named). A receipt inside the span that is not named is the worker's equivocation
// (MsgReportEquivocation).
func SendSpan(a Attestation, seq uint64, digest []byte) (in, named bool) {
	if len(a.Sends) == 0 || seq > a.Sends[len(a.Sends)-1].Seq {
		return false, false
	}
	if seq < a.Sends[0].Seq {
		return a.PrevSeq > 0 && seq > a.PrevSeq, false
	}
	i := sort.Search(len(a.Sends), func(j int) bool { return a.Sends[j].Seq >= seq })
	return true, a.Sends[i].Seq == seq && bytes.Equal(a.Sends[i].Digest, digest)
}

// SendBetween says whether send number seq falls strictly between a's last send and b's
// first (both must name sends): where, b following a in the worker's log, the log gave none.
func SendBetween(a, b Attestation, seq uint64) bool {
	return len(a.Sends) > 0 && len(b.Sends) > 0 && seq > a.Sends[len(a.Sends)-1].Seq && seq < b.Sends[0].Seq
}

// BoundaryReceiptOf is receipt r with its sender's signature sig as an attestation or a report
// carries it (the fields the chain does not know already), copied.
func BoundaryReceiptOf(r Receipt, sig []byte) *BoundaryReceipt {
	return &BoundaryReceipt{
		SwarmStep: r.Step, Microbatch: r.Microbatch, PayloadDigest: bytes.Clone(r.Digest[:]),
		Sender: r.Sender.String(), Signature: bytes.Clone(sig), Seq: r.Seq,
	}
}
