// Package swarm runs one stage of a model as a worker of a swarm: the
// stage's replicas and its neighbours are other processes, possibly on other
// continents, joined by libp2p streams of the pipeline protocol
// (/protolearn/pipeline/3.0.0, trainer/wire frames carrying
// trainer/boundary payloads).
//
// # The life of a microbatch
//
// A worker of stage 0 draws microbatch ids, id = c·R + r for its c-th
// microbatch when it is replica r of R at start (so replicas never collide),
// takes the microbatch's tokens from the shared data seed (data.Sampler.At),
// runs its forward and sends the activations to a replica of stage 1. A
// middle stage runs the forward of every activations frame it accepts and
// sends the output on to a replica of the next stage; the last stage takes
// the microbatch's targets from the same seed, computes the loss and its
// gradient, updates, and sends ∂L/∂in back to the replica that sent the
// activations. Each stage runs the backward of a returning gradient with
// the input it kept, updates at once (asynchronous 1F1B: no flush, the
// Nesterov-corrected NAdam of trainer/pipeline absorbs the staleness), and
// returns the gradient to its own sender; stage 0 counts the microbatch
// done. Stage 0 keeps at most Config.Depth microbatches in flight, which
// bounds every queue in the swarm and makes the schedule one-forward-
// one-backward in steady state. A step is Microbatches consecutive
// microbatches of one stage-0 worker (the frame header's step).
//
// The compute goroutine runs one operation at a time, gradients first (they
// finish work and free memory), then accepted activations, then new
// microbatches (stage 0). Decoding, checks and sending happen on other
// goroutines.
//
// # Routing (SWARM)
//
// Each microbatch goes to the live replica of the next stage with the least
// load: the microbatches this worker has outstanding there plus the queue
// that replica last announced (Config.Load, from gossip heartbeats),
// divided by its announced throughput when every candidate announced one.
// A replica that fails a delivery (stream error, ack timeout, reject),
// disconnects, or holds a microbatch longer than Config.Timeout is
// blacklisted for Config.Blacklist, and every microbatch outstanding there
// is re-sent elsewhere from the activations this worker kept. A busy reply
// (the receiver's queue is full: back-pressure) sends the microbatch to
// another replica, or to the same one a little later.
//
// # Exactly once
//
// Every stage remembers which microbatch ids it has applied. A stage that
// sees a microbatch again (re-sent after a failure downstream of it) runs
// it again to produce the gradient its new sender needs, but does not update
// its weights a second time (engine.Stage.Gradients instead of Backward),
// and the last stage reports each microbatch's loss once. A gradient for a
// microbatch no longer outstanding (the late answer of a replica it was
// taken from) is dropped. So with one worker per stage below a failure,
// every microbatch is applied exactly once by every stage.
//
// Across replicas: when a replica dies after passing a microbatch on, the
// stages below it have taken it already, and its sender re-sends it
// through another replica. Frames of a re-sent microbatch carry the replay
// flag (trainer/wire), and so does everything sent on from them. A worker
// that receives a replay it has not taken itself asks the other replicas of
// its stage (Config.SeenElsewhere: the state protocol's "seen" query,
// answered from Worker.Seen: accepted into the queue, sent on, or applied);
// if one has it, this worker runs the microbatch to produce the gradient its
// new sender needs, without updating. A replica that does not answer counts
// as not having it. What is left: a replica that was slow, not dead, when
// its microbatch was re-sent applies it late as well; replica averaging
// folds the two together.
//
// # Hostile peers
//
// Inbound streams and frames are checked before they cost memory or reach
// the engine. A stream from a peer registered (trainer/roster) for neither
// neighbouring stage is reset when it opens, before a byte is read. A
// frame's header is checked before its body is read: within the size limit,
// addressed to this model and stage, and from a peer registered for the
// stage before this one (activations) or after it (gradients). Its body's
// memory is then reserved with the stream's go-libp2p resource scope (over
// the limits the body is skipped unread and the sender told busy; trainer/p2p
// raises the stream and per-peer limits of the pipeline protocol to hold a
// frame of the largest accepted size). The frame's receipt signature must be
// its sender's, over this frame's payload and for this receiver (receipts.go),
// and the payload must decode, be
// finite and have the shape this boundary has, with the header's step and
// microbatch. A violation is logged with the peer and the reason, answered
// with a reject frame, the stream reset, the peer's connections closed and
// its streams refused for Config.Ban. Nothing it sent reaches the engine.
//
// # Shutdown
//
// When Run's context ends, stage 0 stops drawing microbatches; every stage
// refuses new activations (reject: "draining"), hands back what it had
// queued but not started (a reject per microbatch, so the sender re-routes
// it), waits up to Config.Drain for the gradients of what it has sent on,
// returns those gradients upstream, and stops.
package swarm
