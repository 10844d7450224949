package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Elements returns the tensor's element count, checked against overflow.
func (t *TensorProto) Elements() (int64, error) {
	n, err := NumElements(t.GetDims())
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %v", t.GetName(), err)
	}
	return n, nil
}

// IsExternal reports whether the tensor's bytes live in an external file.
func (t *TensorProto) IsExternal() bool {
	return t.GetDataLocation() == TensorProto_EXTERNAL
}

// typedCount returns how many values the tensor's typed field holds and the
// number expected for n elements, for the field its data type uses.
func typedCount(t *TensorProto, n int64) (have, want int64, field string) {
	switch TensorProto_DataType(t.GetDataType()) {
	case TensorProto_FLOAT:
		return int64(len(t.FloatData)), n, "float_data"
	case TensorProto_COMPLEX64:
		return int64(len(t.FloatData)), 2 * n, "float_data"
	case TensorProto_DOUBLE:
		return int64(len(t.DoubleData)), n, "double_data"
	case TensorProto_COMPLEX128:
		return int64(len(t.DoubleData)), 2 * n, "double_data"
	case TensorProto_INT64:
		return int64(len(t.Int64Data)), n, "int64_data"
	case TensorProto_UINT32, TensorProto_UINT64:
		return int64(len(t.Uint64Data)), n, "uint64_data"
	case TensorProto_STRING:
		return int64(len(t.StringData)), n, "string_data"
	case TensorProto_INT4, TensorProto_UINT4, TensorProto_FLOAT4E2M1:
		return int64(len(t.Int32Data)), (n + 1) / 2, "int32_data"
	case TensorProto_INT2, TensorProto_UINT2:
		return int64(len(t.Int32Data)), (n + 3) / 4, "int32_data"
	default:
		return int64(len(t.Int32Data)), n, "int32_data"
	}
}

// CheckData verifies that the tensor's stored data matches its shape and
// type: raw_data length, typed field count, or (for external data) the
// declared length. It never allocates the tensor.
func (t *TensorProto) CheckData() error {
	n, err := t.Elements()
	if err != nil {
		return err
	}
	dt := t.GetDataType()
	if dt == int32(TensorProto_UNDEFINED) {
		return fmt.Errorf("tensor %q: data type is undefined", t.GetName())
	}
	if _, known := dtypeNames[dt]; !known {
		return fmt.Errorf("tensor %q: unknown data type %d", t.GetName(), dt)
	}
	if b := StorageBytes(dt, n); b > MaxTensorBytes {
		return fmt.Errorf("tensor %q: shape %v of %s claims %d bytes, over onnxopt's limit of %d GiB per tensor",
			t.GetName(), t.GetDims(), DataTypeName(dt), b, MaxTensorBytes>>30)
	}
	if t.IsExternal() && t.RawData == nil {
		return nil // checked against the file by ExternalStore
	}
	if t.RawData != nil {
		want := StorageBytes(dt, n)
		if want < 0 {
			return fmt.Errorf("tensor %q: string tensors cannot use raw_data", t.GetName())
		}
		if int64(len(t.RawData)) != want {
			return fmt.Errorf("tensor %q: raw_data has %d bytes but shape %v of %s needs %d",
				t.GetName(), len(t.RawData), t.GetDims(), DataTypeName(dt), want)
		}
		return nil
	}
	have, want, field := typedCount(t, n)
	if have != want {
		return fmt.Errorf("tensor %q: %s has %d values but shape %v of %s needs %d",
			t.GetName(), field, have, t.GetDims(), DataTypeName(dt), want)
	}
	return nil
}

// RawBytes returns the tensor's data in raw_data form (little-endian,
// 4-bit and 2-bit types packed). For raw_data tensors the slice aliases the
// tensor; for external tensors it aliases the read-only mapping of store
// (which may be nil when the tensor is not external). Typed fields are
// encoded into a new slice. Callers must not modify the result.
func RawBytes(t *TensorProto, store *ExternalStore) ([]byte, error) {
	if t.IsExternal() && t.RawData == nil {
		if store == nil {
			return nil, fmt.Errorf("tensor %q: data is in an external file, but the model's folder is unknown", t.GetName())
		}
		return store.Bytes(t)
	}
	if err := t.CheckData(); err != nil {
		return nil, err
	}
	if t.RawData != nil {
		return t.RawData, nil
	}
	dt := TensorProto_DataType(t.GetDataType())
	switch dt {
	case TensorProto_STRING:
		return nil, fmt.Errorf("tensor %q: string tensors have no raw form", t.GetName())
	case TensorProto_FLOAT, TensorProto_COMPLEX64:
		out := make([]byte, 4*len(t.FloatData))
		for i, v := range t.FloatData {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case TensorProto_DOUBLE, TensorProto_COMPLEX128:
		out := make([]byte, 8*len(t.DoubleData))
		for i, v := range t.DoubleData {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return out, nil
	case TensorProto_INT64:
		out := make([]byte, 8*len(t.Int64Data))
		for i, v := range t.Int64Data {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
		return out, nil
	case TensorProto_UINT64:
		out := make([]byte, 8*len(t.Uint64Data))
		for i, v := range t.Uint64Data {
			binary.LittleEndian.PutUint64(out[8*i:], v)
		}
		return out, nil
	case TensorProto_UINT32:
		out := make([]byte, 4*len(t.Uint64Data))
		for i, v := range t.Uint64Data {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
		return out, nil
	case TensorProto_INT32:
		out := make([]byte, 4*len(t.Int32Data))
		for i, v := range t.Int32Data {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
		return out, nil
	}
	// Everything else stores one int32 per element (or per packed byte
	// for 4-bit and 2-bit types), truncated to the element's width.
	width := ElemBits(int32(dt)) / 8
	if width == 0 {
		width = 1 // packed sub-byte types: one byte per int32
	}
	out := make([]byte, width*len(t.Int32Data))
	for i, v := range t.Int32Data {
		switch width {
		case 1:
			out[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
	}
	return out, nil
}

// Float32s returns the tensor's float32 values. The slice aliases raw_data
// when it is suitably aligned (do not modify it; use SetFloat32s to change
// a tensor), and is a copy otherwise.
func Float32s(t *TensorProto, store *ExternalStore) ([]float32, error) {
	if t.GetDataType() != int32(TensorProto_FLOAT) {
		return nil, fmt.Errorf("tensor %q is %s, not float32", t.GetName(), DataTypeName(t.GetDataType()))
	}
	if !t.IsExternal() && t.RawData == nil {
		if err := t.CheckData(); err != nil {
			return nil, err
		}
		return t.FloatData, nil
	}
	// Raw or external bytes.
	b, err := RawBytes(t, store)
	if err != nil {
		return nil, err
	}
	return BytesAsFloat32s(b), nil
}

// BytesAsFloat32s views little-endian bytes as float32 values without
// copying when b is 4-byte aligned or the processor loads unaligned floats
// natively (raw_data inside a mapped file rarely sits on a 4-byte
// boundary), and copies otherwise.
func BytesAsFloat32s(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if unalignedOK || uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// Float32sAsBytes views float32 values as little-endian bytes (no copy).
func Float32sAsBytes(f []float32) []byte {
	if len(f) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// SetFloat32s replaces a float32 tensor's data, keeping its encoding:
// float_data stays float_data, anything else becomes raw_data. An external
// tensor stays marked external and holds its new bytes in raw_data until
// WriteFile puts them in the side file (see SetRaw).
func SetFloat32s(t *TensorProto, v []float32) {
	if !t.IsExternal() && t.RawData == nil && len(t.FloatData) > 0 {
		t.FloatData = v
		return
	}
	SetRaw(t, Float32sAsBytes(v))
}

// SetRaw replaces a tensor's data with raw bytes (typed fields are
// cleared). An external tensor keeps its external marking: in memory, a
// tensor that is EXTERNAL and has raw_data means "these bytes, destined for
// the side file", which WriteFile honours.
func SetRaw(t *TensorProto, b []byte) {
	t.FloatData, t.Int32Data, t.Int64Data, t.DoubleData, t.Uint64Data, t.StringData = nil, nil, nil, nil, nil, nil
	if b == nil {
		b = []byte{}
	}
	t.RawData = b
}
