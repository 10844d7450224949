// Package parallel is the one worker pool of onnxopt: independent pieces
// of work run on a few goroutines that take them in order from a shared
// counter, so uneven pieces (the rows of a triangle, weights of different
// sizes) still balance. Callers write results by index, so the outcome
// never depends on scheduling.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls fn(i) for every i in [0, n) on up to threads goroutines (0 or
// less: GOMAXPROCS). It returns when every call has returned; with one
// thread (or one item) it runs on the calling goroutine.
func For(n, threads int, fn func(i int)) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, n)
	if threads <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Chunks calls fn(lo, hi) on the contiguous chunks [lo, hi) of [0, n),
// each chunk items long (less than 1 counts as 1; the last chunk may be
// shorter), on up to threads goroutines (0 or less: GOMAXPROCS). Chunks
// amortize the hand-out over many cheap items.
func Chunks(n, chunk, threads int, fn func(lo, hi int)) {
	chunk = max(chunk, 1)
	For((n+chunk-1)/chunk, threads, func(c int) {
		lo := c * chunk
		fn(lo, min(lo+chunk, n))
	})
}
