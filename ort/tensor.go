package ort

import (
	"fmt"

	"github.com/onnxopt/onnxopt/onnx"
)

// DType is a tensor element type, numbered as onnx.TensorProto_DataType
// (which is also ONNX Runtime's numbering).
type DType int32

// The element types most code names directly.
const (
	Float32  = DType(onnx.TensorProto_FLOAT)
	Float64  = DType(onnx.TensorProto_DOUBLE)
	Float16  = DType(onnx.TensorProto_FLOAT16)
	BFloat16 = DType(onnx.TensorProto_BFLOAT16)
	Int8     = DType(onnx.TensorProto_INT8)
	Int16    = DType(onnx.TensorProto_INT16)
	Int32    = DType(onnx.TensorProto_INT32)
	Int64    = DType(onnx.TensorProto_INT64)
	Uint8    = DType(onnx.TensorProto_UINT8)
	Uint16   = DType(onnx.TensorProto_UINT16)
	Uint32   = DType(onnx.TensorProto_UINT32)
	Uint64   = DType(onnx.TensorProto_UINT64)
	Bool     = DType(onnx.TensorProto_BOOL)
	String   = DType(onnx.TensorProto_STRING)
)

// String returns the short name onnxopt prints ("float32", "int4", ...).
func (d DType) String() string { return onnx.DataTypeName(int32(d)) }

// IsFloat reports whether d is a floating-point type (float8 and float4
// included).
func (d DType) IsFloat() bool { return onnx.IsFloat(int32(d)) }

// IsComplex reports whether d is complex64 or complex128.
func (d DType) IsComplex() bool {
	return d == DType(onnx.TensorProto_COMPLEX64) || d == DType(onnx.TensorProto_COMPLEX128)
}

// bits returns the storage size of one element in bits, 0 for strings and
// unknown types.
func (d DType) bits() int { return onnx.ElemBits(int32(d)) }

// storageBytes returns the bytes n packed elements occupy.
func (d DType) storageBytes(n int) int { return (n*d.bits() + 7) / 8 }

// known reports whether d is a tensor type this package can hold.
func (d DType) known() bool { return d == String || d.bits() > 0 }

// Value is one model input or output: a *Tensor, a Sequence, or None (an
// optional that holds nothing).
type Value interface{ isValue() }

// Tensor is a dense tensor in Go memory.
type Tensor struct {
	DType DType
	Shape []int64 // empty for a scalar (rank 0)
	// Raw holds the elements of every type but string, little-endian, in
	// ONNX raw_data layout (4-bit and 2-bit types packed, low bits first).
	Raw []byte
	// Strings holds the elements of a string tensor.
	Strings []string
}

// Sequence is an ONNX sequence value; its elements are usually tensors.
type Sequence []Value

// None is an optional value that holds nothing.
type None struct{}

func (*Tensor) isValue()  {}
func (Sequence) isValue() {}
func (None) isValue()     {}

// NewTensor returns a zero-filled tensor of the given type and shape.
func NewTensor(dt DType, shape []int64) (*Tensor, error) {
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	t := &Tensor{DType: dt, Shape: append([]int64{}, shape...)}
	switch {
	case dt == String:
		t.Strings = make([]string, n)
	case dt.bits() > 0:
		t.Raw = make([]byte, dt.storageBytes(n))
	default:
		return nil, fmt.Errorf("unsupported tensor element type %v", dt)
	}
	return t, nil
}

// Len returns the number of elements (1 for a scalar).
func (t *Tensor) Len() int {
	n, _ := numElements(t.Shape)
	return n
}

// Check verifies that the data length matches the type and shape.
func (t *Tensor) Check() error {
	n, err := numElements(t.Shape)
	if err != nil {
		return err
	}
	switch {
	case t.DType == String:
		if len(t.Strings) != n {
			return fmt.Errorf("string tensor of shape %v has %d strings, want %d", t.Shape, len(t.Strings), n)
		}
	case t.DType.bits() > 0:
		if want := t.DType.storageBytes(n); len(t.Raw) != want {
			return fmt.Errorf("%v tensor of shape %v has %d bytes, want %d", t.DType, t.Shape, len(t.Raw), want)
		}
	default:
		return fmt.Errorf("unsupported tensor element type %v", t.DType)
	}
	return nil
}

// numElements returns the product of shape, rejecting negative dimensions
// and overflow.
func numElements(shape []int64) (int, error) {
	n, err := onnx.NumElements(shape)
	if err != nil {
		return 0, err
	}
	if n > int64(^uint(0)>>2) {
		return 0, fmt.Errorf("shape %v has too many elements", shape)
	}
	return int(n), nil
}

// Describe returns a short description of v for messages: "float32[1 3]",
// "sequence of 2", "none".
func Describe(v Value) string {
	switch v := v.(type) {
	case *Tensor:
		return fmt.Sprintf("%v%v", v.DType, v.Shape)
	case Sequence:
		return fmt.Sprintf("sequence of %d", len(v))
	case None:
		return "none"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}
