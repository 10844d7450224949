package ort

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/onnx"
)

// Float64s returns the tensor's elements as float64 values, decoding every
// numeric type (float16, bfloat16, float8, int4, ...). A complex tensor
// gives its real and imaginary parts interleaved. Integers wider than 53
// bits lose precision; use equalElements for exact comparison.
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if t.DType == String {
		return nil, fmt.Errorf("string tensor has no numeric values")
	}
	n := t.Len()
	if t.DType.IsComplex() {
		n *= 2
	}
	out := make([]float64, n)
	b := t.Raw
	if at := onnx.IntReader(int32(t.DType)); at != nil && t.DType != Bool { // bools canonicalize below
		for i := range out {
			out[i] = float64(at(b, i))
		}
		return out, nil
	}
	le := binary.LittleEndian
	switch onnx.TensorProto_DataType(t.DType) {
	case onnx.TensorProto_FLOAT, onnx.TensorProto_COMPLEX64:
		for i := range out {
			out[i] = float64(math.Float32frombits(le.Uint32(b[4*i:])))
		}
	case onnx.TensorProto_DOUBLE, onnx.TensorProto_COMPLEX128:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case onnx.TensorProto_FLOAT16:
		for i := range out {
			out[i] = float64(onnx.Float16ToFloat32(le.Uint16(b[2*i:])))
		}
	case onnx.TensorProto_BFLOAT16:
		for i := range out {
			out[i] = float64(onnx.BFloat16ToFloat32(le.Uint16(b[2*i:])))
		}
	case onnx.TensorProto_BOOL:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	case onnx.TensorProto_UINT64:
		for i := range out {
			out[i] = float64(le.Uint64(b[8*i:]))
		}
	case onnx.TensorProto_FLOAT8E4M3FN, onnx.TensorProto_FLOAT8E4M3FNUZ,
		onnx.TensorProto_FLOAT8E5M2, onnx.TensorProto_FLOAT8E5M2FNUZ, onnx.TensorProto_FLOAT8E8M0:
		for i := range out {
			out[i] = smallFloat(t.DType, uint32(b[i]))
		}
	case onnx.TensorProto_FLOAT4E2M1, onnx.TensorProto_INT4, onnx.TensorProto_UINT4,
		onnx.TensorProto_INT2, onnx.TensorProto_UINT2:
		for i := range out {
			out[i] = packedElement(t.DType, b, i)
		}
	default:
		return nil, fmt.Errorf("unsupported tensor element type %v", t.DType)
	}
	return out, nil
}

// packedElement decodes element i of a tensor of 4-bit or 2-bit elements,
// packed low bits first.
func packedElement(dt DType, b []byte, i int) float64 {
	w := dt.bits()
	per := 8 / w
	code := uint32(b[i/per]>>(uint(i%per)*uint(w))) & (1<<w - 1)
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_INT4, onnx.TensorProto_INT2:
		if code&(1<<(w-1)) != 0 {
			return float64(int32(code) - 1<<w)
		}
		return float64(code)
	case onnx.TensorProto_FLOAT4E2M1:
		return smallFloat(dt, code)
	}
	return float64(code)
}

// smallFloat decodes one float8 or float4 code.
func smallFloat(dt DType, code uint32) float64 {
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_FLOAT8E8M0:
		if code == 0xFF {
			return math.NaN()
		}
		return math.Ldexp(1, int(code)-127)
	case onnx.TensorProto_FLOAT8E4M3FN:
		if code&0x7F == 0x7F {
			return math.NaN()
		}
		return minifloat(code, 4, 3, 7)
	case onnx.TensorProto_FLOAT8E4M3FNUZ:
		if code == 0x80 {
			return math.NaN()
		}
		return minifloat(code, 4, 3, 8)
	case onnx.TensorProto_FLOAT8E5M2:
		if code&0x7C == 0x7C { // exponent all ones: inf or NaN, as in IEEE
			if code&0x03 != 0 {
				return math.NaN()
			}
			if code&0x80 != 0 {
				return math.Inf(-1)
			}
			return math.Inf(1)
		}
		return minifloat(code, 5, 2, 15)
	case onnx.TensorProto_FLOAT8E5M2FNUZ:
		if code == 0x80 {
			return math.NaN()
		}
		return minifloat(code, 5, 2, 16)
	case onnx.TensorProto_FLOAT4E2M1:
		return minifloat(code, 2, 1, 1)
	}
	return math.NaN()
}

// minifloat decodes a finite sign/exponent/mantissa code with the given
// field widths and exponent bias (subnormals included).
func minifloat(code uint32, expBits, mantBits, bias int) float64 {
	sign := code >> (expBits + mantBits) & 1
	e := int(code>>mantBits) & (1<<expBits - 1)
	m := float64(code & (1<<mantBits - 1))
	var v float64
	if e == 0 {
		v = math.Ldexp(m, 1-bias-mantBits)
	} else {
		v = math.Ldexp(1+m/float64(int(1)<<mantBits), e-bias)
	}
	if sign != 0 {
		v = -v
	}
	return v
}

// EqualElements reports whether element i of a and b (same type) are
// identical values, bit for bit after canonicalizing bools.
func EqualElements(a, b *Tensor, i int) bool {
	if a.DType == String {
		return a.Strings[i] == b.Strings[i]
	}
	if a.DType == Bool {
		return (a.Raw[i] != 0) == (b.Raw[i] != 0)
	}
	w := a.DType.bits()
	if w < 8 {
		return packedElement(a.DType, a.Raw, i) == packedElement(b.DType, b.Raw, i)
	}
	n := w / 8
	return string(a.Raw[i*n:(i+1)*n]) == string(b.Raw[i*n:(i+1)*n])
}
