package obs

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// hessianBand is the number of rows of XᵀX one product computes.
const hessianBand = 256

// Hessian accumulates the layer-wise Hessian H = 2/n · XᵀX of the
// reconstruction error ‖XWᵀ − XŴᵀ‖² from rows of activations X, together
// with the column sums of X (for means and norms). Sums are kept in
// float64. The zero value is not usable; call [NewHessian].
type Hessian struct {
	cols int
	n    int
	xtx  []float64 // cols x cols, upper triangle (j >= i) of XᵀX
	cs   *ColumnStats
	// x holds the rows themselves while there are few of them (see
	// lowRankRows): H is then diagonal plus low rank after dampening,
	// which the factorization exploits. nil once more rows arrived.
	x []float32
}

// lowRankRows is the largest number of activation rows a Hessian of cols
// features keeps: with up to cols/4 rows the low-rank factorization costs
// less than the dense one, and the rows take a quarter of XᵀX's floats.
func lowRankRows(cols int) int { return cols / 4 }

// keepRows appends the batch x to the kept rows, or drops them all once
// there are too many. h.n does not count x yet.
func (h *Hessian) keepRows(x []float32) {
	if (h.x == nil && h.n > 0) || h.n+len(x)/h.cols > lowRankRows(h.cols) {
		h.x = nil
		return
	}
	h.x = append(h.x, x...)
}

// NewHessian returns an empty accumulator for activations of cols features.
func NewHessian(cols int) *Hessian {
	return &Hessian{cols: cols, xtx: make([]float64, cols*cols), cs: NewColumnStats(cols)}
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
	c := h.cols
	rows := len(x) / c
	xd := make([]float64, len(x))
	for i, v := range x {
		xd[i] = float64(v)
	}
	// The upper triangle of XᵀX as one product per band of output rows
	// (gonum's Dgemm spreads each over the cores); the band's diagonal
	// block is computed whole, so its lower part holds values nobody reads.
	impl := gonum.Implementation{}
	for i1 := 0; i1 < c; i1 += hessianBand {
		nb := min(hessianBand, c-i1)
		impl.Dgemm(blas.Trans, blas.NoTrans, nb, c-i1, rows, 1, xd[i1:], c, xd[i1:], c, 1, h.xtx[i1*c+i1:], c)
	}
	h.keepRows(x)
	h.n += rows
	return nil
}

// Merge adds the samples of o (accumulated separately, e.g. on another
// goroutine) to h.
func (h *Hessian) Merge(o *Hessian) error {
	if o.cols != h.cols {
		return fmt.Errorf("hessian: cannot merge %d features into %d", o.cols, h.cols)
	}
	for i, v := range o.xtx {
		h.xtx[i] += v
	}
	if err := h.cs.Merge(o.cs); err != nil {
		return fmt.Errorf("hessian: %w", err)
	}
	if o.n > 0 && o.x == nil {
		h.x = nil
		h.n += o.n
		return nil
	}
	h.keepRows(o.x)
	h.n += o.n
	return nil
}

// At returns H[i, j] = 2/n · Σ x[·,i]·x[·,j] (0 before any sample).
func (h *Hessian) At(i, j int) float64 {
	if h.n == 0 {
		return 0
	}
	if j < i {
		i, j = j, i
	}
	return 2 * h.xtx[i*h.cols+j] / float64(h.n)
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
