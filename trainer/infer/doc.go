// Package infer serves a model that no one holds whole: inference through the stages of a
// swarm, over the libp2p protocol /protolearn/infer/1.0.0, and the routing of a completion
// through them.
//
// # Sessions
//
// A completion is a session: per stage, one stream to one replica, which keeps the session's
// attention keys and values (engine.Cache) for as long as the stream is open. The client (a
// gateway, package gateway) sends the prompt's ids to stage 0, which embeds them; each later
// stage gets the previous stage's rows (the same compressed boundary as in training: k wide
// on a compressed model) with the ids, and the last stage samples the next token (Sampling:
// temperature, top-p, and a seed that makes the draw after n positions the same on every
// replica). The prompt runs in one pass; then one token per round trip through the stages.
// The client, not the stages, talks to every stage in turn: it keeps each stage's inputs, so
// a session survives a replica's death by replaying them into another replica of the stage
// (Petals' design; the client sees only boundary rows, never weights).
//
// # Bytes
//
// Every frame is a uvarint length and a body whose first byte is its type:
//
//	hello (client, first)  1, "PLI1", model uint64, stage uint32                 (17 bytes)
//	step  (client)         2, n uint16, n × int32 ids, n × w × float32 rows
//	                       (w = 0 on stage 0), and on the last stage temperature,
//	                       top_p (float64) and seed (uint64)
//	rows  (server)         3, n × w' × float32 (w' the next stage's input width)
//	token (server, last)   4, int32
//	error (server)         5, the reason (UTF-8, at most MaxReason bytes); the stream ends
//
// all little-endian. A server checks that the hello names its model and stage, that a step
// parses exactly and fits the context, and refuses with the reason otherwise.
//
// # Routing
//
// Client.Generate reads the stage roster (the chain's, or a file's) and opens each stage on
// the replica with the lowest (sessions in flight + 1) × measured round trip, passing over for
// a while the replicas that failed. When a replica fails mid-session (its stream resets, it
// misses StepTimeout, it refuses) the session moves to the next one and replays its steps
// there: the customer sees a delay, and the same tokens (Sampling's seeded draws do not
// depend on the replica). Servers batch the steps of the sessions waiting at the same moment
// into one Decode call.
//
// Local runs the same sessions with every stage in process: the reference the swarm's tokens
// are held to, and the in-process baseline of the benchmarks.
package infer
