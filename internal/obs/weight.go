package obs

import (
	"fmt"
	"runtime"
	"sync"
)

// Weight is a dense row-major float32 matrix: Rows output channels by Cols
// input features, element (r, j) at Data[r*Cols+j].
type Weight struct {
	Rows, Cols int
	Data       []float32
}

// NewWeight returns a zero Weight of rows x cols.
func NewWeight(rows, cols int) Weight {
	return Weight{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// Row returns row r of w (sharing w's data).
func (w Weight) Row(r int) []float32 { return w.Data[r*w.Cols : (r+1)*w.Cols] }

// Clone returns a copy of w that shares nothing with it.
func (w Weight) Clone() Weight {
	return Weight{Rows: w.Rows, Cols: w.Cols, Data: append([]float32(nil), w.Data...)}
}

// check reports a weight whose data does not match its shape.
func (w Weight) check(what string) error {
	if w.Rows <= 0 || w.Cols <= 0 {
		return fmt.Errorf("%s: shape %dx%d is empty", what, w.Rows, w.Cols)
	}
	if len(w.Data) != w.Rows*w.Cols {
		return fmt.Errorf("%s: %d values for shape %dx%d", what, len(w.Data), w.Rows, w.Cols)
	}
	return nil
}

// forChunks calls fn(lo, hi) on contiguous chunks of [0, n) of about chunk
// items each, on up to GOMAXPROCS goroutines. Chunks are taken in order
// from a shared counter, so uneven work (a triangle) still balances; fn
// writes results by index, so the outcome does not depend on scheduling.
func forChunks(n, chunk int, fn func(lo, hi int)) {
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				c := next
				next++
				mu.Unlock()
				if c >= chunks {
					return
				}
				lo := c * chunk
				fn(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
