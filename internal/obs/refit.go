package obs

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Cross accumulates, over the same calibration positions, the cross
// products X'ᵀX of a compressed layer's inputs X' [n, Cols] with the
// original layer's inputs X [n, RefCols], and the column sums of both. The
// two may differ in width (a layer whose input channels were pruned) and
// in value (earlier layers changed). With a [Hessian] of X' it is what
// [Refit] needs to fit the compressed layer to the original's outputs
// X·origᵀ without ever holding X.
type Cross struct {
	cols, refCols, n int
	xy               []float64 // cols x refCols
	sum, refSum      []float64
}

// NewCross returns an empty accumulator for cols compressed and refCols
// original input features.
func NewCross(cols, refCols int) *Cross {
	return &Cross{cols: cols, refCols: refCols, xy: make([]float64, cols*refCols),
		sum: make([]float64, cols), refSum: make([]float64, refCols)}
}

// Samples returns the number of rows added so far.
func (c *Cross) Samples() int { return c.n }

// Add accumulates matching batches: x is [rows, Cols] and ref [rows,
// RefCols], row r of both taken at the same position of the same sample.
func (c *Cross) Add(x, ref []float32) error {
	if c.cols <= 0 || c.refCols <= 0 {
		return fmt.Errorf("cross products: %dx%d features", c.cols, c.refCols)
	}
	if len(x)%c.cols != 0 || len(ref)%c.refCols != 0 || len(x)/c.cols != len(ref)/c.refCols {
		return fmt.Errorf("cross products: batches of %d and %d values are not the same rows of %d and %d features", len(x), len(ref), c.cols, c.refCols)
	}
	rows := len(x) / c.cols
	rd := make([]float64, len(ref))
	for i, v := range ref {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("cross products: original activation row %d feature %d is %v", c.n+i/c.refCols, i%c.refCols, v)
		}
		rd[i] = f
		c.refSum[i%c.refCols] += f
	}
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("cross products: activation row %d feature %d is %v", c.n+i/c.cols, i%c.cols, v)
		}
		c.sum[i%c.cols] += f
	}
	forChunks(c.cols, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out := c.xy[i*c.refCols : (i+1)*c.refCols]
			for r := 0; r < rows; r++ {
				a := float64(x[r*c.cols+i])
				if a == 0 {
					continue
				}
				rr := rd[r*c.refCols : (r+1)*c.refCols]
				for j := range out {
					out[j] += a * rr[j]
				}
			}
		}
	})
	c.n += rows
	return nil
}

// Refit fits a compressed layer to the original layer's outputs on
// calibration activations: the compressed layer sees X' (H), the original
// saw X (Cross) and computed X·Origᵀ (+ its bias). Row r of the compressed
// weight reproduces row Rows[r] of Orig (nil: row r), so a layer whose
// output channels were pruned is fitted to the kept channels only.
type Refit struct {
	H     *Hessian // of the compressed layer's inputs X'
	Cross *Cross   // X'ᵀX, same positions
	Orig  Weight   // the original weight, Rows x Cross's RefCols
	Rows  []int    // the original row of each compressed row; nil: the same
	// Ridge is λ relative to the mean variance of X' (like Repair's).
	Ridge float64
}

func (f Refit) check(comp Weight, what string) error {
	if err := f.H.ready(comp, what); err != nil {
		return err
	}
	if err := f.Orig.check(what + ": original"); err != nil {
		return err
	}
	switch {
	case f.Cross == nil:
		return fmt.Errorf("%s: no cross products", what)
	case f.Cross.cols != comp.Cols || f.Cross.refCols != f.Orig.Cols:
		return fmt.Errorf("%s: cross products are %dx%d, weights have %d and %d input features", what, f.Cross.cols, f.Cross.refCols, comp.Cols, f.Orig.Cols)
	case f.Cross.n != f.H.n:
		return fmt.Errorf("%s: %d cross-product rows but %d Hessian rows", what, f.Cross.n, f.H.n)
	case f.Rows == nil && comp.Rows != f.Orig.Rows:
		return fmt.Errorf("%s: compressed weight has %d rows, original %d, and no row map", what, comp.Rows, f.Orig.Rows)
	case f.Rows != nil && len(f.Rows) != comp.Rows:
		return fmt.Errorf("%s: row map has %d entries for %d rows", what, len(f.Rows), comp.Rows)
	case f.Ridge < 0:
		return fmt.Errorf("%s: ridge %v is negative", what, f.Ridge)
	}
	for r, o := range f.Rows {
		if o < 0 || o >= f.Orig.Rows {
			return fmt.Errorf("%s: row %d maps to original row %d of %d", what, r, o, f.Orig.Rows)
		}
	}
	return nil
}

func (f Refit) orig(r int) []float32 {
	if f.Rows != nil {
		r = f.Rows[r]
	}
	return f.Orig.Row(r)
}

// Bias adds E[X·orig_r] − E[X'·comp_r] to bias[r], so that every output
// of the compressed layer keeps the original's mean on the calibration
// data (bias correction). It assumes bias holds the original's bias of the
// row's channel, as the lossy passes leave it. bias is changed in place.
func (f Refit) Bias(comp Weight, bias []float32) error {
	if err := f.check(comp, "bias correction"); err != nil {
		return err
	}
	if len(bias) != comp.Rows {
		return fmt.Errorf("bias correction: bias has %d entries for %d rows", len(bias), comp.Rows)
	}
	n := float64(f.Cross.n)
	for r := range bias {
		s := 0.0
		for j, w := range f.orig(r) {
			s += f.Cross.refSum[j] / n * float64(w)
		}
		for j, w := range comp.Row(r) {
			s -= f.Cross.sum[j] / n * float64(w)
		}
		bias[r] += float32(s)
	}
	return nil
}

// Weights re-fits the kept weights of comp (its nonzeros; zeros stay zero)
// by ridge least squares on centred activations:
//
//	min ‖(X'−μ')·w − (X−μ)·orig_r‖² + λ‖w‖²  over w with w_j = 0 where comp_rj = 0,
//
// the weight half of the best affine fit; follow it with Bias for the
// other half (the mean). Rows with the same kept set share one Cholesky
// factorization, so a dense layer (structured pruning) costs one, an
// unstructured mask one per row. Kept features that never varied in
// calibration are set to zero when Ridge is 0. comp is changed in place.
func (f Refit) Weights(comp Weight) error {
	if err := f.check(comp, "refit"); err != nil {
		return err
	}
	c, rc := comp.Cols, f.Orig.Cols
	n := float64(f.H.n)
	mu, muRef := f.H.Mean(), make([]float64, rc)
	for j, s := range f.Cross.refSum {
		muRef[j] = s / n
	}
	// Centred 2/n·X'ᵀX' and 2/n·X'ᵀX, the scale of the Hessian.
	a := make([]float64, c*c)
	mean := 0.0
	for i := range c {
		for j := i; j < c; j++ {
			v := f.H.At(i, j) - 2*mu[i]*mu[j]
			a[i*c+j], a[j*c+i] = v, v
		}
		mean += a[i*c+i]
	}
	lambda := f.Ridge * mean / float64(c)
	cross := mat.NewDense(c, rc, nil)
	for i := range c {
		for j := range rc {
			cross.Set(i, j, 2*f.Cross.xy[i*rc+j]/n-2*mu[i]*muRef[j])
		}
	}
	// B = cross · Origᵀ restricted to the mapped rows: column r is the
	// right-hand side of compressed row r.
	origT := mat.NewDense(rc, comp.Rows, nil)
	for r := range comp.Rows {
		for j, w := range f.orig(r) {
			origT.Set(j, r, float64(w))
		}
	}
	var b mat.Dense
	b.Mul(cross, origT)

	// Group rows by kept set.
	groups := map[string][]int{}
	var keys []string
	for r := range comp.Rows {
		var sb strings.Builder
		for j, v := range comp.Row(r) {
			if v != 0 && (lambda > 0 || a[j*c+j] > 0) {
				sb.WriteString(strconv.Itoa(j))
				sb.WriteByte(',')
			}
		}
		k := sb.String()
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Strings(keys)
	errs := make([]error, len(keys))
	forChunks(len(keys), 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			errs[g] = refitGroup(a, c, lambda, &b, comp, groups[keys[g]])
		}
	})
	for g, err := range errs {
		if err != nil {
			return fmt.Errorf("refit: row %d: %w", groups[keys[g]][0], err)
		}
	}
	return nil
}

// refitGroup solves the rows that keep the same features.
func refitGroup(a []float64, c int, lambda float64, b *mat.Dense, comp Weight, rows []int) error {
	row0 := comp.Row(rows[0])
	var keep []int
	for j, v := range row0 {
		if v != 0 && (lambda > 0 || a[j*c+j] > 0) {
			keep = append(keep, j)
		}
	}
	for _, r := range rows {
		clear(comp.Row(r))
	}
	k := len(keep)
	if k == 0 {
		return nil
	}
	s := mat.NewSymDense(k, nil)
	for p, i := range keep {
		for q := p; q < k; q++ {
			s.SetSym(p, q, a[i*c+keep[q]])
		}
		s.SetSym(p, p, s.At(p, p)+lambda)
	}
	var ch mat.Cholesky
	if !ch.Factorize(s) {
		return fmt.Errorf("the %d kept features' covariance is singular; use ridge > 0", k)
	}
	rhs := mat.NewDense(k, len(rows), nil)
	for q, r := range rows {
		for p, i := range keep {
			rhs.Set(p, q, b.At(i, r))
		}
	}
	var x mat.Dense
	if err := ch.SolveTo(&x, rhs); err != nil {
		return err
	}
	for q, r := range rows {
		row := comp.Row(r)
		for p, j := range keep {
			row[j] = float32(x.At(p, q))
		}
	}
	return nil
}
