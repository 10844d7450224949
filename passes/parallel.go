package passes

import (
	"sync"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/parallel"
)

// Parallel calls fn(i) for i in [0, n) on up to threads goroutines (0:
// GOMAXPROCS), the pool of internal/parallel. Callers write results by
// index, so the outcome does not depend on scheduling.
func Parallel(n, threads int, fn func(i int)) { parallel.For(n, threads, fn) }

// ParallelWithin is Parallel for items that hold size(i) bytes each while
// fn(i) runs: an item starts only when the bytes in flight stay within
// budget, or when nothing else is in flight (so an item larger than the
// budget still runs, alone). Memory is then bounded by the budget rather
// than by threads times the largest item. budget <= 0: no bound.
func ParallelWithin(n, threads int, budget int64, size func(i int) int64, fn func(i int)) {
	if budget <= 0 {
		Parallel(n, threads, fn)
		return
	}
	var mu sync.Mutex
	freed := sync.NewCond(&mu)
	var inFlight int64
	Parallel(n, threads, func(i int) {
		s := size(i)
		mu.Lock()
		for inFlight > 0 && inFlight+s > budget {
			freed.Wait()
		}
		inFlight += s
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight -= s
			freed.Broadcast()
			mu.Unlock()
		}()
		fn(i)
	})
}

// StreamBudget is how many bytes of weights a pass may hold at once: the
// store's budget when the model is streamed (graph.Model.Stream), else 0
// (no bound but the threads). Use it with ParallelWithin.
func StreamBudget(m *graph.Model) int64 {
	if m.Store == nil || !m.Store.Streaming() {
		return 0
	}
	return m.Store.HoldBudget()
}
