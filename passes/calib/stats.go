package calib

import (
	"fmt"
	"math"

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

// checkCols fixes the feature count on first use and holds later matrices
// to it.
func checkCols(n *int, x Matrix) error {
	if *n == 0 {
		*n = x.Cols
	}
	if x.Cols != *n {
		return fmt.Errorf("activation has %d features, earlier samples had %d", x.Cols, *n)
	}
	return nil
}

// L2 accumulates the squared L2 norm of each feature over all rows, the
// ||X_j|| of Wanda's |W_ij|·||X_j|| score.
type L2 struct {
	SumSq []float64 // per feature: sum over rows of x²
	N     int       // rows seen
	cols  int
}

// Add adds every row of x.
func (a *L2) Add(x Matrix) error {
	if err := checkCols(&a.cols, x); err != nil {
		return err
	}
	if a.SumSq == nil {
		a.SumSq = make([]float64, x.Cols)
	}
	for r := 0; r < x.Rows; r++ {
		for j, v := range x.Row(r) {
			a.SumSq[j] += float64(v) * float64(v)
		}
	}
	a.N += x.Rows
	return nil
}

// Norms returns ||X_j||, the square root of SumSq.
func (a *L2) Norms() []float64 {
	out := make([]float64, len(a.SumSq))
	for j, s := range a.SumSq {
		out[j] = math.Sqrt(s)
	}
	return out
}

// Mean accumulates the mean of each feature over all rows (for bias
// correction: the expected input of a layer).
type Mean struct {
	Sum  []float64 // per feature: sum over rows
	N    int       // rows seen
	cols int
}

// Add adds every row of x.
func (a *Mean) Add(x Matrix) error {
	if err := checkCols(&a.cols, x); err != nil {
		return err
	}
	if a.Sum == nil {
		a.Sum = make([]float64, x.Cols)
	}
	for r := 0; r < x.Rows; r++ {
		for j, v := range x.Row(r) {
			a.Sum[j] += float64(v)
		}
	}
	a.N += x.Rows
	return nil
}

// Means returns Sum/N (zeros before any row).
func (a *Mean) Means() []float64 {
	out := make([]float64, len(a.Sum))
	if a.N == 0 {
		return out
	}
	for j, s := range a.Sum {
		out[j] = s / float64(a.N)
	}
	return out
}

// Gram accumulates XᵀX (features × features, float64) over all rows: the
// Hessian SparseGPT and GPTQ use is 2·XᵀX/N. Memory is n² float64 for n
// features, whatever the number of rows.
type Gram struct {
	N    int       // rows seen
	n    int       // features
	data []float64 // upper triangle filled while adding
}

// Add adds xᵀx for every row x of x.
func (a *Gram) Add(x Matrix) error {
	if err := checkCols(&a.n, x); err != nil {
		return err
	}
	n := x.Cols
	if a.data == nil {
		a.data = make([]float64, n*n)
	}
	row := make([]float64, n)
	for r := 0; r < x.Rows; r++ {
		for j, v := range x.Row(r) {
			row[j] = float64(v)
		}
		for i, xi := range row {
			if xi == 0 {
				continue
			}
			dst := a.data[i*n+i : (i+1)*n]
			for j, xj := range row[i:] {
				dst[j] += xi * xj
			}
		}
	}
	a.N += x.Rows
	return nil
}

// Features is the number of features (0 before any row).
func (a *Gram) Features() int { return a.n }

// Matrix returns XᵀX as a full symmetric n×n row-major slice (a copy;
// wrap it with gonum's mat.NewSymDense(n, data) for factorizations).
func (a *Gram) Matrix() []float64 {
	n := a.n
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			out[i*n+j] = a.data[i*n+j]
			out[j*n+i] = a.data[i*n+j]
		}
	}
	return out
}
