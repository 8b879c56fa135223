package types

import (
	errorsmod "cosmossdk.io/errors"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Bounds on free-form fields, so a worker record stays small in state.
const (
	MaxAcceleratorLen = 64
	MaxMultiaddrLen   = 256
	// MaxPeerIDLen bounds a peer id before it is decoded: base58 decoding takes time quadratic
	// in the length, which gas does not price (an Ed25519 id is 52 characters).
	MaxPeerIDLen = 128
)

// ValidatePeerID checks that s is a libp2p peer id of an Ed25519 identity (whose id embeds the
// key that signs the worker's boundary receipts), in its canonical base58 form: one worker, one
// spelling, so that no second registration can claim the same identity in another form.
func ValidatePeerID(s string) error {
	if s == "" {
		return errorsmod.Wrap(ErrInvalidPeerID, "peer id is empty; pass the id your trainer prints at start (12D3KooW…)")
	}
	if len(s) > MaxPeerIDLen {
		return errorsmod.Wrapf(ErrInvalidPeerID, "a %d-character peer id; at most %d (an Ed25519 id is 52: 12D3KooW…)", len(s), MaxPeerIDLen)
	}
	id, err := peer.Decode(s)
	if err != nil {
		return errorsmod.Wrapf(ErrInvalidPeerID, "%q: %v", s, err)
	}
	if id.String() != s {
		return errorsmod.Wrapf(ErrInvalidPeerID, "%q is not the canonical form of its id; write it as %s", s, id)
	}
	pub, err := id.ExtractPublicKey()
	if err != nil || pub.Type() != cryptopb.KeyType_Ed25519 {
		return errorsmod.Wrapf(ErrInvalidPeerID, "%s is not an Ed25519 identity; the trainer's keys are (trainer peer-id prints one)", s)
	}
	return nil
}

// ValidateMultiaddrs checks every address and their count against the limit.
func ValidateMultiaddrs(addrs []string, limit uint32) error {
	if uint64(len(addrs)) > uint64(limit) {
		return errorsmod.Wrapf(ErrInvalidMultiaddr, "%d addresses given, at most %d allowed", len(addrs), limit)
	}
	seen := make(map[string]struct{}, len(addrs))
	for i, a := range addrs {
		if len(a) > MaxMultiaddrLen {
			return errorsmod.Wrapf(ErrInvalidMultiaddr, "address %d is %d bytes long, at most %d allowed", i, len(a), MaxMultiaddrLen)
		}
		if _, err := ma.NewMultiaddr(a); err != nil {
			return errorsmod.Wrapf(ErrInvalidMultiaddr, "address %d %q: %v (expected e.g. /ip4/1.2.3.4/tcp/4001)", i, a, err)
		}
		if _, dup := seen[a]; dup {
			return errorsmod.Wrapf(ErrInvalidMultiaddr, "address %q given twice", a)
		}
		seen[a] = struct{}{}
	}
	return nil
}

// Validate checks the hardware description.
func (h Hardware) Validate() error {
	switch {
	case h.Accelerator == "":
		return errorsmod.Wrap(ErrInvalidHardware, "accelerator is empty; name the device, e.g. \"H100-80GB\" or \"cpu\"")
	case len(h.Accelerator) > MaxAcceleratorLen:
		return errorsmod.Wrapf(ErrInvalidHardware, "accelerator name is %d bytes long, at most %d allowed", len(h.Accelerator), MaxAcceleratorLen)
	case h.MemoryGib == 0:
		return errorsmod.Wrap(ErrInvalidHardware, "memory_gib must be positive")
	case h.BandwidthMbps == 0:
		return errorsmod.Wrap(ErrInvalidHardware, "bandwidth_mbps must be positive")
	}
	return nil
}
