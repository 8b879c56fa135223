// Package pipeline trains all the stages of one model in one process: one
// goroutine per stage, the stages joined only by emulated network links
// (trainer/link Pairs) that carry payload encodings, so the bytes a
// boundary counts are the bytes a network would carry.
//
// # Schedule: synchronous GPipe
//
// A Step splits its batch into M equal microbatches (Config.Microbatches);
// Train runs many steps, each stage going on to the next step as soon as
// it has done its part of the last (same results as one Step per batch).
// With three stages and three microbatches, one column per time unit, time
// running to the right (Fj = forward of microbatch j, Lj = the last stage's
// loss and backward of microbatch j, Bj = backward, U = the step's one
// optimizer update per stage, · = waiting), if every piece took one unit:
//
//	time     0  1  2  3  4  5  6  7  8
//	stage 0  F0 F1 F2 ·  ·  B0 B1 B2 U
//	stage 1  ·  F0 F1 F2 B0 B1 B2 U
//	stage 2  ·  ·  L0 L1 L2 U
//
// Activations flow down (Fj on stage s feeds Fj or Lj on s+1), gradients up
// (Lj or Bj on s+1 feeds Bj on s). The waiting is GPipe's bubble: with S
// stages it is about (S−1)/(M+S−1) of the step, so more microbatches shrink
// it.
//
// Every stage runs the forwards of the microbatches as their activations
// arrive and keeps each microbatch's input (and token ids) for its backward;
// the last stage computes each microbatch's mean loss and its gradient right
// away and sends ∂L/∂in upstream; the other stages, once their forwards are
// done, run the backwards in microbatch order (0, 1, …, M−1) as the gradients
// arrive. Backward recomputes the stage's forward from the kept input
// (trainer/engine). Parameter gradients are accumulated over the M
// microbatches (engine.Stage.AccumulateBackward) and each stage makes ONE
// optimizer step per Step with their mean (engine.Stage.ApplyAccumulated, the
// flush), so a step is the same update as one full-batch backward, up to
// float rounding. The loss a Step returns is the mean of the microbatch
// losses, i.e. the batch's mean cross-entropy before the update.
//
// # Schedule: asynchronous 1F1B (Config.Schedule = Async1F1B)
//
// The stages run one-forward-one-backward without a flush: stage s of S
// runs w = min(S−1−s, M) warm-up forwards, then alternates one forward and
// one backward, then the remaining backwards; the exact sequence is
// Async1F1B.Ops. With S = 3 and M = 4:
//
//	stage 0  F0 F1 F2 B0 F3 B1 B2 B3
//	stage 1  F0 F1 B0 F2 B1 F3 B2 B3
//	stage 2  F0 B0 F1 B1 F2 B2 F3 B3   (Fj takes the input, Bj the loss and backward)
//
// Each backward applies the stage's optimizer at once with that
// microbatch's gradient alone (engine.Stage.Backward / BackwardLoss: no
// accumulation), so every stage makes M updates per Step. There is no weight
// stashing: a backward recomputes the stage's forward from the kept input
// with the stage's CURRENT parameters, which are τ = min(j, S−1−s) updates
// newer than those microbatch j's forward used on stage s (steady state
// S−1−s on stage s, 0 on the last stage), and the gradient it receives was
// computed downstream from activations of equally old upstream weights. The
// staleness is corrected as in arXiv 2505.01099 (docs/ALGORITHMS.md,
// "Asynchronous pipeline with a Nesterov delay correction"): NAdam
// (trainer/optim), whose update discounts the newest gradient by (1 − β₁)
// and applies it at the momentum look-ahead, with the authors' stage-
// dependent momentum for the no-stashing variant,
//
//	β₁(s) = m + (V − 1)·(0.99 − m)/S,  V = S − s
//
// (V is the number of weight versions stage s would keep with stashing, its
// warm-up + 1; StageMomentum). Unless Config.NewOptimizer or
// Options.Optimizer says otherwise, each stage gets optim.NewNAdam of
// Config.AsyncNAdam with that β₁ (StageNAdam; base m 0.9 by default).
//
// Streams: Train runs several steps as one stream, and the 1F1B sequence
// then runs over all their microbatches, numbered 0 … n·M−1 across the
// steps (AsyncOps): no drain between steps, so the warm-up and drain
// bubbles are paid once per Train, microbatches of step i+1 are in flight
// while step i finishes, and every microbatch after the warm-up sees the
// steady-state staleness. Step is a stream of one step: it drains, so the
// first microbatches of each Step see less staleness (τ = min(j, S−1−s)).
// A stream's end is a quiescent point (every microbatch's backward has run
// on every stage): evaluations and checkpoints go there, and a run resumed
// from a checkpoint taken at a stream's end continues exactly as the
// uninterrupted run when both cut their streams at the same steps
// (`trainer local` ends a stream at every evaluation and checkpoint). The
// loss of a step is the mean of its microbatch losses, each taken by the
// last stage just before its own update (so it mixes weights of different
// ages; it is not the batch's loss before the step).
//
// Depth (Config.Depth = d): stage s runs d·(S−1−s) warm-up forwards instead
// of S−1−s, keeping d times as many microbatches in flight. Over links
// with latency L a stage's forward waits for the gradient of the microbatch
// d·(S−1−s) back, a round trip of about 2(S−1−s)·L plus the downstream
// compute; with d·(S−1−s) forwards to run meanwhile, a depth d hides round
// trips up to d times as long as the classic 1F1B does, at d times the
// staleness (the momentum follows it, StageMomentum).
//
// The schedule never depends on timing: each stage's sequence of operations
// is fixed (Ops), messages on a link arrive in the order sent, and every
// received payload must name the step and microbatch the stage expects. Two
// runs from the same seed give the same losses bit for bit whatever the
// links' latencies, and equal a sequential run of the same per-stage
// sequences.
//
// Cost of the fixed order: a stage's next forward waits for an earlier
// microbatch's gradient, so within one Step link latency sits on the
// critical path more often than in GPipe, which sends all its forwards back
// to back. With latency L per hop and negligible compute, a GPipe step of
// S = 3, M = 4 takes about 4L, an Async1F1B Step about 8L
// (TestScheduleComparison and BenchmarkSchedules measure it). Streams and
// depth are what remove that cost: over many steps the async stream runs
// d·(S−1−s)+1 microbatches per round trip on stage s where GPipe pays every
// step's 2(S−1) latencies.
//
// # Wire
//
// Boundary i (stage i → i+1) is a link.Pair with its own link.Config
// (Config.Links): the Forward link carries payload.Activations (the stage's
// output, X raw or C compressed, with the microbatch's token ids), the
// Backward link payload.Gradients (∂L/∂X or ∂L/∂C). Values travel as
// Config.PayloadDType (f32 or bf16). Each payload names its step and
// microbatch; the receiver decodes it under Config.Limits and checks it
// against the exact shape it expects (payload.Check) and the step and
// microbatch it waits for. A NaN or ±Inf never crosses a boundary: the
// sender's payload.Encode refuses it (payload.ErrNonFinite) and the step
// fails naming the stage and microbatch. Per step, boundary i carries
// exactly M activation and M gradient messages of payload.EncodedSize bytes
// each (Boundaries). The last stage reads the targets from the batch
// directly (in one process every stage sees the batch; a networked last
// stage would get them from the data, as stage 0 gets the inputs).
//
// # Errors and goroutines
//
// Step and Eval start one goroutine per stage and return only after all of
// them have ended. The first error cancels the others (their link receives
// end with the context) and is returned as "pipeline: stage s: …". A failed
// Step or Eval leaves the pipeline unusable (the links may still hold
// messages of the failed step): later calls return the error.
//
// Eval runs batches forward only, each batch as one microbatch, and returns
// the mean of their mean losses.
package pipeline
