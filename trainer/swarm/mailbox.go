package swarm

import "sync"

// mailbox is an unbounded queue whose pushes never block, so goroutines
// that report to the compute loop can never deadlock with it; what bounds
// it is the protocol (stage 0's depth), not the queue.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{} // holds a token while items is non-empty
}

func newMailbox[T any]() *mailbox[T] { return &mailbox[T]{notify: make(chan struct{}, 1)} }

func (m *mailbox[T]) push(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// take returns everything queued.
func (m *mailbox[T]) take() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.items
	m.items = nil
	return v
}
