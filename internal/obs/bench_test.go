package obs

import (
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmReference runs one float32 product of 4096x512 by 512x4096
// (1.7e10 flops) with gonum: the pure-compute yardstick the benchmark
// reports its total against, so runs on a loaded machine compare.
func sgemmReference() {
	const m, k = 4096, 512
	a, bb, c := make([]float32, m*k), make([]float32, k*m), make([]float32, m*m)
	for i := range a {
		a[i], bb[i] = float32(i%7)-3, float32(i%5)-2
	}
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, m, k, 1, a, k, bb, m, 0, c, m)
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
	var wall, cpu [4]time.Duration // reference, hessian, factor, sweep
	for b.Loop() {
		w0, c0 := time.Now(), cpuTime()
		sgemmReference()
		w1, c1 := time.Now(), cpuTime()
		h := NewHessian(c)
		if err := h.Add(x); err != nil {
			b.Fatal(err)
		}
		w2, c2 := time.Now(), cpuTime()
		f, wz, err := prepare(h, w, SweepOptions{}, nil, p.M)
		if err != nil {
			b.Fatal(err)
		}
		w3, c3 := time.Now(), cpuTime()
		out := f.sweep(wz, newPruneRule(p, w.Rows, f.block))
		w4, c4 := time.Now(), cpuTime()
		if zeros(out.Data) != c*c/2 {
			b.Fatalf("%d zeros, want %d", zeros(out.Data), c*c/2)
		}
		ws, cs := []time.Time{w0, w1, w2, w3, w4}, []time.Duration{c0, c1, c2, c3, c4}
		for i := range wall {
			wall[i] += ws[i+1].Sub(ws[i])
			cpu[i] += cs[i+1] - cs[i]
		}
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	for i, name := range []string{"ref", "hessian", "factor", "sweep"} {
		b.ReportMetric(per(wall[i]), name+"-s")
		b.ReportMetric(per(cpu[i]), name+"-cpu-s")
	}
	b.ReportMetric((wall[1]+wall[2]+wall[3]).Seconds()/wall[0].Seconds(), "total/ref")
	b.ReportMetric((cpu[1]+cpu[2]+cpu[3]).Seconds()/cpu[0].Seconds(), "cpu-total/ref")
}

// BenchmarkAnchor4096 times target=original's two solves on a 4096x4096
// weight with 512 calibration rows: Anchor (the refit of the whole weight
// to the original outputs, before the method) and RefitAnchored (its
// kept weights again once a 50% mask is fixed), with the sgemm yardstick.
func BenchmarkAnchor4096(b *testing.B) { benchAnchor(b, 4096) }

// BenchmarkAnchor1024 is the same on a 1024x1024 weight.
func BenchmarkAnchor1024(b *testing.B) { benchAnchor(b, 1024) }

func benchAnchor(b *testing.B, c int) {
	const n = 512
	x := newLayer(c, 1).sample(n, 2)
	xc := perturbed(x, 0.2, 3)
	w := randomWeight(c, c, 4)
	h := NewHessian(c)
	cr := NewCross(c)
	if err := h.Add(xc); err != nil {
		b.Fatal(err)
	}
	if err := cr.Add(xc, x); err != nil {
		b.Fatal(err)
	}
	comp := magnitude(w, Pattern{Sparsity: 0.5})
	var wall, cpu [3]time.Duration // reference, anchor, refit
	for b.Loop() {
		w0, c0 := time.Now(), cpuTime()
		sgemmReference()
		w1, c1 := time.Now(), cpuTime()
		if _, err := Anchor(h, cr, w, 0.1); err != nil {
			b.Fatal(err)
		}
		w2, c2 := time.Now(), cpuTime()
		kept := Weight{Rows: comp.Rows, Cols: comp.Cols, Data: append([]float32(nil), comp.Data...)}
		info, err := RefitAnchored(h, cr, w, kept, 0.1)
		if err != nil {
			b.Fatal(err)
		}
		w3, c3 := time.Now(), cpuTime()
		b.ReportMetric(float64(info.Iterations), "cg-iterations")
		ws, cs := []time.Time{w0, w1, w2, w3}, []time.Duration{c0, c1, c2, c3}
		for i := range wall {
			wall[i] += ws[i+1].Sub(ws[i])
			cpu[i] += cs[i+1] - cs[i]
		}
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	for i, name := range []string{"ref", "anchor", "refit"} {
		b.ReportMetric(per(wall[i]), name+"-s")
		b.ReportMetric(per(cpu[i]), name+"-cpu-s")
	}
}
