package obs

import (
	"cmp"
	"math"
	"slices"
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

// TestSpreadSparsity checks the spread against its definition: the
// round(s·N) smallest of all layers' relative scores w²‖X_j‖²/Σ, counted
// per layer, with the exact total; a layer whose energy sits in a few
// weights loses more of the rest than a layer whose weights all carry
// the same.
func TestSpreadSparsity(t *testing.T) {
	spiky := randomWeight(4, 8, 51)
	for r := range 4 {
		spiky.Data[r*8] *= 40
	}
	ws := [][]Weight{{spiky}, {randomWeight(3, 5, 52), randomWeight(3, 5, 53)}, {NewWeight(2, 2)}}
	for i := range ws[2][0].Data {
		ws[2][0].Data[i] = 1
	}
	norms := [][][]float64{{make([]float64, 8)}, {{1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}}, {{1, 1}}}
	for j := range norms[0][0] {
		norms[0][0][j] = 1 + float64(j%3)
	}
	const s = 0.45
	var sh [][]float32
	for l := range ws {
		x, err := WandaShares(norms[l], ws[l])
		if err != nil {
			t.Fatal(err)
		}
		sh = append(sh, x)
	}
	got := SpreadSparsity(sh, s)
	type item struct {
		score float64
		layer int
	}
	var all []item
	for l, gs := range ws {
		var sum float64
		var sc []float64
		for g, w := range gs {
			for i, v := range w.Data {
				e := float64(v) * norms[l][g][i%w.Cols]
				sc = append(sc, e*e)
				sum += e * e
			}
		}
		for _, x := range sc {
			all = append(all, item{x / sum, l})
		}
	}
	slices.SortStableFunc(all, func(a, b item) int { return cmp.Compare(a.score, b.score) })
	k := int(math.Round(s * float64(len(all))))
	want := make([]int, len(ws))
	for _, it := range all[:k] {
		want[it.layer]++
	}
	removed := 0.0
	for l, gs := range ws {
		n := 0
		for _, w := range gs {
			n += len(w.Data)
		}
		if kl := int(math.Round(got[l] * float64(n))); kl != want[l] {
			t.Errorf("layer %d: removes %d, the ranking says %d", l, kl, want[l])
		}
		removed += got[l] * float64(n)
	}
	if int(math.Round(removed)) != k {
		t.Errorf("removes %v in all, want %d", removed, k)
	}
	if !(got[0] > got[2]) {
		t.Errorf("sparsities %v: the spiky layer should lose more than the flat one", got)
	}
}

// TestSparseGPTShares: the layer's output energy is Σ_r w_r·H·w_rᵀ
// computed from the samples, with the Hessian kept as rows (few samples)
// and as XᵀX (many), and the shares are the saliencies w²/U_jj² over it.
func TestSparseGPTShares(t *testing.T) {
	const c, rows = 12, 3
	l := newLayer(c, 61)
	w := randomWeight(rows, c, 62)
	for _, n := range []int{2, 200} {
		x := l.sample(n, 63)
		h := hessianOf(t, x, c)
		want := 0.0
		for i := range n {
			for r := range rows {
				y := 0.0
				for j := range c {
					y += float64(x[i*c+j]) * float64(w.Data[r*c+j])
				}
				want += 2 * y * y / float64(n)
			}
		}
		if got := h.energy(w); math.Abs(got-want) > 1e-6*want {
			t.Errorf("%d samples: energy %v, want %v", n, got, want)
		}
		sh, err := SparseGPTShares([]*Hessian{h}, []Weight{w}, SweepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := newFactor(h, DefaultDamp, nil, DefaultBlockSize)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range w.Data {
			s := float64(v) / float64(f.diag[i%c])
			if e := s * s / want; math.Abs(float64(sh[i])-e) > 1e-5*e {
				t.Fatalf("%d samples: share %d = %v, want %v", n, i, sh[i], e)
			}
		}
	}
}
