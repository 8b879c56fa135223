package dispute

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
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
// root and log head at every position between them (position j is after j folds). The states
// are a replay from the snapshot before the range, continuously: a later snapshot in the log is
// the worker's word for its state, which a referee does not take (a cheat before it would pass).
type Timeline struct {
	Folds []Fold
	Roots [][32]byte
	Heads [][32]byte

	newStage func() (*engine.Stage, error)
	codec    boundary.Codec
	limit    int64
	mix      Mixer
	base     *replaylog.Segment
	// events are the events from base's snapshot on; applied[j] how many of them stand before
	// position j.
	events  []*replaylog.Event
	applied []int
	// sent is the digest of the gradient the replay sent back at each update (zero on stage 0).
	sent map[*replaylog.Event][32]byte
}

// Mixer applies a logged average to a stage (the protocol's: MixAverage).
type Mixer func(st *engine.Stage, a *replaylog.Average, limit int64) error

// MixAverage is the protocol's average, checkpoint.Average of the logged parameters at the
// logged weight.
func MixAverage(st *engine.Stage, a *replaylog.Average, limit int64) error {
	_, err := checkpoint.Average(bytes.NewReader(a.Params), st, limit, a.Weight)
	return err
}

// NewTimeline finds the range from (startRoot, startHead) to the head endHead in the log's
// segments (one epoch, in order) and replays it on stages newStage makes (the worker's stage on
// a deterministic backend) to take the state root at every position, averages applied by mix
// (nil: MixAverage). limit bounds a snapshot or an average's parameters.
func NewTimeline(newStage func() (*engine.Stage, error), codec boundary.Codec, segs []replaylog.Segment, limit int64, mix Mixer, startRoot, startHead, endHead [32]byte) (*Timeline, error) {
	if mix == nil {
		mix = MixAverage
	}
	t := &Timeline{newStage: newStage, codec: codec, limit: limit, mix: mix, sent: map[*replaylog.Event][32]byte{}}
	started, ended := false, false
	var head [32]byte
	mark := func() {
		t.Heads = append(t.Heads, head)
		t.applied = append(t.applied, len(t.events))
	}
	for i := range segs {
		s := &segs[i]
		if i > 0 && s.Head != head {
			return nil, fmt.Errorf("dispute: segment %d does not follow the one before it in the log", i)
		}
		head = logevent.Next(s.Head, logevent.SnapshotDigest(s.First, s.Root))
		switch {
		case started:
			t.Folds = append(t.Folds, Fold{Snapshot: true, First: s.First})
			mark()
			ended = head == endHead
		case head == startHead && s.Root == startRoot:
			started, t.base, t.events = true, s, nil
			mark()
		default:
			t.base, t.events = s, nil // the latest snapshot before the start
		}
		for j := 0; j < len(s.Events) && !ended; j++ {
			ev := &s.Events[j]
			head = logevent.Next(head, ev.Digest)
			t.events = append(t.events, ev)
			if !started {
				if head == startHead {
					started = true
					mark()
				}
				continue
			}
			enc, err := encode(ev)
			if err != nil {
				return nil, err
			}
			t.Folds = append(t.Folds, Fold{Event: ev, Encoding: enc})
			mark()
			ended = head == endHead
		}
		if ended {
			break
		}
	}
	switch {
	case !started:
		return nil, fmt.Errorf("dispute: the log holds no position with the attestation's starting head")
	case !ended:
		return nil, fmt.Errorf("dispute: the log does not reach the attestation's ending head from its start")
	}
	// The roots, by one replay from the base snapshot.
	st, err := t.load()
	if err != nil {
		return nil, err
	}
	done := 0
	for j, n := range t.applied {
		for ; done < n; done++ {
			if err := t.apply(st, t.events[done]); err != nil {
				return nil, err
			}
		}
		r, err := checkpoint.StateRoot(st)
		if err != nil {
			return nil, err
		}
		t.Roots = append(t.Roots, r)
		if j == 0 && r != startRoot {
			return nil, fmt.Errorf("dispute: the log's state at the attestation's start has another root")
		}
	}
	return t, nil
}

// ReachesEnd reports whether the replay ends at root: for the worker's own log it must (its
// engine made the attested end), and a referee's replay of a cheater's log does not.
func (t *Timeline) ReachesEnd(root [32]byte) bool { return t.Roots[len(t.Roots)-1] == root }

// encode is the event as the chain takes it: an update's encoding, an average's claim (whose
// SHA-256 is the digest either way).
func encode(ev *replaylog.Event) ([]byte, error) {
	var b []byte
	if ev.Update != nil {
		b = logevent.EncodeUpdate(*ev.Update)
	} else {
		b = logevent.EncodeAverageClaim(*ev.Average)
	}
	if sha256.Sum256(b) != ev.Digest {
		return nil, fmt.Errorf("dispute: an event of the log does not encode to its digest")
	}
	return b, nil
}

// load is a fresh stage holding the base snapshot's state (a stage that replayed before may hold
// optimizer state the snapshot does not: a fresh one holds exactly the snapshot).
func (t *Timeline) load() (*engine.Stage, error) {
	st, err := t.newStage()
	if err != nil {
		return nil, err
	}
	if _, err := checkpoint.Read(bytes.NewReader(t.base.State), st, t.limit); err != nil {
		return nil, fmt.Errorf("dispute: the log's snapshot: %w", err)
	}
	return st, nil
}

func (t *Timeline) apply(st *engine.Stage, ev *replaylog.Event) error {
	if ev.Average != nil {
		if err := t.mix(st, ev.Average, t.limit); err != nil {
			return fmt.Errorf("dispute: an average of the log: %w", err)
		}
		return nil
	}
	sent, err := replay.Apply(st, t.codec, *ev.Update)
	if err != nil {
		return fmt.Errorf("dispute: an update of the log: %w", err)
	}
	t.sent[ev] = sent
	return nil
}

// SentDiffers reports whether fold i is an update whose logged gradient sent back (the digest
// its receiver signed) is not the one the replay sends.
func (t *Timeline) SentDiffers(i int) bool {
	if i < 0 || i >= len(t.Folds) || t.Folds[i].Event == nil || t.Folds[i].Event.Update == nil {
		return false
	}
	ev := t.Folds[i].Event
	sent, ok := t.sent[ev]
	return ok && sent != ev.Update.Sent
}

// FirstSentDiffers is the first fold whose gradient sent back differs (SentDiffers), or −1.
func (t *Timeline) FirstSentDiffers() int {
	for i := range t.Folds {
		if t.SentDiffers(i) {
			return i
		}
	}
	return -1
}

// StateAt is a stage holding the replay's state at position j.
func (t *Timeline) StateAt(j int) (*engine.Stage, error) {
	if j < 0 || j >= len(t.applied) {
		return nil, fmt.Errorf("dispute: position %d of a range of %d folds", j, len(t.Folds))
	}
	st, err := t.load()
	if err != nil {
		return nil, err
	}
	for _, ev := range t.events[:t.applied[j]] {
		if err := t.apply(st, ev); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Advance applies fold i to st, a stage at position i, leaving it at position i+1.
func (t *Timeline) Advance(st *engine.Stage, i int) error {
	if i < 0 || i >= len(t.Folds) {
		return fmt.Errorf("dispute: fold %d of a range of %d", i, len(t.Folds))
	}
	if t.Folds[i].Snapshot {
		return nil // a snapshot changes no state
	}
	return t.apply(st, t.Folds[i].Event)
}

// foldCase is one side's view of a dispute over a timeline: the replay around its disputed
// fold, made once: the reference run of its update, and the state's tensors before and after
// it (one replay from the base snapshot to the fold, advanced by the fold itself).
type foldCase struct {
	tl *Timeline
	// steer, when not −1, is the fold the referee steers the log's bisection onto.
	steer int
	// dataRow, when not −1, is the row of the update at steer whose data is not the dataset's,
	// shown to the chain once (dataShown) when that update's trace is bisected.
	dataRow       int
	dataShown     bool
	event         int
	ref           *Reference
	st            *engine.Stage // the replay before the fold, until states advances it
	before, after []statecommit.Tensor
}

func newFoldCase(tl *Timeline) *foldCase { return &foldCase{tl: tl, event: -1, steer: -1, dataRow: -1} }

// reference is the reference run of the update at fold i, from the replay's state before it, the
// stage training with NAdam configured by cfg.
func (c *foldCase) reference(i int, codec boundary.Codec, cfg optim.NAdamConfig) (*Reference, error) {
	if c.ref != nil && c.event == i {
		return c.ref, nil
	}
	u, st, err := c.updateAt(i)
	if err != nil {
		return nil, err
	}
	ref, err := NewReference(st, codec, cfg, *u)
	if err != nil {
		return nil, err
	}
	c.ref, c.event, c.st, c.before, c.after = ref, i, st, nil, nil
	return ref, nil
}

// updateAt is the update at fold i and a stage holding the replay's state before it.
func (c *foldCase) updateAt(i int) (*replay.Update, *engine.Stage, error) {
	t := c.tl
	if i < 0 || i >= len(t.Folds) || t.Folds[i].Event == nil || t.Folds[i].Event.Update == nil {
		return nil, nil, fmt.Errorf("dispute: fold %d is no update", i)
	}
	st, err := t.StateAt(i)
	return t.Folds[i].Event.Update, st, err
}

// sent is the gradient payload the replay's update at fold i sends back.
func (c *foldCase) sent(i int) ([]byte, error) {
	u, st, err := c.updateAt(i)
	if err != nil {
		return nil, err
	}
	return replay.ApplySent(st, c.tl.codec, *u)
}

// average is fold i's average, nil if it is none.
func (c *foldCase) average(i int) *replaylog.Average {
	if i < 0 || i >= len(c.tl.Folds) || c.tl.Folds[i].Event == nil {
		return nil
	}
	return c.tl.Folds[i].Event.Average
}

// states are the replay's state before and after fold i, as tensors.
func (c *foldCase) states(i int, codec boundary.Codec, cfg optim.NAdamConfig) (before, after []statecommit.Tensor, err error) {
	if c.average(i) != nil {
		if c.event != i || c.after == nil {
			st, err := c.tl.StateAt(i)
			if err != nil {
				return nil, nil, err
			}
			if c.before, err = checkpoint.Tensors(st, checkpoint.Full); err != nil {
				return nil, nil, err
			}
			if err := c.tl.Advance(st, i); err != nil {
				return nil, nil, err
			}
			if c.after, err = checkpoint.Tensors(st, checkpoint.Full); err != nil {
				return nil, nil, err
			}
			c.event, c.ref, c.st = i, nil, nil
		}
		return c.before, c.after, nil
	}
	if _, err := c.reference(i, codec, cfg); err != nil {
		return nil, nil, err
	}
	if c.after == nil {
		if c.before, err = checkpoint.Tensors(c.st, checkpoint.Full); err != nil {
			return nil, nil, err
		}
		if err := c.tl.Advance(c.st, i); err != nil {
			return nil, nil, err
		}
		if c.after, err = checkpoint.Tensors(c.st, checkpoint.Full); err != nil {
			return nil, nil, err
		}
		c.st = nil
	}
	return c.before, c.after, nil
}
