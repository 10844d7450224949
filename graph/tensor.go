package graph

import (
	"fmt"

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
	t.markOwned()
	return nil
}

// SetRaw replaces the tensor's data with raw bytes (for a new shape or
// type, set Proto.Dims and Proto.DataType first).
func (t *Tensor) SetRaw(b []byte) {
	onnx.SetRaw(t.Proto, b)
	t.markOwned()
}
