package dispute

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
)

// Fold is one fold of a log's head between two positions of a timeline: an event (Event and
// its Encoding) or a snapshot of the state (Snapshot, taken before update First).
type Fold struct {
	Event    *replaylog.Event
	Encoding []byte
	Snapshot bool
	First    uint64
}

// Timeline is a log over one attestation's range, as a dispute bisects it: the folds from the
// attestation's (state_root, log_head) to its (end_state_root, end_log_head), and the state
// root and log head at every position between them (position j is after j folds).
type Timeline struct {
	Folds []Fold
	Roots [][32]byte
	Heads [][32]byte

	st    *engine.Stage
	codec boundary.Codec
	limit int64
	// steps replays the log from a snapshot: step k is a segment's snapshot (load) or an
	// event (apply); positions[j] is the step after which position j stands.
	steps     []step
	positions []int
}

type step struct {
	seg *replaylog.Segment // a snapshot to load
	ev  *replaylog.Event   // an event to apply
}

// NewTimeline finds the range from (startRoot, startHead) to (endRoot, endHead) in the log's
// segments (one epoch, in order) and replays it on st (the worker's stage on a deterministic
// backend; its state is replaced) to take the state root at every position. limit bounds a
// snapshot or an average's parameters.
func NewTimeline(st *engine.Stage, codec boundary.Codec, segs []replaylog.Segment, limit int64, startRoot, startHead, endRoot, endHead [32]byte) (*Timeline, error) {
	t := &Timeline{st: st, codec: codec, limit: limit}
	// The head at every step, and where the range starts and ends.
	start, end := -1, -1
	var head [32]byte
	for i := range segs {
		s := &segs[i]
		if i > 0 && s.Head != head {
			return nil, fmt.Errorf("dispute: segment %d does not follow the one before it in the log", i)
		}
		head = logevent.Next(s.Head, logevent.SnapshotDigest(s.First, s.Root))
		t.steps = append(t.steps, step{seg: s})
		if start >= 0 {
			t.Folds = append(t.Folds, Fold{Snapshot: true, First: s.First})
			t.Heads = append(t.Heads, head)
			t.positions = append(t.positions, len(t.steps)-1)
			if head == endHead {
				end = len(t.steps) - 1
				break
			}
		}
		if start < 0 && head == startHead && s.Root == startRoot {
			start = len(t.steps) - 1
			t.Heads, t.positions = [][32]byte{head}, []int{start}
		}
		for j := range s.Events {
			ev := &s.Events[j]
			head = logevent.Next(head, ev.Digest)
			t.steps = append(t.steps, step{ev: ev})
			if start >= 0 {
				enc, err := encode(ev)
				if err != nil {
					return nil, err
				}
				t.Folds = append(t.Folds, Fold{Event: ev, Encoding: enc})
				t.Heads = append(t.Heads, head)
				t.positions = append(t.positions, len(t.steps)-1)
			} else if head == startHead {
				start = len(t.steps) - 1
				t.Heads, t.positions = [][32]byte{head}, []int{start}
			}
			if start >= 0 && head == endHead {
				end = len(t.steps) - 1
				break
			}
		}
		if end >= 0 {
			break
		}
	}
	switch {
	case start < 0:
		return nil, fmt.Errorf("dispute: the log holds no position with the attestation's starting head")
	case end < 0:
		return nil, fmt.Errorf("dispute: the log does not reach the attestation's ending head from its start")
	}
	// The roots: replay from the snapshot before the start.
	t.Roots = make([][32]byte, len(t.positions))
	for j := range t.positions {
		if err := t.replayTo(j); err != nil {
			return nil, err
		}
		r, err := checkpoint.StateRoot(st)
		if err != nil {
			return nil, err
		}
		t.Roots[j] = r
	}
	if t.Roots[0] != startRoot {
		return nil, fmt.Errorf("dispute: the log's state at the attestation's start has another root")
	}
	if t.Roots[len(t.Roots)-1] != endRoot {
		return nil, fmt.Errorf("dispute: the log's replay ends at another root than the attestation's end")
	}
	return t, nil
}

func encode(ev *replaylog.Event) ([]byte, error) {
	var b []byte
	if ev.Update != nil {
		b = logevent.EncodeUpdate(*ev.Update)
	} else {
		b = logevent.EncodeAverage(*ev.Average)
	}
	if sha256.Sum256(b) != ev.Digest {
		return nil, fmt.Errorf("dispute: an event of the log does not encode to its digest")
	}
	return b, nil
}

// replayTo sets the stage to the state at position j: the last snapshot at or before it, then
// the events after that snapshot up to it.
func (t *Timeline) replayTo(j int) error {
	to := t.positions[j]
	from := to
	for t.steps[from].seg == nil {
		from--
	}
	if _, err := checkpoint.Read(bytes.NewReader(t.steps[from].seg.State), t.st, t.limit); err != nil {
		return fmt.Errorf("dispute: the log's snapshot: %w", err)
	}
	for k := from + 1; k <= to; k++ {
		ev := t.steps[k].ev
		if ev.Average != nil {
			if _, err := checkpoint.Average(bytes.NewReader(ev.Average.Params), t.st, t.limit, ev.Average.Weight); err != nil {
				return fmt.Errorf("dispute: an average of the log: %w", err)
			}
			continue
		}
		if _, err := replay.Apply(t.st, t.codec, *ev.Update); err != nil {
			return fmt.Errorf("dispute: an update of the log: %w", err)
		}
	}
	return nil
}

// StateAt is the stage at position j (its state replaced by the log's there).
func (t *Timeline) StateAt(j int) (*engine.Stage, error) {
	if j < 0 || j >= len(t.positions) {
		return nil, fmt.Errorf("dispute: position %d of a range of %d folds", j, len(t.Folds))
	}
	if err := t.replayTo(j); err != nil {
		return nil, err
	}
	return t.st, nil
}
