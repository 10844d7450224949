package obs

import (
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmReference times one float32 product of 4096x512 by 512x4096
// (1.7e10 flops) with gonum, the pure-compute yardstick the benchmarks
// below report their total against, so runs on a loaded machine compare.
func sgemmReference() time.Duration {
	const m, k = 4096, 512
	a, bb, c := make([]float32, m*k), make([]float32, k*m), make([]float32, m*m)
	for i := range a {
		a[i], bb[i] = float32(i%7)-3, float32(i%5)-2
	}
	t0 := time.Now()
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, m, k, 1, a, k, bb, m, 0, c, m)
	return time.Since(t0)
}

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
	var th, tf, ts, tr time.Duration
	for b.Loop() {
		tr += sgemmReference()
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
	b.ReportMetric(tr.Seconds()/float64(b.N), "sgemm-ref-s")
	b.ReportMetric((th+tf+ts).Seconds()/tr.Seconds(), "total/ref")
}
