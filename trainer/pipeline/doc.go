// Package pipeline trains all the stages of one model in one process: one
// goroutine per stage, the stages joined only by emulated network links
// (trainer/link Pairs) that carry trainer/payload encodings, so the bytes a
// boundary counts are the bytes a network would carry.
//
// # Schedule: synchronous GPipe
//
// A Step splits its batch into M equal microbatches (Config.Microbatches).
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
