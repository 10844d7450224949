package foldconstants

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// tensor is a constant in raw little-endian form during evaluation.
type tensor struct {
	dt   int32
	dims []int64
	raw  []byte
}

// errSkip marks a node that cannot be folded; the message says why.
var errSkip = errors.New("not folded")

func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSkip, fmt.Sprintf(format, args...))
}

// width returns the bytes of one element, or 0 for types the pass does
// not handle (strings, sub-byte types).
func width(dt int32) int {
	if dt == int32(onnx.TensorProto_STRING) {
		return 0
	}
	b := onnx.ElemBits(dt)
	if b%8 != 0 {
		return 0
	}
	return b / 8
}

func (t *tensor) len() int64 {
	n, _ := onnx.NumElements(t.dims)
	return n
}

// evaluator holds what an evaluation may use: the byte limit on results
// and the opset.
type evaluator struct {
	maxBytes int64
	opset    int64
}

// alloc returns a zero tensor of type dt and shape dims, or an error when
// it would exceed the byte limit.
func (e *evaluator) alloc(dt int32, dims []int64) (*tensor, error) {
	w := width(dt)
	if w == 0 {
		return nil, skipf("type %s is not handled", onnx.DataTypeName(dt))
	}
	n, err := onnx.NumElements(dims)
	if err != nil {
		return nil, skipf("%v", err)
	}
	if n > e.maxBytes/int64(w) {
		return nil, skipf("result %s%v would take %d bytes, over max-bytes=%d", onnx.DataTypeName(dt), dims, n*int64(w), e.maxBytes)
	}
	return &tensor{dt: dt, dims: append([]int64{}, dims...), raw: make([]byte, n*int64(w))}, nil
}

// ints reads an integer tensor as int64s (see graph.DecodeInt64s).
func (t *tensor) ints() ([]int64, error) {
	v, err := graph.DecodeInt64s(t.dt, t.raw, t.len())
	if err != nil {
		return nil, skipf("wants integers: %v", err)
	}
	return v, nil
}

// intAt reads element i of an integer tensor (see onnx.IntReader), for
// elementwise loops.
func (t *tensor) intAt(i int64) (int64, bool) {
	at := onnx.IntReader(t.dt)
	if at == nil {
		return 0, false
	}
	return at(t.raw, int(i)), true
}

// scalarInt reads a one-element integer tensor.
func (t *tensor) scalarInt() (int64, error) {
	if t.len() != 1 {
		return 0, skipf("wants one value, got shape %v", t.dims)
	}
	v, err := t.ints()
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

func int64Tensor(dims []int64, v []int64) *tensor {
	t := &tensor{dt: int32(onnx.TensorProto_INT64), dims: dims, raw: make([]byte, 8*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.raw[8*i:], uint64(x))
	}
	return t
}

// number is one element read for arithmetic or casting.
type number struct {
	f     float64 // floats
	i     int64   // signed integers and bool
	u     uint64  // unsigned integers
	kind  byte    // 'f', 'i' or 'u'
	isNaN bool
}

func (t *tensor) numberAt(k int64) (number, bool) {
	b := t.raw
	switch onnx.TensorProto_DataType(t.dt) {
	case onnx.TensorProto_FLOAT:
		f := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:])))
		return number{f: f, kind: 'f', isNaN: math.IsNaN(f)}, true
	case onnx.TensorProto_DOUBLE:
		f := math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:]))
		return number{f: f, kind: 'f', isNaN: math.IsNaN(f)}, true
	case onnx.TensorProto_UINT64:
		return number{u: binary.LittleEndian.Uint64(b[8*k:]), kind: 'u'}, true
	case onnx.TensorProto_UINT32, onnx.TensorProto_UINT16, onnx.TensorProto_UINT8:
		v, _ := t.intAt(k)
		return number{u: uint64(v), kind: 'u'}, true
	}
	if v, ok := t.intAt(k); ok {
		return number{i: v, kind: 'i'}, true
	}
	return number{}, false
}

// intRange returns the range of an integer type.
func intRange(dt int32) (lo int64, hi uint64, ok bool) {
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_INT8:
		return math.MinInt8, math.MaxInt8, true
	case onnx.TensorProto_INT16:
		return math.MinInt16, math.MaxInt16, true
	case onnx.TensorProto_INT32:
		return math.MinInt32, math.MaxInt32, true
	case onnx.TensorProto_INT64:
		return math.MinInt64, math.MaxInt64, true
	case onnx.TensorProto_UINT8:
		return 0, math.MaxUint8, true
	case onnx.TensorProto_UINT16:
		return 0, math.MaxUint16, true
	case onnx.TensorProto_UINT32:
		return 0, math.MaxUint32, true
	case onnx.TensorProto_UINT64:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

// putInt stores an integer known to fit dt.
func putInt(b []byte, dt int32, k int64, v uint64) {
	switch width(dt) {
	case 8:
		binary.LittleEndian.PutUint64(b[8*k:], v)
	case 4:
		binary.LittleEndian.PutUint32(b[4*k:], uint32(v))
	case 2:
		binary.LittleEndian.PutUint16(b[2*k:], uint16(v))
	case 1:
		b[k] = byte(v)
	}
}

// strides returns row-major element strides of dims.
func strides(dims []int64) []int64 {
	s := make([]int64, len(dims))
	acc := int64(1)
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// walk visits every index of dims in row-major order, calling fn with
// the element offset of each operand, where operand k moves by
// steps[k][d] along dimension d and starts at base[k].
func walk(dims []int64, base []int64, steps [][]int64, fn func(offs []int64)) {
	n, _ := onnx.NumElements(dims)
	if n == 0 {
		return
	}
	offs := append([]int64{}, base...)
	idx := make([]int64, len(dims))
	for i := int64(0); i < n; i++ {
		fn(offs)
		for d := len(dims) - 1; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += steps[k][d]
			}
			if idx[d] < dims[d] {
				break
			}
			for k := range offs {
				offs[k] -= steps[k][d] * dims[d]
			}
			idx[d] = 0
		}
	}
}

// normAxis turns a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int64, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, skipf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return axis, nil
}

// normAxes normalizes each axis (see normAxis) and refuses repeats.
func normAxes(axes []int64, rank int) ([]int64, error) {
	out := make([]int64, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		a, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, skipf("axis %d repeated", a)
		}
		seen[a] = true
		out[i] = a
	}
	return out, nil
}
