package passes

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel calls fn(i) for i in [0, n) on up to threads goroutines (0:
// one per core). Callers write results by index, so the outcome does not
// depend on scheduling.
func Parallel(n, threads int, fn func(i int)) {
	if threads <= 0 {
		threads = runtime.NumCPU()
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
