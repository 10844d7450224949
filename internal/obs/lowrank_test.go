package obs

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// denseCopy returns h without its kept rows, so newFactor takes the dense
// path.
func denseCopy(h *Hessian) *Hessian {
	d := *h
	d.xtx = append([]float64(nil), h.gram()...)
	d.x, d.lowRank, d.built = nil, false, nil
	return &d
}

// TestLowRankSweepMatchesSequentialOBS checks the low-rank factorization
// (few calibration rows) against the sequential OBS and against the dense
// factorization of the same Hessian, with a dead feature, several block
// sizes and a column order.
func TestLowRankSweepMatchesSequentialOBS(t *testing.T) {
	const rows, c, n = 5, 48, 10
	x := newLayer(c, 30).sample(n, 31)
	for r := range n {
		x[r*c+7] = 0
	}
	h := hessianOf(t, x, c)
	if !h.lowRank || h.xtx != nil {
		t.Fatalf("a Hessian of %d rows and %d features did not keep its rows, or formed XᵀX", n, c)
	}
	w := randomWeight(rows, c, 32)
	for j := range rows {
		w.Data[j*c+7] = 0 // as prepare leaves dead columns
	}
	r := rand.New(rand.NewPCG(33, 0))
	mask := make([]bool, rows*c)
	for i := range mask {
		mask[i] = r.IntN(3) == 0
	}
	want := naiveOBS(dampedDeadDense(h, DefaultDamp), w, mask)
	perm := r.Perm(c)
	for _, bs := range []int{1, 5, 16, 48, 128} {
		lf, err := newFactor(h, 0, nil, bs)
		if err != nil {
			t.Fatal(err)
		}
		if lf.v != nil {
			t.Fatal("newFactor took the dense path")
		}
		closeTo(t, "low-rank vs sequential OBS", bs, lf.sweep(w, fixedMask{c, mask}), want, 1e-4)

		// Permuted order: the low-rank and dense factors agree.
		lp, err := newFactor(h, 0, perm, bs)
		if err != nil {
			t.Fatal(err)
		}
		dp, err := newFactor(denseCopy(h), 0, perm, bs)
		if err != nil {
			t.Fatal(err)
		}
		pw := permuteColumns(w, perm)
		closeTo(t, "permuted low-rank vs dense", bs, lp.sweep(pw, fixedMask{c, mask}), dp.sweep(pw, fixedMask{c, mask}), 1e-4)
		for j := range c {
			if d := math.Abs(float64(lp.diag[j]-dp.diag[j])) / float64(dp.diag[j]); d > 1e-5 {
				t.Fatalf("block %d: U_jj[%d] = %v, dense %v", bs, j, lp.diag[j], dp.diag[j])
			}
		}
	}
}

// TestHessianDropsRowsWhenMany checks that the rows are kept only while
// they are few, also across Merge, and that H is right in every state,
// read concurrently.
func TestHessianDropsRowsWhenMany(t *testing.T) {
	const c = 40 // keeps up to 10 rows
	l := newLayer(c, 34)
	var all []float32
	check := func(h *Hessian, rows []float32, kept bool) {
		t.Helper()
		if h.lowRank != kept || (len(h.x) != len(rows)) != !kept {
			t.Fatalf("%d rows: low rank %v with %d values kept, want %v", h.n, h.lowRank, len(h.x), kept)
		}
		want := hessianOf(t, rows, c) // one batch of the same rows
		if kept {
			want = denseCopy(want)
		}
		var wg sync.WaitGroup
		errs := make([]float64, 4)
		for g := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range c {
					for j := range c {
						errs[g] = max(errs[g], math.Abs(h.At(i, j)-want.At(i, j))/(1+math.Abs(want.At(i, j))))
					}
				}
			}()
		}
		wg.Wait()
		if e := slices.Max(errs); e > 1e-12 {
			t.Fatalf("%d rows: H off by %g", h.n, e)
		}
	}
	h := NewHessian(c)
	for _, step := range []struct {
		rows  int
		merge bool
		kept  bool
	}{{6, false, true}, {4, false, true}, {1, true, false}, {1, false, false}, {30, true, false}} {
		x := l.sample(step.rows, uint64(35+len(all)))
		all = append(all, x...)
		var err error
		if step.merge {
			err = h.Merge(hessianOf(t, x, c))
		} else {
			err = h.Add(x)
		}
		if err != nil {
			t.Fatal(err)
		}
		check(h, all, step.kept)
	}
	a, b := hessianOf(t, l.sample(3, 60), c), hessianOf(t, l.sample(3, 61), c)
	if err := a.Merge(b); err != nil || len(a.x) != 6*c || !a.lowRank {
		t.Fatalf("merging 3+3 rows kept %d values (%v)", len(a.x), err)
	}
}

// dampedDeadDense is H dampened as newFactor does: dead features get
// H_jj = 1 before the dampening is added, which is a fraction of the mean
// diagonal over the live features only.
func dampedDeadDense(h *Hessian, damp float64) *mat.SymDense {
	c := h.cols
	mean, live := 0.0, 0
	for i := range c {
		if d := h.At(i, i); d != 0 {
			mean += d
			live++
		}
	}
	s := dampedDense(h, 0)
	for i := range c {
		d := h.At(i, i)
		if d == 0 {
			d = 1 // dead: 1 for the solve, left out of the damp's mean
		}
		s.SetSym(i, i, d+damp*mean/float64(live))
	}
	return s
}

func closeTo(t *testing.T, what string, bs int, got, want Weight, tol float64) {
	t.Helper()
	for i := range got.Data {
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > tol*(1+math.Abs(float64(want.Data[i]))) {
			t.Fatalf("%s, block %d: weight %d = %v, want %v", what, bs, i, got.Data[i], want.Data[i])
		}
	}
}
