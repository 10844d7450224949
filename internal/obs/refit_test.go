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

func refitOf(t *testing.T, x []float32, cols int, xr []float32, orig Weight, rows []int, ridge float64) Refit {
	t.Helper()
	h := hessianOf(t, x, cols)
	c := NewCross(cols, orig.Cols)
	if err := c.Add(x, xr); err != nil {
		t.Fatal(err)
	}
	return Refit{H: h, Cross: c, Orig: orig, Rows: rows, Ridge: ridge}
}

// TestRefitInputChannels drops a quarter of a layer's input features (as
// channel pruning of the layer before does) and a third of its output
// rows: the refit layer on the remaining inputs must beat the truncated
// one by far on held-out data, and fit the calibration data exactly when
// the dropped features are linear in the kept ones (the planted data is
// low-rank plus noise, so not exactly: the check is the normal equations).
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

	f := refitOf(t, xc, len(keepCols), x, orig, keepRows, 0)
	if err := f.Weights(comp); err != nil {
		t.Fatal(err)
	}
	if err := f.Bias(comp, cb); err != nil {
		t.Fatal(err)
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
	f := refitOf(t, x, cols, x, orig, nil, 0.001)
	mask := comp.Clone()
	if err := f.Weights(comp); err != nil {
		t.Fatal(err)
	}
	if err := f.Bias(comp, bias); err != nil {
		t.Fatal(err)
	}
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
	f = refitOf(t, x, cols, x, orig, nil, 0)
	if err := f.Weights(full); err != nil {
		t.Fatal(err)
	}
	for i, v := range full.Data {
		if math.Abs(float64(v-orig.Data[i])) > 1e-3 {
			t.Fatalf("weight %d refit to %v, original %v", i, v, orig.Data[i])
		}
	}
}

func TestRefitErrors(t *testing.T) {
	l := newLayer(8, 1)
	x := l.sample(20, 1)
	orig := randomWeight(4, 8, 1)
	f := refitOf(t, x, 8, x, orig, []int{0, 9}, 0)
	if err := f.Weights(randomWeight(2, 8, 2)); err == nil || !strings.Contains(err.Error(), "maps to original row 9") {
		t.Errorf("bad row map: %v", err)
	}
	f.Rows = nil
	if err := f.Weights(randomWeight(2, 8, 2)); err == nil || !strings.Contains(err.Error(), "2 rows, original 4") {
		t.Errorf("row count: %v", err)
	}
	c := NewCross(8, 8)
	if err := c.Add(x, x[:len(x)-8]); err == nil {
		t.Error("batches of different rows accepted")
	}
	if err := f.Bias(orig, make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "3 entries for 4 rows") {
		t.Errorf("short bias: %v", err)
	}
}
