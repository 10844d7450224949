package ort

import (
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
)

func TestDecodeSmallTypes(t *testing.T) {
	for _, c := range []struct {
		dt   onnx.TensorProto_DataType
		raw  []byte
		want []float64
	}{
		{onnx.TensorProto_FLOAT8E4M3FN, []byte{0x38, 0x7E, 0xFE, 0x01}, []float64{1, 448, -448, math.Ldexp(1, -9)}},
		{onnx.TensorProto_FLOAT8E5M2, []byte{0x3C, 0x7B, 0x7C, 0xFC}, []float64{1, 57344, math.Inf(1), math.Inf(-1)}},
		{onnx.TensorProto_FLOAT8E4M3FNUZ, []byte{0x40, 0x00}, []float64{1, 0}},
		{onnx.TensorProto_FLOAT8E5M2FNUZ, []byte{0x40}, []float64{1}},
		{onnx.TensorProto_FLOAT8E8M0, []byte{127, 128, 0}, []float64{1, 2, math.Ldexp(1, -127)}},
		{onnx.TensorProto_INT4, []byte{0x8F, 0x07}, []float64{-1, -8, 7}},
		{onnx.TensorProto_UINT4, []byte{0x8F, 0x07}, []float64{15, 8, 7}},
		{onnx.TensorProto_FLOAT4E2M1, []byte{0xF1, 0x07}, []float64{0.5, -6, 6}},
		{onnx.TensorProto_INT2, []byte{0b11100100}, []float64{0, 1, -2, -1}},
		{onnx.TensorProto_BFLOAT16, []byte{0x80, 0x3F, 0xC0, 0x7F}, []float64{1, math.NaN()}},
		{onnx.TensorProto_BOOL, []byte{0, 1, 2}, []float64{0, 1, 1}},
		{onnx.TensorProto_INT16, []byte{0xFF, 0xFF}, []float64{-1}},
	} {
		tt := &Tensor{DType: DType(c.dt), Shape: []int64{int64(len(c.want))}, Raw: c.raw}
		got, err := tt.Float64s()
		if err != nil {
			t.Errorf("%v: %v", tt.DType, err)
			continue
		}
		for i := range c.want {
			if got[i] != c.want[i] && !(math.IsNaN(got[i]) && math.IsNaN(c.want[i])) {
				t.Errorf("%v element %d = %g, want %g", tt.DType, i, got[i], c.want[i])
			}
		}
	}
	for code := uint32(0); code < 256; code++ {
		if v := smallFloat(DType(onnx.TensorProto_FLOAT8E4M3FN), code); code&0x7F == 0x7F != math.IsNaN(v) {
			t.Errorf("e4m3fn %02x = %g", code, v)
		}
	}
}

func TestTensorCheck(t *testing.T) {
	if _, err := (&Tensor{DType: Float32, Shape: []int64{2}, Raw: make([]byte, 4)}).Float64s(); err == nil {
		t.Error("a float32[2] tensor with 4 bytes was accepted")
	}
	if tt, _ := NewTensor(DType(onnx.TensorProto_INT4), []int64{3}); len(tt.Raw) != 2 {
		t.Errorf("int4[3] has %d bytes, want 2", len(tt.Raw))
	}
	if tt, _ := NewTensor(Float32, nil); tt.Len() != 1 || len(tt.Raw) != 4 {
		t.Errorf("a scalar has %d elements, %d bytes", tt.Len(), len(tt.Raw))
	}
	if _, err := NewTensor(DType(99), []int64{1}); err == nil {
		t.Error("unknown dtype accepted")
	}
}
