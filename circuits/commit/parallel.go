package commit

import "sync"

// minPerWorker keeps tiny ranges (the top levels of a tree) on one goroutine,
// where spawning would cost more than the hashing.
const minPerWorker = 16

// parallelFor runs fn over [0, n) split into at most workers contiguous
// ranges, one goroutine each, and waits for all of them.
func parallelFor(n, workers int, fn func(lo, hi int)) {
	if workers > n/minPerWorker {
		workers = n / minPerWorker
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
