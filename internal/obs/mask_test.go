package obs

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLayerMaskOneBlock checks SparseGPT's per-layer mask against its
// definition when the whole matrix is one block: the round(s·Rows·Cols)
// smallest saliencies w²/U_jj² over all rows (H⁻¹ = UᵀU, U upper), then
// the sequential OBS update with that mask.
func TestLayerMaskOneBlock(t *testing.T) {
	const rows, c, s = 6, 10, 0.4
	h := hessianOf(t, newLayer(c, 21).sample(60, 22), c)
	w := randomWeight(rows, c, 23)
	for j := range c {
		w.Data[2*c+j] *= 8 // one row that matters more
	}
	damped := dampedDense(h, DefaultDamp)
	var inv mat.Dense
	if err := inv.Inverse(damped); err != nil {
		t.Fatal(err)
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(c, inv.RawMatrix().Data)) {
		t.Fatal("H⁻¹ is not positive definite")
	}
	var u mat.TriDense
	chol.UTo(&u)
	order := make([]int, rows*c)
	score := make([]float64, rows*c)
	for i := range order {
		order[i] = i
		d := u.At(i%c, i%c)
		score[i] = float64(w.Data[i]) * float64(w.Data[i]) / (d * d)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(score[a], score[b]) })
	mask := make([]bool, rows*c)
	for _, i := range order[:int(math.Round(s*rows*c))] {
		mask[i] = true
	}
	want := naiveOBS(damped, w, mask)
	got, err := SparseGPT(h, w, Pattern{Sparsity: s}, SweepOptions{BlockSize: c})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Data {
		if (got.Data[i] == 0) != mask[i] {
			t.Fatalf("weight %d: zero %v, the per-layer mask says %v", i, got.Data[i] == 0, mask[i])
		}
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-4*(1+math.Abs(float64(want.Data[i]))) {
			t.Fatalf("weight %d = %v, sequential OBS gives %v", i, got.Data[i], want.Data[i])
		}
	}
	if z := zeros(got.Row(2)); z >= c/2 {
		t.Errorf("the large row lost %d of %d weights", z, c)
	}
}

// TestMaskScopeCounts checks the zero counts each scope promises, for
// SparseGPT at several block sizes and for Wanda: per row exactly
// round(s·Cols) in every row, per layer exactly round(s·Rows·Cols) in
// all, with a row scaled up losing fewer than the others.
func TestMaskScopeCounts(t *testing.T) {
	const rows, c, s = 7, 37, 0.55
	h := hessianOf(t, newLayer(c, 24).sample(200, 25), c)
	w := randomWeight(rows, c, 26)
	for j := range c {
		w.Data[3*c+j] *= 10
	}
	perRow := int(math.Round(s * c))
	total := int(math.Round(s * rows * c))
	type fitter func(Pattern) (Weight, error)
	fits := map[string]fitter{"wanda": func(p Pattern) (Weight, error) { return Wanda(h, w, p) }}
	for _, bs := range []int{1, 5, 16, 128} {
		fits[fmt.Sprintf("sparsegpt block %d", bs)] = func(p Pattern) (Weight, error) {
			return SparseGPT(h, w, p, SweepOptions{BlockSize: bs})
		}
	}
	for name, fit := range fits {
		row, err := fit(Pattern{Sparsity: s, Scope: Row})
		if err != nil {
			t.Fatal(err)
		}
		for r := range rows {
			if z := zeros(row.Row(r)); z != perRow {
				t.Fatalf("%s per row: row %d has %d zeros, want %d", name, r, z, perRow)
			}
		}
		layer, err := fit(Pattern{Sparsity: s, Scope: Layer})
		if err != nil {
			t.Fatal(err)
		}
		if z := zeros(layer.Data); z != total {
			t.Fatalf("%s per layer: %d zeros, want %d", name, z, total)
		}
		if z := zeros(layer.Row(3)); z >= perRow/2 {
			t.Errorf("%s per layer: the row scaled by 10 lost %d weights (a row's share is %d)", name, z, perRow)
		}
	}
}

func TestMaskScopeErrors(t *testing.T) {
	h := hessianOf(t, newLayer(4, 27).sample(20, 28), 4)
	w := randomWeight(2, 4, 29)
	if _, err := SparseGPT(h, w, Pattern{Sparsity: 0.5, Scope: Scope(7)}, SweepOptions{}); err == nil || !strings.Contains(err.Error(), "mask scope 7") {
		t.Errorf("scope 7: error %v", err)
	}
	if got := (Pattern{Sparsity: 0.5, Scope: Layer}).String(); got != "50% per layer" {
		t.Errorf("String() = %q", got)
	}
}
