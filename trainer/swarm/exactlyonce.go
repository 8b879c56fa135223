package swarm

// Exactly once (package documentation, "Exactly once"): which microbatches this worker has
// taken, for the other replicas' "seen" queries.

// Seen reports whether this worker has taken microbatch mb: sent it on
// (its gradient may still be coming) or applied it. The state protocol
// answers other replicas' "seen" queries with it.
func (w *Worker) Seen(mb uint64) bool {
	w.seenMu.Lock()
	defer w.seenMu.Unlock()
	return w.seen[mb]
}

func (w *Worker) markSeen(mb uint64) {
	w.seenMu.Lock()
	w.seen[mb] = true
	w.seenMu.Unlock()
}
