package obs

import (
	"math"
	"strings"
	"testing"
)

// affineOut returns X·Wᵀ + b for rows of x, the outputs picked by rows
// (nil: all).
func affineOut(x []float32, w Weight, b []float32, rows []int) []float64 {
	n := len(x) / w.Cols
	if rows == nil {
		for r := range w.Rows {
			rows = append(rows, r)
		}
	}
	out := make([]float64, 0, n*len(rows))
	for i := range n {
		xi := x[i*w.Cols : (i+1)*w.Cols]
		for _, r := range rows {
			s := 0.0
			if b != nil {
				s = float64(b[r])
			}
			for j, v := range w.Row(r) {
				s += float64(v) * float64(xi[j])
			}
			out = append(out, s)
		}
	}
	return out
}

func relL2(got, want []float64) float64 {
	var num, den float64
	for i := range got {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

// dropCols returns the columns keep of x [n, cols].
func dropCols(x []float32, cols int, keep []int) []float32 {
	n := len(x) / cols
	out := make([]float32, 0, n*len(keep))
	for i := range n {
		for _, j := range keep {
			out = append(out, x[i*cols+j])
		}
	}
	return out
}

// fitData is what the repair pass accumulates for one layer: the Hessian
// of the compressed layer's inputs x (cols features) and the targets, the
// original layer's outputs xr·origᵀ without bias (rows picked by rows).
type fitData struct {
	h *Hessian
	t *Targets
}

func fitDataOf(t *testing.T, x []float32, cols int, xr []float32, orig Weight, rows []int) fitData {
	t.Helper()
	y64 := affineOut(xr, orig, nil, rows)
	y := make([]float32, len(y64))
	for i, v := range y64 {
		y[i] = float32(v)
	}
	tg := NewTargets(cols, len(y)/(len(x)/cols))
	if err := tg.Add(x, y); err != nil {
		t.Fatal(err)
	}
	return fitData{hessianOf(t, x, cols), tg}
}

// fit refits comp and corrects bias.
func (d fitData) fit(t *testing.T, comp Weight, bias []float32, ridge float64) RefitInfo {
	t.Helper()
	info, err := Refit(d.h, d.t, comp, ridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := CorrectMean(comp, d.t.MeanX(), d.t.MeanY(), bias); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestRefitInputChannels drops a quarter of a layer's input features (as
// channel pruning of the layer before does) and a third of its output
// rows: the refit layer on the remaining inputs must beat the truncated
// one by far on held-out data, and be the least-squares fit on the
// calibration data (the check is the normal equations).
func TestRefitInputChannels(t *testing.T) {
	const cols, rows = 48, 30
	l := newLayer(cols, 7)
	x, held := l.sample(600, 1), l.sample(600, 2)
	orig := randomWeight(rows, cols, 3)
	bias := make([]float32, rows)
	for r := range bias {
		bias[r] = float32(r) / 10
	}
	var keepCols, keepRows []int
	for j := range cols {
		if j%4 != 0 {
			keepCols = append(keepCols, j)
		}
	}
	for r := range rows {
		if r%3 != 0 {
			keepRows = append(keepRows, r)
		}
	}
	comp := NewWeight(len(keepRows), len(keepCols))
	cb := make([]float32, len(keepRows))
	for q, r := range keepRows {
		for p, j := range keepCols {
			comp.Data[q*comp.Cols+p] = orig.Data[r*cols+j]
		}
		cb[q] = bias[r]
	}
	xc, heldc := dropCols(x, cols, keepCols), dropCols(held, cols, keepCols)
	want := affineOut(held, orig, bias, keepRows)
	before := relL2(affineOut(heldc, comp, cb, nil), want)

	d := fitDataOf(t, xc, len(keepCols), x, orig, keepRows)
	if info := d.fit(t, comp, cb, 0); info.Masks != 1 || info.Iterations != 0 {
		t.Errorf("rows sharing one kept set: %+v, want one Cholesky", info)
	}
	after := relL2(affineOut(heldc, comp, cb, nil), want)
	if after > before/3 {
		t.Errorf("held-out error %.4f after refit, %.4f before: want at least 3x better", after, before)
	}
	// Least squares: the residual on the calibration data is orthogonal to
	// every kept input (centred) and has zero mean.
	fit, tgt := affineOut(xc, comp, cb, nil), affineOut(x, orig, bias, keepRows)
	n := len(xc) / comp.Cols
	for q := range comp.Rows {
		var mean float64
		for i := range n {
			mean += fit[i*comp.Rows+q] - tgt[i*comp.Rows+q]
		}
		if math.Abs(mean/float64(n)) > 1e-3 {
			t.Errorf("row %d: mean residual %g after bias correction", q, mean/float64(n))
		}
		for p := range comp.Cols {
			var g, norm float64
			for i := range n {
				e := fit[i*comp.Rows+q] - tgt[i*comp.Rows+q]
				g += e * float64(xc[i*comp.Cols+p])
				norm += math.Abs(e * float64(xc[i*comp.Cols+p]))
			}
			if math.Abs(g) > 1e-3*norm+1e-6 {
				t.Fatalf("row %d feature %d: gradient %g of %g, not a least-squares fit", q, p, g, norm)
			}
		}
	}
}

// TestRefitKeepsMask checks that zeros stay zero and the fit beats the
// masked weight, and that same inputs with a full mask give back orig.
func TestRefitKeepsMask(t *testing.T) {
	const cols, rows = 32, 16
	l := newLayer(cols, 9)
	x, held := l.sample(400, 1), l.sample(400, 2)
	orig := randomWeight(rows, cols, 4)
	comp := magnitude(orig, Pattern{Sparsity: 0.5})
	before := relL2(affineOut(held, comp, nil, nil), affineOut(held, orig, nil, nil))
	bias := make([]float32, rows)
	d := fitDataOf(t, x, cols, x, orig, nil)
	mask := comp.Clone()
	d.fit(t, comp, bias, 0.001)
	for i, v := range mask.Data {
		if v == 0 && comp.Data[i] != 0 {
			t.Fatalf("weight %d was pruned and is now %v", i, comp.Data[i])
		}
	}
	after := relL2(affineOut(held, comp, bias, nil), affineOut(held, orig, nil, nil))
	if after > before/2 {
		t.Errorf("held-out error %.4f after refit, %.4f before", after, before)
	}
	// Nothing removed: the refit is the original.
	full := randomWeight(rows, cols, 5)
	d.fit(t, full, make([]float32, rows), 0)
	for i, v := range full.Data {
		if math.Abs(float64(v-orig.Data[i])) > 1e-3 {
			t.Fatalf("weight %d refit to %v, original %v", i, v, orig.Data[i])
		}
	}
}

// TestRefitCGMatchesCholesky solves the same per-row masks (unstructured
// and 2:4, every row its own kept set) by conjugate gradients and by one
// Cholesky per row: the weights must agree.
func TestRefitCGMatchesCholesky(t *testing.T) {
	defer func(v float64) { cgIterations = v }(cgIterations)
	const cols, rows = 64, 24
	l := newLayer(cols, 11)
	x := l.sample(500, 1)
	orig := randomWeight(rows, cols, 6)
	d := fitDataOf(t, x, cols, x, orig, nil)
	for _, p := range []Pattern{{Sparsity: 0.5}, {N: 2, M: 4}} {
		exact, cg := magnitude(orig, p), magnitude(orig, p)
		cgIterations = math.Inf(1)
		if info := d.fit(t, exact, make([]float32, rows), 0.01); info.Iterations != 0 || info.Masks != rows {
			t.Fatalf("%v: forced Cholesky ran %+v", p, info)
		}
		cgIterations = 0
		info := d.fit(t, cg, make([]float32, rows), 0.01)
		t.Logf("%v: %+v", p, info)
		if info.Iterations == 0 || info.Residual > 1e-4 {
			t.Fatalf("%v: conjugate gradients %+v, want iterations and a residual below 1e-4", p, info)
		}
		for i := range exact.Data {
			if (exact.Data[i] == 0) != (cg.Data[i] == 0) {
				t.Fatalf("%v: weight %d is %v by Cholesky and %v by CG", p, i, exact.Data[i], cg.Data[i])
			}
		}
		// The outputs are what the fit is for: on the calibration data
		// both solutions must give the same outputs.
		want := affineOut(x, orig, nil, nil)
		e1, e2 := relL2(affineOut(x, exact, nil, nil), want), relL2(affineOut(x, cg, nil, nil), want)
		if r := relL2(affineOut(x, cg, nil, nil), affineOut(x, exact, nil, nil)); r > 5e-3 || e2 > e1*1.001 {
			t.Errorf("%v: CG outputs differ from Cholesky's by %.2g (relative L2); fit error %.5f vs %.5f", p, r, e2, e1)
		}
	}
}

func TestRefitErrors(t *testing.T) {
	l := newLayer(8, 1)
	x := l.sample(20, 1)
	orig := randomWeight(4, 8, 1)
	d := fitDataOf(t, x, 8, x, orig, nil)
	if _, err := Refit(d.h, d.t, randomWeight(2, 8, 2), 0); err == nil || !strings.Contains(err.Error(), "8 features x 4 outputs, the weight 8x2") {
		t.Errorf("row count: %v", err)
	}
	if _, err := Refit(d.h, d.t, randomWeight(4, 8, 2), -1); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative ridge: %v", err)
	}
	if _, err := Refit(d.h, nil, randomWeight(4, 8, 2), 0); err == nil {
		t.Error("no targets accepted")
	}
	tg := NewTargets(8, 8)
	if err := tg.Add(x, x[:len(x)-8]); err == nil {
		t.Error("batches of different rows accepted")
	}
	if err := CorrectMean(orig, d.t.MeanX(), d.t.MeanY(), make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "3 bias entries for 4 rows") {
		t.Errorf("short bias: %v", err)
	}
}

// TestRefitPullsTowardsWeights checks that the ridge pulls towards the
// weights the lossy pass left, not towards zero. A layer whose weights
// and inputs are unchanged comes back as it is (a pull towards zero moved
// its correlated features' weights by up to 3x); and with fewer
// calibration rows than kept features (a layer after global pooling sees
// one row per sample) the refit must still at least halve the truncated
// weight's held-out error (0.62 -> 0.21 here; 0.30 with the pull towards
// zero).
func TestRefitPullsTowardsWeights(t *testing.T) {
	const cols, rows = 48, 12
	l := newLayer(cols, 13)
	orig := randomWeight(rows, cols, 7)
	x := l.sample(400, 1)
	d := fitDataOf(t, x, cols, x, orig, nil)
	same := orig.Clone()
	d.fit(t, same, make([]float32, rows), 0.1)
	for i, v := range same.Data {
		if math.Abs(float64(v-orig.Data[i])) > 1e-4*(1+math.Abs(float64(orig.Data[i]))) {
			t.Fatalf("unchanged layer: weight %d refit to %v, was %v", i, v, orig.Data[i])
		}
	}

	// 16 rows for 36 kept features: input features j%4 == 0 are gone.
	comp, keep := everyFourthGone(orig)
	few, held := l.sample(16, 3), l.sample(400, 4)
	fc, hc := dropCols(few, cols, keep), dropCols(held, cols, keep)
	want := affineOut(held, orig, nil, nil)
	bias := make([]float32, rows)
	before := relL2(affineOut(hc, comp, nil, nil), want)
	fitDataOf(t, fc, len(keep), few, orig, nil).fit(t, comp, bias, 0.01)
	after := relL2(affineOut(hc, comp, bias, nil), want)
	t.Logf("16 rows, %d kept features: held-out error %.4f truncated, %.4f refit", len(keep), before, after)
	if after > before/2 {
		t.Errorf("refit on 16 rows: held-out error %.4f, truncated weight %.4f: want at least 2x better", after, before)
	}
}
