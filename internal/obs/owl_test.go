package obs

import (
	"math"
	"testing"
)

// TestOWLSparsities: the layer with the most outliers gets the lowest
// sparsity, the spread is 2·lambda, the weights removed add up to s of
// all (layers of different sizes), equal ratios give s everywhere.
func TestOWLSparsities(t *testing.T) {
	ratios := []float64{0.01, 0.05, 0.03}
	sizes := []int64{100, 300, 600}
	sp := OWLSparsities(ratios, sizes, 0.5, 0.08)
	if !(sp[1] < sp[2] && sp[2] < sp[0]) {
		t.Errorf("sparsities %v do not fall as the outlier ratio rises (%v)", sp, ratios)
	}
	if d := sp[0] - sp[1]; math.Abs(d-0.16) > 1e-12 {
		t.Errorf("spread %v, want 0.16", d)
	}
	removed, total := 0.0, 0.0
	for l, s := range sp {
		removed += s * float64(sizes[l])
		total += float64(sizes[l])
	}
	if math.Abs(removed/total-0.5) > 1e-12 {
		t.Errorf("overall sparsity %v, want 0.5", removed/total)
	}
	for _, s := range OWLSparsities([]float64{0.02, 0.02}, []int64{5, 50}, 0.3, 0.08) {
		if s != 0.3 {
			t.Errorf("equal ratios: sparsity %v, want 0.3", s)
		}
	}
}

// TestOutlierRatio counts the Wanda scores above m times their mean over
// all groups.
func TestOutlierRatio(t *testing.T) {
	ws := []Weight{{Rows: 1, Cols: 4, Data: []float32{1, 1, 1, 1}}, {Rows: 1, Cols: 4, Data: []float32{1, -1, 1, 30}}}
	norms := [][]float64{{1, 1, 1, 1}, {1, 1, 2, 1}}
	// scores 1,1,1,1, 1,1,2,30: mean 4.75; above 2×: only 30.
	r, err := OutlierRatio(norms, ws, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r != 1.0/8 {
		t.Errorf("ratio %v, want 1/8", r)
	}
	if _, err := OutlierRatio(norms[:1], ws, 2); err == nil {
		t.Error("one norm vector for two groups: no error")
	}
}
