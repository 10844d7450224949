package onnx

import (
	"fmt"
	"math"
	"math/bits"
)

// dtypeNames maps TensorProto data types to the short names onnxopt prints.
var dtypeNames = map[int32]string{
	int32(TensorProto_FLOAT):          "float32",
	int32(TensorProto_UINT8):          "uint8",
	int32(TensorProto_INT8):           "int8",
	int32(TensorProto_UINT16):         "uint16",
	int32(TensorProto_INT16):          "int16",
	int32(TensorProto_INT32):          "int32",
	int32(TensorProto_INT64):          "int64",
	int32(TensorProto_STRING):         "string",
	int32(TensorProto_BOOL):           "bool",
	int32(TensorProto_FLOAT16):        "float16",
	int32(TensorProto_DOUBLE):         "float64",
	int32(TensorProto_UINT32):         "uint32",
	int32(TensorProto_UINT64):         "uint64",
	int32(TensorProto_COMPLEX64):      "complex64",
	int32(TensorProto_COMPLEX128):     "complex128",
	int32(TensorProto_BFLOAT16):       "bfloat16",
	int32(TensorProto_FLOAT8E4M3FN):   "float8e4m3fn",
	int32(TensorProto_FLOAT8E4M3FNUZ): "float8e4m3fnuz",
	int32(TensorProto_FLOAT8E5M2):     "float8e5m2",
	int32(TensorProto_FLOAT8E5M2FNUZ): "float8e5m2fnuz",
	int32(TensorProto_UINT4):          "uint4",
	int32(TensorProto_INT4):           "int4",
	int32(TensorProto_FLOAT4E2M1):     "float4e2m1",
	int32(TensorProto_FLOAT8E8M0):     "float8e8m0",
	int32(TensorProto_UINT2):          "uint2",
	int32(TensorProto_INT2):           "int2",
}

// DataTypeName returns a short lower-case name for a TensorProto data type
// ("float32", "int8", "int4", ...), or "dtype(N)" for an unknown one.
func DataTypeName(dt int32) string {
	if n, ok := dtypeNames[dt]; ok {
		return n
	}
	return fmt.Sprintf("dtype(%d)", dt)
}

// ElemBits returns the storage size of one element in bits (4 for int4, 2
// for int2), or 0 for string and unknown types.
func ElemBits(dt int32) int {
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT, TensorProto_INT32, TensorProto_UINT32:
		return 32
	case TensorProto_UINT8, TensorProto_INT8, TensorProto_BOOL,
		TensorProto_FLOAT8E4M3FN, TensorProto_FLOAT8E4M3FNUZ, TensorProto_FLOAT8E5M2,
		TensorProto_FLOAT8E5M2FNUZ, TensorProto_FLOAT8E8M0:
		return 8
	case TensorProto_UINT16, TensorProto_INT16, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		return 16
	case TensorProto_INT64, TensorProto_DOUBLE, TensorProto_UINT64, TensorProto_COMPLEX64:
		return 64
	case TensorProto_COMPLEX128:
		return 128
	case TensorProto_UINT4, TensorProto_INT4, TensorProto_FLOAT4E2M1:
		return 4
	case TensorProto_UINT2, TensorProto_INT2:
		return 2
	}
	return 0
}

// IsFloat reports whether dt is a floating-point type.
func IsFloat(dt int32) bool {
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT, TensorProto_DOUBLE, TensorProto_FLOAT16, TensorProto_BFLOAT16,
		TensorProto_FLOAT8E4M3FN, TensorProto_FLOAT8E4M3FNUZ, TensorProto_FLOAT8E5M2,
		TensorProto_FLOAT8E5M2FNUZ, TensorProto_FLOAT4E2M1, TensorProto_FLOAT8E8M0:
		return true
	}
	return false
}

// NumElements returns the product of dims, or an error when a dimension is
// negative or the product overflows int64 (absurd shapes in hostile files).
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, dims)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > 1<<62 {
			return 0, fmt.Errorf("shape %v has too many elements", dims)
		}
		n = int64(lo)
	}
	return n, nil
}

// StorageBytes returns the bytes that n elements of type dt occupy in
// raw_data (4-bit and 2-bit types are packed), or -1 for strings. Counts
// too large for int64 saturate at math.MaxInt64.
func StorageBytes(dt int32, n int64) int64 {
	b := ElemBits(dt)
	if b == 0 {
		return -1
	}
	if n > (math.MaxInt64-7)/int64(b) {
		return math.MaxInt64
	}
	return (n*int64(b) + 7) / 8
}
