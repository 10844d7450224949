package calib

import (
	"fmt"

	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// Matrix is a row-major [Rows, Cols] float32 view of activations: each row
// one position (token, pixel, batch item), each column one feature (the
// input feature of a MatMul/Gemm, or an im2col patch element of a Conv).
type Matrix struct {
	Rows, Cols int
	Data       []float32 // len Rows*Cols
}

// Row returns row i.
func (x Matrix) Row(i int) []float32 { return x.Data[i*x.Cols : (i+1)*x.Cols] }

// values returns the Rows×Cols values of x.
func (x Matrix) values() ([]float32, error) {
	if x.Rows < 0 || x.Cols <= 0 || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("activation matrix %d×%d holds %d values", x.Rows, x.Cols, len(x.Data))
	}
	return x.Data, nil
}

// Rows views a float32 tensor as [rows, features]: the last dimension is
// the features, all leading dimensions are flattened into rows (a rank-1
// tensor is one row). The data is shared with t, not copied.
func Rows(t *ort.Tensor) (Matrix, error) {
	if t.DType != ort.Float32 {
		return Matrix{}, fmt.Errorf("activation is %v, want float32", t.DType)
	}
	if len(t.Shape) == 0 {
		return Matrix{}, fmt.Errorf("activation is a scalar, want at least one dimension")
	}
	if err := t.Check(); err != nil {
		return Matrix{}, err
	}
	cols := int(t.Shape[len(t.Shape)-1])
	n := t.Len()
	rows := 0
	if cols > 0 {
		rows = n / cols
	}
	return Matrix{Rows: rows, Cols: cols, Data: onnx.BytesAsFloat32s(t.Raw)}, nil
}

// Accumulator gathers per-layer statistics over calibration rows. Every
// sample's Matrix must have the same Cols.
type Accumulator interface {
	Add(x Matrix) error
}

// columns feeds one obs.ColumnStats, created on the first row.
type columns struct {
	s *obs.ColumnStats
}

func (a *columns) add(x Matrix) error {
	if a.s == nil {
		a.s = obs.NewColumnStats(x.Cols)
	}
	if x.Cols != a.s.Cols() {
		return fmt.Errorf("activation has %d features, earlier samples had %d", x.Cols, a.s.Cols())
	}
	d, err := x.values()
	if err != nil {
		return err
	}
	return a.s.Add(d)
}

// Samples returns the number of rows added.
func (a *columns) Samples() int {
	if a.s == nil {
		return 0
	}
	return a.s.Samples()
}

// Stats returns the statistics gathered (nil before any row), for the
// kernels of internal/obs.
func (a *columns) Stats() *obs.ColumnStats { return a.s }

// L2 accumulates the L2 norm of each feature over all rows, the ||X_j||
// of Wanda's |W_ij|·||X_j|| score (an obs.ColumnStats).
type L2 struct{ columns }

// Add adds every row of x.
func (a *L2) Add(x Matrix) error { return a.add(x) }

// Norms returns ||X_j|| for every feature (nil before any row).
func (a *L2) Norms() []float64 {
	if a.s == nil {
		return nil
	}
	return a.s.Norms()
}

// Mean accumulates the mean of each feature over all rows (for bias
// correction: the expected input of a layer), in an obs.ColumnStats.
type Mean struct{ columns }

// Add adds every row of x.
func (a *Mean) Add(x Matrix) error { return a.add(x) }

// Means returns the mean of every feature (nil before any row).
func (a *Mean) Means() []float64 {
	if a.s == nil {
		return nil
	}
	return a.s.Mean()
}

// Gram accumulates the layer Hessian H = 2·XᵀX/N that SparseGPT, GPTQ and
// repair use, as an obs.Hessian (which also keeps the per-feature sums).
// Memory is n² float64 for n features, whatever the number of rows.
type Gram struct {
	h *obs.Hessian
}

// Add adds xᵀx for every row x of x.
func (a *Gram) Add(x Matrix) error {
	if a.h == nil {
		a.h = obs.NewHessian(x.Cols)
	}
	if x.Cols != a.h.Cols() {
		return fmt.Errorf("activation has %d features, earlier samples had %d", x.Cols, a.h.Cols())
	}
	d, err := x.values()
	if err != nil {
		return err
	}
	return a.h.Add(d)
}

// Features is the number of features (0 before any row).
func (a *Gram) Features() int {
	if a.h == nil {
		return 0
	}
	return a.h.Cols()
}

// Samples returns the number of rows added.
func (a *Gram) Samples() int {
	if a.h == nil {
		return 0
	}
	return a.h.Samples()
}

// Hessian returns the accumulated Hessian for the kernels of internal/obs
// (nil before any row).
func (a *Gram) Hessian() *obs.Hessian { return a.h }
