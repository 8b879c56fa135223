// Package replaylog keeps what a referee needs to replay a worker's updates (x/verify/README.md,
// "Refereed re-execution"): every Every updates a snapshot of the stage's whole state (weights
// and optimizer state, a trainer/checkpoint stream, with its checkpoint.StateRoot) opens a
// segment, and every event that changes the state after it is appended in order: an update with
// what went into it (package replay's Update), or an average with a replica's parameters (the
// parameters as received and the mixing weight). A segment therefore replays, from its snapshot
// alone, to the state before the next one, whatever the worker did between its attestations.
//
// The compute goroutine only serializes (a snapshot is the state copied out and its root); a
// writer goroutine puts the bytes on disk, so the disk's speed stays off the training path (a
// bounded queue holds it back if the disk cannot keep up). Readers wait for what was queued
// before them. Segments live on disk, one file each, and the oldest are removed once more than keep are held.
// Each Open starts an epoch (seg-<epoch>-<first update>.plr): a restarted worker's state does not
// follow from its last segment (it downloaded a replica's, or starts afresh), so a referee's
// replay never runs from one epoch into the next, and the log serves the segments of one epoch
// at a time. All methods but Segment, Segments and Decoded must be called from the goroutine
// that owns the stage (the swarm's compute goroutine: Config.OnUpdate, Worker.Access).
//
// # The head
//
// The log's head is a hash chain over the worker's whole log: an epoch starts at EpochHead of
// its first state, where that came from and the head the previous epoch ended at; every
// snapshot folds in its update count and state root (SnapshotDigest) and every event the
// SHA-256 of its encoding (Next). A worker commits the head where each attestation's state root
// was taken (x/verify log_head), so everything its log holds up to that point, snapshots
// included, is fixed on chain: it cannot serve one log to one referee and another to the next
// (across a restart too), and a referee's finding is shown to anyone by the log itself. Every
// segment's header carries the head before its snapshot is folded in.
//
// # Bytes
//
// A segment file is the header, then events until the end of the file:
//
//	header  "PLR4", first update (uint64), state root [32], head [32], state, flags (1 byte: 1
//	        the epoch's first segment, 2 with an anchor), with an anchor: from, signature, and at
//	        an epoch's start: the head the previous epoch ended at [32]
//	update  0x01, step, microbatch (uint64 each), input, tokens, grad, targets, sent [32], root [32]
//	average 0x02, weight (float64 bits), parameters, from, signature
//
// Integers are little-endian; byte strings are a uint64 length and the bytes; token ids and
// targets a uint64 count and that many int32. Decode bounds every length by what is left.
package replaylog

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replay"
)

var magic = [4]byte{'P', 'L', 'R', '4'}

const (
	flagEpochStart = 1
	flagAnchored   = 2
)

const (
	kindUpdate  = 1
	kindAverage = 2
	suffix      = ".plr"
)

// Average, Event and Anchor are the log's events and an epoch's origin (package logevent, which
// the chain links to decode the event a dispute narrows to).
type (
	Average = logevent.Average
	Event   = logevent.Event
	Anchor  = logevent.Anchor
)

// End is the head after s: its header's head with its snapshot and every event folded in.
func (s Segment) End() [32]byte {
	h := logevent.Next(s.Head, logevent.SnapshotDigest(s.First, s.Root))
	for _, ev := range s.Events {
		h = logevent.Next(h, ev.Digest)
	}
	return h
}

// Segment is a snapshot and the events after it.
type Segment struct {
	// First is the number of updates the stage had made before the snapshot.
	First uint64
	// Root is the snapshot's checkpoint.StateRoot, State the checkpoint.Full stream.
	Root  [32]byte
	State []byte
	// Head is the log's head before the segment's snapshot is folded in (at an epoch's start,
	// its EpochHead); Prev, at an epoch's start, the head the previous epoch ended at.
	Head, Prev [32]byte
	// EpochStart says the segment is its epoch's first: its state came from outside the log,
	// from Anchor, or (nil) it is the model's initial state.
	EpochStart bool
	Anchor     *Anchor
	// Events are in the order the worker applied them.
	Events []Event
}

// Log writes a worker's segments.
type Log struct {
	dir   string
	every uint64
	keep  int

	epoch   uint64
	updates uint64 // updates made so far (the next update's index; the compute goroutine's)
	open    bool
	head    [32]byte // the log's head after the last event (the compute goroutine's)
	prev    [32]byte // the head the previous epoch ended at (Open reads it)

	ops  chan op // to the writer
	done chan struct{}
	werr atomic.Pointer[error] // the writer's first error, returned by the next call
	mu   sync.Mutex            // held by the writer while it writes and by readers
	f    *os.File              // the open segment (the writer's)

	closeMu sync.RWMutex // senders hold it shared; Close exclusively, to close ops
	closed  bool

	// idx finds the segment of this epoch that holds the update a state root was logged before
	// (Update.Root), so a referee's request reads only the segments it is served.
	idxMu sync.Mutex
	idx   map[[32]byte]uint64
	cur   uint64 // the open segment's first update (the compute goroutine's)

	book foldBook // the recent folds, for Sends
	// lastSeq is the highest send number the log held when it was opened (LastSeq).
	lastSeq uint64
}

// op is the writer's work: bytes to append to the open segment, or (create) a new segment that
// starts with them; or (barrier) a reader waiting for everything queued before it.
type op struct {
	create  bool
	first   uint64
	data    []byte
	barrier chan struct{}
}

// Open makes a log in dir (created if missing; segments already there are kept, to be served
// until pruned). every is the updates between snapshots (at least 1), keep the segments held.
func Open(dir string, every uint64, keep int) (*Log, error) {
	if every == 0 || keep < 1 {
		return nil, fmt.Errorf("replaylog: snapshot every %d updates keeping %d segments: both must be positive", every, keep)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("replaylog: %w", err)
	}
	l := &Log{dir: dir, every: every, keep: keep, ops: make(chan op, 64), done: make(chan struct{}), idx: map[[32]byte]uint64{}}
	held, err := l.held()
	if err != nil {
		return nil, err
	}
	if len(held) > 0 {
		last := held[len(held)-1]
		l.epoch = last.epoch + 1
		// Where the previous epoch ended, as it is served (epochEnd): the new epoch's head
		// starts from it.
		l.prev, _ = l.epochEnd(held, last.epoch)
		for i := len(held) - 1; i >= 0 && l.lastSeq == 0; i-- { // the newest segment that records a send
			l.lastSeq = l.lastSeqOf(held[i])
		}
	}
	go l.writer()
	return l, nil
}

// writer puts the queued bytes on disk in order.
func (l *Log) writer() {
	defer close(l.done)
	for o := range l.ops {
		if o.barrier != nil {
			close(o.barrier)
			continue
		}
		l.mu.Lock()
		err := l.apply(o)
		l.mu.Unlock()
		if err != nil {
			l.werr.CompareAndSwap(nil, &err)
		}
	}
	l.mu.Lock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
	l.mu.Unlock()
}

func (l *Log) apply(o op) error {
	if o.create {
		if l.f != nil {
			_ = l.f.Close()
		}
		var err error
		if l.f, err = os.OpenFile(l.path(o.first), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
			return fmt.Errorf("replaylog: %w", err)
		}
		if _, err := l.f.Write(o.data); err != nil {
			return fmt.Errorf("replaylog: %w", err)
		}
		_ = l.prune() // a segment left behind costs disk, not the log: the next prune retries
		return nil
	}
	if l.f == nil {
		return nil // the segment could not be created: that error is reported
	}
	if _, err := l.f.Write(o.data); err != nil {
		return fmt.Errorf("replaylog: %w", err)
	}
	return nil
}

// queue hands o to the writer, reporting an error the writer met before.
func (l *Log) queue(o op) error {
	if e := l.werr.Load(); e != nil {
		return *e
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return errors.New("replaylog: the log is closed")
	}
	l.ops <- o
	return nil
}

// sync waits until the writer has written everything queued before it (callers hold no lock);
// after Close, everything is written.
func (l *Log) sync() {
	b := make(chan struct{})
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		<-l.done
		return
	}
	l.ops <- op{barrier: b}
	l.closeMu.RUnlock()
	<-b
}

// seg names a segment file: its epoch and first update.
type seg struct{ epoch, first uint64 }

// Start opens the epoch's first segment with a snapshot of st, which has made updates updates:
// the model's initial state when joined is nil, else the state a replica served (Joined.State,
// the exact stream it signed, which st was loaded from).
func (l *Log) Start(st *engine.Stage, updates uint64, joined *Joined) error {
	l.updates = updates
	if joined == nil {
		return l.snapshot(st, &Segment{EpochStart: true})
	}
	return l.snapshot(st, &Segment{EpochStart: true, State: joined.State, Anchor: &Anchor{From: joined.From, Sig: joined.Sig}})
}

// Joined is a state downloaded from a replica (statesync.Join): the checkpoint.Full stream as
// served, and who served and signed it.
type Joined struct {
	State, From, Sig []byte
}

// Updated records an update the stage has just applied, and snapshots st when it completes a
// segment of every updates. Call it after each update, in order.
func (l *Log) Updated(st *engine.Stage, u replay.Update) error {
	if !l.open {
		return errors.New("replaylog: an update before Start")
	}
	b := logevent.EncodeUpdate(u)
	if err := l.event(b, sha256.Sum256(b), u.Signed()); err != nil {
		return err
	}
	if u.Root != ([32]byte{}) {
		l.idxMu.Lock()
		l.idx[u.Root] = l.cur
		l.idxMu.Unlock()
	}
	l.updates++
	if l.updates%l.every == 0 {
		return l.snapshot(st, nil)
	}
	return nil
}

// Averaged records that the stage's parameters were mixed as a says (after the mix: call it
// where the mix ran, before the next update).
func (l *Log) Averaged(a Average) error {
	if !l.open {
		return errors.New("replaylog: an average before Start")
	}
	a.ParamsDigest = sha256.Sum256(a.Params)
	return l.event(logevent.EncodeAverage(a), sha256.Sum256(logevent.EncodeAverageClaim(a)), nil)
}

// event appends an encoded event and folds its digest into the head (logevent: an update's
// encoding's SHA-256, an average's claim's).
func (l *Log) event(b []byte, digest [32]byte, signed []logevent.Send) error {
	if err := l.queue(op{data: b}); err != nil {
		return err
	}
	l.head = logevent.Next(l.head, digest)
	l.book.add(l.head, signed)
	return nil
}

// Head is the log's head after every event so far: where the next update starts, what an
// attestation whose first step starts there commits (x/verify log_head).
func (l *Log) Head() [32]byte { return l.head }

// snapshot closes the current segment and opens one at the stage's state now; head, when set,
// says the segment starts an epoch (with the state as it was served, if it was).
func (l *Log) snapshot(st *engine.Stage, head *Segment) error {
	var state []byte
	if head != nil && head.State != nil {
		state = head.State
	} else {
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, st, l.updates, checkpoint.Full); err != nil {
			return fmt.Errorf("replaylog: snapshot: %w", err)
		}
		state = buf.Bytes()
	}
	root, err := checkpoint.StateRoot(st)
	if err != nil {
		return fmt.Errorf("replaylog: snapshot: %w", err)
	}
	if head != nil && head.EpochStart {
		l.head = logevent.EpochHead(root, head.Anchor, l.prev)
	}
	var b bytes.Buffer
	b.Write(magic[:])
	logevent.PutU64(&b, l.updates)
	b.Write(root[:])
	b.Write(l.head[:])
	logevent.PutBytes(&b, state)
	var flags byte
	if head != nil && head.EpochStart {
		flags |= flagEpochStart
	}
	if head != nil && head.Anchor != nil {
		flags |= flagAnchored
	}
	b.WriteByte(flags)
	if head != nil && head.Anchor != nil {
		logevent.PutBytes(&b, head.Anchor.From)
		logevent.PutBytes(&b, head.Anchor.Sig)
	}
	if head != nil && head.EpochStart {
		b.Write(l.prev[:])
	}
	l.head = logevent.Next(l.head, logevent.SnapshotDigest(l.updates, root))
	l.book.add(l.head, nil)
	l.open, l.cur = true, l.updates
	return l.queue(op{create: true, first: l.updates, data: b.Bytes()})
}

// prune removes the oldest segments beyond keep (l.mu held).
func (l *Log) prune() error {
	held, err := l.held()
	if err != nil {
		return err
	}
	for _, sg := range held[:max(0, len(held)-l.keep)] {
		if err := os.Remove(l.segPath(sg)); err != nil {
			return fmt.Errorf("replaylog: %w", err)
		}
	}
	return nil
}

// held are the segments on disk, oldest first.
func (l *Log) held() ([]seg, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("replaylog: %w", err)
	}
	var out []seg
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || !strings.HasPrefix(name, "seg-") {
			continue
		}
		ep, first, ok := strings.Cut(name[len("seg-"):], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(ep, 10, 64)
		b, err2 := strconv.ParseUint(first, 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, seg{a, b})
		}
	}
	slices.SortFunc(out, func(x, y seg) int {
		if x.epoch != y.epoch {
			return cmpU64(x.epoch, y.epoch)
		}
		return cmpU64(x.first, y.first)
	})
	return out, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// firsts are the first updates of this epoch's segments on disk, in order.
func (l *Log) firsts() ([]uint64, error) {
	held, err := l.held()
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, sg := range held {
		if sg.epoch == l.epoch {
			out = append(out, sg.first)
		}
	}
	return out, nil
}

func (l *Log) segPath(sg seg) string {
	return filepath.Join(l.dir, fmt.Sprintf("seg-%010d-%020d%s", sg.epoch, sg.first, suffix))
}

func (l *Log) path(first uint64) string { return l.segPath(seg{l.epoch, first}) }

// Segments are the first updates of this epoch's segments held, oldest first.
func (l *Log) Segments() ([]uint64, error) {
	l.sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firsts()
}

// Segment returns the encoded segment of this epoch that holds update n (the one with the
// greatest first update at or below n), as written so far. Safe from any goroutine.
func (l *Log) Segment(n uint64) ([]byte, error) {
	l.sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	firsts, err := l.firsts()
	if err != nil {
		return nil, err
	}
	i, found := slices.BinarySearch(firsts, n)
	if !found {
		i--
	}
	if i < 0 {
		return nil, fmt.Errorf("replaylog: no segment holds update %d (the oldest held starts at %v)", n, firstOr(firsts))
	}
	b, err := os.ReadFile(l.path(firsts[i]))
	if err != nil {
		return nil, fmt.Errorf("replaylog: %w", err)
	}
	return b, nil
}

func firstOr(firsts []uint64) string {
	if len(firsts) == 0 {
		return "none"
	}
	return strconv.FormatUint(firsts[0], 10)
}

// Decoded are this epoch's segments held, decoded, oldest first (what a worker would serve from
// its epoch's start).
func (l *Log) Decoded() ([]Segment, error) {
	firsts, err := l.Segments()
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, f := range firsts {
		b, err := l.Segment(f)
		if err != nil {
			return nil, err
		}
		seg, err := Decode(b)
		if err != nil {
			return nil, fmt.Errorf("replaylog: own segment %d: %w", f, err)
		}
		out = append(out, seg)
	}
	return out, nil
}

// From is what a referee asks for to audit the steps from one of the worker's state roots on:
// the segment holding the update the worker logged root before, and every later segment of its
// epoch, as a bundle (DecodeBundle), of at most limit bytes; a bundle of an ended epoch (an
// earlier process's) ends with a mark saying so, its last event cut off if a crash tore it. Safe from any goroutine; it holds
// the writer back only while it reads the open segment.
func (l *Log) From(root [32]byte, limit int64) ([]byte, error) { return l.bundle(root, false, limit) }

// FromEpoch is From, from the oldest segment held of the epoch that holds root: what a referee
// asks for to see a worker's first attestation reached from its epoch's anchor (a new worker's
// epoch must start at the stage's initial state or a state a replica signed, and the updates
// before its first attested step are part of what put its state there). Segments are pruned
// oldest first, so those held of an epoch are consecutive: the bundle starts at the epoch's
// first segment unless the worker trained more than keep segments before that root.
func (l *Log) FromEpoch(root [32]byte, limit int64) ([]byte, error) {
	return l.bundle(root, true, limit)
}

// Query is what a referee asks a log for (statesync's log requests).
type Query byte

const (
	// QueryFrom asks for From(key).
	QueryFrom Query = iota
	// QueryFromEpoch asks for FromEpoch(key).
	QueryFromEpoch
	// QueryEndingAt asks for EndingAt(key).
	QueryEndingAt
)

// Serve is what answers a referee's requests (statesync.Server.SetLog), with bundles of at most
// limit bytes.
func (l *Log) Serve(limit int64) func(key [32]byte, q Query) ([]byte, error) {
	return func(key [32]byte, q Query) ([]byte, error) {
		switch q {
		case QueryFrom:
			return l.bundle(key, false, limit)
		case QueryFromEpoch:
			return l.bundle(key, true, limit)
		case QueryEndingAt:
			return l.EndingAt(key, limit)
		}
		return nil, fmt.Errorf("replaylog: query %d", q)
	}
}

// EndingAt is the earlier epoch whose log ended at head (its segments held, from the oldest,
// with the end-of-epoch mark): how a referee follows a worker's epochs back from one that names
// head as where the epoch before it ended (Segment.Prev), through processes that stopped
// before they attested anything.
func (l *Log) EndingAt(head [32]byte, limit int64) ([]byte, error) {
	l.sync()
	l.mu.Lock()
	held, err := l.held()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for i, sg := range held {
		if sg.epoch == l.epoch || (i > 0 && held[i-1].epoch == sg.epoch) {
			continue // the current epoch has not ended; one look per epoch
		}
		if end, ok := l.epochEnd(held, sg.epoch); ok && end == head {
			return l.serve(held, i, true, "", limit)
		}
	}
	return nil, fmt.Errorf("replaylog: no earlier epoch held ended at head %x", head[:6])
}

// epochEnd is the head an earlier epoch's log ended at, as it is served: the End of its last
// segment whose header is whole, a torn last event cut (a crash may tear what was being
// written, a snapshot's header included).
// LastSeq is the highest send number recorded in the newest segment that records one, of those
// the log held when it was opened: a restarted trainer numbers above it (swarm Config.FirstSeq), so that a wall clock
// that stepped back across the restart cannot make it reuse a number its attestations hold.
func (l *Log) LastSeq() uint64 { return l.lastSeq }

func (l *Log) lastSeqOf(sg seg) uint64 {
	b, err := os.ReadFile(l.segPath(sg))
	if err != nil {
		return 0
	}
	d, err := Decode(complete(b))
	if err != nil {
		return 0
	}
	var last uint64
	for _, ev := range d.Events {
		if ev.Update != nil {
			for _, s := range ev.Update.Signed() {
				last = max(last, s.Seq)
			}
		}
	}
	return last
}

func (l *Log) epochEnd(held []seg, epoch uint64) ([32]byte, bool) {
	for i := len(held) - 1; i >= 0; i-- {
		if held[i].epoch != epoch {
			continue
		}
		b, err := os.ReadFile(l.segPath(held[i]))
		if err != nil {
			continue
		}
		if sg, err := Decode(complete(b)); err == nil {
			return sg.End(), true
		}
	}
	return [32]byte{}, false
}

func (l *Log) bundle(root [32]byte, fromEpoch bool, limit int64) ([]byte, error) {
	l.sync()
	l.mu.Lock()
	held, err := l.held()
	var open string
	if l.f != nil {
		open = l.f.Name()
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	start := -1
	l.idxMu.Lock()
	first, ok := l.idx[root]
	l.idxMu.Unlock()
	if ok {
		start = slices.Index(held, seg{l.epoch, first})
	} else {
		// An earlier epoch (an earlier process): its segments are closed; look through them.
		for i := len(held) - 1; i >= 0 && start < 0; i-- {
			if held[i].epoch == l.epoch {
				continue
			}
			b, err := os.ReadFile(l.segPath(held[i]))
			if err != nil {
				continue // pruned meanwhile
			}
			if sg, err := Decode(complete(b)); err == nil && sg.hasRoot(root) {
				start = i
			}
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("replaylog: no update held starts from state %x (pruned, or never this worker's)", root[:6])
	}
	for fromEpoch && start > 0 && held[start-1].epoch == held[start].epoch {
		start--
	}
	return l.serve(held, start, held[start].epoch != l.epoch, open, limit)
}

// serve is the bundle of held[start] and the later segments of its epoch; ended says the epoch
// is an earlier process's (its torn tail cut, the end mark added), open names the segment the
// writer appends to.
func (l *Log) serve(held []seg, start int, ended bool, open string, limit int64) ([]byte, error) {
	var out bytes.Buffer
	var err error
	for i, f := range held[start:] {
		if f.epoch != held[start].epoch {
			break
		}
		last := start+i == len(held)-1 || held[start+i+1].epoch != f.epoch
		path := l.segPath(f)
		var b []byte
		if path == open {
			l.mu.Lock() // the writer appends to it: read whole events only
			b, err = os.ReadFile(path)
			l.mu.Unlock()
		} else {
			b, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("replaylog: segment %d of epoch %d: %w", f.first, f.epoch, err)
		}
		if ended && last {
			b = complete(b) // a crash may have torn the event being written
			if len(b) == 0 && i > 0 {
				break // or the snapshot's header: the epoch ended with the segment before
			}
		}
		logevent.PutBytes(&out, b)
		if int64(out.Len()) > limit {
			return nil, fmt.Errorf("replaylog: the segments of epoch %d from update %d on are more than %d bytes", f.epoch, held[start].first, limit)
		}
	}
	if ended {
		logevent.PutBytes(&out, nil) // the end-of-epoch mark
	}
	return out.Bytes(), nil
}

func (s Segment) hasRoot(root [32]byte) bool {
	for _, ev := range s.Events {
		if ev.Update != nil && ev.Update.Root == root {
			return true
		}
	}
	return false
}

// DecodeBundle parses what From returns: consecutive segments, and whether their epoch ended
// after the last (the worker's process stopped: no later update follows them).
func DecodeBundle(b []byte) (segs []Segment, ended bool, err error) {
	r := logevent.NewReader(b)
	var out []Segment
	for r.Err() == nil && r.Off() < len(b) {
		raw := r.Bytes()
		if r.Err() != nil {
			break
		}
		if len(raw) == 0 && r.Off() == len(b) && len(out) > 0 {
			ended = true // the end-of-epoch mark
			break
		}
		seg, err := Decode(raw)
		if err != nil {
			return nil, false, fmt.Errorf("replaylog: segment %d of the bundle: %w", len(out), err)
		}
		out = append(out, seg)
	}
	if r.Err() != nil {
		return nil, false, fmt.Errorf("replaylog: bundle at byte %d of %d: %w", r.Off(), len(b), r.Err())
	}
	if len(out) == 0 {
		return nil, false, errors.New("replaylog: an empty bundle")
	}
	return out, ended, nil
}

// Close writes what is queued and closes the open segment; the log takes nothing more. It
// returns the first error the writer met.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ops)
	}
	l.closeMu.Unlock()
	<-l.done
	if e := l.werr.Load(); e != nil {
		return *e
	}
	return nil
}

// Decode parses an encoded segment, refusing anything malformed (it comes from another worker).
func Decode(b []byte) (Segment, error) {
	s, _, err := decode(b)
	return s, err
}

// complete is the length of b's longest prefix that ends with a whole event (a crash can tear
// the last one a worker was writing): what an ended epoch's last segment is served as.
func complete(b []byte) []byte {
	_, n, _ := decode(b)
	return b[:n]
}

// decode parses a segment and returns, beside it, the length of the prefix that holds its
// header and its whole events.
func decode(b []byte) (Segment, int, error) {
	r := logevent.NewReader(b)
	var s Segment
	good := 0
	if m := r.Next(4); r.Err() != nil || [4]byte(m) != magic {
		return Segment{}, 0, errors.New("replaylog: not a segment (bad magic)")
	}
	s.First = r.U64()
	copy(s.Root[:], r.Next(32))
	copy(s.Head[:], r.Next(32))
	s.State = r.Bytes()
	if f := r.Next(1); r.Err() == nil {
		switch {
		case f[0]&^(flagEpochStart|flagAnchored) != 0 || f[0] == flagAnchored:
			r.Fail(fmt.Errorf("segment flags %#x", f[0]))
		case f[0]&flagAnchored != 0:
			s.EpochStart, s.Anchor = true, &Anchor{From: r.Bytes(), Sig: r.Bytes()}
		default:
			s.EpochStart = f[0]&flagEpochStart != 0
		}
		if s.EpochStart {
			copy(s.Prev[:], r.Next(32))
		}
	}
	if r.Err() == nil {
		good = r.Off()
	}
	for r.Err() == nil && r.Off() < len(b) {
		ev, n, err := logevent.Read(b[r.Off():])
		if err != nil {
			r.Fail(err)
			break
		}
		r.Next(n)
		s.Events = append(s.Events, ev)
		good = r.Off()
	}
	if r.Err() != nil {
		return Segment{}, good, fmt.Errorf("replaylog: segment at byte %d of %d: %w", r.Off(), len(b), r.Err())
	}
	return s, good, nil
}
