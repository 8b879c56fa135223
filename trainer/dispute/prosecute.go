package dispute

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/merkle"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/stageprog"
	"github.com/protolearn/protolearn/statecommit"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/optim"
	"github.com/protolearn/protolearn/trainer/replaylog"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// ProsecutorChain is what a referee's side of a dispute needs of the chain.
type ProsecutorChain interface {
	// OpenDispute opens a dispute over an attestation, posting the chain's dispute bond.
	OpenDispute(ctx context.Context, attestation uint64) (uint64, error)
	Dispute(ctx context.Context, id uint64) (verifytypes.Dispute, error)
	Attestation(ctx context.Context, id uint64) (verifytypes.Attestation, error)
	DisputeRespond(ctx context.Context, msg *verifytypes.MsgDisputeRespond) error
	// RefereeDisputes are the open disputes referee opened.
	RefereeDisputes(ctx context.Context, referee string) ([]verifytypes.Dispute, error)
}

// Prosecutor plays a referee's side of the disputes its operator opened (by its own audits, or
// from the CLI where Fetch is set): it replays the worker's log
// (the bundle the worker served, which folds to the heads the worker committed) with the model's
// arithmetic on a deterministic backend, agrees with what its replay agrees with, picks what
// differs, and shows the chain the evidence at the end.
type Prosecutor struct {
	Chain   ProsecutorChain
	Referee string
	// NewStage, NAdam and Codec are the worker's stage as the referee replays it (its own
	// stage's spec, on the Go backend); Limit bounds a snapshot or an average in the log.
	NewStage func() (*engine.Stage, error)
	NAdam    optim.NAdamConfig
	Codec    boundary.Codec
	Limit    int64
	// Provenance, when set, is the chain to check each average's provenance against
	// (verifytypes.AverageProvenance, the chain's rule): an average that fails it is disputed
	// even where the replay reaches the attested end (the mix itself was right).
	Provenance verifytypes.ProvenanceChain
	// Fetch, when set, fetches the worker's log over attestation a's range: with it the
	// prosecutor also plays the disputes its operator opened elsewhere (`tx verify
	// open-dispute`), which would otherwise be lost at the first deadline.
	Fetch func(ctx context.Context, a verifytypes.Attestation) ([]replaylog.Segment, error)
	// Dataset, when set (a referee of the first or the last stage, which holds the model's
	// dataset), checks each update's token ids (stage 0) or targets (the last stage) against
	// the model's sampler: an update that trained on other data is disputed even where the
	// replay reaches the attested end, and the chain is shown the dataset's window of a row
	// that differs.
	Dataset Dataset
	Log     *slog.Logger

	mu    sync.Mutex // Prosecute (a referee's audit) and Round (the dispute loop) share cases
	cases map[uint64]*foldCase
	// against is each case's worker.
	against map[uint64]string
	// adopting are the disputes opened elsewhere being taken up (adopt), by id.
	adopting map[uint64]*adoption
	// failing are the cases whose last move failed (each logged once).
	failing failures
}

// Dataset is the model's dataset as a referee holds it (trainer/attest.Sampled).
type Dataset interface {
	// Window is the window row `row` of microbatch mb trains on: seq_len token ids, then each
	// one's label (seq_len + 1 bytes).
	Window(mb uint64, row uint32) ([]byte, error)
	// OpenWindow opens that window against the model's dataset_commitment.
	OpenWindow(mb uint64, row uint32) (*verifytypes.DatasetOpening, error)
}

// steering is where a referee steers a dispute: the fold of the range it agrees up to (−1:
// none, it follows its replay) and, where that fold is an update that trained on data other
// than the dataset's, the row it shows the chain (−1: none).
type steering struct{ fold, row int }

var noSteering = steering{fold: -1, row: -1}

// Take registers dispute id, opened over an attestation whose range the worker's log segs
// holds (as served to the referee).
func (p *Prosecutor) Take(ctx context.Context, id uint64, segs []replaylog.Segment) error {
	d, err := p.Chain.Dispute(ctx, id)
	if err != nil {
		return err
	}
	a, err := p.Chain.Attestation(ctx, d.AttestationId)
	if err != nil {
		return err
	}
	tl, err := p.timeline(a, segs)
	if err != nil {
		return fmt.Errorf("dispute %d: %w", id, err)
	}
	steer, err := p.steerOf(ctx, a, tl)
	if err != nil {
		return fmt.Errorf("dispute %d: %w", id, err)
	}
	p.take(id, a.Worker, tl, steer)
	return nil
}

func (p *Prosecutor) take(id uint64, worker string, tl *Timeline, steer steering) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.takeLocked(id, worker, tl, steer)
}

func (p *Prosecutor) takeLocked(id uint64, worker string, tl *Timeline, steer steering) {
	if p.cases == nil {
		p.cases, p.against = map[uint64]*foldCase{}, map[uint64]string{}
	}
	c := newFoldCase(tl)
	c.steer, c.dataRow = steer.fold, steer.row
	p.cases[id], p.against[id] = c, worker
}

// steerOf is where to steer the log's bisection of a's range where every state may agree: the
// first update that sent back another gradient than the replay's, or that records other sends
// than the attestation names there, or that trained on data other than the dataset's (with the
// row that shows it), or an average before it whose provenance the chain would refuse. The
// referee agrees up to it, not after.
func (p *Prosecutor) steerOf(ctx context.Context, a verifytypes.Attestation, tl *Timeline) (steering, error) {
	steer := noSteering
	steer.fold = tl.FirstSentDiffers()
	before := func(i int) bool { return steer.fold < 0 || i < steer.fold }
	// What the attestation names as signed must be what each event records (the chain judges
	// it at the reveal): a worker that committed other sends than its log's, to answer a
	// receipt it should not have signed, loses at the first event they misname.
	if why := verifytypes.SendsBeyond(a, uint64(len(tl.Folds))); why != "" {
		p.Log.Info("the attestation's sends are not its log's: "+why, "attestation", a.Id)
		return steering{fold: len(tl.Folds) - 1, row: -1}, nil // lost at the worker's first move
	}
	for i, f := range tl.Folds {
		if !before(i) {
			break
		}
		var signed []logevent.Send
		if f.Event != nil && f.Event.Update != nil {
			signed = f.Event.Update.Signed()
		}
		if why := verifytypes.SendsMismatch(a, uint64(i), signed); why != "" {
			p.Log.Info("an event of the range records other sends than the attestation names: "+why, "attestation", a.Id, "fold", i)
			steer = steering{fold: i, row: -1}
			break
		}
	}
	if p.Dataset != nil {
		for i, f := range tl.Folds {
			if !before(i) {
				break
			}
			if f.Event == nil || f.Event.Update == nil {
				continue
			}
			row, err := p.offData(f.Event.Update)
			if err != nil {
				return noSteering, fmt.Errorf("fold %d: %w", i, err)
			}
			if row >= 0 {
				p.Log.Info("an update of the range trained on data other than the dataset's", "attestation", a.Id, "fold", i, "microbatch", f.Event.Update.Microbatch, "row", row)
				steer = steering{fold: i, row: row}
				break
			}
		}
	}
	if p.Provenance == nil {
		return steer, nil
	}
	for i, f := range tl.Folds {
		if !before(i) {
			break
		}
		if f.Event == nil || f.Event.Average == nil {
			continue
		}
		why, err := verifytypes.AverageProvenance(ctx, p.Provenance, a, f.Event.Average)
		if err != nil {
			return noSteering, err
		}
		if why != "" {
			p.Log.Info("an average of the range is one "+why, "attestation", a.Id, "fold", i)
			return steering{fold: i, row: -1}, nil
		}
	}
	return steer, nil
}

// offData is the first row of update u whose token ids (stage 0's) or targets (the last
// stage's) are not the dataset's window for that row of its microbatch (−1: none).
func (p *Prosecutor) offData(u *logevent.Update) (int, error) {
	seq := p.Codec.Spec.SeqLen
	for _, c := range []struct {
		ids   []int32
		shift int // targets are each token's next byte
	}{{u.Tokens, 0}, {u.Targets, 1}} {
		if len(c.ids) == 0 {
			continue
		}
		for row := 0; row*seq < len(c.ids); row++ {
			w, err := p.Dataset.Window(u.Microbatch, uint32(row))
			if err != nil {
				return -1, err
			}
			for i := 0; i < seq && row*seq+i < len(c.ids); i++ {
				if c.ids[row*seq+i] != int32(w[i+c.shift]) {
					return row, nil
				}
			}
		}
	}
	return -1, nil
}

func (p *Prosecutor) timeline(a verifytypes.Attestation, segs []replaylog.Segment) (*Timeline, error) {
	if len(a.StateRoot) != 32 || len(a.LogHead) != 32 || len(a.EndStateRoot) != 32 || len(a.EndLogHead) != 32 {
		return nil, fmt.Errorf("attestation %d commits no start and end", a.Id)
	}
	return NewTimeline(p.NewStage, p.Codec, segs, p.Limit, nil, [32]byte(a.StateRoot), [32]byte(a.LogHead), [32]byte(a.EndLogHead))
}

// Prosecute disputes attestation a if the referee's replay of its range in segs (the worker's
// log as it served it) does not end where a says its updates ended: then the game finds the
// first fold that goes wrong and the chain judges it. Where the replay agrees (a finding of an
// audit outside a's own updates, say) it opens nothing and reports false: the dispute would be
// lost. The range must be in segs.
func (p *Prosecutor) Prosecute(ctx context.Context, a verifytypes.Attestation, segs []replaylog.Segment) (bool, error) {
	tl, err := p.timeline(a, segs)
	if err != nil {
		return false, fmt.Errorf("attestation %d: %w", a.Id, err)
	}
	steer, err := p.steerOf(ctx, a, tl)
	if err != nil {
		return false, err
	}
	if tl.ReachesEnd([32]byte(a.EndStateRoot)) && steer.fold < 0 {
		p.Log.Info("the attestation's own updates replay to its end, send back what they should, train on the dataset's data and mix in what replicas signed (the finding is outside them): no dispute", "attestation", a.Id, "worker", a.Worker)
		return false, nil
	}
	// Held from the opening to the taking, so that Round does not take the new dispute up as
	// one opened elsewhere.
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, w := range p.against {
		if w == a.Worker {
			// One dispute at a time over a worker: if the worker loses it, every attestation
			// it has pending is voided with it (this one too), and if the referee loses it, its
			// replay is not the chain's and would lose the next one too. A second bond would
			// only be locked up, or lost.
			p.Log.Info("a dispute over the worker is open: no second one", "dispute", id, "attestation", a.Id, "worker", a.Worker)
			return false, nil
		}
	}
	id, err := p.Chain.OpenDispute(ctx, a.Id)
	if err != nil {
		return false, err
	}
	p.takeLocked(id, a.Worker, tl, steer)
	p.Log.Info("dispute opened", "dispute", id, "attestation", a.Id, "worker", a.Worker)
	return true, nil
}

// Prosecuting is how many disputes the prosecutor plays.
func (p *Prosecutor) Prosecuting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cases)
}

// adoption is a dispute opened elsewhere being taken up: its fetch in flight, or its last
// failure and when to try again.
type adoption struct {
	fetching bool
	err      string
	tries    int
	retry    time.Time
}

// adopt takes up the open disputes the operator opened that no audit of this process did: it
// fetches each one's log in the background (a worker may stall its log service; the moves of
// every other dispute must not wait on it), retrying with a backoff, and plays it once fetched.
func (p *Prosecutor) adopt(ctx context.Context) error {
	if p.Fetch == nil {
		return nil
	}
	ds, err := p.Chain.RefereeDisputes(ctx, p.Referee)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.adopting == nil {
		p.adopting = map[uint64]*adoption{}
	}
	open := map[uint64]bool{}
	for _, d := range ds {
		open[d.Id] = true
	}
	for id, a := range p.adopting {
		if !open[id] && !a.fetching {
			delete(p.adopting, id)
		}
	}
	now := time.Now()
	for _, d := range ds {
		if _, ok := p.cases[d.Id]; ok || !d.Open() {
			continue
		}
		a := p.adopting[d.Id]
		if a == nil {
			a = &adoption{}
			p.adopting[d.Id] = a
		}
		if a.fetching || now.Before(a.retry) {
			continue
		}
		a.fetching = true
		go p.adoptOne(ctx, d, a)
	}
	return nil
}

// adoptOne fetches the log of dispute d, opened elsewhere, and takes the dispute up.
func (p *Prosecutor) adoptOne(ctx context.Context, d verifytypes.Dispute, a *adoption) {
	err := p.fetchCase(ctx, d)
	p.mu.Lock()
	defer p.mu.Unlock()
	a.fetching = false
	if err == nil {
		delete(p.adopting, d.Id)
		p.Log.Info("playing a dispute the operator opened", "dispute", d.Id, "attestation", d.AttestationId, "worker", d.Worker)
		return
	}
	a.tries++
	a.retry = time.Now().Add(min(time.Second<<min(a.tries, 6), time.Minute))
	if a.err != err.Error() {
		a.err = err.Error()
		p.Log.Warn("a dispute the operator opened cannot be played yet", "dispute", d.Id, "attestation", d.AttestationId, "err", err)
	}
}

func (p *Prosecutor) fetchCase(ctx context.Context, d verifytypes.Dispute) error {
	a, err := p.Chain.Attestation(ctx, d.AttestationId)
	if err != nil {
		return err
	}
	segs, err := p.Fetch(ctx, a)
	if err != nil {
		return err
	}
	tl, err := p.timeline(a, segs)
	if err != nil {
		return err
	}
	steer, err := p.steerOf(ctx, a, tl)
	if err != nil {
		return err
	}
	p.take(d.Id, d.Worker, tl, steer)
	return nil
}

// Round makes the referee's move in each dispute it prosecutes that waits for it (taking up
// those its operator opened elsewhere first, where Fetch is set), and drops those that ended.
func (p *Prosecutor) Round(ctx context.Context) (int, error) {
	adoptErr := p.adopt(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	sent := 0
	var firstErr error
	for id := range p.cases {
		d, err := p.Chain.Dispute(ctx, id)
		if err != nil {
			firstErr = err
			continue
		}
		if !d.Open() {
			p.Log.Info("dispute settled", "dispute", id, "outcome", d.Outcome, "reason", d.Reason)
			delete(p.cases, id)
			delete(p.against, id)
			p.failing.clear(id)
			continue
		}
		if d.WorkerToMove {
			continue
		}
		msg, err := p.Move(d)
		if err == nil {
			err = p.Chain.DisputeRespond(ctx, msg)
		}
		if err != nil {
			if p.failing.fresh(id, d.Phase, err) {
				p.Log.Error("dispute move not sent", "dispute", id, "phase", d.Phase, "err", err)
				if firstErr == nil {
					firstErr = fmt.Errorf("dispute %d (%s): %w", id, d.Phase, err)
				}
			}
			continue
		}
		p.failing.clear(id)
		sent++
	}
	if firstErr == nil && adoptErr != nil {
		firstErr = adoptErr
	}
	return sent, firstErr
}

// Move is the referee's move in d (p.mu held).
func (p *Prosecutor) Move(d verifytypes.Dispute) (*verifytypes.MsgDisputeRespond, error) {
	c, ok := p.cases[d.Id]
	if !ok {
		return nil, fmt.Errorf("dispute %d is not prosecuted here", d.Id)
	}
	msg := &verifytypes.MsgDisputeRespond{Referee: p.Referee, DisputeId: d.Id}
	tl := c.tl
	switch d.Phase {
	case verifytypes.DISPUTE_PHASE_LOG:
		if d.Pending == nil {
			return nil, fmt.Errorf("no pending point")
		}
		i := d.Pending.Index
		msg.Agree = i < uint64(len(tl.Roots)) && tl.Roots[i] == [32]byte(d.Pending.Root) && tl.Heads[i] == [32]byte(d.Pending.LogHead) &&
			(c.steer < 0 || i <= uint64(c.steer))
	case verifytypes.DISPUTE_PHASE_TRACE:
		if c.dataRow >= 0 && int(d.EventIndex) == c.steer && !c.dataShown {
			// The update trained on data other than the dataset's: the window of that row
			// settles it.
			o, err := p.Dataset.OpenWindow(c.tl.Folds[c.steer].Event.Update.Microbatch, uint32(c.dataRow))
			if err != nil {
				return nil, err
			}
			c.dataShown = true
			msg.Dataset, msg.Row = o, uint32(c.dataRow)
			return msg, nil
		}
		ref, err := c.reference(int(d.EventIndex), p.Codec, p.NAdam)
		if err != nil {
			return nil, err
		}
		msg.Agree = ref.Trace.Root(int(d.Pending.Index)) == merkle.Hash(d.Pending.Root)
	case verifytypes.DISPUTE_PHASE_OUTPUT:
		ref, err := c.reference(int(d.EventIndex), p.Codec, p.NAdam)
		if err != nil {
			return nil, err
		}
		msg.Pick = pickChild(d, ref.Output(int(d.Lo.Index)))
	case verifytypes.DISPUTE_PHASE_LEAF:
		return p.leaf(c, d, msg)
	case verifytypes.DISPUTE_PHASE_STATE:
		_, after, err := c.states(int(d.EventIndex), p.Codec, p.NAdam)
		if err != nil {
			return nil, err
		}
		if d.Header == nil {
			msg.Pick = 0
			if tl.SentDiffers(int(d.EventIndex)) {
				msg.Pick = uint64(len(d.TensorLeaves)) // the gradient sent back
			}
			for i, l := range d.TensorLeaves {
				if i < len(after) && after[i].Leaf() != merkle.Hash(l) {
					msg.Pick = uint64(i)
					break
				}
			}
			return msg, nil
		}
		msg.Pick = pickChild(d, after[d.Tensor])
	case verifytypes.DISPUTE_PHASE_CHUNK:
		return p.chunk(c, d, msg)
	default:
		return nil, fmt.Errorf("no move of the referee in phase %s", d.Phase)
	}
	return msg, nil
}

// pickChild is the child of the disputed node whose hash differs from the referee's own tree
// (the right one when neither does: the referee then loses, as it should).
func pickChild(d verifytypes.Dispute, own statecommit.Tensor) uint64 {
	lv := chunkLevels(own)
	if int(d.Level) > len(lv) || d.Level == 0 || len(d.Children) != 2 {
		return 0
	}
	level := lv[d.Level-1]
	if i := 2 * d.Hi.Index; i < uint64(len(level)) && level[i] != merkle.Hash(d.Children[0]) {
		return 0
	}
	return 1
}

// leaf names the value of the worker's chunk of op k's output that differs from the referee's
// run, and shows what the chain needs to recompute it: the earlier outputs it reads, under the
// agreed prefix root, and the state's values it reads, under the agreed state root.
func (p *Prosecutor) leaf(c *foldCase, d verifytypes.Dispute, msg *verifytypes.MsgDisputeRespond) (*verifytypes.MsgDisputeRespond, error) {
	ref, err := c.reference(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	before, _, err := c.states(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	k := int(d.Lo.Index)
	nIn := len(ref.Program.InputDims)
	own := ref.Values[nIn+k].Data
	first := int(d.Hi.Index) * statecommit.ChunkBytes / 8
	elem := first
	for i := range len(d.Chunk) / 8 {
		if first+i < len(own) && math.Float64bits(own[first+i]) != binary.LittleEndian.Uint64(d.Chunk[8*i:]) {
			elem = first + i
			break
		}
	}
	refs, err := stageprog.ReadsOf(ref.Program.Ops[k], elem, stageprog.ValuesReader(ref.Values))
	if err != nil {
		return nil, err
	}
	msg.Pick = uint64(elem)
	opened := map[[2]int]bool{}
	for _, r := range refs {
		if r.Value >= nIn {
			o, err := ref.Trace.Open(r.Value-nIn, r.Index, k)
			if err != nil {
				return nil, err
			}
			key := [2]int{r.Value, int(o.Chunk.Chunk)}
			if !opened[key] {
				opened[key] = true
				msg.Outputs = append(msg.Outputs, verifytypes.TraceOpeningOf(o))
			}
			continue
		}
		t, ok := ref.Layout.StateTensor(r.Value)
		if !ok {
			continue // the event's payloads and the model's tables: the chain holds them
		}
		o, err := openTensor(before, t, r.Index)
		if err != nil {
			return nil, err
		}
		key := [2]int{-1 - t, int(o.Chunk)}
		if !opened[key] {
			opened[key] = true
			msg.State = append(msg.State, verifytypes.ChunkOpeningOf(o))
		}
	}
	return msg, nil
}

// chunk shows the reference's values of the disputed chunk of the state after the event (under
// the whole trace) and the state's values there before it.
func (p *Prosecutor) chunk(c *foldCase, d verifytypes.Dispute, msg *verifytypes.MsgDisputeRespond) (*verifytypes.MsgDisputeRespond, error) {
	if avg := c.average(int(d.EventIndex)); avg != nil {
		return p.averageChunk(c, d, avg, msg)
	}
	if len(d.Sent) > 0 {
		return p.sentChunk(c, d, msg)
	}
	ref, err := c.reference(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	before, _, err := c.states(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	v, ok := verifytypes.StateOutput(ref.Update, int(d.Tensor))
	if !ok || d.Header == nil {
		return nil, fmt.Errorf("tensor %d is not the state's", d.Tensor)
	}
	width := uint64(4)
	if d.Header.Dtype == "Float64" {
		width = 8
	}
	first := int(d.Hi.Index * statecommit.ChunkBytes / width)
	n := len(d.Chunk) / int(width)
	op := v - len(ref.Program.InputDims)
	for i := first; i < first+n; i += statecommit.ChunkBytes / 8 {
		o, err := ref.Trace.Open(op, i, len(ref.Program.Ops))
		if err != nil {
			return nil, err
		}
		msg.Outputs = append(msg.Outputs, verifytypes.TraceOpeningOf(o))
	}
	seen := map[uint64]bool{}
	for i := first; i < first+n; i++ {
		o, err := openTensor(before, int(d.Tensor), i)
		if err != nil {
			return nil, err
		}
		if !seen[o.Chunk] {
			seen[o.Chunk] = true
			msg.State = append(msg.State, verifytypes.ChunkOpeningOf(o))
		}
	}
	return msg, nil
}

// averageChunk shows what the chain recomputes a chunk of the state after an average from: the
// chunk before it (under the agreed state root) and, for a parameter, the replica's chunk that
// was mixed in (under the root the replica signed).
func (p *Prosecutor) averageChunk(c *foldCase, d verifytypes.Dispute, avg *replaylog.Average, msg *verifytypes.MsgDisputeRespond) (*verifytypes.MsgDisputeRespond, error) {
	before, _, err := c.states(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	theirs, err := checkpoint.StreamTensors(avg.Params, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("the average's parameters: %w", err)
	}
	if d.Header == nil || len(d.Chunk) == 0 {
		return nil, fmt.Errorf("no chunk of tensor %d shown", d.Tensor)
	}
	t := int(d.Tensor)
	first := int(d.Hi.Index * statecommit.ChunkBytes / 4) // a stage's state is Float32
	n := len(d.Chunk) / 4
	add := func(to *[]verifytypes.ChunkOpening, ts []statecommit.Tensor) error {
		seen := map[uint64]bool{}
		for i := first; i < first+n; i++ {
			o, err := openTensor(ts, t, i)
			if err != nil {
				return err
			}
			if !seen[o.Chunk] {
				seen[o.Chunk] = true
				*to = append(*to, verifytypes.ChunkOpeningOf(o))
			}
		}
		return nil
	}
	if err := add(&msg.State, before); err != nil {
		return nil, err
	}
	if t < len(theirs) {
		if t >= len(before) || theirs[t].Path != before[t].Path {
			return nil, fmt.Errorf("the replica's tensor %d is not the state's (%s)", t, theirs[t].Path)
		}
		if err := add(&msg.Theirs, theirs); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// sentChunk picks the chunk of the gradient the worker sent back that is furthest from the
// reference's (by EndRatio over chunks of 256 values, the chain's) and opens the reference's
// values there under the whole trace.
func (p *Prosecutor) sentChunk(c *foldCase, d verifytypes.Dispute, msg *verifytypes.MsgDisputeRespond) (*verifytypes.MsgDisputeRespond, error) {
	ref, err := c.reference(int(d.EventIndex), p.Codec, p.NAdam)
	if err != nil {
		return nil, err
	}
	pl, err := payload.Decode(d.Sent, payload.Limits{})
	if err != nil {
		return nil, fmt.Errorf("the gradient the worker sent back: %w", err)
	}
	want := ref.Values[ref.Update.DX].Data
	if len(pl.Data) != len(want) {
		return nil, fmt.Errorf("the gradient the worker sent back holds %d values, the reference's %d", len(pl.Data), len(want))
	}
	got := make([]float64, len(pl.Data))
	for i, x := range pl.Data {
		got[i] = float64(x)
	}
	const n = statecommit.ChunkBytes / 4 // the chain's chunk of the gradient sent back
	worst, ratio := 0, -1.0
	for lo := 0; lo < len(want); lo += n {
		hi := min(lo+n, len(want))
		if r := stageprog.EndRatio(got[lo:hi], want[lo:hi], nil); r > ratio || math.IsNaN(r) {
			worst, ratio = lo/n, r
			if math.IsNaN(r) {
				break
			}
		}
	}
	msg.Pick = uint64(worst)
	op := ref.Update.DX - len(ref.Program.InputDims)
	first, last := worst*n, min(worst*n+n, len(want))
	seen := map[uint64]bool{}
	for i := first; i < last; i++ {
		o, err := ref.Trace.Open(op, i, len(ref.Program.Ops))
		if err != nil {
			return nil, err
		}
		if !seen[o.Chunk.Chunk] {
			seen[o.Chunk.Chunk] = true
			msg.Outputs = append(msg.Outputs, verifytypes.TraceOpeningOf(o))
		}
	}
	return msg, nil
}

// openTensor opens element i of tensor t of a state.
func openTensor(ts []statecommit.Tensor, t, i int) (statecommit.Opening, error) {
	if t < 0 || t >= len(ts) {
		return statecommit.Opening{}, fmt.Errorf("tensor %d of a state of %d", t, len(ts))
	}
	n := uint64(1)
	for _, x := range ts[t].Dims {
		n *= x
	}
	return statecommit.Open(ts, t, uint64(i)*(uint64(len(ts[t].Raw))/max(n, 1)))
}
