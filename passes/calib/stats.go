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

// Columns returns a new matrix whose column k is x's column idx[k], or
// zero where idx[k] is negative (padding).
func (x Matrix) Columns(idx []int) Matrix {
	out := Matrix{Rows: x.Rows, Cols: len(idx), Data: make([]float32, x.Rows*len(idx))}
	for r := range x.Rows {
		src, dst := x.Row(r), out.Row(r)
		for k, j := range idx {
			if j >= 0 {
				dst[k] = src[j]
			}
		}
	}
	return out
}

// values returns the Rows×Cols values of x.
func (x Matrix) values() ([]float32, error) {
	if x.Rows < 0 || x.Cols <= 0 || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("activation matrix %d×%d holds %d values", x.Rows, x.Cols, len(x.Data))
	}
	return x.Data, nil
}

// Rows views a float tensor as [rows, features]: the last dimension is
// the features, all leading dimensions are flattened into rows (a rank-1
// tensor is one row). Float32 data is shared with t, not copied; float16
// and bfloat16 activations (a float16 model's) are decoded, so the
// statistics are always computed in float32.
func Rows(t *ort.Tensor) (Matrix, error) {
	if len(t.Shape) == 0 {
		return Matrix{}, fmt.Errorf("activation is a scalar, want at least one dimension")
	}
	data, err := Floats(t)
	if err != nil {
		return Matrix{}, err
	}
	cols := int(t.Shape[len(t.Shape)-1])
	rows := 0
	if cols > 0 {
		rows = len(data) / cols
	}
	return Matrix{Rows: rows, Cols: cols, Data: data}, nil
}

// Floats returns the values of a float32, float16 or bfloat16 tensor as
// float32: a view of a float32 tensor's data, decoded otherwise. Other
// types are an error naming the type.
func Floats(t *ort.Tensor) ([]float32, error) {
	switch t.DType {
	case ort.Float32, ort.Float16, ort.BFloat16:
	default:
		return nil, fmt.Errorf("activation is %s, want float32, float16 or bfloat16", onnx.DataTypeName(int32(t.DType)))
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	if t.DType == ort.Float32 {
		return onnx.BytesAsFloat32s(t.Raw), nil
	}
	x := make([]float32, t.Len())
	if err := onnx.DecodeFloats(int32(t.DType), x, t.Raw); err != nil {
		return nil, err
	}
	return x, nil
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
