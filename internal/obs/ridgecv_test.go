package obs

import (
	"math"
	"slices"
	"testing"
)

// TestHeldOutError checks the error computed from statistics against the
// rows themselves.
func TestHeldOutError(t *testing.T) {
	const cols, rows = 20, 5
	l := newLayer(cols, 21)
	x := l.sample(50, 1)
	orig, w := randomWeight(rows, cols, 8), randomWeight(rows, cols, 9)
	bias := []float32{0.5, -1, 2, 0, 0.25}
	d := fitDataOf(t, x, cols, x, orig, nil)
	got, err := heldOutError(d.h, d.t, w, bias)
	if err != nil {
		t.Fatal(err)
	}
	fit, want := affineOut(x, w, bias, nil), affineOut(x, orig, nil, nil)
	direct := 0.0
	for i := range fit {
		direct += (fit[i] - want[i]) * (fit[i] - want[i])
	}
	if math.Abs(got-direct) > 1e-6*direct {
		t.Errorf("held-out error %v from statistics, %v from the rows", got, direct)
	}
}

// TestChooseRidge: with few rows per fold (fewer than features) and with
// many, the refit on all rows with the chosen ridge does on fresh rows
// about as well as the best candidate would (candidates span 0.001 to
// 100, whose fresh errors differ by 3-4x).
func TestChooseRidge(t *testing.T) {
	const cols, rows = 48, 12
	l := newLayer(cols, 13)
	orig := randomWeight(rows, cols, 7)
	comp, keep := everyFourthGone(orig)
	ridges := []float64{0.001, 0.01, 0.1, 1, 10, 100}
	fresh := l.sample(1000, 99)
	fc := dropCols(fresh, cols, keep)
	want := affineOut(fresh, orig, nil, nil)
	for _, perFold := range []int{10, 400} {
		var h [2]*Hessian
		var tg [2]*Targets
		var all []float32
		for k := range 2 {
			x := l.sample(perFold, uint64(10+k))
			all = append(all, x...)
			d := fitDataOf(t, dropCols(x, cols, keep), len(keep), x, orig, nil)
			h[k], tg[k] = d.h, d.t
		}
		best, scores, err := ChooseRidge(h, tg, comp, ridges)
		if err != nil {
			t.Fatal(err)
		}
		// Each candidate refitted on both folds, scored on fresh rows.
		fresher := map[float64]float64{}
		lowest := math.Inf(1)
		for _, ridge := range ridges {
			w, bias := comp.Clone(), make([]float32, rows)
			fitDataOf(t, dropCols(all, cols, keep), len(keep), all, orig, nil).fit(t, w, bias, ridge)
			fresher[ridge] = relL2(affineOut(fc, w, bias, nil), want)
			lowest = min(lowest, fresher[ridge])
		}
		t.Logf("%d rows per fold: chose %v; cross-validation %v; fresh rows %v", perFold, best, scores, fresher)
		if fresher[best] > 1.25*lowest {
			t.Errorf("%d rows per fold: ridge %v gives %.4f on fresh rows, the best candidate %.4f", perFold, best, fresher[best], lowest)
		}
	}
}

// TestChooseDamp: with few rows per fold (fewer than features) and with
// many, GPTQ on all rows with the damp chosen by cross-validation does
// on fresh rows about as well as the best candidate would.
func TestChooseDamp(t *testing.T) {
	const cols, rows = 96, 16
	l := newLayer(cols, 31)
	w := randomWeight(rows, cols, 5)
	q := QuantOptions{Bits: 4, Group: 32, Symmetric: true, ActOrder: true}
	damps := []float64{0.001, 0.01, 0.1, 1, 10}
	fresh := l.sample(2000, 77)
	for _, perFold := range []int{24, 600} {
		var h [2]*Hessian
		all := NewHessian(cols)
		for k := range 2 {
			x := l.sample(perFold, uint64(40+k))
			h[k] = hessianOf(t, x, cols)
			if err := all.Add(x); err != nil {
				t.Fatal(err)
			}
		}
		best, scores, err := ChooseDamp(h, w, q, SweepOptions{}, damps)
		if err != nil {
			t.Fatal(err)
		}
		errs := map[float64]float64{}
		lowest := math.Inf(1)
		for _, d := range damps {
			res, err := GPTQ(all, w, q, SweepOptions{Damp: d})
			if err != nil {
				t.Fatal(err)
			}
			errs[d] = outputError(fresh, w, res.Dequantized)
			lowest = min(lowest, errs[d])
		}
		t.Logf("%d rows per fold: chose %v; cross-validation %v; fresh rows %v", perFold, best, scores, errs)
		if errs[best] > 1.1*lowest {
			t.Errorf("%d rows per fold: damp %v gives %.4f on fresh rows, the best candidate %.4f", perFold, best, errs[best], lowest)
		}
	}
	if _, _, err := ChooseDamp([2]*Hessian{NewHessian(cols), NewHessian(cols)}, w, q, SweepOptions{}, damps); err == nil {
		t.Error("empty folds: no error")
	}
	if _, _, err := ChooseDamp([2]*Hessian{hessianOf(t, fresh, cols), hessianOf(t, fresh, cols)}, w, q, SweepOptions{}, []float64{0.1, -1}); err == nil {
		t.Error("a negative candidate: no error")
	}
}

// TestChooseSparseDamp: SparseGPT's damp chosen between two folds of the
// calibration rows is within 10% of the best candidate's error on fresh
// rows, with few rows per fold (where the choice matters) and many, for a
// layer of two groups ranked together; the weights are left as they were.
func TestChooseSparseDamp(t *testing.T) {
	const cols, rows = 64, 12
	damps := []float64{0.001, 0.01, 0.1, 1, 10}
	p := Pattern{Sparsity: 0.5, Scope: Layer}
	ls := []*layer{newLayer(cols, 41), newLayer(cols, 42)}
	ws := []Weight{randomWeight(rows, cols, 6), randomWeight(rows, cols, 7)}
	before := []Weight{ws[0].Clone(), ws[1].Clone()}
	fresh := [][]float32{ls[0].sample(2000, 78), ls[1].sample(2000, 79)}
	for _, perFold := range []int{20, 600} {
		folds := make([]Folds, 2)
		all := []*Hessian{NewHessian(cols), NewHessian(cols)}
		for g := range 2 {
			for k := range 2 {
				x := ls[g].sample(perFold, uint64(50+2*g+k))
				folds[g][k] = hessianOf(t, x, cols)
				if err := all[g].Add(x); err != nil {
					t.Fatal(err)
				}
			}
		}
		best, scores, err := ChooseSparseDamp(folds, ws, p, SweepOptions{}, damps)
		if err != nil {
			t.Fatal(err)
		}
		errs := map[float64]float64{}
		lowest := math.Inf(1)
		for _, d := range damps {
			outs, err := SparseGPTGroups(all, ws, p, SweepOptions{Damp: d})
			if err != nil {
				t.Fatal(err)
			}
			errs[d] = outputError(fresh[0], ws[0], outs[0]) + outputError(fresh[1], ws[1], outs[1])
			lowest = min(lowest, errs[d])
		}
		t.Logf("%d rows per fold: chose %v; cross-validation %v; fresh rows %v", perFold, best, scores, errs)
		if errs[best] > 1.1*lowest {
			t.Errorf("%d rows per fold: damp %v gives %.4f on fresh rows, the best candidate %.4f", perFold, best, errs[best], lowest)
		}
	}
	for g := range ws {
		if !slices.Equal(ws[g].Data, before[g].Data) {
			t.Errorf("group %d's weights changed", g)
		}
	}
	if _, _, err := ChooseSparseDamp(make([]Folds, 2), ws, p, SweepOptions{}, damps); err == nil {
		t.Error("empty folds: no error")
	}
}
