package obs

import (
	"errors"
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
//	min ‖X'·W*ᵀ − X·wᵀ‖² + ridge·Σ_j ‖X'_:j‖²·‖W*_:j − w_:j‖²
//
// with X' the layer's inputs in the model being compressed (h), X the
// original's (c: X'ᵀX), w the original weight. A compression method
// (GPTQ, SparseGPT, Wanda) applied to W* with the Hessian of X' then
// minimizes the error against the original layer's outputs rather than
// against what the layer computes on its already perturbed inputs: were
// W* the plain least-squares solution (ridge → 0), ‖X'·Ŵᵀ − X·wᵀ‖² =
// ‖X'·(Ŵ − W*)ᵀ‖² + const for any Ŵ (the asymmetric calibration of
// GPTAQ, Li et al. 2025); with a ridge the identity is approximate (a
// pruning method's kept weights are refitted exactly afterwards by
// [RefitAnchored]). The ridge is relative to each feature's own energy
// ‖X'_:j‖², so what few
// calibration rows cannot determine keeps the original weight; features
// never active keep it too. When X' = X the answer is w. One Cholesky
// factorization of Cols×Cols; w is not modified.
func Anchor(h *Hessian, c *Cross, w Weight, ridge float64) (Weight, error) {
	a, b, err := anchored(h, c, w, w, ridge, "anchor")
	if err != nil {
		return Weight{}, err
	}
	k := w.Cols
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(k, a)) {
		return Weight{}, fmt.Errorf("anchor: %d features' Hessian with ridge %v is not positive definite", k, ridge)
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, mat.NewDense(w.Rows, k, b).T()); err != nil && !conditionOnly(err) {
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

// AnchorSteps is the number of conjugate-gradient steps [RefitAnchored]
// takes.
const AnchorSteps = 3

// RefitAnchored moves the kept weights of comp (its nonzeros; zeros stay
// zero) towards the least-squares fit of the original layer's outputs, as
// [Anchor] does for a whole weight: orig is the original weight, and the
// ridge pulls towards comp's own values (what the compression left). It
// takes AnchorSteps Jacobi-preconditioned conjugate-gradient steps on all
// rows at once, warm-started from comp, rather than solving exactly: the
// cost stays a few [Rows, Cols]·[Cols, Cols] products whatever the layer
// (an exact solve of a 4096×4096 layer at 50% took 19 steps, 163 s), and
// stopping early keeps the fit from following few calibration rows
// (BENCHMARKS.md). Features never active keep comp's values. comp is
// changed in place; Iterations and Residual say how far the steps got.
func RefitAnchored(h *Hessian, c *Cross, orig, comp Weight, ridge float64) (RefitInfo, error) {
	return refitAnchored(h, c, orig, comp, ridge, AnchorSteps)
}

func refitAnchored(h *Hessian, c *Cross, orig, comp Weight, ridge float64, steps int) (RefitInfo, error) {
	if comp.Rows != orig.Rows || comp.Cols != orig.Cols {
		return RefitInfo{}, fmt.Errorf("refit: compressed weight is %dx%d, original %dx%d", comp.Rows, comp.Cols, orig.Rows, orig.Cols)
	}
	a, b, err := anchored(h, c, orig, comp, ridge, "refit")
	if err != nil {
		return RefitInfo{}, err
	}
	live := make([]bool, comp.Cols)
	for j := range live {
		live[j] = true // dead features solve to comp's value (see anchored)
	}
	info := RefitInfo{Masks: 1}
	info.Iterations, info.Residual = cgKept(a, b, live, comp, steps)
	for _, v := range comp.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return info, fmt.Errorf("refit: a weight stepped to %v", v)
		}
	}
	return info, nil
}

// anchored returns the normal equations a·w_r = b_r of fitting a layer
// on inputs X' (h) to the original outputs X·origᵀ (c holds X'ᵀX), with
// the ridge pulling each weight towards pull's: a = H + diag(ridge·H_jj)
// (Cols×Cols, full) and b = 2/n·(X'ᵀX·origᵀ)ᵀ + ridge·H_jj·pull (Rows×Cols).
// A feature never active has a unit row in a and pull's value in b, so it
// solves to that value.
func anchored(h *Hessian, c *Cross, orig, pull Weight, ridge float64, what string) (a, b []float64, err error) {
	if err := h.ready(orig, what); err != nil {
		return nil, nil, err
	}
	switch {
	case c == nil || c.cols != orig.Cols:
		return nil, nil, fmt.Errorf("%s: cross products of %d features for a weight of %d columns", what, crossCols(c), orig.Cols)
	case c.n != h.n:
		return nil, nil, fmt.Errorf("%s: %d cross-product rows but %d Hessian rows", what, c.n, h.n)
	case !(ridge > 0) || math.IsInf(ridge, 0):
		return nil, nil, fmt.Errorf("%s: ridge %v must be > 0", what, ridge)
	}
	k, rows := orig.Cols, orig.Rows
	a = make([]float64, k*k)
	// Features whose energy is a vanishing fraction of the layer's
	// (denormal activations) determine nothing either, and would make
	// the system ill-conditioned.
	dead := make([]bool, k)
	floor := 1e-12 * h.liveMeanDiag()
	for i := range k {
		dead[i] = !h.cs.active(i) || h.At(i, i) <= floor
	}
	for i := range k {
		if dead[i] {
			a[i*k+i] = 1
			continue
		}
		for j := i + 1; j < k; j++ {
			if !dead[j] {
				v := h.At(i, j)
				a[i*k+j], a[j*k+i] = v, v
			}
		}
		a[i*k+i] = h.At(i, i) * (1 + ridge)
	}
	// b = scale·(X'ᵀX·origᵀ)ᵀ = scale·orig·(X'ᵀX)ᵀ, then the pull.
	b = make([]float64, rows*k)
	od := float64s32(orig.Data)
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, rows, k, k, 2/float64(h.n), od, k, c.xx, k, 0, b, k)
	for r := range rows {
		for i := range k {
			p := float64(pull.Data[r*k+i])
			if dead[i] {
				b[r*k+i] = p
			} else {
				b[r*k+i] += ridge * h.At(i, i) * p
			}
		}
	}
	return a, b, nil
}

// conditionOnly reports whether err is gonum's warning that a solved
// system is ill-conditioned: the solution is computed all the same (and
// checked for NaN and infinities by the caller).
func conditionOnly(err error) bool {
	var c mat.Condition
	return errors.As(err, &c)
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
