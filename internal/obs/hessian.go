package obs

import (
	"fmt"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// hessianBand is the number of rows of XᵀX one product computes.
const hessianBand = 256

// Hessian accumulates the layer-wise Hessian H = 2/n · XᵀX of the
// reconstruction error ‖XWᵀ − XŴᵀ‖² from rows of activations X, together
// with per-feature statistics ([ColumnStats]). Sums are kept in float64.
// While there are few rows (at most Cols/4) it keeps the rows themselves
// and forms XᵀX only when asked (At, or a merge that outgrows them): the
// kernels then factor H as diagonal plus low rank, never touching a
// Cols×Cols matrix. Reading methods may be called concurrently; Add and
// Merge may not run alongside anything else. The zero value is not
// usable; call [NewHessian].
type Hessian struct {
	cols int
	n    int
	cs   *ColumnStats
	// x holds the rows while lowRank (see lowRankRows); xtx is then built
	// from them on first use, under built.
	x       []float32
	lowRank bool
	built   *sync.Once
	xtx     []float64 // cols x cols, upper triangle (j >= i) of XᵀX
}

// lowRankRows is the largest number of activation rows a Hessian of cols
// features keeps: with up to cols/4 rows the low-rank factorization costs
// less than the dense one, and the rows take an eighth of XᵀX's memory.
func lowRankRows(cols int) int { return cols / 4 }

// NewHessian returns an empty accumulator for activations of cols features.
func NewHessian(cols int) *Hessian {
	return &Hessian{cols: cols, cs: NewColumnStats(cols), lowRank: true, built: new(sync.Once)}
}

// Cols returns the number of input features.
func (h *Hessian) Cols() int { return h.cols }

// Samples returns the number of activation rows added so far.
func (h *Hessian) Samples() int { return h.n }

// Add accumulates a batch of activation rows: x is row-major [rows, Cols]
// float32, so len(x) must be a multiple of Cols. NaN or infinite values are
// refused (they would poison every later result).
func (h *Hessian) Add(x []float32) error {
	if err := h.cs.Add(x); err != nil {
		return fmt.Errorf("hessian: %w", err)
	}
	rows := len(x) / h.cols
	if h.lowRank && h.n+rows <= lowRankRows(h.cols) {
		h.x = append(h.x, x...)
		h.xtx, h.built = nil, new(sync.Once)
	} else {
		h.addXtX(h.gram(), x)
		h.x, h.lowRank = nil, false
	}
	h.n += rows
	return nil
}

// gram returns the upper triangle of XᵀX, forming it from the kept rows
// on first use.
func (h *Hessian) gram() []float64 {
	if h.lowRank {
		h.built.Do(func() {
			xtx := make([]float64, h.cols*h.cols)
			h.addXtX(xtx, h.x)
			h.xtx = xtx
		})
	}
	return h.xtx
}

// addXtX adds the upper triangle of xᵀx to xtx, one product per band of
// output rows (gonum's Dgemm spreads each over the cores); a band's
// diagonal block is computed whole, so its lower part holds values nobody
// reads.
func (h *Hessian) addXtX(xtx []float64, x []float32) {
	c := h.cols
	rows := len(x) / c
	if rows == 0 {
		return
	}
	xd := make([]float64, len(x))
	for i, v := range x {
		xd[i] = float64(v)
	}
	impl := gonum.Implementation{}
	for i1 := 0; i1 < c; i1 += hessianBand {
		nb := min(hessianBand, c-i1)
		impl.Dgemm(blas.Trans, blas.NoTrans, nb, c-i1, rows, 1, xd[i1:], c, xd[i1:], c, 1, xtx[i1*c+i1:], c)
	}
}

// Merge adds the samples of o (accumulated separately, e.g. on another
// goroutine) to h.
func (h *Hessian) Merge(o *Hessian) error {
	if o.cols != h.cols {
		return fmt.Errorf("hessian: cannot merge %d features into %d", o.cols, h.cols)
	}
	if err := h.cs.Merge(o.cs); err != nil {
		return fmt.Errorf("hessian: %w", err)
	}
	if h.lowRank && o.lowRank && h.n+o.n <= lowRankRows(h.cols) {
		h.x = append(h.x, o.x...)
		h.xtx, h.built = nil, new(sync.Once)
	} else {
		xtx, oxtx := h.gram(), o.gram()
		for i, v := range oxtx {
			xtx[i] += v
		}
		h.x, h.lowRank = nil, false
	}
	h.n += o.n
	return nil
}

// Folds are the Hessians of two halves of the calibration samples (the
// even and the odd ones), accumulated apart for the split-half choices
// (ChooseDamp, ChooseSparseDamp, ChooseRidge) and summed for the fit.
type Folds [2]*Hessian

// NewFolds returns two empty folds of cols features.
func NewFolds(cols int) Folds { return Folds{NewHessian(cols), NewHessian(cols)} }

// Add accumulates the rows x of calibration sample number sample in its
// fold.
func (f Folds) Add(sample int, x []float32) error { return f[sample%2].Add(x) }

// Split reports whether both folds have rows (one sample leaves the odd
// fold empty: there is nothing to cross-validate on).
func (f Folds) Split() bool { return f[0].Samples() > 0 && f[1].Samples() > 0 }

// Sum returns a new Hessian of both folds' rows; the folds are unchanged.
func (f Folds) Sum() (*Hessian, error) {
	h := NewHessian(f[0].cols)
	for _, o := range f {
		if err := h.Merge(o); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// At returns H[i, j] = 2/n · Σ x[·,i]·x[·,j] (0 before any sample).
func (h *Hessian) At(i, j int) float64 {
	if h.n == 0 {
		return 0
	}
	if i == j {
		return h.diag(i)
	}
	if j < i {
		i, j = j, i
	}
	return 2 * h.gram()[i*h.cols+j] / float64(h.n)
}

// diag returns H[j, j] without forming XᵀX.
func (h *Hessian) diag(j int) float64 { return 2 * h.cs.sq[j] / float64(h.n) }

// liveMeanDiag is the mean of H's diagonal over the features active in
// calibration (1 when none is).
func (h *Hessian) liveMeanDiag() float64 {
	mean, live := 0.0, 0
	for j := range h.cols {
		if h.cs.active(j) {
			mean += h.diag(j)
			live++
		}
	}
	if live == 0 {
		return 1
	}
	return mean / float64(live)
}

// ColumnNorms returns ‖X_j‖₂ for every feature j over all rows added (the
// activation norms Wanda weighs magnitudes by).
func (h *Hessian) ColumnNorms() []float64 { return h.cs.Norms() }

// Mean returns the mean of every feature over all rows added.
func (h *Hessian) Mean() []float64 { return h.cs.Mean() }

// Stats returns the per-feature statistics h keeps (shared, not a copy).
func (h *Hessian) Stats() *ColumnStats { return h.cs }

func (h *Hessian) ready(w Weight, what string) error {
	if err := w.check(what); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("%s: no Hessian", what)
	}
	if h.cols != w.Cols {
		return fmt.Errorf("%s: weight has %d input features, Hessian %d", what, w.Cols, h.cols)
	}
	if h.n == 0 {
		return fmt.Errorf("%s: Hessian has no calibration samples", what)
	}
	return nil
}

// energy returns Σ_r w_r·H·w_rᵀ, the layer's mean squared output
// (times 2, H's scale) on the samples added.
func (h *Hessian) energy(w Weight) float64 {
	c := h.cols
	wd := make([]float64, len(w.Data))
	for i, v := range w.Data {
		wd[i] = float64(v)
	}
	wg := make([]float64, len(wd))
	gonum.Implementation{}.Dsymm(blas.Right, blas.Upper, w.Rows, c, 2/float64(h.n), h.gram(), c, wd, c, 0, wg, c)
	e := 0.0
	for i, v := range wd {
		e += v * wg[i]
	}
	return e
}
