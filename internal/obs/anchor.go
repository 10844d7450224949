package obs

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"
)

// Cross accumulates X'ᵀX, the cross products of a layer's inputs in two
// models fed the same samples: X' [n, Cols] in the model being compressed
// (whose earlier layers are compressed already) and X [n, Cols] in the
// original, row i of both taken at the same position of the same sample.
// With the [Hessian] of X' it is what [Anchor] needs to fit the layer to
// the original layer's outputs X·Wᵀ for any weight W, without holding X or
// X'. Sums are kept in float64.
type Cross struct {
	cols, n int
	xx      []float64 // cols x cols, row-major: [i, j] = Σ x'_i·x_j
}

// NewCross returns an empty accumulator for inputs of cols features.
func NewCross(cols int) *Cross { return &Cross{cols: cols, xx: make([]float64, cols*cols)} }

// Samples returns the number of row pairs added so far.
func (c *Cross) Samples() int { return c.n }

// Add accumulates matching batches: cur (X') and orig (X) are row-major
// [rows, Cols] float32 of the same length. NaN or infinite values are
// refused.
func (c *Cross) Add(cur, orig []float32) error {
	if c.cols <= 0 || len(cur)%c.cols != 0 || len(cur) != len(orig) {
		return fmt.Errorf("cross products: batches of %d and %d values are not the same rows of %d features", len(cur), len(orig), c.cols)
	}
	n := len(cur) / c.cols
	a, err := float64s(cur, c.cols, nil, "activation", c.n)
	if err != nil {
		return fmt.Errorf("cross products: %w", err)
	}
	b, err := float64s(orig, c.cols, nil, "original activation", c.n)
	if err != nil {
		return fmt.Errorf("cross products: %w", err)
	}
	gonum.Implementation{}.Dgemm(blas.Trans, blas.NoTrans, c.cols, c.cols, n, 1, a, c.cols, b, c.cols, 1, c.xx, c.cols)
	c.n += n
	return nil
}

// Anchor returns the weight W* that makes the layer reproduce the
// original layer's outputs from the inputs it now receives, the ridge
// pulling towards w itself:
//
//	min ‖X'·W*ᵀ − X·wᵀ‖² + ridge·Σ_j H_jj·‖W*_:j − w_:j‖²
//
// with X' the layer's inputs in the model being compressed (h), X the
// original's (c: X'ᵀX), w the original weight. A compression method
// (GPTQ, SparseGPT, Wanda) applied to W* with the Hessian of X' then
// minimizes the error against the original layer's outputs rather than
// against what the layer computes on its already perturbed inputs: since
// W* is the least-squares solution, ‖X'·Ŵᵀ − X·wᵀ‖² = ‖X'·(Ŵ − W*)ᵀ‖² +
// const for any Ŵ (the asymmetric calibration of GPTAQ, Li et al. 2025).
// ridge is relative to each feature's own energy H_jj, so what few
// calibration rows cannot determine keeps the original weight; features
// never active keep it too. When X' = X the answer is w. One Cholesky
// factorization of Cols×Cols; w is not modified.
func Anchor(h *Hessian, c *Cross, w Weight, ridge float64) (Weight, error) {
	if err := h.ready(w, "anchor"); err != nil {
		return Weight{}, err
	}
	switch {
	case c == nil || c.cols != w.Cols:
		return Weight{}, fmt.Errorf("anchor: cross products of %d features for a weight of %d columns", crossCols(c), w.Cols)
	case c.n != h.n:
		return Weight{}, fmt.Errorf("anchor: %d cross-product rows but %d Hessian rows", c.n, h.n)
	case !(ridge > 0) || math.IsInf(ridge, 0):
		return Weight{}, fmt.Errorf("anchor: ridge %v must be > 0", ridge)
	}
	k := w.Cols
	scale := 2 / float64(h.n)
	a := mat.NewSymDense(k, nil)
	pull := make([]float64, k)
	for i := range k {
		for j := i; j < k; j++ {
			a.SetSym(i, j, h.At(i, j))
		}
		d := h.At(i, i)
		if !h.cs.active(i) || d <= 0 {
			// Nothing determines a dead feature: its weight stays.
			for j := range k {
				if j != i {
					a.SetSym(i, j, 0)
				}
			}
			d = 1
			pull[i] = 1
			a.SetSym(i, i, 1)
			continue
		}
		pull[i] = ridge * d
		a.SetSym(i, i, d+pull[i])
	}
	// rhs = scale·X'ᵀX·wᵀ + pull∘wᵀ, [Cols, Rows].
	wt := mat.NewDense(w.Rows, k, float64s32(w.Data))
	xx := mat.NewDense(k, k, c.xx)
	rhs := mat.NewDense(k, w.Rows, nil)
	rhs.Mul(xx, wt.T())
	rhs.Scale(scale, rhs)
	for i := range k {
		if !h.cs.active(i) || h.At(i, i) <= 0 {
			for r := range w.Rows {
				rhs.Set(i, r, float64(w.Data[r*k+i]))
			}
			continue
		}
		for r := range w.Rows {
			rhs.Set(i, r, rhs.At(i, r)+pull[i]*float64(w.Data[r*k+i]))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return Weight{}, fmt.Errorf("anchor: %d features' Hessian with ridge %v is not positive definite", k, ridge)
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, rhs); err != nil {
		return Weight{}, fmt.Errorf("anchor: %w", err)
	}
	out := NewWeight(w.Rows, k)
	for r := range w.Rows {
		row := out.Row(r)
		for i := range k {
			v := x.At(i, r)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Weight{}, fmt.Errorf("anchor: row %d, feature %d solved to %v", r, i, v)
			}
			row[i] = float32(v)
		}
	}
	return out, nil
}

func crossCols(c *Cross) int {
	if c == nil {
		return 0
	}
	return c.cols
}

func float64s32(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
