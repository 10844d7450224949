package obs

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestRepairOneRowAgainstNormalEquations(t *testing.T) {
	const n, c = 40, 8
	x := newLayer(c, 23).sample(n, 24)
	h := hessianOf(t, x, c)
	orig := randomWeight(1, c, 25)
	keep := []int{0, 2, 3, 6}
	for _, ridge := range []float64{0, 0.1} {
		comp := NewWeight(1, c)
		for _, j := range keep {
			comp.Data[j] = 1 // any nonzero marks the kept set
		}
		if err := Repair(h, orig, comp, ridge); err != nil {
			t.Fatal(err)
		}
		// Direct: (X_Kᵀ X_K + λ n/2 I) w = X_Kᵀ X w_orig, λ = ridge·mean(diag H).
		xk := mat.NewDense(n, len(keep), nil)
		y := mat.NewVecDense(n, nil)
		mean := 0.0
		for j := range c {
			mean += h.At(j, j) / c
		}
		for r := range n {
			s := 0.0
			for j := range c {
				s += float64(x[r*c+j]) * float64(orig.Data[j])
			}
			y.SetVec(r, s)
			for p, j := range keep {
				xk.Set(r, p, float64(x[r*c+j]))
			}
		}
		var a mat.Dense
		a.Mul(xk.T(), xk)
		for p := range keep {
			a.Set(p, p, a.At(p, p)+ridge*mean*n/2)
		}
		var b, want mat.VecDense
		b.MulVec(xk.T(), y)
		if err := want.SolveVec(&a, &b); err != nil {
			t.Fatal(err)
		}
		for p, j := range keep {
			if d := math.Abs(float64(comp.Data[j]) - want.AtVec(p)); d > 1e-4 {
				t.Errorf("ridge %v: weight %d = %v, normal equations %v", ridge, j, comp.Data[j], want.AtVec(p))
			}
		}
		if zeros(comp.Data) != c-len(keep) {
			t.Errorf("repair changed the mask: %v", comp.Data)
		}
	}
}

func TestRepairImprovesMagnitudePruning(t *testing.T) {
	h, w, x := planted(t)
	comp := magnitude(w, Pattern{Sparsity: 0.5})
	before := outputError(x, w, comp)
	if err := Repair(h, w, comp, 0.01); err != nil {
		t.Fatal(err)
	}
	after := outputError(x, w, comp)
	t.Logf("magnitude 50%%: %.4f, repaired %.4f", before, after)
	if after > before/2 {
		t.Errorf("repair left error %.4f of %.4f", after, before)
	}
}

func TestCorrectBias(t *testing.T) {
	const n, c = 20, 5
	x := newLayer(c, 26).sample(n, 27)
	h := hessianOf(t, x, c)
	orig := randomWeight(3, c, 28)
	comp := magnitude(orig, Pattern{Sparsity: 0.4})
	bias := []float32{1, 2, 3}
	if err := CorrectBias(h, orig, comp, bias); err != nil {
		t.Fatal(err)
	}
	// The corrected layer's mean output equals the original's.
	for r := range 3 {
		mo, mc := 0.0, 0.0
		for i := range n {
			for j := range c {
				mo += float64(x[i*c+j]) * float64(orig.Data[r*c+j]) / n
				mc += float64(x[i*c+j]) * float64(comp.Data[r*c+j]) / n
			}
		}
		if d := (mc + float64(bias[r])) - (mo + float64(r+1)); math.Abs(d) > 1e-4 {
			t.Errorf("row %d: mean output off by %v", r, d)
		}
	}
}

func TestBadInput(t *testing.T) {
	h := hessianOf(t, newLayer(8, 29).sample(10, 30), 8)
	w := randomWeight(2, 8, 31)
	cases := []struct {
		name, want string
		err        error
	}{
		{"ragged batch", "whole number of rows", NewHessian(8).Add(make([]float32, 9))},
		{"nan", "is NaN", NewHessian(2).Add([]float32{1, float32(math.NaN())})},
		{"no samples", "no calibration samples", func() error {
			_, err := SparseGPT(NewHessian(8), w, Pattern{Sparsity: 0.5}, SweepOptions{})
			return err
		}()},
		{"features", "weight has 4 input features, Hessian 8", func() error { _, err := Wanda(h, randomWeight(2, 4, 1), Pattern{Sparsity: 0.5}); return err }()},
		{"data", "15 values for shape 2x8", func() error {
			_, err := GPTQ(h, Weight{2, 8, make([]float32, 15)}, QuantOptions{Bits: 4}, SweepOptions{})
			return err
		}()},
		{"sparsity", "sparsity 1.5", func() error { _, err := SparseGPT(h, w, Pattern{Sparsity: 1.5}, SweepOptions{}); return err }()},
		{"nm", "not a multiple of 3", func() error { _, err := SparseGPT(h, w, Pattern{N: 1, M: 3}, SweepOptions{}); return err }()},
		{"n>m", "N must be in [0, M]", func() error { _, err := Wanda(h, w, Pattern{N: 5, M: 4}); return err }()},
		{"bits", " bits: want 2 to 8", func() error {
			_, err := RTN(w, QuantOptions{Bits: 1})
			_, err2 := RTN(w, QuantOptions{Bits: 9})
			return join(err, err2)
		}()},
		{"damp", "damp -1", func() error { _, err := GPTQ(h, w, QuantOptions{Bits: 4}, SweepOptions{Damp: -1}); return err }()},
		{"bias", "bias has 1 entries for 2 rows", CorrectBias(h, w, w, []float32{0})},
		{"ridge", "ridge -1 is negative", Repair(h, w, w.Clone(), -1)},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestRepairDropsDeadFeatures(t *testing.T) {
	// Nothing in calibration determines a feature that never fires: with
	// no ridge its weight goes to zero instead of failing.
	x := newLayer(4, 32).sample(10, 33)
	for r := range 10 {
		x[r*4+1] = 0
	}
	w := randomWeight(1, 4, 34)
	comp := w.Clone()
	if err := Repair(hessianOf(t, x, 4), w, comp, 0); err != nil {
		t.Fatal(err)
	}
	if comp.Data[1] != 0 || zeros(comp.Data) != 1 {
		t.Errorf("repaired %v, want only feature 1 zeroed", comp.Data)
	}
}

func join(a, b error) error {
	if a == nil || b == nil {
		return nil
	}
	return a
}
