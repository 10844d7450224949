package obs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// perturbed returns x with every value moved by relative noise of size
// eps (the inputs a layer gets once the layers before it are compressed).
func perturbed(x []float32, eps float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v + float32(eps*r.NormFloat64()*(math.Abs(float64(v))+0.1))
	}
	return out
}

// perturbedLayer draws n activation rows x of a layer of cols features,
// their perturbed copy xc (30% relative noise) and a rows×cols weight,
// all from seed.
func perturbedLayer(cols, rows, n int, seed uint64) (x, xc []float32, w Weight) {
	x = newLayer(cols, seed).sample(n, seed+1)
	return x, perturbed(x, 0.3, seed+2), randomWeight(rows, cols, seed+3)
}

func crossOf(t testing.TB, cur, orig []float32, cols int) *Cross {
	t.Helper()
	c := NewCross(cols)
	if err := c.Add(cur, orig); err != nil {
		t.Fatal(err)
	}
	return c
}

// targetError returns ‖X'·Wcᵀ − X·Wᵀ‖ / ‖X·Wᵀ‖: how far the layer with
// weight wc on inputs xc is from the original layer on its inputs x.
func targetError(x, xc []float32, w, wc Weight) float64 {
	n := len(x) / w.Cols
	num, den := 0.0, 0.0
	for i := range n {
		xi, ci := x[i*w.Cols:(i+1)*w.Cols], xc[i*w.Cols:(i+1)*w.Cols]
		for r := range w.Rows {
			a, b := 0.0, 0.0
			for j := range xi {
				a += float64(xi[j]) * float64(w.Data[r*w.Cols+j])
				b += float64(ci[j]) * float64(wc.Data[r*w.Cols+j])
			}
			num += (a - b) * (a - b)
			den += a * a
		}
	}
	return math.Sqrt(num / den)
}

// TestAnchorUnchangedInputs: when the layer's inputs are the original's,
// the weight that reproduces the original outputs is the weight itself,
// whatever the ridge.
func TestAnchorUnchangedInputs(t *testing.T) {
	const cols = 24
	l := newLayer(cols, 1)
	x := l.sample(200, 2)
	w := randomWeight(10, cols, 3)
	for _, ridge := range []float64{1e-6, 0.1, 10} {
		a, err := Anchor(hessianOf(t, x, cols), crossOf(t, x, x, cols), w, ridge)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range a.Data {
			if math.Abs(float64(v-w.Data[i])) > 1e-3*(1+math.Abs(float64(w.Data[i]))) {
				t.Fatalf("ridge %v: element %d moved from %v to %v", ridge, i, w.Data[i], v)
			}
		}
	}
}

// TestAnchorIsLeastSquares: with perturbed inputs and a tiny ridge, the
// anchored weight is the least-squares solution of X'·W*ᵀ ≈ X·Wᵀ (checked
// against gonum's QR solve of the rows themselves), and it reproduces the
// original outputs much better than the weight itself.
func TestAnchorIsLeastSquares(t *testing.T) {
	const cols, rows, n = 16, 6, 300
	x, xc, w := perturbedLayer(cols, rows, n, 4)
	a, err := Anchor(hessianOf(t, xc, cols), crossOf(t, xc, x, cols), w, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	xcm := mat.NewDense(n, cols, float64s32(xc))
	y := mat.NewDense(n, rows, nil)
	y.Mul(mat.NewDense(n, cols, float64s32(x)), mat.NewDense(rows, cols, float64s32(w.Data)).T())
	var want mat.Dense
	if err := want.Solve(xcm, y); err != nil {
		t.Fatal(err)
	}
	for r := range rows {
		for j := range cols {
			got, exp := float64(a.Data[r*cols+j]), want.At(j, r)
			if math.Abs(got-exp) > 1e-3*(1+math.Abs(exp)) {
				t.Fatalf("W*[%d,%d] = %v, least squares gives %v", r, j, got, exp)
			}
		}
	}
	before, after := targetError(x, xc, w, w), targetError(x, xc, w, a)
	if !(after < 0.8*before) {
		t.Errorf("error against the original outputs: %.4f with W, %.4f with W*; want W* clearly better", before, after)
	}
}

// TestAnchoredGPTQ: on perturbed inputs, GPTQ of the anchored weight ends
// closer to the original layer's outputs, on rows it was not fitted on,
// than GPTQ of the weight itself (the point of target=original).
func TestAnchoredGPTQ(t *testing.T) {
	const cols, rows = 64, 32
	l := newLayer(cols, 8)
	x := l.sample(1024, 9)
	xc := perturbed(x, 0.2, 10)
	w := randomWeight(rows, cols, 11)
	h := hessianOf(t, xc, cols)
	a, err := Anchor(h, crossOf(t, xc, x, cols), w, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	q := QuantOptions{Bits: 4, Group: 32, Symmetric: true, ActOrder: true}
	plain, err := GPTQ(h, w, q, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anchored, err := GPTQ(h, a, q, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ex := l.sample(512, 12) // held out
	exc := perturbed(ex, 0.2, 13)
	ep, ea := targetError(ex, exc, w, plain.Dequantized), targetError(ex, exc, w, anchored.Dequantized)
	t.Logf("held-out error against the original outputs: GPTQ %.4f, anchored GPTQ %.4f", ep, ea)
	if !(ea < 0.9*ep) {
		t.Errorf("anchored GPTQ %.4f is not clearly below GPTQ %.4f", ea, ep)
	}
}

// TestAnchorDeadFeature: a feature never active in calibration keeps its
// weight (nothing determines it), and bad arguments are refused.
func TestAnchorDeadFeature(t *testing.T) {
	const cols = 8
	l := newLayer(cols, 14)
	x := l.sample(100, 15)
	for i := 0; i < len(x); i += cols {
		x[i+3] = 0
		x[i+5] *= 1e-20 // denormal energy: as good as dead
	}
	xc := perturbed(x, 0.2, 16)
	for i := 0; i < len(xc); i += cols {
		xc[i+3], xc[i+5] = 0, x[i+5]
	}
	w := randomWeight(4, cols, 17)
	a, err := Anchor(hessianOf(t, xc, cols), crossOf(t, xc, x, cols), w, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for r := range 4 {
		for _, j := range []int{3, 5} {
			if a.Data[r*cols+j] != w.Data[r*cols+j] {
				t.Errorf("row %d: feature %d's weight moved from %v to %v", r, j, w.Data[r*cols+j], a.Data[r*cols+j])
			}
		}
	}
	h := hessianOf(t, xc, cols)
	if _, err := Anchor(h, crossOf(t, xc, x, cols), w, 0); err == nil {
		t.Error("ridge 0 accepted")
	}
	if _, err := Anchor(h, crossOf(t, xc[:cols*10], x[:cols*10], cols), w, 0.1); err == nil {
		t.Error("cross products of other rows accepted")
	}
	if err := NewCross(cols).Add(xc, x[:cols]); err == nil {
		t.Error("batches of different lengths accepted")
	}
	bad := append([]float32(nil), x[:cols]...)
	bad[2] = float32(math.NaN())
	if err := NewCross(cols).Add(xc[:cols], bad); err == nil {
		t.Error("NaN accepted")
	}
}

// TestGridSearch: the searched grid never rounds a group worse than the
// full range (shrink 1 is a candidate) and, on Gaussian groups, better on
// average; the codes still dequantize to what the search counted.
func TestGridSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 1))
	for _, sym := range []bool{true, false} {
		worse := 0
		sumPlain, sumSearched := 0.0, 0.0
		for range 200 {
			v := make([]float32, 32)
			d := make([]float64, 32)
			for j := range v {
				v[j] = float32(r.NormFloat64())
				d[j] = 0.1 + r.Float64()
			}
			plain := newQuantized(1, 32, QuantOptions{Bits: 4, Group: 32, Symmetric: sym})
			plain.setParams(0, 0, v, sym, nil)
			searched := newQuantized(1, 32, QuantOptions{Bits: 4, Group: 32, Symmetric: sym})
			searched.setParams(0, 0, v, sym, d)
			ep := plain.roundingError(v, d, float64(plain.Scales[0]), float64(plain.Zeros[0]), math.Inf(1))
			es := searched.roundingError(v, d, float64(searched.Scales[0]), float64(searched.Zeros[0]), math.Inf(1))
			if es > ep*(1+1e-9) {
				worse++
			}
			sumPlain += ep
			sumSearched += es
			// The stored codes dequantize to what roundingError counted.
			sum := 0.0
			for j, x := range v {
				e := float64(x - searched.quantize(0, j, x))
				sum += d[j] * e * e
			}
			if math.Abs(sum-es) > 1e-6*(1+es) {
				t.Fatalf("symmetric %v: quantize's error %v, the search's %v", sym, sum, es)
			}
		}
		t.Logf("symmetric %v: weighted rounding error %.4f searched, %.4f full range", sym, sumSearched, sumPlain)
		if worse > 0 || !(sumSearched < 0.95*sumPlain) {
			t.Errorf("symmetric %v: search worse than the full range on %d of 200 groups; total %.4f against %.4f", sym, worse, sumSearched, sumPlain)
		}
	}
}

// TestRefitAnchored: after a mask is fixed, the conjugate-gradient steps
// solve the least-squares fit of the original outputs over the kept
// features alone (run to convergence, checked per row against gonum's QR
// solve); RefitAnchored's few steps move the kept weights towards that
// fit and lower the error against the original outputs; pruned weights
// stay zero.
func TestRefitAnchored(t *testing.T) {
	const cols, rows, n = 16, 5, 300
	x, xc, w := perturbedLayer(cols, rows, n, 19)
	h, cr := hessianOf(t, xc, cols), crossOf(t, xc, x, cols)
	comp := magnitude(w, Pattern{Sparsity: 0.5})
	exact := Weight{Rows: rows, Cols: cols, Data: append([]float32(nil), comp.Data...)}
	f, err := NewAnchorFit(h, cr, w, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.refit(exact, 500); err != nil {
		t.Fatal(err)
	}
	few := Weight{Rows: rows, Cols: cols, Data: append([]float32(nil), comp.Data...)}
	info, err := RefitAnchored(h, cr, w, few, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if info.Iterations > AnchorSteps {
		t.Errorf("%d steps, want at most %d", info.Iterations, AnchorSteps)
	}
	before, after, best := targetError(x, xc, w, comp), targetError(x, xc, w, few), targetError(x, xc, w, exact)
	t.Logf("error against the original outputs: %.4f masked, %.4f after %d steps, %.4f solved", before, after, info.Iterations, best)
	if !(after < before && best <= after*(1+1e-6)) {
		t.Errorf("error %.4f masked, %.4f after the steps, %.4f solved: want decreasing", before, after, best)
	}
	dist := func(a, b Weight) float64 {
		s := 0.0
		for i := range a.Data {
			d := float64(a.Data[i] - b.Data[i])
			s += d * d
		}
		return s
	}
	if !(dist(few, exact) < dist(comp, exact)) {
		t.Error("the steps did not move the weights towards the least-squares fit")
	}
	for r := range rows {
		var kept []int
		for j, v := range comp.Row(r) {
			if v != 0 {
				kept = append(kept, j)
			} else if exact.Data[r*cols+j] != 0 || few.Data[r*cols+j] != 0 {
				t.Fatalf("row %d, feature %d: a pruned weight came back", r, j)
			}
		}
		if len(kept) != cols/2 {
			t.Fatalf("row %d keeps %d weights, want %d", r, len(kept), cols/2)
		}
		a := mat.NewDense(n, len(kept), nil)
		y := mat.NewVecDense(n, nil)
		for i := range n {
			for p, j := range kept {
				a.Set(i, p, float64(xc[i*cols+j]))
			}
			s := 0.0
			for j := range cols {
				s += float64(x[i*cols+j]) * float64(w.Data[r*cols+j])
			}
			y.SetVec(i, s)
		}
		var want mat.VecDense
		if err := want.SolveVec(a, y); err != nil {
			t.Fatal(err)
		}
		for p, j := range kept {
			if got := float64(exact.Data[r*cols+j]); math.Abs(got-want.AtVec(p)) > 1e-3*(1+math.Abs(want.AtVec(p))) {
				t.Fatalf("row %d, feature %d: %v, least squares gives %v", r, j, got, want.AtVec(p))
			}
		}
	}
}

// TestAnchorFitSameInputs: a fit told the inputs are the original's (no
// cross products) gives the weight back and steps exactly as one given
// the cross products of identical inputs.
func TestAnchorFitSameInputs(t *testing.T) {
	const cols, rows, n = 16, 5, 300
	x, _, w := perturbedLayer(cols, rows, n, 23)
	h := hessianOf(t, x, cols)
	same, err := NewAnchorFit(h, nil, w, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := same.Weight()
	if err != nil || !slices.Equal(got.Data, w.Data) {
		t.Fatalf("Weight() = %v, %v; want the original weight", got.Data[:4], err)
	}
	paired, err := NewAnchorFit(h, crossOf(t, x, x, cols), w, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	comp := magnitude(w, Pattern{Sparsity: 0.5})
	a := Weight{Rows: rows, Cols: cols, Data: slices.Clone(comp.Data)}
	b := Weight{Rows: rows, Cols: cols, Data: slices.Clone(comp.Data)}
	if _, err := same.Refit(a); err != nil {
		t.Fatal(err)
	}
	if _, err := paired.Refit(b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Data {
		if math.Abs(float64(a.Data[i]-b.Data[i])) > 1e-4*(1+math.Abs(float64(b.Data[i]))) {
			t.Fatalf("element %d: %v without cross products, %v with", i, a.Data[i], b.Data[i])
		}
	}
	if _, err := NewAnchorFit(h, nil, w, 0); err == nil {
		t.Error("ridge 0 accepted without cross products")
	}
}
