package replaylog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/protolearn/protolearn/logevent"
)

// Signed is a payload the worker signed, placed in a range of its log as an attestation commits
// it (x/verify SentPayload): Event is the index of the fold whose update records it (0: the
// first fold after the range's starting head; snapshots and averages are folds too, as a
// replay dispute counts them).
type Signed struct {
	Event  uint32
	Seq    uint64
	Digest [32]byte
}

// fold is one fold of the head: the head after it and what its event records as signed.
type fold struct {
	head   [32]byte
	signed []logevent.Send
}

// maxFolds bounds the folds a Log remembers for Sends: far more than one attestation's range.
const maxFolds = 1 << 16

// foldBook is the Log's memory of its recent folds (the compute goroutine appends; an attester
// reads).
type foldBook struct {
	mu    sync.Mutex
	folds []fold
}

func (b *foldBook) add(head [32]byte, signed []logevent.Send) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.folds) >= maxFolds {
		b.folds = append(b.folds[:0], b.folds[maxFolds/2:]...)
	}
	b.folds = append(b.folds, fold{head: head, signed: signed})
}

// Sends are the payloads the log records as signed between heads from and to (each an
// attestation's log_head and end_log_head), with their folds' indices in that range: what the
// attestation commits as its sends. The range must lie in this process's log, recently.
func (l *Log) Sends(from, to [32]byte) ([]Signed, error) {
	l.book.mu.Lock()
	defer l.book.mu.Unlock()
	return sendsIn(l.book.folds, from, to)
}

// RangeSends is Sends over decoded segments (one epoch's, in order, as a referee is served
// them): what an attestation from head from to head to must commit, and the number of folds in
// its range.
func RangeSends(segs []Segment, from, to [32]byte) ([]Signed, error) {
	var folds []fold
	for i, s := range segs {
		if i > 0 && s.Head != segs[i-1].End() {
			return nil, fmt.Errorf("replaylog: segment %d does not follow the one before it", i)
		}
		h := logevent.Next(s.Head, logevent.SnapshotDigest(s.First, s.Root))
		folds = append(folds, fold{head: h})
		for _, ev := range s.Events {
			h = logevent.Next(h, ev.Digest)
			var signed []logevent.Send
			if ev.Update != nil {
				signed = ev.Update.Signed()
			}
			folds = append(folds, fold{head: h, signed: signed})
		}
	}
	return sendsIn(folds, from, to)
}

// sendsIn walks folds from the one whose head is from to the one whose head is to.
func sendsIn(folds []fold, from, to [32]byte) ([]Signed, error) {
	start := -1
	for i, f := range folds {
		if f.head == from {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, errors.New("replaylog: no fold of the log ends at the range's starting head")
	}
	out := []Signed{}
	for i := start + 1; i < len(folds); i++ {
		for _, s := range folds[i].signed {
			out = append(out, Signed{Event: uint32(i - start - 1), Seq: s.Seq, Digest: s.Digest})
		}
		if folds[i].head == to {
			return out, nil
		}
	}
	return nil, errors.New("replaylog: the log does not reach the range's ending head from its start")
}
