package obs

import (
	"fmt"
	"math"
)

// Hessian accumulates the layer-wise Hessian H = 2/n · XᵀX of the
// reconstruction error ‖XWᵀ − XŴᵀ‖² from rows of activations X, together
// with the column sums of X (for means and norms). Sums are kept in
// float64. The zero value is not usable; call [NewHessian].
type Hessian struct {
	cols int
	n    int
	xtx  []float64 // cols x cols, upper triangle (j >= i) of XᵀX
	sum  []float64 // column sums of X
}

// NewHessian returns an empty accumulator for activations of cols features.
func NewHessian(cols int) *Hessian {
	return &Hessian{cols: cols, xtx: make([]float64, cols*cols), sum: make([]float64, cols)}
}

// Cols returns the number of input features.
func (h *Hessian) Cols() int { return h.cols }

// Samples returns the number of activation rows added so far.
func (h *Hessian) Samples() int { return h.n }

// Add accumulates a batch of activation rows: x is row-major [rows, Cols]
// float32, so len(x) must be a multiple of Cols. NaN or infinite values are
// refused (they would poison every later result).
func (h *Hessian) Add(x []float32) error {
	c := h.cols
	if c <= 0 {
		return fmt.Errorf("hessian: %d columns", c)
	}
	if len(x)%c != 0 {
		return fmt.Errorf("hessian: batch of %d values is not a whole number of rows of %d features", len(x), c)
	}
	rows := len(x) / c
	xd := make([]float64, len(x))
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("hessian: activation row %d feature %d is %v", h.n+i/c, i%c, v)
		}
		xd[i] = f
		h.sum[i%c] += f
	}
	// Upper triangle of XᵀX, one output row i at a time: row i gains
	// x[r,i]·x[r,i:] for every sample r, four samples per pass over the row.
	forChunks(c, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out := h.xtx[i*c+i : (i+1)*c]
			r := 0
			for ; r+4 <= rows; r += 4 {
				a0, a1, a2, a3 := xd[r*c+i], xd[(r+1)*c+i], xd[(r+2)*c+i], xd[(r+3)*c+i]
				x0 := xd[r*c+i : (r+1)*c]
				x1 := xd[(r+1)*c+i : (r+2)*c]
				x2 := xd[(r+2)*c+i : (r+3)*c]
				x3 := xd[(r+3)*c+i : (r+4)*c]
				x0, x1, x2, x3 = x0[:len(out)], x1[:len(out)], x2[:len(out)], x3[:len(out)]
				for j := range out {
					out[j] += a0*x0[j] + a1*x1[j] + a2*x2[j] + a3*x3[j]
				}
			}
			for ; r < rows; r++ {
				a := xd[r*c+i]
				if a == 0 {
					continue
				}
				xr := xd[r*c+i : (r+1)*c]
				xr = xr[:len(out)]
				for j := range out {
					out[j] += a * xr[j]
				}
			}
		}
	})
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
	for i, v := range o.sum {
		h.sum[i] += v
	}
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
func (h *Hessian) ColumnNorms() []float64 {
	out := make([]float64, h.cols)
	for j := range out {
		out[j] = math.Sqrt(h.xtx[j*h.cols+j])
	}
	return out
}

// Mean returns the mean of every feature over all rows added.
func (h *Hessian) Mean() []float64 {
	out := make([]float64, h.cols)
	if h.n == 0 {
		return out
	}
	for j, s := range h.sum {
		out[j] = s / float64(h.n)
	}
	return out
}

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
