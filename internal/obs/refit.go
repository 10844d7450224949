package obs

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"
)

// Targets accumulates, beside a [Hessian] of a compressed layer's inputs
// X' [n, Cols], the outputs Y [n, Rows] the layer should reproduce at the
// same positions (the original layer's X·origᵀ, which may see other
// inputs X: earlier layers changed, input channels were pruned): the
// cross products X'ᵀY and the column sums of X' and Y. That is what
// [Refit] and [CorrectMean] need, without ever holding X or Y.
type Targets struct {
	cols, rows, n int
	xy            []float64 // cols x rows
	sumX, sumY    []float64
	sqY           []float64 // Σ y², per output
}

// NewTargets returns an empty accumulator for cols input features and
// rows target outputs.
func NewTargets(cols, rows int) *Targets {
	return &Targets{cols: cols, rows: rows, xy: make([]float64, cols*rows),
		sumX: make([]float64, cols), sumY: make([]float64, rows), sqY: make([]float64, rows)}
}

// Samples returns the number of rows added so far.
func (t *Targets) Samples() int { return t.n }

// Add accumulates matching batches: x is [n, Cols] and y [n, Rows], row i
// of both taken at the same position of the same sample.
func (t *Targets) Add(x, y []float32) error {
	if t.cols <= 0 || t.rows <= 0 {
		return fmt.Errorf("targets: %d features, %d outputs", t.cols, t.rows)
	}
	if len(x)%t.cols != 0 || len(y)%t.rows != 0 || len(x)/t.cols != len(y)/t.rows {
		return fmt.Errorf("targets: batches of %d and %d values are not the same rows of %d features and %d outputs", len(x), len(y), t.cols, t.rows)
	}
	n := len(x) / t.cols
	xd, err := float64s(x, t.cols, t.sumX, "activation", t.n)
	if err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	yd, err := float64s(y, t.rows, t.sumY, "target output", t.n)
	if err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	// xy += xdᵀ·yd
	gonum.Implementation{}.Dgemm(blas.Trans, blas.NoTrans, t.cols, t.rows, n, 1, xd, t.cols, yd, t.rows, 1, t.xy, t.rows)
	for i, v := range yd {
		t.sqY[i%t.rows] += v * v
	}
	t.n += n
	return nil
}

// Merge adds the rows of o (the same layer, accumulated apart) to t.
func (t *Targets) Merge(o *Targets) error {
	if o.cols != t.cols || o.rows != t.rows {
		return fmt.Errorf("targets: cannot merge %d features x %d outputs into %d x %d", o.cols, o.rows, t.cols, t.rows)
	}
	for _, p := range [][2][]float64{{t.xy, o.xy}, {t.sumX, o.sumX}, {t.sumY, o.sumY}, {t.sqY, o.sqY}} {
		for i, v := range p[1] {
			p[0][i] += v
		}
	}
	t.n += o.n
	return nil
}

// float64s converts x (rows of cols) to float64, adds its column sums to
// sum (unless nil) and refuses NaN and infinities.
func float64s(x []float32, cols int, sum []float64, what string, row0 int) ([]float64, error) {
	out := make([]float64, len(x))
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s row %d column %d is %v", what, row0+i/cols, i%cols, v)
		}
		out[i] = f
		if sum != nil {
			sum[i%cols] += f
		}
	}
	return out, nil
}

// MeanX returns the mean of every input feature.
func (t *Targets) MeanX() []float64 { return means(t.sumX, t.n) }

// MeanY returns the mean of every target output.
func (t *Targets) MeanY() []float64 { return means(t.sumY, t.n) }

func means(sum []float64, n int) []float64 {
	out := make([]float64, len(sum))
	for i, s := range sum {
		if n > 0 {
			out[i] = s / float64(n)
		}
	}
	return out
}

// CorrectMean adds meanY[r] − meanX·comp_r to bias[r], so that every
// output of the layer (X'·compᵀ + bias) has the mean meanY on the
// calibration data, given its inputs' mean meanX (bias correction): meanY
// is the mean of the target outputs without their bias, and bias holds
// the original's bias of each row's channel, as the lossy passes leave it.
// bias is changed in place.
func CorrectMean(comp Weight, meanX, meanY []float64, bias []float32) error {
	if err := comp.check("bias correction"); err != nil {
		return err
	}
	switch {
	case len(meanX) != comp.Cols:
		return fmt.Errorf("bias correction: %d input means for %d features", len(meanX), comp.Cols)
	case len(meanY) != comp.Rows || len(bias) != comp.Rows:
		return fmt.Errorf("bias correction: %d output means and %d bias entries for %d rows", len(meanY), len(bias), comp.Rows)
	}
	for r := range bias {
		s := meanY[r]
		for j, w := range comp.Row(r) {
			s -= meanX[j] * float64(w)
		}
		bias[r] += float32(s)
	}
	return nil
}

// cgIterations is the number of conjugate-gradient iterations whose cost
// Refit weighs against one Cholesky factorization per kept set (a
// variable so that tests can force either solver).
var cgIterations = 15.0

// RefitInfo says how [Refit] solved a layer.
type RefitInfo struct {
	Masks      int // distinct kept sets among the rows
	Iterations int // conjugate-gradient iterations (0: solved by Cholesky)
	// Residual is the largest relative residual left by conjugate
	// gradients, ‖masked gradient‖/‖masked right-hand side‖, over rows.
	Residual float64
}

// Refit re-fits the kept weights of comp (its nonzeros; zeros stay zero)
// to the targets by ridge least squares on centred activations, the
// ridge pulling towards comp's own weights w⁰:
//
//	min ‖(X'−μ')·w − (Y_r−μ_r)‖² + ridge·Σ_j var(x'_j)·(w_j − w⁰_j)²  over w with w_j = 0 where comp_rj = 0,
//
// the weight half of the best affine fit; follow it with [CorrectMean]
// for the other half. The ridge is relative to each feature's own
// variance, so it does not depend on the features' scales (a few
// high-variance features cannot inflate it for the others). It pulls
// towards w⁰, not zero: what the calibration rows do not determine (fewer
// rows than kept features, or features that vary together) keeps the
// weight the lossy pass left, instead of being shrunk to zero, and a row
// whose inputs and weights are unchanged stays as it is. Kept features
// that never varied are set to zero (the bias absorbs their mean).
//
// Rows with the same kept set share one Cholesky factorization: a layer
// whose rows all keep the same features (structured pruning, or none)
// costs one. When the rows have many different kept sets (unstructured or
// N:M sparsity) the normal equations of all rows are solved together by
// preconditioned conjugate gradients, warm-started from comp: one
// [Rows, Cols]·[Cols, Cols] product per iteration, until every row's
// relative residual is below 1e-4 (at most 200 iterations). comp is
// changed in place.
func Refit(h *Hessian, t *Targets, comp Weight, ridge float64) (RefitInfo, error) {
	if err := h.ready(comp, "refit"); err != nil {
		return RefitInfo{}, err
	}
	switch {
	case t == nil:
		return RefitInfo{}, fmt.Errorf("refit: no targets")
	case t.cols != comp.Cols || t.rows != comp.Rows:
		return RefitInfo{}, fmt.Errorf("refit: targets are %d features x %d outputs, the weight %dx%d", t.cols, t.rows, comp.Cols, comp.Rows)
	case t.n != h.n:
		return RefitInfo{}, fmt.Errorf("refit: %d target rows but %d Hessian rows", t.n, h.n)
	case ridge < 0 || math.IsNaN(ridge):
		return RefitInfo{}, fmt.Errorf("refit: ridge %v is negative", ridge)
	}
	c, rows := comp.Cols, comp.Rows
	n := float64(h.n)
	mu, muY := h.Mean(), t.MeanY()
	// A: centred 2/n·X'ᵀX' plus the ridge, the scale of the Hessian.
	a := make([]float64, c*c)
	live := make([]bool, c)
	pull := make([]float64, c) // the ridge's weight on feature j
	for i := range c {
		for j := i; j < c; j++ {
			v := h.At(i, j) - 2*mu[i]*mu[j]
			a[i*c+j], a[j*c+i] = v, v
		}
		live[i] = a[i*c+i] > 1e-12*(1+h.At(i, i))
		pull[i] = ridge * a[i*c+i]
		a[i*c+i] += pull[i]
	}
	// B: centred 2/n·X'ᵀY, row r the right-hand side of weight row r,
	// plus the ridge's pull towards the weight as it is.
	b := make([]float64, rows*c)
	for j := range c {
		for r := range rows {
			b[r*c+j] = 2*t.xy[j*rows+r]/n - 2*mu[j]*muY[r] + pull[j]*float64(comp.Data[r*c+j])
		}
	}
	return solveKept(a, b, live, comp)
}

// solveKept solves the normal equations a·w_r = b_r (a: Cols×Cols, b:
// Rows×Cols, row-major) for every row r of comp over its kept features,
// its nonzeros among the live ones; the other weights become zero. Rows
// with the same kept set share one Cholesky factorization, unless the
// rows have so many different sets that preconditioned conjugate
// gradients over all rows at once cost less (see [Refit]).
func solveKept(a, b []float64, live []bool, comp Weight) (RefitInfo, error) {
	c, rows := comp.Cols, comp.Rows
	keep := func(r, j int) bool { return live[j] && comp.Data[r*c+j] != 0 }
	groups := map[string][]int{}
	var keys []string
	cost := 0.0
	for r := range rows {
		var sb strings.Builder
		k := 0
		for j := range c {
			if keep(r, j) {
				sb.WriteString(strconv.Itoa(j))
				sb.WriteByte(',')
				k++
			}
		}
		key := sb.String()
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
			cost += float64(k) * float64(k) * float64(k) / 3
		}
		groups[key] = append(groups[key], r)
	}
	info := RefitInfo{Masks: len(keys)}
	if cost <= cgIterations*2*float64(rows)*float64(c)*float64(c) {
		sort.Strings(keys)
		errs := make([]error, len(keys))
		forChunks(len(keys), 1, func(lo, hi int) {
			for g := lo; g < hi; g++ {
				errs[g] = refitGroup(a, b, c, keep, comp, groups[keys[g]])
			}
		})
		for g, err := range errs {
			if err != nil {
				return info, fmt.Errorf("refit: row %d: %w", groups[keys[g]][0], err)
			}
		}
		return info, nil
	}
	info.Iterations, info.Residual = cgKept(a, b, live, comp, 200)
	return info, nil
}

// cgKept solves solveKept's equations by Jacobi-preconditioned conjugate
// gradients over all rows at once, warm-started from comp, for at most
// maxIter iterations (to a relative residual of 1e-4); it returns the
// iterations run and the largest relative residual left.
func cgKept(a, b []float64, live []bool, comp Weight, maxIter int) (int, float64) {
	c, rows := comp.Cols, comp.Rows
	mask := make([]float64, rows*c)
	for r := range rows {
		for j := range c {
			if live[j] && comp.Data[r*c+j] != 0 {
				mask[r*c+j] = 1
			}
		}
	}
	return maskedCG(a, b, mask, comp, 1e-4, maxIter)
}

// refitGroup solves the rows that keep the same features by one Cholesky
// factorization.
func refitGroup(a, b []float64, c int, keep func(r, j int) bool, comp Weight, rows []int) error {
	var kept []int
	for j := range c {
		if keep(rows[0], j) {
			kept = append(kept, j)
		}
	}
	for _, r := range rows {
		clear(comp.Row(r))
	}
	k := len(kept)
	if k == 0 {
		return nil
	}
	s := mat.NewSymDense(k, nil)
	for p, i := range kept {
		for q := p; q < k; q++ {
			s.SetSym(p, q, a[i*c+kept[q]])
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(s) {
		return fmt.Errorf("the %d kept features' covariance is singular; use ridge > 0", k)
	}
	rhs := mat.NewDense(k, len(rows), nil)
	for q, r := range rows {
		for p, i := range kept {
			rhs.Set(p, q, b[r*c+i])
		}
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, rhs); err != nil && !conditionOnly(err) {
		return err
	}
	for q, r := range rows {
		row := comp.Row(r)
		for p, j := range kept {
			v := x.At(p, q)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("feature %d solved to %v: the kept features' covariance is too ill-conditioned; use ridge > 0", j, v)
			}
			row[j] = float32(v)
		}
	}
	return nil
}
