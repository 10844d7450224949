package calib_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// half encodes v (exact in float16 and bfloat16 when chosen so) as a
// 16-bit tensor of type dt.
func half(t *testing.T, dt ort.DType, shape []int64, v []float32) *ort.Tensor {
	t.Helper()
	raw, err := onnx.EncodeFloats(int32(dt), v)
	if err != nil {
		t.Fatal(err)
	}
	return &ort.Tensor{DType: dt, Shape: shape, Raw: raw}
}

// TestHalfActivations: Rows, Floats and Im2Col decode float16 and
// bfloat16 activations to the float32 values of the same numbers.
func TestHalfActivations(t *testing.T) {
	shape := []int64{1, 2, 3, 4}
	v := make([]float32, 24)
	for i := range v {
		v[i] = float32(i-12) / 4 // exact in both 16-bit types
	}
	conv := calib.Conv{Group: 2, KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Pads: [4]int{1, 0, 0, 1}}
	want, err := calib.Im2Col(floats(shape, v...), conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []ort.DType{ort.Float16, ort.BFloat16} {
		x := half(t, dt, shape, v)
		got, err := calib.Floats(x)
		if err != nil || !slices.Equal(got, v) {
			t.Errorf("%v: Floats = %v, %v", dt, got, err)
		}
		m, err := calib.Rows(x)
		if err != nil || m.Rows != 6 || m.Cols != 4 || !slices.Equal(m.Data, v) {
			t.Errorf("%v: Rows = %d×%d %v, %v", dt, m.Rows, m.Cols, m.Data, err)
		}
		cols, err := calib.Im2Col(x, conv)
		if err != nil || len(cols) != len(want) {
			t.Fatalf("%v: Im2Col: %d groups, %v", dt, len(cols), err)
		}
		for g := range cols {
			if cols[g].Rows != want[g].Rows || !slices.Equal(cols[g].Data, want[g].Data) {
				t.Errorf("%v: Im2Col group %d differs from the float32 one", dt, g)
			}
		}
	}
	_, err = calib.Floats(&ort.Tensor{DType: ort.Int8, Shape: []int64{2}, Raw: make([]byte, 2)})
	if err == nil || !strings.Contains(err.Error(), "int8") {
		t.Errorf("an int8 activation: %v, want an error naming int8", err)
	}
}
