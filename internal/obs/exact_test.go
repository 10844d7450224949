package obs

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestHessianAgainstDirect(t *testing.T) {
	const n, c = 13, 7
	x := newLayer(c, 5).sample(n, 6)
	h := NewHessian(c)
	// Three uneven batches must give the sums of one.
	for _, b := range [][2]int{{0, 5}, {5, 6}, {6, 13}} {
		if err := h.Add(x[b[0]*c : b[1]*c]); err != nil {
			t.Fatal(err)
		}
	}
	other := hessianOf(t, x[:4*c], c)
	rest := hessianOf(t, x[4*c:], c)
	if err := other.Merge(rest); err != nil {
		t.Fatal(err)
	}
	if h.Samples() != n || other.Samples() != n {
		t.Fatalf("samples %d, %d, want %d", h.Samples(), other.Samples(), n)
	}
	for i := range c {
		sum, sq := 0.0, 0.0
		for r := range n {
			sum += float64(x[r*c+i])
			sq += float64(x[r*c+i]) * float64(x[r*c+i])
		}
		if d := h.Mean()[i] - sum/n; math.Abs(d) > 1e-12 {
			t.Errorf("mean %d off by %g", i, d)
		}
		if d := h.ColumnNorms()[i] - math.Sqrt(sq); math.Abs(d) > 1e-9 {
			t.Errorf("norm %d off by %g", i, d)
		}
		for j := range c {
			want := 0.0
			for r := range n {
				want += float64(x[r*c+i]) * float64(x[r*c+j])
			}
			want *= 2.0 / n
			if d := h.At(i, j) - want; math.Abs(d) > 1e-9*math.Abs(want)+1e-12 {
				t.Errorf("H[%d,%d] = %v, want %v", i, j, h.At(i, j), want)
			}
			if d := other.At(i, j) - want; math.Abs(d) > 1e-9*math.Abs(want)+1e-12 {
				t.Errorf("merged H[%d,%d] = %v, want %v", i, j, other.At(i, j), want)
			}
		}
	}
}

// fixedMask prunes the weights a fixed mask names.
type fixedMask struct {
	cols int
	mask []bool // [rows, cols], in sweep order
}

func (f fixedMask) begin(r, i1 int, w, d []float32) {}
func (f fixedMask) value(r, i1, k int, w, d []float32) float32 {
	if f.mask[r*f.cols+i1+k] {
		return 0
	}
	return w[k]
}

// naiveOBS is the sequential form of the sweep (GPTQ paper, eq. 2-3): the
// inverse Hessian is formed explicitly and column j is eliminated from it
// after it is decided.
func naiveOBS(h *mat.SymDense, w Weight, mask []bool) Weight {
	c := w.Cols
	var inv mat.Dense
	if err := inv.Inverse(h); err != nil {
		panic(err)
	}
	out := w.Clone()
	for r := range w.Rows {
		hi := mat.DenseCopyOf(&inv)
		row := make([]float64, c)
		for j, v := range w.Row(r) {
			row[j] = float64(v)
		}
		for j := range c {
			q := row[j]
			if mask[r*c+j] {
				q = 0
			}
			e := (row[j] - q) / hi.At(j, j)
			row[j] = q
			for k := j + 1; k < c; k++ {
				row[k] -= e * hi.At(j, k)
			}
			d := hi.At(j, j)
			var upd mat.Dense
			upd.Outer(1/d, hi.ColView(j), hi.RowView(j))
			hi.Sub(hi, &upd)
		}
		for j := range c {
			out.Data[r*c+j] = float32(row[j])
		}
	}
	return out
}

// dampedDense is H with the same dampening newFactor applies.
func dampedDense(h *Hessian, damp float64) *mat.SymDense {
	c := h.cols
	s := mat.NewSymDense(c, nil)
	mean := 0.0
	for i := range c {
		mean += h.At(i, i)
	}
	for i := range c {
		for j := i; j < c; j++ {
			s.SetSym(i, j, h.At(i, j))
		}
		s.SetSym(i, i, h.At(i, i)+damp*mean/float64(c))
	}
	return s
}

func TestSweepMatchesSequentialOBS(t *testing.T) {
	const rows, c = 5, 11
	h := hessianOf(t, newLayer(c, 7).sample(40, 8), c)
	w := randomWeight(rows, c, 9)
	r := rand.New(rand.NewPCG(10, 0))
	mask := make([]bool, rows*c)
	for i := range mask {
		mask[i] = r.IntN(3) == 0
	}
	want := naiveOBS(dampedDense(h, DefaultDamp), w, mask)
	for _, bs := range []int{1, 3, 4, 11, 128} {
		f, err := newFactor(h, 0, nil, bs)
		if err != nil {
			t.Fatal(err)
		}
		got := f.sweep(w, fixedMask{c, mask})
		for i := range got.Data {
			if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-4*(1+math.Abs(float64(want.Data[i]))) {
				t.Fatalf("block %d: weight %d = %v, sequential OBS gives %v", bs, i, got.Data[i], want.Data[i])
			}
		}
	}
}

func TestSingleRemovalClosedForm(t *testing.T) {
	// Removing weight 0 of one row: δw = −w₀/[H⁻¹]₀₀ · H⁻¹[0,:].
	const c = 6
	h := hessianOf(t, newLayer(c, 11).sample(30, 12), c)
	w := randomWeight(1, c, 13)
	w.Data[0] = 1e-4 // the least salient weight, so the one removed
	got, err := SparseGPT(h, w, Pattern{Sparsity: 1.0 / c}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var inv mat.Dense
	if err := inv.Inverse(dampedDense(h, DefaultDamp)); err != nil {
		t.Fatal(err)
	}
	for j := range c {
		want := float64(w.Data[j]) - float64(w.Data[0])/inv.At(0, 0)*inv.At(0, j)
		if math.Abs(float64(got.Data[j])-want) > 1e-6 {
			t.Errorf("weight %d = %v, closed form %v", j, got.Data[j], want)
		}
	}
}

func TestDeadFeatures(t *testing.T) {
	const c = 8
	x := newLayer(c, 14).sample(50, 15)
	for r := range 50 {
		x[r*c+3] = 0 // feature 3 never fires
	}
	h := hessianOf(t, x, c)
	w := randomWeight(4, c, 16)
	sg, err := SparseGPT(h, w, Pattern{Sparsity: 0.25, Scope: Row}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sgl, err := SparseGPT(h, w, Pattern{Sparsity: 0.25}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if z := zeros(sgl.Data); z != 8 {
		t.Errorf("per layer: %d zeros, want 8", z)
	}
	gq, err := GPTQ(h, w, QuantOptions{Bits: 8}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for r := range 4 {
		if sg.Data[r*c+3] != 0 || sgl.Data[r*c+3] != 0 || gq.Dequantized.Data[r*c+3] != 0 {
			t.Errorf("row %d: dead feature kept weight %v / %v / %v", r, sg.Data[r*c+3], sgl.Data[r*c+3], gq.Dequantized.Data[r*c+3])
		}
		if z := zeros(sg.Row(r)); z != 2 {
			t.Errorf("row %d: %d zeros, want 2", r, z)
		}
	}
}

func TestQuantizedIsConsistent(t *testing.T) {
	const rows, c = 6, 70 // 70 = two groups of 32 and one of 6
	l := newLayer(c, 17)
	h := hessianOf(t, l.sample(200, 18), c)
	w := randomWeight(rows, c, 19)
	for _, o := range []QuantOptions{
		{Bits: 4, Group: 32}, {Bits: 4, Group: 32, Symmetric: true, ActOrder: true},
		{Bits: 8}, {Bits: 8, Group: 16, ActOrder: true},
	} {
		rtn, _ := RTN(w, o)
		gq, err := GPTQ(h, w, o, SweepOptions{BlockSize: 24})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []*Quantized{rtn, gq} {
			wantGroup := o.Group
			if wantGroup == 0 {
				wantGroup = c
			}
			if q.Group != wantGroup || q.Groups() != (c+wantGroup-1)/wantGroup || len(q.Scales) != rows*q.Groups() {
				t.Fatalf("%+v: group %d, %d groups, %d scales", o, q.Group, q.Groups(), len(q.Scales))
			}
			for r := range rows {
				for j := range c {
					g := r*q.Groups() + j/q.Group
					code := q.Codes[r*c+j]
					if int(code) >= 1<<o.Bits {
						t.Fatalf("code %d out of range", code)
					}
					if o.Symmetric && q.Zeros[g] != 1<<(o.Bits-1) {
						t.Fatalf("symmetric zero point %d", q.Zeros[g])
					}
					want := q.Scales[g] * float32(float64(code)-float64(q.Zeros[g]))
					if got := q.Dequantized.Data[r*c+j]; got != want {
						t.Fatalf("%+v: (%d,%d) dequantized %v, codes give %v", o, r, j, got, want)
					}
				}
			}
		}
		// Static groups (act-order, one group per row) come from w itself,
		// as RTN's do.
		if o.ActOrder || o.Group == 0 {
			for i := range rtn.Scales {
				if rtn.Scales[i] != gq.Scales[i] || rtn.Zeros[i] != gq.Zeros[i] {
					t.Fatalf("%+v: static group %d differs from RTN's", o, i)
				}
			}
		}
	}
}

func TestActOrderMatchesPermutedProblem(t *testing.T) {
	// GPTQ with act-order equals plain GPTQ on the permuted problem with
	// one static group per row, mapped back.
	const rows, c = 4, 9
	x := newLayer(c, 20).sample(60, 21)
	h := hessianOf(t, x, c)
	w := randomWeight(rows, c, 22)
	o := QuantOptions{Bits: 4, ActOrder: true}
	got, err := GPTQ(h, w, o, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perm := make([]int, c)
	for j := range perm {
		perm[j] = j
	}
	diag := func(j int) float64 { return h.At(j, j) }
	for i := range perm { // selection sort by decreasing H_jj, stable
		for k := i + 1; k < c; k++ {
			if diag(perm[k]) > diag(perm[i]) {
				perm[i], perm[k] = perm[k], perm[i]
			}
		}
	}
	px := make([]float32, len(x))
	for r := range 60 {
		for k, j := range perm {
			px[r*c+k] = x[r*c+j]
		}
	}
	plain, err := GPTQ(hessianOf(t, px, c), permuteColumns(w, perm), QuantOptions{Bits: 4}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back := unpermuteColumns(plain.Dequantized, perm)
	for i := range back.Data {
		if math.Abs(float64(back.Data[i]-got.Dequantized.Data[i])) > 1e-5 {
			t.Fatalf("weight %d: act-order %v, permuted problem %v", i, got.Dequantized.Data[i], back.Data[i])
		}
	}
}
