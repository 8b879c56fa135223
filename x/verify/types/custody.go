package types

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// custodyDomain separates custody signatures from anything else a libp2p key signs.
const custodyDomain = "protolearn/log-custody/v1"

// LogCustody is what a replica signs, with its registered libp2p identity, once it holds a
// worker's replay log for one attestation, checked: the log's heads fold from the attestation's
// (state_root, log_head) to its (end_state_root, end_log_head). It answers a log request
// (MsgAnswerLogRequest): the log was available to a replica of the stage, which can audit it and
// dispute what it finds. It names the attestation by id and by everything that fixes the log,
// on one chain: a signature for one attestation answers for no other.
type LogCustody struct {
	ChainID     string
	Attestation uint64
	Model       uint64
	Stage       uint32
	// Worker is the attesting operator's address (bech32), Custodian the signer's peer id.
	Worker    string
	StateRoot []byte
	LogHead   []byte
	EndRoot   []byte
	EndHead   []byte
	Custodian peer.ID
}

// CustodyOf is the custody statement of attestation a on chain chainID, by custodian.
func CustodyOf(chainID string, a Attestation, custodian peer.ID) LogCustody {
	return LogCustody{
		ChainID: chainID, Attestation: a.Id, Model: a.ModelId, Stage: a.Stage, Worker: a.Worker,
		StateRoot: a.StateRoot, LogHead: a.LogHead, EndRoot: a.EndStateRoot, EndHead: a.EndLogHead,
		Custodian: custodian,
	}
}

// SignBytes is the statement's canonical encoding: the domain, then the fields in order,
// integers big-endian, strings and byte strings length-prefixed.
func (c LogCustody) SignBytes() []byte {
	b := appendString(nil, custodyDomain)
	b = appendString(b, c.ChainID)
	b = binary.BigEndian.AppendUint64(b, c.Attestation)
	b = binary.BigEndian.AppendUint64(b, c.Model)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Stage))
	b = appendString(b, c.Worker)
	for _, h := range [][]byte{c.StateRoot, c.LogHead, c.EndRoot, c.EndHead} {
		b = appendString(b, string(h))
	}
	return appendString(b, string(c.Custodian))
}

func (c LogCustody) validate() error {
	for _, h := range [][]byte{c.StateRoot, c.LogHead, c.EndRoot, c.EndHead} {
		if len(h) != 32 {
			return fmt.Errorf("log custody: attestation %d commits no 32-byte roots and heads at its start and end: it fixes no log", c.Attestation)
		}
	}
	if c.Custodian == "" {
		return errors.New("log custody: the custodian's peer id is required")
	}
	return nil
}

// SignCustody signs c with the custodian's libp2p identity key (Ed25519, c.Custodian's).
func SignCustody(k crypto.PrivKey, c LogCustody) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if k.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("log custody: the signing key is %v; custody needs an Ed25519 identity", k.Type())
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("log custody: %w", err)
	}
	if id != c.Custodian {
		return nil, fmt.Errorf("log custody: signing key is %s's, the statement names custodian %s", id, c.Custodian)
	}
	return k.Sign(c.SignBytes())
}

// VerifyCustody checks sig on c against the public key in c.Custodian's peer id.
func VerifyCustody(c LogCustody, sig []byte) error {
	if err := c.validate(); err != nil {
		return err
	}
	if len(sig) != ReceiptSignatureSize {
		return fmt.Errorf("log custody: a %d-byte signature, want %d", len(sig), ReceiptSignatureSize)
	}
	pub, err := c.Custodian.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("log custody: custodian %s: no public key in its peer id: %w", c.Custodian, err)
	}
	if pub.Type() != cryptopb.KeyType_Ed25519 {
		return fmt.Errorf("log custody: custodian %s has a %v key; custody needs an Ed25519 identity", c.Custodian, pub.Type())
	}
	ok, err := pub.Verify(c.SignBytes(), sig)
	if err != nil {
		return fmt.Errorf("log custody: %w", err)
	}
	if !ok {
		return fmt.Errorf("log custody: the signature is not %s's over attestation %d's log", c.Custodian, c.Attestation)
	}
	return nil
}

// Open says whether the request still waits for an answer.
func (r LogRequest) Open() bool { return r.Status == LOG_REQUEST_STATUS_OPEN }
