package obs

import (
	"errors"
	"fmt"
	"math"
	"slices"

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
// pruning method's kept weights then take a few steps towards the fit
// with [RefitAnchored]). The ridge is relative to each feature's own energy
// ‖X'_:j‖², so what few
// calibration rows cannot determine keeps the original weight; features
// never active keep it too. When X' = X the answer is w. One Cholesky
// factorization of Cols×Cols; w is not modified.
func Anchor(h *Hessian, c *Cross, w Weight, ridge float64) (Weight, error) {
	f, err := NewAnchorFit(h, c, w, ridge)
	if err != nil {
		return Weight{}, err
	}
	return f.Weight()
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
	f, err := NewAnchorFit(h, c, orig, ridge)
	if err != nil {
		return RefitInfo{}, err
	}
	return f.Refit(comp)
}

// AnchorFit holds the normal equations of fitting one weight to the
// original layer's outputs, built once for both [Anchor]'s solve before a
// pruning method and [RefitAnchored]'s steps after it: a = H +
// diag(ridge·H_jj) (Cols×Cols) and base = 2/n·(X'ᵀX·origᵀ)ᵀ (Rows×Cols),
// the right-hand side before the ridge's pull. A feature never active
// (or of vanishing energy) has a unit row in a and solves to the pulled
// value.
type AnchorFit struct {
	orig  Weight
	ridge float64
	a     []float64
	base  []float64
	d     []float64 // H_jj, 0 for dead features
	same  bool      // the inputs are the original's: Weight is orig
}

// NewAnchorFit builds the fit of orig (the original weight) from h (the
// Hessian of the layer's inputs in the model being compressed) and c
// (their cross products with the original's inputs), with the ridge of
// [Anchor]. A nil c says the layer's inputs are the original's (nothing
// before it was compressed): X'ᵀX is then X'ᵀX', and the fitted weight
// is orig itself. It costs one [Rows, Cols]·[Cols, Cols] product.
func NewAnchorFit(h *Hessian, c *Cross, orig Weight, ridge float64) (*AnchorFit, error) {
	if err := h.ready(orig, "anchor"); err != nil {
		return nil, err
	}
	switch {
	case !(ridge > 0) || math.IsInf(ridge, 0):
		return nil, fmt.Errorf("anchor: ridge %v must be > 0", ridge)
	case c == nil:
	case c.cols != orig.Cols:
		return nil, fmt.Errorf("anchor: cross products of %d features for a weight of %d columns", c.cols, orig.Cols)
	case c.n != h.n:
		return nil, fmt.Errorf("anchor: %d cross-product rows but %d Hessian rows", c.n, h.n)
	}
	k, rows := orig.Cols, orig.Rows
	f := &AnchorFit{orig: orig, ridge: ridge, a: make([]float64, k*k), d: make([]float64, k)}
	// Features whose energy is a vanishing fraction of the layer's
	// (denormal activations) determine nothing either, and would make
	// the system ill-conditioned.
	floor := 1e-12 * h.liveMeanDiag()
	for i := range k {
		if d := h.At(i, i); h.cs.active(i) && d > floor {
			f.d[i] = d
		}
	}
	for i := range k {
		if f.d[i] == 0 {
			f.a[i*k+i] = 1
			continue
		}
		for j := i + 1; j < k; j++ {
			if f.d[j] != 0 {
				v := h.At(i, j)
				f.a[i*k+j], f.a[j*k+i] = v, v
			}
		}
		f.a[i*k+i] = f.d[i] * (1 + ridge)
	}
	// base = scale·(X'ᵀX·origᵀ)ᵀ = scale·orig·(X'ᵀX)ᵀ, with H itself
	// (already scaled) when the inputs are the original's.
	f.base = make([]float64, rows*k)
	if c == nil {
		// X'ᵀX·scale is H, which a holds but for the ridge on its
		// diagonal: base = orig·a − ridge·H_jj·orig (dead columns of
		// base are never read: rhs puts the pulled value there).
		f.same = true
		od := float64s32(orig.Data)
		gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, rows, k, k, 1, od, k, f.a, k, 0, f.base, k)
		for r := range rows {
			for j, d := range f.d {
				f.base[r*k+j] -= ridge * d * od[r*k+j]
			}
		}
		return f, nil
	}
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, rows, k, k, 2/float64(h.n), float64s32(orig.Data), k, c.xx, k, 0, f.base, k)
	return f, nil
}

// rhs returns the right-hand side with the ridge pulling towards pull.
func (f *AnchorFit) rhs(pull Weight) []float64 {
	k := f.orig.Cols
	b := make([]float64, len(f.base))
	for r := range f.orig.Rows {
		for i := range k {
			p := float64(pull.Data[r*k+i])
			if f.d[i] == 0 {
				b[r*k+i] = p
			} else {
				b[r*k+i] = f.base[r*k+i] + f.ridge*f.d[i]*p
			}
		}
	}
	return b
}

// Weight solves for the whole weight W* of [Anchor], the ridge pulling
// towards the original weight: one Cholesky factorization of Cols×Cols.
func (f *AnchorFit) Weight() (Weight, error) {
	k, rows := f.orig.Cols, f.orig.Rows
	if f.same {
		return Weight{Rows: rows, Cols: k, Data: slices.Clone(f.orig.Data)}, nil
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(k, f.a)) {
		return Weight{}, fmt.Errorf("anchor: %d features' Hessian with ridge %v is not positive definite", k, f.ridge)
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, mat.NewDense(rows, k, f.rhs(f.orig)).T()); err != nil && !conditionOnly(err) {
		return Weight{}, fmt.Errorf("anchor: %w", err)
	}
	out := NewWeight(rows, k)
	for r := range rows {
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

// Refit is [RefitAnchored] on this fit: AnchorSteps steps for comp's
// kept weights, the ridge pulling towards comp.
func (f *AnchorFit) Refit(comp Weight) (RefitInfo, error) { return f.refit(comp, AnchorSteps) }

func (f *AnchorFit) refit(comp Weight, steps int) (RefitInfo, error) {
	if comp.Rows != f.orig.Rows || comp.Cols != f.orig.Cols {
		return RefitInfo{}, fmt.Errorf("refit: compressed weight is %dx%d, original %dx%d", comp.Rows, comp.Cols, f.orig.Rows, f.orig.Cols)
	}
	live := make([]bool, comp.Cols)
	for j := range live {
		live[j] = true // dead features solve to comp's value (see rhs)
	}
	info := RefitInfo{Masks: 1}
	info.Iterations, info.Residual = cgKept(f.a, f.rhs(comp), live, comp, steps)
	for _, v := range comp.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return info, fmt.Errorf("refit: a weight stepped to %v", v)
		}
	}
	return info, nil
}

// conditionOnly reports whether err is gonum's warning that a solved
// system is ill-conditioned: the solution is computed all the same (and
// checked for NaN and infinities by the caller).
func conditionOnly(err error) bool {
	var c mat.Condition
	return errors.As(err, &c)
}

func float64s32(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
