package node

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Interrupts wires SIGINT and SIGTERM to a node's two-step shutdown: the first cancels ctx
// (Run drains and waits for the attestations' verdicts), the second closes leave (it leaves
// now). stop releases the signals; it may be called more than once.
func Interrupts(parent context.Context) (ctx context.Context, leave <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	left, quit, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-sigs:
			cancel()
		case <-quit:
			return
		}
		select {
		case <-sigs:
			close(left)
		case <-quit:
		}
	}()
	var once sync.Once
	return ctx, left, func() {
		once.Do(func() {
			close(quit)
			<-done
			signal.Stop(sigs)
			cancel()
		})
	}
}
