// Package referee audits another replica of its own stage (x/verify/README.md, "Refereed
// re-execution"): it replays a segment of the replica's log (package replaylog) on a stage of its
// own and checks the replay against what the replica committed: the state root before each
// attested step (an attestation's state_root), the inputs each step took in (the receipts'
// payload digests), and the gradients the replica logged as sent back. A replica that skipped or
// shrank a layer, skipped its backward pass, never moved its weights, reset them between
// attestations, or logged inputs other than the ones it attested departs from its claims at the
// first update where it cheated, and the report names that update.
//
// The referee holds the stage's state anyway (it trains the same stage), so nothing leaves the
// stage: the unextractability rule holds. The replay costs what the replica's updates cost.
package referee

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
)

// Claim is what a worker committed about the state before one of its updates, and about the
// inputs of the updates after it. Every claim must be reached by the replay.
type Claim struct {
	// Update is the update in the worker's count (its local step × the model's microbatches per
	// step, for a step's first update).
	Update uint64
	// Root is the state root before that update (x/verify's state_root of an attestation that
	// starts with the step); zero claims none.
	Root [32]byte
	// Head is the log's head before that update (x/verify's log_head: replaylog.Log.Head);
	// zero claims none. Two claimed heads fix every event between them.
	Head [32]byte
	// Inputs are the payload digests of what the updates from Update took in, in update order:
	// the receipts a neighbour signed (on stage 0 the gradients stage 1 sent back).
	Inputs [][32]byte
	// Attested and Need say that, from Update to the next claim, Need updates took in payloads
	// whose digests are in Attested (on a middle stage both the activations and the gradient
	// that came back), each digest once: an attestation's input_digests, which the chain keeps
	// without saying which update took which. Updates between that took in anything else are
	// ones the worker did not attest (a step its attester dropped).
	Attested [][32]byte
	Need     int
}

// Finding is where the replay departs from the worker's claims.
type Finding struct {
	// Update is the update at which it departs (before it, for a state root).
	Update uint64
	What   string
}

func (f Finding) String() string { return fmt.Sprintf("update %d: %s", f.Update, f.What) }

// Report is the outcome of an audit.
type Report struct {
	// Updates and Averages are the events replayed; Claims the claims the segment covered.
	Updates, Averages, Claims int
	// Finding is the first departure; nil when the segment replays to every claim it covers.
	Finding *Finding
	// End is the log's head after the last event of the bundle (replaylog.Segment.End of the
	// last segment, once the heads check).
	End [32]byte
}

// Options are an audit's bounds and what it knows of the stage.
type Options struct {
	// Limit bounds a snapshot's or an average's size.
	Limit int64
	// Model and Stage are the audited stage; Replica says whether a peer is one of its
	// replicas. State that comes into the log from outside it (an average's parameters, the
	// state a worker joined with) must be signed by a replica (the state protocol's
	// StateMessage), or a worker could pass off a state of its choosing as one; nil accepts
	// none.
	Model   uint64
	Stage   int
	Replica func(peer.ID) bool
	// Initial is the stage's initial state root (a fresh stage's: the model's seed fixes it),
	// the only state an epoch may start from without a replica's signature.
	Initial [32]byte
	// Batch, when set, is the dataset's microbatch mb of rows sequences (the model's sampler,
	// data.Sampler.At): stage 0's token ids and the last stage's targets must be its, not text
	// of the worker's choosing.
	Batch func(mb uint64, rows int) (tokens, targets []int32, err error)
	// Draw, when set, says whether stage 0 may have drawn microbatch mb (one of the worker's
	// chain-fixed draws, x/verify DrawID, in the attestations' range): not an id searched for
	// windows the worker prefers.
	Draw func(mb uint64) bool
	// MaxRows bounds an update's sequences (0: no bound): a log of larger updates is refused
	// before it is replayed.
	MaxRows int
	// ToEnd replays to the log's end, stopping once the last claim's attested inputs are all
	// taken (the audited attestation's process ended after it: the updates after its last
	// attested one were attested by nothing, and the next epoch starts from an anchor).
	ToEnd bool
	// MaxPrefix, when positive, bounds the updates replayed before the first claim: a worker's
	// first attestation is audited from its epoch's anchor, and a trainer attests from its first
	// step, so more updates before it than the attestation holds are training of the worker's
	// own choosing that no attestation names (towards weights it prefers).
	MaxPrefix int
}

// mixed checks an average the worker logged: parameters a replica signed, at the protocol's
// weight.
func (o Options) mixed(a replaylog.Average) error {
	if a.Weight != statesync.AverageWeight {
		return fmt.Errorf("mixed at weight %v, not the protocol's %v", a.Weight, statesync.AverageWeight)
	}
	// The chain judges the mix against the root and selection the average names (its claim):
	// they must be the parameters' own.
	if a.Sel != uint8(checkpoint.Params) {
		return fmt.Errorf("mixed a %s state, not the replica's parameters", checkpoint.Selection(a.Sel))
	}
	if root, err := checkpoint.StreamRoot(a.Params, o.Limit); err != nil || root != a.Root {
		return fmt.Errorf("the average names root %s, not its parameters' (%v)", short(a.Root), err)
	}
	return o.signed(a.From, checkpoint.Params, a.Params, a.Sig)
}

// anchored checks an epoch's start: the model's initial state, or a state a replica signed.
func (o Options) anchored(seg replaylog.Segment) error {
	if seg.Anchor == nil {
		if seg.Root != o.Initial {
			return fmt.Errorf("its epoch starts from state %s, which is not the stage's initial state %s, and names no replica that served it", short(seg.Root), short(o.Initial))
		}
		return nil
	}
	return o.signed(seg.Anchor.From, checkpoint.Full, seg.State, seg.Anchor.Sig)
}

func (o Options) signed(from []byte, sel checkpoint.Selection, body, sig []byte) error {
	p, err := peer.IDFromBytes(from)
	if err != nil {
		return fmt.Errorf("state from no valid peer id: %w", err)
	}
	if o.Replica == nil || !o.Replica(p) {
		return fmt.Errorf("state from %s, not a replica of stage %d", p, o.Stage)
	}
	return statesync.VerifyState(p, o.Model, o.Stage, sel, body, sig)
}

// ErrMalformed marks a segment that cannot be replayed at all (the worker served garbage).
var ErrMalformed = errors.New("referee: malformed segment")

// Audit loads the first segment's snapshot into st (a fresh stage of the same spec, stage index
// and optimizer as the worker's: one that has made updates holds optimizer state a snapshot
// taken before any update does not overwrite) and replays the segments' events in order,
// checking every claim; every claim must be reached. A later segment must start where the
// replay has arrived, with the state the replay holds there: a worker that changed its state
// between two updates other than by a logged event (reset its weights between attestations,
// say) is found there, whatever its later snapshots say. It stops at the first finding or when
// ctx ends. An error means the audit could not run; a snapshot that is not the state it names
// is a finding, as is an update that cannot be applied.
func Audit(ctx context.Context, st *engine.Stage, codec boundary.Codec, segs []replaylog.Segment, claims []Claim, opts Options) (Report, error) {
	if len(segs) == 0 {
		return Report{}, errors.New("referee: no segment to audit")
	}
	if _, err := checkpoint.Read(bytes.NewReader(segs[0].State), st, opts.Limit); err != nil {
		return Report{}, fmt.Errorf("%w: snapshot: %w", ErrMalformed, err)
	}
	a := &auditor{
		st: st, codec: codec, opts: opts, claims: map[uint64]Claim{}, first: st.Info().First,
		middle: !st.Info().First && !st.Info().Last, last: st.Info().Last,
	}
	for _, c := range claims {
		a.claims[c.Update] = c
	}
	var last uint64 // the last claim: the replay stops there, unless inputs are counted from it
	for u := range a.claims {
		last = max(last, u)
	}
	if a.claims[last].Need > 0 || opts.ToEnd {
		last = math.MaxUint64 // to the end of the log
	}
	end, f := heads(segs, a.claims)
	a.rep.End = end
	if f != nil {
		a.rep.Finding = f
		return a.rep, nil
	}
	n := segs[0].First
replay:
	for i, seg := range segs {
		if seg.First != n {
			return a.rep, fmt.Errorf("%w: segment %d starts at update %d, not at %d where the one before ends", ErrMalformed, i, seg.First, n)
		}
		if seg.EpochStart && i > 0 {
			return a.rep, fmt.Errorf("%w: segment %d starts an epoch in the middle of the bundle", ErrMalformed, i)
		}
		if seg.EpochStart {
			if err := opts.anchored(seg); err != nil {
				return a.found(n, "an epoch with no anchor: "+err.Error())
			}
		}
		root, err := checkpoint.StateRoot(st)
		if err != nil {
			return a.rep, err
		}
		if root != seg.Root {
			what := fmt.Sprintf("the snapshot's state has root %s, not the %s it names", short(root), short(seg.Root))
			if i > 0 {
				what = fmt.Sprintf("the replay arrives at state %s, but the worker's log goes on from %s: its state changed outside its updates", short(root), short(seg.Root))
			}
			return a.found(n, what)
		}
		for _, ev := range seg.Events {
			if err := ctx.Err(); err != nil {
				return a.rep, err
			}
			if ev.Update != nil && len(a.claims) > 0 && n >= last {
				break replay
			}
			if f := a.event(n, ev); f != nil {
				a.rep.Finding = f
				return a.rep, nil
			}
			if ev.Update != nil {
				n++
				if opts.ToEnd && a.span != nil && a.taken >= uint64(a.span.Need) {
					break replay
				}
			}
		}
	}
	if f := a.at(n); f != nil {
		return a.found(f.Update, f.What)
	}
	if f := a.closeSpan(n); f != nil {
		return a.found(f.Update, f.What)
	}
	var missed []uint64
	for u := range a.claims {
		if !a.reached[u] {
			missed = append(missed, u)
		}
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		return a.found(n, fmt.Sprintf("the log ends at update %d, before update %d that the worker's claims name (its next attestation's starting state, or the attested steps' end)", n, missed[0]))
	}
	return a.rep, nil
}

// heads folds the log's head over segs (replaylog: each epoch from its EpochHead, each snapshot,
// each event) before anything is replayed, and checks it where the claims name one and where
// segments meet. So the log served is the one whose heads the worker committed, from its first
// snapshot on (a head fixes everything folded before it), and every finding the replay then
// makes is one anyone holding the log can check. It returns the head after the last event.
func heads(segs []replaylog.Segment, claims map[uint64]Claim) ([32]byte, *Finding) {
	// Past the last claimed head nothing the worker committed is checked (a referee could append
	// segments of its own there); the fold goes on, to the bundle's end.
	var lastClaim uint64
	for u, c := range claims {
		if c.Head != ([32]byte{}) {
			lastClaim = max(lastClaim, u)
		}
	}
	h, n := segs[0].Head, segs[0].First
	check := func() *Finding {
		if c, ok := claims[n]; ok && c.Head != ([32]byte{}) && c.Head != h {
			return &Finding{Update: n, What: fmt.Sprintf("the log it served arrives at head %s here, not at the %s the worker committed: it is not the log the worker attested", short(h), short(c.Head))}
		}
		return nil
	}
	for i, seg := range segs {
		committed := n <= lastClaim
		if seg.EpochStart && committed {
			if want := logevent.EpochHead(seg.Root, seg.Anchor, seg.Prev); seg.Head != want {
				return h, &Finding{Update: n, What: fmt.Sprintf("its epoch's log starts at head %s, not at the %s its first state, anchor and previous epoch give", short(seg.Head), short(want))}
			}
		}
		if i > 0 && seg.Head != h && committed {
			return h, &Finding{Update: n, What: fmt.Sprintf("the log's head arrives at %s, but the worker's next segment goes on from %s: its log was changed between segments", short(h), short(seg.Head))}
		}
		if i == 0 {
			h = seg.Head
		}
		h = logevent.Next(h, logevent.SnapshotDigest(seg.First, seg.Root))
		for _, ev := range seg.Events {
			if ev.Update != nil {
				if f := check(); f != nil {
					return h, f
				}
				n++
			}
			h = logevent.Next(h, ev.Digest)
		}
	}
	return h, check()
}

// auditor is one audit's state.
type auditor struct {
	st            *engine.Stage
	codec         boundary.Codec
	opts          Options
	claims        map[uint64]Claim
	reached       map[uint64]bool
	first, middle bool
	last          bool
	rep           Report
	// wantInput are the ordered inputs of the updates ahead (Claim.Inputs).
	wantInput map[uint64][32]byte
	// span is the claim whose Attested inputs the updates ahead consume, left what is not yet
	// consumed, taken what they consumed.
	// root is the state root before update rootAt, once taken.
	root      [32]byte
	rootAt    uint64
	rootKnown bool

	span               *Claim
	left               map[[32]byte]int
	taken, from, spare uint64
	// prefix counts the updates before any claim was reached.
	prefix int
}

func (a *auditor) found(n uint64, what string) (Report, error) {
	a.rep.Finding = &Finding{Update: n, What: what}
	return a.rep, nil
}

// event replays one event before which the worker has made n updates.
func (a *auditor) event(n uint64, ev replaylog.Event) *Finding {
	if ev.Average != nil {
		if err := a.opts.mixed(*ev.Average); err != nil {
			return &Finding{Update: n, What: "an average the worker cannot show was with a replica: " + err.Error()}
		}
		if _, err := checkpoint.Average(bytes.NewReader(ev.Average.Params), a.st, a.opts.Limit, ev.Average.Weight); err != nil {
			return &Finding{Update: n, What: "an average the replay cannot apply: " + err.Error()}
		}
		a.rep.Averages++
		a.rootKnown = false // the state moved
		return nil
	}
	u := ev.Update
	if f := a.at(n); f != nil {
		return f
	}
	if u.Root != ([32]byte{}) { // the worker's own record of where a step started
		if f := a.stateIs(n, u.Root, "logged"); f != nil {
			return f
		}
	}
	if f := a.inputs(n, u); f != nil {
		return f
	}
	a.rootKnown = false // the update moves the state
	sent, err := replay.Apply(a.st, a.codec, *u)
	if err != nil {
		return &Finding{Update: n, What: "an update the replay cannot apply: " + err.Error()}
	}
	if sent != u.Sent {
		return &Finding{Update: n, What: fmt.Sprintf("the gradient sent back differs: the replay sends %s, the worker logged %s", short(sent), short(u.Sent))}
	}
	a.rep.Updates++
	return nil
}

// at checks a claim on the state before update n, if there is one, closing the span of inputs
// before it and opening its own.
func (a *auditor) at(n uint64) *Finding {
	c, ok := a.claims[n]
	if !ok || a.reached[n] {
		return nil
	}
	if a.reached == nil {
		a.reached, a.wantInput = map[uint64]bool{}, map[uint64][32]byte{}
	}
	a.reached[n] = true
	a.rep.Claims++
	if f := a.closeSpan(n); f != nil {
		return f
	}
	for j, d := range c.Inputs {
		a.wantInput[n+uint64(j)] = d
	}
	if c.Need > 0 {
		a.span, a.left, a.taken, a.from, a.spare = &c, map[[32]byte]int{}, 0, n, 0
		for _, d := range c.Attested {
			a.left[d]++
		}
	}
	if c.Root == ([32]byte{}) {
		return nil
	}
	return a.stateIs(n, c.Root, "committed")
}

// stateIs compares the replay's state before update n with the root the worker logged or
// committed there; the root is taken once per update (a claim and a logged root can meet).
func (a *auditor) stateIs(n uint64, want [32]byte, how string) *Finding {
	if !a.rootKnown || a.rootAt != n {
		root, err := checkpoint.StateRoot(a.st)
		if err != nil {
			return &Finding{Update: n, What: "no state root: " + err.Error()}
		}
		a.root, a.rootAt, a.rootKnown = root, n, true
	}
	if a.root != want {
		return &Finding{Update: n, What: fmt.Sprintf("the state before the step has root %s in the replay, not the %s the worker %s", short(a.root), short(want), how)}
	}
	return nil
}

// closeSpan checks, at update n, that the open span of attested inputs was consumed.
func (a *auditor) closeSpan(n uint64) *Finding {
	if a.span == nil {
		return nil
	}
	c := a.span
	a.span = nil
	if a.taken < uint64(c.Need) {
		return &Finding{Update: n, What: fmt.Sprintf("between updates %d and %d the log shows %d updates on attested inputs; the attestation counts %d", a.from, n, a.taken, c.Need)}
	}
	return nil
}

// ids checks that the payloads an update took in are the microbatch it names, that stage 0's
// microbatch is one of its draws, and that the update is no larger than MaxRows.
func (a *auditor) ids(n uint64, u *replay.Update) *Finding {
	seq := a.st.Spec().SeqLen
	for _, p := range []struct {
		what string
		b    []byte
	}{{"activations", u.Input}, {"gradient", u.Grad}} {
		if p.b == nil {
			continue
		}
		step, mb, err := payload.PeekID(p.b)
		if err != nil {
			return &Finding{Update: n, What: fmt.Sprintf("its %s payload: %v", p.what, err)}
		}
		if step != u.Step || mb != uint32(u.Microbatch) { // a frame carries the id's low 32 bits
			return &Finding{Update: n, What: fmt.Sprintf("its %s belong to microbatch %d of step %d; the update names microbatch %d of step %d", p.what, mb, step, u.Microbatch, u.Step)}
		}
		if sh, err := payload.PeekShape(p.b); err == nil && a.opts.MaxRows > 0 && int(sh.Batch) > a.opts.MaxRows {
			return &Finding{Update: n, What: fmt.Sprintf("an update of %d sequences, more than the %d any replica trains", sh.Batch, a.opts.MaxRows)}
		}
	}
	for _, ids := range [][]int32{u.Tokens, u.Targets} {
		if a.opts.MaxRows > 0 && len(ids) > a.opts.MaxRows*seq {
			return &Finding{Update: n, What: fmt.Sprintf("an update of %d token ids, more than the %d sequences any replica trains", len(ids), a.opts.MaxRows)}
		}
	}
	if a.first && a.opts.Draw != nil && !a.opts.Draw(u.Microbatch) {
		return &Finding{Update: n, What: fmt.Sprintf("microbatch %d is none of the worker's draws", u.Microbatch)}
	}
	return nil
}

// data checks stage 0's tokens and the last stage's targets against the dataset's microbatch.
func (a *auditor) data(n uint64, u *replay.Update) *Finding {
	if a.opts.Batch == nil || (!a.first && !a.last) {
		return nil
	}
	got := u.Targets
	if a.first {
		got = u.Tokens
	}
	seq := a.st.Spec().SeqLen
	if len(got) == 0 || len(got)%seq != 0 {
		return &Finding{Update: n, What: fmt.Sprintf("%d token ids, not whole sequences of %d", len(got), seq)}
	}
	tokens, targets, err := a.opts.Batch(u.Microbatch, len(got)/seq)
	if err != nil {
		return &Finding{Update: n, What: fmt.Sprintf("microbatch %d is not the dataset's: %v", u.Microbatch, err)}
	}
	want, what := targets, "targets"
	if a.first {
		want, what = tokens, "tokens"
	}
	if !slices.Equal(got, want) {
		return &Finding{Update: n, What: fmt.Sprintf("trained on %s other than the dataset's microbatch %d", what, u.Microbatch)}
	}
	return nil
}

// inputs checks what update n took in against the claims.
func (a *auditor) inputs(n uint64, u *replay.Update) *Finding {
	if f := a.ids(n, u); f != nil {
		return f
	}
	if f := a.data(n, u); f != nil {
		return f
	}
	in := u.Input
	if a.first {
		in = u.Grad // stage 0's attested input is the gradient stage 1 signed
	}
	got, err := payload.Digest(in)
	if err != nil {
		got = [32]byte{}
	}
	if want, ok := a.wantInput[n]; ok && got != want {
		return &Finding{Update: n, What: fmt.Sprintf("the logged input (%s) is not the one the worker attested for this update (%s)", short(got), short(want))}
	}
	if a.span == nil {
		if a.reached == nil && a.opts.MaxPrefix > 0 {
			if a.prefix++; a.prefix > a.opts.MaxPrefix {
				return &Finding{Update: n, What: fmt.Sprintf("more updates before its first attested step (%d) than that attestation holds (%d): training no attestation names", a.prefix, a.opts.MaxPrefix)}
			}
		}
		return nil
	}
	if a.left[got] == 0 {
		// An update the worker did not attest (a step its attester dropped): replayed, not
		// counted, and no more of them than attested ones, or a worker could train as much as
		// it liked on inputs of its own between two attestations.
		if a.spare++; a.spare > uint64(a.span.Need) {
			return &Finding{Update: n, What: fmt.Sprintf("more updates on inputs it did not attest (%d) than on attested ones (%d) between its attestations", a.spare, a.span.Need)}
		}
		return nil
	}
	a.left[got]--
	if a.middle { // the gradient that came back is attested beside the activations
		g, err := payload.Digest(u.Grad)
		if err != nil || a.left[g] == 0 {
			return &Finding{Update: n, What: fmt.Sprintf("the update took in attested activations but a gradient (%s) the worker did not attest", short(g))}
		}
		a.left[g]--
	}
	a.taken++
	return nil
}

func short(d [32]byte) string { return hex.EncodeToString(d[:6]) }
