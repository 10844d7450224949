package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForVisitsEachOnce checks that every index is visited exactly once,
// whatever the thread count, including none, negative and more than n.
func TestForVisitsEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		for _, threads := range []int{-1, 0, 1, 3, 64} {
			seen := make([]atomic.Int32, n)
			For(n, threads, func(i int) { seen[i].Add(1) })
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("n=%d threads=%d: index %d visited %d times", n, threads, i, c)
				}
			}
		}
	}
}

// TestForRunsConcurrently checks that threads > 1 really runs calls at
// the same time: each call waits until all four have started, which
// would never happen one after another.
func TestForRunsConcurrently(t *testing.T) {
	const n = 4
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	timedOut := atomic.Bool{}
	For(n, n, func(i int) {
		started.Done()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			timedOut.Store(true)
		}
	})
	if timedOut.Load() {
		t.Fatal("calls did not run concurrently")
	}
}

// TestForOneThreadInOrder checks that one thread runs the calls in index
// order on the calling goroutine.
func TestForOneThreadInOrder(t *testing.T) {
	var got []int
	For(5, 1, func(i int) { got = append(got, i) }) // no lock: one goroutine
	for i, v := range got {
		if v != i {
			t.Fatalf("order %v", got)
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d calls, want 5", len(got))
	}
}

// TestChunksCover checks that the chunks tile [0, n) exactly, each chunk
// items long except the last.
func TestChunksCover(t *testing.T) {
	for _, c := range []struct{ n, chunk int }{{0, 4}, {1, 4}, {10, 3}, {12, 3}, {5, 0}, {5, -2}, {100, 100}, {100, 1000}} {
		cover := make([]atomic.Int32, c.n)
		var bad atomic.Value
		Chunks(c.n, c.chunk, 0, func(lo, hi int) {
			size := max(c.chunk, 1)
			if lo%size != 0 || hi <= lo || hi-lo > size || hi-lo < size && hi != c.n {
				bad.Store([2]int{lo, hi})
			}
			for i := lo; i < hi; i++ {
				cover[i].Add(1)
			}
		})
		if b := bad.Load(); b != nil {
			t.Errorf("n=%d chunk=%d: bad chunk %v", c.n, c.chunk, b)
		}
		for i := range cover {
			if k := cover[i].Load(); k != 1 {
				t.Fatalf("n=%d chunk=%d: index %d covered %d times", c.n, c.chunk, i, k)
			}
		}
	}
}
