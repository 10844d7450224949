package graph

import (
	"fmt"

	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
)

// Tensor is a constant tensor of the model. Its bytes stay where the codec
// put them (the decoded file, or a read-only mapping of an external data
// file) and are shared, not copied, until a pass asks to change them.
type Tensor struct {
	Proto *onnx.TensorProto
	store *onnx.ExternalStore
	model *Model // nil for tensors built in memory
	// shared is set when the bytes are also referenced by another Tensor
	// (after Clone): the first write copies them.
	shared bool
	ranged rangedBytes // bytes read on demand (see spill.go)
	inAttr bool        // a node attribute's tensor (Constant): never moved to a side file
}

// NewTensor wraps a tensor proto built in memory.
func NewTensor(p *onnx.TensorProto) *Tensor { return &Tensor{Proto: p} }

// Name returns the tensor's name.
func (t *Tensor) Name() string { return t.Proto.GetName() }

// DataType returns the TensorProto data type.
func (t *Tensor) DataType() int32 { return t.Proto.GetDataType() }

// Dims returns the tensor's shape.
func (t *Tensor) Dims() []int64 { return t.Proto.GetDims() }

// Elements returns the element count.
func (t *Tensor) Elements() (int64, error) { return t.Proto.Elements() }

// Bytes returns the storage size of the tensor's data.
func (t *Tensor) Bytes() int64 {
	n, err := t.Proto.Elements()
	if err != nil {
		return 0
	}
	if b := onnx.StorageBytes(t.DataType(), n); b >= 0 {
		return b
	}
	var s int64
	for _, x := range t.Proto.StringData {
		s += int64(len(x))
	}
	return s
}

// Raw returns the data in raw form (see onnx.RawBytes); read-only.
func (t *Tensor) Raw() ([]byte, error) {
	if t.inRange() {
		return t.loadRange()
	}
	return onnx.RawBytes(t.Proto, t.store)
}

// Float32s returns the values of a float32 tensor, read-only (the slice
// may alias the file's bytes).
func (t *Tensor) Float32s() ([]float32, error) {
	if t.inRange() {
		return t.rangedFloat32s(false)
	}
	return onnx.Float32s(t.Proto, t.store)
}

// Int64s returns the values of an integer tensor as int64s (see
// DecodeInt64s for the types read); the slice is the caller's.
func (t *Tensor) Int64s() ([]int64, error) {
	n, err := t.Elements()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name(), err)
	}
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	v, err := DecodeInt64s(t.DataType(), raw, n)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name(), err)
	}
	return v, nil
}

// DecodeInt64s reads n integers of type dataType from raw little-endian
// bytes: int8 to int64, uint8 to uint32, bool (0 or 1), and the packed
// int4, uint4, int2 and uint2 types (low bits first). Other types, and raw
// bytes too short for n values, are errors.
func DecodeInt64s(dataType int32, raw []byte, n int64) ([]int64, error) {
	dt := onnx.TensorProto_DataType(dataType)
	at := onnx.IntReader(dataType)
	whole := at != nil
	if !whole && !packedInts[dt] {
		return nil, fmt.Errorf("%s is not an integer type", onnx.DataTypeName(dataType))
	}
	if n < 0 {
		return nil, fmt.Errorf("negative element count %d", n)
	}
	bits := int64(onnx.ElemBits(dataType))
	if need := (n*bits + 7) / 8; int64(len(raw)) < need {
		return nil, fmt.Errorf("%d bytes of %s data, want %d for %d values", len(raw), onnx.DataTypeName(dataType), need, n)
	}
	if !whole {
		signed := dt == onnx.TensorProto_INT4 || dt == onnx.TensorProto_INT2
		return qformat.Unpack(raw, int(n), int(bits), signed), nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = at(raw, i)
	}
	return out, nil
}

// packedInts are the sub-byte integer types, packed low bits first.
var packedInts = map[onnx.TensorProto_DataType]bool{
	onnx.TensorProto_INT4: true, onnx.TensorProto_UINT4: true, onnx.TensorProto_INT2: true, onnx.TensorProto_UINT2: true,
}

// MutableFloat32s returns the values of a float32 tensor for changing in
// place: the tensor's own buffer when it owns one (raw_data, float_data, or
// its bytes in a privately mapped file: mappings are copy-on-write, so the
// file never changes), else a private copy that becomes the tensor's data.
// Changes are visible in the written model.
func (t *Tensor) MutableFloat32s() ([]float32, error) {
	p := t.Proto
	if p.GetDataType() != int32(onnx.TensorProto_FLOAT) {
		return nil, fmt.Errorf("tensor %q is %s, not float32", p.GetName(), onnx.DataTypeName(p.GetDataType()))
	}
	if t.inRange() {
		return t.rangedFloat32s(true)
	}
	owned := !t.shared && !t.borrowedBytes()
	var v []float32
	if !p.IsExternal() && p.RawData == nil {
		if err := p.CheckData(); err != nil {
			return nil, err
		}
		v = p.FloatData
	} else {
		raw, err := t.Raw()
		if err != nil {
			return nil, err
		}
		v = onnx.BytesAsFloat32s(raw)
		if len(raw) > 0 && &onnx.Float32sAsBytes(v)[0] != &raw[0] {
			owned = false // misaligned bytes were copied: install the copy
		}
	}
	if owned {
		return v, nil
	}
	c := make([]float32, len(v))
	copy(c, v)
	onnx.SetFloat32s(p, c)
	t.markOwned()
	return c, nil
}

// MutableRaw returns the tensor's data in raw form (see Raw) for changing
// in place, under MutableFloat32s's rules: the tensor's own bytes when it
// owns them (raw_data, or its bytes in a privately mapped or on-demand
// read external file), else a private copy that becomes its raw_data
// (typed fields are converted once). Changes are visible in the written
// model.
func (t *Tensor) MutableRaw() ([]byte, error) {
	if t.inRange() {
		return t.rangedRaw(true)
	}
	p := t.Proto
	typed := !p.IsExternal() && p.RawData == nil
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	if typed {
		t.SetRaw(raw) // Raw encoded the typed field into a new slice
		return raw, nil
	}
	if !t.shared && !t.borrowedBytes() {
		return raw, nil
	}
	c := make([]byte, len(raw))
	copy(c, raw)
	t.SetRaw(c)
	return c, nil
}

// borrowedBytes reports whether the tensor's bytes belong to a proto the
// caller holds, or are shared with a clone, and have not been copied yet.
func (t *Tensor) borrowedBytes() bool {
	m := t.model
	if m == nil {
		return false
	}
	m.ownedMu.Lock()
	defer m.ownedMu.Unlock()
	return m.borrowed && !m.owned[t.Proto]
}

// markOwned records that the tensor's bytes are now its own.
func (t *Tensor) markOwned() {
	t.shared = false
	m := t.model
	if m == nil {
		return
	}
	m.ownedMu.Lock()
	defer m.ownedMu.Unlock()
	if m.borrowed {
		if m.owned == nil {
			m.owned = map[*onnx.TensorProto]bool{}
		}
		m.owned[t.Proto] = true
	}
}

// SetFloat32s replaces the values of a float32 tensor (same element count).
func (t *Tensor) SetFloat32s(v []float32) error {
	n, err := t.Elements()
	if err != nil {
		return err
	}
	if int64(len(v)) != n {
		return fmt.Errorf("tensor %q: %d values for shape %v", t.Name(), len(v), t.Dims())
	}
	onnx.SetFloat32s(t.Proto, v)
	t.holdRaw(4 * len(v))
	t.markOwned()
	return nil
}

// SetRaw replaces the tensor's data with raw bytes (for a new shape or
// type, set Proto.Dims and Proto.DataType first).
func (t *Tensor) SetRaw(b []byte) {
	onnx.SetRaw(t.Proto, b)
	t.holdRaw(len(b))
	t.markOwned()
}

// IsFloat reports whether Floats and SetFloats work on the tensor: its
// type is float32, float16, bfloat16 or float64.
func (t *Tensor) IsFloat() bool { return onnx.IsFloatWeight(t.DataType()) }

// Floats returns the tensor's values as float32, whatever its float type:
// a float32 tensor gives its read-only view (see Float32s, no copy);
// float16, bfloat16 and float64 tensors are decoded into a new slice the
// caller may change. Do the arithmetic on these and write the result back
// with SetFloats, which rounds once to the tensor's own type.
func (t *Tensor) Floats() ([]float32, error) {
	dt := t.DataType()
	if dt == int32(onnx.TensorProto_FLOAT) {
		return t.Float32s()
	}
	if !onnx.IsFloatWeight(dt) {
		return nil, fmt.Errorf("tensor %q is %s, not a float16, bfloat16, float32 or float64 tensor", t.Name(), onnx.DataTypeName(dt))
	}
	n, err := t.Elements()
	if err != nil {
		return nil, err
	}
	p := t.Proto
	out := make([]float32, n)
	if dt == int32(onnx.TensorProto_DOUBLE) && !p.IsExternal() && p.RawData == nil {
		if err := p.CheckData(); err != nil {
			return nil, err
		}
		for i, x := range p.DoubleData {
			out[i] = float32(x)
		}
		return out, nil
	}
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	if err := onnx.DecodeFloats(dt, out, raw); err != nil {
		return nil, fmt.Errorf("tensor %q: %v", t.Name(), err)
	}
	return out, nil
}

// SetFloats replaces the values of a float tensor (same element count),
// storing them in the tensor's own type, each rounded once. A float16
// tensor read with Floats and written back unchanged keeps every bit.
func (t *Tensor) SetFloats(v []float32) error {
	dt := t.DataType()
	if dt == int32(onnx.TensorProto_FLOAT) {
		return t.SetFloat32s(v)
	}
	if !onnx.IsFloatWeight(dt) {
		return fmt.Errorf("tensor %q is %s, not a float16, bfloat16, float32 or float64 tensor", t.Name(), onnx.DataTypeName(dt))
	}
	n, err := t.Elements()
	if err != nil {
		return err
	}
	if int64(len(v)) != n {
		return fmt.Errorf("tensor %q: %d values for shape %v", t.Name(), len(v), t.Dims())
	}
	raw, err := onnx.EncodeFloats(dt, v)
	if err != nil {
		return fmt.Errorf("tensor %q: %v", t.Name(), err)
	}
	t.SetRaw(raw)
	return nil
}

// ConvertFloats changes a float tensor's type to dt (float32, float16,
// bfloat16 or float64), rounding each value once. The tensor proto's type
// field is replaced, not changed, so a proto shared with the caller stays
// as it was.
func (t *Tensor) ConvertFloats(dt int32) error {
	if t.DataType() == dt {
		return nil
	}
	if !onnx.IsFloatWeight(dt) {
		return fmt.Errorf("tensor %q: cannot convert to %s", t.Name(), onnx.DataTypeName(dt))
	}
	v, err := t.Floats()
	if err != nil {
		return err
	}
	if t.DataType() == int32(onnx.TensorProto_FLOAT) {
		v = append([]float32(nil), v...) // the view aliases the old bytes
	}
	t.Proto.DataType = &dt
	return t.SetFloats(v)
}
