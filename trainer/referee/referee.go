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
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/statesync"
)

// Claim is what a worker committed about one of its steps.
type Claim struct {
	// Update is the step's first update in the worker's count (its local step × the model's
	// microbatches per step).
	Update uint64
	// Root is the state root before that update (x/verify's state_root of an attestation that
	// starts with the step); zero claims none.
	Root [32]byte
	// Inputs are the payload digests of what the step's updates took in, in update order: the
	// receipts a neighbour signed (on stage 0 the gradients stage 1 sent back).
	Inputs [][32]byte
	// Among and Span, when set, say that each of the Span updates from Update took in a payload
	// whose digest is in Among: an attestation's input_digests, which the chain keeps without
	// telling which update took which.
	Among map[[32]byte]bool
	Span  uint64
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
}

// mixed checks an average the worker logged: parameters a replica signed, at the protocol's
// weight.
func (o Options) mixed(a replaylog.Average) error {
	if a.Weight != statesync.AverageWeight {
		return fmt.Errorf("mixed at weight %v, not the protocol's %v", a.Weight, statesync.AverageWeight)
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
// checking every claim they cover. A later segment must start where the replay has arrived, with
// the state the replay holds there: a worker that changed its state between two updates other
// than by a logged event (reset its weights between attestations, say) is found there, whatever
// its later snapshots say. It stops at the first finding. limit bounds a snapshot's size. An
// error means the audit could not run; a snapshot that is not the state it names is a finding,
// as is an update that cannot be applied.
func Audit(st *engine.Stage, codec boundary.Codec, segs []replaylog.Segment, claims []Claim, opts Options) (Report, error) {
	var rep Report
	limit := opts.Limit
	if len(segs) == 0 {
		return rep, errors.New("referee: no segment to audit")
	}
	if _, err := checkpoint.Read(bytes.NewReader(segs[0].State), st, limit); err != nil {
		return rep, fmt.Errorf("%w: snapshot: %w", ErrMalformed, err)
	}
	byUpdate := map[uint64]Claim{}
	for _, c := range claims {
		byUpdate[c.Update] = c
	}
	wantInput := map[uint64]func([32]byte) bool{}
	n := segs[0].First
	for i, seg := range segs {
		if seg.First != n {
			return rep, fmt.Errorf("%w: segment %d starts at update %d, not at %d where the one before ends", ErrMalformed, i, seg.First, n)
		}
		root, err := checkpoint.StateRoot(st)
		if err != nil {
			return rep, err
		}
		if seg.EpochStart && i > 0 {
			return rep, fmt.Errorf("%w: segment %d starts an epoch in the middle of the bundle", ErrMalformed, i)
		}
		if seg.EpochStart {
			if err := opts.anchored(seg); err != nil {
				rep.Finding = &Finding{Update: n, What: "an epoch with no anchor: " + err.Error()}
				return rep, nil
			}
		}
		if root != seg.Root {
			what := fmt.Sprintf("the snapshot's state has root %s, not the %s it names", short(root), short(seg.Root))
			if i > 0 {
				what = fmt.Sprintf("the replay arrives at state %s, but the worker's log goes on from %s: its state changed outside its updates", short(root), short(seg.Root))
			}
			rep.Finding = &Finding{Update: n, What: what}
			return rep, nil
		}
		if rep.Finding, n = replaySegment(st, codec, seg, n, byUpdate, wantInput, &rep, opts); rep.Finding != nil {
			return rep, nil
		}
	}
	rep.Finding = checkClaim(st, byUpdate, n, wantInput, &rep)
	return rep, nil
}

// replaySegment applies a segment's events from update n, checking the claims it covers, and
// returns the first finding and the update where it ends.
func replaySegment(st *engine.Stage, codec boundary.Codec, seg replaylog.Segment, n uint64, byUpdate map[uint64]Claim, wantInput map[uint64]func([32]byte) bool, rep *Report, opts Options) (*Finding, uint64) {
	first := st.Info().First
	for _, ev := range seg.Events {
		if ev.Average != nil {
			if err := opts.mixed(*ev.Average); err != nil {
				return &Finding{Update: n, What: "an average the worker cannot show was with a replica: " + err.Error()}, n
			}
			if _, err := checkpoint.Average(bytes.NewReader(ev.Average.Params), st, opts.Limit, ev.Average.Weight); err != nil {
				return &Finding{Update: n, What: "an average the replay cannot apply: " + err.Error()}, n
			}
			rep.Averages++
			continue
		}
		u := ev.Update
		if f := checkClaim(st, byUpdate, n, wantInput, rep); f != nil {
			return f, n
		}
		if u.Root != ([32]byte{}) { // the worker's own record of where a step started
			if root, err := checkpoint.StateRoot(st); err != nil {
				return &Finding{Update: n, What: "no state root: " + err.Error()}, n
			} else if root != u.Root {
				return &Finding{Update: n, What: fmt.Sprintf("the state before the step has root %s in the replay, not the %s the worker logged", short(root), short(u.Root))}, n
			}
		}
		if want, ok := wantInput[n]; ok {
			in := u.Input
			if first {
				in = u.Grad // stage 0's attested input is the gradient stage 1 signed
			}
			got, err := payload.Digest(in)
			if err != nil || !want(got) {
				return &Finding{Update: n, What: fmt.Sprintf("the logged input (%s) is not one the worker attested for this update", short(got))}, n
			}
		}
		sent, err := replay.Apply(st, codec, *u)
		if err != nil {
			return &Finding{Update: n, What: "an update the replay cannot apply: " + err.Error()}, n
		}
		if sent != u.Sent {
			return &Finding{Update: n, What: fmt.Sprintf("the gradient sent back differs: the replay sends %s, the worker logged %s", short(sent), short(u.Sent))}, n
		}
		rep.Updates++
		n++
	}
	return nil, n
}

// checkClaim compares the state before update n with a claim there, and registers the claim's
// inputs for the updates it names.
func checkClaim(st *engine.Stage, claims map[uint64]Claim, n uint64, wantInput map[uint64]func([32]byte) bool, rep *Report) *Finding {
	c, ok := claims[n]
	if !ok {
		return nil
	}
	rep.Claims++
	for j, d := range c.Inputs {
		wantInput[n+uint64(j)] = func(got [32]byte) bool { return got == d }
	}
	for j := range c.Span {
		wantInput[n+j] = func(got [32]byte) bool { return c.Among[got] }
	}
	if c.Root == ([32]byte{}) {
		return nil
	}
	root, err := checkpoint.StateRoot(st)
	if err != nil {
		return &Finding{Update: n, What: "no state root: " + err.Error()}
	}
	if root != c.Root {
		return &Finding{Update: n, What: fmt.Sprintf("the state before the step has root %s in the replay, not the %s the worker committed", short(root), short(c.Root))}
	}
	return nil
}

func short(d [32]byte) string { return hex.EncodeToString(d[:6]) }
