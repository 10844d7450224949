package obs

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkSparseGPT4096 prunes a 4096x4096 weight to 50% with H from 128
// calibration rows, reporting the time of each phase: Hessian
// accumulation, factorization (dampening, Cholesky, block inverses) and
// the sweep.
func BenchmarkSparseGPT4096(b *testing.B) {
	const c, n = 4096, 128
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*c)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	w := randomWeight(c, c, 2)
	p := Pattern{Sparsity: 0.5}
	var th, tf, ts time.Duration
	for b.Loop() {
		t0 := time.Now()
		h := NewHessian(c)
		if err := h.Add(x); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		f, wz, err := prepare(h, w, SweepOptions{}, nil, p.M)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		out := f.sweep(wz, &pruneRule{p: p, bs: f.block, mask: make([]bool, w.Rows*f.block)})
		t3 := time.Now()
		if zeros(out.Row(0)) != c/2 {
			b.Fatalf("row 0 has %d zeros", zeros(out.Row(0)))
		}
		th, tf, ts = th+t1.Sub(t0), tf+t2.Sub(t1), ts+t3.Sub(t2)
	}
	b.ReportMetric(th.Seconds()/float64(b.N), "hessian-s")
	b.ReportMetric(tf.Seconds()/float64(b.N), "factor-s")
	b.ReportMetric(ts.Seconds()/float64(b.N), "sweep-s")
}
