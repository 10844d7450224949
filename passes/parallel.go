package passes

import "github.com/onnxopt/onnxopt/internal/parallel"

// Parallel calls fn(i) for i in [0, n) on up to threads goroutines (0:
// GOMAXPROCS), the pool of internal/parallel. Callers write results by
// index, so the outcome does not depend on scheduling.
func Parallel(n, threads int, fn func(i int)) { parallel.For(n, threads, fn) }
